package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/fixtures"
)

// TestNewIdentityExplainCmd: the customer id is parsed; a bad one exits 2.
func TestNewIdentityExplainCmd(t *testing.T) {
	cases := []parseCase[identityExplainOptions]{
		{"customer", nil, []string{"42"}, identityExplainOptions{customer: 42, role: "analyst"}, ""},
		{"reveal", nil, []string{"42", "--role", "steward", "--reveal", "split check"}, identityExplainOptions{customer: 42, role: "steward", reveal: "split check"}, ""},
		{"analyst reveal", nil, []string{"42", "--reveal", "x"}, identityExplainOptions{}, "--reveal"},
		{"not a number", nil, []string{"abc"}, identityExplainOptions{}, `CUSTOMER "abc"`},
		{"zero", nil, []string{"0"}, identityExplainOptions{}, `CUSTOMER "0"`},
	}
	checkParse(t, []string{"identity"}, newIdentityExplainCmd, []string{"identity", "explain"}, func(o *identityExplainOptions) { o.app = nil }, cases)
}

// TestIdentityExplain loads a small world with the hard cases and asks why
// customers are what they are: a customer holding an ID typo shows the typo
// rule naming the ID it is one digit from, which the same customer holds
// as a strong key; a household's shared key shows as shared, naming the
// other member's customer; keys are masked.
func TestIdentityExplain(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	exp, err := fixtures.Generate(context.Background(), fixtures.Options{Out: data, Customers: 800, Days: 120, Seed: 4, HardCases: true})
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "w.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", data, "--as-of", exp.ExportDate); code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	find := func(rule string) int64 {
		out, stderr, code := runCkm(t, "", append(append([]string{"--warehouse", wh, "--format", "json", "sql"}, asAdmin(t)...), "-c",
			"SELECT min(customer_id) AS c FROM identity_link WHERE rule = '"+rule+"'")...)
		var rows []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0]["c"] == nil {
			t.Fatalf("find %s: exit %d %s %s", rule, code, out, stderr)
		}
		return int64(rows[0]["c"].(float64))
	}
	explain := func(c int64) []map[string]any {
		out, stderr, code := runCkm(t, "", "--warehouse", wh, "--format", "json", "identity", "explain", strconv.FormatInt(c, 10))
		var rows []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &rows) != nil {
			t.Fatalf("explain %d: exit %d %s %s", c, code, out, stderr)
		}
		return rows
	}
	typo := explain(find("id_typo"))
	var typoDetail string
	strong := map[string]bool{}
	for _, r := range typo {
		if r["rule"] == "id_typo" {
			typoDetail = r["detail"].(string)
		}
		if r["rule"] == "strong" && r["key_type"] == "id_number" {
			strong[r["key"].(string)] = true
		}
		if r["key_type"] == "id_number" && !strings.Contains(r["key"].(string), "*") {
			t.Errorf("unmasked ID %v", r["key"])
		}
	}
	if !strings.HasPrefix(typoDetail, "one digit from ") || len(strong) == 0 || regexp.MustCompile(`[0-9]{17}`).MatchString(typoDetail) {
		t.Errorf("typo customer: detail %q, strong IDs %v", typoDetail, strong)
	}
	shared := explain(find("shared"))
	ok := false
	for _, r := range shared {
		if r["rule"] == "shared" && strings.HasPrefix(r["detail"].(string), "also held by customers ") {
			ok = true
		}
	}
	if !ok {
		t.Errorf("shared customer: %v", shared)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "identity", "explain", "99999999"); code != exitFailure || !strings.Contains(stderr, "no identity links") {
		t.Errorf("unknown customer: exit %d %s", code, stderr)
	}
}
