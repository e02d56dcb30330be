package etl

import (
	"cmp"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// customerMerge is one merge a load found: other into survivor.
type customerMerge struct{ survivor, other int64 }

// mergePlan is what planMerges decided: the merges, and the components
// meeting customers a steward keeps apart (their records are given out
// one by one: pickApartRecords).
type mergePlan struct {
	merges []customerMerge
	apart  []int64
}

// planMerges decides, for the components of this load that meet several
// existing customers (a new record links customers earlier loads kept
// apart), which customers merge and which customer each such component
// is: the customers it meets merge into the smallest id, except two that
// must stay apart, whose records are then given out by their own keys
// (pickApartRecords):
//
//   - two a steward's split keeps apart (identity_decision);
//   - two that both hold an ID number (different ones: an ID number is one
//     customer's) and that the component reaches only through a mobile or
//     e-mail, not through one strong component of this load (cards, ID
//     numbers, accepted ID typos): the conflict rule of one load, kept
//     across loads, so a household's shared number met in a later load
//     does not merge its members.
//
// It rewrites id_comp.existing and returns the merges to apply once the
// components have their customers.
func (l *loader) planMerges() (*mergePlan, error) {
	n, err := l.count(`SELECT count(*) FROM id_comp WHERE n_existing > 1`)
	if err != nil || n == 0 {
		return &mergePlan{}, err
	}
	met, err := l.metCustomers()
	if err != nil {
		return nil, err
	}
	apart, err := l.keptApart()
	if err != nil {
		return nil, err
	}
	idHolders := map[int64]bool{}
	if err := l.scanPairs(`SELECT DISTINCT ei.customer_id, 0 FROM etl_identity ei
		WHERE ei.key_type = 'id_number' AND ei.customer_id IN (SELECT customer_id FROM id_met)`,
		func(c, _ int64) { idHolders[c] = true }); err != nil {
		return nil, err
	}
	parent := map[int64]int64{}
	members := map[int64][]int64{}
	find := func(x int64) int64 {
		if _, ok := parent[x]; !ok {
			parent[x], members[x] = x, []int64{x}
		}
		for parent[x] != x {
			x = parent[x]
		}
		return x
	}
	holdsID := func(r int64) bool { return slices.ContainsFunc(members[r], func(c int64) bool { return idHolders[c] }) }
	// conflict says whether the sets a and b must stay apart, met in lab
	// by customers with these strong components (slabs) there.
	conflict := func(a, b int64, slabs map[int64][]int64) bool {
		for _, x := range members[a] {
			for _, y := range members[b] {
				if apart[[2]int64{min(x, y), max(x, y)}] {
					return true
				}
			}
		}
		if !holdsID(a) || !holdsID(b) {
			return false
		}
		for _, x := range members[a] {
			for _, y := range members[b] {
				for _, s := range slabs[x] {
					if slices.Contains(slabs[y], s) {
						return false
					}
				}
			}
		}
		return true
	}
	anchors := map[int64]int64{}
	var labs []int64
	refused := 0
	plan := &mergePlan{}
	var slabs map[int64][]int64 // of the lab's met customers
	for _, m := range met {
		if _, ok := anchors[m.lab]; !ok {
			anchors[m.lab] = m.customer // strong first, then the smallest
			labs = append(labs, m.lab)
			slabs = map[int64][]int64{m.customer: m.slabs}
			find(m.customer)
			continue
		}
		slabs[m.customer] = m.slabs
		ra, rx := find(anchors[m.lab]), find(m.customer)
		if ra == rx {
			continue
		}
		if conflict(ra, rx, slabs) {
			refused++
			if k := len(plan.apart); k == 0 || plan.apart[k-1] != m.lab {
				plan.apart = append(plan.apart, m.lab)
			}
			continue
		}
		root, child := min(ra, rx), max(ra, rx)
		parent[child] = root
		members[root] = append(members[root], members[child]...)
	}
	merges := []customerMerge{}
	for x := range parent {
		if r := find(x); r != x {
			merges = append(merges, customerMerge{r, x})
		}
	}
	slices.SortFunc(merges, func(a, b customerMerge) int { return cmp.Compare(a.other, b.other) })
	picks := make([]string, len(labs))
	for i, lab := range labs {
		picks[i] = fmt.Sprintf("(%d, %d)", lab, find(anchors[lab]))
	}
	steps := []string{`CREATE OR REPLACE TEMP TABLE id_lab_pick (lab BIGINT, customer_id BIGINT)`,
		`INSERT INTO id_lab_pick VALUES ` + strings.Join(picks, ", "),
		`UPDATE id_comp SET existing = p.customer_id FROM id_lab_pick p WHERE id_comp.lab = p.lab`}
	steps = append(steps, `CREATE OR REPLACE TEMP TABLE id_merge_plan (other BIGINT, survivor BIGINT)`)
	if len(merges) > 0 {
		pairs := make([]string, len(merges))
		for i, m := range merges {
			pairs[i] = fmt.Sprintf("(%d, %d)", m.other, m.survivor)
		}
		steps = append(steps, `INSERT INTO id_merge_plan VALUES `+strings.Join(pairs, ", "),
			`UPDATE id_comp SET existing = p.survivor FROM id_merge_plan p WHERE id_comp.existing = p.other`)
	}
	if err := l.execAll("identity", steps); err != nil {
		return nil, err
	}
	if refused > 0 {
		l.logf("identity: %d links between existing customers were not followed (kept apart by a steward's split, or holding different ID numbers met only through a mobile or e-mail)", refused)
	}
	plan.merges = merges
	return plan, nil
}

// pickApartRecords gives each record of a component that meets customers a
// steward keeps apart to the customer its own keys name: its strong keys'
// first, else its weak keys' (the smallest id among several); a record
// with only new keys stays with the component's customer.
func (l *loader) pickApartRecords(plan *mergePlan) error {
	if len(plan.apart) == 0 {
		return nil
	}
	labs := make([]string, len(plan.apart))
	for i, lab := range plan.apart {
		labs[i] = fmt.Sprint(lab)
	}
	return l.execAll("identity", []string{
		`CREATE OR REPLACE TEMP TABLE id_rec_pick AS
		SELECT rec, customer_id FROM (
			SELECT e.rec, coalesce(p.survivor, ei.customer_id) AS customer_id,
				row_number() OVER (PARTITION BY e.rec ORDER BY k.weak, coalesce(p.survivor, ei.customer_id)) AS rn
			FROM id_rk_all e JOIN id_key k USING (kid) ANTI JOIN id_conflict USING (kid)
			JOIN id_tok t ON t.kid = k.kid JOIN ` + knownKeysSQL + ` ei ON ei.key_type = k.key_type AND ei.key_value = t.tok
			LEFT JOIN id_merge_plan p ON p.other = ei.customer_id
			WHERE e.rec IN (SELECT rec FROM id_rl WHERE lab IN (` + strings.Join(labs, ", ") + `)))
		WHERE rn = 1`,
		`UPDATE id_grec SET customer_id = x.customer_id FROM id_rec_pick x WHERE id_grec.rec = x.rec AND id_grec.customer_id <> x.customer_id`,
	})
}

// metCustomer is an existing customer a component of this load meets,
// whether through a strong key, and the strong components of this load
// (id_srl labels) whose strong keys meet it.
type metCustomer struct {
	lab, customer int64
	strong        bool
	slabs         []int64
}

// metCustomers reads, for each component meeting several existing
// customers, the customers it meets (also into id_met): strong first, then
// by id.
func (l *loader) metCustomers() ([]metCustomer, error) {
	if err := l.exec("identity", `CREATE OR REPLACE TEMP TABLE id_met AS
		WITH ks AS (SELECT DISTINCT s.kid, r.slab FROM id_rk_strong s JOIN id_srl r USING (rec))
		SELECT c.lab, ei.customer_id, bool_or(NOT k.weak) AS strong,
			coalesce(list(DISTINCT ks.slab ORDER BY ks.slab) FILTER (WHERE ks.slab IS NOT NULL), []) AS slabs
		FROM id_comp c JOIN id_lab l USING (lab) JOIN id_key k USING (kid) ANTI JOIN id_conflict USING (kid)
		JOIN id_tok t ON t.kid = k.kid JOIN `+knownKeysSQL+` ei ON ei.key_type = k.key_type AND ei.key_value = t.tok
		LEFT JOIN ks ON ks.kid = k.kid AND NOT k.weak
		WHERE c.n_existing > 1
		GROUP BY c.lab, ei.customer_id`); err != nil {
		return nil, err
	}
	rows, err := l.tx.QueryContext(l.ctx, `SELECT lab, customer_id, strong, slabs FROM id_met ORDER BY lab, strong DESC, customer_id`)
	if err != nil {
		return nil, fmt.Errorf("identity: merges: %w", err)
	}
	defer rows.Close()
	var out []metCustomer
	for rows.Next() {
		var m metCustomer
		var slabs []any
		if err := rows.Scan(&m.lab, &m.customer, &m.strong, &slabs); err != nil {
			return nil, fmt.Errorf("identity: merges: %w", err)
		}
		for _, v := range slabs {
			if n, ok := v.(int64); ok {
				m.slabs = append(m.slabs, n)
			}
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// keptApart reads the pairs of customers a steward's split keeps apart
// (both ids followed through the merges since), as (smaller, larger).
func (l *loader) keptApart() (map[[2]int64]bool, error) {
	into := map[int64]int64{}
	if err := l.scanPairs(`SELECT other, survivor FROM customer_merge WHERE kind NOT IN ('steward_split', 'load_split') AND undone_run IS NULL`,
		func(a, b int64) { into[a] = b }); err != nil {
		return nil, err
	}
	now := func(x int64) int64 {
		for i := 0; i < 1000; i++ { // merges form chains, never cycles; bounded all the same
			y, ok := into[x]
			if !ok {
				break
			}
			x = y
		}
		return x
	}
	apart := map[[2]int64]bool{}
	err := l.scanPairs(`SELECT customer_a, customer_b FROM identity_decision WHERE kind = 'split' AND undone_at IS NULL`,
		func(a, b int64) {
			if a, b = now(a), now(b); a != b {
				apart[[2]int64{min(a, b), max(a, b)}] = true
			}
		})
	return apart, err
}

// scanPairs calls fn for each row of two BIGINTs query returns.
func (l *loader) scanPairs(query string, fn func(a, b int64)) error {
	rows, err := l.tx.QueryContext(l.ctx, query)
	if err != nil {
		return fmt.Errorf("identity: merges: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b int64
		if err := rows.Scan(&a, &b); err != nil {
			return fmt.Errorf("identity: merges: %w", err)
		}
		fn(a, b)
	}
	return rows.Err()
}

// applyMerges merges the customers planMerges decided, in the load's
// transaction, dated at the load's as-of time.
func (l *loader) applyMerges(plan *mergePlan) error {
	if err := l.pickApartRecords(plan); err != nil {
		return err
	}
	m := &merger{ctx: l.ctx, q: l.tx, runID: l.runID, at: l.opts.AsOf}
	ids, err := m.mergeAll("load_merge", plan.merges, sql.NullInt64{})
	if err != nil {
		return err
	}
	for i, c := range plan.merges {
		if i == 10 {
			l.logf("identity: … and %d more merges (ckm identity merges lists them)", len(ids)-i)
			break
		}
		l.logf("identity: customer %d merged into %d (merge %d): a record of this load links them; ckm identity undo %d reverts it", c.other, c.survivor, ids[i], ids[i])
	}
	return nil
}
