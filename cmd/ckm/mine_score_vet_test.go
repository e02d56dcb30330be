package main

import (
	"context"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// ckm mine score and evaluate refuse a model whose stored scoring SQL has
// been edited into more than one expression (score_query: more than one
// query), a statement that is not a query, or a read of a file — and score
// with it again once restored.
func TestMineScoreVetsStoredSQL(t *testing.T) {
	wh := telcoWarehouse(t)
	if _, stderr, code := runCkm(t, "", "mine", "tree", "--warehouse", wh, "--source", "fact_telco", "--id", "customerID", "--label", "Churn", "--split-col", "split"); code != 0 {
		t.Fatalf("mine tree: exit %d: %s", code, stderr)
	}
	set := func(key, expr string) {
		t.Helper()
		w, err := engine.Open(context.Background(), wh, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := w.DB.Exec(`UPDATE kb_model SET params = json_merge_patch(params, json_object(?, ?)) WHERE model_id = 1`, key, expr); err != nil {
			t.Fatal(err)
		}
	}
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stored, storedQuery string
	if err := w.DB.QueryRow(`SELECT params->>'score_sql', params->>'score_query' FROM kb_model WHERE model_id = 1`).Scan(&stored, &storedQuery); err != nil {
		t.Fatal(err)
	}
	w.Close()
	src := "SELECT * FROM fact_telco WHERE split = 'test'"
	for _, c := range []struct{ key, expr, msg string }{
		{"score_sql", "'No') AS prediction, (SELECT 1", "score_sql is not one SQL expression (it parses as 1 statements, 2 columns)"},
		{"score_sql", "1); DROP TABLE kb_rule; SELECT (1", "score_sql"},
		{"score_sql", "(SELECT max(column0) FROM read_csv('/etc/hostname'))", "table function read_csv"},
		{"probability_sql", "(SELECT count(*) FROM duckdb_settings())", "table function duckdb_settings"},
		{"score_query", "SELECT * FROM ckm_rows) AS src; DROP TABLE kb_rule; SELECT * FROM (SELECT 1", "params score_query"},
		{"score_query", "SELECT * FROM ckm_rows) AS src; SELECT 42; SELECT * FROM (SELECT 1", "score_query is not one SQL query (it parses as 3 statements)"},
		{"score_query", "SELECT *, 'No' AS prediction, 0.5 AS probability FROM ckm_rows, read_csv('/etc/hostname')", "table function read_csv"},
	} {
		set(c.key, c.expr)
		for _, cmd := range []string{"score", "evaluate"} {
			_, stderr, code := runCkm(t, "", "mine", cmd, "1", "--warehouse", wh, "--source", src)
			if code == 0 || !strings.Contains(stderr, c.msg) {
				t.Errorf("mine %s with %s %q: exit %d, stderr %q; want a refusal naming %q", cmd, c.key, c.expr, code, stderr, c.msg)
			}
		}
		switch c.key {
		case "score_sql":
			set("score_sql", stored)
		case "score_query":
			set("score_query", storedQuery)
		default:
			set("probability_sql", "")
		}
	}
	out, stderr, code := runCkm(t, "", "mine", "score", "1", "--warehouse", wh, "--source", src, "--format", "json")
	if code != 0 || !strings.Contains(out, "prediction") {
		t.Errorf("mine score with the stored SQL restored: exit %d: %s", code, stderr)
	}
	w, err = engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var n int
	if err := w.DB.QueryRow(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 'kb_rule'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("kb_rule: %d tables (%v)", n, err)
	}
}
