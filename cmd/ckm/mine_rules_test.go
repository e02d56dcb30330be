package main

import (
	"testing"

	"github.com/ckm-dev/ckm/mining"
)

// TestNewMineRulesCmd checks what ckm mine rules parses its flags into and
// that every bad value is a usage error naming the flag.
func TestNewMineRulesCmd(t *testing.T) {
	def := mineRulesOptions{RulesOptions: mining.RulesOptions{MinSupport: 0.01, MinConfidence: 0.5, MinLen: 2, MaxLen: 10,
		Level: "product", Basket: "order", Algorithm: "fpgrowth", Top: 10, MaxItemsets: 2_000_000, Rank: "lift-confidence"}}
	every := def
	every.RulesOptions = mining.RulesOptions{
		Source:     mining.Source{Table: "t", Basket: "b", Item: "i", Category: "c", Customer: "u", Time: "d"},
		MinSupport: 0.001, MinConfidence: 0.8, MinLen: 3, MaxLen: 4, Level: "category", Basket: "customer", Algorithm: "apriori",
		From: day("2024-01-01"), To: day("2024-10-01"), CrossSell: 5, Top: 3, MaxItemsets: 100, Name: "n", DryRun: true, Rank: "confidence"}
	every.HoldoutEnd = day("2025-01-01")
	env := def
	env.MinSupport, env.Algorithm = 0.2, "apriori"
	cases := []parseCase[mineRulesOptions]{
		{name: "defaults", want: def},
		{name: "every flag", args: []string{"--source", "t", "--basket-col", "b", "--item-col", "i", "--category-col", "c", "--customer-col", "u",
			"--time-col", "d", "--min-support", "0.001", "--min-confidence", "0.8", "--min-len", "3", "--max-len", "4", "--level", "category",
			"--basket", "customer", "--algorithm", "apriori", "--from", "2024-01-01", "--to", "2024-10-01", "--holdout-end", "2025-01-01",
			"--cross-sell", "5", "--rank", "confidence", "--top", "3", "--max-itemsets", "100", "--name", "n", "--dry-run"}, want: every},
		{name: "environment", env: map[string]string{"CKM_MINE_RULES_MIN_SUPPORT": "0.2", "CKM_ALGORITHM": "apriori"}, want: env},
		{name: "support NaN", args: []string{"--min-support", "NaN"}, err: "--min-support NaN"},
		{name: "support zero", args: []string{"--min-support", "0"}, err: "--min-support 0"},
		{name: "support negative", args: []string{"--min-support", "-0.1"}, err: "--min-support -0.1"},
		{name: "support above 1", args: []string{"--min-support", "1.5"}, err: "--min-support 1.5"},
		{name: "confidence zero", args: []string{"--min-confidence", "0"}, err: "--min-confidence 0"},
		{name: "confidence above 1", args: []string{"--min-confidence", "2"}, err: "--min-confidence 2"},
		{name: "support from the environment", env: map[string]string{"CKM_MIN_SUPPORT": "-1"}, err: "--min-support -1"},
		{name: "min length zero", args: []string{"--min-len", "0"}, err: "--min-len 0"},
		{name: "max below min", args: []string{"--min-len", "3", "--max-len", "2"}, err: "--max-len 2"},
		{name: "level", args: []string{"--level", "brand"}, err: `--level "brand"`},
		{name: "basket", args: []string{"--basket", "week"}, err: `--basket "week"`},
		{name: "algorithm", args: []string{"--algorithm", "eclat"}, err: `--algorithm "eclat"`},
		{name: "rank", args: []string{"--rank", "lift"}, err: `--rank "lift": want lift-confidence or confidence`},
		{name: "cross-sell negative", args: []string{"--cross-sell", "-1"}, err: "--cross-sell -1"},
		{name: "bad date", args: []string{"--to", "2024-13-01"}, err: "--to"},
		{name: "from after to", args: []string{"--from", "2024-05-01", "--to", "2024-04-01"}, err: "--from 2024-05-01"},
		{name: "holdout without to", args: []string{"--holdout-end", "2025-01-01", "--cross-sell", "5"}, err: "--holdout-end needs --to"},
		{name: "holdout before to", args: []string{"--to", "2025-01-01", "--holdout-end", "2024-01-01", "--cross-sell", "5"}, err: "--holdout-end 2024-01-01"},
		{name: "holdout without N", args: []string{"--to", "2024-10-01", "--holdout-end", "2025-01-01"}, err: "--cross-sell N"},
		{name: "arguments", args: []string{"x"}, err: "unknown command"},
	}
	checkParse(t, []string{"mine"}, newMineRulesCmd, []string{"mine", "rules"}, func(o *mineRulesOptions) { o.app = nil }, cases)
}
