package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// Runner runs one kind of job (a load, an export) with its arguments, in
// the server's process, on the server's warehouse.
type Runner func(ctx context.Context, args []string) (JobResult, error)

// JobResult is what a finished job reports: the ETL run it wrote, if any,
// and a line for people.
type JobResult struct {
	RunID  int64
	Detail string
}

// Jobs runs loads and exports inside the server. One job writes at a
// time (DuckDB has one writer per table; loads are serialised, so none
// fails on a write conflict), and a job never overlaps itself: a second
// start of a job still running is refused. Readers are not blocked: they
// query the last committed snapshot until the job commits.
type Jobs struct {
	runners map[string]Runner
	log     *slog.Logger

	writer  sync.Mutex
	mu      sync.Mutex
	running map[string]bool
	closed  bool
	wg      sync.WaitGroup
}

// ErrStopping is returned for a job started while the server stops.
var ErrStopping = errors.New("the server is stopping")

// Close refuses new jobs; the running ones go on (Wait).
func (j *Jobs) Close() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
}

// NewJobs returns the jobs of a server with these runners by kind
// ("load", "export").
func NewJobs(runners map[string]Runner, log *slog.Logger) *Jobs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Jobs{runners: runners, log: log, running: map[string]bool{}}
}

// ErrJobRunning is returned when a job is started while it still runs.
var ErrJobRunning = errors.New("job is still running")

// Run runs job name of the given kind with args and waits for it.
func (j *Jobs) Run(ctx context.Context, name, kind string, args []string) (JobResult, error) {
	run, ok := j.runners[kind]
	if !ok {
		return JobResult{}, fmt.Errorf("job %s: no runner for kind %q", name, kind)
	}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return JobResult{}, fmt.Errorf("job %s: %w", name, ErrStopping)
	}
	if j.running[name] {
		j.mu.Unlock()
		return JobResult{}, fmt.Errorf("job %s: %w (a job never overlaps itself)", name, ErrJobRunning)
	}
	j.running[name] = true
	j.wg.Add(1)
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		delete(j.running, name)
		j.mu.Unlock()
		j.wg.Done()
	}()
	j.writer.Lock()
	defer j.writer.Unlock()
	start := time.Now()
	j.log.Info("job start", "job", name, "kind", kind, "args", strings.Join(args, " "))
	res, err := run(ctx, args)
	if err != nil {
		j.log.Warn("job failed", "job", name, "kind", kind, "ms", time.Since(start).Milliseconds(), "err", err)
		return res, err
	}
	j.log.Info("job done", "job", name, "kind", kind, "run", res.RunID, "ms", time.Since(start).Milliseconds(), "detail", res.Detail)
	return res, nil
}

// Running reports whether job name runs now.
func (j *Jobs) Running(name string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.running[name]
}

// Wait waits for the running jobs to end.
func (j *Jobs) Wait() { j.wg.Wait() }

// jobCall is a job started by a client: CALL ckm_load('path', ...) or
// CALL ckm_export('lake', 'dir').
type jobCall struct {
	name string // the procedure: ckm_load, ckm_export
	kind string // the runner: load, export
	args []string
}

var jobCallPattern = regexp.MustCompile(`(?is)^call\s+(ckm_load|ckm_export|ckm_job|ckm_cube|ckm_backup|ckm_reveal)\s*\((.*)\)$`)

// parseJobCall recognises a job call; ok with an error for a malformed one.
func parseJobCall(s string) (*jobCall, bool, error) {
	m := jobCallPattern.FindStringSubmatch(s)
	if m == nil {
		return nil, false, nil
	}
	name := strings.ToLower(m[1])
	args, err := stringLiterals(m[2])
	if err != nil {
		return nil, true, fmt.Errorf("%s: %v: give its arguments as string literals, e.g. CALL %s('exports/2026-12-01')", name, err, name)
	}
	if len(args) == 0 {
		return nil, true, fmt.Errorf("%s: no arguments: e.g. CALL %s('exports/2026-12-01')", name, name)
	}
	if name == "ckm_job" && len(args) != 1 {
		return nil, true, fmt.Errorf("ckm_job: give one scheduled job's name, e.g. CALL ckm_job('nightly')")
	}
	if name == "ckm_reveal" && len(args) < 2 {
		return nil, true, fmt.Errorf("ckm_reveal: give the reason and the tokens: CALL ckm_reveal('reason', 'token', ...)")
	}
	if name == "ckm_backup" && len(args) != 1 {
		return nil, true, fmt.Errorf("ckm_backup: give the new backup file, e.g. CALL ckm_backup('/backups/ckm-2026-12-01.duckdb')")
	}
	if name == "ckm_cube" && len(args) > 2 {
		return nil, true, fmt.Errorf("ckm_cube: give the query as JSON and, to reveal, a reason: CALL ckm_cube('{\"cube\": \"sales\", ...}'[, 'reason'])")
	}
	return &jobCall{name: name, kind: strings.TrimPrefix(name, "ckm_"), args: args}, true, nil
}

// stringLiterals parses a comma-separated list of SQL string literals.
func stringLiterals(s string) ([]string, error) {
	var out []string
	s = strings.TrimSpace(s)
	for s != "" {
		if s[0] != '\'' {
			return nil, fmt.Errorf("argument %d is not a string literal", len(out)+1)
		}
		var b strings.Builder
		i := 1
		for ; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			b.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, fmt.Errorf("argument %d: unterminated string", len(out)+1)
		}
		out = append(out, b.String())
		s = strings.TrimSpace(s[i+1:])
		if s == "" {
			break
		}
		if s[0] != ',' {
			return nil, fmt.Errorf("after argument %d: want a comma", len(out))
		}
		s = strings.TrimSpace(s[1:])
	}
	return out, nil
}

// jobColumns are the columns of a job call's one result row.
var jobColumns = []column{{Name: "job", OID: pgtype.TextOID}, {Name: "run_id", OID: pgtype.Int8OID}, {Name: "status", OID: pgtype.TextOID}, {Name: "detail", OID: pgtype.TextOID}}

// cubeColumns are the one column of CALL ckm_cube's one row.
var cubeColumns = []column{{Name: "result", OID: pgtype.JSONOID}}

// runCube answers CALL ckm_cube('QUERY JSON'[, 'REASON']) in the session:
// a reader like any other, not a job.
func (ss *session) runCube(ctx context.Context, st *statement, formats []int16, simple bool) error {
	if ss.srv.cfg.Cube == nil {
		return &pgError{code: "0A000", msg: "ckm_cube: this server answers no cube queries"}
	}
	reason := ""
	if len(st.job.args) > 1 {
		reason = st.job.args[1]
	}
	// A cube query is a statement of its role: the role's timeout bounds it.
	lim := ss.limits()
	qctx, cancel := context.WithCancel(ctx)
	if lim.StatementTimeout > 0 {
		qctx, cancel = context.WithTimeout(ctx, lim.StatementTimeout)
	}
	ss.mu.Lock()
	ss.cancel = cancel
	ss.mu.Unlock()
	defer func() {
		ss.mu.Lock()
		ss.cancel = nil
		ss.mu.Unlock()
		cancel()
	}()
	out, err := ss.srv.cfg.Cube(qctx, ss.principal, st.job.args[0], reason)
	if err != nil {
		code := "XX000"
		var pe *pgError
		switch {
		case errors.As(err, &pe):
			return pe
		case errors.Is(qctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
			return ss.statementError(qctx, ctx, st, err)
		case qctx.Err() != nil:
			code = "57014"
		}
		return &pgError{code: code, msg: "ckm_cube: " + err.Error()}
	}
	if simple {
		ss.sendRowDescription(cubeColumns, nil)
	}
	if err := ss.sendRow([]any{out}, cubeColumns, formats); err != nil {
		return err
	}
	ss.rows = 1
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("CALL")})
	return nil
}

// revealColumns are the columns of CALL ckm_reveal's rows.
var revealColumns = []column{{Name: "token", OID: pgtype.TextOID}, {Name: "value", OID: pgtype.TextOID}}

// runReveal answers CALL ckm_reveal('REASON', 'TOKEN', ...) for a steward
// or admin (plan refused anyone else): the raw values, unmasked.
func (ss *session) runReveal(ctx context.Context, st *statement, formats []int16, simple bool) error {
	if ss.srv.cfg.Reveal == nil {
		return &pgError{code: "0A000", msg: "ckm_reveal: this server reveals nothing"}
	}
	rows, err := ss.srv.cfg.Reveal(ctx, ss.principal, st.job.args[0], st.job.args[1:])
	if err != nil {
		var pe *pgError
		if errors.As(err, &pe) {
			return pe
		}
		return &pgError{code: "XX000", msg: "ckm_reveal: " + err.Error()}
	}
	if simple {
		ss.sendRowDescription(revealColumns, nil)
	}
	for _, r := range rows {
		if err := ss.sendRow([]any{r[0], r[1]}, revealColumns, formats); err != nil {
			return err
		}
	}
	ss.rows = int64(len(rows))
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(fmt.Sprintf("SELECT %d", len(rows)))})
	return nil
}

// CubeError is a cube call refused or malformed, with its SQLSTATE.
func CubeError(code, msg string) error { return &pgError{code: code, msg: msg} }

// runJob runs a client's job call in its session; the client waits, the
// others go on reading.
func (ss *session) runJob(ctx context.Context, st *statement, formats []int16, simple bool) error {
	switch st.job.kind {
	case "cube":
		return ss.runCube(ctx, st, formats, simple)
	case "reveal":
		return ss.runReveal(ctx, st, formats, simple)
	}
	jobs := ss.srv.cfg.Jobs
	if jobs == nil {
		return &pgError{code: "0A000", msg: st.job.name + ": this server runs no jobs"}
	}
	name := st.job.name + "(" + strings.Join(st.job.args, ", ") + ")"
	var res JobResult
	var err error
	if st.job.kind == "job" {
		sc := ss.srv.scheduler
		j, ok := ScheduledJob{}, false
		if sc != nil {
			j, ok = sc.job(st.job.args[0])
		}
		if !ok {
			return &pgError{code: "42704", msg: fmt.Sprintf("ckm_job: no scheduled job %q (see ckm jobs)", st.job.args[0])}
		}
		name = j.Name
		res, err = sc.runScheduled(ctx, j, time.Time{}, false)
	} else {
		start := time.Now()
		res, err = jobs.Run(ctx, name, st.job.kind, st.job.args)
		run := JobRun{Job: name, Kind: st.job.kind, Attempt: 1, Started: start, Finished: time.Now(), Status: "ok", Detail: res.Detail}
		if err != nil {
			run.Status, run.Detail = "failed", err.Error()
		}
		if res.RunID != 0 {
			run.ETLRun = res.RunID
		}
		if rerr := RecordJobRun(context.WithoutCancel(ctx), ss.srv.w, run); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		code := "XX000"
		if errors.Is(err, ErrJobRunning) {
			code = "55006"
		}
		return &pgError{code: code, msg: err.Error()}
	}
	if simple {
		ss.sendRowDescription(jobColumns, nil)
	}
	var run any
	if res.RunID != 0 {
		run = res.RunID
	}
	if err := ss.sendRow([]any{name, run, "ok", res.Detail}, jobColumns, formats); err != nil {
		return err
	}
	ss.rows = 1
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("CALL")})
	return nil
}
