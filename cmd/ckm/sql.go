package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/shell"
)

func init() { registerCommand(func(a *app) *cobra.Command { return newSQLCmd(a, nil) }) }

// sqlOptions are what ckm sql's flags resolve to.
type sqlOptions struct {
	app     *app
	stdin   io.Reader
	command string // -c: statements to run
	file    string // -f: a file of statements to run
	role    string // checked: analyst, steward or admin (granted when run)
	reveal  string // why raw personal data is shown ("": masked)
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

As analyst (the default) the shell is a sandbox: only queries (SELECT) of
the dimensions, facts and knowledge base run, personal data is read through
the masked views of schema analyst (dim_customer), and files, settings,
extensions, other databases and changes are refused. ID numbers, mobiles,
e-mails and names are masked in every output format.

--role steward or admin must be granted by the principals list of ckm.yaml
(see the README); --reveal REASON then shows raw values, and every statement
is first written to the reveal audit (privacy_reveal) with the reason. The
role and the reason come only from the command line.

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
			if opts.reveal, err = a.reveal(cmd, opts.role); err != nil {
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

func sqlRun(ctx context.Context, opts *sqlOptions) error {
	a, stdin := opts.app, opts.stdin
	principal, err := a.grant(opts.role)
	if err != nil {
		return err
	}
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
	if err := registerFunctions(ctx, w); err != nil {
		// The shell is still useful without ckm's own functions.
		fmt.Fprintf(a.stderr, "warning: %v\n", err)
	}
	revealed, err := a.registerReveal(ctx, w, principal, opts.reveal)
	if err != nil {
		return err
	}
	defer func() {
		if aerr := revealed.audit(ctx, w); aerr != nil {
			fmt.Fprintf(a.stderr, "warning: %v\n", aerr)
		}
	}()
	so := shell.Options{
		Out: a.stdout, Err: a.stderr, Mode: a.format(), Principal: principal, RevealReason: opts.reveal,
		// This process serves this one analyst only: DuckDB's global
		// switches add to the statement vetting.
		LockDown:    principal.Role == privacy.Analyst,
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
		fmt.Fprintf(a.stderr, "ckm %s — warehouse %s%s, role %s\nEnter .help for help, .quit or Ctrl-D to leave.\n", version, w.Path, ro, principal.Role)
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
