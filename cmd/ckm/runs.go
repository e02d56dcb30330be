package main

import (
	"database/sql"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/shell"
)

func init() {
	registerCommand(newRunsCmd)
	registerCommand(newRejectsCmd)
}

func newRunsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "runs",
		Short: "List ETL runs with their counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.queryTable(cmd, `SELECT run_id, strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started,
				round(epoch(finished_at - started_at), 1) AS seconds, status, files_loaded AS files,
				rows_read, rows_loaded, rows_rejected, rows_duplicate, rows_warned
				FROM etl_run ORDER BY run_id`)
		},
	}
}

func newRejectsCmd(a *app) *cobra.Command {
	var run int64
	var limit int
	var rule string
	cmd := &cobra.Command{
		Use:   "rejects",
		Short: "List rejected and flagged rows from the reject ledger",
		Long: `List the reject ledger: every rejected line (severity error), flagged line (warn),
duplicate and applied correction (info), with the rule, the raw value and the raw
record as read, and the line an entry refers to (the line a duplicate repeats, the
line a correction replaces). Personal data in raw values and records is masked
unless --role admin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			role, err := a.role(cmd)
			if err != nil {
				return err
			}
			q := `SELECT r.run_id, r.path, r.line, r.stage, r.rule, r.severity, r.column_name AS column, r.raw_value,
					r.raw_record, CASE WHEN r.ref_line IS NOT NULL THEN
						coalesce('run ' || coalesce(r.ref_run_id, r.run_id) || ' ', '') || coalesce(f.path, 'file ' || r.ref_file_id) || ':' || r.ref_line
					END AS refers_to, r.message
				FROM etl_reject r LEFT JOIN etl_file f ON f.file_id = r.ref_file_id
				WHERE (? = 0 OR r.run_id = ?) AND (? = '' OR r.rule = ?) ORDER BY r.run_id, r.file_id, r.line, r.rule LIMIT ?`
			header, data, err := a.query(cmd, q, run, run, rule, rule, limit)
			if err != nil {
				return err
			}
			if role != shell.RoleAdmin {
				for _, row := range data {
					column, _ := row[6].(string)
					if v, ok := row[7].(string); ok { // raw_value: masked as its column's kind of personal data
						if k := shell.ColumnPII(column); k != shell.PIINone {
							row[7] = k.Mask(v)
						} else {
							row[7] = shell.MaskText(v)
						}
					}
					if v, ok := row[8].(string); ok { // raw_record
						row[8] = shell.MaskText(v)
					}
				}
			}
			return a.printTable(header, data)
		},
	}
	addRoleFlag(cmd)
	cmd.Flags().Int64Var(&run, "run", 0, "only this run")
	cmd.Flags().StringVar(&rule, "rule", "", "only this rule (e.g. date_invalid)")
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many rows")
	cmd.AddCommand(&cobra.Command{
		Use:   "summary",
		Short: "Rejected and flagged rows counted by rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.queryTable(cmd, `SELECT rule, severity, count(*) AS rows, count(DISTINCT path) AS files
				FROM etl_reject WHERE (? = 0 OR run_id = ?) GROUP BY ALL ORDER BY severity, rows DESC`, run, run)
		},
	})
	return cmd
}

// queryTable runs a query on the warehouse (read-only use) and prints it.
func (a *app) queryTable(cmd *cobra.Command, query string, args ...any) error {
	header, data, err := a.query(cmd, query, args...)
	if err != nil {
		return err
	}
	return a.printTable(header, data)
}

// query runs a query on the warehouse (read-only use) and reads its rows.
func (a *app) query(cmd *cobra.Command, query string, args ...any) ([]string, [][]any, error) {
	w, err := a.openWarehouse(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	rows, err := w.DB.QueryContext(cmd.Context(), query, args...)
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
