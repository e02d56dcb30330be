package export

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// protectedLoad loads a small generated export set into a new protected
// warehouse, as ckm load does.
func protectedLoad(t *testing.T) *engine.Warehouse {
	t.Helper()
	w, _, _ := protectedVault(t)
	return w
}

// protectedVault is protectedLoad with the vault and its key, for tests
// that forget customers or rotate the key.
func protectedVault(t *testing.T) (*engine.Warehouse, *vault.Vault, []byte) {
	t.Helper()
	ctx := context.Background()
	src := t.TempDir()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: src, Customers: 300, Days: 75, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	kek, err := vault.ParseKEK(vault.NewKEK())
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Init(ctx, w.DB, kek)
	if err != nil {
		t.Fatal(err)
	}
	asOf, _ := time.ParseInLocation(time.DateOnly, exp.ExportDate, time.Local)
	if _, err := etl.Load(ctx, w, []string{src}, etl.Options{AsOf: asOf.Add(24*time.Hour - time.Second), Vault: v}); err != nil {
		t.Fatal(err)
	}
	return w, v, kek
}

// tokenRE finds a vault token anywhere in a text.
var tokenRE = regexp.MustCompile(privacy.TokenPattern)

// TestParquetProtectedPersonalColumns: on a protected warehouse the
// personal columns an analyst's lake masks by column name (selectList's
// DisplaySQL path: tables without a masked view) hold each token's kept
// mask, equal to what the analyst's dim_customer shows — not a mask of the
// token's own characters — and a token without a kept mask shows stars
// only. The schema's own tables put no column through that path (their
// personal data is behind the masked views); a table an admin made from
// dim_customer (a contact list in the knowledge base) does. The contacts'
// and responses' natural keys, read through their masked views, show the
// kept mask of the mobile token they hold. No exported text holds a token.
func TestParquetProtectedPersonalColumns(t *testing.T) {
	ctx := context.Background()
	w := protectedLoad(t)
	const stray = "tmo_AAAAAAAAAAAAAAAAAAAAmCsj" // token-shaped, no kept mask
	for _, q := range []string{
		`CREATE TABLE kb_contact AS SELECT customer_id, mobile, email, id_number, name AS contact_name
			FROM main.dim_customer WHERE is_current AND customer_id > 0`,
		`INSERT INTO kb_contact VALUES (-100, '` + stray + `', NULL, NULL, NULL), (-101, '+8613800138000', 'Li.Si@Example.com', '11010519491231002X', '张三')`,
	} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	out := filepath.Join(t.TempDir(), "lake")
	m, err := Parquet(ctx, w, ParquetOptions{Out: out, Principal: privacy.Principal{User: "amy", Role: privacy.Analyst}})
	if err != nil {
		t.Fatal(err)
	}

	// Which columns took the by-name path.
	var byName []string
	for _, tm := range m.Tables {
		if slices.Contains(privacy.MaskedRelations, tm.Name) {
			continue
		}
		for _, c := range tm.Columns {
			if c.Masked != "" {
				byName = append(byName, tm.Name+"."+c.Name+":"+c.Masked)
			}
		}
	}
	want := []string{"kb_contact.mobile:mobile", "kb_contact.email:email", "kb_contact.id_number:id_number", "kb_contact.contact_name:name"}
	if !slices.Equal(byName, want) {
		t.Errorf("columns masked by name: %v, want %v", byName, want)
	}

	// Each of them: the kept mask of the token, which is what the analyst's
	// dim_customer shows of the same customer.
	display := map[string]string{}
	rows, err := w.DB.QueryContext(ctx, `SELECT token, display FROM vault_display`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tok, d string
		if err := rows.Scan(&tok, &d); err != nil {
			t.Fatal(err)
		}
		display[tok] = d
	}
	rows.Close()
	if len(display) < 300 {
		t.Fatalf("vault_display holds %d masks: was the load protected?", len(display))
	}
	for _, col := range []struct{ name, analyst string }{
		{"mobile", "mobile"}, {"email", "email"}, {"id_number", "id_number"}, {"contact_name", "name"},
	} {
		q := `SELECT k.customer_id, k.` + col.name + `, l.` + col.name + `, a.` + col.analyst + `
			FROM kb_contact k JOIN ` + readBack(out, "kb_contact") + ` l USING (customer_id)
			LEFT JOIN analyst.dim_customer a ON a.customer_id = k.customer_id AND a.is_current
			ORDER BY 1`
		rows, err := w.DB.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		tokens := 0
		for rows.Next() {
			var id int64
			var stored, lake, analyst sql.NullString
			if err := rows.Scan(&id, &stored, &lake, &analyst); err != nil {
				t.Fatal(err)
			}
			var wantLake sql.NullString
			switch {
			case !stored.Valid:
			case vault.IsToken(stored.String):
				tokens++
				d, ok := display[stored.String]
				if !ok {
					d = "****"
				}
				wantLake = sql.NullString{String: d, Valid: true}
				if id > 0 && lake != analyst {
					t.Errorf("customer %d %s: lake %q, the analyst's dim_customer %q", id, col.name, lake.String, analyst.String)
				}
			default: // a raw value: the kind's mask
				wantLake = sql.NullString{String: privacy.Mask(privacy.ColumnKind(col.name), stored.String), Valid: true}
			}
			if lake != wantLake {
				t.Errorf("customer %d %s: lake %q, want %q (stored %q)", id, col.name, lake.String, wantLake.String, stored.String)
			}
		}
		rows.Close()
		if tokens < 100 {
			t.Errorf("%s: %d tokens compared, want the customers' (at least 100)", col.name, tokens)
		}
	}
	var strayLake string
	if err := w.DB.QueryRowContext(ctx, `SELECT mobile FROM `+readBack(out, "kb_contact")+` WHERE customer_id = -100`).Scan(&strayLake); err != nil || strayLake != "****" {
		t.Errorf("a token without a kept mask exported as %q (%v), want ****", strayLake, err)
	}

	// The contacts' and responses' keys: the mobile token's kept mask.
	for _, k := range []struct{ table, col string }{{"fact_interaction", "interaction_id"}, {"fact_campaign", "response_id"}} {
		rows, err := w.DB.QueryContext(ctx, `SELECT b.`+k.col+`, l.`+k.col+` FROM main.`+k.table+` b
			JOIN `+readBack(out, k.table)+` l USING (etl_run_id, etl_file_id, source_line)`)
		if err != nil {
			t.Fatal(err)
		}
		n, tokens := 0, 0
		for rows.Next() {
			var base, lake sql.NullString
			if err := rows.Scan(&base, &lake); err != nil {
				t.Fatal(err)
			}
			n++
			want := base.String
			if tok := tokenRE.FindString(base.String); tok != "" {
				tokens++
				d, ok := display[tok]
				if !ok {
					d = "****"
				}
				want = strings.Replace(base.String, tok, d, 1)
			}
			if lake.String != want {
				t.Errorf("%s.%s %q: lake %q, want %q", k.table, k.col, base.String, lake.String, want)
			}
		}
		rows.Close()
		if n == 0 || tokens == 0 {
			t.Errorf("%s: %d rows, %d keys holding a token compared", k.table, n, tokens)
		}
	}

	// No text of the analyst's lake holds a token.
	for _, tm := range m.Tables {
		for _, c := range tm.Columns {
			if c.Type != "VARCHAR" || c.Partition {
				continue
			}
			var hits int
			var sample sql.NullString
			q := `SELECT count(*), any_value(` + engine.QuoteIdent(c.Name) + `) FROM ` + readBack(out, tm.Name) +
				` WHERE regexp_matches(` + engine.QuoteIdent(c.Name) + `, '` + privacy.TokenPattern + `')`
			if err := w.DB.QueryRowContext(ctx, q).Scan(&hits, &sample); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if hits > 0 {
				t.Errorf("%s.%s: %d values hold a token, e.g. %q", tm.Name, c.Name, hits, sample.String)
			}
		}
	}
}
