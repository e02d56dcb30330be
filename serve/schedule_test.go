package serve

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// fakeClock is a clock whose waits end at once, moving the time forward.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	t := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- t
	return ch
}

type ledgerRow struct {
	scheduled time.Time
	catchUp   bool
	attempt   int
	status    string
}

func ledger(t *testing.T, w *engine.Warehouse, job string) []ledgerRow {
	t.Helper()
	rows, err := w.DB.Query("SELECT scheduled_for, catch_up, attempt, status FROM serve_job_run WHERE job = ? ORDER BY started_at, attempt", job)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ledgerRow
	for rows.Next() {
		var r ledgerRow
		if err := rows.Scan(&r.scheduled, &r.catchUp, &r.attempt, &r.status); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestSchedulerCatchUpAndRetry: an hourly job last run at 09:00 and
// started at 12:30 makes up for one missed run (10:00, not three), then
// runs at 13:00 and 14:00; a failed attempt is retried and both attempts
// are in the ledger.
func TestSchedulerCatchUpAndRetry(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.Local)
	if err := RecordJobRun(ctx, w, JobRun{Job: "hourly", Kind: "load", ScheduledFor: day.Add(9 * time.Hour), Attempt: 1,
		Started: day.Add(9 * time.Hour), Finished: day.Add(9 * time.Hour), Status: "ok"}); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: day.Add(12*time.Hour + 30*time.Minute)}
	var mu sync.Mutex
	calls := 0
	jobs := NewJobs(map[string]Runner{"load": func(ctx context.Context, args []string) (JobResult, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		switch calls {
		case 2:
			return JobResult{}, errors.New("source not there yet")
		case 4:
			cancel() // stop after the 14:00 run
		}
		return JobResult{RunID: int64(calls)}, nil
	}}, nil)
	sc, err := NewScheduler(w, jobs, []ScheduledJob{{Name: "hourly", Cron: "0 * * * *", Kind: "load", Args: []string{"exports"}, Retries: 2, RetryDelay: time.Minute}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc.now, sc.after = clock.Now, clock.After
	sc.Run(ctx)
	got := ledger(t, w, "hourly")
	want := []ledgerRow{
		{day.Add(9 * time.Hour), false, 1, "ok"},
		{day.Add(10 * time.Hour), true, 1, "ok"},      // the one catch-up
		{day.Add(13 * time.Hour), false, 1, "failed"}, // retried a minute later
		{day.Add(13 * time.Hour), false, 2, "ok"},
		{day.Add(14 * time.Hour), false, 1, "ok"},
	}
	if len(got) != len(want) {
		t.Fatalf("ledger %+v, want %+v", got, want)
	}
	for i := range want {
		g := got[i]
		if !g.scheduled.Equal(want[i].scheduled) || g.catchUp != want[i].catchUp || g.attempt != want[i].attempt || g.status != want[i].status {
			t.Errorf("run %d: %+v, want %+v", i, g, want[i])
		}
	}
}

func TestCheckSchedule(t *testing.T) {
	ok := ScheduledJob{Name: "a", Cron: "*/15 * * * *", Kind: "load", Args: []string{"x"}}
	cases := []struct {
		name string
		mod  func(*ScheduledJob)
		want string
	}{
		{"bad cron", func(j *ScheduledJob) { j.Cron = "61 * * * *" }, `schedule "a": cron "61 * * * *"`},
		{"no kind", func(j *ScheduledJob) { j.Kind = "" }, "give load: PATHS or export: DIR"},
		{"no paths", func(j *ScheduledJob) { j.Args = nil }, "has no paths"},
		{"no name", func(j *ScheduledJob) { j.Name = "" }, "schedule[0]: no name"},
		{"negative retries", func(j *ScheduledJob) { j.Retries = -1 }, "retries -1"},
	}
	for _, c := range cases {
		j := ok
		c.mod(&j)
		err := CheckSchedule([]ScheduledJob{j})
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if err := CheckSchedule([]ScheduledJob{ok, ok}); err == nil || !contains(err.Error(), "used twice") {
		t.Errorf("duplicate name: %v", err)
	}
	next, err := NextRun(ok, time.Date(2026, 12, 1, 10, 7, 0, 0, time.UTC))
	if err != nil || !next.Equal(time.Date(2026, 12, 1, 10, 15, 0, 0, time.UTC)) {
		t.Errorf("next run after 10:07 of */15: %v, %v; want 10:15", next, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
