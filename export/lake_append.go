package export

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ckm-dev/ckm/engine"
)

// Appended partitions. A day's load adds rows to the month it falls in;
// rewriting that month whole costs a COPY of every row of it (fact_sales
// of the 5 M bench: ~139,000 rows for 5,000 new ones). An incremental
// export instead keeps a changed partition's files and adds one file of
// the new rows when it can prove the partition's rows now are its rows as
// exported plus those:
//
//	before[k] + appended[k] = now[k]
//
// in both the row count and the sum of whole-row hashes (the
// fingerprints are exact sums, and the lake's snapshot records before[k]
// as what its files hold). The candidate new rows are the base table's
// rows from the end its kept state (lakeBase) recorded — the rows
// appended since, as DuckDB gives appended rows the next rowids — but the
// candidates are only a guess: the equation is what proves them. If rows
// of the partition were also updated or deleted, or rowids moved (a
// checkpoint that vacuums deletes), it fails and the partition is
// rewritten whole. The same holds for a filter view of the base table
// (fact_sales_current): its partition gained exactly those rows or it is
// rewritten.
//
// A partition holding lakeAppendFiles files already is rewritten whole, so
// daily appends do not split a month into ever more small files.
const lakeAppendFiles = 8

// lakeAppend returns, for the partitions live (about to be written) of a
// partitioned table t whose lake files are its own rows (rowFP) — a base
// table, or a filter view of its base table base — the partitions that
// only gained the base table's appended rows, each with the fingerprint
// of those rows, and the query of the table's columns over them.
func (s *lakeSources) lakeAppend(ctx context.Context, t lakeTable, base string, before, now map[string]string, curFiles []iceberg.DataFile, tbl *table.Table, live, exprs []string) (map[string]string, string, error) {
	name := strings.ToLower(t.name)
	if s.tables[name] && t.source == "main."+engine.QuoteIdent(t.name) {
		base = name
	}
	if base == "" || s.base == nil {
		return nil, "", nil
	}
	from, ok := s.base.keptEnd(base)
	if !ok {
		return nil, "", nil
	}
	files := map[string]int{}
	for _, df := range curFiles {
		files[partitionKey(tbl, df)]++
	}
	var cands []string
	for _, k := range live {
		if _, ok := before[k]; ok && files[k] > 0 && files[k] < lakeAppendFiles {
			cands = append(cands, k)
		}
	}
	if len(cands) == 0 {
		return nil, "", nil
	}
	added, err := s.appendedRows(ctx, base, from)
	if err != nil {
		return nil, "", err
	}
	out := map[string]string{}
	for _, k := range cands {
		if appendedTo(before[k], added[k], now[k]) {
			out[k] = added[k]
		}
	}
	if len(out) == 0 {
		return nil, "", nil
	}
	query := "SELECT " + strings.Join(exprs, ", ") + " FROM (" + appendedSource(base, from) + ") AS " + engine.QuoteIdent(t.name)
	return out, query, nil
}

// appendedSource is the rows of a base table from rowid from on.
func appendedSource(base string, from int64) string {
	return "SELECT * FROM main." + engine.QuoteIdent(base) + " WHERE rowid >= " + strconv.FormatInt(from, 10)
}

// appendedRows is the per-partition fingerprints of a base table's rows
// from rowid from on, read once per export.
func (s *lakeSources) appendedRows(ctx context.Context, base string, from int64) (map[string]string, error) {
	key := fmt.Sprintf("%s@%d", base, from)
	if fp, ok := s.appends[key]; ok {
		return fp, nil
	}
	fp, err := rowFingerprints(ctx, s.conn, "("+appendedSource(base, from)+")", true)
	if err != nil {
		return nil, fmt.Errorf("appended rows of %s: %w", base, err)
	}
	s.appends[key] = fp
	return fp, nil
}

// appendedTo reports whether fingerprints ("rows:sum") before and added
// (at least one row) add up to now exactly.
func appendedTo(before, added, now string) bool {
	parse := func(fp string) (int64, *big.Int, bool) {
		ns, hs, ok := strings.Cut(fp, ":")
		n, err := strconv.ParseInt(ns, 10, 64)
		h, okh := new(big.Int).SetString(hs, 10)
		return n, h, ok && err == nil && okh
	}
	n0, h0, ok0 := parse(before)
	n1, h1, ok1 := parse(added)
	n2, h2, ok2 := parse(now)
	return ok0 && ok1 && ok2 && n1 > 0 && n0+n1 == n2 && new(big.Int).Add(h0, h1).Cmp(h2) == 0
}

// addFingerprints adds two fingerprints ("rows:sum"; "" is none).
func addFingerprints(a, b string) (string, error) {
	n, h := int64(0), new(big.Int)
	for _, fp := range []string{a, b} {
		if fp == "" {
			continue
		}
		ns, hs, ok := strings.Cut(fp, ":")
		v, err := strconv.ParseInt(ns, 10, 64)
		hv, okh := new(big.Int).SetString(hs, 10)
		if !ok || err != nil || !okh {
			return "", fmt.Errorf("bad fingerprint %q", fp)
		}
		n += v
		h.Add(h, hv)
	}
	return strconv.FormatInt(n, 10) + ":" + h.String(), nil
}

// keptEnd is the rowid after the last row a table's kept state (as the
// last export left it) covered.
func (b *lakeBase) keptEnd(name string) (int64, bool) {
	if b == nil {
		return 0, false
	}
	st := b.before[name]
	if st == nil || len(st.Groups) == 0 {
		return 0, false
	}
	g := st.Groups[len(st.Groups)-1]
	return g.Start + g.Rows, true
}
