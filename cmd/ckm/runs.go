package main

import (
	"database/sql"

	"github.com/spf13/cobra"
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
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := `SELECT run_id, path, line, stage, rule, severity, column_name AS column, raw_value FROM etl_reject
				WHERE (? = 0 OR run_id = ?) AND (? = '' OR rule = ?) ORDER BY run_id, file_id, line, rule LIMIT ?`
			return a.queryTable(cmd, q, run, run, rule, rule, limit)
		},
	}
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
	w, err := a.openWarehouse(cmd.Context())
	if err != nil {
		return err
	}
	defer w.Close()
	rows, err := w.DB.QueryContext(cmd.Context(), query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	header, data, err := scanAll(rows)
	if err != nil {
		return err
	}
	return a.printTable(header, data)
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
