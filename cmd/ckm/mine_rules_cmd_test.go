package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

// rulesWarehouse writes a warehouse file with the Groceries baskets as
// groceries(basket, item) and a one-item table.
func rulesWarehouse(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := mining.LoadGroceries(ctx, w.DB, "", "groceries"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec(`CREATE TABLE one_item AS SELECT range AS basket, 'milk' AS item FROM range(5)`); err != nil {
		t.Fatal(err)
	}
	return path
}

// ckm mine rules finds arules' 410 Groceries rules as a whole command, kb
// list and kb show browse the model, and bad input exits 2 (flags) or 1
// (data) without writing knowledge.
func TestMineRulesAndKBCommands(t *testing.T) {
	wh := rulesWarehouse(t)
	src := []string{"--warehouse", wh, "--source", "groceries", "--basket-col", "basket", "--item-col", "item"}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"mine", "rules", "--min-support", "0"}, 2, "--min-support 0: want a number > 0 and <= 1"},
		{[]string{"mine", "rules", "--min-confidence", "1.2"}, 2, "--min-confidence 1.2"},
		{[]string{"mine", "rules", "--level", "brand"}, 2, `--level "brand": want product or category`},
		{[]string{"mine", "rules", "--item-col", "product"}, 1, `unknown item column "product"`},
		{[]string{"mine", "rules", "--source", "one_item"}, 1, "only one distinct item"},
		{[]string{"kb", "show", "1"}, 1, "no such model 1 in kb_model"},
		{[]string{"kb", "show", "first"}, 2, `model "first"`},
	} {
		args := append(append([]string{}, c.args...), src[:2]...) // kb: the warehouse
		if c.args[0] == "mine" {
			// mine rules: the Groceries source, then the case's flags (the last of a repeated flag wins)
			args = append(append(append([]string{}, c.args[:2]...), src...), c.args[2:]...)
		}
		_, stderr, code := runCkm(t, "", args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	out, stderr, code := runCkm(t, "", "kb", "list", "--warehouse", wh, "--format", "json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("kb list after failures: exit %d: %s%s", code, out, stderr)
	}
	out, stderr, code = runCkm(t, "", append([]string{"mine", "rules", "--min-support", "0.001", "--min-confidence", "0.8", "--top", "1", "--format", "json"}, src...)...)
	if code != 0 {
		t.Fatalf("mine rules: exit %d: %s", code, stderr)
	}
	var res struct {
		ModelID int64 `json:"model_id"`
		Rules   int   `json:"rules"`
		Top     []struct {
			Antecedent []string `json:"antecedent"`
			Consequent string   `json:"consequent"`
			Count      int      `json:"count"`
		} `json:"top"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("mine rules json: %v\n%s", err, out)
	}
	if res.ModelID != 1 || res.Rules != 410 || len(res.Top) != 1 || res.Top[0].Consequent != "bottled beer" || res.Top[0].Count != 19 {
		t.Errorf("mine rules: %+v", res)
	}
	out, stderr, code = runCkm(t, "", "kb", "list", "--warehouse", wh, "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "model_id,kind,name,status,created_at,data_version,etl_runs,stale\n1,rules,rules,ok,") {
		t.Errorf("kb list: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = runCkm(t, "", "kb", "show", "1", "--top", "2", "--warehouse", wh, "--format", "json")
	var show struct {
		Kind      string           `json:"kind"`
		Params    map[string]any   `json:"params"`
		Knowledge map[string]int64 `json:"knowledge_rows"`
		TopRules  []struct {
			ID         int      `json:"rule_id"`
			Antecedent []string `json:"antecedent"`
		} `json:"top_rules"`
	}
	if code != 0 {
		t.Fatalf("kb show: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatalf("kb show json: %v\n%s", err, out)
	}
	if show.Kind != "rules" || show.Params["min_confidence"] != 0.8 || show.Knowledge["kb_rule"] != 410 || len(show.TopRules) != 2 ||
		show.TopRules[0].ID != 1 || strings.Join(show.TopRules[0].Antecedent, ",") != "liquor,red/blush wine" {
		t.Errorf("kb show: %+v", show)
	}
}
