package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/olap"
	"github.com/ckm-dev/ckm/serve"
	"github.com/ckm-dev/ckm/shell"
)

// sqlREPLViaServer is ckm sql reading stdin while ckm serve holds the
// warehouse, as the embedded shell reads it: shell.Splitter cuts the input
// (each statement runs as soon as a line ends it with ";"; a statement
// left open at the end of the input runs then), rows print in the shell's
// output modes through its renderers (on a terminal, long cells, wide
// tables and long results are cut in the middle as there), a failing
// statement prints its error and the next ones still run, and with any
// failure the exit code is 1. The meta-commands are the shell's: .help,
// .tables, .schema, .functions, .mode, .timer, .read, .output, .cube,
// .mine, .quit; .pii says how reveals go through the server. On a
// terminal it prompts (ckm> and ...> for a continued statement), edits
// lines, keeps history and completes with Tab from the server's catalog
// as the principal sees it.
func sqlREPLViaServer(ctx context.Context, opts *sqlOptions, conn *pgx.Conn) error {
	a := opts.app
	r := &serverREPL{a: a, opts: opts, conn: conn, mode: a.format(), out: a.stdout, outTo: shell.Output{Stdout: a.stdout}}
	if f, ok := a.stdout.(*os.File); ok && isTerminal(f) {
		r.width = shell.TerminalWidth(f)
		if n, err := strconv.Atoi(os.Getenv("COLUMNS")); r.width == 0 && err == nil && n > 0 {
			r.width = n
		}
	}
	if m, err := a.cubeModel(); err == nil {
		r.model = m
		r.cubes = cubeNames(m)
	}
	defer r.outTo.Close()
	interactive := isTerminal(asWriter(opts.stdin))
	var next func(prompt string) (string, error) // a line without its newline; io.EOF at the end
	var ed *shell.TerminalEditor
	if interactive {
		fmt.Fprintf(a.stderr, "ckm %s — warehouse %s through ckm serve at %s\nEnter .help for help, .quit or Ctrl-D to leave; Tab completes; Ctrl-C cancels the running statement.\n",
			version, a.warehousePath(), conn.Config().Host+":"+strconv.Itoa(int(conn.Config().Port)))
		history, err := historyPath(opts.history)
		if err != nil {
			fmt.Fprintf(a.stderr, "warning: no history: %v\n", err)
		}
		names := &serverNames{conn: conn}
		r.names = names
		complete := func(line string, pos int) ([]string, int) { return shell.CompleteLine(line, pos, names, r.cubes) }
		if ed, err = shell.NewTerminalEditor(shell.EditorOptions{HistoryFile: history, Complete: complete, Stdout: a.stderr, Stderr: a.stderr}); err != nil {
			fmt.Fprintf(a.stderr, "warning: %v; reading lines without editing\n", err)
			ed = nil
		} else {
			defer ed.Close()
			next = ed.ReadLine
		}
		// Ctrl-C cancels the running statement (the server is asked to
		// stop it; the session goes on), not the REPL.
		ctx = context.WithoutCancel(ctx)
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt)
		defer signal.Stop(sigs)
		go func() {
			for range sigs {
				r.mu.Lock()
				if r.cancelRunning != nil {
					r.cancelRunning()
				}
				r.mu.Unlock()
			}
		}()
	}
	if next == nil {
		in := bufio.NewReader(opts.stdin)
		next = func(prompt string) (string, error) {
			if interactive {
				fmt.Fprint(a.stderr, prompt)
			}
			l, err := in.ReadString('\n')
			if err == io.EOF && l != "" {
				err = nil
			}
			return strings.TrimRight(l, "\r\n"), err
		}
	}
	err := r.run(ctx, "stdin", next, ed, interactive)
	if err != nil {
		return err
	}
	if interactive && ed == nil {
		fmt.Fprintln(a.stderr)
	}
	return replEnd(r.failures, interactive)
}

// serverREPL is the state of a REPL through the server: the output mode
// and file, the timer, what failed.
type serverREPL struct {
	a     *app
	opts  *sqlOptions
	conn  *pgx.Conn
	mode  string
	timer bool
	out   io.Writer
	outTo shell.Output // .output FILE
	width int          // the terminal's columns: table mode is bounded to it
	depth int          // nesting of .read
	quit  bool
	names *serverNames
	model *olap.Model
	cubes []string

	failures      int
	mu            sync.Mutex
	cancelRunning context.CancelFunc
}

// run reads lines from next until the end of input or .quit, running each
// statement and meta-command the splitter completes.
func (r *serverREPL) run(ctx context.Context, source string, next func(prompt string) (string, error), ed *shell.TerminalEditor, interactive bool) error {
	var sp shell.Splitter
	var typed []string // the lines of the input being typed, for the history
	for !r.quit {
		prompt := "ckm> "
		if sp.Pending() {
			prompt = "   ...> "
		}
		line, err := next(prompt)
		switch {
		case errors.Is(err, shell.ErrLineInterrupted): // Ctrl-C at the prompt drops the statement typed
			sp.Reset()
			typed = nil
			continue
		case errors.Is(err, io.EOF):
			if st, ok := sp.Flush(); ok {
				r.do(ctx, source, st)
			}
			return nil
		case err != nil:
			return fmt.Errorf("sql: read %s: %w", source, err)
		}
		if sp.Len()+len(line) > r.opts.maxStmt {
			r.failures++
			start := sp.Line() + 1
			fmt.Fprintf(r.a.stderr, "Error: %s:%d: the input from here grew past %d bytes, the limit (--max-statement-bytes), before its statement ended; nothing of it ran\n", source, start, r.opts.maxStmt)
			if !interactive {
				return fmt.Errorf("sql: statement at line %d too large", start)
			}
			sp.Reset()
			typed = nil
			continue
		}
		if ed != nil {
			typed = append(typed, line)
		}
		for _, st := range sp.Feed(line) {
			r.do(ctx, source, st)
			if r.quit {
				return nil
			}
		}
		if ed != nil && len(typed) > 0 && !sp.Pending() {
			entry := strings.Join(typed, " ")
			if strings.Contains(entry, "--") {
				entry = strings.Join(typed, "\n")
			}
			if shell.Recordable(entry) {
				for _, e := range strings.Split(entry, "\n") {
					ed.SaveHistory(e)
				}
			}
			typed = nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// do runs one statement or meta-command and prints its error, if any.
func (r *serverREPL) do(ctx context.Context, source string, st shell.Statement) {
	var err error
	if st.Meta {
		err = r.meta(ctx, st)
	} else {
		err = r.exec(ctx, st.Text)
	}
	if err != nil {
		r.failures++
		fmt.Fprintf(r.a.stderr, "Error: %s:%d: %v\n", source, st.Line, err)
	}
}

// exec runs one statement on the server, cancellable by Ctrl-C, and
// renders its rows.
func (r *serverREPL) exec(ctx context.Context, stmt string) error {
	sctx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	r.cancelRunning = cancel
	r.mu.Unlock()
	start := time.Now()
	err := r.query(sctx, stmt)
	r.mu.Lock()
	r.cancelRunning = nil
	r.mu.Unlock()
	interrupted := sctx.Err() != nil
	cancel()
	if r.names != nil {
		r.names.forget() // a statement may have made or dropped a table
	}
	if r.timer {
		fmt.Fprintf(r.a.stderr, "Run Time: %.3fs\n", time.Since(start).Seconds())
	}
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case interrupted:
		return errors.New("interrupted")
	case errors.As(err, &pe): // as the embedded shell words it, with the SQLSTATE
		return fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return err
}

// query runs stmt and renders its rows in the current mode (a statement
// without rows prints nothing).
func (r *serverREPL) query(ctx context.Context, stmt string) error {
	rows, err := r.conn.Query(ctx, stmt, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return err
	}
	fds := append([]pgconn.FieldDescription(nil), rows.FieldDescriptions()...)
	header, data, err := serverRows(rows)
	if err != nil {
		return err
	}
	if len(header) == 0 {
		return nil
	}
	if r.mode == shell.ModeJSON {
		return writeJSONRows(r.out, header, data)
	}
	cols := make([]shell.Column, len(fds))
	for j, fd := range fds {
		cols[j] = shell.Column{Name: fd.Name, Type: strings.ToUpper(wireTypeName(fd))}
	}
	return r.render(cols, data, func(v any, j int) any {
		if r.mode == shell.ModeCSV {
			return cell(v)
		}
		return wireCellText(v, fds[j])
	})
}

// render writes rows through the shell's renderer of the current mode;
// text makes a non-NULL value the text it shows.
func (r *serverREPL) render(cols []shell.Column, data [][]any, text func(v any, j int) any) error {
	width := 0
	if !r.outTo.ToFile() {
		width = r.width
	}
	rend := shell.NewRenderer(r.mode, r.out, width)
	if err := rend.Begin(cols); err != nil {
		return err
	}
	for _, row := range data {
		vals := make([]any, len(row))
		for j, v := range row {
			if v != nil {
				vals[j] = text(v, j)
			}
		}
		if err := rend.Row(vals); err != nil {
			return err
		}
	}
	return rend.End(int64(len(data)))
}

// meta runs a meta-command line through the server.
func (r *serverREPL) meta(ctx context.Context, st shell.Statement) error {
	words, err := shell.MetaArgs(strings.TrimPrefix(st.Text, "."))
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return errors.New("empty meta-command: try .help")
	}
	name, args := words[0], words[1:]
	want := func(min, max int, usage string) error {
		if len(args) < min || len(args) > max {
			return fmt.Errorf("usage: .%s %s", name, usage)
		}
		return nil
	}
	switch name {
	case "quit", "exit":
		if err := want(0, 0, ""); err != nil {
			return err
		}
		r.quit = true
		return nil
	case "help":
		_, err := io.WriteString(r.out, shell.MetaCommandHelp()+"Through ckm serve: raw values come from CALL ckm_reveal('reason', 'token', ...) (a steward or admin).\n")
		return err
	case "mode":
		if err := want(0, 1, "MODE"); err != nil {
			return err
		}
		if len(args) == 0 {
			_, err := fmt.Fprintf(r.out, "%s\n", r.mode)
			return err
		}
		if !slices.Contains(shell.Modes, args[0]) {
			return fmt.Errorf("unknown mode %q: want %s", args[0], strings.Join(shell.Modes, ", "))
		}
		r.mode = args[0]
		return nil
	case "timer":
		if err := want(1, 1, "on|off"); err != nil {
			return err
		}
		on, err := onOff("timer", args[0])
		r.timer = on && err == nil
		return err
	case "output":
		if err := want(0, 1, "[FILE]"); err != nil {
			return err
		}
		return r.output(args)
	case "read":
		if err := want(1, 1, "FILE"); err != nil {
			return err
		}
		return shell.ReadFile(&r.depth, args[0], func(f *os.File) error {
			in := bufio.NewReader(f)
			return r.run(ctx, args[0], func(string) (string, error) {
				l, err := in.ReadString('\n')
				if err == io.EOF && l != "" {
					err = nil
				}
				return strings.TrimRight(l, "\r\n"), err
			}, nil, false)
		})
	case "tables", "schema", "functions":
		if err := want(0, 1, "[PATTERN]"); err != nil {
			return err
		}
		return r.catalog(ctx, name, args)
	case "mine":
		if len(args) == 0 {
			return r.catalog(ctx, name, args)
		}
		q, err := shell.MineStatement(args[0], args[1:])
		if err != nil {
			return err
		}
		return r.exec(ctx, q)
	case "cube":
		return r.cube(ctx, args)
	case "pii":
		return fmt.Errorf(".pii: through ckm serve, raw values are shown only by CALL ckm_reveal('reason', 'token', ...), as a steward or admin, audited")
	}
	return fmt.Errorf("unknown meta-command .%s: try .help", name)
}

// onOff reads a meta-command's on or off.
func onOff(cmd, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf(".%s %q: want on or off", cmd, v)
}

// output sends results to a file (owner-only: they may hold personal
// data), or back to stdout.
func (r *serverREPL) output(args []string) error {
	err := r.outTo.Switch(args)
	r.out = r.outTo.Writer()
	return err
}

// catalog answers .tables, .schema, .functions and .mine (the list) from
// the server's names, as the session's principal sees them.
func (r *serverREPL) catalog(ctx context.Context, what string, args []string) error {
	names := r.names
	if names == nil {
		names = &serverNames{conn: r.conn}
	}
	all, err := names.load(ctx)
	if err != nil {
		return fmt.Errorf(".%s: %w", what, err)
	}
	match := func(string) bool { return true }
	if len(args) == 1 && what != "schema" {
		re, err := likePattern(args[0])
		if err != nil {
			return err
		}
		match = re.MatchString
	}
	var rows [][]any
	var cols []shell.Column
	switch what {
	case "tables":
		cols = []shell.Column{{Name: "name", Type: "VARCHAR"}, {Name: "kind", Type: "VARCHAR"}}
		seen := map[string]bool{}
		for _, n := range all {
			if (n.kind == "table" || n.kind == "view") && match(n.name) && !seen[n.name] {
				kind := n.kind
				if n.schema != "main" {
					kind = "masked view"
				}
				rows = append(rows, []any{n.name, kind})
				seen[n.name] = true
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i][0].(string) < rows[j][0].(string) })
	case "schema":
		var b strings.Builder
		for _, n := range all {
			if (n.kind == "table" || n.kind == "view") && n.schema == "main" && n.sql != "" && (len(args) == 0 || n.name == args[0]) {
				b.WriteString(strings.TrimRight(strings.TrimSpace(n.sql), ";") + ";\n")
			}
		}
		if b.Len() == 0 && len(args) == 1 {
			return fmt.Errorf("no table or view named %q", args[0])
		}
		_, err := io.WriteString(r.out, b.String())
		return err
	case "functions", "mine":
		cols = []shell.Column{{Name: "name", Type: "VARCHAR"}}
		if len(args) == 0 {
			match = func(s string) bool { return strings.HasPrefix(s, "ckm") }
		}
		cols = append(cols, shell.Column{Name: "kind", Type: "VARCHAR"})
		for _, n := range all {
			if n.kind == "function" && match(n.name) && (what == "functions" || n.typ == "table_macro") {
				rows = append(rows, []any{n.name, n.typ})
			}
		}
		if what == "mine" {
			cols[0].Name = "operator"
		}
	}
	return r.render(cols, rows, func(v any, _ int) any { return v })
}

// likePattern is a LIKE pattern (% and _) as an anchored regular
// expression.
func likePattern(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for _, c := range p {
		switch c {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// cube runs .cube NAME [FLAGS] as a cube query of the server (CALL
// ckm_cube), its flags those of ckm cube query.
func (r *serverREPL) cube(ctx context.Context, args []string) error {
	if len(args) == 0 {
		if len(r.cubes) == 0 {
			return errors.New(".cube: no cubes here")
		}
		_, err := fmt.Fprintf(r.out, "cubes: %s\nusage: .cube NAME --measures M,.. --rows dimension.level,.. [--cols ..] [--where ..] [--totals] (as ckm cube query)\n", strings.Join(r.cubes, ", "))
		return err
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--allow-pii") {
			return errors.New(".cube: --allow-pii is for ckm cube query with --reveal REASON, not the shell")
		}
	}
	o := &cubeQueryOptions{app: r.a}
	cmd := &cobra.Command{Use: ".cube NAME"}
	o.flags(cmd)
	fs := cmd.Flags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf(".cube: %w", err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf(".cube: want one cube name (%s), got %d", strings.Join(r.cubes, ", "), fs.NArg())
	}
	if err := o.resolve(fs.Arg(0)); err != nil {
		return fmt.Errorf(".cube: %w", err)
	}
	q, err := json.Marshal(o.q)
	if err != nil {
		return err
	}
	var doc string
	if err := r.conn.QueryRow(ctx, "CALL ckm_cube("+engine.QuoteString(string(q))+")", pgx.QueryExecModeSimpleProtocol).Scan(&doc); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return fmt.Errorf(".cube: %s (SQLSTATE %s)", pe.Message, pe.Code)
		}
		return fmt.Errorf(".cube: %w", err)
	}
	var res olap.Result
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return fmt.Errorf(".cube %s: the server's answer: %w", o.q.Cube, err)
	}
	header, rows := r.a.cubeTable(o.q, &res)
	cols := make([]shell.Column, len(header))
	for i, h := range header {
		cols[i] = shell.Column{Name: h, Type: "VARCHAR"}
		numeric := len(rows) > 0
		for _, row := range rows {
			switch row[i].(type) {
			case nil, json.Number, float64, int64, int:
			default:
				numeric = false
			}
		}
		if numeric {
			cols[i].Type = "DOUBLE"
		}
	}
	return r.render(cols, rows, func(v any, _ int) any { return cell(v) })
}

// serverNames are the names Tab completes, from the server's catalog as
// the session's principal sees it (serve.CatalogNamesQuery), asked once
// and again after each statement.
type serverNames struct {
	conn *pgx.Conn
	mu   sync.Mutex
	list []catalogName
	ok   bool
}

// catalogName is one row of serve.CatalogNamesQuery.
type catalogName struct {
	kind, schema, relation, name, typ, sql string
}

func (n *serverNames) forget() {
	n.mu.Lock()
	n.ok = false
	n.mu.Unlock()
}

func (n *serverNames) load(ctx context.Context) ([]catalogName, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ok {
		return n.list, nil
	}
	rows, err := n.conn.Query(ctx, serve.CatalogNamesQuery, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []catalogName
	for rows.Next() {
		var f [6]*string
		if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5]); err != nil {
			return nil, err
		}
		var c [6]string
		for i, p := range f {
			if p != nil {
				c[i] = *p
			}
		}
		list = append(list, catalogName{c[0], c[1], c[2], c[3], c[4], c[5]})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	n.list, n.ok = list, true
	return list, nil
}

func (n *serverNames) pick(ctx context.Context, keep func(catalogName) bool) []string {
	all, _ := n.load(ctx)
	var out []string
	for _, c := range all {
		if keep(c) {
			out = append(out, c.name)
		}
	}
	return out
}

func (n *serverNames) Relations(ctx context.Context) []string {
	return n.pick(ctx, func(c catalogName) bool { return c.kind == "table" || c.kind == "view" })
}

func (n *serverNames) Columns(ctx context.Context, table string) []string {
	if table != "" {
		cols := n.pick(ctx, func(c catalogName) bool { return c.kind == "column" && strings.EqualFold(c.relation, table) })
		if len(cols) > 0 {
			return cols
		}
	}
	return n.pick(ctx, func(c catalogName) bool { return c.kind == "column" })
}

func (n *serverNames) Functions(ctx context.Context) []string {
	return n.pick(ctx, func(c catalogName) bool { return c.kind == "function" })
}

func (n *serverNames) Keywords(ctx context.Context) []string {
	return n.pick(ctx, func(c catalogName) bool { return c.kind == "keyword" })
}

func (n *serverNames) MineOperators(ctx context.Context) []string {
	var ops []string
	for _, f := range n.pick(ctx, func(c catalogName) bool { return c.kind == "function" && c.typ == "table_macro" }) {
		ops = append(ops, strings.TrimPrefix(f, "ckm_"))
	}
	return ops
}

// replEnd is what a REPL through the server returns at its end: as the
// embedded shell, failures give exit code 1 unless typed at a terminal.
func replEnd(failures int, interactive bool) error {
	if failures > 0 && !interactive {
		return fmt.Errorf("sql: %d statement(s) from stdin failed; see the errors above", failures)
	}
	return nil
}

// wireTypeName is the DuckDB type name the embedded shell shows for a
// column of this PostgreSQL type (numeric stands for DECIMAL and HUGEINT,
// which the wire does not tell apart).
func wireTypeName(fd pgconn.FieldDescription) string {
	switch fd.DataTypeOID {
	case pgtype.BoolOID:
		return "boolean"
	case pgtype.Int2OID:
		return "smallint"
	case pgtype.Int4OID:
		return "integer"
	case pgtype.Int8OID:
		return "bigint"
	case pgtype.Float4OID:
		return "float"
	case pgtype.Float8OID:
		return "double"
	case pgtype.NumericOID:
		if fd.TypeModifier > 4 {
			m := fd.TypeModifier - 4
			return fmt.Sprintf("decimal(%d,%d)", m>>16, m&0xffff)
		}
		return "numeric"
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return "varchar"
	case pgtype.DateOID:
		return "date"
	case pgtype.TimeOID:
		return "time"
	case pgtype.TimestampOID:
		return "timestamp"
	case pgtype.TimestamptzOID:
		return "timestamp with time zone"
	case pgtype.IntervalOID:
		return "interval"
	case pgtype.ByteaOID:
		return "blob"
	case pgtype.UUIDOID:
		return "uuid"
	case pgtype.JSONOID, pgtype.JSONBOID:
		return "json"
	}
	return "oid " + strconv.Itoa(int(fd.DataTypeOID))
}

// wireCellText is a value as the embedded shell's table shows it.
func wireCellText(v any, fd pgconn.FieldDescription) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case time.Time:
		switch fd.DataTypeOID {
		case pgtype.DateOID:
			return x.Format("2006-01-02")
		case pgtype.TimestamptzOID:
			return x.Format("2006-01-02 15:04:05.999999-07")
		}
		return x.Format("2006-01-02 15:04:05.999999")
	}
	s := cell(v)
	return strings.NewReplacer("\t", " ", "\r", "").Replace(s)
}
