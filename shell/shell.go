package shell

import (
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// Options configure a Shell.
type Options struct {
	Out io.Writer // results (default os.Stdout)
	Err io.Writer // errors, timings and notices (default os.Stderr)
	// Mode is the initial output mode: table, csv, json or line.
	Mode string
	// Principal is who runs the shell (the zero value is an analyst of no
	// known user). Below admin every statement is vetted by the analyst
	// sandbox, and names resolve to the masked views of schema analyst.
	Principal privacy.Principal
	// RevealReason, given by a principal that may reveal (steward, admin),
	// shows raw personal data; every statement run while it does is
	// written to the reveal audit first, with this reason.
	RevealReason string
	// LockDown, for a process that serves this one shell only (a local ckm
	// sql as analyst), also sets DuckDB's global switches: no external
	// access, configuration locked.
	LockDown bool
	// Interactive shows prompts and a banner; on a terminal set Limits too.
	Interactive bool
	// Limits bound what table mode shows (terminal width, long results).
	Limits limits
	// StopOnError makes Run return at the first failing statement instead
	// of printing the error and going on (the -c and -f modes).
	StopOnError bool
	// MaxStatementBytes bounds one statement of the input; a longer one is
	// refused without running (0: DefaultMaxStatementBytes).
	MaxStatementBytes int
	// Cube answers .cube NAME [flags]: the cube query's columns and rows.
	// Nil: .cube says it is not available.
	Cube func(ctx context.Context, args []string) (columns []string, rows [][]any, err error)
	// Cubes are the cube names tab completion offers after .cube.
	Cubes []string
	// JSONDocument makes JSON mode write one document when Run ends: the
	// rows of a lone statement as an array of objects, or for several
	// statements an array of {line, statement, columns, rows}.
	JSONDocument bool
}

// TerminalLimits returns the table limits for a terminal of the given
// width in columns.
func TerminalLimits(columns int) limits {
	return limits{MaxRows: 40, MaxWidth: columns, MaxCellWidth: 48}
}

// Shell runs SQL statements and meta-commands on one connection of a
// warehouse, so session state (SET, temporary tables, transactions) lasts
// across statements. A Shell belongs to one goroutine, except Cancel.
type Shell struct {
	w    *engine.Warehouse
	conn *dbsql.Conn
	opts Options

	mode     string
	raw      bool // show raw personal data (only under a role that allows it)
	timer    bool
	out      io.Writer
	output   Output // .output
	quit     bool
	depth    int // nesting of .read
	line     int // input line of the meta-command running
	failures int

	doc []docEntry // JSON document being collected

	mu          sync.Mutex
	cancel      context.CancelFunc  // of the running statement
	completions map[string][]string // catalog lists cached for Tab
}

// docEntry is one statement's result in a JSON document.
type docEntry struct {
	Line      int
	Statement string
	Columns   []Column
	Rows      []string // encoded row objects
}

// New opens a shell on w with a connection of its own; Close releases it.
// ckm's Go SQL functions are registered by the caller (cmd/ckm), so the
// shell does not depend on the ETL and mining packages.
func New(ctx context.Context, w *engine.Warehouse, opts Options) (*Shell, error) {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Err == nil {
		opts.Err = os.Stderr
	}
	if opts.Principal.Role == "" {
		opts.Principal.Role = privacy.Analyst
	}
	if _, err := privacy.ParseRole(string(opts.Principal.Role)); err != nil {
		return nil, fmt.Errorf("shell: %w", err)
	}
	if opts.RevealReason != "" && !opts.Principal.MayReveal() {
		return nil, fmt.Errorf("shell: role %s may not see raw personal data (steward or admin may)", opts.Principal.Role)
	}
	if opts.Mode == "" {
		opts.Mode = ModeTable
	}
	if !slices.Contains(Modes, opts.Mode) {
		return nil, fmt.Errorf("shell: unknown mode %q: want %s", opts.Mode, strings.Join(Modes, ", "))
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("shell: %w", err)
	}
	s := &Shell{w: w, conn: conn, opts: opts, mode: opts.Mode, out: opts.Out, output: Output{Stdout: opts.Out}}
	if err := s.setRaw(ctx, opts.RevealReason != ""); err != nil {
		conn.Close()
		return nil, err
	}
	if opts.LockDown {
		if err := lockDown(ctx, conn); err != nil {
			conn.Close()
			return nil, fmt.Errorf("shell: %w", err)
		}
	}
	return s, nil
}

// setRaw turns raw values on or off. Off, in a sandboxed session, names
// resolve to the masked views of schema analyst before the base tables of
// main. (An admin's session keeps DuckDB's search path; its output is
// masked unless raw values are on.)
func (s *Shell) setRaw(ctx context.Context, on bool) error {
	if !s.opts.Principal.Sandboxed() {
		s.raw = on
		return nil
	}
	path := privacy.AnalystSchema + ",main"
	if on {
		path = "main"
	}
	if _, err := s.conn.ExecContext(ctx, "SET search_path = "+engine.QuoteString(path)); err != nil {
		return fmt.Errorf("shell: %w", err)
	}
	s.raw = on
	return nil
}

// Close ends the shell's connection and closes an .output file.
func (s *Shell) Close() error {
	s.output.Close()
	return s.conn.Close()
}

// Cancel interrupts the statement running now, if any, and reports whether
// there was one; the shell goes on with the next input (Ctrl-C in the REPL).
func (s *Shell) Cancel() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
		return true
	}
	return false
}

// Failures returns how many statements and meta-commands failed so far.
func (s *Shell) Failures() int { return s.failures }

// Mode returns the current output mode.
func (s *Shell) Mode() string { return s.mode }

// StatementError is a statement that failed: where it was and what DuckDB
// said.
type StatementError struct {
	Source string // "stdin", a file name, or "-c"
	Line   int
	Err    error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err)
}

func (e *StatementError) Unwrap() error { return e.Err }

// Run reads statements and meta-commands from r until its end or .quit.
// source names r in error messages. With StopOnError the first failing
// statement ends Run with a *StatementError; otherwise errors are printed
// and Run goes on.
func (s *Shell) Run(ctx context.Context, source string, r io.Reader) error {
	var prompts io.Writer
	if s.opts.Interactive && s.depth == 0 {
		prompts = s.opts.Err
	}
	return s.runDocument(ctx, source, newReaderSource(r, prompts))
}

// Interact runs the REPL on a terminal: lines come from ed, which edits
// them and keeps their history (statements that reveal personal data are
// left out of it); Ctrl-C at the prompt drops the statement being typed,
// io.EOF (Ctrl-D) ends the shell.
func (s *Shell) Interact(ctx context.Context, ed LineEditor) error {
	return s.runDocument(ctx, "stdin", editorSource{ed})
}

func (s *Shell) runDocument(ctx context.Context, source string, src lineSource) error {
	err := s.run(ctx, source, src)
	if s.opts.JSONDocument && s.depth == 0 {
		if err == nil && (s.mode == ModeJSON || len(s.doc) > 0) {
			err = s.writeDocument()
		}
		s.doc = nil
	}
	return err
}

func (s *Shell) run(ctx context.Context, source string, src lineSource) error {
	var sp splitter
	interactive := s.opts.Interactive && s.depth == 0
	ed, _ := src.(editorSource)
	max := s.opts.MaxStatementBytes
	if max <= 0 {
		max = DefaultMaxStatementBytes
	}
	var typed []string // the lines of the input being typed, for the history
	for !s.quit {
		prompt := ""
		if interactive {
			prompt = "ckm> "
			if sp.Pending() {
				prompt = "   ...> "
			}
		}
		line, err := src.next(ctx, prompt, max-sp.Len())
		switch {
		case err == io.EOF:
			if interactive && ed.ed == nil {
				fmt.Fprintln(s.opts.Err)
			}
			if it, ok := sp.Flush(); ok && !s.quit {
				return s.do(ctx, source, it)
			}
			return nil
		case errors.Is(err, ErrLineInterrupted):
			sp, typed = splitter{line: sp.line}, nil
			continue
		case errors.Is(err, ErrStatementTooLarge):
			start := sp.start
			if start == 0 {
				start = sp.line + 1
			}
			s.failures++
			se := &StatementError{Source: source, Line: start, Err: fmt.Errorf("%w: the input from here grew past %d bytes, the limit (--max-statement-bytes) before its statement ended; nothing of it ran", ErrStatementTooLarge, max)}
			if !interactive {
				return se
			}
			fmt.Fprintf(s.opts.Err, "Error: %v\n", se)
			sp, typed = splitter{line: sp.line + 1}, nil
			continue
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read %s: %w", source, err)
		}
		if ed.ed != nil {
			typed = append(typed, line)
		}
		for _, it := range sp.Feed(line) {
			if err := s.do(ctx, source, it); err != nil {
				return err
			}
			if s.quit {
				return nil
			}
		}
		if len(typed) > 0 && !sp.Pending() {
			s.remember(ed.ed, typed)
			typed = nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// remember writes what was typed to the history, unless it reveals
// personal data.
func (s *Shell) remember(ed LineEditor, typed []string) {
	if !Recordable(strings.Join(typed, "\n")) {
		return
	}
	for _, e := range historyEntries(typed) {
		if err := ed.SaveHistory(e); err != nil {
			fmt.Fprintf(s.opts.Err, "warning: history: %v\n", err)
			return
		}
	}
}

// do runs one item and decides whether its error ends the run.
func (s *Shell) do(ctx context.Context, source string, it item) error {
	var err error
	if it.Meta {
		err = s.meta(ctx, source, it)
	} else {
		err = s.exec(ctx, it)
	}
	if err == nil {
		return nil
	}
	s.failures++
	var se *StatementError
	if !errors.As(err, &se) {
		se = &StatementError{Source: source, Line: it.Line, Err: err}
	}
	if s.opts.StopOnError {
		return se
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintf(s.opts.Err, "Error: %v\n", se)
	return nil
}

// exec runs one SQL statement and renders its result.
func (s *Shell) exec(ctx context.Context, it item) error {
	qctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cancel = nil
		s.mu.Unlock()
		cancel()
	}()
	start := time.Now()
	err := s.query(qctx, ctx, it)
	if err != nil && qctx.Err() != nil && ctx.Err() == nil {
		return ErrInterrupted
	}
	if err != nil {
		err = s.withPosition(ctx, it.Text, cleanError(err))
	}
	if s.timer {
		fmt.Fprintf(s.opts.Err, "Run Time: %.3fs\n", time.Since(start).Seconds())
	}
	return err
}

// query vets (below admin), audits (raw values on) and runs one statement
// and renders its result.
func (s *Shell) query(qctx, ctx context.Context, it item) error {
	if s.opts.Principal.Sandboxed() && !it.trusted {
		if err := s.vet(qctx, it.Text); err != nil {
			return err
		}
	}
	var audit int64
	if s.raw {
		// No audit row, no raw values.
		id, err := privacy.Audit(qctx, s.w.DB, privacy.Reveal{Principal: s.opts.Principal, Command: "sql",
			Detail: it.Text, Reason: s.opts.RevealReason, Rows: -1})
		if err != nil {
			return err
		}
		audit = id
	}
	// An admin's statement that may change rows is recorded for the lake's
	// incremental export, on this connection before and after it runs.
	record := !s.opts.Principal.Sandboxed() && !s.w.ReadOnly && engine.StatementMayChange(qctx, s.conn, it.Text)
	rows, err := engine.QueryRecordingChange(qctx, s.conn, record, "sql shell", it.Text)
	var n int64
	if err == nil {
		n, err = s.render(rows, it)
		rows.Close()
	}
	if audit != 0 {
		if aerr := privacy.AuditRows(context.WithoutCancel(ctx), s.w.DB, audit, n); aerr != nil && err == nil {
			err = aerr
		}
	}
	return err
}

// withPosition adds the line and a caret to a parser error DuckDB gave
// without them (a syntax error at the end of input has none), at the
// position its parser reports through json_serialize_sql, as the sandbox
// shows an analyst's.
func (s *Shell) withPosition(ctx context.Context, text string, err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "Parser Error:") || strings.Contains(msg, "\nLINE ") || ctx.Err() != nil {
		return err
	}
	var out string
	if s.conn.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", text).Scan(&out) != nil {
		return err
	}
	var tree struct {
		Error    bool   `json:"error"`
		Position string `json:"position"`
	}
	if json.Unmarshal([]byte(out), &tree) != nil || !tree.Error {
		return err
	}
	pos, perr := strconv.Atoi(tree.Position)
	if perr != nil {
		return err
	}
	if caret := caretLines(text, pos); caret != "" {
		return fmt.Errorf("%w%s", err, caret)
	}
	return err
}

// ErrInterrupted is the error of a statement stopped by Cancel.
var ErrInterrupted = errors.New("interrupted")

// cleanError drops the trailing blank lines DuckDB leaves on messages.
func cleanError(err error) error {
	msg := strings.TrimRight(err.Error(), "\n ")
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// render writes a result set in the current mode, masking personal data
// unless raw values are on.
func (s *Shell) render(rows *dbsql.Rows, it item) (int64, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return 0, err
	}
	cols := make([]Column, len(cts))
	names := make([]string, len(cts))
	for i, ct := range cts {
		cols[i] = Column{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		names[i] = ct.Name()
	}
	var m *privacy.RowMasker
	if !s.raw {
		m = privacy.NewRowMasker(names)
	}
	var rend renderer
	var entry *docEntry
	switch {
	case s.mode == ModeJSON && s.opts.JSONDocument:
		entry = &docEntry{Line: it.Line, Statement: it.Text, Columns: cols}
	default:
		rend = newRenderer(s.mode, s.out, s.opts.Limits)
	}
	keys := jsonKeys(cols)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	began := false
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if m != nil {
			m.Mask(vals)
		}
		if entry != nil {
			obj, err := jsonObject(keys, cols, vals)
			if err != nil {
				return n, err
			}
			entry.Rows = append(entry.Rows, obj)
			n++
			continue
		}
		if !began {
			if err := rend.begin(cols); err != nil {
				return n, err
			}
			began = true
		}
		if err := rend.row(vals); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, cleanError(err)
	}
	if entry != nil {
		s.doc = append(s.doc, *entry)
		return n, nil
	}
	if !began {
		if isStatus(cols) {
			return n, nil // DDL, SET, BEGIN: nothing to show
		}
		if err := rend.begin(cols); err != nil {
			return n, err
		}
	}
	return n, rend.end(n)
}

// isStatus recognises the empty results DuckDB returns for statements that
// produce no rows (CREATE, SET, BEGIN: one Success or Count column).
func isStatus(cols []Column) bool {
	return len(cols) == 0 || len(cols) == 1 && (cols[0].Name == "Success" && cols[0].Type == "BOOLEAN" || cols[0].Name == "Count" && cols[0].Type == "BIGINT")
}

// writeDocument writes the JSON document collected in JSONDocument mode.
func (s *Shell) writeDocument() error {
	var b strings.Builder
	writeRows := func(rows []string, indent string) {
		if len(rows) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[")
		for i, r := range rows {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + indent + "  " + r)
		}
		b.WriteString("\n" + indent + "]")
	}
	if len(s.doc) == 1 {
		writeRows(s.doc[0].Rows, "")
	} else {
		b.WriteString("[")
		for i, e := range s.doc {
			if i > 0 {
				b.WriteString(",")
			}
			stmt, _ := marshalJSON(e.Statement)
			cols, _ := marshalJSON(e.Columns)
			fmt.Fprintf(&b, "\n  {\"line\": %d, \"statement\": %s, \"columns\": %s, \"rows\": ", e.Line, stmt, cols)
			writeRows(e.Rows, "  ")
			b.WriteString("}")
		}
		if len(s.doc) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("]")
	}
	b.WriteString("\n")
	_, err := io.WriteString(s.out, b.String())
	return err
}
