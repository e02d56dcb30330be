package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// A new warehouse file starts as a copy of the empty warehouse the
// migrations make (template.duckdb.gz, written by TestWarehouseTemplate
// with CKM_WRITE_TEMPLATE=1; the test fails while the file and the
// migrations differ), not by running them and checkpointing what they
// wrote: ckm init took 0.58–0.67 s that way, 0.30–0.32 s from the
// template (three alternated pairs). The first load into a new warehouse
// paid it (ckm bench etl's plain CSV), and every test of a warehouse file.
//
//go:embed template.duckdb.gz
var templateGz []byte

// templateComment is the gzip comment of a template made at schema
// version v: a warehouse is made from the template only when it names
// SchemaVersion (TestWarehouseTemplate fails otherwise), else by the
// migrations.
func templateComment(v int) string { return fmt.Sprintf("ckm warehouse, schema version %d", v) }

// useTemplate lets the template test make a warehouse by the migrations.
var useTemplate = true

// writeTemplate writes the template's warehouse to path, readable by its
// owner only; false when the template is not of this schema version (or
// unreadable: the migrations make the warehouse then) or when another
// process made the file first.
func writeTemplate(path string) (bool, error) {
	if !useTemplate {
		return false, nil
	}
	if _, err := os.Stat(path + ".wal"); !errors.Is(err, os.ErrNotExist) {
		return false, nil // a log without its file: DuckDB's to judge
	}
	zr, err := gzip.NewReader(bytes.NewReader(templateGz))
	if err != nil || zr.Comment != templateComment(SchemaVersion()) {
		return false, nil
	}
	// Written beside it and linked to its name, which fails if the name
	// exists: another process creating the same warehouse never opens a
	// half-written copy, and the loser opens the winner's file.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*")
	if err != nil {
		return false, fmt.Errorf("create warehouse %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = io.Copy(f, zr)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("create warehouse %s: %w", path, err)
	}
	// Not linked: the name exists, or the file system has no hard links
	// (the migrations make the warehouse then).
	return os.Link(tmp, path) == nil, nil
}

// ownTemplate makes a warehouse copied from the template its own: the
// change record's first row names a warehouse by a new UUID (schema
// version 20: a lake exported from another warehouse trusts nothing it
// recorded), and its migrations are dated now.
func (w *Warehouse) ownTemplate(ctx context.Context) error {
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create warehouse %s: %w", w.Path, err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`UPDATE ckm_change SET writer = 'warehouse ' || CAST(uuid() AS VARCHAR), changed_at = current_timestamp
			WHERE seq = (SELECT min(seq) FROM ckm_change)`,
		`UPDATE schema_version SET applied_at = current_timestamp`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create warehouse %s: %w", w.Path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create warehouse %s: %w", w.Path, err)
	}
	return nil
}
