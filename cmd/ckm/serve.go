package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/export"
	"github.com/ckm-dev/ckm/olap"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
	"github.com/ckm-dev/ckm/serve"
)

func init() { registerCommand(func(a *app) *cobra.Command { return newServeCmd(a, nil) }) }

// serveOptions are what ckm serve's flags resolve to.
type serveOptions struct {
	app           *app
	listen        string
	tlsCert       string
	tlsKey        string
	trustLoopback bool
	grace         time.Duration
	check         bool   // probe the running server instead of serving
	maxConns      int    // sessions at once
	adminPassword string // CKM_ADMIN_PASSWORD: the built-in admin's password
}

// newServeCmd builds ckm serve; runF, when not nil, runs instead of
// serveRun with the parsed options.
func newServeCmd(a *app, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{app: a}
	var grace string
	cmd := &cobra.Command{
		Use:   "serve [--listen HOST:PORT]",
		Short: "Serve the warehouse over the PostgreSQL protocol (psql, BI tools) and run loads as jobs",
		Long: `One process owns the warehouse and speaks the PostgreSQL protocol, so
psql, pgx, JDBC and BI tools connect while loads run inside the server:
clients read the last committed snapshot and see a load's data at its commit.

Users come from serve.users in ckm.yaml, each with a role and a
SCRAM-SHA-256 password verifier (make one with 'ckm serve hash-password'):

  serve:
    users:
      alice: {role: analyst, password: "SCRAM-SHA-256$4096:..."}

CKM_ADMIN_PASSWORD sets the password of the built-in user admin. With no
user at all the server refuses to start. An analyst's statements are vetted
by the shell's sandbox and its results masked; a load or export is started
by an admin with CALL ckm_load('DIR') or CALL ckm_export('OUT'), and
schedule: in ckm.yaml runs them by cron (see 'ckm jobs').`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := net.SplitHostPort(opts.listen); err != nil {
				return usageErrorf("--listen %q: want HOST:PORT", opts.listen)
			}
			if opts.maxConns < 1 {
				return usageErrorf("--max-connections %d: want 1 or more", opts.maxConns)
			}
			if (opts.tlsCert == "") != (opts.tlsKey == "") {
				return usageErrorf("--tls-cert and --tls-key go together")
			}
			var err error
			if opts.grace, err = time.ParseDuration(grace); err != nil || opts.grace < 0 {
				return usageErrorf("--grace %q: want a duration of 0 or more, e.g. 10s", grace)
			}
			opts.adminPassword = os.Getenv("CKM_ADMIN_PASSWORD")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.check {
				return serveCheck(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.listen, "listen", serve.DefaultListen, "address to listen on, HOST:PORT")
	cmd.Flags().StringVar(&opts.tlsCert, "tls-cert", "", "TLS certificate file (PEM): offer TLS to clients")
	cmd.Flags().StringVar(&opts.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	cmd.Flags().BoolVar(&opts.trustLoopback, "trust-loopback", false, "let configured users in from loopback addresses without a password")
	cmd.Flags().StringVar(&grace, "grace", "10s", "on SIGTERM, how long running statements and jobs may finish")
	cmd.Flags().IntVar(&opts.maxConns, "max-connections", 64, "sessions at once; one more is refused (SQLSTATE 53300)")
	cmd.Flags().BoolVar(&opts.check, "check", false, "health probe: exit 0 if the server of this warehouse answers the PostgreSQL protocol, else 1")
	cmd.AddCommand(newServeHashPasswordCmd(a))
	return cmd
}

func serveRun(ctx context.Context, opts *serveOptions) error {
	a := opts.app
	users, err := a.serveUsers(opts.adminPassword)
	if err != nil {
		return err
	}
	cfg := serve.Config{Listen: opts.listen, Auth: serve.Auth{Users: users, TrustLoopback: opts.trustLoopback}, Grace: opts.grace, MaxConnections: opts.maxConns,
		Log: slog.New(slog.NewJSONHandler(a.stderr, nil))}
	if cfg.RoleLimits, err = a.serveLimits(); err != nil {
		return err
	}
	if opts.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.tlsCert, opts.tlsKey)
		if err != nil {
			return usageErrorf("--tls-cert/--tls-key: %v", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	w, err := a.createWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	if err := registerFunctions(ctx, w); err != nil {
		return err
	}
	// ckm_reveal(token) as an expression would be one function for every
	// session; sessions refuse it by name, and this catches any spelling
	// they miss: nothing opens a value but CALL ckm_reveal.
	if err := vault.RegisterRevealRefused(ctx, w, serve.RevealExpressionRefusal); err != nil {
		return err
	}
	runners, err := a.jobRunners(w)
	if err != nil {
		return err
	}
	cfg.Jobs = serve.NewJobs(runners, cfg.Log)
	cfg.Cube = a.serveCube(w)
	if cfg.Reveal, err = a.serveReveal(ctx, w); err != nil {
		return err
	}
	if cfg.Schedule, err = a.schedule(); err != nil {
		return err
	}
	srv, err := serve.New(w, cfg)
	if err != nil {
		return usageError{err}
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	// The discovery file tells ckm jobs (and other clients) where the
	// server of this warehouse listens.
	abs, _ := filepath.Abs(a.warehousePath())
	disc, err := writeDiscovery(a.warehousePath(), serveInfo{Addr: srv.Addr().String(), PID: os.Getpid(), Warehouse: abs,
		Started: time.Now().UTC().Truncate(time.Second), Version: version})
	if err != nil {
		return err
	}
	defer os.Remove(disc)
	cfg.Log.Info("discovery", "file", disc, "addr", srv.Addr().String(), "pid", os.Getpid())
	return srv.Serve(ctx)
}

// serveCheck probes the server named by the warehouse's discovery file:
// it must answer an SSL request with the protocol's one-byte reply. No
// credentials are needed.
func serveCheck(ctx context.Context, opts *serveOptions) error {
	a := opts.app
	info, ok, err := readDiscovery(a.warehousePath())
	if !ok && err == nil {
		err = fmt.Errorf("no discovery file %s", discoveryPath(a.warehousePath()))
	}
	if err != nil {
		return fmt.Errorf("serve --check: no server for %s: %w", a.warehousePath(), err)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", info.Addr)
	if err != nil {
		return fmt.Errorf("serve --check: %s (pid %d): %w", info.Addr, info.PID, err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	// SSLRequest: length 8, code 80877103.
	if _, err := nc.Write([]byte{0, 0, 0, 8, 4, 210, 22, 47}); err != nil {
		return fmt.Errorf("serve --check: %s: %w", info.Addr, err)
	}
	reply := make([]byte, 1)
	if _, err := io.ReadFull(nc, reply); err != nil || (reply[0] != 'N' && reply[0] != 'S') {
		return fmt.Errorf("serve --check: %s does not answer the PostgreSQL protocol (%v)", info.Addr, err)
	}
	a.logf("ckm serve for %s answers at %s (pid %d)", a.warehousePath(), info.Addr, info.PID)
	return nil
}

// jobRunners are the loads and exports the server runs as jobs, with the
// same options as ckm load and ckm export parquet.
func (a *app) jobRunners(w *engine.Warehouse) (map[string]serve.Runner, error) {
	mappings, err := a.configuredMappings()
	if err != nil {
		return nil, err
	}
	load := func(ctx context.Context, paths []string) (serve.JobResult, error) {
		var asOf time.Time
		if len(paths) > 0 && strings.HasPrefix(paths[0], asOfArg) {
			// ckm load --as-of through the server.
			t, err := time.ParseInLocation("2006-01-02", strings.TrimPrefix(paths[0], asOfArg), time.Local)
			if err != nil {
				return serve.JobResult{}, fmt.Errorf("%s: want YYYY-MM-DD", paths[0])
			}
			asOf, paths = t.Add(24*time.Hour-time.Second), paths[1:]
			if len(paths) == 0 {
				return serve.JobResult{}, errors.New("nothing to load: give files or directories after the as-of date")
			}
		}
		lo, err := a.loadOptions(asOf)
		if err != nil {
			return serve.JobResult{}, err
		}
		lo.Progress, lo.Mappings = nil, mappings
		if lo.Vault, _, err = a.loadVault(ctx, w); err != nil {
			return serve.JobResult{}, err
		}
		rep, err := etl.Load(ctx, w, paths, lo)
		if errors.Is(err, etl.ErrNothingToLoad) {
			return serve.JobResult{Detail: "nothing to load: every file is in the manifest already"}, nil
		}
		if err != nil {
			return serve.JobResult{}, etl.ExplainResourceError(ctx, w, err)
		}
		detail := fmt.Sprintf("%d rows read, %d loaded, %d rejected, %d duplicates", rep.Read, rep.Loaded, rep.Rejected, rep.Duplicates)
		if rep.AfterCommit != "" {
			detail += "; rollups not refreshed: " + rep.AfterCommit
		}
		return serve.JobResult{RunID: rep.RunID, Detail: detail}, nil
	}
	exp := func(ctx context.Context, args []string) (serve.JobResult, error) {
		// Masked, as an analyst reads it: raw exports stay with the CLI,
		// where --reveal is audited.
		m, err := export.Parquet(ctx, w, export.ParquetOptions{Out: args[0], Tables: args[1:],
			Principal: privacy.Principal{User: "ckm serve", Role: privacy.Admin}, Producer: "ckm " + version})
		if err != nil {
			return serve.JobResult{}, err
		}
		return serve.JobResult{Detail: fmt.Sprintf("exported %d tables to %s (data version %d)", len(m.Tables), args[0], m.DataVersion)}, nil
	}
	backup := func(ctx context.Context, args []string) (serve.JobResult, error) {
		// A job: under the writer lock, so no load commits meanwhile;
		// readers go on.
		detail, err := backupDatabase(ctx, w.DB, args[0])
		return serve.JobResult{Detail: detail}, err
	}
	return map[string]serve.Runner{"load": load, "export": exp, "backup": backup}, nil
}

// serveConfig is the serve: section of ckm.yaml that flags do not cover.
type serveConfig struct {
	Serve struct {
		Users map[string]struct {
			Role     string `yaml:"role"`
			Password string `yaml:"password"`
		} `yaml:"users"`
		// Limits are per role: statement_timeout a Go duration ("30s",
		// "5m"; 0 none), max_rows a count (0 none).
		Limits map[string]struct {
			StatementTimeout *string `yaml:"statement_timeout"`
			MaxRows          *int64  `yaml:"max_rows"`
		} `yaml:"limits"`
	} `yaml:"serve"`
}

// serveLimits reads serve.limits of the configuration (trusted only in a
// file no one else may write, as serve.users): a role's limits replace the
// default of the field given (serve.DefaultRoleLimits), fields not given
// keep it.
func (a *app) serveLimits() (map[privacy.Role]serve.Limits, error) {
	limits := serve.DefaultRoleLimits()
	cfg := a.cfg.ConfigFileUsed()
	if cfg == "" {
		return limits, nil
	}
	if abs, err := filepath.Abs(cfg); err == nil {
		cfg = abs
	}
	data, err := os.ReadFile(cfg)
	if err != nil {
		return nil, fmt.Errorf("serve limits: %w", err)
	}
	var doc serveConfig
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, usageErrorf("config %s: serve.limits: %v", cfg, err)
	}
	if len(doc.Serve.Limits) == 0 {
		return limits, nil
	}
	if err := trustedConfig(cfg, a.warehousePath()); err != nil {
		return nil, err
	}
	for name, l := range doc.Serve.Limits {
		role, err := privacy.ParseRole(strings.TrimSpace(name))
		if err != nil {
			return nil, usageErrorf("config %s: serve.limits.%s: %v", cfg, name, err)
		}
		lim := limits[role]
		if l.StatementTimeout != nil {
			v := strings.TrimSpace(*l.StatementTimeout)
			d, err := time.ParseDuration(v)
			if v == "0" {
				d, err = 0, nil
			}
			if err != nil || d < 0 {
				return nil, usageErrorf("config %s: serve.limits.%s.statement_timeout: %q is not a duration such as 30s or 5m (0: none)", cfg, name, v)
			}
			lim.StatementTimeout = d
		}
		if l.MaxRows != nil {
			if *l.MaxRows < 0 {
				return nil, usageErrorf("config %s: serve.limits.%s.max_rows: %d is negative (0: none)", cfg, name, *l.MaxRows)
			}
			lim.MaxRows = *l.MaxRows
		}
		limits[role] = lim
	}
	return limits, nil
}

// serveUsers reads serve.users of the configuration (trusted only in a
// file no one else may write, as the principals list) and adds the
// built-in admin when adminPassword is set.
func (a *app) serveUsers(adminPassword string) (map[string]serve.User, error) {
	users := map[string]serve.User{}
	if cfg := a.cfg.ConfigFileUsed(); cfg != "" {
		if abs, err := filepath.Abs(cfg); err == nil {
			cfg = abs
		}
		data, err := os.ReadFile(cfg)
		if err != nil {
			return nil, fmt.Errorf("serve users: %w", err)
		}
		var doc serveConfig
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, usageErrorf("config %s: serve.users: %v", cfg, err)
		}
		if len(doc.Serve.Users) > 0 {
			if err := trustedConfig(cfg, a.warehousePath()); err != nil {
				return nil, err
			}
		}
		for name, u := range doc.Serve.Users {
			role, err := privacy.ParseRole(strings.TrimSpace(u.Role))
			if err != nil {
				return nil, usageErrorf("config %s: serve.users.%s.role: %v", cfg, name, err)
			}
			if err := serve.CheckVerifier(u.Password); err != nil {
				return nil, usageErrorf("config %s: serve.users.%s.password: %v", cfg, name, err)
			}
			users[name] = serve.User{Name: name, Role: role, Verifier: u.Password}
		}
	}
	if adminPassword != "" {
		v, err := serve.HashPassword(adminPassword)
		if err != nil {
			return nil, err
		}
		users["admin"] = serve.User{Name: "admin", Role: privacy.Admin, Verifier: v}
	}
	if len(users) == 0 {
		return nil, usageErrorf("serve: no users are configured and CKM_ADMIN_PASSWORD is not set: the server does not run open (add serve.users to ckm.yaml; 'ckm serve hash-password' makes a password verifier)")
	}
	return users, nil
}

// newServeHashPasswordCmd builds ckm serve hash-password: a password on
// stdin becomes the SCRAM-SHA-256 verifier serve.users stores.
func newServeHashPasswordCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "hash-password",
		Short: "Read a password on stdin and print its SCRAM-SHA-256 verifier for serve.users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && err != io.EOF {
				return err
			}
			pw := strings.TrimRight(line, "\r\n")
			if pw == "" {
				return usageErrorf("hash-password: give the password on stdin")
			}
			v, err := serve.HashPassword(pw)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, v)
			return err
		},
	}
}

// serveCube answers CALL ckm_cube: a cube query of ckm.yaml's model run in
// the server as ckm cube query runs it, its result as JSON. Raw personal
// data (allow_pii) needs a principal who may reveal and a reason, and is
// written to the reveal audit first.
func (a *app) serveCube(w *engine.Warehouse) func(context.Context, privacy.Principal, string, string) (string, error) {
	return func(ctx context.Context, p privacy.Principal, query, reason string) (string, error) {
		q, err := olap.ParseQuery([]byte(query))
		if err != nil {
			return "", serve.CubeError("22023", "ckm_cube: "+err.Error())
		}
		m, _, err := a.cubeFor(ctx, q.Cube)
		if err != nil {
			return "", serve.CubeError("42704", "ckm_cube: "+err.Error())
		}
		ex := olap.NewExecutor(w, m)
		var audit int64
		if q.AllowPII {
			if !p.MayReveal() {
				return "", serve.CubeError("42501", fmt.Sprintf("ckm_cube: allow_pii: role %s may not see raw personal data (steward or admin may)", p.Role))
			}
			if strings.TrimSpace(reason) == "" {
				return "", serve.CubeError("22023", "ckm_cube: allow_pii needs a reason: CALL ckm_cube('...', 'reason')")
			}
			if audit, err = privacy.Audit(ctx, w.DB, privacy.Reveal{Principal: p, Command: "cube query (ckm serve)",
				Detail: query, Reason: reason, Rows: -1}); err != nil {
				return "", err
			}
		}
		res, err := ex.Query(ctx, q)
		var qe *olap.QueryError
		if errors.As(err, &qe) {
			return "", serve.CubeError("22023", "ckm_cube: "+err.Error())
		}
		if err != nil {
			return "", err
		}
		if audit != 0 {
			if err := privacy.AuditRows(ctx, w.DB, audit, int64(len(res.Data))); err != nil {
				return "", err
			}
		}
		out, err := json.Marshal(res)
		return string(out), err
	}
}

// serveReveal answers CALL ckm_reveal('REASON', 'TOKEN', ...) on a
// protected warehouse whose key the server was given: each token's raw
// value, the reveal written to the audit (principal, reason, tokens)
// before any value is opened. Without the key, or on an unprotected
// warehouse, the call says why nothing can be revealed.
func (a *app) serveReveal(ctx context.Context, w *engine.Warehouse) (func(context.Context, privacy.Principal, string, []string) ([][2]string, error), error) {
	protected, err := vault.Protected(ctx, w.DB)
	if err != nil {
		return nil, err
	}
	why := ""
	var v *vault.Vault
	switch {
	case !protected:
		why = "the warehouse is not protected (ckm key init): its analytical tables hold the values themselves, which a steward reads directly"
	default:
		v, err = a.openVault(ctx, w)
		if errors.Is(err, vault.ErrNoKey) {
			why = "ckm serve was started without the key (--key-file or CKM_KEY): it sees tokens and masks only"
		} else if err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context, p privacy.Principal, reason string, tokens []string) ([][2]string, error) {
		if why != "" {
			return nil, serve.CubeError("55000", "ckm_reveal: "+why)
		}
		if !p.MayReveal() {
			return nil, serve.CubeError("42501", fmt.Sprintf("ckm_reveal: role %s never sees raw personal data", p.Role))
		}
		if strings.TrimSpace(reason) == "" {
			return nil, serve.CubeError("22023", "ckm_reveal: give the reason first: CALL ckm_reveal('reason', 'token', ...)")
		}
		audit, err := privacy.Audit(ctx, w.DB, privacy.Reveal{Principal: p, Command: "ckm serve ckm_reveal",
			Detail: "tokens revealed: " + strings.Join(tokens, ", "), Reason: reason, Rows: -1})
		if err != nil {
			return nil, err
		}
		var out [][2]string
		for _, tok := range tokens {
			var customer int64
			var wrapped, sealed []byte
			err := w.DB.QueryRowContext(ctx, `SELECT v.customer_id, k.wrapped_key, v.sealed FROM vault_value v
				JOIN vault_customer_key k USING (customer_id) WHERE v.token = ? ORDER BY v.customer_id DESC LIMIT 1`, tok).Scan(&customer, &wrapped, &sealed)
			if errors.Is(err, sql.ErrNoRows) {
				continue // no such token, or its customer was forgotten
			}
			if err != nil {
				return nil, err
			}
			plain, err := v.Unseal(customer, wrapped, tok, sealed)
			if err != nil {
				return nil, err
			}
			out = append(out, [2]string{tok, plain})
		}
		if err := privacy.AuditRows(ctx, w.DB, audit, int64(len(out))); err != nil {
			return nil, err
		}
		return out, nil
	}, nil
}
