package mining

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining/bayes"
	"github.com/ckm-dev/ckm/mining/evaluate"
	"github.com/ckm-dev/ckm/mining/tree"
)

// The decision tree algorithms.
const (
	AlgoC45 = "c45"
	AlgoID3 = "id3"
)

// TreeOptions configure a decision tree learnt from a features+label source.
type TreeOptions struct {
	// Source holds one row per case: Label names the class column; Features
	// (comma-separated) the predictors, default every other column but ID
	// and SplitCol. Numeric columns (DuckDB integer, decimal and floating
	// types) are numeric attributes, all others nominal; NULL is missing.
	Source Source
	// ID names a case id column left out of the features (optional).
	ID string
	// Algorithm is c45 (default, J48's settings) or id3 (nominal features only).
	Algorithm string
	// Window, for id3, grows the tree by windowing from a first window of
	// this many rows (0: no windowing).
	Window int
	// TestFraction is the share of each class held out for testing, in
	// (0, 1) (default 0.3), chosen by a shuffle seeded with Seed.
	TestFraction float64
	Seed         uint64
	// SplitCol, when set, names a column saying 'train' or 'test' per row
	// in place of the seeded split.
	SplitCol string
	// Positive is the class whose probability gives AUC and lift (default
	// the less frequent class in training).
	Positive string
	// Name labels the model in kb_model ("tree").
	Name string
	// DryRun learns and evaluates without writing to the knowledge base.
	DryRun bool
	// Oversample, above 1, counts each positive training row this many
	// times (a rare class's leaves then survive pruning; the tree's
	// probabilities are those of the resampled set: p' = kp/(kp + 1 − p)).
	Oversample int
	// MinLeaf is C4.5's minimum weight in at least two branches of a split
	// (0: J48's 2).
	MinLeaf float64
	// FromWarehouse, when its label query is set, builds the cases from the
	// star schema (features before its cut-off, see FeatureOptions) in
	// place of Source.Table; Source.Label names the label column and
	// Source.Features, if not "" or "warehouse", picks features.
	FromWarehouse FeatureOptions
}

// TreeMetrics are a classifier's record on the held-out rows.
type TreeMetrics struct {
	TrainRows        int               `json:"train_rows"`
	TestRows         int               `json:"test_rows"`
	Correct          int               `json:"correct"`
	Accuracy         float64           `json:"accuracy"`
	ErrorRate        float64           `json:"error_rate"`
	PerClass         []map[string]any  `json:"per_class"`
	Confusion        *confusionJSON    `json:"confusion"`
	Majority         string            `json:"majority_class"`
	MajorityAccuracy float64           `json:"majority_accuracy"`
	Positive         string            `json:"positive"`
	AUC              *float64          `json:"auc"`
	Lift             []evaluate.Decile `json:"lift_by_decile,omitempty"`
}

type confusionJSON struct {
	Classes []string `json:"classes"` // rows actual, columns predicted
	Counts  [][]int  `json:"counts"`
}

// TreeResult summarises a tree run.
type TreeResult struct {
	ModelID   int64              `json:"model_id"`
	Algorithm string             `json:"algorithm"`
	Features  []string           `json:"features"`
	Label     string             `json:"label"`
	Classes   []string           `json:"classes"`
	Size      int                `json:"tree_size"`
	Leaves    int                `json:"leaves"`
	Rules     int                `json:"rules"`
	Window    *tree.WindowStats  `json:"windowing,omitempty"`
	Metrics   TreeMetrics        `json:"metrics"`
	ScoreSQL  string             `json:"score_sql"`
	Cases     *FeatureStats      `json:"cases_from_warehouse,omitempty"`
	Tree      *tree.Tree         `json:"-"`
	Scores    map[int]treeScored `json:"-"` // test rows by source row number: Go's prediction

	trainCount  map[string]int // training rows per class (positives times Oversample)
	trainWeight int            // their sum
}

type treeScored struct {
	Class string
	Prob  float64
}

func (o TreeOptions) withDefaults() TreeOptions {
	if o.Algorithm == "" {
		o.Algorithm = AlgoC45
	}
	if o.TestFraction == 0 {
		o.TestFraction = 0.3
	}
	if o.Name == "" {
		o.Name = "tree"
	}
	return o
}

func (o TreeOptions) validate() error {
	switch {
	case o.Algorithm != AlgoC45 && o.Algorithm != AlgoID3:
		return fmt.Errorf("tree: algorithm %q: want c45 or id3", o.Algorithm)
	case !(o.TestFraction > 0 && o.TestFraction < 1):
		return fmt.Errorf("tree: test fraction %v: want a number in (0, 1)", o.TestFraction)
	case o.Window < 0:
		return fmt.Errorf("tree: window %d must not be negative", o.Window)
	case o.Window > 0 && o.Algorithm != AlgoID3:
		return fmt.Errorf("tree: windowing is for id3, not %s", o.Algorithm)
	case o.Oversample < 0 || (o.Oversample > 1 && o.Window > 0):
		return fmt.Errorf("tree: oversample %d: want 0 or more, and no windowing", o.Oversample)
	case o.FromWarehouse.Enabled() && strings.TrimSpace(o.Source.Table) != "":
		return fmt.Errorf("tree: a source and a label query: give one (the label query builds the cases from the warehouse)")
	case !o.FromWarehouse.Enabled() && strings.TrimSpace(o.Source.Table) == "":
		return fmt.Errorf("tree: no source: give a table or SELECT of features and a label")
	}
	return nil
}

// startLearnRun opens a learner's run: on the source, or on cases built
// from the warehouse (o.Source and o.ID then name them).
func (o *TreeOptions) startLearnRun(ctx context.Context, w *engine.Warehouse, kind string) (*opRun, *FeatureStats, error) {
	if !o.FromWarehouse.Enabled() {
		run, err := startRun(ctx, w, kind, o.Source, RoleLabel)
		return run, nil, err
	}
	run, src, st, err := startFeatureRun(ctx, w, kind, o.FromWarehouse, o.Source)
	if err != nil {
		return nil, nil, err
	}
	o.Source, o.ID = src, "customer_id"
	return run, st, nil
}

var numericTypes = map[string]bool{"TINYINT": true, "SMALLINT": true, "INTEGER": true, "BIGINT": true, "HUGEINT": true,
	"UTINYINT": true, "USMALLINT": true, "UINTEGER": true, "UBIGINT": true, "UHUGEINT": true, "FLOAT": true, "DOUBLE": true}

// learnData is a source read for learning: the features' text, which are
// numeric, the labels and each row's set.
type learnData struct {
	features []string
	numeric  []string
	table    tree.Table // features then the label
	labels   []string
	sets     []string // 'train'/'test' from SplitCol, or nil
	ids      []string // the ID column's values, or nil
}

// readLearnData checks the columns and reads the source in its order, one
// query, every value as text (” for NULL).
func (o TreeOptions) readLearnData(ctx context.Context, run *opRun) (*learnData, error) {
	src := o.Source
	rows, err := run.conn.QueryContext(ctx, "SELECT * FROM "+src.relation()+" AS src LIMIT 0")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.name(), err)
	}
	types, err := rows.ColumnTypes()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.name(), err)
	}
	colType := map[string]string{}
	var all []string
	for _, t := range types {
		colType[strings.ToLower(t.Name())] = t.DatabaseTypeName()
		all = append(all, t.Name())
	}
	sorted := append([]string(nil), all...)
	sort.Strings(sorted)
	need := func(role, col string) error {
		if _, ok := colType[strings.ToLower(col)]; !ok {
			return fmt.Errorf("%s: unknown %s column %q (columns: %s)", src.name(), role, col, strings.Join(sorted, ", "))
		}
		return nil
	}
	if src.Label == "" {
		return nil, fmt.Errorf("%s: no label column given (--label)", src.name())
	}
	for _, c := range [][2]string{{"label", src.Label}, {"id", o.ID}, {"split", o.SplitCol}} {
		if c[1] != "" {
			if err := need(c[0], c[1]); err != nil {
				return nil, err
			}
		}
	}
	d := &learnData{}
	if strings.TrimSpace(src.Features) != "" {
		for _, f := range src.FeatureColumns() {
			if err := need("feature", f); err != nil {
				return nil, err
			}
			d.features = append(d.features, f)
		}
	} else {
		skip := map[string]bool{strings.ToLower(src.Label): true, strings.ToLower(o.ID): true, strings.ToLower(o.SplitCol): true}
		for _, c := range all {
			if !skip[strings.ToLower(c)] {
				d.features = append(d.features, c)
			}
		}
	}
	if len(d.features) == 0 {
		return nil, fmt.Errorf("%s: no feature columns beside the label", src.name())
	}
	q := engine.QuoteIdent
	var sel []string
	for _, f := range d.features {
		if strings.EqualFold(f, src.Label) {
			return nil, fmt.Errorf("%s: the label %q is also a feature", src.name(), f)
		}
		t := colType[strings.ToLower(f)]
		if numericTypes[t] || strings.HasPrefix(t, "DECIMAL") {
			d.numeric = append(d.numeric, f)
		}
		sel = append(sel, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", q(f)))
	}
	sel = append(sel, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", q(src.Label)))
	if o.SplitCol != "" {
		sel = append(sel, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", q(o.SplitCol)))
	}
	if o.ID != "" {
		sel = append(sel, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", q(o.ID)))
	}
	rows, err = run.conn.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+src.relation()+" AS src")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.name(), err)
	}
	defer rows.Close()
	d.table.Header = append(append([]string(nil), d.features...), src.Label)
	n := len(d.features) + 1
	for rows.Next() {
		vals := make([]string, len(sel))
		ptrs := make([]any, len(sel))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("%s: %w", src.name(), err)
		}
		if vals[n-1] == "" {
			return nil, fmt.Errorf("%s: row %d has no label %q (label every row or leave it out)", src.name(), len(d.labels)+1, src.Label)
		}
		d.table.Rows = append(d.table.Rows, vals[:n])
		d.labels = append(d.labels, vals[n-1])
		if o.SplitCol != "" {
			d.sets = append(d.sets, vals[n])
		}
		if o.ID != "" {
			d.ids = append(d.ids, vals[len(vals)-1])
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", src.name(), err)
	}
	if len(d.labels) == 0 {
		return nil, fmt.Errorf("%s: no rows to learn from", src.name())
	}
	return d, nil
}

// needTwoClasses refuses labels of one class: a classifier needs two.
func (d *learnData) needTwoClasses(src Source) error {
	for _, l := range d.labels[1:] {
		if l != d.labels[0] {
			return nil
		}
	}
	return fmt.Errorf("%s: label %q has one class (%q) in %d rows: a classifier needs two", src.name(), src.Label, d.labels[0], len(d.labels))
}

// split returns the training and test rows.
func (o TreeOptions) split(d *learnData) (evaluate.Split, error) {
	if o.SplitCol == "" {
		s, err := evaluate.StratifiedSplit(d.labels, 1-o.TestFraction, o.Seed)
		if err != nil {
			return s, err
		}
		return s, nil
	}
	var s evaluate.Split
	for i, v := range d.sets {
		switch v {
		case "train":
			s.Train = append(s.Train, i)
		case "test":
			s.Test = append(s.Test, i)
		default:
			return s, fmt.Errorf("split column %q, row %d: %q, want train or test", o.SplitCol, i+1, v)
		}
	}
	if len(s.Train) == 0 || len(s.Test) == 0 {
		return s, fmt.Errorf("split column %q: %d training and %d test rows, need both", o.SplitCol, len(s.Train), len(s.Test))
	}
	return s, nil
}

// MineTree learns a decision tree (C4.5 or ID3) from the source's training
// rows, evaluates it on the held-out rows (accuracy, per-class precision
// and recall, AUC and lift by decile of the positive class's probability,
// beside the majority-class baseline) and stores the tree (JSON) and its
// scoring SQL (tree.CaseSQL over the source's columns) in kb_model's
// params and one decision rule per leaf in kb_rule, in one transaction.
func MineTree(ctx context.Context, w *engine.Warehouse, o TreeOptions) (*TreeResult, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	from := o.FromWarehouse
	run, cases, err := o.startLearnRun(ctx, w, "tree")
	if err != nil {
		return nil, err
	}
	defer run.close()
	d, err := o.readLearnData(ctx, run)
	if err != nil {
		return nil, run.fail(err)
	}
	if err := d.needTwoClasses(o.Source); err != nil {
		return nil, run.fail(err)
	}
	sp, err := o.split(d)
	if err != nil {
		return nil, run.fail(err)
	}
	all, err := tree.FromTable(d.table, tree.Schema{Class: o.Source.Label, Numeric: d.numeric, Missing: []string{""}})
	if err != nil {
		return nil, run.fail(err)
	}
	trainLabels := make([]string, len(sp.Train))
	count := map[string]int{}
	for i, r := range sp.Train {
		trainLabels[i] = d.labels[r]
		count[d.labels[r]]++
	}
	positive := o.Positive
	if positive == "" {
		for _, c := range all.Classes {
			if positive == "" || count[c] < count[positive] {
				positive = c
			}
		}
	}
	trainRows := sp.Train
	if o.Oversample > 1 {
		// Each positive training row counts Oversample times (the tree's
		// leaf probabilities are then those of the resampled set).
		trainRows = nil
		for _, r := range sp.Train {
			for k := 0; k < o.Oversample && (k == 0 || d.labels[r] == positive); k++ {
				trainRows = append(trainRows, r)
			}
		}
		count[positive] *= o.Oversample
	}
	train, test := all.Subset(trainRows), all.Subset(sp.Test)
	res := &TreeResult{Algorithm: o.Algorithm, Features: d.features, Label: o.Source.Label, Classes: all.Classes, Scores: map[int]treeScored{}, Cases: cases}
	var tr *tree.Tree
	if o.Algorithm == AlgoC45 {
		tr, err = tree.C45(ctx, train, tree.C45Options{MinLeaf: o.MinLeaf})
	} else {
		tr, res.Window, err = tree.ID3(ctx, train, tree.ID3Options{Window: o.Window, Seed: o.Seed})
	}
	if err != nil {
		return nil, run.fail(err)
	}
	res.Tree, res.Size, res.Leaves = tr, tr.Size(), tr.Leaves()
	pos := -1
	for i, c := range tr.Classes {
		if c == positive {
			pos = i
		}
	}
	if pos < 0 {
		return nil, run.fail(fmt.Errorf("positive class %q is not a class of %q (%s)", positive, o.Source.Label, strings.Join(tr.Classes, ", ")))
	}
	actual, predicted, scores := make([]string, test.Rows()), make([]string, test.Rows()), make([]float64, test.Rows())
	for i := 0; i < test.Rows(); i++ {
		row := tree.RowOf(test, i)
		p, err := tr.Probabilities(row)
		if err != nil {
			return nil, run.fail(err)
		}
		c, err := tr.Predict(row)
		if err != nil {
			return nil, run.fail(err)
		}
		actual[i], predicted[i], scores[i] = tr.Classes[test.Class[i]], tr.Classes[c], p[pos]
		res.Scores[sp.Test[i]] = treeScored{Class: predicted[i], Prob: p[pos]}
	}
	res.Metrics, err = classifierMetrics(actual, predicted, scores, positive, trainLabels)
	if err != nil {
		return nil, run.fail(err)
	}
	res.Metrics.TrainRows = len(sp.Train)
	res.trainCount, res.trainWeight = count, len(trainRows)
	if res.ScoreSQL, err = tr.CaseSQL(d.features); err != nil {
		return nil, run.fail(err)
	}
	probSQL, err := tr.ProbabilitySQL(d.features, positive)
	if err != nil {
		return nil, run.fail(err)
	}
	scoreQuery, err := tr.ScoreQuery(d.features, positive)
	if err != nil {
		return nil, run.fail(err)
	}
	rules := tr.Rules()
	res.Rules = len(rules)
	if o.DryRun {
		return res, nil
	}
	treeJSON, err := json.Marshal(tr)
	if err != nil {
		return nil, run.fail(err)
	}
	params := map[string]any{"source": o.Source, "id": o.ID, "algorithm": o.Algorithm, "window": o.Window,
		"test_fraction": o.TestFraction, "seed": o.Seed, "split_col": o.SplitCol, "positive": positive,
		"features": d.features, "numeric": d.numeric, "label": o.Source.Label, "classes": tr.Classes,
		"score_sql": res.ScoreSQL, "probability_sql": probSQL, "score_query": scoreQuery, "tree": json.RawMessage(treeJSON)}
	if from.Enabled() {
		params["from_warehouse"] = featureParams(from)
	}
	metrics := map[string]any{"evaluation": res.Metrics, "tree_size": res.Size, "leaves": res.Leaves, "rules": res.Rules}
	if res.Window != nil {
		metrics["windowing"] = res.Window
	}
	write := func(ctx context.Context, tx *sql.Tx, id int64) error {
		return writeDecisionRules(ctx, tx, id, rules, count, len(trainRows))
	}
	if res.ModelID, err = run.save(ctx, modelRecord{Name: o.Name, Status: "ok", Params: params, Metrics: metrics}, write); err != nil {
		return nil, err
	}
	return res, nil
}

// writeDecisionRules writes one kb_rule row per leaf rule: antecedent the
// conditions, consequent the class, support the leaf's share of the
// training weight, confidence 1 − errors/weight, lift confidence over the
// class's training share.
func writeDecisionRules(ctx context.Context, tx *sql.Tx, id int64, rules []tree.Rule, count map[string]int, n int) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO kb_rule (model_id, rule_id, kind, antecedent, consequent, support, confidence, lift, count, detail, length)
        VALUES (?, ?, 'decision', CAST(? AS JSON)::VARCHAR[], ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("decision rules: %w", err)
	}
	defer stmt.Close()
	for i, r := range rules {
		conds := r.Conditions
		if conds == nil {
			conds = []string{}
		}
		cj, _ := json.Marshal(conds)
		detail, _ := json.Marshal(map[string]any{"probs": r.Probs, "weight": r.Weight, "errors": r.Errors})
		conf := 0.0
		if r.Weight > 0 {
			conf = 1 - r.Errors/r.Weight
		}
		lift := conf / (float64(count[r.Class]) / float64(n))
		if _, err := stmt.ExecContext(ctx, id, i+1, string(cj), r.Class, r.Weight/float64(n), conf, lift, int64(math.Round(r.Weight)),
			string(detail), len(conds)+1); err != nil {
			return fmt.Errorf("decision rule %d: %w", i+1, err)
		}
	}
	return nil
}

// classifierMetrics evaluates predictions and positive-class scores with
// mining/evaluate; the JSON has no NaN (an undefined AUC is null).
func classifierMetrics(actual, predicted []string, scores []float64, positive string, trainLabels []string) (TreeMetrics, error) {
	ev, err := evaluate.Evaluate(evaluate.Input{Actual: actual, Predicted: predicted, Scores: scores, Positive: positive, TrainLabels: trainLabels})
	if err != nil {
		return TreeMetrics{}, err
	}
	m := TreeMetrics{TestRows: ev.Rows, Accuracy: ev.Accuracy, ErrorRate: ev.ErrorRate, Majority: ev.Baseline.Class,
		MajorityAccuracy: ev.Baseline.Accuracy, Positive: positive, Lift: ev.Deciles,
		Confusion: &confusionJSON{Classes: ev.Confusion.Classes, Counts: ev.Confusion.Counts}}
	for i := range actual {
		if actual[i] == predicted[i] {
			m.Correct++
		}
	}
	for _, c := range ev.PerClass {
		m.PerClass = append(m.PerClass, map[string]any{"class": c.Class, "precision": c.Precision, "recall": c.Recall, "f1": c.F1, "support": c.Support})
	}
	if !math.IsNaN(ev.AUC) {
		v := ev.AUC
		m.AUC = &v
	}
	return m, nil
}

// BayesOptions configure a naive Bayes classifier learnt from a
// features+label source; the source, split and positive class are read as
// for TreeOptions.
type BayesOptions struct {
	Source       Source
	ID           string
	TestFraction float64 // default 0.3
	Seed         uint64
	SplitCol     string
	Positive     string
	// Alpha is the additive smoothing of categorical likelihoods (0: the
	// textbook relative frequencies; the command's default is 1, Laplace).
	Alpha float64
	Name  string // default "bayes"
	// DryRun learns and evaluates without writing to the knowledge base.
	DryRun bool
	// FromWarehouse builds the cases from the star schema, as for TreeOptions.
	FromWarehouse FeatureOptions
}

// BayesResult summarises a naive Bayes run.
type BayesResult struct {
	ModelID  int64         `json:"model_id"`
	Features []string      `json:"features"`
	Numeric  []string      `json:"numeric"`
	Label    string        `json:"label"`
	Classes  []string      `json:"classes"`
	Dropped  []string      `json:"dropped"`
	Metrics  TreeMetrics   `json:"metrics"`
	ScoreSQL string        `json:"score_sql"`
	Cases    *FeatureStats `json:"cases_from_warehouse,omitempty"`
}

// MineBayes trains naive Bayes (categorical likelihoods with additive
// smoothing, Gaussian numeric ones) on the source's training rows,
// evaluates it on the held-out rows as MineTree does, and stores the model
// (JSON) with its scoring SQL (bayes.PredictSQL, and PosteriorSQL of the
// positive class) in kb_model's params, in one transaction.
func MineBayes(ctx context.Context, w *engine.Warehouse, o BayesOptions) (*BayesResult, error) {
	if o.TestFraction == 0 {
		o.TestFraction = 0.3
	}
	if o.Name == "" {
		o.Name = "bayes"
	}
	if math.IsNaN(o.Alpha) || math.IsInf(o.Alpha, 0) || o.Alpha < 0 {
		return nil, fmt.Errorf("bayes: alpha %v: want a finite number ≥ 0", o.Alpha)
	}
	to := TreeOptions{Source: o.Source, ID: o.ID, Algorithm: AlgoC45, TestFraction: o.TestFraction, Seed: o.Seed, SplitCol: o.SplitCol,
		FromWarehouse: o.FromWarehouse}
	if err := to.validate(); err != nil {
		return nil, fmt.Errorf("bayes: %s", strings.TrimPrefix(err.Error(), "tree: "))
	}
	run, cases, err := to.startLearnRun(ctx, w, "bayes")
	if err != nil {
		return nil, err
	}
	defer run.close()
	o.Source, o.ID = to.Source, to.ID
	d, err := to.readLearnData(ctx, run)
	if err != nil {
		return nil, run.fail(err)
	}
	if err := d.needTwoClasses(o.Source); err != nil {
		return nil, run.fail(err)
	}
	sp, err := to.split(d)
	if err != nil {
		return nil, run.fail(err)
	}
	trainCols, err := bayesColumns(d, sp.Train)
	if err != nil {
		return nil, run.fail(err)
	}
	testCols, err := bayesColumns(d, sp.Test)
	if err != nil {
		return nil, run.fail(err)
	}
	pick := func(rows []int) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = d.labels[r]
		}
		return out
	}
	trainLabels, actual := pick(sp.Train), pick(sp.Test)
	m, err := bayes.Train(trainCols, trainLabels, bayes.Options{Alpha: o.Alpha})
	if err != nil {
		return nil, run.fail(err)
	}
	positive := o.Positive
	if positive == "" {
		for k, c := range m.Classes {
			if positive == "" || m.ClassCount[k] < m.ClassCount[indexOfClass(m.Classes, positive)] {
				positive = c
			}
		}
	}
	pos := indexOfClass(m.Classes, positive)
	if pos < 0 {
		return nil, run.fail(fmt.Errorf("positive class %q is not a class of %q (%s)", positive, o.Source.Label, strings.Join(m.Classes, ", ")))
	}
	sc, err := m.Score(testCols)
	if err != nil {
		return nil, run.fail(err)
	}
	scores := make([]float64, len(actual))
	for i := range scores {
		scores[i] = sc.Posterior[i][pos]
	}
	res := &BayesResult{Features: d.features, Numeric: d.numeric, Label: o.Source.Label, Classes: m.Classes, Dropped: m.Dropped, Cases: cases}
	if res.Metrics, err = classifierMetrics(actual, sc.Predicted, scores, positive, trainLabels); err != nil {
		return nil, run.fail(err)
	}
	res.Metrics.TrainRows = len(sp.Train)
	if res.ScoreSQL, err = m.PredictSQL(); err != nil {
		return nil, run.fail(err)
	}
	probSQL, err := m.PosteriorSQL(positive)
	if err != nil {
		return nil, run.fail(err)
	}
	if o.DryRun {
		return res, nil
	}
	modelJSON, err := json.Marshal(m)
	if err != nil {
		return nil, run.fail(err)
	}
	params := map[string]any{"source": o.Source, "id": o.ID, "alpha": o.Alpha, "test_fraction": o.TestFraction, "seed": o.Seed,
		"split_col": o.SplitCol, "positive": positive, "features": d.features, "numeric": d.numeric, "label": o.Source.Label,
		"classes": m.Classes, "score_sql": res.ScoreSQL, "probability_sql": probSQL, "model": json.RawMessage(modelJSON)}
	if o.FromWarehouse.Enabled() {
		params["from_warehouse"] = featureParams(o.FromWarehouse)
	}
	metrics := map[string]any{"evaluation": res.Metrics, "dropped": m.Dropped}
	if res.ModelID, err = run.save(ctx, modelRecord{Name: o.Name, Status: "ok", Params: params, Metrics: metrics}); err != nil {
		return nil, err
	}
	return res, nil
}

func indexOfClass(classes []string, c string) int {
	for i, x := range classes {
		if x == c {
			return i
		}
	}
	return -1
}

// bayesColumns turns the given rows of the learn data into bayes columns:
// numeric features parsed (” is NaN, missing), the others categorical.
func bayesColumns(d *learnData, rows []int) ([]bayes.Column, error) {
	numeric := map[string]bool{}
	for _, n := range d.numeric {
		numeric[n] = true
	}
	cols := make([]bayes.Column, len(d.features))
	for j, f := range d.features {
		cols[j].Name = f
		if numeric[f] {
			cols[j].Values = make([]float64, len(rows))
			for i, r := range rows {
				v := d.table.Rows[r][j]
				x := math.NaN()
				if v != "" {
					var err error
					if x, err = strconv.ParseFloat(v, 64); err != nil {
						return nil, fmt.Errorf("column %q, row %d: %q is not a number", f, r+1, v)
					}
				}
				cols[j].Values[i] = x
			}
			continue
		}
		cols[j].Categories = make([]string, len(rows))
		for i, r := range rows {
			cols[j].Categories[i] = d.table.Rows[r][j]
		}
	}
	return cols, nil
}
