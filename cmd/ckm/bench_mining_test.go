package main

import (
	"os"
	"strings"
	"testing"
)

// TestNewBenchMiningCmd checks what ckm bench mining parses its flags into.
func TestNewBenchMiningCmd(t *testing.T) {
	def := benchMiningOptions{repeat: 3, orders: 1000000, weka: "/usr/share/java/weka.jar", java: "java", wekaApriori: true, peerTimeout: 600}
	every := benchMiningOptions{repeat: 1, orders: 0, weka: "w.jar", java: "/j", wekaApriori: false, peerTimeout: 60}
	cases := []parseCase[benchMiningOptions]{
		{name: "defaults", want: def},
		{name: "every flag", args: []string{"--repeat", "1", "--orders", "0", "--weka", "w.jar", "--java", "/j", "--weka-apriori=false", "--peer-timeout", "60"}, want: every},
		{name: "repeat zero", args: []string{"--repeat", "0"}, err: "--repeat 0"},
		{name: "few orders", args: []string{"--orders", "10"}, err: "--orders 10"},
		{name: "timeout", args: []string{"--peer-timeout", "0"}, err: "--peer-timeout 0"},
	}
	checkParse(t, []string{"bench"}, newBenchMiningCmd, []string{"bench", "mining"}, func(o *benchMiningOptions) { o.app = nil }, cases)
}

// The ARFF files Weka reads hold the Groceries baskets: 169 attributes and
// 9,835 data lines, "cream cheese " with its space, and one dense line per
// basket with as many t as distinct items.
func TestGroceriesARFF(t *testing.T) {
	dir := t.TempDir()
	sparse, dense := dir+"/s.arff", dir+"/d.arff"
	if err := writeGroceriesARFF(sparse, dense); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{sparse, dense} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		attrs := strings.Count(s, "@attribute ")
		data := strings.Split(strings.TrimSpace(s[strings.Index(s, "@data\n")+6:]), "\n")
		if attrs != 169 || len(data) != 9835 || !strings.Contains(s, "@attribute 'cream cheese ' ") {
			t.Errorf("%s: %d attributes, %d baskets", f, attrs, len(data))
		}
		if f == dense && strings.Count(data[0], "t") != 4 {
			t.Errorf("first basket (citrus fruit, semi-finished bread, margarine, ready soups): %s", data[0])
		}
		if f == sparse && strings.Count(data[0], " t") != 4 {
			t.Errorf("first basket sparse: %s", data[0])
		}
	}
}

// runWeka's counting of rule lines, on the two output formats (FPGrowth:
// [a=t]: 12 ==> [b=t]: 12 <conf:(1)>; Apriori: a=t 17 ==> b=t c=t 17 conf:(1)).
func TestWekaRuleCount(t *testing.T) {
	out := `FPGrowth found 2 rules (displaying top 2)

  1. [sugar=t, rice=t]: 12 ==> [whole milk=t]: 12   <conf:(1)> lift:(3.91) lev:(0) conv:(8.93)
  2. [a=t]: 12 ==> [whole milk=t, cream cheese =t]: 12   <conf:(1)> lift:(3.91) lev:(0) conv:(8.93)
Apriori
     1. flour=t root vegetables=t whipped/sour cream=t 17 ==> whole milk=t 17    conf:(1)
    10. citrus fruit=t 12 ==> whole milk=t cream cheese =t 12    conf:(1)
`
	if rules, single := countWekaRules(out); rules != 4 || single != 2 {
		t.Errorf("%d rules, %d with one item on the right; want 4 and 2", rules, single)
	}
}
