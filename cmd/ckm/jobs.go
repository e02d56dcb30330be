package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/serve"
)

func init() { registerCommand(func(a *app) *cobra.Command { return newJobsCmd(a, nil) }) }

// jobsOptions are what ckm jobs's flags resolve to.
type jobsOptions struct {
	app      *app
	limit    int    // past runs shown
	run      string // ckm jobs --run NAME: run a scheduled job now, on the server
	user     string // the server user for --run and for a served warehouse
	password string // CKM_PASSWORD
}

// newJobsCmd builds ckm jobs; runF, when not nil, runs instead of jobsRun.
func newJobsCmd(a *app, runF func(context.Context, *jobsOptions) error) *cobra.Command {
	opts := &jobsOptions{app: a}
	cmd := &cobra.Command{
		Use:   "jobs [--run NAME]",
		Short: "The scheduled loads and exports of ckm serve: next runs and past runs",
		Long: `List each job of schedule: in ckm.yaml with its next run, then the past runs
of ckm serve's jobs (serve_job_run: one row per attempt, with the ETL run a
load wrote). While ckm serve holds the warehouse, the past runs are read
through it (user --user, password CKM_PASSWORD); --run NAME asks the server
to run a scheduled job now and waits for it.

  schedule:
    - name: shop
      cron: "*/15 * * * *"      # minute hour day month weekday, or @hourly, @every 10m
      load: [exports/shop]
      retries: 2
      retry-delay: 1m
    - name: lake
      cron: "0 2 * * *"
      export: lake/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.limit < 1 {
				return usageErrorf("--limit %d: want 1 or more", opts.limit)
			}
			opts.password = os.Getenv("CKM_PASSWORD")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return jobsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.limit, "limit", 20, "past runs to show")
	cmd.Flags().StringVar(&opts.run, "run", "", "run this scheduled job now on the running server")
	cmd.Flags().StringVar(&opts.user, "user", "admin", "server user (password from CKM_PASSWORD)")
	return cmd
}

// scheduleEntry is one item of schedule: in ckm.yaml.
type scheduleEntry struct {
	Name       string    `yaml:"name"`
	Cron       string    `yaml:"cron"`
	Load       yamlPaths `yaml:"load"`
	Export     yamlPaths `yaml:"export"`
	Retries    int       `yaml:"retries"`
	RetryDelay string    `yaml:"retry-delay"`
}

// yamlPaths is a path or a list of them.
type yamlPaths []string

func (p *yamlPaths) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*p = []string{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*p = list
	return nil
}

// schedule reads schedule: of the configuration file, checked.
func (a *app) schedule() ([]serve.ScheduledJob, error) {
	cfg := a.cfg.ConfigFileUsed()
	if cfg == "" {
		return nil, nil
	}
	data, err := os.ReadFile(cfg)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	var doc struct {
		Schedule []scheduleEntry `yaml:"schedule"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, usageErrorf("config %s: schedule: %v", cfg, err)
	}
	var out []serve.ScheduledJob
	for i, e := range doc.Schedule {
		j := serve.ScheduledJob{Name: e.Name, Cron: e.Cron, Retries: e.Retries}
		switch {
		case len(e.Load) > 0 && len(e.Export) > 0:
			return nil, usageErrorf("config %s: schedule[%d] %q: give load: or export:, not both", cfg, i, e.Name)
		case len(e.Load) > 0:
			j.Kind, j.Args = "load", e.Load
		case len(e.Export) > 0:
			j.Kind, j.Args = "export", e.Export
		}
		if e.RetryDelay != "" {
			if j.RetryDelay, err = time.ParseDuration(e.RetryDelay); err != nil {
				return nil, usageErrorf("config %s: schedule[%d] %q: retry-delay %q: %v", cfg, i, e.Name, e.RetryDelay, err)
			}
		}
		out = append(out, j)
	}
	if err := serve.CheckSchedule(out); err != nil {
		return nil, usageErrorf("config %s: %v", cfg, err)
	}
	return out, nil
}

func jobsRun(ctx context.Context, opts *jobsOptions) error {
	a := opts.app
	sched, err := a.schedule()
	if err != nil {
		return err
	}
	if opts.run != "" {
		return jobsRunNow(ctx, opts)
	}
	next, err := serve.Upcoming(sched, time.Now())
	if err != nil {
		return err
	}
	past, err := a.pastJobRuns(ctx, opts)
	if err != nil {
		return err
	}
	if a.format() == formatJSON {
		return writeJSON(a, map[string]any{"next": jobRunsJSON(next), "past": jobRunsJSON(past)})
	}
	header := []string{"job", "kind", "when", "catch_up", "attempt", "status", "etl_run", "detail"}
	var rows [][]any
	for _, r := range next {
		rows = append(rows, []any{r.Job, r.Kind, "next " + r.ScheduledFor.Format(time.RFC3339), "", "", "scheduled", "", ""})
	}
	for _, r := range past {
		rows = append(rows, []any{r.Job, r.Kind, r.Started.Format(time.RFC3339), r.CatchUp, r.Attempt, r.Status, r.ETLRun, r.Detail})
	}
	return a.printTable(header, rows)
}

func jobRunsJSON(runs []serve.JobRun) []map[string]any {
	out := []map[string]any{}
	for _, r := range runs {
		m := map[string]any{"job": r.Job, "kind": r.Kind}
		if !r.ScheduledFor.IsZero() {
			m["scheduled_for"] = r.ScheduledFor
		}
		if !r.Started.IsZero() {
			m["started_at"], m["finished_at"], m["attempt"], m["status"], m["catch_up"], m["etl_run_id"], m["detail"] =
				r.Started, r.Finished, r.Attempt, r.Status, r.CatchUp, r.ETLRun, r.Detail
		}
		out = append(out, m)
	}
	return out
}

// pastJobsSQL reads the latest attempts of serve_job_run.
const pastJobsSQL = `SELECT job, kind, scheduled_for, catch_up, attempt, started_at, finished_at, status, etl_run_id, coalesce(detail, '')
	FROM serve_job_run ORDER BY started_at DESC, attempt DESC LIMIT `

// pastJobRuns reads serve_job_run from the warehouse, or through the
// server that holds it.
func (a *app) pastJobRuns(ctx context.Context, opts *jobsOptions) ([]serve.JobRun, error) {
	w, err := engine.Open(ctx, a.warehousePath(), engine.Options{ReadOnly: true, MustExist: true})
	if errors.Is(err, engine.ErrLocked) {
		conn, cerr := a.serverConn(ctx, opts)
		if cerr != nil {
			return nil, fmt.Errorf("%w (and the server: %v)", err, cerr)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, pastJobsSQL+fmt.Sprint(opts.limit))
		if err != nil {
			return nil, err
		}
		return scanJobRuns(func(dst ...any) error { return rows.Scan(dst...) }, rows.Next, rows.Err, rows.Close)
	}
	if errors.Is(err, engine.ErrNoWarehouse) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer w.Close()
	rows, err := w.DB.QueryContext(ctx, pastJobsSQL+fmt.Sprint(opts.limit))
	if err != nil {
		return nil, err
	}
	return scanJobRuns(rows.Scan, rows.Next, rows.Err, func() { rows.Close() })
}

func scanJobRuns(scan func(...any) error, next func() bool, errf func() error, closef func()) ([]serve.JobRun, error) {
	defer closef()
	var out []serve.JobRun
	for next() {
		var r serve.JobRun
		var sched *time.Time
		var run *int64
		if err := scan(&r.Job, &r.Kind, &sched, &r.CatchUp, &r.Attempt, &r.Started, &r.Finished, &r.Status, &run, &r.Detail); err != nil {
			return nil, err
		}
		if sched != nil {
			r.ScheduledFor = *sched
		}
		if run != nil {
			r.ETLRun = *run
		}
		out = append(out, r)
	}
	return out, errf()
}

// jobsRunNow asks the server to run a scheduled job now.
func jobsRunNow(ctx context.Context, opts *jobsOptions) error {
	a := opts.app
	conn, err := a.serverConn(ctx, opts)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var job, status, detail string
	var run *int64
	if err := conn.QueryRow(ctx, "CALL ckm_job("+engine.QuoteString(opts.run)+")").Scan(&job, &run, &status, &detail); err != nil {
		return fmt.Errorf("jobs --run %s: %w", opts.run, err)
	}
	var r any
	if run != nil {
		r = *run
	}
	return a.printTable([]string{"job", "etl_run", "status", "detail"}, [][]any{{job, r, status, detail}})
}

// serverConn connects to the ckm serve that holds the warehouse.
func (a *app) serverConn(ctx context.Context, opts *jobsOptions) (*pgx.Conn, error) {
	info, ok, err := readDiscovery(a.warehousePath())
	if !ok && err == nil {
		err = fmt.Errorf("no discovery file %s", discoveryPath(a.warehousePath()))
	}
	if err != nil {
		return nil, fmt.Errorf("no ckm serve found for %s: %w", a.warehousePath(), err)
	}
	if opts.password == "" {
		return nil, usageErrorf("CKM_PASSWORD is not set: the server at %s needs user %s's password", info.Addr, opts.user)
	}
	host, port, err := net.SplitHostPort(info.Addr)
	if err != nil {
		return nil, fmt.Errorf("discovery file %s: %v", discoveryPath(a.warehousePath()), err)
	}
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s dbname=ckm sslmode=prefer", host, port))
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.Password = opts.user, opts.password
	return pgx.ConnectConfig(ctx, cfg)
}
