package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/export"
)

// exportLakeOptions are what ckm export lake's flags resolve to.
type exportLakeOptions struct {
	app      *app
	dir      string
	tables   []string
	full     bool
	retain   time.Duration
	dirMode  string
	fileMode string
	role     string
	reveal   string
	parquet  string
}

// newExportLakeCmd builds ckm export lake; runF, when not nil, runs
// instead of exportLakeRun with the parsed options.
func newExportLakeCmd(a *app, runF func(context.Context, *exportLakeOptions) error) *cobra.Command {
	opts := &exportLakeOptions{app: a}
	cmd := &cobra.Command{
		Use:   "lake --dir DIR [--full] [--retain 24h] [--parquet FOLDER]",
		Short: "Write the warehouse as Apache Iceberg tables (one atomic snapshot per export)",
		Long: `Write every dim_*, fact_* and kb_* table and etl_run as Apache Iceberg tables
under DIR: the catalog is DIR/catalog.db (Iceberg's SQL/JDBC catalog on
SQLite, namespace ckm), each table's data and metadata under DIR/ckm/<table>/.
DuckDB writes the Parquet data files (ZSTD, Iceberg field ids); facts are
partitioned by year and month of date_key (0/0 holds unknown dates).

Each export is one commit of the catalog: every changed table moves to its
new snapshot at once, so a reader sees one export or the one before, never a
mix. An interrupted export leaves only files no snapshot uses; the next
export removes them. Exports are incremental: only partitions whose rows
changed since the last export (loads, restatements, merges, splits,
erasures, lifecycle changes) are rewritten, unless --full. Each snapshot's
summary records ckm.data-version and ckm.etl-runs. A snapshot replaced more
than --retain ago expires and its files are removed.

DIR/lake.duckdb has a view per table over the current snapshot's files for
BI tools with a DuckDB driver. --parquet FOLDER also writes the plain
hive-partitioned folder of ckm export parquet (manifest.json,
<table>/year=Y/month=M/…) from the same snapshot's files (hard links),
swapped in whole after the commit, for tools that only list folders. Personal data is masked as for ckm export
parquet; raw values need --role admin and --reveal REASON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.dir == "" {
				return usageErrorf("export lake: --dir DIR is required")
			}
			if opts.retain < 0 {
				return usageErrorf("export lake: --retain %s: want a duration of 0 or more", opts.retain)
			}
			var err error
			if opts.role, opts.reveal, err = a.exportAccess(cmd, "export lake", opts.dirMode, opts.fileMode); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return exportLakeRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.dir, "dir", "", "lake directory (required)")
	cmd.Flags().StringSliceVar(&opts.tables, "tables", nil, "export only these tables (comma-separated)")
	cmd.Flags().StringVar(&opts.parquet, "parquet", "", "also write the hive-partitioned Parquet folder (as ckm export parquet) from the same snapshot")
	cmd.Flags().BoolVar(&opts.full, "full", false, "rewrite every partition, not only the changed ones")
	cmd.Flags().DurationVar(&opts.retain, "retain", export.DefaultLakeRetain, "how long a replaced snapshot stays readable before it expires")
	cmd.Flags().StringVar(&opts.dirMode, "dir-mode", "0755", "permissions of the lake's directories (octal; a raw lake is 0700)")
	cmd.Flags().StringVar(&opts.fileMode, "file-mode", "0644", "permissions of the lake's files (octal; a raw lake is 0600)")
	addRoleFlag(cmd)
	return cmd
}

// parseMode reads an octal permission such as 0750.
func parseMode(s string) (os.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, errors.New("want octal permissions such as 0750")
	}
	return os.FileMode(v), nil
}

func exportLakeRun(ctx context.Context, opts *exportLakeOptions) error {
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
	dm, _ := parseMode(opts.dirMode)
	fm, _ := parseMode(opts.fileMode)
	retain := opts.retain
	if retain == 0 {
		retain = -1 // expire replaced snapshots at once
	}
	res, err := export.Lake(ctx, w, export.LakeOptions{
		Dir: opts.dir, Tables: opts.tables, Principal: principal, RawPII: opts.reveal != "", Reason: opts.reveal,
		Full: opts.full, Retain: retain, DirMode: dm, FileMode: fm, Producer: "ckm " + version, ParquetDir: opts.parquet,
	})
	if err != nil {
		if errors.Is(err, export.ErrUnknownTable) {
			return usageError{err}
		}
		return err
	}
	if a.format() == formatJSON {
		return writeJSON(a, res)
	}
	header := []string{"table", "rows", "files", "written", "replaced", "partitions_rewritten", "snapshot"}
	rows := make([][]any, len(res.Tables))
	for i, t := range res.Tables {
		parts := strings.Join(t.Partitions, ",")
		if !t.Partitioned && t.Changed {
			parts = "(whole table)"
		}
		rows[i] = []any{t.Name, t.Rows, t.Files, t.Written, t.Replaced, parts, t.SnapshotID}
	}
	if err := a.printTable(header, rows); err != nil {
		return err
	}
	a.logf("export %d (%s) to %s: data version %d, ETL runs %v, personal data %s; %s",
		res.ExportID, res.Mode, res.Dir, res.DataVersion, res.ETLRuns, res.PII,
		fmt.Sprintf("%d snapshots expired, %d unreferenced files removed", res.SnapshotsExpired, res.FilesRemoved))
	if res.ParquetDir != "" {
		a.logf("the same snapshot as a Parquet folder: %s", res.ParquetDir)
	}
	return nil
}
