package serve

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ckm-dev/ckm/engine"
)

// ScheduledJob is one entry of schedule: in ckm.yaml: a load or an export
// run by a cron expression.
type ScheduledJob struct {
	Name string
	// Cron is a standard five-field expression (minute hour day month
	// weekday) or a descriptor such as @hourly or @every 15m.
	Cron string
	Kind string   // load or export
	Args []string // the load's paths; the export's directory (and tables)
	// Retries is how often a failed run is tried again, RetryDelay apart.
	Retries    int
	RetryDelay time.Duration
}

// cronParser reads the five-field expressions and descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// CheckSchedule checks a schedule: names unique and present, cron
// expressions valid, kinds known, arguments given; errors name the entry.
func CheckSchedule(jobs []ScheduledJob) error {
	seen := map[string]bool{}
	for i, j := range jobs {
		where := fmt.Sprintf("schedule[%d]", i)
		if j.Name != "" {
			where = fmt.Sprintf("schedule %q", j.Name)
		}
		switch {
		case strings.TrimSpace(j.Name) == "":
			return fmt.Errorf("%s: no name", where)
		case seen[j.Name]:
			return fmt.Errorf("%s: the name is used twice", where)
		case j.Kind != "load" && j.Kind != "export":
			return fmt.Errorf("%s: give load: PATHS or export: DIR", where)
		case len(j.Args) == 0 || j.Args[0] == "":
			return fmt.Errorf("%s: %s has no paths", where, j.Kind)
		case j.Retries < 0 || j.Retries > 100:
			return fmt.Errorf("%s: retries %d: want 0 to 100", where, j.Retries)
		case j.RetryDelay < 0:
			return fmt.Errorf("%s: retry-delay %s: want 0 or more", where, j.RetryDelay)
		}
		if _, err := cronParser.Parse(j.Cron); err != nil {
			return fmt.Errorf("%s: cron %q: %v", where, j.Cron, err)
		}
		seen[j.Name] = true
	}
	return nil
}

// NextRun is when job runs next after now.
func NextRun(job ScheduledJob, now time.Time) (time.Time, error) {
	s, err := cronParser.Parse(job.Cron)
	if err != nil {
		return time.Time{}, err
	}
	return s.Next(now), nil
}

// Scheduler runs scheduled jobs through Jobs: each job in a loop of its
// own, so it never overlaps itself (a run that outlasts its interval
// skips the times it covered), with one run made up for after downtime
// and every attempt recorded in serve_job_run.
type Scheduler struct {
	w     *engine.Warehouse
	jobs  *Jobs
	sched []ScheduledJob
	log   *slog.Logger
	// now and after are the clock (tests replace them).
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// NewScheduler checks sched and returns its scheduler.
func NewScheduler(w *engine.Warehouse, jobs *Jobs, sched []ScheduledJob, log *slog.Logger) (*Scheduler, error) {
	if err := CheckSchedule(sched); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{w: w, jobs: jobs, sched: sched, log: log, now: time.Now, after: time.After}, nil
}

// Run runs the schedule until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, j := range s.sched {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, j)
		}()
	}
	wg.Wait()
}

func (s *Scheduler) loop(ctx context.Context, j ScheduledJob) {
	sched, _ := cronParser.Parse(j.Cron) // checked by NewScheduler
	last, err := s.lastScheduled(ctx, j.Name)
	if err != nil {
		s.log.Error("schedule", "job", j.Name, "err", err)
	}
	if !last.IsZero() {
		// Down over one or more runs: make up for one, not for each.
		if missed := sched.Next(last); !missed.After(s.now()) {
			s.log.Info("catch up", "job", j.Name, "missed", missed.Format(time.RFC3339))
			_, _ = s.runScheduled(ctx, j, missed, true)
		}
	}
	for ctx.Err() == nil {
		next := sched.Next(s.now())
		select {
		case <-ctx.Done():
			return
		case <-s.after(next.Sub(s.now())):
		}
		if ctx.Err() == nil {
			_, _ = s.runScheduled(ctx, j, next, false)
		}
	}
}

// lastScheduled is the latest cron time job ran for (zero: never).
func (s *Scheduler) lastScheduled(ctx context.Context, job string) (time.Time, error) {
	var t sql.NullTime
	if err := s.w.DB.QueryRowContext(ctx, "SELECT max(scheduled_for) FROM serve_job_run WHERE job = ?", job).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("schedule %s: %w", job, err)
	}
	if !t.Valid {
		return time.Time{}, nil
	}
	return time.Date(t.Time.Year(), t.Time.Month(), t.Time.Day(), t.Time.Hour(), t.Time.Minute(), t.Time.Second(), t.Time.Nanosecond(), time.UTC).In(time.Local), nil
}

// runScheduled runs j for its cron time at (zero: started by hand),
// retrying as configured, and returns the last attempt's outcome.
func (s *Scheduler) runScheduled(ctx context.Context, j ScheduledJob, at time.Time, catchUp bool) (JobResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := s.attempt(ctx, j, at, catchUp, attempt)
		if err == nil || ctx.Err() != nil || errors.Is(err, ErrJobRunning) || attempt > j.Retries {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-s.after(j.RetryDelay):
		}
	}
}

// job returns the scheduled job named name.
func (s *Scheduler) job(name string) (ScheduledJob, bool) {
	for _, j := range s.sched {
		if j.Name == name {
			return j, true
		}
	}
	return ScheduledJob{}, false
}

// attempt runs j once and records it.
func (s *Scheduler) attempt(ctx context.Context, j ScheduledJob, at time.Time, catchUp bool, attempt int) (JobResult, error) {
	start := s.now()
	res, err := s.jobs.Run(ctx, j.Name, j.Kind, j.Args)
	status, detail := "ok", res.Detail
	if err != nil {
		status, detail = "failed", err.Error()
	}
	var run any
	if res.RunID != 0 {
		run = res.RunID
	}
	if rerr := RecordJobRun(context.WithoutCancel(ctx), s.w, JobRun{Job: j.Name, Kind: j.Kind, ScheduledFor: at, CatchUp: catchUp, Attempt: attempt,
		Started: start, Finished: s.now(), Status: status, ETLRun: run, Detail: detail}); rerr != nil {
		s.log.Error("record job run", "job", j.Name, "err", rerr)
	}
	return res, err
}

// JobRun is one row of serve_job_run.
type JobRun struct {
	Job          string
	Kind         string
	ScheduledFor time.Time // zero: started by hand
	CatchUp      bool
	Attempt      int
	Started      time.Time
	Finished     time.Time
	Status       string
	ETLRun       any // int64 or nil
	Detail       string
}

// RecordJobRun writes one attempt of a job to serve_job_run.
func RecordJobRun(ctx context.Context, w *engine.Warehouse, r JobRun) error {
	var sched any
	if !r.ScheduledFor.IsZero() {
		sched = r.ScheduledFor.UTC()
	}
	_, err := w.DB.ExecContext(ctx, `INSERT INTO serve_job_run (job, kind, scheduled_for, catch_up, attempt, started_at, finished_at, status, etl_run_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Job, r.Kind, sched, r.CatchUp, r.Attempt, r.Started.UTC(), r.Finished.UTC(), r.Status, r.ETLRun, r.Detail)
	return err
}

// Upcoming lists each job's next run after now, soonest first.
func Upcoming(sched []ScheduledJob, now time.Time) ([]JobRun, error) {
	var out []JobRun
	for _, j := range sched {
		next, err := NextRun(j, now)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", j.Name, err)
		}
		out = append(out, JobRun{Job: j.Name, Kind: j.Kind, ScheduledFor: next})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].ScheduledFor.Before(out[b].ScheduledFor) })
	return out, nil
}
