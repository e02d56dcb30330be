package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ckm-dev/ckm/olap"
	"github.com/ckm-dev/ckm/serve"
)

// coexistQueries are what the clients read while loads commit: the
// facts, customers, the reject ledger and the sales cube (one query a
// rollup answers, one with subtotals). The first reads several tables in
// one statement, so a result mixing two snapshots would match neither.
var coexistQueries = []string{
	`SELECT (SELECT count(*) FROM fact_sales), (SELECT sum(amount) FROM fact_sales_current), (SELECT count(*) FROM dim_customer),
		(SELECT count(*) FROM etl_reject), (SELECT max(run_id) FROM etl_run), (SELECT sum(rows_loaded) FROM etl_run)`,
	`SELECT customer_id, name, mobile, member_level, valid_from FROM dim_customer WHERE is_current ORDER BY customer_id`,
	`SELECT run_id, rule, severity, count(*) AS n FROM etl_reject GROUP BY ALL ORDER BY ALL`,
	`CALL ckm_cube('{"cube": "sales", "measures": ["revenue"], "rows": ["date.year", "region.province"]}')`,
	`CALL ckm_cube('{"cube": "sales", "measures": ["revenue", "order_lines", "customers"], "rows": ["date.month", "product.category"], "totals": true}')`,
}

// coexistResult runs query i and returns its rows as one string (a cube
// call: its data and the rollup that answered, not its timing).
func coexistResult(ctx context.Context, c *pgx.Conn, i int) (string, string, error) {
	rows, err := c.Query(ctx, coexistQueries[i])
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			rows.Close()
			return "", "", err
		}
		if strings.HasPrefix(coexistQueries[i], "CALL") {
			var res olap.Result
			if err := json.Unmarshal([]byte(fmt.Sprint(vals[0])), &res); err != nil {
				if m, ok := vals[0].(map[string]any); ok { // pgx decoded the JSON
					data, _ := json.Marshal(m)
					err = json.Unmarshal(data, &res)
				}
				if err != nil {
					rows.Close()
					return "", "", err
				}
			}
			data, _ := json.Marshal(res.Data)
			rows.Close()
			return string(data), res.Rollup, rows.Err()
		}
		fmt.Fprintln(&b, vals...)
	}
	return b.String(), "", rows.Err()
}

// correctedExport writes dir/pos_sales_202401_fix.csv: the first n plain
// lines of a POS export with one more of each item and the amount to
// match (the till's corrected re-export; bytes outside those fields, GBK
// text included, are kept).
func correctedExport(t *testing.T, from, dir string, n int) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	out := [][]byte{lines[0]}
	number := func(f []byte) (prefix []byte, v float64, ok bool) {
		i := bytes.IndexAny(f, "-0123456789")
		if i < 0 {
			return nil, 0, false
		}
		v, err := strconv.ParseFloat(string(bytes.TrimSpace(f[i:])), 64)
		return f[:i], v, err == nil
	}
	for _, l := range lines[1:] {
		if len(out) > n {
			break
		}
		f := bytes.Split(bytes.TrimRight(l, "\r"), []byte(","))
		if len(f) != 13 {
			continue
		}
		qty, err := strconv.Atoi(string(f[9]))
		_, price, ok1 := number(f[10])
		_, disc, ok2 := number(f[11])
		pre, _, ok3 := number(f[12])
		if err != nil || qty < 1 || !ok1 || !ok2 || !ok3 {
			continue
		}
		f[9] = []byte(strconv.Itoa(qty + 1))
		f[12] = append(append([]byte{}, pre...), []byte(strconv.FormatFloat(price*float64(qty+1)-disc, 'f', 2, 64))...)
		out = append(out, bytes.Join(f, []byte(",")))
	}
	if len(out) <= n {
		t.Fatalf("%s: only %d plain lines to correct", from, len(out)-1)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pos_sales_202401_fix.csv"), append(bytes.Join(out, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestServeCoexistence: 8 analysts query facts, customers, the reject
// ledger and the sales cube in a loop while three scheduled loads (two
// new exports and a corrected one) commit: schedule: in ckm.yaml runs a
// load of an inbox every second, and the test drops one export at a time
// into the inbox (a rename, so a run sees all of it or none). No client
// fails, every result is the same query's result on the snapshot before
// or after a load (taken between the loads), the loads change what
// clients read, each load is a scheduled run in serve_job_run with its
// ETL run, and the final figures equal the same loads run without a
// server. A SIGTERM in the middle of a fourth scheduled load leaves no
// partial run.
func TestServeCoexistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(t0).Seconds(), what) }
	gen := func(name, start string, customers, days int) string {
		out := filepath.Join(dir, name)
		if _, errOut, code := runCkm(t, "", "fixtures", "generate", "--out", out, "--customers", strconv.Itoa(customers), "--days", strconv.Itoa(days),
			"--start", start, "--quiet"); code != 0 {
			t.Fatalf("fixtures generate %s: %s", name, errOut)
		}
		return out
	}
	base := gen("base", "2024-01-01", 60, 15)
	loads := []string{gen("new1", "2024-01-16", 60, 6), filepath.Join(dir, "fix"), gen("new2", "2024-01-22", 60, 6)}
	correctedExport(t, filepath.Join(base, "pos_sales_202401.csv"), loads[1], 5)
	big := gen("big", "2024-02-06", 600, 60)

	phase("fixtures")
	v, err := serve.HashPassword("ana-pw")
	if err != nil {
		t.Fatal(err)
	}
	// The same loads without a server, for the final figures.
	plain := filepath.Join(dir, "plain.duckdb")
	for _, d := range append([]string{base}, loads...) {
		if _, errOut, code := runCkm(t, "", "--warehouse", plain, "load", d); code != 0 && code != 3 {
			t.Fatalf("plain load %s: %s", d, errOut)
		}
	}
	phase("plain loads")
	wh := filepath.Join(dir, "w.duckdb")
	cfg := filepath.Join(dir, "ckm.yaml")
	inbox := filepath.Join(dir, "inbox")
	if err := os.Mkdir(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	// One scheduled load of the inbox a second: a run finding nothing new
	// loads nothing (files are known by their content).
	if err := os.WriteFile(cfg, []byte("warehouse: "+wh+"\nserve:\n  users:\n    ana: {role: analyst, password: \""+v+"\"}\n"+
		"schedule:\n  - name: inbox\n    cron: \"@every 1s\"\n    load: "+inbox+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deliver := func(d string) {
		t.Helper()
		if err := os.Rename(d, filepath.Join(inbox, filepath.Base(d))); err != nil {
			t.Fatal(err)
		}
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "load", base); code != 0 && code != 3 {
		t.Fatalf("base load: %s", errOut)
	}
	phase("base load")
	srv := startServe(t, cfg, wh, "--grace", "20ms")
	phase("server up")
	dial := func(user, pw string, simple bool) *pgx.Conn {
		t.Helper()
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/ckm?sslmode=disable", user, pw, srv.info.Addr))
		if err != nil {
			t.Fatal(err)
		}
		if simple {
			c.Config().DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		}
		return c
	}
	admin := dial("admin", "root-pw", false)
	defer admin.Close(ctx)
	watcher := dial("ana", "ana-pw", false)
	defer watcher.Close(ctx)
	snapshot := func() []string {
		t.Helper()
		out := make([]string, len(coexistQueries))
		for i := range coexistQueries {
			r, _, err := coexistResult(ctx, watcher, i)
			if err != nil {
				t.Fatalf("snapshot of query %d: %v", i, err)
			}
			out[i] = r
		}
		return out
	}

	type seen struct {
		client, query int
		result        string
		rollup        string
	}
	var (
		mu      sync.Mutex
		results []seen
		errs    []error
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	for c := 0; c < 8; c++ {
		conn := dial("ana", "ana-pw", c%2 == 0) // half simple, half extended protocol
		defer conn.Close(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				for i := range coexistQueries {
					r, rollup, err := coexistResult(ctx, conn, i)
					mu.Lock()
					if err != nil {
						errs = append(errs, fmt.Errorf("client %d, query %d: %w", c, i, err))
					} else {
						results = append(results, seen{c, i, r, rollup})
					}
					mu.Unlock()
				}
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond): // an analyst's pause
				}
			}
		}()
	}
	states := [][]string{snapshot()}
	committed := func() int64 {
		t.Helper()
		var n int64
		if err := admin.QueryRow(ctx, "SELECT count(*) FROM etl_run WHERE status = 'committed'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for k, d := range loads {
		time.Sleep(300 * time.Millisecond) // let the clients read this snapshot
		deliver(d)
		for i := 0; committed() < int64(k+2); i++ { // the base load is run 1
			if i > 600 {
				t.Fatalf("load %d (%s) was not run by the schedule within 60s:\n%s", k+1, d, srv.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
		states = append(states, snapshot())
		took := ""
		for _, l := range strings.Split(srv.stderr.String(), "\n") {
			if strings.Contains(l, `"msg":"job done"`) && strings.Contains(l, fmt.Sprintf(`"run":%d,`, k+2)) {
				var e struct{ MS int64 }
				if json.Unmarshal([]byte(l), &e) == nil {
					took = fmt.Sprintf(" (the job took %d ms)", e.MS)
				}
			}
		}
		phase(fmt.Sprintf("scheduled load %d%s", k+1, took))
		if states[k+1][0] == states[k][0] {
			t.Errorf("load %d changed nothing the clients read: %s", k+1, states[k][0])
		}
	}
	// Each load was a run of the schedule, for a cron time, with its ETL run.
	rows, err := admin.Query(ctx, `SELECT etl_run_id FROM serve_job_run WHERE job = 'inbox' AND status = 'ok' AND scheduled_for IS NOT NULL
		AND etl_run_id IS NOT NULL ORDER BY etl_run_id`)
	if err != nil {
		t.Fatal(err)
	}
	scheduled, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || fmt.Sprint(scheduled) != "[2 3 4]" {
		t.Errorf("scheduled runs that loaded: ETL runs %v (%v), want [2 3 4]", scheduled, err)
	}
	// ckm jobs, through the server, lists the job's next run and the
	// past runs that loaded.
	t.Setenv("CKM_PASSWORD", "root-pw")
	out, errOut, code := runCkm(t, "", "--config", cfg, "--format", "json", "jobs", "--limit", "100000")
	var listed struct {
		Next []struct {
			Job          string    `json:"job"`
			ScheduledFor time.Time `json:"scheduled_for"`
		} `json:"next"`
		Past []struct {
			Job    string `json:"job"`
			Status string `json:"status"`
			Run    *int64 `json:"etl_run_id"`
		} `json:"past"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil {
		t.Fatalf("ckm jobs: exit %d\n%s\n%s", code, out, errOut)
	}
	if len(listed.Next) != 1 || listed.Next[0].Job != "inbox" || time.Until(listed.Next[0].ScheduledFor) > 2*time.Second || time.Since(listed.Next[0].ScheduledFor) > 5*time.Second {
		t.Errorf("ckm jobs: next runs %+v, want the inbox job within a second", listed.Next)
	}
	var loadedRuns []int64
	for _, p := range listed.Past {
		if p.Job == "inbox" && p.Status == "ok" && p.Run != nil {
			loadedRuns = append([]int64{*p.Run}, loadedRuns...) // newest first
		}
	}
	if fmt.Sprint(loadedRuns) != "[2 3 4]" {
		t.Errorf("ckm jobs: past runs that loaded %v, want [2 3 4]", loadedRuns)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	phase("three loads")
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	perState := make([]int, len(states))
	rollups := 0
	// A client never reads an older snapshot after a newer one: the first
	// query (which every load changes) moves forward only.
	latest := map[int]int{}
	for _, r := range results {
		if r.query == 0 {
			for k := range states {
				if states[k][0] == r.result {
					if k < latest[r.client] {
						t.Errorf("client %d read snapshot %d after snapshot %d", r.client, k, latest[r.client])
					}
					latest[r.client] = k
				}
			}
		}
		match := -1
		for k := range states {
			if states[k][r.query] == r.result {
				match = k
				if r.query == 0 {
					perState[k]++
				}
			}
		}
		if match < 0 {
			t.Errorf("client %d, query %d: a result of no snapshot:\n%.600s", r.client, r.query, r.result)
		}
		if r.rollup != "" {
			rollups++
		}
	}
	t.Logf("%d results of %d clients; first query per snapshot %v; %d cube answers from rollups", len(results), 8, perState, rollups)
	for k, n := range perState {
		if n == 0 {
			t.Errorf("no client read snapshot %d (before/after the loads): the clients did not run during the loads", k)
		}
	}
	if rollups == 0 {
		t.Error("no cube query was answered from a rollup")
	}
	// The corrected export restated lines: the ledger has its decisions.
	var corrections int64
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM etl_reject WHERE run_id = 3 AND rule = 'correction'").Scan(&corrections); err != nil || corrections != 5 {
		t.Errorf("corrections in run 3: %d (%v), want 5", corrections, err)
	}

	// SIGTERM in the middle of a fourth, larger scheduled load: the job
	// is cancelled (grace 20ms) and rolled back.
	// A run that logged its start just before the export arrived may
	// still list the inbox after it and load it: watch from that run's
	// start, not from the end of the log.
	logged := srv.stderr.String()
	from := len(logged)
	if i := strings.LastIndex(logged, `"msg":"job start","job":"inbox"`); i >= 0 &&
		!strings.Contains(logged[i:], `"msg":"job done"`) && !strings.Contains(logged[i:], `"msg":"job failed"`) {
		from = i
	}
	deliver(big)
	for deadline := time.Now().Add(time.Minute); ; {
		if time.Now().After(deadline) {
			t.Fatalf("the fourth load did not start:\n%s", srv.stderr)
		}
		time.Sleep(20 * time.Millisecond)
		log := srv.stderr.String()
		j := strings.Index(log[from:], `"msg":"job start","job":"inbox"`)
		if j < 0 {
			continue
		}
		// A run that began before the export arrived ends within
		// milliseconds with nothing to load (run 0); the one loading it
		// (a second or more, even on an idle machine) is still running
		// 150 ms on. A loading run already done means the signal can no
		// longer land in it: say so rather than wait for one that never
		// comes.
		time.Sleep(150 * time.Millisecond)
		rest := srv.stderr.String()[from+j:]
		if k := strings.Index(rest, `"msg":"job done"`); k >= 0 {
			if !strings.Contains(rest[k:], `"run":0,`) {
				t.Fatalf("the fourth load finished within 150 ms, before a SIGTERM could land in it:\n%s", rest)
			}
			from += j + 1
			continue
		}
		if strings.Contains(rest, `"msg":"job failed"`) {
			from += j + 1
			continue
		}
		break
	}
	srv.stop(t)
	phase("SIGTERM")
	// The structured log tells the stop in order: stopping, the job
	// cancelled, the checkpoint, stopped.
	log := srv.stderr.String()
	at := 0
	for _, msg := range []string{`"msg":"stopping"`, `"msg":"job failed"`, `"msg":"checkpoint","ms":`, `"msg":"stopped"`} {
		i := strings.Index(log[at:], msg)
		if i < 0 {
			t.Errorf("no %s line (in order) in the server's log:\n%s", msg, log)
			break
		}
		at += i
	}
	// The interrupted export leaves the inbox, so the restarted server's
	// schedule does not load it again.
	if err := os.RemoveAll(filepath.Join(inbox, filepath.Base(big))); err != nil {
		t.Fatal(err)
	}
	// Restarted: what clients read is the snapshot after the third load,
	// and it equals the same loads run without a server.
	srv = startServe(t, cfg, wh)
	watcher = dial("ana", "ana-pw", false)
	defer watcher.Close(ctx)
	final := snapshot()
	for i := range coexistQueries {
		if final[i] != states[len(states)-1][i] {
			t.Errorf("query %d after the interrupted load:\n%s\nwant (after the third load):\n%s", i, final[i], states[len(states)-1][i])
		}
	}
	var runs, running int64
	if err := watcher.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE status <> 'committed') FROM etl_run").Scan(&runs, &running); err != nil || runs != 4 || running != 0 {
		t.Errorf("etl_run: %d runs, %d not committed (%v); want 4 committed and no trace of the interrupted one", runs, running, err)
	}
	// The interrupted run is in the job ledger as failed, with no ETL run.
	var failed int64
	admin = dial("admin", "root-pw", false)
	defer admin.Close(ctx)
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM serve_job_run WHERE job = 'inbox' AND status = 'failed' AND etl_run_id IS NULL").Scan(&failed); err != nil || failed != 1 {
		t.Errorf("failed runs of the schedule: %d (%v), want 1 (the interrupted load)", failed, err)
	}
	srv.stop(t)
	phase("restart")
	// The figures of the same loads without a server.
	out, errOut, code = runCkm(t, "", "--warehouse", plain, "--format", "csv", "sql", "-c",
		`SELECT (SELECT count(*) FROM fact_sales) AS lines, (SELECT sum(amount) FROM fact_sales_current) AS revenue, (SELECT count(*) FROM dim_customer) AS customers,
		(SELECT count(*) FROM etl_reject) AS ledger`)
	if code != 0 {
		t.Fatalf("plain figures: %s", errOut)
	}
	got, errOut, code := runCkm(t, "", "--config", cfg, "--format", "csv", "sql", "-c",
		`SELECT (SELECT count(*) FROM fact_sales) AS lines, (SELECT sum(amount) FROM fact_sales_current) AS revenue, (SELECT count(*) FROM dim_customer) AS customers,
		(SELECT count(*) FROM etl_reject) AS ledger`)
	if code != 0 || got != out {
		t.Errorf("final figures with the server:\n%s\nthe same loads without one:\n%s\n%s", got, out, errOut)
	}
}
