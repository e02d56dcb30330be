package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Rewrite copies the closed warehouse at path whole into a new file and
// puts it in place of the old one (owner-only, mode 0600). DuckDB does not
// zero the blocks it frees, so after personal data was deleted or
// encrypted in place (ckm forget) the old file may still hold it; the new
// file holds only what the database holds now.
func Rewrite(ctx context.Context, path string) error {
	if path == "" || path == Memory {
		return nil
	}
	fresh := path + ".rewrite"
	for _, p := range []string{fresh, fresh + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rewrite %s: %w", path, err)
		}
	}
	w, err := Open(ctx, path, Options{MustExist: true, NoMigrate: true})
	if err != nil {
		return err
	}
	copyErr := func() error {
		if _, err := w.DB.ExecContext(ctx, `ATTACH `+QuoteString(fresh)+` AS ckm_rewrite`); err != nil {
			return err
		}
		if _, err := w.DB.ExecContext(ctx, `COPY FROM DATABASE `+QuoteIdent(w.catalog(ctx))+` TO ckm_rewrite`); err != nil {
			return err
		}
		_, err := w.DB.ExecContext(ctx, `DETACH ckm_rewrite`)
		return err
	}()
	if err := errors.Join(copyErr, w.Close()); err != nil {
		os.Remove(fresh)
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	if err := os.Chmod(fresh, 0o600); err != nil {
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	if err := os.Rename(fresh, path); err != nil {
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	if err := os.Remove(path + ".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	return nil
}

// catalog is the name DuckDB gives the warehouse's database.
func (w *Warehouse) catalog(ctx context.Context) string {
	var name string
	if err := w.DB.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		return "main"
	}
	return name
}
