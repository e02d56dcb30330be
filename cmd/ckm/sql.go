package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/olap"
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
	history string // the REPL's history file; "off": none
	maxStmt int    // bytes of the largest statement read
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

On a terminal the shell edits lines (Emacs keys), recalls history (Up,
Ctrl-R) kept in ~/.ckm_history (--history FILE, or off) — statements
holding an ID number, mobile or e-mail, or revealing raw values, are
never written there — and completes tables, columns, keywords,
meta-commands, cubes and ckm's functions with Tab. Ctrl-C cancels the
running statement, Ctrl-D leaves. A statement larger than
--max-statement-bytes is refused unread.

With -c or -f the first failing statement stops ckm with exit code 1, and
--format json writes one JSON document: an array of row objects for a
single statement, else one {line, statement, columns, rows} per statement.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.command != "" && opts.file != "" {
				return usageErrorf("give -c or -f, not both")
			}
			if opts.maxStmt < 1 {
				return usageErrorf("--max-statement-bytes %d: want a positive number of bytes", opts.maxStmt)
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
	cmd.Flags().StringVar(&opts.history, "history", "", `the REPL's history file (default ~/.ckm_history; "off": keep none)`)
	cmd.Flags().IntVar(&opts.maxStmt, "max-statement-bytes", shell.DefaultMaxStatementBytes, "refuse a statement larger than this")
	addRoleFlag(cmd)
	return cmd
}

func sqlRun(ctx context.Context, opts *sqlOptions) error {
	a, stdin := opts.app, opts.stdin
	if conn, err := a.serverClient(ctx, "sql", clientRole(opts.role)); err != nil || conn != nil {
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return sqlViaServer(ctx, opts, conn)
	}
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
	var model *olap.Model
	if model, err = a.cubeModel(); err == nil {
		for _, c := range model.Cubes {
			so.Cubes = append(so.Cubes, c.Name)
		}
		so.Cube = a.shellCube(w, model)
	} else {
		fmt.Fprintf(a.stderr, "warning: cubes: %v\n", err)
	}
	so.MaxStatementBytes = opts.maxStmt
	sh, err := shell.New(ctx, w, so)
	if err != nil {
		return err
	}
	defer sh.Close()

	if !repl {
		return sh.Run(ctx, source, script)
	}
	var ed *shell.TerminalEditor
	if interactive {
		ro := ""
		if w.ReadOnly {
			ro = " (read-only)"
		}
		fmt.Fprintf(a.stderr, "ckm %s — warehouse %s%s, role %s\nEnter .help for help, .quit or Ctrl-D to leave; Tab completes.\n", version, w.Path, ro, principal.Role)
		history, err := historyPath(opts.history)
		if err != nil {
			fmt.Fprintf(a.stderr, "warning: no history: %v\n", err)
		}
		eo := shell.EditorOptions{HistoryFile: history, Complete: sh.Complete, Stdout: a.stderr, Stderr: a.stderr}
		if ed, err = shell.NewTerminalEditor(eo); err != nil {
			// Still a shell, without editing and history.
			fmt.Fprintf(a.stderr, "warning: %v; reading lines without editing\n", err)
			ed = nil
		} else {
			defer ed.Close()
		}
		// Ctrl-C interrupts the running statement, not the shell (at the
		// prompt the editor reads it as a key: it drops the line).
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
	// SIGTERM ends the shell at once: the running statement is cancelled
	// and a read waiting on the terminal or a pipe is abandoned.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	defer signal.Stop(term)
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	done := make(chan error, 1)
	go func() {
		if ed != nil {
			done <- sh.Interact(runCtx, ed)
		} else {
			done <- sh.Run(runCtx, "stdin", stdin)
		}
	}()
	if err := awaitShell(runCtx, done, term, sigtermGrace, func() error { return stopShell(sh, ed, cancelRun, done) }); err != nil {
		return err
	}
	if n := sh.Failures(); n > 0 && !interactive {
		return fmt.Errorf("sql: %d statement(s) from stdin failed; see the errors above", n)
	}
	return nil
}

// sigtermGrace is how long after a shell's own failure a SIGTERM still
// counts as what stopped it.
const sigtermGrace = 100 * time.Millisecond

// awaitShell waits for the shell's end (done) or a stop: a SIGTERM (term)
// or ctx's end, on which it returns stop(). A shell may fail on its own a
// moment after a SIGTERM (its terminal goes away with it): a signal
// within grace of the failure makes that a stop by signal too (exit 130).
func awaitShell(ctx context.Context, done <-chan error, term <-chan os.Signal, grace time.Duration, stop func() error) error {
	select {
	case err := <-done:
		if err != nil {
			select {
			case <-term:
				return cancelledError{"cancelled"}
			case <-time.After(grace):
			}
		}
		return err
	case <-term:
		return stop()
	case <-ctx.Done():
		return stop()
	}
}

// stopShell cancels a shell on a signal and waits a moment for it to stop.
func stopShell(sh *shell.Shell, ed *shell.TerminalEditor, cancel context.CancelFunc, done <-chan error) error {
	cancel()
	running := sh.Cancel()
	if ed != nil {
		ed.Close()
	}
	// A statement interrupted, or the editor closed, ends the shell soon:
	// wait for it. A shell with neither is blocked reading a pipe, which
	// nothing interrupts: a moment in case it was between statements.
	wait := 2 * time.Second
	if !running && ed == nil {
		wait = 50 * time.Millisecond
	}
	select {
	case <-done:
	case <-time.After(wait):
	}
	// Exit 130 whether or not main's own handler has seen the signal yet.
	return cancelledError{"cancelled"}
}

// historyPath resolves --history: a file, "off" for none, "" for
// ~/.ckm_history.
func historyPath(flag string) (string, error) {
	switch flag {
	case "off", "none":
		return "", nil
	case "":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".ckm_history"), nil
	}
	return flag, nil
}

// shellCube answers the shell's .cube NAME [flags] with ckm cube query's
// flags, on the shell's own warehouse.
func (a *app) shellCube(w *engine.Warehouse, m *olap.Model) func(context.Context, []string) ([]string, [][]any, error) {
	return func(ctx context.Context, args []string) ([]string, [][]any, error) {
		o := &cubeQueryOptions{app: a}
		cmd := &cobra.Command{Use: ".cube NAME"}
		o.flags(cmd)
		fs := cmd.Flags()
		fs.SetOutput(io.Discard)
		if err := fs.Parse(args); err != nil {
			return nil, nil, fmt.Errorf(".cube: %w", err)
		}
		if fs.NArg() != 1 {
			return nil, nil, fmt.Errorf(".cube: want one cube name (%s), got %d", strings.Join(cubeNames(m), ", "), fs.NArg())
		}
		if err := o.resolve(fs.Arg(0)); err != nil {
			return nil, nil, fmt.Errorf(".cube: %w", err)
		}
		res, err := olap.NewExecutor(w, m).Query(ctx, o.q)
		if err != nil {
			return nil, nil, fmt.Errorf(".cube: %w", err)
		}
		header, rows := a.cubeTable(o.q, res)
		return header, rows, nil
	}
}

func cubeNames(m *olap.Model) []string {
	var names []string
	for _, c := range m.Cubes {
		names = append(names, c.Name)
	}
	return names
}

// asWriter lets isTerminal look at stdin when it is a file.
func asWriter(r io.Reader) io.Writer {
	if f, ok := r.(*os.File); ok {
		return f
	}
	return io.Discard
}
