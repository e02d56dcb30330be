package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
)

func init() {
	registerCommand(func(a *app) *cobra.Command { return newRunsCmd(a, nil) })
	registerCommand(func(a *app) *cobra.Command {
		cmd := newRejectsCmd(a, nil)
		cmd.AddCommand(newRejectsSummaryCmd(a, nil))
		return cmd
	})
}

// runsOptions are what ckm runs resolves to (it has no flags of its own).
type runsOptions struct{ app *app }

// newRunsCmd builds ckm runs; runF, when not nil, runs instead of runsRun.
func newRunsCmd(a *app, runF func(context.Context, *runsOptions) error) *cobra.Command {
	opts := &runsOptions{app: a}
	return &cobra.Command{
		Use:   "runs",
		Short: "List ETL runs with their counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runsRun(cmd.Context(), opts)
		},
	}
}

func runsRun(ctx context.Context, opts *runsOptions) error {
	if conn, err := opts.app.serverClient(ctx, "runs", clientRole("")); err != nil || conn != nil {
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		header, data, err := serverRows2(conn.Query(ctx, runsSQL, pgx.QueryExecModeSimpleProtocol))
		if err != nil {
			return fmt.Errorf("runs: %w", err)
		}
		return opts.app.printTable(header, data)
	}
	return opts.app.queryTable(ctx, runsSQL)
}

// runsSQL lists the ETL runs.
const runsSQL = `SELECT run_id, strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started,
		round(epoch(finished_at - started_at), 1) AS seconds, status, files_loaded AS files,
		rows_read, rows_loaded, rows_rejected, rows_duplicate, rows_warned
		FROM etl_run ORDER BY run_id`

// rejectsOptions are what ckm rejects' flags resolve to.
type rejectsOptions struct {
	app    *app
	role   string // checked: analyst, steward or admin (granted when run)
	reveal string // why raw values are shown ("": masked)
	run    int64  // 0: every run
	rule   string // "": every rule
	limit  int
}

// newRejectsCmd builds ckm rejects; runF, when not nil, runs instead of
// rejectsRun with the parsed options.
func newRejectsCmd(a *app, runF func(context.Context, *rejectsOptions) error) *cobra.Command {
	opts := &rejectsOptions{app: a}
	cmd := &cobra.Command{
		Use:   "rejects",
		Short: "List rejected and flagged rows from the reject ledger",
		Long: `List the reject ledger: every rejected line (severity error), flagged line (warn),
duplicate and applied correction (info), with the rule, the raw value and the raw
record as read, and the line an entry refers to (the line a duplicate repeats, the
line a correction replaces). Personal data in raw values and records — ID
numbers, mobiles and e-mails in any spelling, and values under personal-data
keys of JSON records — is masked with the one mask of each kind, unless a
steward or admin gives --reveal REASON (written to the reveal audit).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.role, err = a.role(cmd); err != nil {
				return err
			}
			if opts.reveal, err = a.reveal(cmd, opts.role); err != nil {
				return err
			}
			if err := checkRun(opts.run); err != nil {
				return err
			}
			if opts.limit < 1 {
				return usageErrorf("--limit %d: want at least 1", opts.limit)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rejectsRun(cmd.Context(), opts)
		},
	}
	addRoleFlag(cmd)
	cmd.Flags().Int64Var(&opts.run, "run", 0, "only this run")
	cmd.Flags().StringVar(&opts.rule, "rule", "", "only this rule (e.g. date_invalid)")
	cmd.Flags().IntVar(&opts.limit, "limit", 1000, "at most this many rows")
	return cmd
}

// checkRun checks a --run: a run id, or 0 for every run.
func checkRun(run int64) error {
	if run < 0 {
		return usageErrorf("--run %d: want a run id (see ckm runs)", run)
	}
	return nil
}

func rejectsRun(ctx context.Context, opts *rejectsOptions) error {
	a := opts.app
	principal, err := a.grant(opts.role)
	if err != nil {
		return err
	}
	q := `SELECT r.run_id, r.path, r.line, r.stage, r.rule, r.severity, r.column_name AS column, r.raw_value,
			r.raw_record, CASE WHEN r.ref_line IS NOT NULL THEN
				coalesce('run ' || coalesce(r.ref_run_id, r.run_id) || ' ', '') || coalesce(f.path, 'file ' || r.ref_file_id) || ':' || r.ref_line
			END AS refers_to, r.message
		FROM etl_reject r LEFT JOIN etl_file f ON f.file_id = r.ref_file_id
		WHERE (? = 0 OR r.run_id = ?) AND (? = '' OR r.rule = ?) ORDER BY r.run_id, r.file_id, r.line, r.rule LIMIT ?`
	v, err := a.warehouseVault(ctx)
	if err != nil && (opts.reveal != "" || !errors.Is(err, vault.ErrNoKey)) {
		return err
	}
	if opts.reveal != "" {
		// No audit row, no raw values.
		if err := a.auditReveal(ctx, privacy.Reveal{Principal: principal, Command: "rejects",
			Detail: fmt.Sprintf("run %d rule %q limit %d", opts.run, opts.rule, opts.limit), Reason: opts.reveal, Rows: -1}); err != nil {
			return err
		}
	}
	header, data, err := a.query(ctx, q, opts.run, opts.run, opts.rule, opts.rule, opts.limit)
	if err != nil {
		return err
	}
	if err := openLedgerTexts(v, data); err != nil {
		return err
	}
	if opts.reveal == "" {
		maskRejects(header, data)
	}
	return a.printTable(header, data)
}

// warehouseVault opens the configured warehouse's data key: nil for an
// unprotected warehouse, vault.ErrNoKey (wrapped) for a protected one
// without the key.
func (a *app) warehouseVault(ctx context.Context) (*vault.Vault, error) {
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return a.openVault(ctx, w)
}

// sealedShown stands for a sealed ledger text when the key is not given.
const sealedShown = "(encrypted: give the key to see it masked)"

// openLedgerTexts decrypts the sealed raw values and records of ledger
// rows (v nil: they are shown as sealedShown).
func openLedgerTexts(v *vault.Vault, data [][]any) error {
	for _, row := range data {
		for i, c := range row {
			s, ok := c.(string)
			if !ok || !vault.IsSealedText(s) {
				continue
			}
			if v == nil {
				row[i] = sealedShown
				continue
			}
			p, err := v.OpenText(s)
			if err != nil {
				return err
			}
			row[i] = p
		}
	}
	return nil
}

// auditReveal writes a reveal to the warehouse's audit before raw values
// are shown.
func (a *app) auditReveal(ctx context.Context, r privacy.Reveal) error {
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	_, err = privacy.Audit(ctx, w.DB, r)
	return err
}

// maskRejects masks personal data in the ledger rows with privacy's row
// masker: a raw value by the kind of its column (an invalid mobile has no
// mobile shape but is still a mobile), and personal values in raw records
// and messages by their shape or JSON key.
func maskRejects(header []string, data [][]any) {
	m := privacy.NewRowMasker(header)
	for _, row := range data {
		m.Mask(row)
	}
}

// rejectsSummaryOptions are what ckm rejects summary's flags resolve to.
type rejectsSummaryOptions struct {
	app *app
	run int64 // 0: every run
}

// newRejectsSummaryCmd builds ckm rejects summary; runF, when not nil, runs
// instead of rejectsSummaryRun.
func newRejectsSummaryCmd(a *app, runF func(context.Context, *rejectsSummaryOptions) error) *cobra.Command {
	opts := &rejectsSummaryOptions{app: a}
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Rejected and flagged rows counted by rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRun(opts.run); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rejectsSummaryRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().Int64Var(&opts.run, "run", 0, "only this run")
	return cmd
}

func rejectsSummaryRun(ctx context.Context, opts *rejectsSummaryOptions) error {
	return opts.app.queryTable(ctx, `SELECT rule, severity, count(*) AS rows, count(DISTINCT path) AS files
		FROM etl_reject WHERE (? = 0 OR run_id = ?) GROUP BY ALL ORDER BY severity, rows DESC`, opts.run, opts.run)
}

// queryTable runs a query on the warehouse (read-only use) and prints it.
func (a *app) queryTable(ctx context.Context, query string, args ...any) error {
	header, data, err := a.query(ctx, query, args...)
	if err != nil {
		return err
	}
	return a.printTable(header, data)
}

// query runs a query on the warehouse (read-only use) and reads its rows.
func (a *app) query(ctx context.Context, query string, args ...any) ([]string, [][]any, error) {
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	rows, err := w.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	return scanAll(rows)
}

// scanAll reads a result set into memory.
func scanAll(rows *sql.Rows) ([]string, [][]any, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	var data [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		data = append(data, vals)
	}
	return cols, data, rows.Err()
}
