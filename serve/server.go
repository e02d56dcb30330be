package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// DefaultListen is the address ckm serve listens on unless told otherwise:
// loopback, one above PostgreSQL's port.
const DefaultListen = "127.0.0.1:5433"

// Config configures a Server.
type Config struct {
	// Listen is HOST:PORT (default DefaultListen; port 0 picks a free one).
	Listen string
	Auth   Auth
	// TLS, when set, is offered to clients that ask (sslmode=require);
	// without it a client's SSL request is declined and it may go on in
	// plain text on its own choice.
	TLS *tls.Config
	// Log receives one structured line per session and per refused or
	// failed statement (default: discarded).
	Log *slog.Logger
	// Jobs runs loads and exports inside the server (CALL ckm_load(...)),
	// nil: none.
	Jobs *Jobs
	// Schedule are the jobs run by cron (they need Jobs).
	Schedule []ScheduledJob
	// Grace is how long Serve lets running statements finish after its
	// context ends (default 10s).
	Grace time.Duration
	// MaxConnections bounds the sessions at once (default 64); one more
	// is refused with SQLSTATE 53300.
	MaxConnections int
	// StartupTimeout bounds the time from connecting to being
	// authenticated (default 30s).
	StartupTimeout time.Duration
	// RoleLimits bounds each role's statements; a role not in the map
	// keeps its DefaultRoleLimits, a zero field means unlimited.
	RoleLimits map[privacy.Role]Limits
	// Cube answers CALL ckm_cube('QUERY JSON'[, 'REASON']) for any role:
	// the cube query runs in the server as ckm cube query runs it and
	// comes back as one JSON document (nil: not offered).
	Cube func(ctx context.Context, p privacy.Principal, query, reason string) (string, error)
	// Reveal answers CALL ckm_reveal('REASON', 'TOKEN', ...) for a
	// principal who may reveal: each token with its raw value (nil: not
	// offered). The reveal audit is the hook's.
	Reveal func(ctx context.Context, p privacy.Principal, reason string, tokens []string) ([][2]string, error)
}

// Limits bounds the statements of one role.
type Limits struct {
	// StatementTimeout cancels a statement that runs longer (SQLSTATE
	// 57014); 0: no timeout.
	StatementTimeout time.Duration
	// MaxRows ends a result with more rows in error after sending that
	// many (SQLSTATE 54000), never truncating it silently; 0: no limit.
	MaxRows int64
}

// DefaultRoleLimits are the limits of a role ckm.yaml does not configure:
// an analyst's statement runs at most 5 minutes and returns at most
// 1,000,000 rows; stewards and admins are not limited.
func DefaultRoleLimits() map[privacy.Role]Limits {
	return map[privacy.Role]Limits{
		privacy.Analyst: {StatementTimeout: 5 * time.Minute, MaxRows: 1_000_000},
		privacy.Steward: {},
		privacy.Admin:   {},
	}
}

// maxMessage bounds one protocol message (a statement or a row of
// parameters), so a client cannot make the server allocate without end.
const maxMessage = 64 << 20

// Server serves one warehouse over the PostgreSQL protocol: every client
// session has a DuckDB connection of its own to the one database
// instance, so readers see the last committed snapshot while a job loads.
type Server struct {
	w   *engine.Warehouse
	cfg Config
	ln  net.Listener

	scheduler *Scheduler
	audit     *auditor

	mu       sync.Mutex
	sessions map[uint32]*session
	opening  int // sessions being set up, counted against MaxConnections
	nextPID  uint32
	wg       sync.WaitGroup
}

// New returns a server for w; Listen binds it.
func New(w *engine.Warehouse, cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Grace == 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 64
	}
	if cfg.StartupTimeout == 0 {
		cfg.StartupTimeout = 30 * time.Second
	}
	limits := DefaultRoleLimits()
	for role, l := range cfg.RoleLimits {
		if _, err := privacy.ParseRole(string(role)); err != nil {
			return nil, fmt.Errorf("serve: limits: %w", err)
		}
		if l.StatementTimeout < 0 || l.MaxRows < 0 {
			return nil, fmt.Errorf("serve: limits of role %s: statement timeout %s and max rows %d must not be negative", role, l.StatementTimeout, l.MaxRows)
		}
		limits[role] = l
	}
	cfg.RoleLimits = limits
	if len(cfg.Auth.Users) == 0 {
		return nil, errors.New("serve: no users: the server does not run open (configure serve.users in ckm.yaml or set the admin password)")
	}
	for name, u := range cfg.Auth.Users {
		if _, err := privacy.ParseRole(string(u.Role)); err != nil {
			return nil, fmt.Errorf("serve: user %q: %w", name, err)
		}
		if _, err := parseVerifier(u.Verifier); err != nil && !cfg.Auth.TrustLoopback {
			return nil, fmt.Errorf("serve: user %q: %w", name, err)
		}
	}
	srv := &Server{w: w, cfg: cfg, sessions: map[uint32]*session{}, nextPID: 1000}
	if len(cfg.Schedule) > 0 {
		if cfg.Jobs == nil {
			return nil, errors.New("serve: a schedule needs job runners")
		}
		sc, err := NewScheduler(w, cfg.Jobs, cfg.Schedule, cfg.Log)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		srv.scheduler = sc
	}
	return srv, nil
}

// Listen binds the server's address.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: listen %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	return nil
}

// Addr is the address the server listens on (after Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts clients until ctx ends, then stops accepting, gives the
// sessions the grace period to finish their statements, cancels what still
// runs and returns.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.cfg.Log.Info("listening", "addr", s.ln.Addr().String(), "warehouse", s.w.Path)
	s.audit = newAuditor(s.w, s.cfg.Log)
	defer s.audit.close()
	// Statements and jobs outlive ctx by the grace period.
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	var schedDone chan struct{}
	if s.scheduler != nil {
		schedDone = make(chan struct{})
		go func() {
			defer close(schedDone)
			s.scheduler.Run(runCtx)
		}()
	}
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("serve: accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(runCtx, nc)
		}()
	}
	s.cfg.Log.Info("stopping", "grace", s.cfg.Grace.String())
	if s.cfg.Jobs != nil {
		s.cfg.Jobs.Close()
	}
	s.mu.Lock()
	for _, ss := range s.sessions {
		ss.closeWhenIdle()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.Grace):
		cancelRun()
		s.mu.Lock()
		for _, ss := range s.sessions {
			ss.cancelStatement()
			ss.nc.Close()
		}
		s.mu.Unlock()
		<-done
	}
	if s.cfg.Jobs != nil {
		s.cfg.Jobs.Close()
		// A job in flight finishes within the grace period or is
		// cancelled, which rolls its transaction back.
		jobsDone := make(chan struct{})
		go func() { s.cfg.Jobs.Wait(); close(jobsDone) }()
		select {
		case <-jobsDone:
		case <-time.After(s.cfg.Grace):
			cancelRun()
			<-jobsDone
		}
	}
	cancelRun()
	if schedDone != nil {
		<-schedDone
	}
	// What committed goes from the write-ahead log into the database file
	// now, not at the next open.
	start := time.Now()
	if _, err := s.w.DB.ExecContext(context.WithoutCancel(ctx), "CHECKPOINT"); err != nil {
		s.cfg.Log.Warn("checkpoint", "err", err)
	} else {
		s.cfg.Log.Info("checkpoint", "ms", time.Since(start).Milliseconds())
	}
	s.cfg.Log.Info("stopped", "warehouse", s.w.Path)
	return nil
}

// handle runs one client connection: startup, authentication, session.
func (s *Server) handle(ctx context.Context, nc net.Conn) {
	defer nc.Close()
	defer func() {
		// A bug in a session ends that session, not the server.
		if p := recover(); p != nil {
			s.cfg.Log.Error("session panic", "remote", nc.RemoteAddr().String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	_ = nc.SetDeadline(time.Now().Add(s.cfg.StartupTimeout))
	be := pgproto3.NewBackend(nc, nc)
	be.SetMaxBodyLen(maxMessage)
	var startup *pgproto3.StartupMessage
	for startup == nil {
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if s.cfg.TLS == nil {
				if _, err := nc.Write([]byte{'N'}); err != nil {
					return
				}
				continue
			}
			if _, err := nc.Write([]byte{'S'}); err != nil {
				return
			}
			tc := tls.Server(nc, s.cfg.TLS)
			if err := tc.HandshakeContext(ctx); err != nil {
				s.cfg.Log.Warn("tls handshake", "remote", nc.RemoteAddr().String(), "err", err)
				return
			}
			nc = tc
			be = pgproto3.NewBackend(nc, nc)
			be.SetMaxBodyLen(maxMessage)
		case *pgproto3.GSSEncRequest:
			if _, err := nc.Write([]byte{'N'}); err != nil {
				return
			}
		case *pgproto3.CancelRequest:
			s.cancel(m.ProcessID, m.SecretKey)
			return
		case *pgproto3.StartupMessage:
			startup = m
		default:
			return
		}
	}
	user := startup.Parameters["user"]
	principal, err := s.authenticate(be, nc, user)
	if err != nil {
		s.cfg.Log.Warn("authentication refused", "user", user, "remote", nc.RemoteAddr().String(), "err", err)
		s.audit.add(auditEntry{event: "auth_failed", user: user, remote: nc.RemoteAddr().String(), sqlstate: "28P01"})
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01",
			Message: fmt.Sprintf("password authentication failed for user %q", user)})
		_ = be.Flush()
		return
	}
	if want := startup.Parameters["ckm_role"]; want != "" {
		// A client may take a lesser role than its user's (the CLI's
		// --role analyst as user admin): never a greater one.
		role, rerr := privacy.ParseRole(want)
		if rerr == nil && !principal.Role.Covers(role) {
			rerr = fmt.Errorf("user %q has role %s, which does not cover %s", user, principal.Role, role)
		}
		if rerr != nil {
			s.cfg.Log.Warn("role refused", "user", user, "remote", nc.RemoteAddr().String(), "role", want, "err", rerr)
			s.audit.add(auditEntry{event: "role_refused", user: user, role: want, remote: nc.RemoteAddr().String(), sqlstate: "28000"})
			be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28000", Message: "ckm_role: " + rerr.Error()})
			_ = be.Flush()
			return
		}
		principal.Role = role
	}
	_ = nc.SetDeadline(time.Time{})
	ss, err := s.newSession(ctx, nc, be, principal, startup.Parameters)
	if errors.Is(err, errTooMany) {
		s.cfg.Log.Warn("connection refused", "user", user, "err", err)
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "53300", Message: err.Error()})
		_ = be.Flush()
		return
	}
	if err != nil {
		s.cfg.Log.Error("session", "user", user, "err", err)
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "XX000", Message: err.Error()})
		_ = be.Flush()
		return
	}
	defer s.endSession(ss)
	s.audit.add(auditEntry{event: "session", pid: ss.pid, user: principal.User, role: string(principal.Role), remote: nc.RemoteAddr().String(),
		statement: startup.Parameters["application_name"]})
	s.cfg.Log.Info("session", "pid", ss.pid, "user", principal.User, "role", string(principal.Role), "remote", nc.RemoteAddr().String(),
		"application", startup.Parameters["application_name"])
	start := time.Now()
	ss.run(ctx)
	s.audit.add(auditEntry{event: "session_end", pid: ss.pid, user: principal.User, role: string(principal.Role), remote: nc.RemoteAddr().String(),
		ms: float64(time.Since(start).Microseconds()) / 1000})
	s.cfg.Log.Info("session end", "pid", ss.pid, "user", principal.User)
}

// authenticate checks the client's user: trusted from loopback when so
// configured, else by SCRAM-SHA-256.
func (s *Server) authenticate(be *pgproto3.Backend, nc net.Conn, name string) (privacy.Principal, error) {
	u, known := s.cfg.Auth.Users[name]
	if s.cfg.Auth.TrustLoopback && known && isLoopback(nc.RemoteAddr()) {
		return privacy.Principal{User: name, Role: u.Role}, nil
	}
	var secret *scramSecret
	if known {
		if sec, err := parseVerifier(u.Verifier); err == nil {
			secret = &sec
		}
	}
	if err := scram(be, secret); err != nil {
		return privacy.Principal{}, err
	}
	if !known || secret == nil {
		return privacy.Principal{}, errAuthFailed
	}
	return privacy.Principal{User: name, Role: u.Role}, nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// errTooMany refuses a session past MaxConnections.
var errTooMany = errors.New("sorry, too many clients already")

// newSession registers a session with its own DuckDB connection.
func (s *Server) newSession(ctx context.Context, nc net.Conn, be *pgproto3.Backend, p privacy.Principal, params map[string]string) (*session, error) {
	s.mu.Lock()
	n := len(s.sessions) + s.opening
	if n >= s.cfg.MaxConnections {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w (%d sessions, the limit of --max-connections)", errTooMany, n)
	}
	s.opening++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.opening--
		s.mu.Unlock()
	}()
	conn, err := s.w.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if p.Sandboxed() {
		// As in the shell: names resolve to the masked views first.
		if _, err := conn.ExecContext(ctx, "SET search_path = "+engine.QuoteString(privacy.AnalystSchema+",main")); err != nil {
			conn.Close()
			return nil, err
		}
	}
	s.mu.Lock()
	s.nextPID++
	ss := &session{srv: s, nc: nc, be: be, conn: conn, principal: p, pid: s.nextPID, secret: randomBytes(4),
		stmts: map[string]*statement{}, portals: map[string]*portal{}, params: params, txStatus: 'I'}
	s.sessions[ss.pid] = ss
	s.mu.Unlock()
	return ss, nil
}

func (s *Server) endSession(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss.pid)
	s.mu.Unlock()
	ss.close()
}

// cancel interrupts the statement of the session a cancel request names,
// if its secret matches.
func (s *Server) cancel(pid uint32, secret []byte) {
	s.mu.Lock()
	ss := s.sessions[pid]
	s.mu.Unlock()
	if ss == nil || string(ss.secret) != string(secret) {
		s.cfg.Log.Warn("cancel request refused", "pid", pid)
		return
	}
	s.cfg.Log.Info("cancel", "pid", pid)
	ss.cancelStatement()
}
