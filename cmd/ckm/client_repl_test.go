package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSQLREPLThroughServer: ckm sql reading a pipe while ckm serve holds
// the warehouse runs each statement as soon as a line ends it (its rows
// come back while the pipe is still open), and for a whole script prints
// what the embedded shell printed for it before the server started: the
// same boxed tables, the same errors at the same lines (the rest still
// running), exit code 1.
func TestSQLREPLThroughServer(t *testing.T) {
	dir := t.TempDir()
	exports := filepath.Join(dir, "ex")
	if _, _, code := runCkm(t, "", "fixtures", "generate", "--out", exports, "--customers", "40", "--days", "5", "--quiet"); code != 0 {
		t.Fatal("fixtures generate failed")
	}
	wh := filepath.Join(dir, "w.duckdb")
	cfg := filepath.Join(dir, "ckm.yaml")
	if err := os.WriteFile(cfg, []byte("warehouse: "+wh+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "load", exports); code != 0 && code != 3 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	script := `SELECT count(*) AS lines, sum(amount) AS revenue, 1.5::DOUBLE AS f, DATE '2024-01-02' AS d, NULL AS z, true AS b FROM fact_sales;
SELECT 'a;b' AS s,
  42 AS x; SELECT nope;
-- a comment; not a statement
SELECT customer_id, name, mobile FROM dim_customer WHERE is_current ORDER BY customer_id LIMIT 3;
CREATE TABLE t AS SELECT 1 AS one;
SELECT 'multi
line' AS m, 3.25::DECIMAL(9,2) AS price
`
	embOut, embErr, embCode := runCkm(t, script, "--config", cfg, "sql")
	if embCode != 1 || !strings.Contains(embOut, "│ a;b     │      42 │") || !strings.Contains(embOut, "decimal(38,2)") {
		t.Fatalf("embedded: exit %d\n%s\n%s", embCode, embOut, embErr)
	}

	// csv and json print per statement, as the embedded shell's.
	small := "SELECT 1 AS a, 'x' AS s;\nSELECT count(*) AS n, sum(amount) AS revenue FROM fact_sales;\n"
	embFormats := map[string]string{}
	for _, f := range []string{"csv", "json"} {
		out, errOut, code := runCkm(t, small, "--config", cfg, "--format", f, "sql")
		if code != 0 || !strings.Contains(out, "revenue") {
			t.Fatalf("embedded --format %s: exit %d\n%s\n%s", f, code, out, errOut)
		}
		embFormats[f] = out
	}

	// Meta-commands print what the embedded shell prints: the output
	// modes, .schema, .read; the others are checked by hand below.
	readFile := filepath.Join(dir, "more.sql")
	if err := os.WriteFile(readFile, []byte("SELECT 7 AS seven;\n.mode line\nSELECT 8 AS eight;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	metaScript := `.mode line
SELECT 1 AS a, 'x' AS s, NULL AS z;
.mode markdown
SELECT 1 AS a, 'x' AS s;
.mode csv
SELECT count(*) AS n, sum(amount) AS revenue, NULL AS z FROM fact_sales;
.mode
.mode table
.schema fact_sales
.read ` + readFile + `
SELECT 9 AS nine;
.mode table
.bogus
.mode nope
SELECT 10 AS ten;
`
	embMeta, embMetaErr, embMetaCode := runCkm(t, metaScript, "--config", cfg, "sql")
	if embMetaCode != 1 || !strings.Contains(embMeta, "CREATE TABLE fact_sales") || !strings.Contains(embMeta, "eight = 8") || !strings.Contains(embMeta, "| --: | --- |") {
		t.Fatalf("embedded meta-commands: exit %d\n%s\n%s", embMetaCode, embMeta, embMetaErr)
	}

	startServe(t, cfg, wh)
	t.Setenv("CKM_USER", "admin")
	t.Setenv("CKM_PASSWORD", "root-pw")

	// A statement runs when its line ends it, the pipe still open.
	cmd := exec.Command(ckmBinary(t), "--config", cfg, "sql")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	readUntil := func(want string) []string {
		t.Helper()
		var got []string
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %q: %q\n%s", want, got, stderr.String())
				}
				got = append(got, l)
				if l == want {
					return got
				}
			case <-timeout:
				t.Fatalf("no %q within 60s of its statement: %q\n%s", want, got, stderr.String())
			}
		}
	}
	io.WriteString(stdin, "SELECT 6 * 7 AS answer,\n")
	io.WriteString(stdin, "  'x' AS s;\n")
	got := readUntil("(1 row)")
	if want := "│      42 │ x       │"; !strings.Contains(strings.Join(got, "\n"), want) {
		t.Errorf("first statement printed %q, want a row %q", got, want)
	}
	io.WriteString(stdin, "SELECT 1 AS one; SELECT 2 AS two;\n")
	got = readUntil("(1 row)")
	got = append(got, readUntil("(1 row)")...)
	if s := strings.Join(got, "\n"); !strings.Contains(s, "│       1 │") || !strings.Contains(s, "│       2 │") {
		t.Errorf("two statements on a line printed %q", got)
	}
	io.WriteString(stdin, ".quit\nSELECT 'not run';\n")
	if err := cmd.Wait(); err != nil {
		t.Errorf(".quit: %v\n%s", err, stderr.String())
	}

	for f, want := range embFormats {
		if out, errOut, code := runCkm(t, small, "--config", cfg, "--format", f, "sql"); code != 0 || out != want {
			t.Errorf("--format %s through the server: exit %d\n%s\nembedded:\n%s\n%s", f, code, out, want, errOut)
		}
	}

	// The whole script: what the embedded shell printed.
	out, errOut, code := runCkm(t, script, "--config", cfg, "sql")
	if code != embCode {
		t.Errorf("exit %d, embedded %d\n%s", code, embCode, errOut)
	}
	if out != embOut {
		t.Errorf("stdout through the server:\n%s\nembedded:\n%s", out, embOut)
	}
	for _, want := range []string{"Error: stdin:3: Binder Error: Referenced column \"nope\"", "(SQLSTATE 42703)",
		"Error: stdin:6: refused in an analyst session: CREATE", "(SQLSTATE 42501)", "2 statement(s) from stdin failed"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(embErr, "Error: stdin:3: Binder Error") || !strings.Contains(embErr, "Error: stdin:6: refused") {
		t.Errorf("the embedded errors are not where the test expects them:\n%s", embErr)
	}
	mOut, mErr, mCode := runCkm(t, metaScript, "--config", cfg, "sql")
	if mCode != embMetaCode || mOut != embMeta {
		t.Errorf("meta-commands through the server: exit %d\n%s\nembedded (exit %d):\n%s\n%s", mCode, mOut, embMetaCode, embMeta, mErr)
	}
	for _, want := range []string{"Error: stdin:13: unknown meta-command .bogus: try .help", "Error: stdin:14: unknown mode \"nope\""} {
		if !strings.Contains(mErr, want) || !strings.Contains(embMetaErr, want) {
			t.Errorf("stderr lacks %q:\nthrough the server:\n%s\nembedded:\n%s", want, mErr, embMetaErr)
		}
	}
	// The catalog as the analyst sees it; .help; .output; .pii; .mine.
	outFile := filepath.Join(dir, "mOut.txt")
	mOut, mErr, mCode = runCkm(t, ".tables dim_c%\n.tables etl_i%\n.help\n.functions ckm_rfm\n.output "+outFile+"\nSELECT 5 AS five;\n.output\nSELECT 6 AS six;\n.pii on\n.timer on\nSELECT 1;\n",
		"--config", cfg, "sql")
	if mCode != 1 {
		t.Errorf("catalog meta-commands: exit %d, want 1 (.pii on fails)\n%s", mCode, mErr)
	}
	for _, want := range []string{"│ dim_customer │ masked view │", "│ dim_channel  │ table       │", ".tables [PATTERN]", "│ ckm_rfm │ table_macro │", "│ six     │", "(0 rows)"} {
		if !strings.Contains(mOut, want) {
			t.Errorf("stdout lacks %q:\n%s", want, mOut)
		}
	}
	if strings.Contains(mOut, "etl_identity") || strings.Contains(mOut, "five") {
		t.Errorf("stdout shows a relation an analyst may not read, or what went to the .output file:\n%s", mOut)
	}
	if b, err := os.ReadFile(outFile); err != nil || !strings.Contains(string(b), "│ five    │") {
		t.Errorf(".output file: %q, %v", b, err)
	}
	for _, want := range []string{"Error: stdin:9: .pii: through ckm serve, raw values are shown only by CALL ckm_reveal", "Run Time: "} {
		if !strings.Contains(mErr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, mErr)
		}
	}
	// .cube runs a cube query in the server: its figure is the SQL's.
	mOut, mErr, mCode = runCkm(t, ".mode csv\n.cube sales --measures revenue --rows date.year\n"+
		"SELECT CAST(year(order_ts) AS VARCHAR) AS year, CAST(sum(amount) AS VARCHAR) AS revenue FROM fact_sales GROUP BY 1;\n", "--config", cfg, "sql")
	csvLines := strings.Split(strings.TrimSpace(mOut), "\n")
	if mCode != 0 || len(csvLines) != 4 || csvLines[0] != "date.year,revenue" || csvLines[2] != "year,revenue" {
		t.Fatalf(".cube through the server: exit %d\n%s\n%s", mCode, mOut, mErr)
	}
	cubeRow, sqlRow := strings.Split(csvLines[1], ","), strings.Split(csvLines[3], ",")
	cubeRev, err1 := strconv.ParseFloat(cubeRow[1], 64)
	sqlRev, err2 := strconv.ParseFloat(sqlRow[1], 64)
	if cubeRow[0] != sqlRow[0] || err1 != nil || err2 != nil || cubeRev != sqlRev || sqlRev == 0 {
		t.Errorf(".cube row %q, the SQL's %q", csvLines[1], csvLines[3])
	}
}

// TestSQLREPLThroughServerInTerminal: on a terminal the REPL through ckm
// serve prompts, runs each statement as Enter ends it, continues a
// statement over lines, cancels a long statement on Ctrl-C and goes on in
// the same session, keeps the history, and leaves on Ctrl-D with exit 0.
func TestSQLREPLThroughServerInTerminal(t *testing.T) {
	tm := newTmux(t)
	dir := t.TempDir()
	wh := filepath.Join(dir, "w.duckdb")
	cfg := filepath.Join(dir, "ckm.yaml")
	if err := os.WriteFile(cfg, []byte("warehouse: "+wh+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "init"); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, errOut)
	}
	startServe(t, cfg, wh)
	hist := filepath.Join(dir, "history")
	tm.start("r", "env CKM_USER=admin CKM_PASSWORD=root-pw "+ckmBinary(t)+" --config "+cfg+" sql --history "+hist)
	tm.waitFor("r", "through ckm serve", 1)
	tm.waitFor("r", "ckm>", 1)
	tm.typeText("r", "SELECT 41 + 1 AS answer;")
	tm.keys("r", "Enter")
	tm.waitFor("r", "│      42 │", 1)
	tm.typeText("r", "SELECT 'two' AS s,")
	tm.keys("r", "Enter")
	tm.waitFor("r", "...>", 1)
	tm.typeText("r", "2 AS n;")
	tm.keys("r", "Enter")
	tm.waitFor("r", "│ two     │", 1)

	// Tab completes from the server's catalog as the session sees it: a
	// table, a column after "table.", a keyword, a meta-command.
	tm.typeText("r", "SELECT count(*) AS n FROM etl_ru")
	tm.keys("r", "Tab")
	tm.waitFor("r", "FROM etl_run", 1)
	tm.typeText("r", " WHERE etl_run.stat")
	tm.keys("r", "Tab")
	tm.waitFor("r", "WHERE etl_run.status", 1)
	tm.typeText("r", " IS NULL LIMI")
	tm.keys("r", "Tab")
	tm.waitFor("r", "IS NULL LIMIT", 1)
	tm.typeText("r", " 5;")
	tm.keys("r", "Enter")
	tm.waitFor("r", "│ n      │", 1)
	tm.typeText("r", ".tab")
	tm.keys("r", "Tab")
	tm.waitFor("r", "ckm> .tables", 1)
	tm.typeText("r", " etl_ru%")
	tm.keys("r", "Enter")
	tm.waitFor("r", "│ etl_run │ table   │", 1)

	// Long results are cut in the middle as in the embedded shell on a
	// terminal: 40 rows shown of 100, the footer says so.
	tm.typeText("r", "SELECT range AS k FROM range(100);")
	tm.keys("r", "Enter")
	sc := tm.waitFor("r", "(100 rows, 40 shown)", 1)
	if !strings.Contains(sc, "…") {
		t.Errorf("no ellipsis row in the cut result:\n%s", sc)
	}
	if strings.Contains(sc, "│     50 │") || !strings.Contains(sc, "│     19 │") || !strings.Contains(sc, "│     80 │") {
		t.Errorf("the cut result does not show the first and last 20 rows only:\n%s", sc)
	}
	tm.typeText("r", "SELECT 'wide' AS w, repeat('x', 300) AS long;")
	tm.keys("r", "Enter")
	sc = tm.waitFor("r", "│ wide    │", 1)
	if strings.Contains(sc, strings.Repeat("x", 60)) || !strings.Contains(sc, "x…") {
		t.Errorf("a 300-character cell was not cut with an ellipsis:\n%s", sc)
	}

	tm.typeText("r", "SELECT count(*) FROM range(100000000000) a, range(1000) b;")
	tm.keys("r", "Enter")
	time.Sleep(500 * time.Millisecond)
	interrupt := time.Now()
	tm.keys("r", "C-c")
	tm.waitFor("r", "interrupted", 1)
	if took := time.Since(interrupt); took > 10*time.Second {
		t.Errorf("Ctrl-C took %v to cancel the statement", took)
	}
	tm.typeText("r", "SELECT 'still here' AS s;")
	tm.keys("r", "Enter")
	tm.waitFor("r", "│ still here │", 1)
	tm.keys("r", "C-d")
	if status := tm.waitExit("r"); status != "0" {
		t.Errorf("exit status after Ctrl-D: %s\n%s", status, tm.screen("r"))
	}
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT 41 + 1 AS answer;\nSELECT 'two' AS s, 2 AS n;\nSELECT count(*) AS n FROM etl_run WHERE etl_run.status IS NULL LIMIT 5;\n.tables etl_ru%\n" +
		"SELECT range AS k FROM range(100);\nSELECT 'wide' AS w, repeat('x', 300) AS long;\nSELECT count(*) FROM range(100000000000) a, range(1000) b;\nSELECT 'still here' AS s;\n"
	if string(b) != want {
		t.Errorf("history file:\n%s\nwant:\n%s", b, want)
	}
}
