package etl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// TestProtectedLoadMatchesFixtureTruth loads both fixture seeds into a
// protected warehouse: the generator's truth holds exactly as in
// TestLoadMatchesFixtureTruth (the same checkTruth, unchanged), the
// customers are the same partition of records as an unprotected load of
// the same files, and the identity map, its links and the reject ledger
// hold none of the raw ID numbers, mobiles and e-mails the unprotected
// load stored — only tokens, masks and sealed texts that open to exactly
// what the unprotected load wrote.
func TestProtectedLoadMatchesFixtureTruth(t *testing.T) {
	for _, seed := range []int64{1, 7} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ctx := context.Background()
			opts := fixtures.Options{Customers: 600, Days: 365, Seed: seed, Out: t.TempDir()}
			exp, err := fixtures.Generate(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			asOf, _ := time.Parse("2006-01-02", exp.ExportDate)
			asOf = asOf.Add(24*time.Hour - time.Second)

			plainPath := filepath.Join(t.TempDir(), "plain.duckdb")
			plain, err := engine.Open(ctx, plainPath, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer plain.Close()
			if _, err := etl.Load(ctx, plain, []string{opts.Out}, etl.Options{AsOf: asOf}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "w.duckdb")
			w, v := etl.ProtectedWarehouse(t, path)
			if _, err := etl.Load(ctx, w, []string{opts.Out}, etl.Options{AsOf: asOf}); !errors.Is(err, vault.ErrNoKey) {
				t.Fatalf("load into a protected warehouse without the key: %v, want ErrNoKey", err)
			}
			rep, err := etl.Load(ctx, w, []string{opts.Out}, etl.Options{AsOf: asOf, Vault: v})
			if err != nil {
				t.Fatal(err)
			}
			checkTruth(t, w, exp, rep)
			checkSamePartition(t, plain, w)
			checkNoRawKeys(t, plain, w, v)
			checkSealedLedger(t, plain, w, v)
			w.Close()
			raw := rawKeys(t, plain)
			plain.Close()
			// The scan finds raw values where they are: in the unprotected
			// warehouse's file (DuckDB's compression does not hide them).
			if n := rawInFile(t, raw, plainPath); n < len(raw)/2 {
				t.Fatalf("the scan finds only %d of %d raw values in the unprotected file", n, len(raw))
			}
			if n := rawInFile(t, raw, path); n > 0 {
				t.Errorf("%d raw values of %d found in the protected warehouse file", n, len(raw))
			}
		})
	}
}

// checkSamePartition compares which fact rows share a customer: the same
// customer ids, since both loads number components alike.
func checkSamePartition(t *testing.T, plain, protected *engine.Warehouse) {
	t.Helper()
	q := `SELECT string_agg(order_id || '/' || line_no || '=' || customer_id, ',' ORDER BY order_id, line_no) FROM fact_sales`
	var a, b string
	if err := plain.DB.QueryRow(q).Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := protected.DB.QueryRow(q).Scan(&b); err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("the protected load put sales lines with other customers than the unprotected one")
	}
	q = `SELECT string_agg(l, ',' ORDER BY l) FROM (
		SELECT customer_id || ':' || key_type || ':' || coalesce(key_display, '') || ':' || rule || ':' || records AS l FROM identity_link)`
	if err := plain.DB.QueryRow(q).Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := protected.DB.QueryRow(q).Scan(&b); err != nil {
		t.Fatal(err)
	}
	if a != b || a == "" {
		t.Error("identity links differ between the protected and the unprotected load (customer, key type, mask, rule, records)")
	}
	// What an analyst reads of the customers is the same: the masks come
	// from vault_display where dim_customer holds tokens.
	q = `SELECT string_agg(l, ',' ORDER BY l) FROM (SELECT concat_ws('|', customer_key, customer_id, id_number, name, sex, birth_year,
		mobile, email, region_code, customer_type, member_level, valid_from, valid_to, is_current) AS l FROM analyst.dim_customer)`
	if err := plain.DB.QueryRow(q).Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := protected.DB.QueryRow(q).Scan(&b); err != nil {
		t.Fatal(err)
	}
	if a != b || a == "" {
		t.Error("the analyst's dim_customer differs between the protected and the unprotected load")
	}
}

// rawKeys are the raw personal keys the unprotected load stored.
func rawKeys(t *testing.T, plain *engine.Warehouse) map[string]string {
	return rawValuesOf(t, plain, `SELECT DISTINCT key_value, key_type FROM identity_link WHERE key_type IN ('id_number', 'mobile', 'email')`)
}

// rawSealable are the raw keys and the customers' names the unprotected
// load stored: what a protected load seals.
func rawSealable(t *testing.T, plain *engine.Warehouse) map[string]string {
	return rawValuesOf(t, plain, `SELECT DISTINCT key_value, key_type FROM identity_link WHERE key_type IN ('id_number', 'mobile', 'email')
		UNION SELECT DISTINCT name, 'name' FROM dim_customer WHERE customer_id > 0 AND name IS NOT NULL`)
}

func rawValuesOf(t *testing.T, plain *engine.Warehouse, q string) map[string]string {
	t.Helper()
	rows, err := plain.DB.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	keys := map[string]string{}
	for rows.Next() {
		var k, typ string
		if err := rows.Scan(&k, &typ); err != nil {
			t.Fatal(err)
		}
		keys[k] = typ
	}
	if len(keys) < 600 {
		t.Fatalf("only %d raw keys in the unprotected load", len(keys))
	}
	return keys
}

func checkNoRawKeys(t *testing.T, plain, w *engine.Warehouse, v *vault.Vault) {
	t.Helper()
	raw := rawKeys(t, plain)
	for table, display := range map[string]string{"etl_identity": "(SELECT display FROM vault_display WHERE token = key_value)", "identity_link": "key_display"} {
		rows, err := w.DB.Query(`SELECT key_type, key_value, coalesce(` + display + `, '') FROM ` + table + ` WHERE key_type IN ('id_number', 'mobile', 'email')`)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var typ, key, disp string
			if err := rows.Scan(&typ, &key, &disp); err != nil {
				t.Fatal(err)
			}
			n++
			if !vault.IsToken(key) {
				t.Errorf("%s holds %s %q, not a token", table, typ, key)
			}
			if _, ok := raw[disp]; ok || disp == "" {
				t.Errorf("%s's display value %q is a raw key or missing", table, disp)
			}
		}
		rows.Close()
		if n == 0 {
			t.Errorf("%s holds no personal keys", table)
		}
	}
	// dim_customer holds tokens where the unprotected load holds raw values
	// (names: of customers; the special members' names are not personal).
	var plainN, tokenN int64
	if err := plain.DB.QueryRow(`SELECT count(id_number) + count(mobile) + count(email) + count(name) FILTER (WHERE customer_id > 0) FROM dim_customer`).Scan(&plainN); err != nil {
		t.Fatal(err)
	}
	if err := w.DB.QueryRow(`SELECT count(*) FROM (SELECT id_number AS x FROM dim_customer UNION ALL SELECT mobile FROM dim_customer
		UNION ALL SELECT email FROM dim_customer UNION ALL SELECT name FROM dim_customer WHERE customer_id > 0)
		WHERE x IS NOT NULL AND x SIMILAR TO 't(id|mo|em|na)_[A-Za-z0-9_-]{24}'`).Scan(&tokenN); err != nil {
		t.Fatal(err)
	}
	if tokenN != plainN || plainN == 0 {
		t.Errorf("dim_customer holds %d tokens for the %d ID numbers, mobiles, e-mails and names of the unprotected load", tokenN, plainN)
	}
	// Every raw key and name is sealed, under each customer holding it, and
	// opens to itself; nothing else is sealed.
	raw = rawSealable(t, plain)
	rows, err := w.DB.Query(`SELECT v.token, v.customer_id, v.kind, k.wrapped_key, v.sealed FROM vault_value v JOIN vault_customer_key k USING (customer_id)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	opened := map[string]bool{}
	for rows.Next() {
		var tok, kind string
		var id int64
		var wrapped, sealed []byte
		if err := rows.Scan(&tok, &id, &kind, &wrapped, &sealed); err != nil {
			t.Fatal(err)
		}
		p, err := v.Unseal(id, wrapped, tok, sealed)
		if err != nil {
			t.Fatal(err)
		}
		if raw[p] != kind {
			t.Errorf("sealed %s %q is not a raw key of that kind of the unprotected load", kind, p)
		}
		opened[p] = true
	}
	if len(opened) != len(raw) {
		t.Errorf("%d distinct raw keys sealed, the unprotected load stored %d", len(opened), len(raw))
	}
}

// checkSealedLedger: every raw value and record of the protected ledger is
// sealed and opens to what the unprotected ledger holds for that entry.
func checkSealedLedger(t *testing.T, plain, w *engine.Warehouse, v *vault.Vault) {
	t.Helper()
	q := `SELECT regexp_extract(path, '[^/]*$') || ':' || line || ':' || rule, coalesce(raw_value, ''), coalesce(raw_record, '') FROM etl_reject`
	read := func(db *engine.Warehouse, open bool) []string {
		rows, err := db.DB.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var key, val, rec string
			if err := rows.Scan(&key, &val, &rec); err != nil {
				t.Fatal(err)
			}
			if open {
				for _, s := range []*string{&val, &rec} {
					if *s == "" {
						continue
					}
					if !vault.IsSealedText(*s) {
						t.Fatalf("ledger entry %s holds %q in the clear", key, *s)
					}
					p, err := v.OpenText(*s)
					if err != nil {
						t.Fatal(err)
					}
					*s = p
				}
			}
			out = append(out, key+"|"+val+"|"+rec)
		}
		sort.Strings(out)
		return out
	}
	a, b := read(plain, false), read(w, true)
	if strings.Join(a, "\n") != strings.Join(b, "\n") || len(a) == 0 {
		t.Errorf("the protected ledger opens to %d entries unlike the %d of the unprotected one", len(b), len(a))
	}
}

// TestKeyOnUnprotectedWarehouse: a key given for a warehouse without a data
// key is refused (it would be silently unused).
func TestKeyOnUnprotectedWarehouse(t *testing.T) {
	ctx := context.Background()
	_, v := etl.ProtectedWarehouse(t, "")
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	dir := t.TempDir()
	if _, err := fixtures.Generate(ctx, fixtures.Options{Customers: 20, Days: 30, Seed: 1, Out: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := etl.Load(ctx, w, []string{dir}, etl.Options{Vault: v}); !errors.Is(err, vault.ErrNotProtected) {
		t.Fatalf("load with a key into an unprotected warehouse: %v, want ErrNotProtected", err)
	}
}

// rawInFile scans the closed warehouse file and its WAL for the raw keys,
// each in its normalised form and, for mobiles, without +86, and says how
// many it found.
func rawInFile(t *testing.T, raw map[string]string, path string) int {
	t.Helper()
	var data []byte
	for _, f := range []string{path, path + ".wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	if len(data) == 0 {
		t.Fatal("no warehouse file to scan")
	}
	text := string(data)
	found := 0
	for k := range raw {
		forms := []string{k}
		if national, ok := strings.CutPrefix(k, "+86"); ok {
			forms = append(forms, national)
		}
		for _, f := range forms {
			if strings.Contains(text, f) {
				found++
				break
			}
		}
	}
	return found
}

// TestProtectedIncrementOpensPriorIDs loads an export set in two parts
// (every file but the last month of till sales, then that month), once in
// the clear and once protected. In the second part the prior customers'
// ID numbers come out of the vault (openTokens) — here more of them than
// one batch of its writes, so the batching is crossed — and the
// protected warehouse must group every sales line exactly as the clear one,
// whose ID numbers are stored raw and need no opening.
func TestProtectedIncrementOpensPriorIDs(t *testing.T) {
	ctx := context.Background()
	opts := fixtures.Options{Customers: 3000, Days: 60, Seed: 3, Out: t.TempDir()}
	exp, err := fixtures.Generate(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	asOf, _ := time.Parse("2006-01-02", exp.ExportDate)
	tills, err := filepath.Glob(filepath.Join(opts.Out, "pos_sales_*.csv"))
	if err != nil || len(tills) < 2 {
		t.Fatalf("till files: %v %v", tills, err)
	}
	sort.Strings(tills)
	inc := t.TempDir()
	last := tills[len(tills)-1]
	if err := os.Rename(last, filepath.Join(inc, filepath.Base(last))); err != nil {
		t.Fatal(err)
	}
	plain, err := engine.Open(ctx, filepath.Join(t.TempDir(), "plain.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	w, v := etl.ProtectedWarehouse(t, filepath.Join(t.TempDir(), "w.duckdb"))
	var trace bytes.Buffer
	for i, dir := range []string{opts.Out, inc} {
		if _, err := etl.Load(ctx, plain, []string{dir}, etl.Options{AsOf: asOf}); err != nil {
			t.Fatalf("clear load %d: %v", i+1, err)
		}
		trace.Reset()
		if _, err := etl.Load(ctx, w, []string{dir}, etl.Options{AsOf: asOf, Vault: v, Trace: &trace}); err != nil {
			t.Fatalf("protected load %d: %v", i+1, err)
		}
	}
	m := regexp.MustCompile(`read and unseal earlier ID numbers \((\d+)\)`).FindStringSubmatch(trace.String())
	if m == nil {
		t.Fatalf("the increment's trace has no opening of earlier ID numbers:\n%s", trace.String())
	}
	if n, _ := strconv.Atoi(m[1]); n <= 1000 {
		t.Fatalf("the increment opened %d earlier ID numbers; the test wants more than one batch (1,000)", n)
	}
	checkSamePartition(t, plain, w)
	q := `SELECT count(*), count(DISTINCT customer_id) FROM dim_customer`
	var a1, a2, b1, b2 int
	if err := plain.DB.QueryRow(q).Scan(&a1, &a2); err != nil {
		t.Fatal(err)
	}
	if err := w.DB.QueryRow(q).Scan(&b1, &b2); err != nil {
		t.Fatal(err)
	}
	if a1 != b1 || a2 != b2 {
		t.Errorf("dim_customer: clear %d versions of %d customers, protected %d of %d", a1, a2, b1, b2)
	}
}
