package mining

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining/rough"
)

// RoughOptions configure a rough-set analysis of a decision table: the
// source's feature columns are the condition attributes (default every
// column but the label and ID), its label the decision. Every value is
// read as text, NULL as ”: numeric attributes are compared as values, so
// discretise them in the source query first.
type RoughOptions struct {
	Source Source
	// ID names the object column (default: objects are numbered 1, 2, … in
	// the source's order).
	ID string
	// Decision is the decision value whose approximations are reported
	// first (default: every decision value, in order of first appearance).
	Decision string
	Name     string // default "roughset"
	DryRun   bool
}

// RoughApproximation is the lower and upper approximation of one decision
// value, as object ids.
type RoughApproximation struct {
	Decision string   `json:"decision"`
	Lower    []string `json:"lower"`
	Upper    []string `json:"upper"`
	Boundary []string `json:"boundary"`
	Accuracy float64  `json:"accuracy"`
}

// RoughRule is a certain or possible decision rule over the reduct.
type RoughRule struct {
	Conditions []string `json:"conditions"` // attribute = value
	Decision   string   `json:"decision"`
	Certain    bool     `json:"certain"`
	Support    int      `json:"support"`
	Matches    int      `json:"matches"`
	Confidence float64  `json:"confidence"`
}

// RoughResult is what a rough-set analysis finds.
type RoughResult struct {
	ModelID        int64                `json:"model_id"`
	Attributes     []string             `json:"attributes"`
	Decision       string               `json:"decision"`
	Objects        int                  `json:"objects"`
	Classes        [][]string           `json:"indiscernibility_classes"`
	Approximations []RoughApproximation `json:"approximations"`
	Positive       []string             `json:"positive_region"`
	Gamma          float64              `json:"gamma"`
	Core           []string             `json:"core"`
	Reduct         []string             `json:"reduct"`
	Rules          []RoughRule          `json:"rules"`
}

// MineRoughSet reads a decision table from the source and computes the
// indiscernibility classes of the condition attributes, the lower and
// upper approximations and boundary of each decision value, the positive
// region and dependency degree γ, the core and one reduct (mining/rough),
// and the certain and possible rules over the reduct. It stores the model
// in kb_model and every rule in kb_rule (kind 'roughset', detail saying
// certain or possible) in one transaction.
func MineRoughSet(ctx context.Context, w *engine.Warehouse, o RoughOptions) (*RoughResult, error) {
	if o.Name == "" {
		o.Name = "roughset"
	}
	if strings.TrimSpace(o.Source.Table) == "" {
		return nil, fmt.Errorf("roughset: no source: give a table or SELECT of condition attributes and a decision")
	}
	run, err := startRun(ctx, w, "roughset", o.Source, RoleLabel)
	if err != nil {
		return nil, err
	}
	defer run.close()
	d, err := TreeOptions{Source: o.Source, ID: o.ID}.readLearnData(ctx, run)
	if err != nil {
		return nil, run.fail(err)
	}
	ids := d.ids
	if ids == nil {
		ids = make([]string, len(d.labels))
		for i := range ids {
			ids[i] = strconv.Itoa(i + 1)
		}
	} else {
		seen := map[string]int{}
		for i, id := range ids {
			if j, dup := seen[id]; dup {
				return nil, run.fail(fmt.Errorf("%s: rows %d and %d have the same %s %q: objects need distinct ids", o.Source.name(), j+1, i+1, o.ID, id))
			}
			seen[id] = i
		}
	}
	cols := make([][]string, len(d.features))
	for j := range d.features {
		cols[j] = make([]string, len(d.labels))
		for i, row := range d.table.Rows {
			cols[j][i] = row[j]
		}
	}
	t, err := rough.NewTable(d.features, cols, d.labels)
	if err != nil {
		return nil, run.fail(err)
	}
	res, err := roughAnalysis(t, d, ids, o.Decision)
	if err != nil {
		return nil, run.fail(err)
	}
	if o.DryRun {
		return res, nil
	}
	params := map[string]any{"source": o.Source, "id": o.ID, "attributes": res.Attributes, "decision": o.Source.Label}
	metrics := map[string]any{"objects": res.Objects, "classes": len(res.Classes), "gamma": res.Gamma, "core": res.Core,
		"reduct": res.Reduct, "positive_region": res.Positive, "approximations": res.Approximations}
	write := func(ctx context.Context, tx *sql.Tx, id int64) error {
		return writeRoughRules(ctx, tx, id, res.Rules, res.Objects)
	}
	if res.ModelID, err = run.save(ctx, modelRecord{Name: o.Name, Status: "ok", Params: params, Metrics: metrics}, write); err != nil {
		return nil, err
	}
	return res, nil
}

// roughAnalysis computes everything MineRoughSet reports on the table.
func roughAnalysis(t *rough.Table, d *learnData, ids []string, decision string) (*RoughResult, error) {
	attrs := t.Attributes()
	named := func(objs []int) []string {
		out := make([]string, len(objs))
		for i, o := range objs {
			out[i] = ids[o]
		}
		return out
	}
	res := &RoughResult{Attributes: attrs, Decision: d.table.Header[len(d.table.Header)-1], Objects: t.Len(),
		Positive: []string{}, Core: []string{}, Reduct: []string{}, Rules: []RoughRule{}}
	classes, err := t.Classes(attrs)
	if err != nil {
		return nil, err
	}
	for _, c := range classes {
		res.Classes = append(res.Classes, named(c))
	}
	var decisions []string
	seen := map[string]bool{}
	if decision != "" {
		seen[decision] = true
		decisions = append(decisions, decision)
	}
	for _, l := range d.labels {
		if !seen[l] {
			seen[l] = true
			decisions = append(decisions, l)
		}
	}
	for _, dv := range decisions {
		a, err := t.Approximate(attrs, dv)
		if err != nil {
			return nil, fmt.Errorf("decision %q: %w", dv, err)
		}
		res.Approximations = append(res.Approximations, RoughApproximation{Decision: dv, Lower: named(a.Lower), Upper: named(a.Upper),
			Boundary: named(a.Boundary), Accuracy: a.Accuracy})
	}
	pos, err := t.Positive(attrs)
	if err != nil {
		return nil, err
	}
	res.Positive = append(res.Positive, named(pos)...)
	if res.Gamma, err = t.Dependency(attrs); err != nil {
		return nil, err
	}
	res.Core = append(res.Core, t.Core()...)
	res.Reduct = append(res.Reduct, t.Reduct()...)
	rules, err := t.Rules(res.Reduct)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		conds := make([]string, len(r.Conditions))
		for i, c := range r.Conditions {
			conds[i] = c.Attribute + " = " + c.Value
		}
		res.Rules = append(res.Rules, RoughRule{Conditions: conds, Decision: r.Decision, Certain: r.Certain,
			Support: r.Support, Matches: r.Matches, Confidence: r.Confidence})
	}
	return res, nil
}

// writeRoughRules writes the rules to kb_rule: antecedent the conditions,
// consequent the decision, count the objects with both, antecedent_count
// those matching the conditions, support count/objects, detail
// {"certain": …}.
func writeRoughRules(ctx context.Context, tx *sql.Tx, id int64, rules []RoughRule, objects int) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO kb_rule (model_id, rule_id, kind, antecedent, consequent, support, confidence,
            count, antecedent_count, baskets, detail, length)
        VALUES (?, ?, 'roughset', CAST(? AS JSON)::VARCHAR[], ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("rough-set rules: %w", err)
	}
	defer stmt.Close()
	for i, r := range rules {
		cj, _ := json.Marshal(r.Conditions)
		kind := "possible"
		if r.Certain {
			kind = "certain"
		}
		detail, _ := json.Marshal(map[string]any{"certain": r.Certain, "rule": kind})
		if _, err := stmt.ExecContext(ctx, id, i+1, string(cj), r.Decision, float64(r.Support)/float64(objects), r.Confidence,
			r.Support, r.Matches, objects, string(detail), len(r.Conditions)+1); err != nil {
			return fmt.Errorf("rough-set rule %d: %w", i+1, err)
		}
	}
	return nil
}
