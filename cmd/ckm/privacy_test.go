package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy"
)

// TestPrincipalsTrust: a principals list grants roles only from a config
// file that nobody but its owner — root or the warehouse's owner — may
// write.
func TestPrincipalsTrust(t *testing.T) {
	wh := sqlWarehouse(t)
	query := []string{"-c", "SELECT count(*) AS n FROM privacy_reveal"}
	run := func(cfg string) (string, int) {
		_, stderr, code := runCkm(t, "", append([]string{"sql", "--warehouse", wh, "--config", cfg, "--role", "admin", "--format", "csv"}, query...)...)
		return stderr, code
	}
	cfg := principalsConfig(t, "admin")
	if stderr, code := run(cfg); code != 0 {
		t.Fatalf("trusted config: exit %d %s", code, stderr)
	}
	os.Chmod(cfg, 0o666)
	if stderr, code := run(cfg); code != 1 || !strings.Contains(stderr, "may be written by group or others") {
		t.Errorf("group-writable config: exit %d %s", code, stderr)
	}
	os.Chmod(cfg, 0o600)
	if os.Getuid() != 0 {
		t.Skip("the owner rule needs root to give the file away")
	}
	// A config of another user (nobody) cannot grant roles on root's warehouse.
	if err := os.Chown(cfg, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if stderr, code := run(cfg); code != 1 || !strings.Contains(stderr, "owned by neither root nor the owner of the warehouse") {
		t.Errorf("config of another user: exit %d %s", code, stderr)
	}
	// Nor can it once that user owns the warehouse too... unless it is the
	// warehouse's owner: then it decides.
	os.Chown(wh, 65534, 65534)
	if stderr, code := run(cfg); code != 0 {
		t.Errorf("config of the warehouse's owner: exit %d %s", code, stderr)
	}
}

// TestCubeDrillThroughPII: --allow-pii is checked against the granted role
// and audited.
func TestCubeDrillThroughPII(t *testing.T) {
	wh := sqlWarehouse(t)
	admin := asAdmin(t)
	if _, stderr, code := runCkm(t, "", append(append([]string{"sql", "--warehouse", wh}, admin...), "-c",
		`INSERT INTO fact_sales (order_id, line_no, date_key, customer_key, customer_id, product_key, amount, is_reversal) VALUES ('O1', 1, 20240105, 2, 1002, -1, 10.00, false)`)...); code != 0 {
		t.Fatal(stderr)
	}
	steward := []string{"--config", principalsConfig(t, "steward"), "--role", "steward"}
	queryFile := filepath.Join(t.TempDir(), "q.json")
	os.WriteFile(queryFile, []byte(`{"cube": "sales", "through": {"columns": ["order_id", "mobile"]}, "allow_pii": true}`), 0o644)
	base := []string{"cube", "query", "sales", "--warehouse", wh, "--format", "csv", "--through", "order_id,mobile"}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"analyst sees the mask", base, 0, "order_id,mobile\nO1,+86 139****5678\n", ""},
		{"--allow-pii alone", append(base, "--allow-pii"), 2, "", "--allow-pii: raw personal data needs --role steward or admin and --reveal REASON"},
		{"--allow-pii in a query file", []string{"cube", "query", "sales", "--warehouse", wh, "--query", queryFile}, 2, "", "--allow-pii: raw"},
		{"ungranted steward", append(base, "--allow-pii", "--role", "steward", "--reveal", "r"), 1, "", "role not granted"},
		{"granted steward", append(append(base, "--allow-pii", "--reveal", "chargeback 12"), steward...), 0, "order_id,mobile\nO1,+8613912345678\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := runCkm(t, "", c.args...)
			if code != c.code || stdout != c.stdout || !strings.Contains(stderr, c.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, c.code, c.stdout, c.stderr)
			}
		})
	}
	out, _, _ := runCkm(t, "", append(append([]string{"sql", "--warehouse", wh, "--format", "csv"}, admin...), "-c", "SELECT os_user, role, command, reason, rows FROM privacy_reveal")...)
	if want := "os_user,role,command,reason,rows\n" + currentUser() + ",steward,cube query,chargeback 12,1\n"; out != want {
		t.Errorf("audit:\n%s\nwant\n%s", out, want)
	}
}

// TestAnalystOutputsHoldNoRawValues loads a fixture set and scans every
// output an analyst gets — ckm sql in each format over every relation an
// analyst may read, ckm rejects, a cube drill-through of all columns and
// the masked Parquet lake — for the set's ID numbers, mobiles and e-mail
// addresses, in their normalised forms and in the spellings of the
// exports (folded: full-width, spaced and dashed; 15-digit IDs; mobiles
// without +86). The raw values are the ones the warehouse's base tables
// and identity map hold.
func TestAnalystOutputsHoldNoRawValues(t *testing.T) {
	dir := t.TempDir()
	exports, wh := filepath.Join(dir, "exports"), filepath.Join(dir, "w.duckdb")
	exp, err := fixtures.Generate(context.Background(), fixtures.Options{Out: exports, Customers: 300, Days: 60, Seed: 3, ListPersonal: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", exports); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	raw := personalRaw(exp).withoutNamesIn(t, nonPersonalText(t, wh))
	if len(raw.ids) < 100 || len(raw.mobiles) < 100 || len(raw.emails) < 50 || len(raw.names) < 100 {
		t.Fatalf("fixture set too small to mean anything: %d IDs, %d mobiles, %d e-mails, %d names", len(raw.ids), len(raw.mobiles), len(raw.emails), len(raw.names))
	}
	if raw.find(filesText(t, exports)) == "" {
		t.Fatal("the scan finds no raw value even in the exports")
	}

	// Every relation the analyst sandbox lets through.
	relations := analystRelations(t, wh)
	for _, must := range []string{"dim_customer", "fact_sales", "etl_reject", "kb_model"} {
		if !strings.Contains(strings.Join(relations, " "), must) {
			t.Fatalf("analyst relations %v lack %s", relations, must)
		}
	}
	// The relations' contents themselves, not only what ckm sql prints
	// (its output masker would hide a raw value a query could still
	// compute with).
	outputs := []string{relationText(t, wh, relations)}
	for _, rel := range relations {
		for _, format := range []string{"table", "csv", "json"} {
			out, stderr, code := runCkm(t, "", "sql", "--warehouse", wh, "--format", format, "-c", "SELECT * FROM "+rel)
			if code != 0 {
				t.Fatalf("analyst reading %s: exit %d %s", rel, code, stderr)
			}
			outputs = append(outputs, "sql "+format+" "+rel+"\n"+out)
		}
	}
	out, stderr, code := runCkm(t, "", "--warehouse", wh, "rejects", "--format", "json", "--limit", "1000000")
	if code != 0 || !strings.Contains(out, "raw_record") {
		t.Fatalf("rejects: exit %d %s", code, stderr)
	}
	outputs = append(outputs, "rejects\n"+out)
	out, stderr, code = runCkm(t, "", "cube", "query", "sales", "--warehouse", wh, "--format", "csv", "--through", "all", "--limit", "100000")
	if code != 0 || strings.Count(out, "\n") < 100 {
		t.Fatalf("drill-through: exit %d %s", code, stderr)
	}
	outputs = append(outputs, "drill-through\n"+out)
	out, stderr, code = runCkm(t, "", "cube", "query", "interactions", "--warehouse", wh, "--format", "csv", "--through", "all", "--limit", "100000")
	if code != 0 || strings.Count(out, "\n") < 20 {
		t.Fatalf("interactions drill-through: exit %d %s", code, stderr)
	}
	outputs = append(outputs, "interactions drill-through\n"+out)
	lake := filepath.Join(dir, "lake")
	if _, stderr, code := runCkm(t, "", "export", "parquet", "--warehouse", wh, "--out", lake); code != 0 {
		t.Fatal(stderr)
	}
	outputs = append(outputs, lakeText(t, lake))

	t.Run("published columns do not narrow ID numbers", func(t *testing.T) {
		checkIDCandidates(t, wh, lake, relations, exp.Personal.IDNumbers)
	})

	for _, o := range outputs {
		name := o[:strings.IndexByte(o, '\n')]
		if v := raw.find(o); v != "" {
			at := strings.Index(privacy.Fold(o), v)
			folded := privacy.Fold(o)
			t.Errorf("%s shows the raw value %s: …%s…", name, v, folded[max(0, at-300):min(len(folded), at+100)])
		}
	}
}

// rawValues are a fixture set's personal values, in the forms to look for.
type rawValues struct {
	ids, mobiles, emails, names map[string]bool
}

var (
	digitRun  = regexp.MustCompile(`[0-9]+[Xx]?`)
	emailLike = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+`)
)

// find returns a raw value text holds, folded (full-width, spaces and
// dashes gone), or "".
func (r rawValues) find(text string) string {
	folded := privacy.Fold(text)
	for _, run := range digitRun.FindAllString(folded, -1) {
		run = strings.ToUpper(run)
		// A raw value may be glued to other digits in folded text: look at
		// every window of the lengths that matter.
		for _, n := range []int{18, 15, 11} {
			for i := 0; i+n <= len(run); i++ {
				if w := run[i : i+n]; r.ids[w] || r.mobiles[w] {
					return w
				}
			}
		}
	}
	for _, e := range emailLike.FindAllString(strings.ToLower(privacy.Fold(text)), -1) {
		if r.emails[e] {
			return e
		}
	}
	for n := range r.names {
		if strings.Contains(folded, n) {
			return n
		}
	}
	return ""
}

// withoutNamesIn drops the names that text (what the warehouse holds that
// is not personal: places, products, stores, cashiers) contains, so a
// customer called like a city (金华) is not taken for a leak.
func (r rawValues) withoutNamesIn(t *testing.T, text string) rawValues {
	names := map[string]bool{}
	for n := range r.names {
		if !strings.Contains(text, n) {
			names[n] = true
		}
	}
	t.Logf("scanning for %d of the set's %d names (the others are also names of places, products, stores or cashiers)", len(names), len(r.names))
	r.names = names
	return r
}

// nonPersonalText is the text of the warehouse's dimensions that hold no
// personal data.
func nonPersonalText(t *testing.T, wh string) string {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, wh, engine.Options{ReadOnly: true, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var b strings.Builder
	for _, table := range []string{"dim_product", "dim_store", "dim_salesperson", "dim_region", "dim_campaign", "dim_channel"} {
		var s string
		if err := w.DB.QueryRowContext(ctx, "SELECT coalesce(string_agg(CAST(t AS VARCHAR), '\n'), '') FROM "+table+" t").Scan(&s); err != nil {
			t.Fatal(err)
		}
		b.WriteString(s + "\n")
	}
	return b.String()
}

// personalRaw are the raw values expected.json lists (ListPersonal), in
// the forms to look for: ID numbers and their 15-digit forms, national
// mobiles, e-mails in lower case, names. The warehouse's base tables cannot give
// them: a warehouse the CLI creates holds tokens there.
func personalRaw(exp *fixtures.Expected) rawValues {
	r := rawValues{ids: map[string]bool{}, mobiles: map[string]bool{}, emails: map[string]bool{}, names: map[string]bool{}}
	for _, id := range exp.Personal.IDNumbers {
		r.ids[id], r.ids[id[:6]+id[8:17]] = true, true
	}
	for _, n := range exp.Personal.Names {
		r.names[n] = true
	}
	for _, m := range exp.Personal.Mobiles {
		r.mobiles[m] = true
	}
	for _, e := range exp.Personal.Emails {
		r.emails[strings.ToLower(e)] = true
	}
	return r
}

// analystRelations lists every relation of the warehouse an analyst's
// statement may read, as the sandbox decides: each relation of schemas
// main and analyst is tried.
func analystRelations(t *testing.T, wh string) []string {
	t.Helper()
	out, stderr, code := runCkm(t, "", append(append([]string{"sql", "--warehouse", wh, "--format", "csv"}, asAdmin(t)...), "-c",
		`SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name IN ('main', 'analyst')
		 UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE schema_name IN ('main', 'analyst') AND NOT internal ORDER BY 1`)...)
	if code != 0 {
		t.Fatal(stderr)
	}
	var readable []string
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, rel := range lines[1:] {
		_, stderr, code := runCkm(t, "", "sql", "--warehouse", wh, "-c", "SELECT * FROM "+rel+" LIMIT 0")
		switch {
		case code == 0:
			readable = append(readable, rel)
		case !strings.Contains(stderr, "refused in an analyst session"):
			t.Fatalf("%s: exit %d %s", rel, code, stderr)
		}
	}
	for _, hidden := range []string{"main.dim_customer", "main.etl_identity", "main.etl_reject", "main.privacy_reveal"} {
		if strings.Contains(" "+strings.Join(readable, " ")+" ", " "+hidden+" ") {
			t.Errorf("an analyst may read %s", hidden)
		}
	}
	return readable
}

// relationText reads the contents of relations, unmasked, as text.
func relationText(t *testing.T, wh string, relations []string) string {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, wh, engine.Options{ReadOnly: true, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var b strings.Builder
	b.WriteString("relation contents\n")
	for _, rel := range relations {
		rows, err := w.DB.QueryContext(ctx, "SELECT CAST(t AS VARCHAR) FROM "+rel+" t")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(rel + " " + s + "\n")
		}
		rows.Close()
	}
	return b.String()
}

// lakeText reads every Parquet file of a lake back as text.
func lakeText(t *testing.T, lake string) string {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var b strings.Builder
	b.WriteString("lake\n")
	err = filepath.WalkDir(lake, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		rows, err := w.DB.QueryContext(ctx, "SELECT CAST(t AS VARCHAR) FROM read_parquet("+engine.QuoteString(p)+") t")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			b.WriteString(s + "\n")
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkIDCandidates computes, for every row of every lake table and every
// analyst relation that publishes an ID number or a birth date (the
// lake's and the analyst's dim_customer among them), how many ID numbers
// its published columns leave possible (privacy.IDCandidates with every ID-derived column of the
// row at once: the least over all their combinations), and wants at least
// privacy.MinIDCandidates. Yesterday's publication — the mask keeping the
// first 6 and last 4 characters beside the birth date — is checked the
// same way on the set's raw ID numbers and must rebuild every one (1
// candidate), so the bound can fail.
func checkIDCandidates(t *testing.T, wh, lake string, relations []string, ids []string) {
	ctx := context.Background()
	// Yesterday's lake published the raw ID's first 6 and last 4 beside its
	// birth date; the raw IDs come from expected.json (the warehouse holds
	// tokens).
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = "(" + engine.QuoteString(id) + ")"
	}
	idValues := strings.Join(quoted, ", ")
	w, err := engine.Open(ctx, wh, engine.Options{ReadOnly: true, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sources := map[string]string{
		"yesterday's lake": `SELECT left(id, 6) || '********' || right(id, 4) AS id_number,
			CAST(strptime(substr(id, 7, 8), '%Y%m%d') AS DATE) AS birth_date, left(id, 6) AS region_code
			FROM (VALUES ` + idValues + `) v(id)`,
	}
	// Every relation an analyst may read that publishes an ID number or a
	// birth date.
	for _, rel := range relations {
		var n int
		schema, table, _ := strings.Cut(rel, ".")
		if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?
			AND (column_name = 'id_number' OR column_name LIKE 'birth%')`, schema, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			sources["analyst "+rel] = "SELECT * FROM " + rel
		}
	}
	// Every table of the lake that publishes an ID number or a birth date
	// (its Parquet files at any depth: partitions, data directories).
	tables, err := os.ReadDir(lake)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range tables {
		if !d.IsDir() {
			continue
		}
		files := engine.QuoteString(filepath.Join(lake, d.Name(), "**", "*.parquet"))
		var n int
		if err := w.DB.QueryRowContext(ctx, `SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet(`+files+`, union_by_name = true))
			WHERE column_name = 'id_number' OR column_name LIKE 'birth%'`).Scan(&n); err != nil {
			t.Fatalf("lake table %s: %v", d.Name(), err)
		}
		if n > 0 {
			sources["lake "+d.Name()] = "SELECT * FROM read_parquet(" + files + ", union_by_name = true)"
		}
	}
	if _, ok := sources["lake dim_customer"]; !ok {
		t.Fatalf("no lake table publishes an ID number: %v", tables)
	}
	if _, ok := sources["analyst analyst.dim_customer"]; !ok {
		t.Fatalf("no analyst relation publishes an ID number: %v", relations)
	}
	for name, q := range sources {
		rows, err := w.DB.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for _, c := range cols {
			l := strings.ToLower(c)
			known := l == "id_number" || l == "birth_date" || l == "birth_year" || l == "sex" || l == "region_code"
			if !known && (strings.Contains(l, "birth") || strings.Contains(l, "age") || strings.Contains(l, "id_card")) {
				t.Errorf("%s publishes %s, which the bound does not account for", name, c)
			}
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		published, rebuilt := 0, 0
		least := -1.0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var p privacy.IDPublished
			for i, c := range cols {
				switch v := vals[i].(type) {
				case string:
					switch c {
					case "id_number":
						p.Shown = v
					case "sex":
						p.Sex = v
					case "region_code":
						p.RegionCode = v
					}
				case time.Time:
					if c == "birth_date" {
						p.BirthFrom, p.BirthTo = v, v
					}
				case int32, int64:
					if c == "birth_year" {
						y := int(reflectInt(v))
						p.BirthFrom, p.BirthTo = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC)
					}
				}
			}
			if p.Shown == "" {
				if !p.BirthFrom.IsZero() && p.BirthFrom.Equal(p.BirthTo) {
					t.Errorf("%s publishes a birth date without the ID number: check it has no ID elsewhere", name)
				}
				continue // no ID number published
			}
			n, err := privacy.IDCandidates(p)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			published++
			if n <= 1 {
				rebuilt++
			}
			if least < 0 || n < least {
				least = n
			}
		}
		rows.Close()
		t.Logf("%s: %d rows publish an ID number; fewest candidates %.0f; %d rebuilt", name, published, least, rebuilt)
		if published < 100 {
			t.Fatalf("%s: only %d rows publish an ID number", name, published)
		}
		if name == "yesterday's lake" {
			if rebuilt != published {
				t.Errorf("%s: %d of %d ID numbers rebuilt, want all (the bound should see the old rebuild)", name, rebuilt, published)
			}
			continue
		}
		if least < privacy.MinIDCandidates {
			t.Errorf("%s: a row leaves %.0f ID numbers, fewer than %d", name, least, privacy.MinIDCandidates)
		}
	}
}

func reflectInt(v any) int64 {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int64:
		return x
	}
	return 0
}

// TestMineSourceVetted: a mining command's --source is read as an analyst
// would read it; a source that reads files or raw personal data is refused
// before the operator runs, so nothing reaches the knowledge base.
func TestMineSourceVetted(t *testing.T) {
	wh := sqlWarehouse(t)
	secret := filepath.Join(t.TempDir(), "s.csv")
	os.WriteFile(secret, []byte("customer_id,order_ts,amount\n1,2024-01-01,1\n"), 0o600)
	cases := []struct {
		source, stderr string
	}{
		{"SELECT CAST(key_value AS BIGINT) AS customer_id, now() AS order_ts, 1 AS amount FROM etl_identity", `"etl_identity" is not a relation`},
		{"SELECT * FROM read_csv(" + engine.QuoteString(secret) + ")", "table function read_csv"},
		{"main.dim_customer", `"main.dim_customer" is not a relation`},
		{secret, "is not a relation"},
	}
	for _, c := range cases {
		_, stderr, code := runCkm(t, "", "mine", "rfm", "--warehouse", wh, "--source", c.source)
		if code != 1 || !strings.Contains(stderr, "--source: refused in an analyst session") || !strings.Contains(stderr, c.stderr) {
			t.Errorf("--source %s: exit %d, stderr %q; want a refusal saying %q", c.source, code, stderr, c.stderr)
		}
	}
	// A permitted source passes the vetting (and finds no purchases here).
	_, stderr, code := runCkm(t, "", "mine", "rfm", "--warehouse", wh, "--source", "SELECT customer_id, order_ts, amount FROM fact_sales")
	if code == 0 || strings.Contains(stderr, "refused") || !strings.Contains(stderr, "no purchases") {
		t.Errorf("permitted source: exit %d, stderr %q; want the operator's own error", code, stderr)
	}
	out, _, _ := runCkm(t, "", append(append([]string{"sql", "--warehouse", wh, "--format", "csv"}, asAdmin(t)...), "-c", "SELECT count(*) AS n FROM kb_model")...)
	if out != "n\n0\n" {
		t.Errorf("knowledge base after refused sources: %q", out)
	}
}

// TestCubeDrillThroughProtectedMasks: on a protected warehouse the
// drill-through's name and mobile are the masks the analyst's
// dim_customer shows (vault_display), not a mask of the token's shape.
func TestCubeDrillThroughProtectedMasks(t *testing.T) {
	dir := t.TempDir()
	exports, wh := filepath.Join(dir, "exports"), filepath.Join(dir, "w.duckdb")
	if _, err := fixtures.Generate(context.Background(), fixtures.Options{Out: exports, Customers: 60, Days: 30, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", exports); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	got, stderr, code := runCkm(t, "", "cube", "query", "sales", "--warehouse", wh, "--format", "csv",
		"--through", "order_id,line_no,customer_name,mobile", "--limit", "100000")
	if code != 0 {
		t.Fatalf("drill-through exit %d: %s", code, stderr)
	}
	// The same rows from the analyst's own relations, in the test's SQL.
	want, stderr, code := runCkm(t, "", append(append([]string{"sql", "--warehouse", wh, "--format", "csv"}, asAdmin(t)...), "-c",
		`SELECT s.order_id, s.line_no, d.name AS customer_name, d.mobile FROM fact_sales s JOIN analyst.dim_customer d USING (customer_key)
		 ORDER BY s.order_id, s.line_no`)...)
	if code != 0 {
		t.Fatalf("sql exit %d: %s", code, stderr)
	}
	sortLines := func(s string) string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		slices.Sort(l[1:])
		return strings.Join(l, "\n")
	}
	if strings.Count(want, "\n") < 50 {
		t.Fatalf("too few sales lines to mean anything:\n%s", want)
	}
	if strings.Contains(got, "tmo_") || strings.Contains(got, "tna_") || sortLines(got) != sortLines(want) {
		g, w := strings.Split(sortLines(got), "\n"), strings.Split(sortLines(want), "\n")
		t.Errorf("drill-through (%d lines) differs from the analyst's dim_customer (%d lines); first lines:\n%s\nwant\n%s", len(g), len(w), strings.Join(g[:min(4, len(g))], "\n"), strings.Join(w[:min(4, len(w))], "\n"))
	}
}
