package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/shell"
)

// runCkm runs ckm with args and stdin as main would and returns stdout,
// stderr and the exit code.
func runCkm(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var stdout bytes.Buffer
	errFile, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	root := newRootCmd(&stdout, errFile)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	code := execute(context.Background(), root, errFile)
	stderr, err := os.ReadFile(errFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), string(stderr), code
}

// principalsConfig writes a ckm.yaml granting the user running the tests
// role, owner-writable only, and returns its path.
func principalsConfig(t *testing.T, role string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "ckm.yaml")
	if err := os.WriteFile(cfg, []byte("principals:\n  "+strconv.Quote(currentUser())+": "+role+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// asAdmin are the arguments that make a test's ckm call an admin's.
func asAdmin(t *testing.T) []string {
	return []string{"--config", principalsConfig(t, "admin"), "--role", "admin"}
}

// sqlWarehouse creates a warehouse file with two customers.
func sqlWarehouse(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	if _, stderr, code := runCkm(t, "", "init", "--warehouse", path); code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	_, stderr, code := runCkm(t, "", append(append([]string{"sql", "--warehouse", path}, asAdmin(t)...), "-c", `
INSERT INTO dim_customer (customer_key, customer_id, id_number, name, mobile, email, is_current) VALUES
  (1, 1001, '11010519491231002X', '张三', '+8613800138000', 'abc@b.cn', true),
  (2, 1002, NULL, '李四', '+8613912345678', NULL, true);`)...)
	if code != 0 {
		t.Fatalf("insert: %d %s", code, stderr)
	}
	return path
}

func TestSQLCommandExitCodes(t *testing.T) {
	wh := sqlWarehouse(t)
	script := filepath.Join(t.TempDir(), "script.sql")
	os.WriteFile(script, []byte("SELECT 1;\n\nSELECT nope FROM dim_customer;\nSELECT 3;\n"), 0o644)
	cases := []struct {
		name       string
		stdin      string
		args       []string
		code       int
		stdout     string // substring, "" = anything
		stderr     string // substring
		noInStdout string
	}{
		{"ok", "", []string{"-c", "SELECT 42 AS answer"}, 0, "│      42 │", "", ""},
		{"bad statement", "", []string{"-c", "SELECT 1 AS first; SELEC 2; SELECT 3 AS third"}, 1,
			"first", `-c:1: Parser Error: syntax error at or near "SELEC"`, "third"},
		{"file error names the line", "", []string{"-f", script}, 1, "", script + ":3: Binder Error", "│ 3 "},
		{"missing file", "", []string{"-f", filepath.Join(t.TempDir(), "none.sql")}, 1, "", "no such file", ""},
		{"both -c and -f", "", []string{"-c", "SELECT 1", "-f", script}, 2, "", "not both", ""},
		{"unknown role", "", []string{"--role", "boss", "-c", "SELECT 1"}, 2, "", `--role "boss"`, ""},
		{"stdin goes on after an error", "SELECT 'one' AS a;\nSELEC;\nSELECT 'two' AS b;\n", nil, 1,
			"two", "stdin:2: Parser Error", ""},
		{"stdin without errors", "SELECT 'one' AS a;\n.mode csv\nSELECT 'two' AS b", nil, 0, "b\ntwo\n", "", ""},
		{"analyst refuses writes", "", []string{"-c", "DELETE FROM dim_customer"}, 1, "", "-c:1: refused in an analyst session: DELETE is not allowed", ""},
		{"read-only refuses writes", "", append(asAdmin(t), "--read-only", "-c", "DELETE FROM dim_customer"), 1, "", "read-only", ""},
		{"read-only reads and has the functions", "", []string{"--read-only", "--format", "csv", "-c", "SELECT ckm_mask_mobile('13800138000') AS m"}, 0,
			"m\n+86 138****8000\n", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"sql", "--warehouse", wh}, c.args...)
			stdout, stderr, code := runCkm(t, c.stdin, args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if !strings.Contains(stdout, c.stdout) {
				t.Errorf("stdout lacks %q:\n%s", c.stdout, stdout)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr lacks %q:\n%s", c.stderr, stderr)
			}
			if c.noInStdout != "" && strings.Contains(stdout, c.noInStdout) {
				t.Errorf("stdout has %q, which comes after the error:\n%s", c.noInStdout, stdout)
			}
		})
	}
}

func TestSQLCommandJSON(t *testing.T) {
	wh := sqlWarehouse(t)
	stdout, stderr, code := runCkm(t, "", "sql", "--warehouse", wh, "--format", "json", "-c",
		"SELECT customer_id, name, mobile FROM dim_customer WHERE customer_key > 0 ORDER BY 1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("stdout is not one JSON array: %v\n%s", err, stdout)
	}
	if len(rows) != 2 || rows[0]["name"] != "张**" || rows[0]["mobile"] != "+86 138****8000" || rows[1]["customer_id"] != 1002.0 {
		t.Errorf("rows = %v", rows)
	}
	// Several statements: one document with an entry per statement.
	stdout, _, code = runCkm(t, "", "sql", "--warehouse", wh, "--format", "json", "-c", "SELECT 1 AS a; SELECT 2 AS b")
	var entries []struct {
		Line int              `json:"line"`
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(stdout), &entries); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, stdout)
	}
	if len(entries) != 2 || entries[1].Rows[0]["b"] != 2.0 {
		t.Errorf("entries = %+v", entries)
	}
}

func TestSQLCommandMaskingByRole(t *testing.T) {
	wh := sqlWarehouse(t)
	query := "SELECT id_number, mobile, email FROM dim_customer WHERE customer_key = 1"
	cfg := filepath.Join(t.TempDir(), "ckm.yaml")
	os.WriteFile(cfg, []byte("role: admin\n"), 0o644)
	admin := asAdmin(t)
	steward := []string{"--config", principalsConfig(t, "steward"), "--role", "steward"}
	const masked, raw = "110105************,+86 138****8000,a***@b.cn", "11010519491231002X,+8613800138000,abc@b.cn"
	cases := []struct {
		name   string
		args   []string
		stdin  string
		want   string // the row, "" for none
		stderr string
	}{
		{"default analyst", []string{"-c", query}, "", masked, ""},
		{"admin without a reason sees masks", append(admin, "-c", query), "", masked, ""},
		{"admin revealing", append(admin, "--reveal", "support ticket 7", "-c", query), "", raw, ""},
		{"steward revealing", append(steward, "--reveal", "support ticket 8", "-c", query), "", raw, ""},
		{"steward cannot take admin", append([]string{"--config", principalsConfig(t, "steward"), "--role", "admin"}, "-c", query), "", "", "may take role steward at most"},
		{"--role alone grants nothing", []string{"--role", "admin", "-c", query}, "", "", "role not granted"},
		{"role: admin in the config is ignored", []string{"--config", cfg, "-c", query}, "", masked, ""},
		{"analyst cannot reveal", []string{"--reveal", "curious", "-c", query}, "", "", "--reveal: role analyst never sees raw personal data"},
		{"revealing admin turns masking on", append(admin, "--reveal", "support ticket 9"), ".pii off\n" + query + ";", masked, ""},
		{"analyst cannot unmask", nil, ".pii on\n" + query + ";", masked, "role analyst may not see raw"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"sql", "--warehouse", wh, "--format", "csv"}, c.args...)
			stdout, stderr, _ := runCkm(t, c.stdin, args...)
			if c.want != "" && !strings.Contains(stdout, "id_number,mobile,email\n"+c.want+"\n") || c.want == "" && stdout != "" {
				t.Errorf("stdout:\n%s\nwant the row %q; stderr:\n%s", stdout, c.want, stderr)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr lacks %q:\n%s", c.stderr, stderr)
			}
		})
	}
	// The reveals are in the audit, with their reasons and who asked.
	out, stderr, code := runCkm(t, "", append(append([]string{"sql", "--warehouse", wh, "--format", "csv"}, admin...),
		"-c", "SELECT role, reason, rows, detail FROM privacy_reveal ORDER BY reveal_id")...)
	want := "role,reason,rows,detail\n" +
		"admin,support ticket 7,1,\"" + query + "\"\n" +
		"steward,support ticket 8,1,\"" + query + "\"\n"
	if code != 0 || out != want {
		t.Errorf("audit (exit %d):\n%s\nwant\n%s%s", code, out, want, stderr)
	}
}

// TestNewSQLCmd checks what ckm sql parses its flags and environment into,
// without a warehouse.
func TestNewSQLCmd(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want sqlOptions
		err  string
	}{
		{"REPL", nil, nil, sqlOptions{role: "analyst"}, ""},
		{"-c", nil, []string{"-c", "SELECT 1", "--role", "admin"}, sqlOptions{command: "SELECT 1", role: "admin"}, ""},
		{"-f from the environment", map[string]string{"CKM_SQL_FILE": "q.sql", "CKM_ROLE": "admin"}, nil, sqlOptions{file: "q.sql", role: "analyst"}, ""},
		{"-c and -f", nil, []string{"-c", "SELECT 1", "-f", "q.sql"}, sqlOptions{}, "give -c or -f, not both"},
		{"bad role", nil, []string{"--role", "root"}, sqlOptions{}, `--role "root"`},
		{"history and limit", map[string]string{"CKM_SQL_HISTORY": "/tmp/h"}, []string{"--max-statement-bytes", "1024"}, sqlOptions{role: "analyst", history: "/tmp/h", maxStmt: 1024}, ""},
		{"zero limit", nil, []string{"--max-statement-bytes", "0"}, sqlOptions{}, "--max-statement-bytes 0: want a positive number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var got *sqlOptions
			err := parseWith(t, nil, func(a *app) *cobra.Command {
				return newSQLCmd(a, func(_ context.Context, o *sqlOptions) error { got = o; return nil })
			}, append([]string{"sql"}, c.args...)...)
			if c.err != "" {
				var ue usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want a usage error with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want.maxStmt == 0 {
				c.want.maxStmt = shell.DefaultMaxStatementBytes
			}
			if got.command != c.want.command || got.file != c.want.file || got.role != c.want.role || got.stdin == nil ||
				got.history != c.want.history || got.maxStmt != c.want.maxStmt {
				t.Errorf("options %+v, want %+v", *got, c.want)
			}
		})
	}
}

// TestSQLCubeShortcut runs .cube through ckm sql on a loaded warehouse:
// the cube's revenue by year equals SQL over the facts, in the one JSON
// document of a -c run.
func TestSQLCubeShortcut(t *testing.T) {
	wh := baseWarehouse(t)
	stdout, stderr, code := runCkm(t, "", "sql", "--warehouse", wh, "--format", "json", "-c",
		".cube sales --measures revenue --rows date.year\nSELECT CAST(year(order_ts) AS VARCHAR) AS year, CAST(sum(amount) AS VARCHAR) AS revenue FROM fact_sales GROUP BY 1;")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc []struct {
		Statement string           `json:"statement"`
		Rows      []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc) != 2 {
		t.Fatalf("not a document of two results (%v):\n%s", err, stdout)
	}
	cube, sql := doc[0].Rows, doc[1].Rows
	num := func(v any) float64 { f, _ := strconv.ParseFloat(fmt.Sprint(v), 64); return f }
	if len(cube) != 1 || len(sql) != 1 || fmt.Sprint(cube[0]["date.year"]) != sql[0]["year"] || num(cube[0]["revenue"]) != num(sql[0]["revenue"]) || num(sql[0]["revenue"]) == 0 {
		t.Errorf(".cube rows %v, SQL says %v", cube, sql)
	}
	// A query the cube does not know fails with the cube's words.
	_, stderr, code = runCkm(t, "", "sql", "--warehouse", wh, "-c", ".cube sales --measures nosuch")
	if code != 1 || !strings.Contains(stderr, "nosuch") {
		t.Errorf("bad measure: exit %d, %s", code, stderr)
	}
}

// TestAwaitShellSIGTERM: a shell that fails on its own within the grace
// after a SIGTERM (its terminal went away with the signal) exits 130 like
// one the signal stopped; a failure with no signal, or a signal after the
// grace, is the failure (exit 1); a signal while the shell runs stops it.
func TestAwaitShellSIGTERM(t *testing.T) {
	failure := errors.New("readline: terminal gone")
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	cases := []struct {
		name      string
		fail      error         // what the shell returns; nil: it keeps running
		signal    time.Duration // SIGTERM this long after the shell's end (negative: before it, while it runs)
		code      int
		stopped   string // "yes", "no", "either" (both ready: select picks either)
		minWaited time.Duration
	}{
		{"fails, SIGTERM 20 ms later", failure, 20 * time.Millisecond, exitCancelled, "no", 0},
		{"SIGTERM, then fails", failure, 0, exitCancelled, "either", 0},
		{"fails, no SIGTERM", failure, -1, exitFailure, "no", sigtermGrace},
		{"fails, SIGTERM 300 ms later", failure, 300 * time.Millisecond, exitFailure, "no", sigtermGrace},
		{"ends well", nil, -1, exitOK, "no", 0},
		{"SIGTERM while running", nil, -2, exitCancelled, "yes", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan error, 1)
			term := make(chan os.Signal, 1)
			stopped := false
			stop := func() error { stopped = true; return cancelledError{"cancelled"} }
			switch {
			case c.signal == -2:
				term <- syscall.SIGTERM
			case c.signal == 0:
				term <- syscall.SIGTERM
				done <- c.fail
			default:
				done <- c.fail
				if c.signal > 0 {
					time.AfterFunc(c.signal, func() { term <- syscall.SIGTERM })
				}
			}
			start := time.Now()
			err := awaitShell(context.Background(), done, term, sigtermGrace, stop)
			waited := time.Since(start)
			if code := exitCode(err, devNull); code != c.code || (c.stopped != "either" && stopped != (c.stopped == "yes")) || waited < c.minWaited {
				t.Errorf("exit %d (%v) after %v, stop called %v; want exit %d, stop %v, at least %v", code, err, waited, stopped, c.code, c.stopped, c.minWaited)
			}
			if c.code == exitFailure && !errors.Is(err, failure) {
				t.Errorf("the shell's own failure became %v", err)
			}
		})
	}
}
