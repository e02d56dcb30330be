package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// killSeed fixes the kill delays; CKM_KILL_SEED overrides it.
const killSeed = 20241231

// killVolatile lists, per table, the columns that hold wall-clock times or
// ciphertexts (sealed under random nonces and random customer keys): a
// crashed-and-rerun warehouse and a clean one differ there and only there.
// Tokens are compared: warehouses copied from one protected template share
// its data key, so equal values give equal tokens.
var killVolatile = map[string][]string{
	"etl_run":            {"started_at", "finished_at"},
	"etl_file":           {"loaded_at"},
	"etl_watermark":      {"updated_at"},
	"schema_version":     {"applied_at"},
	"olap_rollup_state":  {"refreshed_at"},
	"vault_customer_key": {"wrapped_key"},
	"vault_value":        {"sealed"},
	"etl_reject":         {"raw_value", "raw_record"},
	"ckm_change":         {"seq", "changed_at"}, // the lake's change record: a sequence and a time
}

// protectedTemplate creates a protected, empty warehouse (ckm init, its key
// in the tests' key directory) and returns a function that copies it to a
// new path: warehouses made from it share one data key, so their tokens
// compare equal.
func protectedTemplate(t *testing.T, bin, dir string) func(path string) {
	t.Helper()
	template := filepath.Join(dir, "template.duckdb")
	if out, err := exec.Command(bin, "--warehouse", template, "init").CombinedOutput(); err != nil {
		t.Fatalf("init the template: %v\n%s", err, out)
	}
	data, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	return func(path string) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKillLoad kills `ckm load` with SIGKILL at seeded random moments spread
// over a load's duration. After each kill the warehouse must open and hold
// either no trace of the run or exactly the complete run; a re-run then
// completes it, and the result equals a clean single load table for table.
func TestKillLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test: builds ckm and loads a fixture set many times")
	}
	const kills = 10
	seed := uint64(killSeed)
	if s := os.Getenv("CKM_KILL_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CKM_KILL_SEED=%q: %v", s, err)
		}
		seed = n
	}
	ctx := context.Background()
	tmp := t.TempDir()
	started := time.Now()
	bin := ckmBinary(t)
	fx := filepath.Join(tmp, "fx")
	if out, err := exec.Command(bin, "fixtures", "generate", "--out", fx, "--customers", "3000", "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("fixtures generate: %v\n%s", err, out)
	}
	// The loads stage in a temp dir of their own: a killed load leaves its
	// staging folder there, and the next load removes it.
	stageTmp := filepath.Join(tmp, "stage")
	if err := os.Mkdir(stageTmp, 0o700); err != nil {
		t.Fatal(err)
	}
	load := func(w string) *exec.Cmd {
		cmd := exec.Command(bin, "--warehouse", w, "--format", "csv", "load", fx, "--as-of", "2024-12-31")
		cmd.Env = append(os.Environ(), "TMPDIR="+stageTmp)
		return cmd
	}
	leftStaging := func() int {
		t.Helper()
		found, err := filepath.Glob(filepath.Join(stageTmp, "ckm-load-*"))
		if err != nil {
			t.Fatal(err)
		}
		return len(found)
	}
	maxLeft := 0
	runLoad := func(w string) {
		t.Helper()
		out, err := load(w).CombinedOutput()
		if code := exitOf(err); code != 0 && code != exitRejected {
			t.Fatalf("load into %s: exit %d: %v\n%s", filepath.Base(w), code, err, out)
		}
	}

	// The clean single load, timed: it sets the span the kills spread over.
	// Every warehouse starts as a copy of one protected template.
	fromTemplate := protectedTemplate(t, bin, tmp)
	ref := filepath.Join(tmp, "ref.duckdb")
	fromTemplate(ref)
	t0 := time.Now()
	runLoad(ref)
	full := time.Since(t0)
	want := stableChecksums(t, ctx, ref)
	t.Logf("build and fixtures %s; clean load %s; seed %d", t0.Sub(started).Round(time.Millisecond), full.Round(time.Millisecond), seed)

	rng := rand.New(rand.NewPCG(seed, 0x6b696c6c))
	// Stratified delays: kill i lands in its own slice of the load, the
	// slices in random order, so the kills cover the load end to end.
	slots := rng.Perm(kills)
	est := full // the fastest complete load's duration
	gen := 0
	w := filepath.Join(tmp, "w0.duckdb")
	fromTemplate(w)
	next := func() {
		gen++
		w = filepath.Join(tmp, fmt.Sprintf("w%d.duckdb", gen))
		fromTemplate(w)
	}
	// finishAndCompare re-runs the load into w to completion and checks w
	// then equals the clean load.
	finishAndCompare := func(what string) {
		t.Helper()
		t0 := time.Now()
		runLoad(w)
		if d := time.Since(t0); d > full/4 {
			est = min(est, d) // a re-run that loaded, not one that found nothing to do
		}
		if s := killState(t, ctx, w); s != "committed" {
			t.Fatalf("%s: warehouse is %s after a re-run, want one committed run", what, s)
		}
		compareChecksums(t, what, want, stableChecksums(t, ctx, w))
	}
	steps := map[string]int{}
	var killed, empty, committed, missed int
	for attempt := 1; killed < kills; attempt++ {
		if attempt > 3*kills {
			t.Fatalf("only %d of %d kills hit a running load in %d attempts", killed, kills, attempt-1)
		}
		delay := time.Duration((float64(slots[killed]) + rng.Float64()) / kills * float64(est))
		cmd := load(w)
		cmd.Env = append(cmd.Env, "CKM_DEBUG_SQL=1") // each step's end on stderr
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			// The load was faster than the estimate: it must be complete.
			d := time.Since(t0)
			if code := exitOf(err); code != 0 && code != exitRejected {
				t.Fatalf("load ended by itself with exit %d before the kill: %v\n%s", code, err, out)
			}
			if s := killState(t, ctx, w); s != "committed" {
				t.Fatalf("a load that exited by itself left the warehouse %s", s)
			}
			compareChecksums(t, "a load that finished before its kill", want, stableChecksums(t, ctx, w))
			est = min(est, d)
			t.Logf("attempt %d: the load finished in %s, before its kill at %s; estimate now %s", attempt,
				d.Round(time.Millisecond), delay.Round(time.Millisecond), est.Round(time.Millisecond))
			missed++
			next()
			continue
		case <-time.After(delay):
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			<-done
		}
		killed++
		maxLeft = max(maxLeft, leftStaging())
		step := lastStep(out.String())
		steps[step]++
		state := killState(t, ctx, w)
		t.Logf("kill %2d at %6s (%3.0f%% of %s), after step %q: %s", killed, delay.Round(time.Millisecond),
			100*delay.Seconds()/est.Seconds(), est.Round(time.Millisecond), step, state)
		switch state {
		case "empty":
			empty++
		case "committed":
			// Killed after the commit: exactly the clean load (its rollups may
			// be behind: withoutRollups), and a re-run
			// loads nothing and changes nothing.
			committed++
			compareChecksums(t, fmt.Sprintf("kill %d, committed run", killed), withoutRollups(want), withoutRollups(stableChecksums(t, ctx, w)))
			finishAndCompare(fmt.Sprintf("re-run after kill %d (committed)", killed))
			next()
			continue
		default:
			t.Fatalf("kill %d: %s", killed, state)
		}
		if killed == kills/2 {
			// The second half kills into a new warehouse file (a copy of
			// the protected template: its first load).
			next()
		}
	}
	// Two more kills aimed at the commit: 100 ms after the last ledger
	// statement (in the commit, or just before it), and once it is done
	// but before ckm closes the warehouse (the run is in the WAL only).
	// The second is also the re-run that completes the load after all the
	// kills before it.
	for _, aim := range []struct {
		name    string
		trigger func(step, line string) bool
		delay   time.Duration
		want    string
	}{
		{"during the commit", func(step, line string) bool {
			return step == "ledger" && strings.Contains(line, "UPDATE etl_run")
		}, 100 * time.Millisecond, ""},
		{"after the commit", func(step, line string) bool { return step == "commit" }, 0, "committed"},
	} {
		state := killOn(t, ctx, load(w), w, aim.trigger, aim.delay)
		t.Logf("kill %s: %s", aim.name, state)
		switch {
		case state == "committed":
			compareChecksums(t, "kill "+aim.name, withoutRollups(want), withoutRollups(stableChecksums(t, ctx, w)))
			finishAndCompare("re-run after the kill " + aim.name)
			next()
		case state == "empty" && aim.want == "":
		default:
			t.Fatalf("kill %s: %s", aim.name, state)
		}
	}
	// A killed load cannot remove its staging folder (the exports' values
	// in clear); the next load removes it, so after the last load, which
	// ran to its end, none is left.
	if maxLeft == 0 {
		t.Errorf("no kill left a staging folder: the check below proves nothing")
	}
	if n := leftStaging(); n != 0 {
		t.Errorf("%d staging folders left in %s after the last load, want 0 (the killed loads' are swept)", n, stageTmp)
	}
	t.Logf("%d kills (%d left no trace, %d found the run committed; %d loads finished before their kill); kills after step: %v; at most %d staging folders left between loads; total %s",
		kills, empty, committed, missed, steps, maxLeft, time.Since(started).Round(time.Millisecond))
}

// killOn runs a load with CKM_DEBUG_SQL and kills it delay after a stderr
// line satisfies trigger; it returns the warehouse's state after the kill.
func killOn(t *testing.T, ctx context.Context, cmd *exec.Cmd, w string, trigger func(step, line string) bool, delay time.Duration) string {
	t.Helper()
	cmd.Env = append(cmd.Env, "CKM_DEBUG_SQL=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	hit := false
	for sc.Scan() {
		if trigger(lastStep(sc.Text()), sc.Text()) {
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGKILL)
			hit = true
			break
		}
	}
	io.Copy(io.Discard, stderr)
	cmd.Wait()
	if !hit {
		t.Fatalf("the load ended without reaching the point to kill it at")
	}
	return killState(t, ctx, w)
}

// lastStep is the last load step ckm finished before it died, from its
// CKM_DEBUG_SQL lines ("   1.234s step query"); "start" when none.
func lastStep(stderr string) string {
	step := "start"
	for _, l := range strings.Split(stderr, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && strings.HasSuffix(f[0], "s") {
			if _, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "s"), 64); err == nil {
				step = f[1]
			}
		}
	}
	return step
}

func exitOf(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// killState opens a warehouse after a kill and says what it holds: "empty"
// (no trace of a run), "committed" (one complete run whose counts
// reconcile) or what is wrong with it.
func killState(t *testing.T, ctx context.Context, path string) string {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "empty" // killed before the warehouse file was created
	}
	w, err := engine.Open(ctx, path, engine.Options{})
	if err != nil {
		return fmt.Sprintf("does not open: %v", err)
	}
	defer w.Close()
	count := func(q string) int64 {
		var n int64
		if err := w.DB.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	traces := map[string]int64{}
	for _, q := range []struct{ name, sql string }{
		{"etl_run", `SELECT count(*) FROM etl_run`},
		{"etl_file", `SELECT count(*) FROM etl_file`},
		{"etl_reject", `SELECT count(*) FROM etl_reject`},
		{"etl_watermark", `SELECT count(*) FROM etl_watermark`},
		{"etl_identity", `SELECT count(*) FROM etl_identity`},
		{"fact_sales", `SELECT count(*) FROM fact_sales`},
		{"fact_interaction", `SELECT count(*) FROM fact_interaction`},
		{"fact_campaign", `SELECT count(*) FROM fact_campaign`},
		{"dim_customer", `SELECT count(*) FROM dim_customer WHERE customer_key > 0`},
		{"dim_product", `SELECT count(*) FROM dim_product WHERE product_key > 0`},
		{"dim_campaign", `SELECT count(*) FROM dim_campaign WHERE campaign_key > 0`},
		{"dim_store", `SELECT count(*) FROM dim_store WHERE store_key > 0`},
	} {
		traces[q.name] = count(q.sql)
	}
	runs := traces["etl_run"]
	if runs == 0 {
		var left []string
		for n, c := range traces {
			if c != 0 {
				left = append(left, fmt.Sprintf("%s has %d rows", n, c))
			}
		}
		if len(left) > 0 {
			sort.Strings(left)
			return "partial run: no etl_run row but " + strings.Join(left, ", ")
		}
		return "empty"
	}
	if runs != 1 {
		return fmt.Sprintf("%d runs, want at most 1", runs)
	}
	var status string
	if err := w.DB.QueryRowContext(ctx, `SELECT status FROM etl_run`).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "committed" {
		return fmt.Sprintf("a run with status %q", status)
	}
	if n := count(`SELECT count(*) FROM etl_run WHERE rows_read <> rows_loaded + rows_rejected + rows_duplicate
			OR files_loaded <> (SELECT count(*) FROM etl_file)
			OR rows_read <> (SELECT sum(rows_read) FROM etl_file) OR rows_loaded <> (SELECT sum(rows_loaded) FROM etl_file)
			OR rows_rejected <> (SELECT sum(rows_rejected) FROM etl_file) OR rows_duplicate <> (SELECT sum(rows_duplicate) FROM etl_file)`); n != 0 {
		return "a committed run whose counts do not reconcile"
	}
	if n := count(`SELECT count(*) FROM etl_file WHERE rows_read <> rows_loaded + rows_rejected + rows_duplicate`); n != 0 {
		return fmt.Sprintf("a committed run with %d files whose counts do not reconcile", n)
	}
	if n := count(`SELECT count(*) FROM etl_file f WHERE source IN ('pos_sales', 'web_orders') AND rows_loaded <>
			(SELECT count(DISTINCT source_line) FROM fact_sales s WHERE s.etl_file_id = f.file_id)`); n != 0 {
		return fmt.Sprintf("a committed run with %d sales files whose loaded rows are not in fact_sales", n)
	}
	return "committed"
}

// stableChecksums is, per table, the row count and an order-independent
// hash of the rows without their wall-clock columns (killVolatile).
func stableChecksums(t *testing.T, ctx context.Context, path string) map[string]string {
	t.Helper()
	w, err := engine.Open(ctx, path, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rows, err := w.DB.QueryContext(ctx, `SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	sums := map[string]string{}
	for _, n := range names {
		sel := "*"
		if cols := killVolatile[n]; len(cols) > 0 {
			sel = "* EXCLUDE (" + strings.Join(cols, ", ") + ")"
		}
		var s string
		q := fmt.Sprintf(`SELECT count(*) || ':' || coalesce(CAST(sum(hash(t)) AS VARCHAR), '') FROM (SELECT %s FROM %s) t`, sel, engine.QuoteIdent(n))
		if err := w.DB.QueryRowContext(ctx, q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		sums[n] = s
	}
	return sums
}

// withoutRollups drops the rollup tables and their registry from
// checksums: a load refreshes its rollups after it commits, so a kill
// between the two leaves them behind the data — never used, since a cube
// query takes only rollups of the current data version — and the next
// load, even one with nothing new, brings them up (finishAndCompare
// compares everything).
func withoutRollups(sums map[string]string) map[string]string {
	out := map[string]string{}
	for n, v := range sums {
		if !strings.HasPrefix(n, "olap_rollup_") {
			out[n] = v
		}
	}
	return out
}

func compareChecksums(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for n, v := range want {
		if got[n] != v {
			t.Errorf("%s: table %s is %s, a clean load gives %s", what, n, got[n], v)
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("%s: table %s is not in a clean load", what, n)
		}
	}
}
