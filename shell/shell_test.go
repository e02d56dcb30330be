package shell

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/shell")

// admin runs the tests of the shell's mechanics, which create tables; the
// analyst's sandbox has tests of its own.
var admin = privacy.Principal{User: "test", Role: privacy.Admin}

// openWarehouse opens an in-memory warehouse with ckm's schema, as the
// shell always has.
func openWarehouse(t *testing.T) *engine.Warehouse {
	t.Helper()
	w, err := engine.Open(context.Background(), "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// runShell runs script through a new shell on w and returns what it wrote
// to stdout and stderr.
func runShell(t *testing.T, w *engine.Warehouse, opts Options, script string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	opts.Out, opts.Err = &out, &errb
	sh, err := New(context.Background(), w, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	err = sh.Run(context.Background(), "stdin", strings.NewReader(script))
	return out.String(), errb.String(), err
}

// golden compares got with testdata/shell/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "shell", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./sql -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./sql -update rewrites it):\n--- got ---\n%s", name, got)
	}
}

func TestShellSessionGolden(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("testdata", "shell", "session.sql"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runShell(t, openWarehouse(t), Options{Principal: admin}, string(script))
	if err != nil {
		t.Fatalf("REPL stopped: %v", err)
	}
	golden(t, "session.golden", "--- stdout ---\n"+stdout+"--- stderr ---\n"+stderr)

	// Facts the golden file must show, checked by hand.
	for _, want := range []string{
		"│           1 │ 张三         │ 北京     │       1299.00 │      12 │ 2023-01-05 │",   // numbers right, CJK two columns wide
		"│           3 │ NULL         │ 广州     │        -20.00 │    NULL │ 2024-02-29 │", // NULL shown as NULL
		"2,O'Brien; Pat,35.50,\n", // CSV: quote doubled, NULL empty
		`{"customer_id": 2, "name": "O'Brien; Pat", "spend": 35.50, "joined": null}`, // JSON keeps decimals exact
		"│ after_rollback │", "│              3 │", // ROLLBACK undid the insert: same connection throughout
		"│ still running │", // the statement after the error ran
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	for _, want := range []string{
		"Error: stdin:22: Catalog Error: Table with name customerz does not exist!",
		`Error: stdin:32: unknown mode "xml"`,
		"Error: stdin:33: unknown meta-command .nosuch",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

func TestShellMaskingByPrincipal(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("testdata", "shell", "pii.sql"))
	if err != nil {
		t.Fatal(err)
	}
	raw := []string{"11010519491231002X", "+8613800138000", "abc@b.cn", "13800138000", "139 1234 5678", "440524188001010014", "li.si@example.com"}
	masked := []string{"110105************", "+86 138****8000", "a***@b.cn", "+86 139****5678", "440524************", "l***@example.com"}
	steward := privacy.Principal{User: "sam", Role: privacy.Steward}
	cases := []struct {
		name      string
		principal privacy.Principal
		reason    string
		golden    string
		rawShown  bool   // in the first SELECT
		refusal   string // of .pii on, "" if allowed
	}{
		{"analyst", privacy.Principal{User: "amy", Role: privacy.Analyst}, "", "pii.analyst.golden", false, "role analyst may not see raw"},
		{"steward without a reason", steward, "", "pii.steward.golden", false, "only with a reason"},
		{"steward revealing", steward, "fraud case 42", "pii.reveal.golden", true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			w := openWarehouse(t)
			// A table of raw personal data an analyst may read (a dimension):
			// the output masks it.
			if _, err := w.DB.ExecContext(ctx, `CREATE TABLE dim_contact (customer_id BIGINT, id_number VARCHAR, mobile VARCHAR,
				email VARCHAR, "手机号" VARCHAR, note VARCHAR, email_count INTEGER);
				INSERT INTO dim_contact VALUES
				(1, '11010519491231002X', '+8613800138000', 'abc@b.cn', '13800138000', 'called 139 1234 5678, id 440524188001010014, mail li.si@example.com', 2),
				(2, NULL, NULL, NULL, NULL, 'order 20240105000000000001 no personal data', 0)`); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, err := runShell(t, w, Options{Principal: c.principal, RevealReason: c.reason}, string(script))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, "--- stdout ---\n"+stdout+"--- stderr ---\n"+stderr)
			// The first result, before any .pii command.
			first := stdout[:strings.Index(stdout, "(2 rows)")]
			for _, v := range raw {
				if strings.Contains(first, v) != c.rawShown {
					t.Errorf("raw %q shown = %v, want %v", v, !c.rawShown, c.rawShown)
				}
			}
			for _, v := range masked {
				if strings.Contains(first, v) == c.rawShown {
					t.Errorf("mask %q shown = %v, want %v", v, c.rawShown, !c.rawShown)
				}
			}
			// Not personal data: an order number and a count column.
			if !strings.Contains(first, "order 20240105000000000001 no personal data") || !strings.Contains(first, "│           2 │") {
				t.Errorf("non-personal data was masked:\n%s", first)
			}
			if c.refusal != "" && !strings.Contains(stderr, c.refusal) || c.refusal == "" && strings.Contains(stderr, ".pii on") {
				t.Errorf(".pii on: want refusal %q; stderr:\n%s", c.refusal, stderr)
			}
			// Every statement run while raw values were on is in the audit
			// with the reason; masked statements are not.
			var n int
			var reasons string
			if err := w.DB.QueryRowContext(ctx, `SELECT count(*), coalesce(string_agg(DISTINCT reason || '/' || os_user || '/' || role || '/' || rows, ','), '') FROM privacy_reveal`).Scan(&n, &reasons); err != nil {
				t.Fatal(err)
			}
			wantN, wantReasons := 0, ""
			if c.reason != "" {
				// The two SELECTs before .pii off, and the one after .pii on.
				wantN, wantReasons = 3, ""
			}
			if n != wantN || c.reason != "" && !strings.HasPrefix(reasons, c.reason+"/sam/steward/") {
				t.Errorf("audit: %d rows %q, want %d with reason %q %s", n, reasons, wantN, c.reason, wantReasons)
			}
		})
	}
}

func TestShellStopOnError(t *testing.T) {
	w := openWarehouse(t)
	stdout, stderr, err := runShell(t, w, Options{Principal: admin, StopOnError: true},
		"SELECT 1 AS a;\nSELECT 2 AS b;\n\n  SELEC 3;\nSELECT 4 AS d;")
	var se *StatementError
	if !errors.As(err, &se) || se.Line != 4 || se.Source != "stdin" || !strings.Contains(se.Error(), `syntax error at or near "SELEC"`) {
		t.Fatalf("err = %v, want a statement error at stdin:4", err)
	}
	if !strings.Contains(stdout, "│ b       │") || strings.Contains(stdout, "│ d ") {
		t.Errorf("stdout should hold the results before the error only:\n%s", stdout)
	}
	if stderr != "" {
		t.Errorf("with StopOnError the error is returned, not printed; stderr = %q", stderr)
	}
}

func TestShellJSONDocument(t *testing.T) {
	cases := []struct {
		name, script, want string
	}{
		{"one statement", "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL ORDER BY a",
			"[\n  {\"a\": 1, \"b\": \"x\"},\n  {\"a\": 2, \"b\": null}\n]\n"},
		{"no rows", "SELECT 1 AS a WHERE false", "[]\n"},
		{"several statements", "CREATE TEMP TABLE t AS SELECT 1 AS a;\nSELECT a FROM t;",
			"[\n" +
				"  {\"line\": 1, \"statement\": \"CREATE TEMP TABLE t AS SELECT 1 AS a\", \"columns\": [{\"name\":\"Count\",\"type\":\"BIGINT\"}], \"rows\": [\n    {\"Count\": 1}\n  ]},\n" +
				"  {\"line\": 2, \"statement\": \"SELECT a FROM t\", \"columns\": [{\"name\":\"a\",\"type\":\"INTEGER\"}], \"rows\": [\n    {\"a\": 1}\n  ]}\n" +
				"]\n"},
	}
	w := openWarehouse(t) // each shell has its own connection and temporary tables
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, _, err := runShell(t, w, Options{Principal: admin, Mode: ModeJSON, JSONDocument: true, StopOnError: true}, c.script)
			if err != nil {
				t.Fatal(err)
			}
			if stdout != c.want {
				t.Errorf("got\n%s\nwant\n%s", stdout, c.want)
			}
		})
	}
	// A failing statement writes no document.
	stdout, _, err := runShell(t, w, Options{Mode: ModeJSON, JSONDocument: true, StopOnError: true}, "SELECT 1; SELECT x;")
	if err == nil || stdout != "" {
		t.Errorf("failing script: err %v, stdout %q", err, stdout)
	}
}

func TestShellReadOutputTimer(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc.sql")
	os.WriteFile(inc, []byte("SELECT 'from file' AS src;\nSELECT nope;\n"), 0o644)
	res := filepath.Join(dir, "result.csv")
	script := ".read " + inc + "\n.output " + res + "\n.mode csv\nSELECT 42 AS answer;\n.output\n.timer on\nSELECT 'back' AS w;\n.timer off\n.read " + filepath.Join(dir, "missing.sql") + "\n"
	stdout, stderr, err := runShell(t, openWarehouse(t), Options{Principal: admin}, script)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "from file") || !strings.Contains(stdout, "w\nback\n") || strings.Contains(stdout, "42") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if b, _ := os.ReadFile(res); string(b) != "answer\n42\n" {
		t.Errorf(".output file holds %q", b)
	}
	// The error inside the read file names that file and its line.
	if !strings.Contains(stderr, "Error: "+inc+":2: Binder Error") {
		t.Errorf("stderr lacks the error in %s:2:\n%s", inc, stderr)
	}
	if !regexp.MustCompile(`(?m)^Run Time: \d+\.\d{3}s$`).MatchString(stderr) || strings.Count(stderr, "Run Time") != 1 {
		t.Errorf("timer output:\n%s", stderr)
	}
	if !strings.Contains(stderr, ".read: open "+filepath.Join(dir, "missing.sql")) {
		t.Errorf("missing .read file not reported:\n%s", stderr)
	}
}

func TestShellQuit(t *testing.T) {
	stdout, _, err := runShell(t, openWarehouse(t), Options{Mode: ModeCSV}, "SELECT 1 AS a;\n.quit\nSELECT 2 AS b;\n")
	if err != nil || stdout != "a\n1\n" {
		t.Errorf("stdout %q, err %v; want only the statement before .quit", stdout, err)
	}
}

func TestShellPrompts(t *testing.T) {
	_, stderr, err := runShell(t, openWarehouse(t), Options{Interactive: true, Mode: ModeCSV}, "SELECT\n1 AS a;\n.mode csv\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "ckm>    ...> ckm> ckm> \n"; stderr != want {
		t.Errorf("prompts %q, want %q", stderr, want)
	}
}

func TestShellCancel(t *testing.T) {
	w := openWarehouse(t)
	var out, errb bytes.Buffer
	sh, err := New(context.Background(), w, Options{Out: &out, Err: &errb})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if sh.Cancel() {
		t.Error("Cancel with nothing running reported a statement")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sh.Run(context.Background(), "stdin", strings.NewReader(
			"SELECT count(*) FROM range(100000000000) a;\nSELECT 'went on' AS after;\n"))
	}()
	for !sh.Cancel() {
		time.Sleep(time.Millisecond) // until the long statement runs
	}
	<-done
	if !strings.Contains(errb.String(), "Error: stdin:1: interrupted\n") || !strings.Contains(out.String(), "went on") {
		t.Errorf("after cancel: stdout %q, stderr %q", out.String(), errb.String())
	}
}
