package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ckm-dev/ckm/shell"
)

// sqlREPLViaServer is ckm sql reading stdin while ckm serve holds the
// warehouse: as in the embedded shell, each statement runs as soon as a
// line ends it with ";" (a statement left open at the end of the input
// runs then), its rows print as the embedded shell prints them (a boxed
// table with the column types by default; csv; json per statement), a
// failing statement prints its error and the next ones still run, and
// with any failure the exit code is 1. .quit and .exit leave; the other
// meta-commands belong to the embedded shell. On a terminal it prompts
// (ckm> and ...> for a continued statement) on stderr.
func sqlREPLViaServer(ctx context.Context, opts *sqlOptions, conn *pgx.Conn) error {
	a := opts.app
	interactive := isTerminal(asWriter(opts.stdin))
	var next func(prompt string) (string, error) // a line with its newline; io.EOF at the end
	var ed *shell.TerminalEditor
	if interactive {
		fmt.Fprintf(a.stderr, "ckm %s — warehouse %s through ckm serve at %s\nEnter .quit or Ctrl-D to leave; Ctrl-C cancels the running statement.\n",
			version, a.warehousePath(), conn.Config().Host+":"+strconv.Itoa(int(conn.Config().Port)))
		history, err := historyPath(opts.history)
		if err != nil {
			fmt.Fprintf(a.stderr, "warning: no history: %v\n", err)
		}
		if ed, err = shell.NewTerminalEditor(shell.EditorOptions{HistoryFile: history, Stdout: a.stderr, Stderr: a.stderr}); err != nil {
			fmt.Fprintf(a.stderr, "warning: %v; reading lines without editing\n", err)
			ed = nil
		} else {
			defer ed.Close()
			next = func(prompt string) (string, error) {
				l, err := ed.ReadLine(prompt)
				if err != nil {
					return "", err
				}
				return l + "\n", nil
			}
		}
		// Ctrl-C cancels the running statement (the server is asked to
		// stop it; the session goes on), not the REPL.
		ctx = context.WithoutCancel(ctx)
	}
	if next == nil {
		in := bufio.NewReader(opts.stdin)
		next = func(prompt string) (string, error) {
			if interactive {
				fmt.Fprint(a.stderr, prompt)
			}
			return in.ReadString('\n')
		}
	}
	var mu sync.Mutex
	var cancelRunning context.CancelFunc
	if interactive {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt)
		defer signal.Stop(sigs)
		go func() {
			for range sigs {
				mu.Lock()
				if cancelRunning != nil {
					cancelRunning()
				}
				mu.Unlock()
			}
		}()
	}
	var pending strings.Builder // the lines of the statement not yet ended
	var typed []string          // those lines as typed, for the history
	failures, line, start := 0, 0, 0
	run := func(stmt string, at int) bool {
		if t := strings.TrimSpace(stmt); strings.HasPrefix(t, ".") && !strings.Contains(t, "\n") {
			switch strings.Fields(t)[0] {
			case ".quit", ".exit":
				return false
			}
			failures++
			fmt.Fprintf(a.stderr, "Error: stdin:%d: meta-command %s: only the embedded shell has meta-commands; ckm serve holds the warehouse (psql's \\dt and \\d work against it)\n", at, strings.Fields(t)[0])
			return true
		}
		sctx, cancel := context.WithCancel(ctx)
		mu.Lock()
		cancelRunning = cancel
		mu.Unlock()
		err := runServerStatement(sctx, a, conn, stmt)
		mu.Lock()
		cancelRunning = nil
		mu.Unlock()
		interrupted := sctx.Err() != nil
		cancel()
		if err != nil {
			failures++
			var pe *pgconn.PgError
			switch {
			case interrupted:
				err = errors.New("interrupted")
			case errors.As(err, &pe): // as the embedded shell words it, with the SQLSTATE
				err = fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
			}
			fmt.Fprintf(a.stderr, "Error: stdin:%d: %v\n", at, err)
		}
		return true
	}
	remember := func() {
		if ed != nil && len(typed) > 0 {
			entry := strings.Join(typed, " ")
			if strings.Contains(entry, "--") {
				entry = strings.Join(typed, "\n")
			}
			if shell.Recordable(entry) {
				for _, e := range strings.Split(entry, "\n") {
					ed.SaveHistory(e)
				}
			}
		}
		typed = nil
	}
	for {
		prompt := "ckm> "
		if strings.TrimSpace(pending.String()) != "" {
			prompt = "   ...> "
		}
		text, err := next(prompt)
		if errors.Is(err, shell.ErrLineInterrupted) { // Ctrl-C at the prompt drops the statement typed
			pending.Reset()
			typed = nil
			continue
		}
		if text != "" {
			line++
			if strings.TrimSpace(pending.String()) == "" {
				pending.Reset()
				start = line
			}
			pending.WriteString(text)
			typed = append(typed, strings.TrimRight(text, "\r\n"))
			if pending.Len() > opts.maxStmt {
				failures++
				fmt.Fprintf(a.stderr, "Error: stdin:%d: the input from here grew past %d bytes, the limit (--max-statement-bytes), before its statement ended; nothing of it ran\n", start, opts.maxStmt)
				if !interactive {
					return fmt.Errorf("sql: statement at line %d too large", start)
				}
				pending.Reset()
				typed = nil
				continue
			}
			done, rest := endedStatements(pending.String())
			if len(done) > 0 && rest == "" {
				remember()
			}
			for k, st := range done {
				at := start
				if k > 0 { // it began on the line that ended the one before
					at = line
				}
				if !run(st, at) {
					return replEnd(failures, interactive)
				}
			}
			if len(done) > 0 {
				pending.Reset()
				pending.WriteString(rest)
				start = line
			}
		}
		if errors.Is(err, io.EOF) {
			if interactive {
				fmt.Fprintln(a.stderr)
			}
			for _, st := range shell.SplitStatements(pending.String()) {
				if !run(st, start) {
					break
				}
			}
			return replEnd(failures, interactive)
		}
		if err != nil {
			return fmt.Errorf("sql: read stdin: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// replEnd is what a REPL through the server returns at its end: as the
// embedded shell, failures give exit code 1 unless typed at a terminal.
func replEnd(failures int, interactive bool) error {
	if failures > 0 && !interactive {
		return fmt.Errorf("sql: %d statement(s) from stdin failed; see the errors above", failures)
	}
	return nil
}

// endedStatements cuts text into the statements a ";" has ended and the
// rest, still open (in a statement, a quote or a comment). It asks the
// shell's splitter: a last piece is still open when a word on a line of
// its own after it joins it rather than becoming a statement of its own.
func endedStatements(text string) ([]string, string) {
	pieces := shell.SplitStatements(text)
	if len(pieces) == 0 {
		return nil, text
	}
	if len(shell.SplitStatements(text+"\nckm_probe")) == len(pieces)+1 {
		return pieces, ""
	}
	if len(pieces) == 1 {
		return nil, text
	}
	// All but the last piece are ended; the rest is the text from the
	// last piece on, which SplitStatements returned trimmed.
	last := pieces[len(pieces)-1]
	i := strings.LastIndex(text, last)
	if i < 0 {
		return nil, text
	}
	return pieces[:len(pieces)-1], text[i:]
}

// runServerStatement runs one statement on the server and prints its rows
// in --format (a statement without rows prints nothing).
func runServerStatement(ctx context.Context, a *app, conn *pgx.Conn, stmt string) error {
	rows, err := conn.Query(ctx, stmt, pgx.QueryExecModeSimpleProtocol)
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
	switch a.format() {
	case formatJSON:
		return writeJSONRows(a.stdout, header, data)
	case formatCSV:
		return a.printTable(header, data)
	}
	return writeBoxTable(a.stdout, fds, data)
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

// wireNumeric: the columns the embedded shell aligns right.
func wireNumeric(oid uint32) bool {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID:
		return true
	}
	return false
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

// writeBoxTable writes rows as the embedded shell's default table mode: a
// box with the column names and types over the rows, numbers aligned
// right, and a footer counting the rows.
func writeBoxTable(w io.Writer, fds []pgconn.FieldDescription, data [][]any) error {
	n := len(fds)
	names, types := make([]string, n), make([]string, n)
	wd := make([]int, n)
	for j, fd := range fds {
		names[j], types[j] = fd.Name, wireTypeName(fd)
		wd[j] = max(shell.DisplayWidth(names[j]), shell.DisplayWidth(types[j]))
	}
	cells := make([][]string, len(data))
	for i, row := range data {
		cells[i] = make([]string, n)
		for j, v := range row {
			cells[i][j] = wireCellText(v, fds[j])
			for _, l := range strings.Split(cells[i][j], "\n") {
				wd[j] = max(wd[j], shell.DisplayWidth(l))
			}
		}
	}
	var b strings.Builder
	border := func(left, mid, right string) {
		b.WriteString(left)
		for j := range n {
			if j > 0 {
				b.WriteString(mid)
			}
			b.WriteString(strings.Repeat("─", wd[j]+2))
		}
		b.WriteString(right + "\n")
	}
	line := func(row []string, right func(int) bool) {
		height := 1
		for _, c := range row {
			height = max(height, strings.Count(c, "\n")+1)
		}
		for l := range height {
			b.WriteString("│")
			for j, c := range row {
				parts := strings.Split(c, "\n")
				text := ""
				if l < len(parts) {
					text = parts[l]
				}
				gap := strings.Repeat(" ", max(0, wd[j]-shell.DisplayWidth(text)))
				if right(j) {
					text = gap + text
				} else {
					text += gap
				}
				b.WriteString(" " + text + " │")
			}
			b.WriteByte('\n')
		}
	}
	left := func(int) bool { return false }
	border("┌", "┬", "┐")
	line(names, left)
	line(types, left)
	border("├", "┼", "┤")
	for _, row := range cells {
		line(row, func(j int) bool { return wireNumeric(fds[j].DataTypeOID) })
	}
	border("└", "┴", "┘")
	rows := "rows"
	if len(data) == 1 {
		rows = "row"
	}
	fmt.Fprintf(&b, "(%d %s)\n", len(data), rows)
	_, err := io.WriteString(w, b.String())
	return err
}
