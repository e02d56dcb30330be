package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/export"
)

func init() { registerCommand(newExportCmd) }

func newExportCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export the warehouse for other tools (Iceberg lake, Parquet folder)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newExportParquetCmd(a, nil))
	cmd.AddCommand(newExportLakeCmd(a, nil))
	return cmd
}

// exportParquetOptions are what ckm export parquet's flags resolve to.
type exportParquetOptions struct {
	app               *app
	out               string   // the lake directory
	tables            []string // nil: every table
	role              string   // checked: analyst, steward or admin (granted when run)
	reveal            string   // why raw personal data is exported ("": masked)
	dirMode, fileMode string
}

// newExportParquetCmd builds ckm export parquet; runF, when not nil, runs
// instead of exportParquetRun with the parsed options.
func newExportParquetCmd(a *app, runF func(context.Context, *exportParquetOptions) error) *cobra.Command {
	opts := &exportParquetOptions{app: a}
	cmd := &cobra.Command{
		Use:   "parquet --out DIR [--tables T,...]",
		Short: "Write the Parquet lake for BI tools: dims, facts (by year/month), knowledge base, manifest",
		Long: `Write every dim_*, fact_* and kb_* table and etl_run as Parquet under DIR,
one directory per table; facts are hive-partitioned by year and month of
date_key (year=0/month=0 holds unknown dates). DIR/manifest.json lists the
tables, files, row counts, column types, the data version (last committed
ETL run) and the schema version.

Personal data is masked as an analyst reads it: dim_customer comes from its
masked view (ID number reduced to its region code, name, mobile and e-mail
masked, birth year instead of birth date, so no published combination
narrows an ID number to fewer than 1,000); other columns named for personal
data are masked by kind. Raw values need --role admin (granted by the
principals list of ckm.yaml) and --reveal REASON, written to the audit. The lake
is written beside DIR and renamed into place, so a failed export leaves no
half lake; an earlier lake in DIR is replaced whole.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.out == "" {
				return usageErrorf("export parquet: --out DIR is required")
			}
			var err error
			if opts.role, opts.reveal, err = a.exportAccess(cmd, "export parquet", opts.dirMode, opts.fileMode); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return exportParquetRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "lake directory (required)")
	cmd.Flags().StringSliceVar(&opts.tables, "tables", nil, "export only these tables (comma-separated)")
	cmd.Flags().StringVar(&opts.dirMode, "dir-mode", "0755", "permissions of the folder's directories (octal; raw data is 0700)")
	cmd.Flags().StringVar(&opts.fileMode, "file-mode", "0644", "permissions of the folder's files (octal; raw data is 0600)")
	addRoleFlag(cmd)
	return cmd
}

func exportParquetRun(ctx context.Context, opts *exportParquetOptions) error {
	a := opts.app
	principal, err := a.grant(opts.role)
	if err != nil {
		return err
	}
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	m, err := export.Parquet(ctx, w, export.ParquetOptions{
		Out: opts.out, Tables: opts.tables, Principal: principal, RawPII: opts.reveal != "", Reason: opts.reveal,
		Producer: "ckm " + version, DirMode: mustMode(opts.dirMode), FileMode: mustMode(opts.fileMode),
	})
	if err != nil {
		if errors.Is(err, export.ErrUnknownTable) {
			return usageError{err}
		}
		return err
	}
	if a.format() == formatJSON {
		return writeJSON(a, m)
	}
	header := []string{"table", "rows", "files", "partitioned_by", "masked"}
	rows := make([][]any, len(m.Tables))
	for i, t := range m.Tables {
		var masked []string
		for _, c := range t.Columns {
			if c.Masked != "" {
				masked = append(masked, c.Name)
			}
		}
		rows[i] = []any{t.Name, t.Rows, len(t.Files), strings.Join(t.PartitionedBy, ","), strings.Join(masked, ",")}
	}
	if err := a.printTable(header, rows); err != nil {
		return err
	}
	a.logf("exported %d tables to %s (data version %d, schema version %d, personal data %s)",
		len(m.Tables), opts.out, m.DataVersion, m.SchemaVersion, m.PII)
	return nil
}

// mustMode is parseMode of a value the flags already checked (0 when unset).
func mustMode(s string) os.FileMode {
	m, _ := parseMode(s)
	return m
}

// exportAccess checks an export's --dir-mode and --file-mode and returns
// its granted role and reveal reason.
func (a *app) exportAccess(cmd *cobra.Command, name, dirMode, fileMode string) (role, reveal string, err error) {
	for _, m := range []struct{ flag, v string }{{"--dir-mode", dirMode}, {"--file-mode", fileMode}} {
		if _, err := parseMode(m.v); err != nil {
			return "", "", usageErrorf("%s: %s %q: %v", name, m.flag, m.v, err)
		}
	}
	if role, err = a.role(cmd); err != nil {
		return "", "", err
	}
	if reveal, err = a.reveal(cmd, role); err != nil {
		return "", "", err
	}
	return role, reveal, nil
}
