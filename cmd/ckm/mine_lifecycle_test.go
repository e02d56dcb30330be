package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// lifecycleWarehouse is mineWarehouse (five customers' purchases, the last
// on 2024-12-30) with a current dim_customer version for each, typed current.
func lifecycleWarehouse(t *testing.T) string {
	t.Helper()
	path := mineWarehouse(t)
	w, err := engine.Open(context.Background(), path, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB.Exec(`INSERT INTO dim_customer (customer_key, customer_id, name, customer_type, valid_from, valid_to, is_current)
		SELECT 10 + i, i, 'C' || i, 'current', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true FROM range(1, 6) t(i)`); err != nil {
		t.Fatal(err)
	}
	return path
}

// dimCustomerState counts dim_customer's versions and the knowledge base's models.
func dimCustomerState(t *testing.T, path string) (versions, models int64) {
	t.Helper()
	w, err := engine.Open(context.Background(), path, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM dim_customer), (SELECT count(*) FROM kb_model)`).Scan(&versions, &models); err != nil {
		t.Fatal(err)
	}
	return versions, models
}

// TestMineLifecycleDryRun checks that --dry-run reports the changes the
// typing would write and writes nothing: no dim_customer version, no model.
func TestMineLifecycleDryRun(t *testing.T) {
	wh := lifecycleWarehouse(t)
	versions, models := dimCustomerState(t, wh)
	// As of 2024-12-30 (the last sale) with 150 churn days: customers 3 (2024-07-01) and 4
	// (2024-03-01) are churned.
	out, stderr, code := runCkm(t, "", "mine", "lifecycle", "--warehouse", wh, "--as-of", "2024-12-30", "--churn-days", "150", "--dry-run", "--format", "json")
	if code != 0 {
		t.Fatalf("mine lifecycle --dry-run: exit %d: %s", code, stderr)
	}
	var res struct {
		ModelID int64 `json:"model_id"`
		Changed int64 `json:"changed"`
		DryRun  bool  `json:"dry_run"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if res.Changed != 2 || !res.DryRun || res.ModelID != 0 {
		t.Errorf("dry run: %+v, want 2 changes, dry_run true and no model", res)
	}
	if v, m := dimCustomerState(t, wh); v != versions || m != models {
		t.Errorf("dry run wrote: dim_customer %d → %d versions, kb_model %d → %d", versions, v, models, m)
	}
	_, stderr, code = runCkm(t, "", "mine", "lifecycle", "--warehouse", wh, "--as-of", "2024-12-30", "--churn-days", "150", "--dry-run")
	if code != 0 || !strings.Contains(stderr, "dry run: would change the type of 2 customers") || !strings.Contains(stderr, "nothing written") {
		t.Errorf("dry run: exit %d, stderr %q; want it to say what would change and that nothing was written", code, stderr)
	}
	// Without --dry-run the same call writes the two new versions.
	if _, stderr, code := runCkm(t, "", "mine", "lifecycle", "--warehouse", wh, "--as-of", "2024-12-30", "--churn-days", "150"); code != 0 {
		t.Fatalf("mine lifecycle: exit %d: %s", code, stderr)
	}
	if v, m := dimCustomerState(t, wh); v != versions+2 || m != models+1 {
		t.Errorf("lifecycle wrote dim_customer %d → %d versions, kb_model %d → %d; want 2 versions and 1 model", versions, v, models, m)
	}
}

// TestMineLifecycleRefusesFutureAsOf checks that an as-of date after the
// last sale is refused (exit 2, naming --as-of and the last data date)
// unless --force, and that the refusal writes nothing.
func TestMineLifecycleRefusesFutureAsOf(t *testing.T) {
	wh := lifecycleWarehouse(t)
	versions, models := dimCustomerState(t, wh)
	for _, args := range [][]string{
		{"--as-of", "2099-01-01"},
		{"--as-of", "2099-01-01", "--dry-run"},
		{"--as-of", "2024-12-31"}, // the day after the last sale (2024-12-30)
	} {
		_, stderr, code := runCkm(t, "", append([]string{"mine", "lifecycle", "--warehouse", wh}, args...)...)
		if code != 2 || !strings.Contains(stderr, "--as-of "+args[1]) || !strings.Contains(stderr, "2024-12-30") || !strings.Contains(stderr, "--force") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming --as-of %s, the last sale 2024-12-30 and --force", args, code, stderr, args[1])
		}
	}
	if v, m := dimCustomerState(t, wh); v != versions || m != models {
		t.Fatalf("a refused run wrote: dim_customer %d → %d versions, kb_model %d → %d", versions, v, models, m)
	}
	if _, stderr, code := runCkm(t, "", "mine", "lifecycle", "--warehouse", wh, "--as-of", "2024-12-30"); code != 0 {
		t.Errorf("as of the last sale: exit %d: %s", code, stderr)
	}
	out, stderr, code := runCkm(t, "", "mine", "lifecycle", "--warehouse", wh, "--as-of", "2099-01-01", "--force", "--format", "json")
	if code != 0 {
		t.Fatalf("--force: exit %d: %s", code, stderr)
	}
	var res struct {
		Changed int64 `json:"changed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Changed == 0 {
		t.Errorf("--force: %s (%v), want the customers typed churned", out, err)
	}
}
