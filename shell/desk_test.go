package shell

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/privacy"
)

// zeros is an endless input of NUL bytes, like /dev/zero, counting what
// was read from it.
type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	z.n += len(p)
	return len(p), nil
}

func TestShellRefusesOversizedStatements(t *testing.T) {
	w := openWarehouse(t)
	const limit = 1 << 20
	t.Run("endless line", func(t *testing.T) {
		z := &zeros{}
		var out, errb bytes.Buffer
		sh, err := New(context.Background(), w, Options{Principal: admin, Out: &out, Err: &errb, MaxStatementBytes: limit, StopOnError: true})
		if err != nil {
			t.Fatal(err)
		}
		defer sh.Close()
		done := make(chan error, 1)
		go func() { done <- sh.Run(context.Background(), "/dev/zero", z) }()
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run still reading an endless input after 10 s")
		}
		var se *StatementError
		if !errors.As(err, &se) || !errors.Is(err, ErrStatementTooLarge) || se.Line != 1 || se.Source != "/dev/zero" ||
			!strings.Contains(err.Error(), "past 1048576 bytes") {
			t.Fatalf("err = %v, want a statement-too-large error at /dev/zero:1", err)
		}
		// Read no more than the limit and one buffer beyond it.
		if z.n > limit+128<<10 {
			t.Errorf("read %d bytes of an endless input with a limit of %d", z.n, limit)
		}
	})
	t.Run("statement over many lines", func(t *testing.T) {
		line := "SELECT '" + strings.Repeat("x", 1000) + "' AS x UNION ALL\n"
		script := "SELECT 'first' AS a;\n\n" + strings.Repeat(line, 2000) + "SELECT 'y';\nSELECT 'never' AS b;\n"
		stdout, _, err := runShell(t, w, Options{Principal: admin, MaxStatementBytes: limit, StopOnError: true}, script)
		var se *StatementError
		if !errors.As(err, &se) || !errors.Is(err, ErrStatementTooLarge) || se.Line != 3 {
			t.Fatalf("err = %v, want statement too large at line 3 (where it starts)", err)
		}
		if !strings.Contains(stdout, "first") || strings.Contains(stdout, "never") {
			t.Errorf("stdout: want the first result only:\n%s", stdout)
		}
	})
	t.Run("under the limit", func(t *testing.T) {
		// 900 lines of 1 KB: one statement under 1 MiB runs.
		line := "SELECT '" + strings.Repeat("x", 1000) + "' AS x UNION ALL\n"
		stdout, _, err := runShell(t, w, Options{Principal: admin, Mode: ModeCSV, MaxStatementBytes: limit, StopOnError: true},
			"SELECT count(*) AS n FROM (\n"+strings.Repeat(line, 900)+"SELECT 'y');\n")
		if err != nil || stdout != "n\n901\n" {
			t.Fatalf("stdout %q, err %v", stdout, err)
		}
	})
}

func TestRecordable(t *testing.T) {
	cases := []struct {
		stmt string
		want bool
	}{
		{"SELECT count(*) FROM fact_sales;", true},
		{".mode csv", true},
		{"SELECT * FROM dim_customer WHERE customer_id = 20240105000000000001;", true}, // an order-like number, not personal
		{"SELECT rating FROM t WHERE note LIKE '%***%';", true},                        // asterisks of its own
		{"SELECT * FROM dim_customer WHERE mobile = '+8613800138000';", false},
		{"SELECT * FROM dim_customer WHERE mobile = '138 0013 8000';", false},
		{"SELECT * FROM dim_customer WHERE mobile = '１３８００１３８０００';", false}, // full-width digits
		{"SELECT * FROM dim_customer WHERE id_number = '11010519491231002X';", false},
		{"SELECT * FROM dim_customer WHERE email = 'li.si@example.com';", false},
		{"SELECT ckm_reveal(customer_id) FROM dim_customer;", false},
		{"ckm sql --reveal 'fraud case'", false},
		{"SELECT '北京，上海' AS cities;", true}, // full-width comma, no personal data
		{"  ", false},
	}
	for _, c := range cases {
		if got := Recordable(c.stmt); got != c.want {
			t.Errorf("Recordable(%q) = %v, want %v", c.stmt, got, c.want)
		}
	}
}

// scriptedEditor is a LineEditor that types lines, with ErrLineInterrupted
// for "^C", and keeps the history saved.
type scriptedEditor struct {
	lines   []string
	prompts []string
	history []string
}

func (e *scriptedEditor) ReadLine(prompt string) (string, error) {
	e.prompts = append(e.prompts, prompt)
	if len(e.lines) == 0 {
		return "", io.EOF
	}
	l := e.lines[0]
	e.lines = e.lines[1:]
	if l == "^C" {
		return "", ErrLineInterrupted
	}
	return l, nil
}

func (e *scriptedEditor) SaveHistory(s string) error {
	e.history = append(e.history, s)
	return nil
}

func TestShellInteractHistory(t *testing.T) {
	w := openWarehouse(t)
	ed := &scriptedEditor{lines: []string{
		"SELECT 1", "  AS one;", // two lines, one entry
		".mode csv",
		"SELECT 'dropped'", "^C", // Ctrl-C drops the statement being typed
		"SELECT 'x' AS m WHERE '+8613800138000' <> '';", // personal data: not kept
		"SELECT 2 AS two -- a comment", ";",             // a comment: kept line by line
		"SELECT 3 AS three", // no semicolon at Ctrl-D: still runs
	}}
	var out, errb bytes.Buffer
	sh, err := New(context.Background(), w, Options{Principal: admin, Out: &out, Err: &errb, Interactive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if err := sh.Interact(context.Background(), ed); err != nil {
		t.Fatal(err)
	}
	wantHistory := []string{"SELECT 1 AS one;", ".mode csv", "SELECT 2 AS two -- a comment", ";"}
	if strings.Join(ed.history, "\n") != strings.Join(wantHistory, "\n") {
		t.Errorf("history %q, want %q", ed.history, wantHistory)
	}
	wantPrompts := []string{"ckm> ", "   ...> ", "ckm> ", "ckm> ", "   ...> ", "ckm> ", "ckm> ", "   ...> ", "ckm> ", "   ...> "}
	if strings.Join(ed.prompts, "|") != strings.Join(wantPrompts, "|") {
		t.Errorf("prompts %q, want %q", ed.prompts, wantPrompts)
	}
	if strings.Contains(out.String(), "dropped") || !strings.Contains(out.String(), "two\n2\n") || !strings.Contains(out.String(), "three\n3\n") {
		t.Errorf("stdout:\n%s", out.String())
	}
}

func TestShellComplete(t *testing.T) {
	w := openWarehouse(t)
	ctx := context.Background()
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE kb_zebra (zeal INTEGER, zone_code VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	sh, err := New(ctx, w, Options{Principal: admin, Out: io.Discard, Err: io.Discard, Cubes: []string{"sales", "service"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	cases := []struct {
		line    string
		want    []string // exactly these
		has     []string // at least these
		hasNot  []string
		prefixN int
	}{
		{line: ".ti", want: []string{".timer"}, prefixN: 3},
		{line: ".m", want: []string{".mine", ".mode"}, prefixN: 2},
		{line: ".mode m", want: []string{"markdown"}, prefixN: 1},
		{line: ".cube s", want: []string{"sales", "service"}, prefixN: 1},
		{line: ".cube sales --", want: nil, prefixN: 2},
		{line: ".mine r", want: []string{"rfm"}, prefixN: 1},
		{line: "SELECT * FROM kb_ze", want: []string{"kb_zebra"}, prefixN: 5},
		{line: "SELECT kb_zebra.zo", want: []string{"zone_code"}, prefixN: 2},
		{line: "SELECT zea", want: []string{"zeal"}, prefixN: 3},
		{line: "sel", has: []string{"select"}, hasNot: []string{"SELECT"}, prefixN: 3},
		{line: "SELECT 1 FRO", has: []string{"FROM"}, prefixN: 3},
		{line: "SELECT ckm_rf", has: []string{"ckm_rfm"}, prefixN: 6},
	}
	for _, c := range cases {
		got, n := sh.Complete(c.line, len(c.line))
		if n != c.prefixN {
			t.Errorf("%q: prefix %d, want %d", c.line, n, c.prefixN)
		}
		if c.want != nil || c.has == nil {
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("%q: %q, want %q", c.line, got, c.want)
			}
		}
		for _, h := range c.has {
			if !contains(got, h) {
				t.Errorf("%q: %q lacks %q", c.line, got, h)
			}
		}
		for _, h := range c.hasNot {
			if contains(got, h) {
				t.Errorf("%q: %q has %q", c.line, got, h)
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestShellMarkdownMode(t *testing.T) {
	stdout, _, err := runShell(t, openWarehouse(t), Options{Principal: admin, Mode: ModeMarkdown},
		"SELECT 1 AS id, 'a|b' AS name, 12.50::DECIMAL(9,2) AS spend UNION ALL SELECT 10, '张三', NULL ORDER BY id;")
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"|  id | name | spend |\n" +
		"| --: | ---- | ----: |\n" +
		"|   1 | a\\|b | 12.50 |\n" +
		"|  10 | 张三 |  NULL |\n"
	if stdout != want {
		t.Errorf("got\n%s\nwant\n%s", stdout, want)
	}
}

func TestMineStatement(t *testing.T) {
	cases := []struct {
		op   string
		args []string
		want string
		err  string
	}{
		{"rfm", nil, "SELECT * FROM ckm_rfm()", ""},
		{"rfm", []string{"as_of=2024-12-31", "window_days=365"}, "SELECT * FROM ckm_rfm(as_of := '2024-12-31', window_days := 365)", ""},
		{"ckm_cross_sell", []string{"42", "5"}, "SELECT * FROM ckm_cross_sell(42, 5)", ""},
		{"cross_sell_basket", []string{"[milk, bread]", "3"}, "SELECT * FROM ckm_cross_sell_basket(['milk', 'bread'], 3)", ""},
		{"churn", []string{"model_id=null", "x=it's"}, "SELECT * FROM ckm_churn(model_id := NULL, x := 'it''s')", ""},
		{"rfm(); DROP TABLE x; --", nil, "", "an operator is a name"},
	}
	for _, c := range cases {
		got, err := MineStatement(c.op, c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.op, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %q: %q (%v), want %q", c.op, c.args, got, err, c.want)
		}
	}
}

func TestShellMineAndCubeShortcuts(t *testing.T) {
	w := openWarehouse(t)
	ctx := context.Background()
	// A customer who bought twice: ckm_rfm over the warehouse's facts.
	if _, err := w.DB.ExecContext(ctx, `INSERT INTO dim_customer (customer_key, customer_id, is_current) VALUES (7, 7, true);
		INSERT INTO fact_sales (order_id, line_no, date_key, order_ts, customer_key, customer_id, quantity, amount) VALUES
		('o1', 1, 20240110, '2024-01-10 10:00', 7, 7, 1, 30.00), ('o2', 1, 20240301, '2024-03-01 11:00', 7, 7, 2, 70.00)`); err != nil {
		t.Fatal(err)
	}
	analyst := privacy.Principal{User: "amy", Role: privacy.Analyst}
	var gotArgs []string
	cube := func(_ context.Context, args []string) ([]string, [][]any, error) {
		gotArgs = args
		return []string{"province", "mobile", "revenue"}, [][]any{{"广东", "+8613800138000", json.Number("100.00")}}, nil
	}
	stdout, stderr, err := runShell(t, w, Options{Principal: analyst, Mode: ModeCSV, Cube: cube},
		".mine rfm as_of=2024-03-31\n.mine nosuch\n.cube sales --measures revenue --rows region.province\n.cube sales --allow-pii\n")
	if err != nil {
		t.Fatal(err)
	}
	// Recency 30 days (March 1 to 31), two orders, 100.00 spent.
	if !strings.Contains(stdout, "\n7,30,2,100,") {
		t.Errorf(".mine rfm: no row for customer 7:\n%s", stdout)
	}
	if !strings.Contains(stderr, "ckm_nosuch") {
		t.Errorf(".mine nosuch: stderr %q", stderr)
	}
	if strings.Join(gotArgs, " ") != "sales --measures revenue --rows region.province" {
		t.Errorf(".cube passed %q", gotArgs)
	}
	if !strings.Contains(stdout, "province,mobile,revenue\n广东,+86 138****8000,100.00\n") {
		t.Errorf(".cube result not masked as an analyst's:\n%s", stdout)
	}
	if !strings.Contains(stderr, "--allow-pii is for ckm cube query") {
		t.Errorf(".cube --allow-pii: stderr %q", stderr)
	}
}

func TestSandboxParseErrorCaret(t *testing.T) {
	analyst := privacy.Principal{User: "amy", Role: privacy.Analyst}
	_, stderr, err := runShell(t, openWarehouse(t), Options{Principal: analyst},
		"SELECT '张三' AS n,\n  2 FRM x;\nSELECT 1 +;\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "Error: stdin:1: Parser Error: syntax error at or near \"x\"\n\nLINE 2:   2 FRM x\n                ^\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	want = "Error: stdin:3: Parser Error: syntax error at end of input\n\nLINE 1: SELECT 1 +\n                  ^\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
}

func TestFilterKeys(t *testing.T) {
	cases := []struct{ in, want string }{
		{"abc", "abc"},
		{"\x1b[1~", "\x1b[H"},                     // Home (tmux, screen, console)
		{"x\x1b[4~y", "x\x1b[Fy"},                 // End
		{"\x1b[7~\x1b[8~", "\x1b[H\x1b[F"},        // rxvt Home, End
		{"\x1b[3~", "\x1b[3~"},                    // Delete, which readline knows
		{"a\x1b[5~\x1b[6~\x1b[2~\x1b[15~b", "ab"}, // Page Up/Down, Insert, F5: dropped
		{"\x1b[D\x1b[1;5C", "\x1b[D\x1b[1;5C"},    // arrows pass
		{"\x1b[", "\x1b["},
	}
	for _, c := range cases {
		if got := string(filterKeys([]byte(c.in))); got != c.want {
			t.Errorf("filterKeys(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzFilterKeys: what reaches readline has no ESC [ n ~ key it would
// take for the end of input, and filtering again changes nothing.
func FuzzFilterKeys(f *testing.F) {
	for _, s := range []string{"\x1b[1~", "\x1b[\x1b[5~1~", "a\x1b[15~b", "\x1b[3~"} {
		f.Add([]byte(s))
	}
	unknown := regexp.MustCompile(`\x1b\[[0-9]+~`)
	f.Fuzz(func(t *testing.T, b []byte) {
		out := filterKeys(b)
		for _, m := range unknown.FindAll(out, -1) {
			if string(m) != "\x1b[3~" {
				t.Fatalf("filterKeys(%q) = %q keeps %q", b, out, m)
			}
		}
		if again := filterKeys(out); !bytes.Equal(again, out) {
			t.Fatalf("not stable: %q then %q", out, again)
		}
	})
}

// FuzzMineStatement: whatever is typed after .mine, the statement is one
// call of a ckm_ table function — one statement, nothing after it.
func FuzzMineStatement(f *testing.F) {
	f.Add("rfm", "as_of=2024-12-31", "x');DROP TABLE t;--")
	f.Add("churn", "[a,b]", "NaN")
	f.Fuzz(func(t *testing.T, op, a1, a2 string) {
		q, err := MineStatement(op, []string{a1, a2})
		if err != nil {
			return
		}
		if !strings.HasPrefix(q, "SELECT * FROM ckm_") || !strings.HasSuffix(q, ")") {
			t.Fatalf("statement %q", q)
		}
		var sp splitter
		var items []item
		for _, l := range strings.Split(q, "\n") {
			items = append(items, sp.Feed(l)...)
		}
		if it, ok := sp.Flush(); ok {
			items = append(items, it)
		}
		if len(items) != 1 || sp.Pending() {
			t.Fatalf("%q splits into %d statements", q, len(items))
		}
	})
}

// TestShellOutputFile: .output FILE sends results there in the current
// mode, a second .output closes the first file and opens the next, a file
// that cannot be opened is an error naming it and results go back to
// stdout (as the error says), and .output alone (or stdout) returns to
// stdout.
func TestShellOutputFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.csv")
	bad := filepath.Join(dir, "no", "such", "c.txt")
	script := ".output " + a + "\nSELECT 1 AS one;\n.output " + b + "\n.mode csv\nSELECT 2 AS two;\nSELECT 'x,y' AS q;\n" +
		".output " + bad + "\nSELECT 3 AS three;\n.output " + b + "\nSELECT 4 AS four;\n.output stdout\nSELECT 5 AS five;\n"
	if err := os.WriteFile(b, []byte("older, readable by all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runShell(t, openWarehouse(t), Options{Principal: admin}, script)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(a); string(got) != "┌─────────┐\n│ one     │\n│ integer │\n├─────────┤\n│       1 │\n└─────────┘\n(1 row)\n" {
		t.Errorf("%s holds:\n%s", a, got)
	}
	// Opened again after the failed .output: truncated, as a new .output FILE is.
	if got, _ := os.ReadFile(b); string(got) != "four\n4\n" {
		t.Errorf("%s holds %q, want only the last result", b, got)
	}
	if want := "Error: stdin:7: .output: open " + bad + ": no such file or directory; results go to stdout\n"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q\nwant %q", stderr, want)
	}
	if stdout != "three\n3\nfive\n5\n" {
		t.Errorf("stdout %q", stdout)
	}
	// Query results may hold personal data (an admin's raw values): the
	// files are the owner's alone, like the history file.
	for _, f := range []string{a, b} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", f, st.Mode().Perm(), err)
		}
	}
}

// TestShellErrorPosition: an error in a statement over several lines
// names the file and the statement's first line, and points at the place
// in the statement (DuckDB's LINE and caret), for an admin's session as
// for an analyst's sandboxed one.
func TestShellErrorPosition(t *testing.T) {
	script := "SELECT 1 AS one;\nSELECT customer_id,\n  nope\nFROM dim_customer;\nSELECT 2 +;\n"
	for _, p := range []privacy.Principal{admin, {User: "amy", Role: privacy.Analyst}} {
		_, stderr, err := runShell(t, openWarehouse(t), Options{Principal: p}, script)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"Error: stdin:2: Binder Error: Referenced column \"nope\" not found in FROM clause!",
			"\nLINE 2:   nope\n          ^\n",
			"Error: stdin:5: Parser Error: syntax error at end of input\n\nLINE 1: SELECT 2 +\n                  ^\n",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", p.Role, want, stderr)
			}
		}
	}
}
