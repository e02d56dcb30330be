package serve

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
)

// loadRunner is the load job as ckm serve runs it, without the CLI's
// options.
func loadRunner(w *engine.Warehouse) Runner {
	return func(ctx context.Context, paths []string) (JobResult, error) {
		rep, err := etl.Load(ctx, w, paths, etl.Options{})
		if err != nil {
			return JobResult{}, err
		}
		return JobResult{RunID: rep.RunID}, nil
	}
}

// TestReadersDuringLoad: clients query in a loop while an admin's CALL
// ckm_load runs inside the server; every answer — the lines, customers and
// rejects counted in one statement — is the snapshot before the load or
// the one after it (never an error, never a partial count, never a mix),
// each client sees the change once and for good, and clients were
// answered while the load ran.
func TestReadersDuringLoad(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	loadFixtures(t, w, 300, 30, 1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	next := loadFixtures(t, nil, 600, 30, 2, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	// etl_reject and dim_customer resolve to the masked views for the
	// analyst and to the tables for the admin: the same counts.
	const q = "SELECT (SELECT count(*) FROM fact_sales) || '/' || (SELECT count(*) FROM dim_customer) || '/' || (SELECT count(*) FROM etl_reject)"
	var before string
	if err := w.DB.QueryRowContext(ctx, q).Scan(&before); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, w, Config{Jobs: NewJobs(map[string]Runner{"load": loadRunner(w)}, nil)})

	var loading atomic.Bool
	var duringLoad atomic.Int64
	stop := make(chan struct{})
	type seen struct {
		counts []string
		err    error
	}
	results := make([]seen, 6)
	var wg sync.WaitGroup
	for i := range results {
		c := connect(t, srv, []string{"ana", "root", "stew"}[i%3], i%2 == 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n string
				if err := c.QueryRow(ctx, q).Scan(&n); err != nil {
					results[i].err = err
					return
				}
				results[i].counts = append(results[i].counts, n)
				time.Sleep(2 * time.Millisecond)
				if loading.Load() {
					duringLoad.Add(1)
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	admin := connect(t, srv, "root", false)
	loading.Store(true)
	start := time.Now()
	var job, status string
	var run int64
	err = admin.QueryRow(ctx, "CALL ckm_load('"+next+"')").Scan(&job, &run, &status, new(string))
	loading.Store(false)
	took := time.Since(start)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("CALL ckm_load: %v", err)
	}
	var after string
	if err := w.DB.QueryRowContext(ctx, q).Scan(&after); err != nil {
		t.Fatal(err)
	}
	var b, a [3]int64
	fmt.Sscanf(before, "%d/%d/%d", &b[0], &b[1], &b[2])
	fmt.Sscanf(after, "%d/%d/%d", &a[0], &a[1], &a[2])
	if a[0] <= b[0] || a[1] <= b[1] || a[2] <= b[2] || status != "ok" || run == 0 {
		t.Fatalf("load: lines/customers/rejects %s before, %s after, status %q, run %d: the load must add to each for the test to prove anything", before, after, status, run)
	}
	for i, r := range results {
		if r.err != nil {
			t.Errorf("client %d: %v", i, r.err)
		}
		changed := false
		for _, n := range r.counts {
			switch {
			case n == after:
				changed = true
			case n == before && !changed:
			default:
				t.Errorf("client %d saw %s (before %s, after %s, changed already: %v)", i, n, before, after, changed)
			}
		}
		if !changed {
			t.Errorf("client %d never saw the load's lines (%d answers)", i, len(r.counts))
		}
	}
	if duringLoad.Load() == 0 {
		t.Errorf("no client was answered during the %s load: readers waited", took)
	}
	t.Logf("load took %s; %d answers during it; lines/customers/rejects %s before, %s after", took, duringLoad.Load(), before, after)
}

// TestJobNeverOverlapsItself: a job started again while it runs is
// refused; another job waits for the writer and then runs.
func TestJobNeverOverlapsItself(t *testing.T) {
	release := make(chan struct{})
	var ran atomic.Int64
	j := NewJobs(map[string]Runner{"slow": func(ctx context.Context, args []string) (JobResult, error) {
		ran.Add(1)
		<-release
		return JobResult{Detail: args[0]}, nil
	}}, nil)
	ctx := context.Background()
	first := make(chan error, 1)
	go func() {
		_, err := j.Run(ctx, "a", "slow", []string{"1"})
		first <- err
	}()
	for !j.Running("a") {
		time.Sleep(time.Millisecond)
	}
	if _, err := j.Run(ctx, "a", "slow", []string{"2"}); !errors.Is(err, ErrJobRunning) {
		t.Errorf("second start of a running job: %v, want ErrJobRunning", err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := j.Run(ctx, "b", "slow", []string{"3"})
		second <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if ran.Load() != 1 {
		t.Errorf("%d jobs ran at once, want 1 (one writer)", ran.Load())
	}
	close(release)
	if err := <-first; err != nil {
		t.Error(err)
	}
	if err := <-second; err != nil {
		t.Error(err)
	}
	if ran.Load() != 2 {
		t.Errorf("%d runs, want 2", ran.Load())
	}
	if _, err := j.Run(ctx, "c", "none", nil); err == nil {
		t.Error("a job of an unknown kind ran")
	}
}

// TestStopDuringLoad: the server stopped while a load job runs, with a
// grace period too short for it, cancels the job: the load rolls back
// (no new lines, no new ETL run), the attempt is recorded as failed, and
// Serve returns.
func TestStopDuringLoad(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	loadFixtures(t, w, 100, 10, 1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	next := loadFixtures(t, nil, 2000, 90, 2, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	count := func(q string) int64 {
		var n int64
		if err := w.DB.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	lines, runs := count("SELECT count(*) FROM fact_sales"), count("SELECT count(*) FROM etl_run")
	started := make(chan struct{})
	runner := func(ctx context.Context, paths []string) (JobResult, error) {
		close(started)
		return loadRunner(w)(ctx, paths)
	}
	srv, stop := startStoppable(t, w, Config{Grace: 50 * time.Millisecond, Jobs: NewJobs(map[string]Runner{"load": runner}, nil)})
	admin := connect(t, srv, "root", false)
	called := make(chan error, 1)
	go func() {
		_, err := admin.Exec(ctx, "CALL ckm_load('"+next+"')")
		called <- err
	}()
	<-started
	time.Sleep(100 * time.Millisecond) // into the load
	if err := stop(); err != nil {     // a minute at most: Serve must return after its grace period
		t.Fatal(err)
	}
	if err := <-called; err == nil {
		t.Error("the interrupted CALL ckm_load succeeded")
	}
	if got := count("SELECT count(*) FROM fact_sales"); got != lines {
		t.Errorf("after the stop %d lines, want %d (the load rolled back)", got, lines)
	}
	if got := count("SELECT count(*) FROM etl_run"); got != runs {
		t.Errorf("after the stop %d ETL runs, want %d", got, runs)
	}
	if got := count("SELECT count(*) FROM serve_job_run WHERE status = 'failed'"); got != 1 {
		t.Errorf("%d failed job runs recorded, want 1", got)
	}
}
