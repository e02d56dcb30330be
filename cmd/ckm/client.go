package main

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/olap"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/shell"
)

// Client mode: while ckm serve holds a warehouse, DuckDB lets no other
// process open the file, so ckm sql, cube query, runs and load talk to the
// server instead. The server is found through the discovery file beside
// the warehouse (discoveryPath); without a live server the commands open
// the warehouse themselves as before.

// serveInfo is the discovery file ckm serve writes beside the warehouse
// (mode 0600: it names where the warehouse is served, for its owner).
type serveInfo struct {
	Addr      string    `json:"addr"`
	PID       int       `json:"pid"`
	Warehouse string    `json:"warehouse,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Version   string    `json:"version,omitempty"`
}

// discoveryPath is where ckm serve says where it listens.
func discoveryPath(warehouse string) string { return warehouse + ".serve.json" }

// errStaleDiscovery marks a discovery file left by a server that is gone.
var errStaleDiscovery = errors.New("stale discovery file")

// readDiscovery reads the discovery file of warehouse: ok false when there
// is none; errStaleDiscovery (wrapped, naming why) when its server is gone
// (its process does not exist, or nothing answers at its address).
func readDiscovery(warehouse string) (serveInfo, bool, error) {
	path := discoveryPath(warehouse)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return serveInfo{}, false, nil
	}
	if err != nil {
		return serveInfo{}, false, fmt.Errorf("discovery file %s: %w", path, err)
	}
	var info serveInfo
	if err := json.Unmarshal(data, &info); err != nil || info.Addr == "" {
		return info, true, fmt.Errorf("discovery file %s: %w: not a ckm serve discovery file (%v)", path, errStaleDiscovery, err)
	}
	if info.PID > 0 && !processAlive(info.PID) {
		return info, true, fmt.Errorf("discovery file %s: %w: ckm serve (pid %d) is not running", path, errStaleDiscovery, info.PID)
	}
	nc, err := net.DialTimeout("tcp", info.Addr, 3*time.Second)
	if err != nil {
		return info, true, fmt.Errorf("discovery file %s: %w: nothing answers at %s (%v)", path, errStaleDiscovery, info.Addr, err)
	}
	nc.Close()
	return info, true, nil
}

// processAlive reports whether a process with this id exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM)
}

// writeDiscovery writes the discovery file of a server, owner-only. A
// stale file is replaced; a live one (another server for this warehouse,
// which the warehouse lock normally rules out) is an error.
func writeDiscovery(warehouse string, info serveInfo) (string, error) {
	path := discoveryPath(warehouse)
	if old, ok, err := readDiscovery(warehouse); ok && err == nil && old.PID != os.Getpid() {
		return "", fmt.Errorf("serve: %s says ckm serve (pid %d) already serves %s at %s", path, old.PID, warehouse, old.Addr)
	}
	data, _ := json.Marshal(info)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("serve: discovery file: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // whatever the umask
		os.Remove(tmp)
		return "", fmt.Errorf("serve: discovery file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("serve: discovery file: %w", err)
	}
	return path, nil
}

// clientCredentials are the user and password the CLI gives the server:
// CKM_USER and CKM_PASSWORD, else client.user and client.password of
// ckm.yaml (trusted only in a file no one else may write); the user is
// admin when neither names one.
func (a *app) clientCredentials() (string, string, error) {
	user, password := os.Getenv("CKM_USER"), os.Getenv("CKM_PASSWORD")
	if user != "" && password != "" {
		return user, password, nil
	}
	if cfg := a.cfg.ConfigFileUsed(); cfg != "" {
		data, err := os.ReadFile(cfg)
		if err != nil {
			return "", "", fmt.Errorf("client credentials: %w", err)
		}
		var doc struct {
			Client struct {
				User     string `yaml:"user"`
				Password string `yaml:"password"`
			} `yaml:"client"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return "", "", usageErrorf("config %s: client: %v", cfg, err)
		}
		if doc.Client.Password != "" {
			if abs, err := filepath.Abs(cfg); err == nil {
				cfg = abs
			}
			if err := trustedConfig(cfg, a.warehousePath()); err != nil {
				return "", "", fmt.Errorf("client.password: %w", err)
			}
		}
		if user == "" {
			user = doc.Client.User
		}
		if password == "" {
			password = doc.Client.Password
		}
	}
	if user == "" {
		user = "admin"
	}
	return user, password, nil
}

// serverClient connects to the ckm serve holding the warehouse, as the
// configured user taking role (the server refuses a role the user's does
// not cover; "" keeps the user's): nil, nil when no server runs (a stale
// discovery file is reported and ignored), so the caller opens the
// warehouse itself.
func (a *app) serverClient(ctx context.Context, command, role string) (*pgx.Conn, error) {
	info, ok, err := readDiscovery(a.warehousePath())
	if !ok {
		return nil, err
	}
	if errors.Is(err, errStaleDiscovery) {
		a.logf("warning: %v; opening the warehouse directly", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	user, password, err := a.clientCredentials()
	if err != nil {
		return nil, err
	}
	if password == "" {
		return nil, usageErrorf("ckm serve (pid %d) holds %s at %s: set CKM_USER and CKM_PASSWORD (or client.user and client.password in ckm.yaml) to use it",
			info.PID, a.warehousePath(), info.Addr)
	}
	host, port, err := net.SplitHostPort(info.Addr)
	if err != nil {
		return nil, fmt.Errorf("discovery file %s: %v", discoveryPath(a.warehousePath()), err)
	}
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s dbname=ckm sslmode=prefer connect_timeout=10", host, port))
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.Password = user, password
	cfg.RuntimeParams["application_name"] = "ckm " + command
	if role != "" {
		cfg.RuntimeParams["ckm_role"] = role
	}
	// A cancelled context (Ctrl-C) asks the server to cancel the
	// statement, keeping the session, before giving up on the socket.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 5 * time.Second}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ckm serve (pid %d) at %s holds %s: %w", info.PID, info.Addr, a.warehousePath(), err)
	}
	return conn, nil
}

// serverRows reads a result from the server into the values the embedded
// commands print: numbers, text, times; NUMERIC (DECIMAL, HUGEINT) as a
// JSON number keeping every digit.
func serverRows(rows pgx.Rows) ([]string, [][]any, error) {
	defer rows.Close()
	fds := rows.FieldDescriptions()
	header := make([]string, len(fds))
	for i, fd := range fds {
		header[i] = fd.Name
	}
	var data [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, nil, err
		}
		raw := rows.RawValues()
		for i, v := range vals {
			if fds[i].DataTypeOID == pgtype.NumericOID && fds[i].Format == pgtype.TextFormatCode && raw[i] != nil {
				// The server's text keeps a DECIMAL's scale (18897.30).
				vals[i] = json.Number(string(raw[i]))
				continue
			}
			vals[i] = plainWireValue(v)
		}
		data = append(data, vals)
	}
	return header, data, rows.Err()
}

func plainWireValue(v any) any {
	switch x := v.(type) {
	case pgtype.Numeric:
		if !x.Valid {
			return nil
		}
		if dv, err := x.Value(); err == nil {
			if s, ok := dv.(string); ok {
				return json.Number(s)
			}
		}
	case driver.Valuer:
		if dv, err := x.Value(); err == nil {
			return dv
		}
	}
	return v
}

// sqlViaServer runs ckm sql's statements (-c, -f or stdin) on the server:
// each statement's rows print in --format as ckm's other tables do; the
// first failing statement stops with exit code 1. Meta-commands (.tables)
// belong to the embedded shell; psql's \dt answers against the server.
func sqlViaServer(ctx context.Context, opts *sqlOptions, conn *pgx.Conn) error {
	a := opts.app
	if opts.reveal != "" {
		return usageErrorf("--reveal: while ckm serve holds the warehouse, reveal through the server (CALL ckm_reveal as a steward) or stop it")
	}
	var text []byte
	var err error
	switch {
	case opts.command != "":
		text = []byte(opts.command)
	case opts.file != "":
		text, err = os.ReadFile(opts.file)
	default:
		return sqlREPLViaServer(ctx, opts, conn)
	}
	if err != nil {
		return fmt.Errorf("sql: %w", err)
	}
	stmts := shell.SplitStatements(string(text))
	type result struct {
		Statement string           `json:"statement"`
		Columns   []string         `json:"columns"`
		Rows      []map[string]any `json:"rows"`
	}
	var results []result
	for i, st := range stmts {
		if len(st) > opts.maxStmt {
			return fmt.Errorf("sql: statement %d: %d bytes, more than --max-statement-bytes %d", i+1, len(st), opts.maxStmt)
		}
		if t := strings.TrimSpace(st); strings.HasPrefix(t, ".") {
			return usageErrorf("sql: statement %d: meta-command %s: only the embedded shell has meta-commands; ckm serve holds the warehouse (psql's \\dt and \\d work against it)", i+1, strings.Fields(t)[0])
		}
		rows, err := conn.Query(ctx, st, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			return fmt.Errorf("sql: statement %d: %w", i+1, err)
		}
		header, data, err := serverRows(rows)
		if err != nil {
			return fmt.Errorf("sql: statement %d: %w", i+1, err)
		}
		if len(header) == 0 {
			continue
		}
		if a.format() == formatJSON && len(stmts) > 1 {
			r := result{Statement: st, Columns: header, Rows: []map[string]any{}}
			for _, row := range data {
				m := map[string]any{}
				for j, h := range header {
					m[h] = row[j]
				}
				r.Rows = append(r.Rows, m)
			}
			results = append(results, r)
			continue
		}
		if a.format() == formatJSON {
			err = writeJSONRows(a.stdout, header, data)
		} else {
			err = a.printTable(header, data)
		}
		if err != nil {
			return err
		}
	}
	if results != nil {
		return writeJSON(a, results)
	}
	return nil
}

// cubeViaServer runs a cube query in the server (CALL ckm_cube) and prints
// its result as ckm cube query does.
func cubeViaServer(ctx context.Context, o *cubeQueryOptions, conn *pgx.Conn) error {
	a := o.app
	q, err := json.Marshal(o.q)
	if err != nil {
		return err
	}
	var doc string
	call := "CALL ckm_cube(" + engine.QuoteString(string(q))
	if o.q.AllowPII {
		call += ", " + engine.QuoteString(o.reveal)
	}
	if err := conn.QueryRow(ctx, call+")", pgx.QueryExecModeSimpleProtocol).Scan(&doc); err != nil {
		return fmt.Errorf("cube query %s: %w", o.q.Cube, err)
	}
	var res olap.Result
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return fmt.Errorf("cube query %s: the server's answer: %w", o.q.Cube, err)
	}
	if res.Rollup != "" {
		a.logf("answered from rollup %s in %v", res.Rollup, res.Elapsed.Round(1000))
	}
	header, rows := a.cubeTable(o.q, &res)
	return a.printTable(header, rows)
}

// loadViaServer runs ckm load as a job of the server (CALL ckm_load) and
// waits for it; rejected rows give exit code 3 as in the embedded load.
func loadViaServer(ctx context.Context, opts *loadOptions, conn *pgx.Conn) error {
	a := opts.app
	var args []string
	if !opts.asOf.IsZero() {
		args = append(args, engine.QuoteString(asOfArg+opts.asOf.Format("2006-01-02")))
	}
	for _, p := range opts.paths {
		abs, err := filepath.Abs(p) // the server's working directory is not ours
		if err != nil {
			return err
		}
		args = append(args, engine.QuoteString(abs))
	}
	var job, status, detail string
	var run *int64
	a.logf("loading through ckm serve as a job: %s", strings.Join(opts.paths, ", "))
	err := conn.QueryRow(ctx, "CALL ckm_load("+strings.Join(args, ", ")+")", pgx.QueryExecModeSimpleProtocol).Scan(&job, &run, &status, &detail)
	if err != nil && ctx.Err() != nil {
		return cancelledError{"load cancelled: the server's job goes on or rolls back on its own"}
	}
	if err != nil {
		return fmt.Errorf("load through ckm serve: %w", err)
	}
	var runID any
	var rejected int64
	if run != nil {
		runID = *run
		if err := conn.QueryRow(ctx, "SELECT rows_rejected FROM etl_run WHERE run_id = $1", *run).Scan(&rejected); err != nil {
			return fmt.Errorf("load through ckm serve: run %d: %w", *run, err)
		}
	}
	if err := a.printTable([]string{"job", "etl_run", "status", "detail"}, [][]any{{job, runID, status, detail}}); err != nil {
		return err
	}
	if rejected > 0 {
		a.logf("see the rejected rows with: ckm rejects --run %d", *run)
		return errRejected
	}
	return nil
}

// asOfArg prefixes the --as-of date among a load job's arguments.
const asOfArg = "--as-of="

// serverRows2 is serverRows of a query's rows and error.
func serverRows2(rows pgx.Rows, err error) ([]string, [][]any, error) {
	if err != nil {
		return nil, nil, err
	}
	return serverRows(rows)
}

// clientRole is the role the CLI asks the server for: the --role given,
// analyst by default (as the embedded commands), never the user's own
// role unasked.
func clientRole(role string) string {
	r, err := privacy.ParseRole(role)
	if err != nil {
		return role // the server refuses it, naming it
	}
	return string(r)
}

// writeJSONRows writes rows as the shell's --format json does: an array
// with one object per line, keys in column order.
func writeJSONRows(w io.Writer, header []string, data [][]any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteString("[")
	for i, row := range data {
		if i == 0 {
			b.WriteString("\n  {")
		} else {
			b.WriteString(",\n  {")
		}
		for j, v := range row {
			if j > 0 {
				b.WriteString(", ")
			}
			for k, x := range []any{header[j], v} {
				if k == 1 {
					b.WriteString(": ")
				}
				if err := enc.Encode(x); err != nil {
					return fmt.Errorf("column %s: %w", header[j], err)
				}
				b.Truncate(b.Len() - 1) // the encoder's newline
			}
		}
		b.WriteString("}")
	}
	if len(data) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := w.Write(b.Bytes())
	return err
}
