package mining

import (
	"context"
	"strings"
	"testing"
)

// The version 5 knowledge tables hold a segmentation with its scaling, and
// kb_segment_history answers who moved from which segment to which across
// successive models of one name (models of another name are another
// history).
func TestSegmentHistorySchema(t *testing.T) {
	w := handWarehouse(t, nil)
	ctx := context.Background()
	if _, err := w.DB.ExecContext(ctx, `
        INSERT INTO kb_model (model_id, kind, name, created_at) VALUES
            (1, 'kmeans', 'segments', TIMESTAMP '2024-01-01'), (2, 'kmeans', 'other', TIMESTAMP '2024-02-01'), (3, 'kmeans', 'segments', TIMESTAMP '2024-03-01');
        INSERT INTO kb_segment (model_id, segment_id, label, size, centroid, feature_names, center, scale, feature_means, value_share, inertia) VALUES
            (1, 0, 'big spenders', 1, [1.0, 2.0], ['recency', 'monetary'], [10.0, 100.0], [2.0, 50.0], [12.0, 200.0], 0.8, 0.5),
            (1, 1, 'sleepers', 1, [-1.0, -1.0], ['recency', 'monetary'], [10.0, 100.0], [2.0, 50.0], [8.0, 50.0], 0.2, 0.25),
            (2, 0, 'all', 2, [0.0], ['x'], [0.0], [1.0], [0.0], 1, 0),
            (3, 0, 'big spenders', 1, [1.0, 2.0], ['recency', 'monetary'], [10.0, 100.0], [2.0, 50.0], [12.0, 200.0], 0.9, 0.5),
            (3, 1, 'sleepers', 1, [-1.0, -1.0], ['recency', 'monetary'], [10.0, 100.0], [2.0, 50.0], [8.0, 50.0], 0.1, 0.25);
        INSERT INTO kb_customer_segment (model_id, customer_id, segment_id, distance, as_of) VALUES
            (1, 7, 0, 0.1, DATE '2024-01-01'), (1, 8, 1, 0.2, DATE '2024-01-01'),
            (2, 7, 0, 0, DATE '2024-02-01'), (2, 8, 0, 0, DATE '2024-02-01'),
            (3, 7, 1, 0.3, DATE '2024-03-01'), (3, 8, 1, 0.1, DATE '2024-03-01')`); err != nil {
		t.Fatal(err)
	}
	rows, err := w.DB.QueryContext(ctx, `SELECT prev_label, label, count(*) FROM kb_segment_history
        WHERE model_name = 'segments' AND prev_model_id IS NOT NULL GROUP BY ALL ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var moves []string
	for rows.Next() {
		var from, to string
		var n int
		if err := rows.Scan(&from, &to, &n); err != nil {
			t.Fatal(err)
		}
		moves = append(moves, from+" -> "+to+" "+string(rune('0'+n)))
	}
	if got := strings.Join(moves, "; "); got != "big spenders -> sleepers 1; sleepers -> sleepers 1" {
		t.Errorf("moves between the segments models: %s", got)
	}
	var prev *int64
	if err := w.DB.QueryRowContext(ctx, `SELECT prev_model_id FROM kb_segment_history WHERE model_id = 2 AND customer_id = 7`).Scan(&prev); err != nil || prev != nil {
		t.Errorf("model 'other' continues another history: prev model %v (%v)", prev, err)
	}
}
