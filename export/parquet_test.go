package export

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// smallWarehouse builds a hand-made warehouse: three customers, two
// products, sales over three months (and one with an unknown date), an
// empty interaction fact, a committed ETL run and a little knowledge.
func smallWarehouse(t *testing.T) *engine.Warehouse {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	for _, q := range []string{
		`INSERT INTO dim_customer (customer_key, customer_id, id_number, name, mobile, email, customer_type, valid_from, valid_to, is_current)
		 VALUES (1, 1001, '11010519491231002X', '张三', '+8613800138000', 'abc@b.cn', 'current', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true),
		        (2, 1002, '440524188001010014', '李四', '+8613912345678', 'li.si@example.com', 'current', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true),
		        (3, 1003, NULL, '王五', NULL, NULL, 'potential', TIMESTAMP '2024-01-01', TIMESTAMP '9999-12-31', true)`,
		`INSERT INTO dim_product (product_key, product_code, product_name, category, cost, list_price)
		 VALUES (1, 'P1', '电饭锅', '厨房电器', 100.00, 199.00), (2, 'P2', '空调', '大家电', 1500.00, 2999.00)`,
		`INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, channel_key, quantity, unit_price, amount, is_return, etl_run_id)
		 VALUES ('O1', 1, 20240105, 1, 1001, 1, 1, 2, 199.00, 398.00, false, 7),
		        ('O1', 2, 20240105, 1, 1001, 2, 1, 1, 2999.00, 2999.00, false, 7),
		        ('O2', 1, 20240211, 2, 1002, 1, 2, 1, 199.00, 199.00, false, 7),
		        ('O3', 1, 20250228, 2, 1002, 1, 2, -1, 199.00, -199.00, true, 7),
		        ('O4', 1, -1, -1, -1, 2, 3, 1, 2999.00, 2999.00, false, 7)`,
		`INSERT INTO etl_run (run_id, started_at, finished_at, status, rows_read, rows_loaded)
		 VALUES (6, TIMESTAMP '2024-03-01 10:00:00', TIMESTAMP '2024-03-01 10:01:00', 'committed', 10, 10),
		        (7, TIMESTAMP '2024-03-02 10:00:00', TIMESTAMP '2024-03-02 10:01:00', 'committed', 5, 5)`,
		`INSERT INTO kb_model (model_id, kind, name, params, data_version, created_at)
		 VALUES (1, 'rules', 'basket', '{"min_support": 0.1}', 7, TIMESTAMP '2024-03-03 00:00:00')`,
		`INSERT INTO kb_rule (model_id, rule_id, kind, antecedent, consequent, support, confidence, lift, count)
		 VALUES (1, 1, 'association', ['电饭锅'], '空调', 0.25, 0.5, 1.2, 1)`,
	} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return w
}

// smallLake is smallWarehouse exported once into a new lake, dir.
func smallLake(t *testing.T) (w *engine.Warehouse, dir string) {
	t.Helper()
	w = smallWarehouse(t)
	dir = filepath.Join(t.TempDir(), "lake")
	if _, err := Lake(context.Background(), w, LakeOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	return w, dir
}

// bigSalesLake is smallWarehouse with n sales lines more (bigSales), its
// fact tables exported once into a new lake, dir.
func bigSalesLake(t *testing.T, n int) (w *engine.Warehouse, dir string) {
	t.Helper()
	w = smallWarehouse(t)
	bigSales(t, w, n)
	dir = filepath.Join(t.TempDir(), "lake")
	if _, err := Lake(context.Background(), w, LakeOptions{Dir: dir, Tables: factTables}); err != nil {
		t.Fatal(err)
	}
	return w, dir
}

// checkModes checks the permissions of every directory (dirs) and file
// (files) under root.
func checkModes(t *testing.T, root string, dirs, files os.FileMode) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		st, _ := d.Info()
		want := files
		if d.IsDir() {
			want = dirs
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), want)
		}
		return nil
	})
}

// checksum returns the row count and an order-independent checksum of the
// named columns of a relation.
func checksum(t *testing.T, w *engine.Warehouse, from string, cols []string) (int64, string) {
	t.Helper()
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = engine.QuoteIdent(c)
	}
	var n int64
	var sum string
	q := "SELECT count(*), CAST(coalesce(sum(CAST(hash(" + strings.Join(quoted, ", ") + ") AS HUGEINT)), 0) AS VARCHAR) FROM " + from
	if err := w.DB.QueryRowContext(context.Background(), q).Scan(&n, &sum); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n, sum
}

func readBack(dir, table string) string {
	return "read_parquet(" + engine.QuoteString(filepath.Join(dir, table, "**", "*.parquet")) + ", hive_partitioning = true)"
}

func TestParquetLakeRoundTrip(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	out := filepath.Join(t.TempDir(), "lake")
	m, err := Parquet(ctx, w, ParquetOptions{Out: out, Producer: "ckm test"})
	if err != nil {
		t.Fatal(err)
	}
	if m.DataVersion != 7 || m.SchemaVersion != engine.SchemaVersion() || m.PII != "masked" {
		t.Errorf("manifest data_version %d, schema_version %d, pii %s; want 7, %d, masked", m.DataVersion, m.SchemaVersion, m.PII, engine.SchemaVersion())
	}
	var names []string
	for _, tm := range m.Tables {
		names = append(names, tm.Name)
	}
	for _, want := range []string{"dim_customer", "dim_date", "dim_product", "fact_sales", "fact_interaction", "fact_campaign", "kb_model", "kb_rule", "etl_run"} {
		if !slices.Contains(names, want) {
			t.Errorf("lake lacks %s (has %v)", want, names)
		}
	}
	for _, not := range []string{"etl_reject", "etl_identity", "etl_file", "schema_version"} {
		if slices.Contains(names, not) {
			t.Errorf("lake has %s, which is not for BI tools", not)
		}
	}

	// The manifest on disk is the one returned.
	b, err := os.ReadFile(filepath.Join(out, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var disk Manifest
	if err := json.Unmarshal(b, &disk); err != nil {
		t.Fatal(err)
	}
	if len(disk.Tables) != len(m.Tables) || disk.DataVersion != 7 {
		t.Errorf("manifest on disk has %d tables, data version %d", len(disk.Tables), disk.DataVersion)
	}

	for _, tm := range m.Tables {
		var plain []string
		for _, c := range tm.Columns {
			if c.Masked == "" && !c.Partition {
				plain = append(plain, c.Name)
			}
		}
		from := engine.QuoteIdent(tm.Name)
		if tm.Name == "dim_customer" {
			// The lake publishes the birth year, not the date.
			from = "(SELECT *, CAST(year(birth_date) AS INTEGER) AS birth_year FROM dim_customer)"
		}
		wantN, wantSum := checksum(t, w, from, plain)
		gotN, gotSum := checksum(t, w, readBack(out, tm.Name), plain)
		if gotN != wantN || gotSum != wantSum {
			t.Errorf("%s: lake has %d rows (checksum %s), warehouse %d (%s)", tm.Name, gotN, gotSum, wantN, wantSum)
		}
		if tm.Rows != wantN {
			t.Errorf("%s: manifest says %d rows, warehouse has %d", tm.Name, tm.Rows, wantN)
		}
		var fileRows int64
		for _, f := range tm.Files {
			fileRows += f.Rows
			if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(f.Path))); err != nil {
				t.Errorf("%s: manifest file %s: %v", tm.Name, f.Path, err)
			}
		}
		if fileRows != tm.Rows {
			t.Errorf("%s: files hold %d rows, manifest %d", tm.Name, fileRows, tm.Rows)
		}
	}

	// Facts are partitioned by the year and month of date_key; the unknown
	// date goes to year=0/month=0.
	rows, err := w.DB.QueryContext(ctx, "SELECT year, month, count(*) FROM "+readBack(out, "fact_sales")+" GROUP BY ALL ORDER BY ALL")
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for rows.Next() {
		var y, mo, n int
		rows.Scan(&y, &mo, &n)
		parts = append(parts, fmt.Sprintf("%d/%d/%d", y, mo, n))
	}
	rows.Close()
	if got, want := strings.Join(parts, " "), "0/0/1 2024/1/2 2024/2/1 2025/2/1"; got != want {
		t.Errorf("fact_sales partitions (year/month/rows) = %s, want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(out, "fact_sales", "year=2024", "month=1")); err != nil {
		t.Errorf("hive directory: %v", err)
	}

	// Personal data is masked with privacy's one mask per kind, and the
	// birth date, which would narrow the masked ID number to a few hundred
	// numbers, is published as its year only.
	checkMasked(t, w, out, func(col, v string) string { return privacy.Mask(privacy.ColumnKind(col), v) })
	for _, tm := range m.Tables {
		if tm.Name != "dim_customer" {
			continue
		}
		var cols []string
		for _, c := range tm.Columns {
			cols = append(cols, c.Name+":"+c.Masked)
		}
		for _, want := range []string{"id_number:id_number", "name:name", "mobile:mobile", "email:email", "birth_year:"} {
			if !slices.Contains(cols, want) {
				t.Errorf("lake dim_customer columns %v lack %s", cols, want)
			}
		}
		if slices.ContainsFunc(cols, func(c string) bool { return strings.HasPrefix(c, "birth_date:") }) {
			t.Errorf("lake dim_customer publishes birth_date beside the ID number: %v", cols)
		}
	}
	var maskedID, maskedName string
	w.DB.QueryRowContext(ctx, "SELECT id_number, name FROM "+readBack(out, "dim_customer")+" WHERE customer_key = 1").Scan(&maskedID, &maskedName)
	if maskedID != "110105************" || maskedName != "张**" {
		t.Errorf("masked id_number, name = %q, %q; want 110105************, 张**", maskedID, maskedName)
	}
	var masked string
	w.DB.QueryRowContext(ctx, "SELECT mobile FROM "+readBack(out, "dim_customer")+" WHERE customer_key = 1").Scan(&masked)
	if masked != "+86 138****8000" {
		t.Errorf("masked mobile = %q, want +86 138****8000", masked)
	}
}

// checkMasked compares the lake's PII columns of dim_customer with want
// applied to the warehouse's values (NULL stays NULL).
func checkMasked(t *testing.T, w *engine.Warehouse, out string, want func(col, v string) string) {
	t.Helper()
	for _, col := range []string{"id_number", "mobile", "email"} {
		q := "SELECT c.customer_key, c." + col + ", l." + col + " FROM dim_customer c JOIN " + readBack(out, "dim_customer") + " l USING (customer_key) ORDER BY 1"
		rows, err := w.DB.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var key int
			var src, lake *string
			if err := rows.Scan(&key, &src, &lake); err != nil {
				t.Fatal(err)
			}
			n++
			switch {
			case src == nil && lake == nil:
			case src == nil || lake == nil:
				t.Errorf("customer %d %s: warehouse %v, lake %v", key, col, src, lake)
			case *lake != want(col, *src):
				t.Errorf("customer %d %s: lake %q, want %q", key, col, *lake, want(col, *src))
			}
		}
		rows.Close()
		if n != 8 { // 4 special members, the guest (schema 6) and 3 customers
			t.Errorf("%s: compared %d customers, want 8", col, n)
		}
	}
}

func TestParquetRawForAdmin(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	out := filepath.Join(t.TempDir(), "lake")
	admin := privacy.Principal{User: "root", Role: privacy.Admin}
	// Raw data goes out only to an admin, and only with a reason.
	for _, o := range []ParquetOptions{
		{Principal: privacy.Principal{User: "amy", Role: privacy.Analyst}, Reason: "audit"},
		{Principal: privacy.Principal{User: "sam", Role: privacy.Steward}, Reason: "audit"},
		{Principal: admin},
	} {
		o.Out, o.RawPII, o.Tables = out, true, []string{"dim_customer"}
		if _, err := Parquet(ctx, w, o); err == nil {
			t.Errorf("raw export by %s with reason %q was not refused", o.Principal.Role, o.Reason)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("refused raw export left %s: %v", out, err)
	}
	m, err := Parquet(ctx, w, ParquetOptions{Out: out, RawPII: true, Principal: admin, Reason: "migration to the new CRM", Tables: []string{"dim_customer"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.PII != "raw" || len(m.Tables) != 1 {
		t.Fatalf("manifest pii %s, %d tables; want raw, 1", m.PII, len(m.Tables))
	}
	checkMasked(t, w, out, func(_, v string) string { return v })
	// Raw data is readable by the exporting user only.
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if st, _ := d.Info(); st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want owner-only", p, st.Mode().Perm())
		}
		return nil
	})
	// The audit says who, what, why and how many rows.
	var user, role, command, detail, reason string
	var rows int64
	if err := w.DB.QueryRowContext(ctx, `SELECT os_user, role, command, detail, reason, rows FROM privacy_reveal`).Scan(&user, &role, &command, &detail, &reason, &rows); err != nil {
		t.Fatal(err)
	}
	if user != "root" || role != "admin" || command != "export parquet" || !strings.Contains(detail, "dim_customer") || reason != "migration to the new CRM" || rows != 8 {
		t.Errorf("audit row = %s %s %s %q %q %d", user, role, command, detail, reason, rows)
	}
}

func TestParquetTargets(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	dir := t.TempDir()

	// A directory that is not a lake is never overwritten.
	foreign := filepath.Join(dir, "foreign")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644)
	if _, err := Parquet(ctx, w, ParquetOptions{Out: foreign}); err == nil || !strings.Contains(err.Error(), "not a ckm lake") {
		t.Errorf("export over a foreign directory: err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(foreign, "notes.txt")); string(b) != "mine" {
		t.Error("foreign directory was touched")
	}

	lake := filepath.Join(dir, "lake")
	// Tables outside the lake, such as the identity map, need a role that
	// allows raw values.
	if _, err := Parquet(ctx, w, ParquetOptions{Out: lake, Tables: []string{"etl_identity"}}); err == nil || !strings.Contains(err.Error(), "etl_identity is not a lake table") {
		t.Errorf("export of etl_identity as analyst: err = %v", err)
	}
	if _, err := os.Stat(lake); !os.IsNotExist(err) {
		t.Errorf("refused export left %s: %v", lake, err)
	}

	// An unknown table fails before anything is written, and leaves no
	// temporary directory behind.
	if _, err := Parquet(ctx, w, ParquetOptions{Out: lake, Tables: []string{"dim_nosuch"}}); err == nil || !strings.Contains(err.Error(), "dim_nosuch") {
		t.Errorf("unknown table: err = %v", err)
	}
	// A failure in the middle of the export (a fact that cannot be
	// partitioned, exported after the dimensions) leaves no half lake.
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE fact_bad (date_key INTEGER, "year" INTEGER); INSERT INTO fact_bad VALUES (20240101, 2024)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Parquet(ctx, w, ParquetOptions{Out: lake}); err == nil || !strings.Contains(err.Error(), "fact_bad") {
		t.Errorf("export with a bad fact: err = %v", err)
	}
	if _, err := os.Stat(lake); !os.IsNotExist(err) {
		t.Errorf("failed export left %s: %v", lake, err)
	}
	if _, err := Parquet(ctx, w, ParquetOptions{Out: lake, Tables: []string{"dim_product", "kb_rule"}}); err != nil {
		t.Fatal(err)
	}
	// Replacing an earlier lake works and leaves only the new one.
	m, err := Parquet(ctx, w, ParquetOptions{Out: lake, Tables: []string{"dim_product"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Tables) != 1 {
		t.Errorf("replaced lake has %d tables", len(m.Tables))
	}
	if _, err := os.Stat(filepath.Join(lake, "kb_rule")); !os.IsNotExist(err) {
		t.Errorf("old lake's table survived the replacement: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary directory left behind: %s", e.Name())
		}
	}
}

// TestParquetSwapAndTemporaries: a reader polling manifest.json during
// exports never finds it missing; what a killed export left beside the
// folder is removed by the next one; permissions are as configured.
func TestParquetSwapAndTemporaries(t *testing.T) {
	ctx := context.Background()
	w := smallWarehouse(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "lake")
	if _, err := Parquet(ctx, w, ParquetOptions{Out: out, Tables: []string{"dim_product"}}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		missing := 0
		for {
			select {
			case <-stop:
				done <- missing
				return
			default:
			}
			if _, err := os.ReadFile(filepath.Join(out, ManifestFile)); err != nil {
				missing++
			}
		}
	}()
	for i := 0; i < 20; i++ {
		if _, err := Parquet(ctx, w, ParquetOptions{Out: out, Tables: []string{"dim_product"}}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if missing := <-done; missing != 0 {
		t.Errorf("a reader found %s missing %d times during 20 exports", ManifestFile, missing)
	}
	// A killed export's temporary directory.
	stale := filepath.Join(dir, ".lake.tmp-123")
	os.MkdirAll(filepath.Join(stale, "dim_product"), 0o755)
	os.WriteFile(filepath.Join(stale, "dim_product", "data_0.parquet"), []byte("half"), 0o644)
	if _, err := Parquet(ctx, w, ParquetOptions{Out: out, Tables: []string{"dim_product"}, DirMode: 0o750, FileMode: 0o640}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the killed export's %s survives: %v", stale, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary left: %s", e.Name())
		}
	}
	checkModes(t, out, 0o750, 0o640)
}
