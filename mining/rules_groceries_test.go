package mining

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// groceriesWarehouse opens an in-memory warehouse with the Groceries baskets
// as the table groceries(basket, item), one row per item of a basket.
func groceriesWarehouse(t testing.TB) *engine.Warehouse {
	t.Helper()
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if err := LoadGroceries(ctx, w.DB, "", "groceries"); err != nil {
		t.Fatal(err)
	}
	// The table holds the file: 9,835 baskets, 43,367 items in all.
	var baskets, lines int
	if err := w.DB.QueryRow(`SELECT count(DISTINCT basket), count(*) FROM groceries`).Scan(&baskets, &lines); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, b := range groceriesLines() {
		want += len(b)
	}
	if baskets != len(groceriesLines()) || baskets != 9835 || lines != want {
		t.Fatalf("groceries: %d baskets, %d items; the file has %d and %d", baskets, lines, len(groceriesLines()), want)
	}
	return w
}

var groceriesSource = Source{Table: "groceries", Basket: "basket", Item: "item"}

// sig6 compares to 6 significant digits.
func sig6(got, want float64) bool {
	return fmt.Sprintf("%.6g", got) == fmt.Sprintf("%.6g", want)
}

// The published arules figures on Groceries (shared/data/README.md):
// rule counts in total and by length, and the top rule by lift with its
// support, confidence and lift to 6 significant digits.
func TestRulesGroceriesPublished(t *testing.T) {
	w := groceriesWarehouse(t)
	ctx := context.Background()
	cases := []struct {
		supp, conf float64
		minLen     int
		total      int
		byLen      map[int]int
		top        string
		s, c, l    float64
		count      int
	}{
		{0.001, 0.8, 0, 410, map[int]int{3: 29, 4: 229, 5: 140, 6: 12},
			"{liquor, red/blush wine} => {bottled beer}", 0.001931876, 0.9047619, 11.23527, 19},
		{0.001, 0.5, 0, 5668, map[int]int{2: 11, 3: 1461, 4: 3211, 5: 939, 6: 46},
			"{Instant food products, soda} => {hamburger meat}", 0.001220132, 0.6315789, 18.99565, 12},
		{0.006, 0.25, 2, 463, map[int]int{2: 150, 3: 297, 4: 16},
			"{herbs} => {root vegetables}", 0.00701576, 0.43125, 3.956477, 69},
	}
	for _, tc := range cases {
		for _, algo := range []string{AlgoFPGrowth, AlgoApriori} {
			t.Run(fmt.Sprintf("%s/%v/%v", algo, tc.supp, tc.conf), func(t *testing.T) {
				res, err := MineRules(ctx, w, RulesOptions{Source: groceriesSource, MinSupport: tc.supp, MinConfidence: tc.conf,
					MinLen: tc.minLen, Algorithm: algo, DryRun: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.Baskets != 9835 || res.Items != 169 {
					t.Errorf("%d baskets of %d items, want 9835 of 169", res.Baskets, res.Items)
				}
				if res.RuleCount != tc.total {
					t.Errorf("%d rules, want %d", res.RuleCount, tc.total)
				}
				if fmt.Sprint(res.ByLength) != fmt.Sprint(tc.byLen) {
					t.Errorf("rules by length %v, want %v", res.ByLength, tc.byLen)
				}
				top := res.Rules[0]
				if top.String() != tc.top || top.Count != tc.count || !sig6(top.Support, tc.s) || !sig6(top.Confidence, tc.c) || !sig6(top.Lift, tc.l) {
					t.Errorf("top rule %s count %d support %.7g confidence %.7g lift %.7g, want %s %d %.7g %.7g %.7g",
						top, top.Count, top.Support, top.Confidence, top.Lift, tc.top, tc.count, tc.s, tc.c, tc.l)
				}
			})
		}
	}
}

// FP-Growth and Apriori find the same rules, rule for rule, with the same
// counts, at each published threshold.
func TestRulesFPGrowthEqualsApriori(t *testing.T) {
	w := groceriesWarehouse(t)
	ctx := context.Background()
	for _, th := range [][2]float64{{0.001, 0.8}, {0.001, 0.5}, {0.006, 0.25}} {
		var got [2]map[string]string
		for i, algo := range []string{AlgoFPGrowth, AlgoApriori} {
			res, err := MineRules(ctx, w, RulesOptions{Source: groceriesSource, MinSupport: th[0], MinConfidence: th[1], Algorithm: algo, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			got[i] = map[string]string{}
			for _, r := range res.Rules {
				got[i][r.String()] = fmt.Sprintf("%d/%d/%d", r.Count, r.AntecedentCount, r.ConsequentCount)
			}
		}
		if len(got[0]) != len(got[1]) {
			t.Errorf("%v: fpgrowth %d rules, apriori %d", th, len(got[0]), len(got[1]))
		}
		var diff []string
		for k, v := range got[0] {
			if got[1][k] != v {
				diff = append(diff, k+" "+v+" vs "+got[1][k])
			}
		}
		if len(diff) > 0 {
			t.Errorf("%v: %d rules differ, e.g. %s", th, len(diff), strings.Join(diff[:min(3, len(diff))], "; "))
		}
	}
}

// BenchmarkMineRulesGroceries times rule mining on Groceries at 0.001 / 0.8
// in process, without the knowledge-base write.
func BenchmarkMineRulesGroceries(b *testing.B) {
	w := groceriesWarehouse(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if _, err := MineRules(ctx, w, RulesOptions{Source: groceriesSource, MinSupport: 0.001, MinConfidence: 0.8, DryRun: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// ckm's rules at 0.001 / 0.8 are, rule for rule with their counts, the
// rules with one item on the right that Weka's Apriori found on the same
// baskets (testdata/groceries/weka_apriori_0.001_0.8.txt, see README.md).
func TestRulesEqualWekaApriori(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "groceries", "weka_apriori_0.001_0.8.txt"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^\s*\d+\. (.*=t) (\d+) ==> (.*=t) (\d+)\s+conf:\(`)
	items := func(s string) []string {
		var out []string
		for _, it := range strings.Split(s+" ", "=t ") {
			if it != "" {
				out = append(out, it)
			}
		}
		sort.Strings(out)
		return out
	}
	weka := map[string]string{}
	multi := 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unreadable Weka rule %q", l)
		}
		cons := items(m[3])
		if len(cons) > 1 {
			multi++
			continue
		}
		weka[Rule{Antecedent: items(m[1]), Consequent: cons[0]}.String()] = m[4] + "/" + m[2]
	}
	if len(weka) != 410 || multi != 3 {
		t.Fatalf("Weka file: %d rules with one item on the right, %d with more", len(weka), multi)
	}
	w := groceriesWarehouse(t)
	res, err := MineRules(context.Background(), w, RulesOptions{Source: groceriesSource, MinSupport: 0.001, MinConfidence: 0.8, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rules {
		if got, want := fmt.Sprintf("%d/%d", r.Count, r.AntecedentCount), weka[r.String()]; got != want {
			t.Errorf("%s: ckm counts %s, Weka %q", r, got, want)
		}
	}
	if len(res.Rules) != len(weka) {
		t.Errorf("ckm %d rules, Weka %d", len(res.Rules), len(weka))
	}
}
