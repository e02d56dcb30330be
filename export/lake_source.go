package export

import (
	"context"
	"crypto/sha256"
	dbsql "database/sql"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// Snapshot summary properties of the cheap change check.
const (
	SummarySource      = "ckm.source"      // hash of the definitions and base tables a table is read from
	SummaryDefinitions = "ckm.definitions" // hash of the view and macro definitions alone
	lakeFPRow          = "ckm_fp_row"      // the alias whose struct is a whole row
)

// lakeSources answers, once per export, what each exported table is read
// from: the base tables (schema main) its view and macro definitions name,
// transitively, and a whole-table hash of each base table. When a table's
// source hash equals the one its current snapshot recorded, nothing it is
// computed from changed, and the export neither reads nor fingerprints it
// (a masked view's macros are never evaluated for an unchanged table).
type lakeSources struct {
	conn   *dbsql.Conn
	tables map[string]bool              // base tables of schema main
	dateKy map[string]bool              // base tables with a date_key column
	defs   map[string]string            // "schema.view" or macro name -> definition
	hashes map[string]string            // base table -> whole-table hash
	parts  map[string]map[string]string // base table -> partition -> rows:hash
	base   *lakeBase                    // the fact tables' kept hashes (nil: hash whole)
	cols   map[string]map[string]bool   // base table -> its columns
	deps   map[string][]string          // exported table -> the base tables its signature read
	// Look-up views (lakeLookup): the look-up table's rows split at an
	// end, and its state now.
	splits      map[int64]lookupSplit
	lookupState *lookupState
	// lookupEnd: where the look-up table's rows ended for the masked
	// views' current snapshots (SummaryLookup; 0: unknown), so tableHash
	// hashes it split there and splitLookup reads no second time.
	lookupEnd int64
	// appends: "base@rowid" -> fingerprints of the rows appended (lakeAppend).
	appends map[string]map[string]string
}

// volatile are functions whose result is not a function of the tables: a
// view or macro naming one is fingerprinted on every export.
var volatile = map[string]bool{
	"now": true, "current_date": true, "current_time": true, "current_timestamp": true, "today": true,
	"get_current_time": true, "get_current_timestamp": true, "localtime": true, "localtimestamp": true,
	"transaction_timestamp": true, "random": true, "uuid": true, "gen_random_uuid": true, "setseed": true,
	"current_setting": true, "getvariable": true, "getenv": true, "nextval": true, "currval": true,
	"read_parquet": true, "read_csv": true, "read_csv_auto": true, "read_json": true, "read_json_auto": true,
	"read_text": true, "read_blob": true, "parquet_scan": true, "glob": true, "query": true, "query_table": true,
}

var identRe = regexp.MustCompile(`"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*`)

func newLakeSources(ctx context.Context, conn *dbsql.Conn, base *lakeBase) (*lakeSources, error) {
	s := computedSources(conn, base)
	s.tables, s.dateKy, s.defs, s.cols = map[string]bool{}, map[string]bool{}, map[string]string{}, map[string]map[string]bool{}
	q := func(sql string, f func(a, b string)) error {
		rows, err := conn.QueryContext(ctx, sql)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a, b dbsql.NullString
			if err := rows.Scan(&a, &b); err != nil {
				return err
			}
			f(a.String, b.String)
		}
		return rows.Err()
	}
	if err := q(`SELECT table_name, '' FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'`,
		func(a, _ string) { s.tables[strings.ToLower(a)] = true }); err != nil {
		return nil, err
	}
	if err := q(`SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main'`,
		func(a, b string) {
			a, b = strings.ToLower(a), strings.ToLower(b)
			if b == "date_key" {
				s.dateKy[a] = true
			}
			if s.cols[a] == nil {
				s.cols[a] = map[string]bool{}
			}
			s.cols[a][b] = true
		}); err != nil {
		return nil, err
	}
	if err := q(`SELECT schema_name || '.' || view_name, sql FROM duckdb_views() WHERE database_name = current_database() AND NOT internal`,
		func(a, b string) { s.defs[strings.ToLower(a)] = b }); err != nil {
		return nil, err
	}
	// Macros with overloads: every definition, in a stable order.
	if err := q(`SELECT function_name, string_agg(coalesce(CAST(parameters AS VARCHAR), '') || '=' || coalesce(macro_definition, ''), ';' ORDER BY CAST(parameters AS VARCHAR), macro_definition)
		FROM duckdb_functions() WHERE database_name = current_database() AND NOT internal AND function_type IN ('macro', 'table_macro') GROUP BY function_name`,
		func(a, b string) { s.defs[strings.ToLower(a)] = b }); err != nil {
		return nil, err
	}
	return s, nil
}

// sibling is a lakeSources for another connection reading the same
// snapshot (lake_side.go): the catalog it read (tables, columns,
// definitions; never written after newLakeSources) is shared, the hashes
// and everything else it computes are its own, and base is its own.
func (s *lakeSources) sibling(conn *dbsql.Conn, base *lakeBase) *lakeSources {
	n := computedSources(conn, base)
	n.tables, n.dateKy, n.defs, n.cols, n.lookupEnd = s.tables, s.dateKy, s.defs, s.cols, s.lookupEnd
	return n
}

// computedSources is a lakeSources on conn with nothing computed yet (its
// caches empty) and no catalog read.
func computedSources(conn *dbsql.Conn, base *lakeBase) *lakeSources {
	return &lakeSources{conn: conn, base: base, hashes: map[string]string{}, parts: map[string]map[string]string{},
		deps: map[string][]string{}, splits: map[int64]lookupSplit{}, appends: map[string]map[string]string{}}
}

// signature returns the table's source hash and its definitions' hash; ""
// when it cannot be known (a volatile function, or no definition found).
func (s *lakeSources) signature(ctx context.Context, t lakeTable, raw bool) (string, string, error) {
	name := strings.ToLower(t.name)
	deps, defs, ok := s.reads(t)
	if !ok {
		return "", "", nil
	}
	// The export's own select list (masking macros by column name) is
	// part of the definitions.
	cols, _, _ := selectList(t, raw)
	dh := sha256.New()
	fmt.Fprintf(dh, "raw=%v\x00cols=%s\x00", raw, cols)
	// A column masked by its name looks its token's mask up in
	// vault_display: that table is a source too.
	reads := s.listReads(t, raw)
	for _, tok := range identRe.FindAllString(cols, -1) {
		if def, ok := s.defs[strings.ToLower(tok)]; ok {
			defs[strings.ToLower(tok)] = def
		}
		if reads && s.tables[strings.ToLower(tok)] {
			deps[strings.ToLower(tok)] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(defs)) {
		fmt.Fprintf(dh, "%s=%s\x00", k, defs[k])
	}
	d := hex.EncodeToString(dh.Sum(nil))
	h := sha256.New()
	h.Write([]byte(d))
	s.deps[name] = slices.Sorted(maps.Keys(deps))
	for _, dep := range s.deps[name] {
		th, err := s.tableHash(ctx, dep)
		if err != nil {
			return "", "", err
		}
		fmt.Fprintf(h, "%s=%s\x00", dep, th)
	}
	return hex.EncodeToString(h.Sum(nil)), d, nil
}

// reads walks a table's view and macro definitions: the base tables of
// schema main they name, transitively (the table itself when it is one),
// and the definitions read; ok is false when that cannot be known (a
// volatile function, or no definition found).
func (s *lakeSources) reads(t lakeTable) (deps map[string]bool, defs map[string]string, ok bool) {
	name := strings.ToLower(t.name)
	var root string
	switch {
	case t.masked:
		root = privacy.AnalystSchema + "." + name
	case s.tables[name]:
	default:
		root = "main." + name
	}
	deps = map[string]bool{}
	defs = map[string]string{}
	if root == "" {
		deps[name] = true
		return deps, defs, true
	}
	var walk func(key string) bool
	walk = func(key string) bool {
		if _, seen := defs[key]; seen {
			return true
		}
		def, ok := s.defs[key]
		if !ok {
			return false
		}
		defs[key] = def
		for _, tok := range identRe.FindAllString(def, -1) {
			if strings.HasPrefix(tok, `"`) {
				tok = strings.ReplaceAll(tok[1:len(tok)-1], `""`, `"`)
			}
			tok = strings.ToLower(tok)
			if volatile[tok] {
				return false
			}
			if s.tables[tok] {
				deps[tok] = true
			}
			for _, k := range []string{"main." + tok, privacy.AnalystSchema + "." + tok, tok} {
				if _, ok := s.defs[k]; ok && !walk(k) {
					return false
				}
			}
		}
		return true
	}
	if !walk(root) {
		return nil, nil, false
	}
	return deps, defs, true
}

// listReads reports whether the export's own select list of a table that
// is not masked reads another table (the mask of a token, for a column
// masked by its name): its rows alone do not give what the lake holds.
func (s *lakeSources) listReads(t lakeTable, raw bool) bool {
	if t.masked {
		return false
	}
	cols, _, _ := selectList(t, raw)
	for _, tok := range identRe.FindAllString(stringLitRe.ReplaceAllString(cols, "''"), -1) {
		if l := strings.ToLower(tok); s.tables[l] && l != strings.ToLower(t.name) {
			return true
		}
	}
	return false
}

// tableHash is a base table's row count and the sum of its rows' hashes;
// for a table with date_key, per year-month partition (kept for
// rawFingerprints).
func (s *lakeSources) tableHash(ctx context.Context, name string) (string, error) {
	if h, ok := s.hashes[name]; ok {
		return h, nil
	}
	if name == lakeLookupTable && s.lookupEnd > 0 && !s.dateKy[name] {
		// The look-up table: hashed once, split where the masked views'
		// snapshots say its rows ended (lookupFingerprints reads the split).
		_, h, err := s.hashLookup(ctx, s.lookupEnd)
		if err != nil {
			return "", err
		}
		s.hashes[name] = h
		return h, nil
	}
	var fp map[string]string
	var err error
	if s.base.record && trackedBase(name, s.dateKy[name]) {
		fp, err = s.base.tableParts(ctx, s.conn, name)
	} else {
		fp, err = rowFingerprints(ctx, s.conn, "main."+engine.QuoteIdent(name), s.dateKy[name])
	}
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", name, err)
	}
	if s.dateKy[name] {
		s.parts[name] = fp
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(fp)) {
		b.WriteString(k + "=" + fp[k] + ";")
	}
	s.hashes[name] = b.String()
	return s.hashes[name], nil
}

// rawFingerprints are the per-partition fingerprints of a table read as
// it is (not masked), from whole-row hashes: the export's rows are a
// function of these rows, so equal fingerprints mean equal partitions. A
// base table's come from tableHash when it has been hashed already.
func (s *lakeSources) rawFingerprints(ctx context.Context, t lakeTable, part bool) (map[string]string, error) {
	name := strings.ToLower(t.name)
	if p, ok := s.parts[name]; ok && part && s.tables[name] && t.source == "main."+engine.QuoteIdent(t.name) {
		return maps.Clone(p), nil
	}
	return rowFingerprints(ctx, s.conn, t.source, part)
}

// rowFingerprints groups a relation's rows by the year-month partition of
// date_key (when part) and gives "rows:sum of whole-row hashes" for each.
func rowFingerprints(ctx context.Context, conn *dbsql.Conn, source string, part bool) (map[string]string, error) {
	key := ""
	if part {
		key = engine.ChangeMonthKey
	}
	return partitionHashes(ctx, conn, source, lakeFPRow, key)
}

// SummarySourceParts records, for a view that filters the rows of one
// partitioned base table, that table's per-partition fingerprints.
const SummarySourceParts = "ckm.source-parts"

// LakeCheckBase: a row filter over one base table, re-fingerprinted only in
// the partitions where that table changed.
const LakeCheckBase = "base partitions"

var filterViewRe = regexp.MustCompile(`(?is)^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+\S+\s+AS\s+SELECT\s+\*\s+FROM\s+(?:main\.)?"?([A-Za-z_][A-Za-z0-9_]*)"?\s+WHERE\s+(.*?);?\s*$`)

// filterBase returns the base table a view of schema main only filters
// (SELECT * FROM base WHERE a condition without subqueries), when that
// table has date_key: each partition of the view is then a function of the
// same partition of the base table alone.
func (s *lakeSources) filterBase(t lakeTable) string {
	base, _ := s.filterView(t)
	return base
}

// filterCond is the condition of a filter view (filterBase), "" if t is
// not one.
func (s *lakeSources) filterCond(t lakeTable) string {
	_, cond := s.filterView(t)
	return cond
}

// filterView is filterBase and the view's condition.
func (s *lakeSources) filterView(t lakeTable) (string, string) {
	name := strings.ToLower(t.name)
	if t.masked || s.tables[name] {
		return "", ""
	}
	m := filterViewRe.FindStringSubmatch(s.defs["main."+name])
	if m == nil {
		return "", ""
	}
	base := strings.ToLower(m[1])
	if !s.tables[base] || !s.dateKy[base] {
		return "", ""
	}
	for _, tok := range identRe.FindAllString(m[2], -1) {
		if l := strings.ToLower(tok); l == "select" || l == "from" || l == "join" || volatile[l] {
			return "", ""
		}
		if _, ok := s.defs[strings.ToLower(tok)]; ok {
			return "", "" // a macro: it may read other tables
		}
	}
	return base, m[2]
}

// filterFingerprints updates a filter view's fingerprints: the partitions
// where its base table's fingerprints differ from baseBefore are
// fingerprinted again (only their rows are read), the others keep before.
func (s *lakeSources) filterFingerprints(ctx context.Context, t lakeTable, base string, before, baseBefore map[string]string) (map[string]string, map[string]string, error) {
	if _, err := s.tableHash(ctx, base); err != nil {
		return nil, nil, err
	}
	baseNow := s.parts[base]
	var keys []string
	for k, v := range baseNow {
		if baseBefore[k] != v {
			keys = append(keys, k)
		}
	}
	for k := range baseBefore {
		if _, ok := baseNow[k]; !ok {
			keys = append(keys, k)
		}
	}
	now := maps.Clone(before)
	for _, k := range keys {
		delete(now, k)
	}
	// A partition whose base rows only gained the rows appended since the
	// last export (lakeAppend's equation, on the base table's fingerprints
	// as this view's snapshot recorded them) holds its rows as exported
	// plus those appended rows the filter keeps: each row is kept or not
	// by itself (filterBase), so only the appended rows are read.
	if cond := s.filterCond(t); cond != "" && len(keys) > 0 {
		if from, ok := s.base.keptEnd(base); ok {
			added, err := s.appendedRows(ctx, base, from)
			if err != nil {
				return nil, nil, err
			}
			var rest, grown []string
			for _, k := range keys {
				if _, ok := before[k]; ok && appendedTo(baseBefore[k], added[k], baseNow[k]) {
					grown = append(grown, k)
				} else {
					rest = append(rest, k)
				}
			}
			if len(grown) > 0 {
				fp, err := rowFingerprints(ctx, s.conn, "("+appendedSource(base, from)+" AND ("+cond+") AND "+dateKeyRanges(grown)+")", true)
				if err != nil {
					return nil, nil, err
				}
				for _, k := range grown {
					sum, err := addFingerprints(before[k], fp[k])
					if err != nil {
						return nil, nil, err
					}
					now[k] = sum
				}
			}
			keys = rest
		}
	}
	if len(keys) > 0 {
		fp, err := rowFingerprints(ctx, s.conn, "(SELECT * FROM "+t.source+" WHERE "+dateKeyRanges(keys)+")", true)
		if err != nil {
			return nil, nil, err
		}
		for _, k := range keys {
			if v, ok := fp[k]; ok {
				now[k] = v
			}
		}
	}
	return now, baseNow, nil
}

// LakeCheckCounts: a full export's filter view, fingerprinted from its
// base table's fingerprints where it keeps every row of a partition
// (counted) and from its own rows elsewhere.
const LakeCheckCounts = "base partitions counted"

// filterCounts fingerprints a filter view (filterBase) for a full export
// from its base table's per-partition fingerprints baseFP: the view's
// rows in a partition are some of the base table's rows in it (the same
// rows, as SELECT * keeps them, with the same date_key), so where the
// view has as many rows as the base table it has exactly its rows, and
// their fingerprint. Only the row counts are read for those partitions
// (the filter's and date_key's columns); the others are fingerprinted
// from the view's rows.
func (s *lakeSources) filterCounts(ctx context.Context, t lakeTable, baseFP map[string]string) (map[string]string, error) {
	rows, err := s.conn.QueryContext(ctx, "SELECT "+engine.ChangeMonthKey+", count(*) FROM "+t.source+" GROUP BY 1")
	if err != nil {
		return nil, fmt.Errorf("counting %s: %w", t.name, err)
	}
	defer rows.Close()
	now := map[string]string{}
	var redo []string
	for rows.Next() {
		var p, n int64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		k := monthKey(p)
		if bn, _, ok := strings.Cut(baseFP[k], ":"); ok && bn == strconv.FormatInt(n, 10) {
			now[k] = baseFP[k]
		} else {
			redo = append(redo, k)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(redo) > 0 {
		slices.Sort(redo)
		fp, err := rowFingerprints(ctx, s.conn, "(SELECT * FROM "+t.source+" WHERE "+dateKeyRanges(redo)+")", true)
		if err != nil {
			return nil, err
		}
		for _, k := range redo {
			if v, ok := fp[k]; ok {
				now[k] = v
			}
		}
	}
	return now, nil
}
