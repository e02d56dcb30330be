package mining

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining/cluster"
)

// SegmentFeatures are the per-customer features ckm computes from the
// purchases (fact_sales_current: sale lines and returns, reversed and
// restated lines left out) up to the as-of day, for customers with at least
// one purchase day (a day with a sale line, amount ≥ 0) by then:
//   - recency: days from the last purchase day to the as-of day;
//   - frequency: purchase days;
//   - monetary: net amount (sales − returns);
//   - avg_order: sales (amount ≥ 0) per purchase day;
//   - tenure: days from the first purchase day to the as-of day;
//   - returns: amount returned (positive).
var SegmentFeatures = []string{"recency", "frequency", "monetary", "avg_order", "tenure", "returns"}

// DefaultSegmentFeatures are the features used when none are named.
var DefaultSegmentFeatures = []string{"recency", "frequency", "monetary"}

var segmentFeatureSQL = map[string]string{
	"recency":   "CAST(datediff('day', max(day) FILTER (WHERE amount >= 0), $asof) AS DOUBLE)",
	"frequency": "CAST(count(DISTINCT day) FILTER (WHERE amount >= 0) AS DOUBLE)",
	"monetary":  "CAST(sum(amount) AS DOUBLE)",
	"avg_order": "CAST(coalesce(sum(amount) FILTER (WHERE amount >= 0), 0) AS DOUBLE) / count(DISTINCT day) FILTER (WHERE amount >= 0)",
	"tenure":    "CAST(datediff('day', min(day) FILTER (WHERE amount >= 0), $asof) AS DOUBLE)",
	"returns":   "CAST(coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS DOUBLE)",
}

// SegmentsOptions configure a k-means customer segmentation.
type SegmentsOptions struct {
	// Source with an empty Table reads the purchases of fact_sales_current
	// and computes Features from SegmentFeatures. A Table (or query) is
	// instead a feature table: one row per customer, the customer column
	// (Source.Customer, default customer_id) and the feature columns
	// (Features, default every other column), all numeric.
	Source   Source
	Features []string
	// AsOf is the day the built-in features are computed at (default: the
	// last purchase day).
	AsOf time.Time
	// K is the number of segments; KRange, when set, fits each k in it and
	// reports inertia and silhouette (SegmentsResult.KReport), and stores a
	// model only when K is also set.
	K      int
	KRange []int
	// Seed, Restarts and Algorithm are cluster.Options'.
	Seed      uint64
	Restarts  int
	Algorithm string
	// SilhouetteSample bounds the rows the silhouette is computed on
	// (drawn from Seed; default 5000).
	SilhouetteSample int
	// Name labels the model in kb_model ("segments"); successive models of
	// one name form kb_segment_history.
	Name   string
	DryRun bool
}

// SegmentProfile is one stored segment.
type SegmentProfile struct {
	Segment    int       `json:"segment"`
	Label      string    `json:"label"`
	Size       int       `json:"size"`
	Share      float64   `json:"share"`
	ValueShare *float64  `json:"value_share"` // nil without a value (feature sources)
	Means      []float64 `json:"means"`
	Z          []float64 `json:"z"`
	Inertia    float64   `json:"inertia"`
}

// SegmentsResult summarises a segmentation.
type SegmentsResult struct {
	ModelID    int64             `json:"model_id"`
	AsOf       string            `json:"as_of,omitempty"`
	Customers  int               `json:"customers"`
	Features   []string          `json:"features"`
	K          int               `json:"k"`
	Inertia    float64           `json:"inertia"`
	Silhouette *float64          `json:"silhouette"` // nil for k = 1
	Iterations int               `json:"iterations"`
	Converged  bool              `json:"converged"`
	Segments   []SegmentProfile  `json:"segments"`
	KReport    []cluster.KChoice `json:"k_report,omitempty"`
	BestK      int               `json:"best_k,omitempty"`
	Model      cluster.Model     `json:"-"`
}

func (o SegmentsOptions) withDefaults() SegmentsOptions {
	if o.Name == "" {
		o.Name = "segments"
	}
	if o.SilhouetteSample == 0 {
		o.SilhouetteSample = 5000
	}
	if o.Source.Customer == "" {
		o.Source.Customer = "customer_id"
	}
	if o.Source.Table == "" && len(o.Features) == 0 {
		o.Features = DefaultSegmentFeatures
	}
	return o
}

func (o SegmentsOptions) validate() error {
	if o.K < 0 || (o.K == 0 && len(o.KRange) == 0) {
		return fmt.Errorf("segments: k = %d: need at least 1 segment (or a k range)", o.K)
	}
	for _, k := range o.KRange {
		if k < 2 {
			return fmt.Errorf("segments: k range holds %d: the silhouette needs k ≥ 2", k)
		}
	}
	if o.Restarts < 0 || o.SilhouetteSample < 2 {
		return fmt.Errorf("segments: restarts %d must not be negative, silhouette sample %d must be at least 2", o.Restarts, o.SilhouetteSample)
	}
	switch cluster.Algorithm(o.Algorithm) {
	case "", cluster.Lloyd, cluster.Hamerly, cluster.Elkan:
	default:
		return fmt.Errorf("segments: algorithm %q: want lloyd, hamerly or elkan", o.Algorithm)
	}
	seen := map[string]bool{}
	for _, f := range o.Features {
		if f == "" {
			return fmt.Errorf("segments: empty feature name")
		}
		if seen[f] {
			return fmt.Errorf("segments: feature %q named twice", f)
		}
		seen[f] = true
		if o.Source.Table == "" && segmentFeatureSQL[f] == "" {
			return fmt.Errorf("segments: unknown feature %q (want %s, or a --source of per-customer features)", f, strings.Join(SegmentFeatures, ", "))
		}
	}
	return nil
}

// CheckSegmentFeature reports a feature name ckm does not compute.
func CheckSegmentFeature(f string) error {
	if segmentFeatureSQL[f] == "" {
		return fmt.Errorf("unknown feature %q (want %s)", f, strings.Join(SegmentFeatures, ", "))
	}
	return nil
}

// segmentTemp holds the run's features: customer_id, one DOUBLE column per
// feature (named f0, f1, …) and value (the net amount, NULL for feature
// sources).
const segmentTemp = "ckm_segment_features"

// featuresSQL returns the SELECT of segmentTemp.
func (o SegmentsOptions) featuresSQL(asOf time.Time) string {
	q := engine.QuoteIdent
	cols := make([]string, len(o.Features))
	if o.Source.Table == "" {
		src := Source{Table: "fact_sales_current"}.withDefaults()
		for j, f := range o.Features {
			cols[j] = strings.ReplaceAll(segmentFeatureSQL[f], "$asof", dateLit(asOf)) + " AS f" + strconv.Itoa(j)
		}
		return fmt.Sprintf(`SELECT customer_id, %s, CAST(sum(amount) AS DOUBLE) AS value
FROM (%s) WHERE day <= %s GROUP BY customer_id HAVING count(*) FILTER (WHERE amount >= 0) > 0`,
			strings.Join(cols, ", "), src.purchasesSQL(false), dateLit(asOf))
	}
	for j, f := range o.Features {
		cols[j] = "CAST(" + q(f) + " AS DOUBLE) AS f" + strconv.Itoa(j)
	}
	return fmt.Sprintf("SELECT CAST(%s AS BIGINT) AS customer_id, %s, CAST(NULL AS DOUBLE) AS value FROM %s AS src",
		q(o.Source.Customer), strings.Join(cols, ", "), o.Source.relation())
}

// Segments clusters customers with k-means on standardised features:
// DuckDB computes one row of features per customer, Go reads them as
// columns, standardises them, fits k-means (cluster.KMeans) and profiles
// the segments; the model (scaling and centroids in kb_segment) and every
// customer's segment (kb_customer_segment, computed in DuckDB from the
// stored scaling and centroids, the same as cluster.Model.Assign) are
// written in one transaction.
func Segments(ctx context.Context, w *engine.Warehouse, o SegmentsOptions) (*SegmentsResult, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	var run *opRun
	var err error
	asOf := o.AsOf
	if o.Source.Table == "" {
		purchases := Source{Table: "fact_sales_current"}.withDefaults()
		if run, err = startRun(ctx, w, "segments", purchases, purchaseRoles...); err != nil {
			return nil, err
		}
		defer run.close()
		if asOf, err = resolveAsOf(ctx, w, purchases, o.AsOf); err != nil {
			return nil, run.fail(err)
		}
	} else {
		if len(o.Features) == 0 {
			cols, err := o.Source.columns(ctx, w.DB)
			if err != nil {
				return nil, fmt.Errorf("segments: %w", err)
			}
			for _, c := range cols {
				if !strings.EqualFold(c, o.Source.Customer) {
					o.Features = append(o.Features, c)
				}
			}
			if len(o.Features) == 0 {
				return nil, fmt.Errorf("segments: %s has no feature column besides %s", o.Source.name(), o.Source.Customer)
			}
		}
		o.Source.Features = strings.Join(o.Features, ",")
		if run, err = startRun(ctx, w, "segments", o.Source, RoleCustomer, RoleFeatures); err != nil {
			return nil, err
		}
		defer run.close()
	}
	if err := run.temp(ctx, segmentTemp, o.featuresSQL(asOf)); err != nil {
		return nil, run.fail(err)
	}
	ids, cols, value, err := readSegmentFeatures(ctx, run.conn, len(o.Features))
	if err != nil {
		return nil, run.fail(err)
	}
	res := &SegmentsResult{Customers: len(ids), Features: o.Features, K: o.K}
	if o.Source.Table == "" {
		res.AsOf = asOf.Format(time.DateOnly)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("segments: %w: no customers to segment", ErrEmpty)
	}
	raw, err := cluster.FromColumns(o.Features, cols)
	if err != nil {
		return nil, run.fail(err)
	}
	x, scaling, err := cluster.Standardize(raw, o.Features)
	if err != nil {
		return nil, run.fail(err)
	}
	copt := cluster.Options{K: o.K, Seed: o.Seed, Restarts: o.Restarts, Algorithm: cluster.Algorithm(o.Algorithm)}
	if len(o.KRange) > 0 {
		for _, k := range o.KRange {
			if k > len(ids) {
				return nil, fmt.Errorf("segments: k range holds %d, more than the %d customers", k, len(ids))
			}
		}
		if res.KReport, res.BestK, err = cluster.SelectK(ctx, x, o.KRange, copt, o.SilhouetteSample); err != nil {
			return nil, run.fail(err)
		}
		if o.K == 0 {
			return res, nil
		}
	}
	if o.K > len(ids) {
		return nil, fmt.Errorf("segments: k = %d is more than the %d customers", o.K, len(ids))
	}
	fit, err := cluster.KMeans(ctx, x, copt)
	if err != nil {
		return nil, run.fail(err)
	}
	res.Model = cluster.Model{Scaling: scaling, Centroids: fit.Centroids}
	// The stored assignment is the model's: nearest centroid over the stored
	// scaling, which the SQL of the write and ckm_segment_of compute alike.
	labels, err := res.Model.AssignColumns(cols)
	if err != nil {
		return nil, run.fail(err)
	}
	res.Inertia, res.Iterations, res.Converged = fit.Inertia, fit.Iterations, fit.Converged
	if o.K >= 2 && o.K < len(ids) {
		sil, err := cluster.SilhouetteSample(x, labels, o.K, o.SilhouetteSample, o.Seed)
		if err == nil {
			res.Silhouette = &sil
		}
	}
	if o.Source.Table != "" {
		value = nil
	}
	profiles, err := cluster.Profiles(raw, scaling, labels, o.K, value)
	if err != nil {
		return nil, run.fail(err)
	}
	// A feature table's "recency" may mean anything; the built-in one is days.
	res.Segments = segmentProfiles(profiles, x, labels, fit.Centroids, o.Source.Table == "")
	if o.DryRun {
		return res, nil
	}
	params := map[string]any{"features": o.Features, "k": o.K, "seed": o.Seed, "restarts": fit.Restarts,
		"algorithm": string(copt.Algorithm), "silhouette_sample": o.SilhouetteSample}
	if o.Source.Table != "" {
		params["source"] = o.Source
	} else {
		params["as_of"] = res.AsOf
	}
	if len(o.KRange) > 0 {
		params["k_range"] = o.KRange
	}
	metrics := map[string]any{"customers": res.Customers, "inertia": res.Inertia, "silhouette": res.Silhouette,
		"iterations": res.Iterations, "converged": res.Converged}
	rec := modelRecord{Name: o.Name, Status: "ok", AsOf: asOf, Params: params, Metrics: metrics}
	storeAsOf := asOf
	if storeAsOf.IsZero() {
		storeAsOf = time.Now().UTC()
	}
	res.ModelID, err = run.save(ctx, rec, segmentsWrite(res, scaling, fit.Centroids), customerSegmentsWrite(len(o.Features), storeAsOf, res))
	if err != nil {
		return nil, err
	}
	return res, nil
}

// readSegmentFeatures reads segmentTemp as columns.
func readSegmentFeatures(ctx context.Context, conn *sql.Conn, d int) ([]int64, [][]float64, []float64, error) {
	names := make([]string, d)
	for j := range names {
		names[j] = "f" + strconv.Itoa(j)
	}
	rows, err := conn.QueryContext(ctx, "SELECT customer_id, "+strings.Join(names, ", ")+", value FROM "+segmentTemp+" ORDER BY customer_id")
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	var ids []int64
	cols := make([][]float64, d)
	var value []float64
	dest := make([]any, d+2)
	var id *int64
	vals := make([]*float64, d)
	var v *float64
	dest[0] = &id
	for j := range vals {
		dest[j+1] = &vals[j]
	}
	dest[d+1] = &v
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, nil, err
		}
		if id == nil {
			return nil, nil, nil, fmt.Errorf("a row without customer id")
		}
		for j, p := range vals {
			if p == nil {
				return nil, nil, nil, fmt.Errorf("customer %d has no value for feature #%d (drop or impute it first)", *id, j)
			}
			cols[j] = append(cols[j], *p)
		}
		ids = append(ids, *id)
		if v != nil {
			value = append(value, *v)
		} else {
			value = append(value, 0)
		}
	}
	return ids, cols, value, rows.Err()
}

// recencyWords reads the recency feature (days since the last purchase)
// the way a marketer says it.
var recencyWords = strings.NewReplacer("very high recency", "very long since last purchase", "very low recency", "bought very recently",
	"high recency", "long since last purchase", "low recency", "bought recently")

// sameWords reports whether two labels name the same features at the same
// levels in another order ("high frequency, high monetary" and "high
// monetary, high frequency").
func sameWords(a, b string) bool {
	pa, pb := strings.Split(a, ", "), strings.Split(b, ", ")
	slices.Sort(pa)
	slices.Sort(pb)
	return a != b && slices.Equal(pa, pb)
}

// segmentProfiles gives each segment a unique label (recency in words when
// it is the built-in days since the last purchase) and its inertia. Two
// segments whose labels name the same features in another order (each
// label leads with the feature farthest from the mean) read alike, so
// their leading feature is called very high or very low.
func segmentProfiles(ps []cluster.Profile, x cluster.Matrix, labels []int, cents [][]float64, recencyDays bool) []SegmentProfile {
	inertia := make([]float64, len(ps))
	for i, l := range labels {
		for j, v := range x.Row(i) {
			t := v - cents[l][j]
			inertia[l] += t * t
		}
	}
	seen := map[string]int{}
	out := make([]SegmentProfile, len(ps))
	for c, p := range ps {
		lbl := p.Label
		for d, q := range ps {
			if d != c && sameWords(p.Label, q.Label) {
				lbl = "very " + lbl
				break
			}
		}
		if recencyDays {
			lbl = recencyWords.Replace(lbl)
		}
		seen[lbl]++
		if seen[lbl] > 1 {
			lbl = fmt.Sprintf("%s (%d)", lbl, seen[lbl])
		}
		sp := SegmentProfile{Segment: c, Label: lbl, Size: p.Size, Share: p.Share, Means: p.Means, Z: p.Z, Inertia: inertia[c]}
		if !math.IsNaN(p.ValueShare) {
			vs := p.ValueShare
			sp.ValueShare = &vs
		}
		out[c] = sp
	}
	return out
}

func doubleList(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = "'" + strconv.FormatFloat(x, 'g', -1, 64) + "'"
	}
	return "CAST([" + strings.Join(parts, ", ") + "] AS DOUBLE[])"
}

func segmentsWrite(res *SegmentsResult, s cluster.Scaling, cents [][]float64) kbWrite {
	return func(ctx context.Context, tx *sql.Tx, id int64) error {
		names := make([]string, len(res.Features))
		for j, f := range res.Features {
			names[j] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
		}
		for c, p := range res.Segments {
			var vs any
			if p.ValueShare != nil {
				vs = *p.ValueShare
			}
			q := fmt.Sprintf(`INSERT INTO kb_segment (model_id, segment_id, label, size, centroid, description, feature_names, center, scale, feature_means, value_share, inertia)
                VALUES (?, ?, ?, ?, %s, ?, CAST([%s] AS VARCHAR[]), %s, %s, %s, ?, ?)`,
				doubleList(cents[c]), strings.Join(names, ", "), doubleList(s.Mean), doubleList(s.Scale), doubleList(p.Means))
			desc := fmt.Sprintf("%d customers (%.1f%%): %s", p.Size, 100*p.Share, p.Label)
			if _, err := tx.ExecContext(ctx, q, id, c, p.Label, p.Size, desc, vs, p.Inertia); err != nil {
				return fmt.Errorf("segments: %w", err)
			}
		}
		return nil
	}
}

// customerSegmentsWrite assigns every customer of segmentTemp in DuckDB
// with ckm_segment_of over the kb_segment rows just written, stores the
// distance to the centroid, and checks the segment sizes against Go's.
func customerSegmentsWrite(d int, asOf time.Time, res *SegmentsResult) kbWrite {
	return func(ctx context.Context, tx *sql.Tx, id int64) error {
		names := make([]string, d)
		for j := range names {
			names[j] = "f" + strconv.Itoa(j)
		}
		feats := "[" + strings.Join(names, ", ") + "]"
		q := fmt.Sprintf(`INSERT INTO kb_customer_segment (model_id, customer_id, segment_id, distance, as_of)
            SELECT %[1]d, f.customer_id, f.segment_id, sqrt(list_sum(list_transform(list_zip(f.x, s.center, s.scale, s.centroid),
                t -> ((t[1] - t[2]) / t[3] - t[4]) * ((t[1] - t[2]) / t[3] - t[4])))), %[2]s
            FROM (SELECT customer_id, ckm_segment_of(%[1]d, %[3]s) AS segment_id, %[3]s AS x FROM %[4]s) f
            JOIN kb_segment s ON s.model_id = %[1]d AND s.segment_id = f.segment_id`, id, dateLit(asOf), feats, segmentTemp)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("customer segments: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT segment_id, count(*) FROM kb_customer_segment WHERE model_id = ? GROUP BY segment_id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		got := map[int]int{}
		total := 0
		for rows.Next() {
			var s, n int
			if err := rows.Scan(&s, &n); err != nil {
				return err
			}
			got[s], total = n, total+n
		}
		if total != res.Customers {
			return fmt.Errorf("customer segments: %d customers assigned in SQL, %d segmented", total, res.Customers)
		}
		for _, p := range res.Segments {
			if got[p.Segment] != p.Size {
				return fmt.Errorf("customer segments: segment %d has %d customers in SQL, %d in Go", p.Segment, got[p.Segment], p.Size)
			}
		}
		return rows.Err()
	}
}
