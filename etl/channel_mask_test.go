package etl

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
)

// TestChannelSetMatchesList: a group's channels as a mask of bits turned
// into a list (channelSet) are the list DuckDB's ordered, filtered list()
// gives, NULL channel included, and the distinct, sorted, NULL-free list
// of the customers' channels — over 20,000 rows in 3,000 groups of five
// channels, one with a quote in its name and one NULL, more than a vector
// of DuckDB's. Checked against list() in the same DuckDB, row for row.
func TestChannelSetMatchesList(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.ExecContext(ctx, `CREATE TABLE r AS SELECT i % 3000 AS g,
		['web', 'pos', 'it''s', NULL, 'app'][(hash(i) % 5)::INT + 1] AS channel, hash(i * 7) % 3 <> 0 AS keep
		FROM range(20000) t(i)`); err != nil {
		t.Fatal(err)
	}
	var names []sql.NullString
	rows, err := w.DB.QueryContext(ctx, `SELECT channel FROM (SELECT DISTINCT channel FROM r) ORDER BY channel`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n sql.NullString
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) != 5 || names[4].Valid {
		t.Fatalf("channels %v: want five, NULL last", names)
	}
	cs := &channelSet{names: names}
	var groups, diff, lists, listDiff int64
	// As identity_link's lists were made: per group and channel first.
	q := fmt.Sprintf(`WITH l AS (
			SELECT g, coalesce(list(channel ORDER BY channel) FILTER (WHERE keep), []) AS want,
				CASE WHEN count(channel) > 0 THEN array_to_string(list_sort(list_distinct(list(channel))), ',') END AS want_s
			FROM (SELECT g, channel, bool_or(keep) AS keep FROM r GROUP BY g, channel) GROUP BY g),
		m AS (
			SELECT g, %s AS got, CASE WHEN bit_or(%s) <> 0 THEN array_to_string(%s, ',') END AS got_s
			FROM r GROUP BY g)
		SELECT count(*), count(*) FILTER (WHERE want IS DISTINCT FROM got), count(DISTINCT want_s),
			count(*) FILTER (WHERE want_s IS DISTINCT FROM got_s) FROM l FULL JOIN m USING (g)`,
		cs.list("bit_or(CASE WHEN keep THEN "+cs.bit("channel", false)+" END)"),
		cs.bit("channel", true), cs.list("bit_or("+cs.bit("channel", true)+")"))
	if err := w.DB.QueryRowContext(ctx, q).Scan(&groups, &diff, &lists, &listDiff); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	if groups != 3000 || diff != 0 || listDiff != 0 || lists < 10 {
		t.Errorf("%d groups: %d masks unlike list(), %d customers' lists unlike list_distinct (%d distinct lists)", groups, diff, listDiff, lists)
	}
	empty := &channelSet{}
	if got := empty.bit("c", false) + " " + empty.list("m"); got != "CAST(0 AS BIGINT) CAST([] AS VARCHAR[])" {
		t.Errorf("no channel: %s", got)
	}
}

// TestChannelMasksSameAsLists: collecting the channels of identity's
// groups as masks (channel_mask.go) changes nothing a user sees. A world
// of 1,200 persons with the hard cases (till, web and CRM channels, shared
// and recycled mobiles, ID typos) is loaded in two loads, the second
// meeting the first's customers, and a third warehouse takes the till and
// web exports alone (no ID number: the strongless path of identity_link);
// identity_link (channels included) and dim_customer's channels are the
// same row for row with masks and with list().
func TestChannelMasksSameAsLists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: 1200, Days: 365, Seed: 5, HardCases: true})
	if err != nil {
		t.Fatal(err)
	}
	asOf, err := time.Parse(time.DateOnly, exp.ExportDate)
	if err != nil {
		t.Fatal(err)
	}
	first, second := twoLoads(t, dir)
	var salesOnly []string
	for _, p := range append(append([]string{}, first...), second...) {
		if b := filepath.Base(p); b == "web_orders.ndjson" || filepath.Ext(b) == ".csv" && b >= "pos_sales_" && b < "pos_sales_3" || b == "products.csv" {
			salesOnly = append(salesOnly, p)
		}
	}
	queries := []string{
		`SELECT run_id, customer_id, key_type, key_value, rule, coalesce(detail, ''), records, first_seen, last_seen, channels FROM identity_link`,
		`SELECT customer_id, valid_from, source_systems FROM dim_customer`,
	}
	run := func(masks bool, loads [][]string) (tables map[string][]string, channels [][]sql.NullString, idns int64) {
		defer func(old bool) { channelMasks = old }(channelMasks)
		channelMasks = masks
		w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for i, paths := range loads {
			_, err := Load(ctx, w, paths, Options{AsOf: asOf.Add(24*time.Hour - time.Second), AfterIdentity: func(ctx context.Context, tx *sql.Tx) error {
				var n int64
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM id_src WHERE idn IS NOT NULL`).Scan(&n); err != nil {
					return err
				}
				idns += n
				rows, err := tx.QueryContext(ctx, `SELECT DISTINCT channel FROM id_src ORDER BY channel`)
				if err != nil {
					return err
				}
				defer rows.Close()
				var cs []sql.NullString
				for rows.Next() {
					var n sql.NullString
					if err := rows.Scan(&n); err != nil {
						return err
					}
					cs = append(cs, n)
				}
				channels = append(channels, cs)
				return rows.Err()
			}})
			if err != nil {
				t.Fatalf("load %d: %v", i+1, err)
			}
		}
		tables = map[string][]string{}
		for _, q := range queries {
			out := queryLines(t, w, `SELECT CAST(x AS VARCHAR) FROM (`+q+`) x`)
			slices.Sort(out)
			tables[q] = out
		}
		return tables, channels, idns
	}
	for _, c := range []struct {
		name  string
		loads [][]string
	}{{"two loads", [][]string{first, second}}, {"till and web alone", [][]string{salesOnly}}} {
		mTables, chans, idns := run(true, c.loads)
		lTables, _, _ := run(false, c.loads)
		if strongless := c.name != "two loads"; strongless != (idns == 0) {
			t.Errorf("%s: %d records with an ID number", c.name, idns)
		}
		for i, cs := range chans {
			if len(cs) < 2 {
				t.Errorf("%s, load %d: channels %v; want several", c.name, i+1, cs)
			}
		}
		for _, q := range queries {
			if len(mTables[q]) == 0 || !slices.Equal(mTables[q], lTables[q]) {
				t.Errorf("%s: %s: %d rows with masks, %d with lists, or the rows differ", c.name, q, len(mTables[q]), len(lTables[q]))
				for _, r := range mTables[q] {
					if !slices.Contains(lTables[q], r) {
						t.Logf("masks only: %s", r)
						break
					}
				}
			}
		}
	}
}
