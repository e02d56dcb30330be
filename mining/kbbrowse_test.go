package mining

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// kb list and show return what the operators wrote: the rules model with
// its parameters, its rules in the order mined (by lift) with the same
// measures, its knowledge rows per table; a scores model with its metric
// summaries; an unknown id is ErrNoModel.
func TestListAndShowModels(t *testing.T) {
	w := handBaskets(t)
	ctx := context.Background()
	res, err := MineRules(ctx, w, RulesOptions{Source: handSource, MinSupport: 0.2, MinConfidence: 0.5, CrossSell: 3, Name: "hand rules"})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	scoresID, err := persist(ctx, conn, modelRecord{Kind: "probe", Name: "scores", Status: "ok", Params: map[string]int{"k": 1}},
		scoresWrite(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), `SELECT * FROM (VALUES (1, 'm', 2.0, NULL), (2, 'm', 4.0, NULL), (2, 'n', NULL, 'x')) t(customer_id, metric, value, label)`))
	if err != nil {
		t.Fatal(err)
	}
	all, err := ListModels(ctx, w, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ModelID != scoresID || all[1].ModelID != res.ModelID || all[1].Kind != "rules" || all[1].Name != "hand rules" || all[1].CreatedAt.IsZero() {
		t.Errorf("kb list: %+v", all)
	}
	rules, err := ListModels(ctx, w, "rules")
	if err != nil || len(rules) != 1 || rules[0].ModelID != res.ModelID {
		t.Errorf("kb list rules: %+v (%v)", rules, err)
	}
	d, err := ShowModel(ctx, w, res.ModelID, 4)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(d.Knowledge) != "map[kb_recommendation:3 kb_rule:6]" || !strings.Contains(string(d.Params), `"min_confidence":0.5`) || !strings.Contains(string(d.Metrics), `"rules":6`) {
		t.Errorf("kb show: knowledge %v params %s metrics %s", d.Knowledge, d.Params, d.Metrics)
	}
	if len(d.TopRules) != 4 {
		t.Fatalf("kb show: %d top rules, want 4", len(d.TopRules))
	}
	for i, r := range d.TopRules {
		want := res.Rules[i]
		if r.String() != want.String() || r.ID != want.ID || r.Count != want.Count || r.Lift != want.Lift || r.Confidence != want.Confidence ||
			r.Leverage != want.Leverage || (r.Conviction == nil) != (want.Conviction == nil) {
			t.Errorf("kb show rule %d: %+v, want %+v", i, r, want)
		}
	}
	s, err := ShowModel(ctx, w, scoresID, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Scores) != 2 || s.Scores[0].Metric != "m" || s.Scores[0].Customers != 2 || *s.Scores[0].Mean != 3 || s.Scores[1].Mean != nil || len(s.TopRules) != 0 {
		t.Errorf("kb show scores: %+v", s.Scores)
	}
	if _, err := ShowModel(ctx, w, 99, 4); !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "99") {
		t.Errorf("kb show 99: %v", err)
	}
}
