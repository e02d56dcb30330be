package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

func init() { registerCommand(newBackupCmd) }

// newBackupCmd builds ckm backup --out FILE and ckm backup restore FILE.
func newBackupCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "A consistent copy of the warehouse, online while ckm serve runs; restore it with ckm backup restore",
		Long: `Write a consistent copy of the warehouse to a new DuckDB file: one
snapshot of every table, view and macro (COPY FROM DATABASE), taken while
no load commits. While ckm serve holds the warehouse the copy is a job of
the server (CALL ckm_backup, user CKM_USER with CKM_PASSWORD, an admin),
so clients keep reading and loads wait for it; else ckm opens the
warehouse itself.

A protected warehouse's data key goes into the copy wrapped, as it is
stored (vault_key): the copy is read with the same key-encryption key
(--key-file or CKM_KEY), which is never in the warehouse nor the copy.
The file is created readable by its owner only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErrorf("--out FILE is required: the new backup file")
			}
			abs, err := filepath.Abs(out)
			if err != nil {
				return usageErrorf("--out %q: %v", out, err)
			}
			if _, err := os.Stat(abs); err == nil {
				return usageErrorf("--out %s exists: a backup goes to a new file", abs)
			}
			return backupRun(cmd.Context(), a, abs)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the backup file to write (must not exist)")
	var force bool
	restore := &cobra.Command{
		Use:   "restore FILE",
		Short: "Make the backup FILE the warehouse (not while ckm serve holds it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return restoreRun(cmd.Context(), a, args[0], force)
		},
	}
	restore.Flags().BoolVar(&force, "force", false, "replace an existing warehouse")
	cmd.AddCommand(restore)
	return cmd
}

func backupRun(ctx context.Context, a *app, out string) error {
	if conn, err := a.serverClient(ctx, "backup", string(privacy.Admin)); err != nil || conn != nil {
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var job, status, detail string
		var run *int64
		if err := conn.QueryRow(ctx, "CALL ckm_backup("+engine.QuoteString(out)+")", pgx.QueryExecModeSimpleProtocol).Scan(&job, &run, &status, &detail); err != nil {
			return fmt.Errorf("backup through ckm serve: %w", err)
		}
		a.logf("%s", detail)
		return nil
	}
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	detail, err := backupDatabase(ctx, w.DB, out)
	if err != nil {
		return err
	}
	a.logf("%s", detail)
	return nil
}

// backupDatabase copies the database of db into the new file out in one
// snapshot: ATTACH, COPY FROM DATABASE, DETACH. A failed copy leaves no
// file behind.
func backupDatabase(ctx context.Context, db *sql.DB, out string) (string, error) {
	if !filepath.IsAbs(out) {
		return "", fmt.Errorf("backup: %s: want an absolute path", out)
	}
	if _, err := os.Stat(out); err == nil {
		return "", fmt.Errorf("backup: %s exists: a backup goes to a new file", out)
	}
	// Owner-only before DuckDB writes a byte of personal data into it.
	f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	f.Close()
	os.Remove(out) // DuckDB wants to create the file itself
	start := time.Now()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var current string
	if err := conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&current); err != nil {
		return "", err
	}
	alias := fmt.Sprintf("ckm_backup_%d", time.Now().UnixNano())
	fail := func(err error) (string, error) {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE IF EXISTS "+engine.QuoteIdent(alias))
		os.Remove(out)
		os.Remove(out + ".wal")
		return "", fmt.Errorf("backup to %s: %w", out, err)
	}
	if _, err := conn.ExecContext(ctx, "ATTACH "+engine.QuoteString(out)+" AS "+engine.QuoteIdent(alias)); err != nil {
		return fail(err)
	}
	if err := os.Chmod(out, 0o600); err != nil {
		return fail(err)
	}
	if _, err := conn.ExecContext(ctx, "COPY FROM DATABASE "+engine.QuoteIdent(current)+" TO "+engine.QuoteIdent(alias)); err != nil {
		return fail(err)
	}
	var tables, rows int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(estimated_size), 0) FROM duckdb_tables() WHERE database_name = ?`, alias).Scan(&tables, &rows); err != nil {
		return fail(err)
	}
	if _, err := conn.ExecContext(ctx, "DETACH DATABASE "+engine.QuoteIdent(alias)); err != nil {
		return fail(err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return fail(err)
	}
	return fmt.Sprintf("backup %s: %d tables, ~%d rows, %.1f MB in %s", out, tables, rows, float64(st.Size())/(1<<20), time.Since(start).Round(time.Millisecond)), nil
}

// restoreRun makes the backup file the warehouse: checked by opening it,
// copied beside the warehouse, then renamed over it.
func restoreRun(ctx context.Context, a *app, file string, force bool) error {
	path := a.warehousePath()
	if info, ok, err := readDiscovery(path); ok && err == nil {
		return fmt.Errorf("backup restore: ckm serve (pid %d) holds %s at %s: stop it first", info.PID, path, info.Addr)
	}
	if _, err := os.Stat(path); err == nil && !force {
		return usageErrorf("backup restore: %s exists: give --force to replace it", path)
	}
	// The backup must be a warehouse this ckm opens.
	opts := a.engineOptions()
	opts.ReadOnly, opts.MustExist = true, true
	bw, err := engine.Open(ctx, file, opts)
	if err != nil {
		return fmt.Errorf("backup restore: %s: %w", file, err)
	}
	var version int
	err = bw.DB.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&version)
	bw.Close()
	if err != nil {
		return fmt.Errorf("backup restore: %s is not a ckm warehouse: %w", file, err)
	}
	tmp := path + ".restore"
	if err := copyFile(file, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup restore: %w", err)
	}
	os.Remove(path + ".wal")
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup restore: %w", err)
	}
	a.logf("restored %s from %s (schema version %d)", path, file, version)
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
