package serve

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/shell"
)

// session is one client: its DuckDB connection, principal, prepared
// statements and portals. Its messages are handled by one goroutine;
// cancelStatement may come from another (a cancel request).
type session struct {
	srv       *Server
	nc        net.Conn
	be        *pgproto3.Backend
	conn      *sql.Conn
	principal privacy.Principal
	pid       uint32
	secret    []byte
	params    map[string]string
	types     *pgtype.Map

	stmts     map[string]*statement
	portals   map[string]*portal
	txStatus  byte  // 'I' idle, 'T' in a transaction, 'E' failed transaction
	skipSync  bool  // an extended-protocol error: ignore messages until Sync
	rows      int64 // rows the last statement sent or changed (-1: none known), for the audit
	typeViews bool  // the views of type lookups exist on conn

	mu      sync.Mutex
	cancel  context.CancelFunc // of the running statement
	closing bool               // the server stops: end after this message
}

// stmtKind says how a statement is answered.
type stmtKind int

const (
	kindSQL   stmtKind = iota // run in DuckDB
	kindEmpty                 // nothing but comments or white space
	kindFixed                 // answered by the server itself (catalog queries, client settings)
	kindJob                   // a job call: CALL ckm_load(...)
)

// statement is one parsed statement.
type statement struct {
	text      string // as the client sent it
	sql       string // what runs in DuckDB
	kind      stmtKind
	tag       string   // command tag keyword(s)
	trusted   bool     // the server's own SQL: neither vetted nor masked
	paramOIDs []uint32 // extended protocol: the parameters' types
	cols      []column // extended protocol: the result's columns (nil: no rows)
	fixed     *fixedResult
	job       *jobCall
	record    bool // an admin's statement that may change rows (engine.StatementMayChange)
}

// fixedResult is an answer the server gives without DuckDB.
type fixedResult struct {
	cols []column
	rows [][]any
}

// portal is a bound statement, ready to execute.
type portal struct {
	st      *statement
	args    []any
	formats []int16
	rows    *sql.Rows // open while a row-limited Execute suspended it
	sent    int64
	masker  *privacy.RowMasker
	qctx    context.Context // of the running statement
	cancel  context.CancelFunc
	limit   int64 // the role's row limit (0: none)
}

// limits are the limits of the session's role.
func (ss *session) limits() Limits { return ss.srv.cfg.RoleLimits[ss.principal.Role] }

func (ss *session) close() {
	for _, p := range ss.portals {
		p.closeRows()
	}
	// The connection carries the session's state (an analyst's
	// search_path to the masked views, a client's SETs): it is closed,
	// never handed back to the pool a job reads and writes through.
	_ = ss.conn.Raw(func(any) error { return driver.ErrBadConn })
	ss.conn.Close()
}

func (p *portal) closeRows() {
	if p.rows != nil {
		p.rows.Close()
		p.rows = nil
	}
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
}

// cancelStatement interrupts the statement running now, if any.
func (ss *session) cancelStatement() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cancel != nil {
		ss.cancel()
	}
}

// closeWhenIdle ends the session after its running statement; an idle
// session ends now.
func (ss *session) closeWhenIdle() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closing = true
	if ss.cancel == nil {
		_ = ss.nc.SetReadDeadline(time.Now())
	}
}

// serverVersion is what the server reports: psql and drivers choose their
// catalog queries by it, and the catalog layer answers those of 15.
const serverVersion = "15.0 (ckm)"

func (ss *session) run(ctx context.Context) {
	ss.types = pgtype.NewMap()
	ss.be.Send(&pgproto3.AuthenticationOk{})
	for _, kv := range [][2]string{{"server_version", serverVersion}, {"server_encoding", "UTF8"}, {"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"}, {"IntervalStyle", "postgres"}, {"integer_datetimes", "on"}, {"standard_conforming_strings", "on"},
		{"TimeZone", "UTC"}, {"is_superuser", "off"}, {"session_authorization", ss.principal.User},
		{"application_name", ss.params["application_name"]}} {
		ss.be.Send(&pgproto3.ParameterStatus{Name: kv[0], Value: kv[1]})
	}
	ss.be.Send(&pgproto3.BackendKeyData{ProcessID: ss.pid, SecretKey: ss.secret})
	ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: ss.txStatus})
	if err := ss.be.Flush(); err != nil {
		return
	}
	for {
		msg, err := ss.be.Receive()
		if err != nil {
			return
		}
		if ss.skipSync {
			if _, ok := msg.(*pgproto3.Sync); !ok {
				continue
			}
		}
		// Replies are flushed at Query, Sync and Flush (as PostgreSQL
		// does), so a pipelined Parse/Bind/Execute/Sync is one write.
		flush := false
		switch m := msg.(type) {
		case *pgproto3.Query:
			ss.simpleQuery(ctx, m.String)
			ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: ss.txStatus})
			flush = true
		case *pgproto3.Parse:
			ss.extended(ss.parse(ctx, m))
		case *pgproto3.Bind:
			ss.extended(ss.bind(m))
		case *pgproto3.Describe:
			ss.extended(ss.describe(m))
		case *pgproto3.Execute:
			ss.extended(ss.execute(ctx, m))
		case *pgproto3.Close:
			if m.ObjectType == 'S' {
				delete(ss.stmts, m.Name)
			} else if p := ss.portals[m.Name]; p != nil {
				p.closeRows()
				delete(ss.portals, m.Name)
			}
			ss.be.Send(&pgproto3.CloseComplete{})
		case *pgproto3.Sync:
			ss.skipSync = false
			if p := ss.portals[""]; p != nil {
				p.closeRows()
			}
			ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: ss.txStatus})
			flush = true
		case *pgproto3.Flush:
			flush = true
		case *pgproto3.Terminate:
			return
		default:
			ss.sendError(&pgError{code: "0A000", msg: fmt.Sprintf("message %T is not supported by ckm serve", msg)})
			ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: ss.txStatus})
			flush = true
		}
		if flush {
			if err := ss.be.Flush(); err != nil {
				return
			}
		}
		ss.mu.Lock()
		closing := ss.closing
		ss.mu.Unlock()
		if closing {
			ss.be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "57P01", Message: "terminating connection: the server is shutting down"})
			_ = ss.be.Flush()
			return
		}
	}
}

// extended sends the error of an extended-protocol message, after which
// messages are ignored until Sync.
func (ss *session) extended(err error) {
	if err != nil {
		ss.sendError(err)
		ss.skipSync = true
	}
}

// simpleQuery runs each statement of a Query message in turn, stopping at
// the first error.
func (ss *session) simpleQuery(ctx context.Context, text string) {
	parts := shell.SplitStatements(text)
	if len(parts) == 0 {
		ss.be.Send(&pgproto3.EmptyQueryResponse{})
		return
	}
	for _, part := range parts {
		start := time.Now()
		ss.rows = -1
		st, err := ss.plan(ctx, part)
		if err == nil {
			err = ss.runStatement(ctx, st, nil, nil, true, 0, nil)
		}
		ss.auditStatement(part, start, err)
		if err != nil {
			ss.sendError(err)
			return
		}
	}
}

// auditStatement records a statement that ran, was refused or failed.
func (ss *session) auditStatement(text string, start time.Time, err error) {
	e := auditEntry{event: "statement", pid: ss.pid, user: ss.principal.User, role: string(ss.principal.Role),
		statement: text, rows: ss.rows, ms: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		e.event, e.sqlstate, e.rows = "failed", sqlState(err), -1
		if e.sqlstate == "42501" {
			e.event = "refused"
		}
		// A role's limit is a refusal of the server (the audit table's
		// events are fixed by its schema); the SQLSTATE says which.
		var pe *pgError
		if errors.As(err, &pe) && pe.limit != "" {
			e.event, e.rows = "refused", ss.rows
		}
	}
	ss.srv.audit.add(e)
}

// plan decides how a statement is answered and vets it for the principal.
func (ss *session) plan(ctx context.Context, text string) (*statement, error) {
	st := &statement{text: text, sql: text, tag: commandTag(text)}
	trimmed := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(text), ";"))
	switch {
	case trimmed == "" || len(shell.SplitStatements(text)) == 0:
		st.kind = kindEmpty
		return st, nil
	}
	if call, ok, err := parseJobCall(trimmed); ok || err != nil {
		if err != nil {
			return nil, &pgError{code: "42601", msg: err.Error()}
		}
		if call.kind == "cube" {
			st.kind, st.job, st.tag, st.cols = kindJob, call, "CALL", cubeColumns
			return st, nil
		}
		if call.kind == "reveal" {
			if !ss.principal.MayReveal() {
				return nil, ss.refused(text, fmt.Errorf("%w: ckm_reveal: role %s never sees raw personal data (a steward or admin may)", shell.ErrRefused, ss.principal.Role))
			}
			st.kind, st.job, st.tag, st.cols = kindJob, call, "CALL", revealColumns
			return st, nil
		}
		if !ss.principal.Role.Covers(privacy.Admin) {
			return nil, ss.refused(text, fmt.Errorf("%w: %s runs loads and exports, which only an admin may start", shell.ErrRefused, call.name))
		}
		st.kind, st.job, st.tag, st.cols = kindJob, call, "CALL", jobColumns
		return st, nil
	}
	if callsReveal(text) {
		return nil, ss.revealRefusal(text)
	}
	if ans, ok, err := answerCatalog(ctx, ss.conn, trimmed, ss.principal, ss.srv.cfg.Auth.Users); ok {
		if err != nil {
			return nil, err
		}
		st.kind, st.trusted, st.fixed, st.cols = kindFixed, true, ans.fixed, ans.fixed.cols
		if ans.tag != "" {
			st.tag = ans.tag
		}
		return st, nil
	}
	if ss.principal.Sandboxed() && !isTransactionControl(trimmed) {
		if err := shell.Vet(ctx, ss.conn, text); err != nil {
			return nil, ss.refused(text, err)
		}
	}
	if sql, ok := rewriteTypeLookup(text); ok {
		if !ss.typeViews {
			for _, q := range typeCatalogViews {
				if _, err := ss.conn.ExecContext(ctx, q); err != nil {
					return nil, fmt.Errorf("catalog (type lookup): %w", err)
				}
			}
			ss.typeViews = true
		}
		st.sql = sql
	}
	// Decided once here, not at every Execute of a prepared statement.
	st.record = !ss.principal.Sandboxed() && !ss.srv.w.ReadOnly && engine.StatementMayChange(ctx, ss.conn, st.sql)
	return st, nil
}

// refused logs a refused statement and returns its error.
func (ss *session) refused(text string, err error) error {
	ss.srv.cfg.Log.Warn("statement refused", "pid", ss.pid, "user", ss.principal.User, "role", string(ss.principal.Role),
		"statement", text, "err", err)
	return err
}

var transactionControl = regexp.MustCompile(`(?i)^(begin|start\s+transaction|commit|end|rollback|abort)(\s+(transaction|work))?$`)

// isTransactionControl recognises BEGIN, COMMIT and ROLLBACK alone, which
// read and write nothing, so an analyst's driver may bracket its queries.
func isTransactionControl(s string) bool { return transactionControl.MatchString(strings.TrimSpace(s)) }

// commandTag is the keyword(s) a CommandComplete names for text.
func commandTag(text string) string {
	fields := strings.Fields(strings.ToUpper(engine.StripLeadingComments(text)))
	if len(fields) == 0 {
		return ""
	}
	kw := strings.Trim(fields[0], "(;")
	switch kw {
	case "CREATE", "DROP", "ALTER":
		if len(fields) > 1 {
			obj := strings.Trim(fields[1], ";")
			if obj == "OR" && len(fields) > 3 {
				obj = fields[3]
			}
			return kw + " " + obj
		}
	case "WITH", "VALUES", "TABLE", "FROM", "SHOW", "DESCRIBE", "SUMMARIZE", "PIVOT", "UNPIVOT":
		return "SELECT"
	case "START":
		return "BEGIN"
	case "END", "ABORT":
		return "COMMIT"
	}
	return kw
}

// parse handles a Parse message: plan, vet and describe the statement.
func (ss *session) parse(ctx context.Context, m *pgproto3.Parse) error {
	if len(shell.SplitStatements(m.Query)) > 1 {
		return &pgError{code: "42601", msg: "cannot insert multiple commands into a prepared statement"}
	}
	start := time.Now()
	st, err := ss.plan(ctx, m.Query)
	if err != nil {
		ss.auditStatement(m.Query, start, err)
		return err
	}
	if st.kind == kindSQL {
		// Described, not kept prepared: DuckDB 1.5.6 folds table
		// statistics into a prepared plan (counts and min/max from
		// metadata, filters pruned by them) and rebinds a kept plan only
		// when the catalog changes, so a plan kept across a load answered
		// from the data before it (duckdb/duckdb#24696, fixed after 1.5.6;
		// TestPreparedSeesLaterCommits). Each Execute plans it afresh.
		if err := ss.describeSQL(st); err != nil {
			return err
		}
	}
	for i, oid := range m.ParameterOIDs {
		if i < len(st.paramOIDs) && oid != 0 {
			st.paramOIDs[i] = oid
		}
	}
	ss.stmts[m.Name] = st
	ss.be.Send(&pgproto3.ParseComplete{})
	return nil
}

// describeSQL prepares st in DuckDB (one statement only; nothing runs) to
// learn its parameters' and columns' types.
func (ss *session) describeSQL(st *statement) error {
	return ss.conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("describe: not a DuckDB connection")
		}
		ps, err := c.Prepare(st.sql)
		if err != nil {
			return cleanError(err)
		}
		defer ps.Close()
		ds, ok := ps.(*duckdb.Stmt)
		if !ok {
			return errors.New("describe: not a DuckDB statement")
		}
		n := ds.NumInput()
		st.paramOIDs = make([]uint32, n)
		for i := range n {
			t, err := ds.ParamType(i + 1)
			if err == nil {
				st.paramOIDs[i] = oidOfType(t)
			}
		}
		nc, err := ds.ColumnCount()
		if err != nil {
			return err
		}
		st.cols = make([]column, nc)
		for i := range nc {
			name, _ := ds.ColumnName(i)
			t, _ := ds.ColumnType(i)
			st.cols[i] = column{Name: name, OID: oidOfType(t)}
		}
		if isStatusColumns(st.cols) {
			st.cols = nil
		}
		return nil
	})
}

// isStatusColumns recognises the one-column result DuckDB returns for a
// statement that returns no rows (Count of changed rows or Success).
func isStatusColumns(cols []column) bool {
	return len(cols) == 0 || len(cols) == 1 && (cols[0].Name == "Count" && cols[0].OID == pgtype.Int8OID || cols[0].Name == "Success" && cols[0].OID == pgtype.BoolOID)
}

// bind handles a Bind message: decode the parameters into a portal.
func (ss *session) bind(m *pgproto3.Bind) error {
	st, ok := ss.stmts[m.PreparedStatement]
	if !ok {
		return &pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", m.PreparedStatement)}
	}
	if len(m.Parameters) != len(st.paramOIDs) && st.kind == kindSQL {
		return &pgError{code: "08P01", msg: fmt.Sprintf("bind message supplies %d parameters, but prepared statement requires %d", len(m.Parameters), len(st.paramOIDs))}
	}
	args := make([]any, len(m.Parameters))
	for i, raw := range m.Parameters {
		format := formatOf(m.ParameterFormatCodes, i)
		var oid uint32
		if i < len(st.paramOIDs) {
			oid = st.paramOIDs[i]
		}
		v, err := decodeParam(ss.types, oid, format, raw)
		if err != nil {
			return &pgError{code: "22P02", msg: fmt.Sprintf("parameter $%d: %v", i+1, err)}
		}
		args[i] = v
	}
	if old := ss.portals[m.DestinationPortal]; old != nil {
		old.closeRows()
	}
	ss.portals[m.DestinationPortal] = &portal{st: st, args: args, formats: m.ResultFormatCodes}
	ss.be.Send(&pgproto3.BindComplete{})
	return nil
}

// formatOf is the format code of item i: none given is text, one applies
// to all.
func formatOf(codes []int16, i int) int16 {
	switch {
	case len(codes) == 0:
		return pgtype.TextFormatCode
	case len(codes) == 1:
		return codes[0]
	case i < len(codes):
		return codes[i]
	}
	return pgtype.TextFormatCode
}

// describe handles a Describe message of a statement or a portal.
func (ss *session) describe(m *pgproto3.Describe) error {
	if m.ObjectType == 'S' {
		st, ok := ss.stmts[m.Name]
		if !ok {
			return &pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", m.Name)}
		}
		ss.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: st.paramOIDs})
		ss.sendRowDescription(st.cols, nil)
		return nil
	}
	p, ok := ss.portals[m.Name]
	if !ok {
		return &pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", m.Name)}
	}
	ss.sendRowDescription(p.st.cols, p.formats)
	return nil
}

func (ss *session) sendRowDescription(cols []column, formats []int16) {
	if len(cols) == 0 {
		ss.be.Send(&pgproto3.NoData{})
		return
	}
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, c := range cols {
		fields[i] = pgproto3.FieldDescription{Name: []byte(c.Name), DataTypeOID: c.OID, DataTypeSize: typeSize(c.OID),
			TypeModifier: typeModifier(c.DuckType), Format: formatOf(formats, i)}
	}
	ss.be.Send(&pgproto3.RowDescription{Fields: fields})
}

// execute handles an Execute message.
func (ss *session) execute(ctx context.Context, m *pgproto3.Execute) error {
	p, ok := ss.portals[m.Portal]
	if !ok {
		return &pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", m.Portal)}
	}
	start := time.Now()
	ss.rows = -1
	err := ss.runStatement(ctx, p.st, p.args, p.formats, false, int64(m.MaxRows), p)
	ss.auditStatement(p.st.text, start, err)
	return err
}

// runStatement runs st and sends its rows (with a RowDescription first in
// the simple protocol) and its CommandComplete. With maxRows > 0 it stops
// after that many rows and suspends the portal.
func (ss *session) runStatement(ctx context.Context, st *statement, args []any, formats []int16, simple bool, maxRows int64, p *portal) error {
	switch st.kind {
	case kindEmpty:
		ss.be.Send(&pgproto3.EmptyQueryResponse{})
		return nil
	case kindFixed:
		if simple && len(st.fixed.cols) > 0 {
			ss.sendRowDescription(st.fixed.cols, nil)
		}
		for _, row := range st.fixed.rows {
			if err := ss.sendRow(row, st.fixed.cols, formats); err != nil {
				return err
			}
		}
		ss.rows = int64(len(st.fixed.rows))
		tag := st.tag
		if len(st.fixed.cols) > 0 {
			tag = fmt.Sprintf("SELECT %d", len(st.fixed.rows))
		}
		ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
		return nil
	case kindJob:
		return ss.runJob(ctx, st, formats, simple)
	}
	if p != nil && p.rows != nil {
		return ss.streamRows(ctx, p, st.cols, formats, maxRows)
	}
	lim := ss.limits()
	qctx, cancel := context.WithCancel(ctx)
	if lim.StatementTimeout > 0 {
		qctx, cancel = context.WithTimeout(ctx, lim.StatementTimeout)
	}
	ss.mu.Lock()
	ss.cancel = cancel
	ss.mu.Unlock()
	finish := func() {
		ss.mu.Lock()
		ss.cancel = nil
		ss.mu.Unlock()
		cancel()
	}
	start := time.Now()
	// An admin's statement that may change rows is recorded for the lake's
	// incremental export before it runs (inside the session's transaction,
	// if any) and once it ran.
	rows, err := engine.QueryRecordingChange(qctx, ss.conn, st.record, "serve", st.sql, args...)
	if err != nil {
		err = ss.statementError(qctx, ctx, st, err)
		finish()
		return err
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		err = ss.statementError(qctx, ctx, st, err)
		finish()
		return err
	}
	cols := make([]column, len(cts))
	names := make([]string, len(cts))
	for i, ct := range cts {
		cols[i] = column{Name: ct.Name(), OID: typeOID(ct.DatabaseTypeName()), DuckType: ct.DatabaseTypeName()}
		names[i] = ct.Name()
	}
	if isStatusColumns(cols) && !strings.HasPrefix(st.tag, "SELECT") {
		var n int64
		if rows.Next() {
			var v any
			_ = rows.Scan(&v)
			if c, ok := v.(int64); ok {
				n = c
			}
		}
		err := rows.Err()
		rows.Close()
		if err != nil {
			err = ss.statementError(qctx, ctx, st, err)
		}
		finish()
		if err != nil {
			return err
		}
		ss.trackTransaction(st)
		ss.rows = n
		ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(statusTag(st.tag, n))})
		return nil
	}
	if simple {
		ss.sendRowDescription(cols, nil)
	}
	q := p
	if q == nil {
		q = &portal{st: st}
	}
	q.rows, q.cancel, q.qctx, q.sent, q.limit = rows, finish, qctx, 0, lim.MaxRows
	if st.trusted {
		q.limit = 0
	}
	if !st.trusted {
		q.masker = privacy.NewRowMasker(names)
	}
	err = ss.streamRows(ctx, q, cols, formats, maxRows)
	ss.srv.cfg.Log.Debug("statement", "pid", ss.pid, "user", ss.principal.User, "rows", q.sent, "ms", time.Since(start).Milliseconds())
	return err
}

// streamRows sends rows until the end (CommandComplete) or maxRows
// (PortalSuspended, the rows stay open in the portal). At the end or on an
// error the rows are closed and the statement's context released.
func (ss *session) streamRows(ctx context.Context, p *portal, cols []column, formats []int16, maxRows int64) error {
	err := ss.sendRows(p, cols, formats, maxRows)
	ss.rows = p.sent
	if err == nil && p.rows != nil {
		return nil // suspended
	}
	if err != nil {
		err = ss.statementError(p.qctx, ctx, p.st, err)
	}
	p.closeRows()
	return err
}

func (ss *session) sendRows(p *portal, cols []column, formats []int16, maxRows int64) error {
	rows := p.rows
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for {
		if maxRows > 0 && n == maxRows {
			ss.be.Send(&pgproto3.PortalSuspended{})
			return nil
		}
		if !rows.Next() {
			break
		}
		if p.limit > 0 && p.sent == p.limit {
			return &pgError{code: "54000", limit: "max_rows",
				msg: fmt.Sprintf("result exceeds the row limit of role %s (serve.limits.%s.max_rows: %d rows); add a LIMIT or aggregate", ss.principal.Role, ss.principal.Role, p.limit)}
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if p.masker != nil {
			p.masker.Mask(vals)
		}
		if err := ss.sendRow(vals, cols, formats); err != nil {
			return err
		}
		n++
		p.sent++
		if n%1024 == 0 {
			if err := ss.be.Flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	p.rows = nil
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(fmt.Sprintf("SELECT %d", p.sent))})
	return nil
}

func (ss *session) sendRow(vals []any, cols []column, formats []int16) error {
	out := make([][]byte, len(vals))
	for i, v := range vals {
		b, err := encodeValue(ss.types, v, cols[i].OID, formatOf(formats, i))
		if err != nil {
			return fmt.Errorf("column %s: %w", cols[i].Name, err)
		}
		out[i] = b
	}
	ss.be.Send(&pgproto3.DataRow{Values: out})
	return nil
}

// statusTag is the CommandComplete of a statement without rows.
func statusTag(tag string, n int64) string {
	switch tag {
	case "INSERT":
		return fmt.Sprintf("INSERT 0 %d", n)
	case "UPDATE", "DELETE", "MERGE", "COPY":
		return tag + " " + strconv.FormatInt(n, 10)
	}
	return tag
}

// trackTransaction follows BEGIN, COMMIT and ROLLBACK for ReadyForQuery.
func (ss *session) trackTransaction(st *statement) {
	switch st.tag {
	case "BEGIN":
		ss.txStatus = 'T'
	case "COMMIT", "ROLLBACK":
		ss.txStatus = 'I'
	}
}

// statementError turns a failed statement into the client's error: a
// cancelled one as PostgreSQL says it.
func (ss *session) statementError(qctx, ctx context.Context, st *statement, err error) error {
	var pe *pgError
	if errors.As(err, &pe) && pe.limit != "" {
		ss.limited(st, pe)
		return pe
	}
	if qctx.Err() != nil && ctx.Err() == nil {
		if errors.Is(qctx.Err(), context.DeadlineExceeded) {
			lim := ss.limits()
			pe := &pgError{code: "57014", limit: "statement_timeout",
				msg: fmt.Sprintf("canceling statement due to statement timeout of role %s (serve.limits.%s.statement_timeout: %s)", ss.principal.Role, ss.principal.Role, lim.StatementTimeout)}
			ss.limited(st, pe)
			return pe
		}
		return &pgError{code: "57014", msg: "canceling statement due to user request"}
	}
	if ctx.Err() != nil {
		return &pgError{code: "57P01", msg: "terminating statement: the server is shutting down"}
	}
	if ss.txStatus == 'T' {
		ss.txStatus = 'E'
	}
	ss.srv.cfg.Log.Info("statement failed", "pid", ss.pid, "user", ss.principal.User, "statement", st.text, "err", cleanError(err).Error())
	return cleanError(err)
}

// limited logs a statement stopped by its role's limit.
func (ss *session) limited(st *statement, pe *pgError) {
	if ss.txStatus == 'T' {
		ss.txStatus = 'E'
	}
	ss.srv.cfg.Log.Warn("statement limited", "pid", ss.pid, "user", ss.principal.User, "role", string(ss.principal.Role),
		"statement", st.text, "limit", pe.limit, "err", pe.msg)
}

// pgError is an error with its SQLSTATE.
type pgError struct {
	code, msg string
	limit     string // the role limit that stopped the statement, if one did
}

func (e *pgError) Error() string { return e.msg }

// sendError sends err with the SQLSTATE that fits it.
func (ss *session) sendError(err error) {
	code, msg := sqlState(err), err.Error()
	ss.be.Send(&pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: code, Message: msg})
}

// sqlState maps an error to a SQLSTATE: the server's own codes, the
// sandbox's refusals as insufficient_privilege, and DuckDB's error classes.
func sqlState(err error) string {
	var pe *pgError
	if errors.As(err, &pe) {
		return pe.code
	}
	if errors.Is(err, shell.ErrRefused) {
		return "42501"
	}
	msg := err.Error()
	for _, c := range []struct{ prefix, code string }{
		{"Parser Error", "42601"}, {"Catalog Error", "42P01"}, {"Binder Error", "42703"},
		{"Conversion Error", "22P02"}, {"Invalid Input Error", "22P02"}, {"Out of Range Error", "22003"},
		{"Constraint Error", "23000"}, {"TransactionContext Error", "25000"}, {"Permission Error", "42501"},
		{"Out of Memory Error", "53200"}, {"Interrupt Error", "57014"}, {"Not implemented Error", "0A000"},
	} {
		if strings.Contains(msg, c.prefix) {
			return c.code
		}
	}
	return "XX000"
}

// cleanError drops the trailing blank lines DuckDB leaves on messages.
func cleanError(err error) error {
	msg := strings.TrimRight(err.Error(), "\n ")
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
