package export

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// Masked views that look personal values up by token. On a protected
// warehouse the analyst's views of the facts (and dim_customer) show, for
// a token, the mask kept for it in vault_display. A load that only adds
// customers adds rows to vault_display, and every such view's source hash
// changes; re-checking the whole masked output (each row's masks and
// look-ups) cost more than the rest of the incremental export together.
//
// A view whose rows are each a function of one row of its base table and
// of the vault_display rows looked up by tokens taken from that row
// (lakeLookup, read from the view's definition) changes, partition by
// partition, only where its base table's rows changed or where a row
// holds a token whose vault_display rows changed. The export keeps, in
// each such table's snapshot summary, the base table's per-partition
// hashes (SummarySourceParts) and vault_display's state (SummaryLookup:
// where its rows ended and their hash). When the rows below that end are
// the same rows (count and hash), every change to vault_display since is
// a row added after it — its token was in no row then (a token is held
// once: engine.UniqueKeys) — and only the partitions whose rows hold one of those
// tokens, or whose base rows changed, are fingerprinted again. Any other
// change (ckm forget deletes displays, an admin edits one, a checkpoint
// moves rows) fails that test and the whole output is checked as before.

// SummaryLookup records, on a masked view's snapshot, the state of the
// table it looks tokens up in: {"table", "end" (rowids below it held
// every row), "hash" (their count and hash, as tableHash spells it)}.
const SummaryLookup = "ckm.lookup"

// LakeCheckLookup: a masked view fingerprinted again only in the
// partitions whose base rows changed or hold a token added to the
// look-up table.
const LakeCheckLookup = "base partitions and tokens"

// lakeLookupTable is the one table masked views look tokens up in.
const lakeLookupTable = "vault_display"

// lakeLookup is a masked view read as one base table (alias, as the view
// names it) and look-ups in lakeLookupTable by the token expressions keys
// (SQL over the base table's columns, as the view writes them).
type lakeLookup struct {
	base, alias string
	keys        []string
}

// lookupState is SummaryLookup's value.
type lookupState struct {
	Table string `json:"table"`
	End   int64  `json:"end"`
	Hash  string `json:"hash"`
}

var (
	lookupIdent = `(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")+")`
	lookupCol   = `(?:` + lookupIdent + `\.)?` + lookupIdent
	lookupKey   = lookupCol + `|regexp_extract\(\s*` + lookupCol + `\s*,\s*'(?:[^']|'')*'\s*(?:,\s*\d+\s*)?\)`
	// (SELECT d.display FROM main.vault_display AS d WHERE (d.token = key)),
	// as DuckDB keeps a view's text.
	lookupSubRe = regexp.MustCompile(`(?is)\(\s*SELECT\s+([A-Za-z_][A-Za-z0-9_]*)\.display\s+FROM\s+(?:main\.)?vault_display\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+WHERE\s+(\(\s*)?([A-Za-z_][A-Za-z0-9_]*)\.token\s*=\s*(` + lookupKey + `)\s*(\)\s*)?\)`)
	// LEFT JOIN main.vault_display AS i ON ((i.token = key)), or with the
	// token's kind: ON (((i.token = key) AND (i.kind = 'mobile'))) — a
	// narrower match of the same key, so re-checking the rows whose key
	// was added still covers every row the join can change.
	lookupJoinRe = regexp.MustCompile(`(?is)\bLEFT\s+JOIN\s+(?:main\.)?vault_display\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+ON\s+(\(\s*)*([A-Za-z_][A-Za-z0-9_]*)\.token\s*=\s*(` + lookupKey + `)\s*(\)\s*)*(?:AND\s+(\(\s*)*([A-Za-z_][A-Za-z0-9_]*)\.kind\s*=\s*'[A-Za-z_]+'\s*(\)\s*)*)?`)
	// CREATE VIEW v AS SELECT <list> FROM main.base [AS alias]
	lookupViewRe = regexp.MustCompile(`(?is)^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+\S+\s+AS\s+SELECT\s+(.*)\s+FROM\s+(?:main\.)?([A-Za-z_][A-Za-z0-9_]*)(?:\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*))?\s*;?\s*$`)
	lookupColRe  = regexp.MustCompile(`^(?:regexp_extract\(\s*)?(?:(` + lookupIdent + `)\.)?(` + lookupIdent + `)`)
	stringLitRe  = regexp.MustCompile(`'(?:[^']|'')*'`)
	callRe       = regexp.MustCompile(`(` + lookupIdent + `)\s*\(`)
)

// lookupBarred are words that make a view other than a row-by-row mapping
// of its base table (or that this reading does not understand).
var lookupBarred = map[string]bool{
	"select": true, "from": true, "join": true, "where": true, "over": true, "group": true, "having": true,
	"qualify": true, "limit": true, "offset": true, "union": true, "intersect": true, "except": true,
	"distinct": true, "order": true, "window": true, "using": true, "lateral": true, "unnest": true,
	"pivot": true, "unpivot": true, "sample": true, "columns": true, "date_key": true, "rowid": true,
	lakeLookupTable: true,
}

// lookupPlan reads a masked view's definition as a lakeLookup: nil when
// it is anything else (then its whole output is checked). The view's
// other dependencies must be none (deps: the base tables its definitions
// name, from signature).
func (s *lakeSources) lookupPlan(t lakeTable, deps []string) *lakeLookup {
	if !t.masked {
		return nil
	}
	def, ok := s.defs["analyst."+strings.ToLower(t.name)]
	if !ok {
		return nil
	}
	lk := &lakeLookup{}
	aliases := map[string]bool{}
	bad := false
	rest := lookupSubRe.ReplaceAllStringFunc(def, func(m string) string {
		g := lookupSubRe.FindStringSubmatch(m)
		if !strings.EqualFold(g[1], g[2]) || !strings.EqualFold(g[4], g[2]) || (g[3] == "") != (g[6] == "") {
			bad = true
		}
		lk.keys = append(lk.keys, g[5])
		return " NULL "
	})
	rest = lookupJoinRe.ReplaceAllStringFunc(rest, func(m string) string {
		g := lookupJoinRe.FindStringSubmatch(m)
		if !strings.EqualFold(g[1], g[3]) || (g[7] != "" && !strings.EqualFold(g[1], g[7])) || strings.Count(g[0], "(") != strings.Count(g[0], ")") {
			bad = true
		}
		aliases[strings.ToLower(g[1])] = true
		lk.keys = append(lk.keys, g[4])
		return " "
	})
	if bad || len(lk.keys) == 0 {
		return nil
	}
	m := lookupViewRe.FindStringSubmatch(rest)
	if m == nil {
		return nil
	}
	list := m[1]
	lk.base, lk.alias = strings.ToLower(m[2]), strings.ToLower(m[3])
	if lk.alias != "" && lookupBarred[lk.alias] {
		return nil
	}
	if !s.tables[lk.base] || lk.base == lakeLookupTable || aliases[lk.alias] {
		return nil
	}
	// The only tables: the base and the look-up table.
	for _, d := range deps {
		if d != lk.base && d != lakeLookupTable {
			return nil
		}
	}
	// Each key reads the base row: qualified by its alias, or a column of
	// the base table that the look-up table does not have (inside the
	// sub-select an unqualified name is the look-up table's first).
	for _, k := range lk.keys {
		g := lookupColRe.FindStringSubmatch(k)
		if g == nil {
			return nil
		}
		q, c := strings.ToLower(unquoteIdent(g[1])), strings.ToLower(unquoteIdent(g[2]))
		if q == "" {
			if s.cols[lakeLookupTable][c] {
				return nil
			}
		} else if q != lk.alias || lk.alias == "" {
			return nil
		}
		if !s.cols[lk.base][c] {
			return nil
		}
	}
	// The list starts with the base row's columns (* or alias.*): with no
	// GROUP BY, an aggregate anywhere in it (or in a macro) is an error, so
	// each output row is one base row's.
	head := strings.TrimSpace(list)
	if !strings.HasPrefix(head, "*") && (lk.alias == "" || !strings.HasPrefix(strings.ToLower(head), lk.alias+".*")) {
		return nil
	}
	if !s.rowWise(list, 0) {
		return nil
	}
	return lk
}

// rowWise reports whether a select list (or a macro's body) computes each
// value from one row: no sub-query, window or other clause, no reference
// to date_key (the partition must be the base row's), and macros that
// are row-wise themselves.
func (s *lakeSources) rowWise(expr string, depth int) bool {
	if depth > 8 {
		return false
	}
	code := stringLitRe.ReplaceAllString(expr, "''")
	for _, tok := range identRe.FindAllString(code, -1) {
		if strings.HasPrefix(tok, `"`) {
			tok = strings.ReplaceAll(tok[1:len(tok)-1], `""`, `"`)
		}
		if l := strings.ToLower(tok); lookupBarred[l] || volatile[l] {
			return false
		}
	}
	for _, m := range callRe.FindAllStringSubmatch(code, -1) {
		if def, ok := s.defs[strings.ToLower(unquoteIdent(m[1]))]; ok && !s.rowWise(def, depth+1) {
			return false
		}
	}
	return true
}

// unquoteIdent is an identifier without its double quotes.
func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

// lookupSplit is the look-up table's rows below end and from end on: the
// hash of those below (tableHash's spelling) and whether any are above.
type lookupSplit struct {
	below string
	added bool
}

// splitLookup hashes the look-up table's rows below rowid end.
func (s *lakeSources) splitLookup(ctx context.Context, end int64) (lookupSplit, error) {
	if r, ok := s.splits[end]; ok {
		return r, nil
	}
	r, _, err := s.hashLookup(ctx, end)
	return r, err
}

// hashLookup hashes the look-up table's rows in one pass, split at rowid
// end: the split (kept for splitLookup) and the whole table's hash as
// tableHash spells it (a table without date_key: "=rows:sum;"), the sums
// of the two parts' counts and hashes.
func (s *lakeSources) hashLookup(ctx context.Context, end int64) (lookupSplit, string, error) {
	rows, err := s.conn.QueryContext(ctx, fmt.Sprintf("SELECT rowid < %d, %s FROM main.%s %s GROUP BY 1", end, countHashSum(lakeFPRow), lakeLookupTable, lakeFPRow))
	if err != nil {
		return lookupSplit{}, "", fmt.Errorf("hashing %s: %w", lakeLookupTable, err)
	}
	defer rows.Close()
	r := lookupSplit{below: "=0:0;"}
	var total int64
	sum := new(big.Int)
	for rows.Next() {
		var below bool
		var n int64
		var h string
		if err := rows.Scan(&below, &n, &h); err != nil {
			return lookupSplit{}, "", err
		}
		hv, ok := new(big.Int).SetString(h, 10)
		if !ok {
			return lookupSplit{}, "", fmt.Errorf("hashing %s: bad sum %q", lakeLookupTable, h)
		}
		total += n
		sum.Add(sum, hv)
		if below {
			r.below = "=" + strconv.FormatInt(n, 10) + ":" + h + ";"
		} else if n > 0 {
			r.added = true
		}
	}
	if err := rows.Err(); err != nil {
		return lookupSplit{}, "", err
	}
	s.splits[end] = r
	return r, "=" + strconv.FormatInt(total, 10) + ":" + sum.String() + ";", nil
}

// lookupNow is the look-up table's state for SummaryLookup.
func (s *lakeSources) lookupNow(ctx context.Context) (*lookupState, error) {
	if s.lookupState != nil {
		return s.lookupState, nil
	}
	h, err := s.tableHash(ctx, lakeLookupTable)
	if err != nil {
		return nil, err
	}
	st := &lookupState{Table: lakeLookupTable, Hash: h}
	if err := s.conn.QueryRowContext(ctx, "SELECT coalesce(max(rowid) + 1, 0) FROM main."+lakeLookupTable).Scan(&st.End); err != nil {
		return nil, fmt.Errorf("rows of %s: %w", lakeLookupTable, err)
	}
	s.lookupState = st
	return st, nil
}

// lookupFingerprints updates a look-up view's fingerprints (before, as its
// snapshot has them): the partitions whose base rows differ from
// baseBefore, and those whose rows hold a token added to the look-up table
// since prev, are fingerprinted again from the view (query, names: as
// fingerprints takes them). ok is false when the look-up table changed
// otherwise than by added rows: then nothing is known.
func (s *lakeSources) lookupFingerprints(ctx context.Context, lk *lakeLookup, query string, names []string,
	before, baseBefore map[string]string, prev *lookupState) (now, baseNow map[string]string, ok bool, err error) {
	split, err := s.splitLookup(ctx, prev.End)
	if err != nil || split.below != prev.Hash {
		return nil, nil, false, err
	}
	if _, err := s.tableHash(ctx, lk.base); err != nil {
		return nil, nil, false, err
	}
	baseNow = s.parts[lk.base]
	keys := map[string]bool{}
	for k, v := range baseNow {
		if baseBefore[k] != v {
			keys[k] = true
		}
	}
	for k := range baseBefore {
		if _, ok := baseNow[k]; !ok {
			keys[k] = true
		}
	}
	if split.added {
		var conds []string
		for _, k := range lk.keys {
			conds = append(conds, "("+k+") IN (SELECT token FROM added)")
		}
		from := "main." + engine.QuoteIdent(lk.base)
		if lk.alias != "" {
			from += " AS " + engine.QuoteIdent(lk.alias)
		}
		q := fmt.Sprintf("WITH added AS (SELECT token FROM main.%s WHERE rowid >= %d) SELECT DISTINCT %s FROM %s WHERE %s",
			lakeLookupTable, prev.End, engine.ChangeMonthKey, from, strings.Join(conds, " OR "))
		rows, err := s.conn.QueryContext(ctx, q)
		if err != nil {
			return nil, nil, false, fmt.Errorf("tokens added to %s in %s: %w", lakeLookupTable, lk.base, err)
		}
		for rows.Next() {
			var p int64
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return nil, nil, false, err
			}
			keys[monthKey(p)] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, false, err
		}
	}
	now = maps.Clone(before)
	redo := slices.Sorted(maps.Keys(keys))
	for _, k := range redo {
		delete(now, k)
	}
	if len(redo) > 0 {
		fp, err := fingerprints(ctx, s.conn, query+" WHERE "+dateKeyRanges(redo), names, true)
		if err != nil {
			return nil, nil, false, err
		}
		for _, k := range redo {
			if v, ok := fp[k]; ok {
				now[k] = v
			}
		}
	}
	return now, baseNow, true, nil
}

// lookupBefore reads SummaryLookup from a snapshot's properties (nil when
// absent or of another table).
func lookupBefore(props map[string]string) (*lookupState, error) {
	v, ok := props[SummaryLookup]
	if !ok {
		return nil, nil
	}
	var st lookupState
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		return nil, fmt.Errorf("bad %s: %w", SummaryLookup, err)
	}
	if st.Table != lakeLookupTable {
		return nil, nil
	}
	return &st, nil
}
