package serve

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// runPsql runs the real psql (Debian's postgresql-client, which .ci/run
// installs) as user against srv and returns its output.
func runPsql(t *testing.T, srv *Server, user string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed (.ci/run installs postgresql-client)")
	}
	host, port, _ := strings.Cut(srv.Addr().String(), ":")
	cmd := exec.Command(bin, append([]string{"-X", "-h", host, "-p", port, "-U", user, "-d", "ckm", "-v", "ON_ERROR_STOP=1"}, args...)...)
	cmd.Env = []string{"PGPASSWORD=" + user + "-pw", "PGSSLMODE=disable", "PAGER=", "PGTZ=UTC", "LANG=C"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestPsqlCatalog checks psql's \dt, \d TABLE, \l and \dn against the
// warehouse: the relations a principal may read, and fact_sales's columns
// with the types PostgreSQL would print for them.
func TestPsqlCatalog(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})

	admin := runPsql(t, srv, "root", "-c", `\dt`)
	for _, want := range [][]string{{"main", "fact_sales", "table", "ckm"}, {"main", "dim_customer", "table", "ckm"}, {"main", "etl_identity", "table", "ckm"}, {"main", "privacy_reveal", "table", "ckm"}} {
		if !hasRow(admin, want...) {
			t.Errorf("admin \\dt lacks %q:\n%s", want, admin)
		}
	}
	analyst := runPsql(t, srv, "ana", "-c", `\dt`, "-c", `\dv`)
	for _, want := range [][]string{{"main", "fact_sales", "table", "ckm"}, {"analyst", "dim_customer", "view", "ckm"}, {"analyst", "etl_reject", "view", "ckm"}} {
		if !hasRow(analyst, want...) {
			t.Errorf("analyst \\dt \\dv lacks %q:\n%s", want, analyst)
		}
	}
	if strings.Contains(analyst, "etl_identity") || strings.Contains(analyst, "privacy_reveal") || hasRow(analyst, "main", "dim_customer", "table", "ckm") {
		t.Errorf("analyst \\dt shows relations an analyst may not read:\n%s", analyst)
	}

	d := runPsql(t, srv, "root", "-c", `\d fact_sales`)
	if !strings.Contains(d, `Table "main.fact_sales"`) {
		t.Errorf("\\d fact_sales: no title:\n%s", d)
	}
	// The types of schema_v1's fact_sales as PostgreSQL names them.
	for _, want := range [][2]string{{"order_id", "text"}, {"line_no", "integer"}, {"order_ts", "timestamp without time zone"},
		{"customer_id", "bigint"}, {"unit_price", "numeric(18,4)"}, {"amount", "numeric(18,2)"}, {"is_return", "boolean"}} {
		if !hasRow(d, want[0], want[1], "", "", "") {
			t.Errorf("\\d fact_sales: no column %s of type %s:\n%s", want[0], want[1], d)
		}
	}
	var cols int
	if err := w.DB.QueryRow("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = 'fact_sales'").Scan(&cols); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(d, "|") / 4; got != cols+1 { // header + one line per column, 4 separators each
		t.Errorf("\\d fact_sales shows %d lines of cells, want %d columns + header:\n%s", got, cols, d)
	}

	// \d+ adds storage, compression, statistics target and description.
	dplus := runPsql(t, srv, "root", "-c", `\d+ fact_sales`)
	if !hasRow(dplus, "amount", "numeric(18,2)", "", "", "", "plain", "", "", "") {
		t.Errorf("\\d+ fact_sales: no verbose row for amount:\n%s", dplus)
	}

	// An analyst's \d dim_customer describes the masked view.
	dv := runPsql(t, srv, "ana", "-c", `\d dim_customer`)
	if !strings.Contains(dv, `View "analyst.dim_customer"`) || !strings.Contains(dv, "birth_year") {
		t.Errorf("analyst \\d dim_customer:\n%s", dv)
	}

	// \du: users with their ckm role; an analyst sees only themselves.
	du := runPsql(t, srv, "root", "-c", `\du`)
	if !hasRow(du, "root", "Superuser", "{admin}") || !hasRow(du, "ana", "", "{analyst}") || !hasRow(du, "stew", "", "{steward}") {
		t.Errorf("admin \\du:\n%s", du)
	}
	if du := runPsql(t, srv, "ana", "-c", `\du`); !hasRow(du, "ana", "", "{analyst}") || strings.Contains(du, "root") {
		t.Errorf("analyst \\du:\n%s", du)
	}

	l := runPsql(t, srv, "root", "-c", `\l`, "-c", `\dn`)
	for _, want := range []string{"shared ", "UTF8", " analyst ", " main "} {
		if !strings.Contains(l, want) {
			t.Errorf("\\l \\dn lacks %q:\n%s", want, l)
		}
	}

	// Queries and masking through psql itself.
	q := runPsql(t, srv, "ana", "-A", "-t", "-c", "SELECT count(*) FROM fact_sales", "-c", "SELECT mobile FROM dim_customer WHERE mobile IS NOT NULL LIMIT 1")
	var n int64
	w.DB.QueryRow("SELECT count(*) FROM fact_sales").Scan(&n)
	lines := strings.Split(strings.TrimSpace(q), "\n")
	if len(lines) != 2 || lines[0] != itoa(n) || !strings.Contains(lines[1], "*") {
		t.Errorf("psql as analyst: %q, want the count %d and a masked mobile", q, n)
	}
}

// hasRow reports whether psql's aligned output has a row of exactly these
// cells.
func hasRow(out string, cells ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		got := strings.Split(line, "|")
		if len(got) != len(cells) {
			continue
		}
		same := true
		for i := range cells {
			same = same && strings.TrimSpace(got[i]) == cells[i]
		}
		if same {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestPsqlFunctions: psql's \df lists the warehouse's macros (not
// DuckDB's built-in functions) with their arguments, and \df PATTERN
// filters by name.
func TestPsqlFunctions(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{})
	var macro, args string
	if err := w.DB.QueryRow(`SELECT function_name, array_to_string(parameters, ', ') FROM duckdb_functions() WHERE NOT internal AND function_type = 'table_macro' ORDER BY 1 LIMIT 1`).Scan(&macro, &args); err != nil {
		t.Fatalf("no table macro in the warehouse: %v", err)
	}
	all := runPsql(t, srv, "ana", "-c", `\df`)
	if !strings.Contains(all, "List of functions") || !strings.Contains(all, macro) {
		t.Errorf("\\df lacks the macro %s:\n%s", macro, all)
	}
	if strings.Contains(all, "| abs ") || strings.Contains(all, " concat_ws ") {
		t.Errorf("\\df lists DuckDB's built-in functions:\n%s", all)
	}
	one := runPsql(t, srv, "ana", "-c", `\df `+macro)
	if !strings.Contains(one, " main   | "+macro+" | table ") || !strings.Contains(one, "| func") || !strings.Contains(one, "(1 row)") {
		t.Errorf("\\df %s:\n%s", macro, one)
	}
	if first := strings.Split(args, ", ")[0]; first != "" && !strings.Contains(one, first+" any") {
		t.Errorf("\\df %s does not show argument %s:\n%s", macro, first, one)
	}
	none := runPsql(t, srv, "ana", "-c", `\df no_such_function_xyz`)
	if !strings.Contains(none, "(0 rows)") {
		t.Errorf("\\df of no function:\n%s", none)
	}
}
