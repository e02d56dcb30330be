package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/shell"
)

func init() { registerCommand(func(a *app) *cobra.Command { return newSQLCmd(a, nil) }) }

// sqlOptions are what ckm sql's flags resolve to.
type sqlOptions struct {
	app     *app
	stdin   io.Reader
	command string // -c: statements to run
	file    string // -f: a file of statements to run
	role    string // checked: analyst or admin
}

// newSQLCmd builds ckm sql; runF, when not nil, runs instead of sqlRun with
// the parsed options.
func newSQLCmd(a *app, runF func(context.Context, *sqlOptions) error) *cobra.Command {
	opts := &sqlOptions{app: a}
	cmd := &cobra.Command{
		Use:   "sql [-c SQL | -f FILE]",
		Short: "The analyst shell, or run one statement or a file of them",
		Long: `Run SQL on the warehouse. With no -c or -f, read statements from stdin
(a REPL on a terminal): end each with ';'; meta-commands such as .tables,
.schema, .mode and .help start with a dot.

ID numbers, mobiles and e-mails are masked in the output unless the role
(--role, which never comes from the environment or the config) is admin.

With -c or -f the first failing statement stops ckm with exit code 1, and
--format json writes one JSON document: an array of row objects for a
single statement, else one {line, statement, columns, rows} per statement.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.command != "" && opts.file != "" {
				return usageErrorf("give -c or -f, not both")
			}
			var err error
			if opts.role, err = a.role(cmd); err != nil {
				return err
			}
			opts.stdin = cmd.InOrStdin()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return sqlRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.command, "command", "c", "", "run these statements and exit")
	cmd.Flags().StringVarP(&opts.file, "file", "f", "", "run the statements in FILE and exit")
	addRoleFlag(cmd)
	return cmd
}

// addRoleFlag adds --role, which decides whether raw personal data may be
// shown or exported.
func addRoleFlag(cmd *cobra.Command) {
	cmd.Flags().String("role", shell.RoleAnalyst, "role: analyst (personal data masked) or admin (raw values allowed)")
}

// role returns the --role of cmd, checked. The role comes only from the
// command line, never from the environment or the config: it decides
// whether this one call may see raw personal data.
func (a *app) role(cmd *cobra.Command) (string, error) {
	r, _ := cmd.Flags().GetString("role")
	if r == "" {
		r = shell.RoleAnalyst
	}
	if !slices.Contains(shell.Roles, r) {
		return "", usageErrorf("--role %q: want %s", r, strings.Join(shell.Roles, " or "))
	}
	return r, nil
}

func sqlRun(ctx context.Context, opts *sqlOptions) error {
	a, stdin, role := opts.app, opts.stdin, opts.role
	var script io.Reader
	source := ""
	switch {
	case opts.command != "":
		script, source = strings.NewReader(opts.command), "-c"
	case opts.file != "":
		f, err := os.Open(opts.file)
		if err != nil {
			return fmt.Errorf("sql: %w", err)
		}
		defer f.Close()
		script, source = f, opts.file
	}
	repl := script == nil
	interactive := repl && isTerminal(asWriter(stdin))

	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	so := shell.Options{
		Out: a.stdout, Err: a.stderr, Mode: a.format(), Role: role,
		Interactive: interactive, StopOnError: !repl, JSONDocument: !repl,
	}
	if f, ok := a.stdout.(*os.File); ok && isTerminal(f) {
		width := shell.TerminalWidth(f)
		if n, err := strconv.Atoi(os.Getenv("COLUMNS")); width == 0 && err == nil && n > 0 {
			width = n
		}
		so.Limits = shell.TerminalLimits(width)
	}
	sh, err := shell.New(ctx, w, so)
	if err != nil {
		return err
	}
	defer sh.Close()

	if !repl {
		return sh.Run(ctx, source, script)
	}
	if interactive {
		ro := ""
		if w.ReadOnly {
			ro = " (read-only)"
		}
		fmt.Fprintf(a.stderr, "ckm %s — warehouse %s%s, role %s\nEnter .help for help, .quit or Ctrl-D to leave.\n", version, w.Path, ro, role)
		// Ctrl-C interrupts the running statement, not the shell.
		ctx = context.WithoutCancel(ctx)
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt)
		defer signal.Stop(sigs)
		go func() {
			for range sigs {
				if !sh.Cancel() {
					fmt.Fprintln(a.stderr, "\n(.quit or Ctrl-D leaves the shell)")
				}
			}
		}()
	}
	if err := sh.Run(ctx, "stdin", stdin); err != nil {
		return err
	}
	if n := sh.Failures(); n > 0 && !interactive {
		return fmt.Errorf("sql: %d statement(s) from stdin failed; see the errors above", n)
	}
	return nil
}

// asWriter lets isTerminal look at stdin when it is a file.
func asWriter(r io.Reader) io.Writer {
	if f, ok := r.(*os.File); ok {
		return f
	}
	return io.Discard
}
