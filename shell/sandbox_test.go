package shell

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

var analyst = privacy.Principal{User: "amy", Role: privacy.Analyst}

// personalWarehouse is a warehouse with one customer's raw personal data
// in the base tables: dim_customer, the identity map and the reject ledger.
func personalWarehouse(t *testing.T) *engine.Warehouse {
	t.Helper()
	w := openWarehouse(t)
	if _, err := w.DB.ExecContext(context.Background(), `
		INSERT INTO dim_customer (customer_key, customer_id, id_number, name, sex, birth_date, mobile, email, region_code, valid_from, valid_to, is_current)
		VALUES (1, 1001, '11010519491231002X', '张三', 'F', DATE '1949-12-31', '+8613800138000', 'abc@b.cn', '110105', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true);
		INSERT INTO etl_identity VALUES ('id_number', '11010519491231002X', 1001, 1), ('mobile', '+8613800138000', 1001, 1);
		INSERT INTO etl_reject (run_id, file_id, path, line, stage, rule, severity, column_name, raw_value, raw_record, message)
		VALUES (1, 1, 'crm.csv', 7, 'validate', 'mobile_invalid', 'warn', 'mobile', '1380013800', '张三,11010519491231002X,1380013800,abc@b.cn', 'not a mobile');
		INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, amount) VALUES ('O1', 1, 20240105, 1, 1001, 10.00)`); err != nil {
		t.Fatal(err)
	}
	return w
}

// vetAs runs one statement through a new shell of the principal and
// returns stdout and the statement's error.
func vetAs(t *testing.T, w *engine.Warehouse, p privacy.Principal, stmt string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	sh, err := New(context.Background(), w, Options{Principal: p, Out: &out, Err: &errb, Mode: ModeCSV, StopOnError: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	err = sh.Run(context.Background(), "-c", strings.NewReader(stmt))
	return out.String(), err
}

// TestSandboxRefuses runs one statement of each refused kind, in hostile
// spellings too, and checks the refusal names it and nothing happened.
func TestSandboxRefuses(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	os.WriteFile(secret, []byte("the secret\n"), 0o600)
	csv := filepath.Join(dir, "data.csv")
	os.WriteFile(csv, []byte("a\n1\n"), 0o600)
	leak := filepath.Join(dir, "leak.csv")
	q := engine.QuoteString
	cases := []struct {
		name, stmt, want string
	}{
		{"copy to", "COPY dim_customer TO " + q(leak), "COPY is not allowed: it reads or writes files"},
		{"copy query to", "COPY (SELECT * FROM dim_customer) TO " + q(leak) + " (FORMAT csv)", "COPY is not allowed"},
		{"copy from", "COPY fact_sales FROM " + q(csv), "COPY is not allowed"},
		{"export database", "EXPORT DATABASE " + q(dir), "EXPORT is not allowed"},
		{"read_text", "SELECT * FROM read_text(" + q(secret) + ")", "table function read_text"},
		{"read_csv", "SELECT * FROM read_csv(" + q(csv) + ")", "table function read_csv"},
		{"read_parquet", "SELECT * FROM read_parquet(" + q(csv) + ")", "table function read_parquet"},
		{"glob", "SELECT * FROM glob(" + q(dir+"/*") + ")", "table function glob"},
		{"file as a table", "SELECT * FROM " + q(csv), "is not a relation an analyst may read"},
		{"query()", "SELECT * FROM query('SELECT * FROM main.dim_customer')", "table function query"},
		{"catalog function", "SELECT * FROM duckdb_settings()", "table function duckdb_settings"},
		{"attach", "ATTACH " + q(filepath.Join(dir, "other.duckdb")) + " AS other", "ATTACH is not allowed"},
		{"detach", "DETACH memory", "DETACH is not allowed"},
		{"install", "INSTALL httpfs", "INSTALL is not allowed: extensions"},
		{"load", "LOAD httpfs", "LOAD is not allowed: extensions"},
		{"set external access", "SET enable_external_access = true", "SET is not allowed: settings"},
		{"set search path", "SET search_path = 'main'", "SET is not allowed"},
		{"reset", "RESET search_path", "RESET is not allowed"},
		{"pragma", "PRAGMA table_info('dim_customer')", "PRAGMA is not allowed"},
		{"delete", "DELETE FROM etl_reject", "DELETE is not allowed: an analyst session is read-only"},
		{"update", "UPDATE fact_sales SET amount = 0", "UPDATE is not allowed"},
		{"insert", "INSERT INTO fact_sales (order_id) VALUES ('X')", "INSERT is not allowed"},
		{"drop", "DROP TABLE etl_reject", "DROP is not allowed"},
		{"create", "CREATE TABLE mine AS SELECT * FROM dim_customer", "CREATE is not allowed"},
		{"create temp", "CREATE TEMP TABLE mine AS SELECT 1", "CREATE is not allowed"},
		{"alter", "ALTER TABLE dim_customer ADD COLUMN x INTEGER", "ALTER is not allowed"},
		{"truncate", "TRUNCATE etl_reject", "TRUNCATE is not allowed"},
		{"checkpoint", "CHECKPOINT", "CHECKPOINT is not allowed"},
		{"call", "CALL pragma_version()", "CALL is not allowed"},
		{"begin", "BEGIN TRANSACTION", "BEGIN is not allowed"},
		// Hostile spellings.
		{"comment and case", "/* just a query */ dRoP   TABLE etl_reject", "DROP is not allowed"},
		{"line comment", "-- SELECT\nDelete FROM etl_reject", "DELETE is not allowed"},
		{"copy glued to a comment", "copy/**/dim_customer to " + q(leak), "COPY is not allowed"},
		{"CTE around a table function", "WITH x AS (SELECT * FROM read_text(" + q(secret) + ")) SELECT * FROM x", "table function read_text"},
		{"subquery in the select list", "SELECT (SELECT max(content) FROM read_text(" + q(secret) + ")) AS s", "table function read_text"},
		{"union with a file", "SELECT 'x' AS c UNION ALL SELECT content FROM read_text(" + q(secret) + ")", "table function read_text"},
		{"lateral", "SELECT * FROM range(1) r, LATERAL (SELECT * FROM read_csv(" + q(csv) + ")) x", "table function read_csv"},
		{"base table by schema", "SELECT id_number FROM main.dim_customer", `"main.dim_customer" is not a relation`},
		{"base table by catalog", "SELECT id_number FROM memory.main.dim_customer", "is not a relation"},
		{"identity map", "SELECT key_value FROM etl_identity", `"etl_identity" is not a relation`},
		{"identity map in a join", "SELECT c.customer_id FROM dim_customer c JOIN etl_identity i USING (customer_id)", `"etl_identity" is not a relation`},
		{"reveal audit", "SELECT * FROM privacy_reveal", `"privacy_reveal" is not a relation`},
		{"CTE named for a hidden table", "SELECT * FROM (WITH etl_identity AS (SELECT 1 AS a) SELECT * FROM etl_identity), etl_identity", "may not take the name"},
		{"environment", "SELECT getenv('HOME') AS h", "function getenv"},
		{"token oracle", "SELECT ckm_token('id_number', '11010519491231002X') AS t", "function ckm_token"},
		{"identity graph", "SELECT ckm_label_edge(1, 2, 3) AS x", "function ckm_label_edge"},
		{"identity graph's labels", "SELECT ckm_label_of(1, 2) AS x", "function ckm_label_of"},
		{"settings", "SELECT current_setting('temp_directory') AS d", "function current_setting"},
		{"sequence", "SELECT nextval('x') AS n", "function nextval"},
	}
	w := personalWarehouse(t) // one for all: each case checks nothing changed
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := vetAs(t, w, analyst, c.stmt)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%s: err = %v, want a refusal saying %q", c.stmt, err, c.want)
			}
			if out != "" {
				t.Errorf("refused statement wrote %q", out)
			}
			// Nothing happened: the ledger and the customer are still there,
			// no file was written, and the settings hold.
			var rejects, customers int
			if err := w.DB.QueryRow("SELECT (SELECT count(*) FROM etl_reject), (SELECT count(*) FROM dim_customer)").Scan(&rejects, &customers); err != nil || rejects != 1 || customers != 6 {
				t.Errorf("after %q: %d reject rows, %d customer rows (%v); want 1, 6 (the customer, 4 special members and the guest)", c.stmt, rejects, customers, err)
			}
			if _, err := os.Stat(leak); !os.IsNotExist(err) {
				t.Errorf("after %q: %s exists", c.stmt, leak)
			}
		})
	}
}

// TestSandboxRefusalPosition: a refusal points at what it refused, the
// way DuckDB's errors do — the line and a caret under the function, table
// function or relation — counted in characters when the statement has
// Chinese text before it (DuckDB's node locations are bytes).
func TestSandboxRefusalPosition(t *testing.T) {
	w := personalWarehouse(t)
	cases := []struct{ stmt, line, under string }{
		{"SELECT '中文' AS x, getenv('HOME') AS h", "LINE 1: SELECT '中文' AS x, getenv('HOME') AS h", "getenv"},
		{"SELECT count(*)\nFROM dim_customer c\n  JOIN etl_identity i USING (customer_id)", "LINE 3:   JOIN etl_identity i USING (customer_id)", "etl_identity"},
		{"SELECT '名' AS n FROM read_text('/etc/passwd')", "LINE 1: SELECT '名' AS n FROM read_text('/etc/passwd')", "read_text"},
	}
	for _, c := range cases {
		_, err := vetAs(t, w, analyst, c.stmt)
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("%q: err = %v, want a refusal", c.stmt, err)
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) < 2 || lines[len(lines)-2] != c.line {
			t.Fatalf("%q: refusal %q, want its line %q", c.stmt, err, c.line)
		}
		caret := lines[len(lines)-1]
		// The caret's column, in display cells, is where `under` starts.
		before := c.line[:strings.Index(c.line, c.under)]
		if want := strings.Repeat(" ", DisplayWidth(before)) + "^"; caret != want {
			t.Errorf("%q: caret line %q, want %q", c.stmt, caret, want)
		}
	}
}

// TestSandboxManyStatements: a string of several statements is vetted as a
// whole, and -c stops at the first refused one.
func TestSandboxManyStatements(t *testing.T) {
	w := personalWarehouse(t)
	sh, err := New(context.Background(), w, Options{Principal: analyst, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	for _, text := range []string{"SELECT 1; DROP TABLE etl_reject", "SELECT 1; /* */ DELETE FROM etl_reject;", "SELECT 1; SELECT key_value FROM etl_identity"} {
		if err := sh.vet(context.Background(), text); !errors.Is(err, ErrRefused) {
			t.Errorf("vet(%q) = %v, want a refusal", text, err)
		}
	}
	out, err := vetAs(t, w, analyst, "SELECT 42 AS a; DROP TABLE etl_reject; SELECT 43 AS b")
	if !errors.Is(err, ErrRefused) || out != "a\n42\n" {
		t.Errorf("-c with a DROP in the middle: out %q, err %v", out, err)
	}
}

// TestSandboxAllowsQueries: what an analyst does runs, and reads the masked
// views: expressions over a personal column see only the mask.
func TestSandboxAllowsQueries(t *testing.T) {
	w := personalWarehouse(t)
	const rawID, rawMobile, rawEmail = "11010519491231002X", "+8613800138000", "abc@b.cn"
	cases := []struct{ stmt, want string }{
		{"SELECT id_number, mobile, email, name, birth_year FROM dim_customer", "110105************,+86 138****8000,a***@b.cn,张**,1949"},
		{"select ID_NUMBER from DIM_CUSTOMER", "110105************"},
		{"SELECT id_number FROM analyst.dim_customer", "110105************"},
		{"SELECT replace(id_number, '0', 'O') AS r FROM dim_customer", "11O1O5************"},
		{"SELECT substr(id_number, 7, 8) AS birth FROM dim_customer", "********"},
		{"SELECT hex(id_number) AS h FROM dim_customer", "3131303130352A2A2A2A2A2A2A2A2A2A2A2A"},
		{"SELECT CAST(id_number AS BLOB) AS b FROM dim_customer", "110105************"},
		{"SELECT id_number || '' AS s, upper(email) AS e FROM dim_customer", "110105************,A***@B.CN"},
		{"SELECT to_json(map {'k': email}) AS j FROM dim_customer", `"{""k"":""a***@b.cn""}"`},
		{"SELECT string_agg(mobile, '|') AS s FROM dim_customer", "+86 138****8000"},
		{"SELECT c.name, r.rule, r.column_name FROM dim_customer c, etl_reject r", "张**,mobile_invalid,mobile"},
		{"SELECT sum(amount) AS s FROM fact_sales f JOIN dim_customer c USING (customer_key)", "10.00"},
		{"WITH big AS (SELECT * FROM fact_sales) SELECT count(*) AS n FROM big", "1"},
		{"SELECT count(*) AS n FROM range(3)", "3"},
		{"SELECT count(*) > 0 AS t FROM information_schema.tables", "true"},
		{"FROM main.fact_sales SELECT order_id", "O1"},
		{"SELECT * FROM etl_reject", "1,1,crm.csv,7,validate,mobile_invalid,warn,mobile,not a mobile,,,,"},
	}
	for _, c := range cases {
		out, err := vetAs(t, w, analyst, c.stmt)
		if err != nil {
			t.Errorf("%s: %v", c.stmt, err)
			continue
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if got := lines[len(lines)-1]; got != c.want {
			t.Errorf("%s: last line %q, want %q", c.stmt, got, c.want)
		}
		for _, raw := range []string{rawID, rawMobile, rawEmail, "19491231", "313130313035313934393132"} {
			if strings.Contains(strings.ToUpper(out), strings.ToUpper(raw)) {
				t.Errorf("%s: output holds raw %q:\n%s", c.stmt, raw, out)
			}
		}
	}
}

// TestLockDown: a process serving one analyst also turns on DuckDB's
// global switches; files are then closed to every connection.
func TestLockDown(t *testing.T) {
	w := personalWarehouse(t)
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("x"), 0o600)
	sh, err := New(context.Background(), w, Options{Principal: analyst, LockDown: true, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	var s string
	err = w.DB.QueryRow("SELECT content FROM read_text(" + engine.QuoteString(secret) + ")").Scan(&s)
	if err == nil || !strings.Contains(err.Error(), "disabled by configuration") {
		t.Errorf("read_text after lock down: %q, %v; want it disabled", s, err)
	}
	if _, err := w.DB.Exec("SET enable_external_access = true"); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("SET after lock down: %v; want the configuration locked", err)
	}
}

// TestSandboxMacrosPerWarehouse: the table macros an analyst may call are
// read once per warehouse file (duckdb_functions() lists every function
// DuckDB has; every statement paid for it) and kept per file: a warehouse
// with ckm's macros allows ckm_rfm() again from the kept list, and a file
// without them, vetted in the same process after it, still refuses it.
func TestSandboxMacrosPerWarehouse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	vetOn := func(w *engine.Warehouse, text string) error {
		conn, err := w.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return Vet(ctx, conn, text)
	}
	withMacros, err := engine.Open(ctx, filepath.Join(dir, "a.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer withMacros.Close()
	bare, err := engine.Open(ctx, filepath.Join(dir, "b.duckdb"), engine.Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	const call = "SELECT count(*) FROM ckm_rfm()"
	for i := 0; i < 2; i++ {
		if err := vetOn(withMacros, call); err != nil {
			t.Fatalf("vet %d on the migrated warehouse: %v", i, err)
		}
	}
	if _, ok := macroCache.Load(filepath.Join(dir, "a.duckdb")); !ok {
		t.Error("the migrated warehouse's macros were not kept")
	}
	if err := vetOn(bare, call); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "table function ckm_rfm") {
		t.Errorf("vet on a warehouse without ckm's macros: %v, want the table function refused", err)
	}
}
