package mining

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining/cluster"
)

// segmentSales is a deterministic purchase history of 90 customers in
// three kinds as of 2024-12-31: frequent big spenders (a purchase every
// 10 days over the last 100, a return now and then), recent small buyers
// (2 purchases in the last month) and lapsed customers (one purchase a
// year ago or more).
func segmentSales() []sale {
	end := ymd("2024-12-31")
	var out []sale
	for c := int64(1); c <= 90; c++ {
		switch c % 3 {
		case 0:
			for d := 0; d < 100; d += 10 {
				out = append(out, sale{c, end.AddDate(0, 0, -d-int(c%7)).Format(time.DateOnly), float64(200 + c), 0})
			}
			if c%2 == 0 {
				out = append(out, sale{c, end.AddDate(0, 0, -5).Format(time.DateOnly), -40, 0})
			}
		case 1:
			out = append(out, sale{c, end.AddDate(0, 0, -3-int(c%11)).Format(time.DateOnly), 20 + float64(c%5), 0},
				sale{c, end.AddDate(0, 0, -20-int(c%9)).Format(time.DateOnly), 25, 0})
		case 2:
			out = append(out, sale{c, end.AddDate(0, 0, -365-int(c)).Format(time.DateOnly), 50 + float64(c%13), 0})
		}
	}
	return out
}

func ymd(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// rfmByHand computes recency, frequency and monetary per customer in Go,
// independently of the SQL: purchase days are days with a sale (amount ≥ 0).
func rfmByHand(sales []sale, asOf time.Time) (ids []int64, cols [][]float64) {
	days := map[int64]map[string]bool{}
	last := map[int64]time.Time{}
	money := map[int64]float64{}
	for _, s := range sales {
		d := ymd(s.day)
		if d.After(asOf) {
			continue
		}
		money[s.customer] += s.amount
		if s.amount >= 0 {
			if days[s.customer] == nil {
				days[s.customer] = map[string]bool{}
			}
			days[s.customer][s.day] = true
			if d.After(last[s.customer]) {
				last[s.customer] = d
			}
		}
	}
	for c := range days {
		ids = append(ids, c)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	cols = make([][]float64, 3)
	for _, c := range ids {
		cols[0] = append(cols[0], asOf.Sub(last[c]).Hours()/24)
		cols[1] = append(cols[1], float64(len(days[c])))
		cols[2] = append(cols[2], money[c])
	}
	return ids, cols
}

// storedModel reads a segmentation model back from kb_segment.
func storedModel(t *testing.T, w *engine.Warehouse, id int64) cluster.Model {
	t.Helper()
	rows, err := w.DB.Query(`SELECT centroid, center, scale FROM kb_segment WHERE model_id = ? ORDER BY segment_id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var m cluster.Model
	for n := 0; rows.Next(); n++ {
		var cent, center, scale any
		if err := rows.Scan(&cent, &center, &scale); err != nil {
			t.Fatal(err)
		}
		m.Centroids = append(m.Centroids, floatList(t, cent))
		m.Scaling.Mean, m.Scaling.Scale = floatList(t, center), floatList(t, scale)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func floatList(t *testing.T, v any) []float64 {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("list %T", v)
	}
	out := make([]float64, len(l))
	for i, x := range l {
		out[i] = x.(float64)
	}
	return out
}

// customerSegments reads customer → segment of a model.
func customerSegments(t *testing.T, w *engine.Warehouse, id int64) map[int64]int {
	t.Helper()
	rows, err := w.DB.Query(`SELECT customer_id, segment_id FROM kb_customer_segment WHERE model_id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var c int64
		var s int
		if err := rows.Scan(&c, &s); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[c]; dup {
			t.Errorf("customer %d has two segments under model %d", c, id)
		}
		out[c] = s
	}
	return out
}

// The built-in features match a hand calculation: customer 1 bought on two
// days (one with two lines) and returned 30; customer 2 only after the as-of day.
func TestSegmentFeaturesSQL(t *testing.T) {
	w := handWarehouse(t, []sale{{1, "2024-01-10", 100, 0}, {1, "2024-01-10", 20, 0}, {1, "2024-03-01", 60, 0},
		{1, "2024-03-05", -30, 0}, {2, "2024-05-01", 10, 0}})
	o := SegmentsOptions{Features: SegmentFeatures}
	var id int64
	var f [6]float64
	var value float64
	if err := w.DB.QueryRow(o.featuresSQL(ymd("2024-03-31"))).Scan(&id, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &value); err != nil {
		t.Fatal(err)
	}
	// recency 30 days, frequency 2 days, monetary 150, avg_order 180/2, tenure 81 days, returns 30
	if id != 1 || f != [6]float64{30, 2, 150, 90, 81, 30} || value != 150 {
		t.Errorf("features of customer %d: %v, value %v", id, f, value)
	}
}

// Segments stores a model whose sizes add up to the customers, gives every
// customer one segment, and the stored scaling and centroids reproduce the
// stored assignment in Go (cluster.Model.Assign over features computed
// independently in Go) and in SQL (ckm_segment_of); a second model of the
// same name after one customer's purchases change shows the move in
// kb_segment_history.
func TestSegmentsEndToEnd(t *testing.T) {
	sales := segmentSales()
	w := handWarehouse(t, sales)
	ctx := context.Background()
	asOf := ymd("2024-12-31")
	res, err := Segments(ctx, w, SegmentsOptions{K: 3, Seed: 7, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	ids, cols := rfmByHand(sales, asOf)
	if res.Customers != 90 || len(ids) != 90 || res.ModelID != 1 || len(res.Segments) != 3 {
		t.Fatalf("customers %d (by hand %d), model %d, %d segments", res.Customers, len(ids), res.ModelID, len(res.Segments))
	}
	var sizes, dbSizes int
	for _, s := range res.Segments {
		sizes += s.Size
		if s.Size != 30 {
			t.Errorf("segment %d (%s) has %d customers, want the 30 of one kind", s.Segment, s.Label, s.Size)
		}
	}
	if err := w.DB.QueryRow(`SELECT sum(size) FROM kb_segment WHERE model_id = 1`).Scan(&dbSizes); err != nil || sizes != 90 || dbSizes != 90 {
		t.Errorf("sizes sum to %d, stored %d (%v)", sizes, dbSizes, err)
	}
	m := storedModel(t, w, 1)
	got := customerSegments(t, w, 1)
	if len(got) != 90 {
		t.Errorf("%d customers in kb_customer_segment, want 90", len(got))
	}
	kind := map[int64]int{} // the segment of each kind must be one
	row := make([]float64, 3)
	for i, c := range ids {
		for j := range row {
			row[j] = cols[j][i]
		}
		want, err := m.Assign(row)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := got[c]; !ok || s != want {
			t.Errorf("customer %d: stored segment %d (%v), Assign over the stored model %d", c, s, ok, want)
		}
		if k, ok := kind[c%3]; ok && k != want {
			t.Errorf("customer %d of kind %d in segment %d, others of its kind in %d", c, c%3, want, k)
		}
		kind[c%3] = want
	}
	// Readable labels: the lapsed kind is long since its last purchase, the
	// big spenders high in frequency and money, the small recent buyers recent.
	for k, want := range map[int64]string{0: "high frequency", 1: "bought recently", 2: "long since last purchase"} {
		if l := res.Segments[kind[k]].Label; !strings.Contains(l, want) {
			t.Errorf("segment of kind %d is labelled %q, want %q in it", k, l, want)
		}
	}
	// ckm_segment_of over the hand-computed features equals Assign.
	if _, err := w.DB.Exec(`CREATE TABLE hand_features (customer_id BIGINT, recency DOUBLE, frequency DOUBLE, monetary DOUBLE)`); err != nil {
		t.Fatal(err)
	}
	for i, c := range ids {
		if _, err := w.DB.Exec(`INSERT INTO hand_features VALUES (?, ?, ?, ?)`, c, cols[0][i], cols[1][i], cols[2][i]); err != nil {
			t.Fatal(err)
		}
	}
	var mismatches, n int
	if err := w.DB.QueryRow(`SELECT count(*) FILTER (WHERE ckm_segment_of(1, [recency, frequency, monetary]) IS DISTINCT FROM cs.segment_id), count(*)
        FROM hand_features h JOIN kb_customer_segment cs ON cs.model_id = 1 AND cs.customer_id = h.customer_id`).Scan(&mismatches, &n); err != nil || mismatches != 0 || n != 90 {
		t.Errorf("ckm_segment_of: %d of %d differ from the stored (= Go) segments (%v)", mismatches, n, err)
	}
	for _, c := range []struct {
		features string
	}{{"[1.0, 2.0]"}, {"[1.0, NULL, 3.0]"}, {"[1.0, 'NaN'::DOUBLE, 3.0]"}, {"[1.0, 2.0, 3.0, 4.0]"}} {
		var s *int
		if err := w.DB.QueryRow(`SELECT ckm_segment_of(1, ` + c.features + `)`).Scan(&s); err != nil || s != nil {
			t.Errorf("ckm_segment_of(1, %s) = %v (%v), want NULL", c.features, s, err)
		}
	}
	var none *int
	if err := w.DB.QueryRow(`SELECT ckm_segment_of(99, [1.0, 2.0, 3.0])`).Scan(&none); err != nil || none != nil {
		t.Errorf("ckm_segment_of of a missing model = %v (%v)", none, err)
	}

	// Customer 2 (lapsed) turns into a big frequent spender.
	var more []sale
	for d := 0; d < 100; d += 10 {
		more = append(more, sale{2, asOf.AddDate(0, 0, -d).Format(time.DateOnly), 260, 0})
	}
	for i, s := range more {
		if _, err := w.DB.Exec(`INSERT INTO fact_sales (order_id, line_no, order_ts, customer_id, amount, cost_amount, is_return, etl_run_id)
            VALUES (?, 1, CAST(? AS TIMESTAMP), 2, ?, 0, false, 1)`, fmt.Sprintf("more%d", i), s.day, s.amount); err != nil {
			t.Fatal(err)
		}
	}
	res2, err := Segments(ctx, w, SegmentsOptions{K: 3, Seed: 7, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	var prevLabel, label string
	if err := w.DB.QueryRow(`SELECT prev_label, label FROM kb_segment_history WHERE model_id = ? AND customer_id = 2`, res2.ModelID).Scan(&prevLabel, &label); err != nil {
		t.Fatal(err)
	}
	bigLabel := res.Segments[got[3]].Label // customer 3 is a big frequent spender
	lapsedLabel := res.Segments[got[2]].Label
	if prevLabel != lapsedLabel || label != bigLabel || label == prevLabel {
		t.Errorf("customer 2 moved %q -> %q, want %q -> %q", prevLabel, label, lapsedLabel, bigLabel)
	}
	var moved int
	if err := w.DB.QueryRow(`SELECT count(*) FROM kb_segment_history WHERE model_id = ? AND prev_label IS DISTINCT FROM label`, res2.ModelID).Scan(&moved); err != nil || moved != 1 {
		t.Errorf("%d customers moved, want only customer 2 (%v)", moved, err)
	}
}

// Two segments high on the same two features, in another order, read
// alike ("high frequency, high monetary" / "high monetary, high
// frequency"): each leads with its stronger feature called very high; a
// label no other segment shares in another order stays as it is, and
// recency reads in words.
func TestSegmentLabelsDistinct(t *testing.T) {
	ps := []cluster.Profile{
		{Label: "high frequency, high monetary", Z: []float64{0, 2.1, 1.4}},
		{Label: "high monetary, high frequency", Z: []float64{0, 1.2, 2.6}},
		{Label: "low recency, high frequency", Z: []float64{-1.5, 0.8, 0}},
		{Label: "high frequency, low recency", Z: []float64{-0.9, 1.3, 0}},
		{Label: "average", Z: []float64{0, 0, 0}},
	}
	got := segmentProfiles(ps, cluster.Matrix{}, nil, nil, true)
	want := []string{"very high frequency, high monetary", "very high monetary, high frequency",
		"bought very recently, high frequency", "very high frequency, bought recently", "average"}
	for i, w := range want {
		if got[i].Label != w {
			t.Errorf("segment %d: label %q, want %q", i, got[i].Label, w)
		}
	}
}
