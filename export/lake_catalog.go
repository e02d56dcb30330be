package export

import (
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	_ "github.com/mattn/go-sqlite3" // the lake's catalog is a SQLite file
)

// The lake's catalog: Apache Iceberg's SQL catalog (the JDBC catalog's
// tables iceberg_tables and iceberg_namespace_properties) in a SQLite file
// at the lake's root, plus ckm_lake_export, one row per export, written in
// the same SQLite transaction that moves every table's metadata pointer.
const (
	// LakeCatalogFile is the SQLite catalog at the lake's root.
	LakeCatalogFile = "catalog.db"
	// LakeCatalogName is the catalog_name of the lake's rows.
	LakeCatalogName = "ckm"
	// LakeNamespace holds every table of the lake.
	LakeNamespace = "ckm"
	// LakeDuckDBFile is the DuckDB catalog with a view per table.
	LakeDuckDBFile = "lake.duckdb"
)

// lakeCatalog is iceberg-go's SQL catalog with a multi-table commit: every
// table's new metadata is written first, then all pointers move in one
// SQLite transaction (each checked against the pointer it was based on),
// so a reader of the catalog sees all tables of one export or of the one
// before, never a mix.
type lakeCatalog struct {
	*sqlcat.Catalog
	db   *dbsql.DB
	dir  string
	root string // dir as the tables' metadata spells it
}

var _ catalog.TransactionalCatalog = (*lakeCatalog)(nil)

// openLakeCatalog opens (creating if need be) the catalog of the lake dir.
func openLakeCatalog(ctx context.Context, dir string, create bool) (*lakeCatalog, error) {
	path := filepath.Join(dir, LakeCatalogFile)
	if !create {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("lake %s: no Iceberg catalog (%s): %w", dir, LakeCatalogFile, err)
		}
	}
	// Rollback journal, not WAL: a reader needs no write access to the lake.
	db, err := dbsql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("lake catalog %s: %w", path, err)
	}
	props := iceberg.Properties{"warehouse": "file://" + dir}
	if !create {
		props["init_catalog_tables"] = "false"
	}
	c, err := sqlcat.NewCatalog(LakeCatalogName, db, sqlcat.SQLite, props)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("lake catalog %s: %w", path, err)
	}
	lc := &lakeCatalog{Catalog: c, db: db, dir: dir}
	if lc.root, err = lakeRoot(ctx, db, dir); err != nil {
		lc.Close()
		return nil, err
	}
	if create {
		if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS ckm_lake_export (
			export_id INTEGER PRIMARY KEY, data_version INTEGER NOT NULL, etl_runs TEXT NOT NULL,
			mode TEXT NOT NULL, pii TEXT NOT NULL, producer TEXT, committed_at TEXT NOT NULL, tables TEXT NOT NULL)`); err != nil {
			lc.Close()
			return nil, fmt.Errorf("lake catalog %s: %w", path, err)
		}
		// Each fact table's hashes by DuckDB row group as the last export
		// left them (export/lake_base.go), written with the export record.
		if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS ckm_lake_base (
			table_name TEXT PRIMARY KEY, export_id INTEGER NOT NULL, state TEXT NOT NULL)`); err != nil {
			lc.Close()
			return nil, fmt.Errorf("lake catalog %s: %w", path, err)
		}
		ns := table.Identifier{LakeNamespace}
		ok, err := c.CheckNamespaceExists(ctx, ns)
		if err == nil && !ok {
			err = c.CreateNamespace(ctx, ns, iceberg.Properties{"comment": "ckm warehouse: star schema and knowledge base"})
		}
		if err != nil {
			lc.Close()
			return nil, fmt.Errorf("lake catalog %s: %w", path, err)
		}
	}
	return lc, nil
}

func (c *lakeCatalog) Close() error {
	err := c.Catalog.Close()
	return errors.Join(err, c.db.Close())
}

// exportRecord is one row of ckm_lake_export.
type exportRecord struct {
	ExportID    int64
	DataVersion int64
	ETLRuns     []int64
	Mode        string
	PII         string
	Producer    string
	CommittedAt time.Time
	Tables      map[string]string // table -> metadata location
	Bases       map[string]string // fact table -> its kept hashes (lakeBaseState JSON), stored in ckm_lake_base
}

// CommitTransaction commits every table's changes as one: the new metadata
// files are written, then one SQLite transaction moves all pointers and
// records the export. Nothing is visible until that transaction commits.
func (c *lakeCatalog) CommitTransaction(ctx context.Context, commits []table.TableCommit) error {
	_, err := c.commitExport(ctx, commits, nil, nil)
	return err
}

// readTables are tables by name, each as one export read (or committed)
// it: the metadata a commit starts from, so no table's metadata file is
// read twice in an export.
type readTables map[string]*table.Table

// table returns the table of ident as read before, or reads it (once).
func (c *lakeCatalog) table(ctx context.Context, read readTables, ident table.Identifier) (*table.Table, error) {
	name := catalog.TableNameFromIdent(ident)
	if t, ok := read[name]; ok && read != nil {
		return t, nil
	}
	t, err := c.LoadTable(ctx, ident)
	if err == nil && read != nil {
		read[name] = t
	}
	return t, err
}

// commitExport commits, as one, every table's changes on top of the
// metadata in read (read from the catalog where a table is not there), and
// returns the committed tables (their new metadata, kept in memory). Each
// pointer moves only if it is still the one the changes were based on.
func (c *lakeCatalog) commitExport(ctx context.Context, commits []table.TableCommit, read readTables, rec *exportRecord) (readTables, error) {
	type staged struct {
		ident    table.Identifier
		old, new string
		meta     table.Metadata
	}
	var moves []staged
	for _, tc := range commits {
		cur, err := c.table(ctx, read, tc.Identifier)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", strings.Join(tc.Identifier, "."), err)
		}
		for _, r := range tc.Requirements {
			if err := r.Validate(cur.Metadata()); err != nil {
				return nil, fmt.Errorf("commit %s: %w", strings.Join(tc.Identifier, "."), err)
			}
		}
		if len(tc.Updates) == 0 {
			continue
		}
		meta, err := table.UpdateTableMetadata(cur.Metadata(), tc.Updates, cur.MetadataLocation())
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", strings.Join(tc.Identifier, "."), err)
		}
		provider, err := table.LoadLocationProvider(meta.Location(), meta.Properties())
		if err != nil {
			return nil, err
		}
		loc, err := provider.NewTableMetadataFileLocation(metadataVersion(cur.MetadataLocation()) + 1)
		if err != nil {
			return nil, err
		}
		if err := writeMetadataFile(meta, loc); err != nil {
			return nil, fmt.Errorf("commit %s: %w", strings.Join(tc.Identifier, "."), err)
		}
		moves = append(moves, staged{tc.Identifier, cur.MetadataLocation(), loc, meta})
	}
	if err := c.movePointers(ctx, func(tx *dbsql.Tx) error {
		for _, m := range moves {
			res, err := tx.ExecContext(ctx, `UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ?
			WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location = ?`,
				m.new, m.old, LakeCatalogName, strings.Join(catalog.NamespaceFromIdent(m.ident), "."), catalog.TableNameFromIdent(m.ident), m.old)
			if err != nil {
				return fmt.Errorf("commit %s: %w", strings.Join(m.ident, "."), err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("commit %s: the table changed since it was read (another writer?): %w", strings.Join(m.ident, "."), table.ErrCommitFailed)
			}
		}
		return nil
	}, rec); err != nil {
		return nil, err
	}
	out := readTables{}
	for _, m := range moves {
		out[catalog.TableNameFromIdent(m.ident)] = table.New(m.ident, m.meta, m.new, icebergio.LoadFSFunc(nil, m.new), c)
	}
	return out, nil
}

// movePointers runs move (the pointer updates) and records the export in
// one SQLite transaction.
func (c *lakeCatalog) movePointers(ctx context.Context, move func(tx *dbsql.Tx) error, rec *exportRecord) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := move(tx); err != nil {
		return err
	}
	if rec == nil {
		// A commit that keeps every table's current snapshot (expiry):
		// the last export's record follows the pointers.
		if last, err := lastExport(ctx, tx); err != nil {
			return err
		} else if last != nil {
			rec = last
			if _, err := tx.ExecContext(ctx, `DELETE FROM ckm_lake_export WHERE export_id = ?`, last.ExportID); err != nil {
				return err
			}
		}
	}
	if rec != nil {
		rec.Tables = map[string]string{}
		rows, err := tx.QueryContext(ctx, `SELECT table_name, metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ?`, LakeCatalogName, LakeNamespace)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n, l string
			if err := rows.Scan(&n, &l); err != nil {
				rows.Close()
				return err
			}
			rec.Tables[n] = l
		}
		rows.Close()
		runs, _ := json.Marshal(rec.ETLRuns)
		tabs, _ := json.Marshal(rec.Tables)
		if _, err := tx.ExecContext(ctx, `INSERT INTO ckm_lake_export VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.ExportID, rec.DataVersion, string(runs), rec.Mode, rec.PII, rec.Producer, rec.CommittedAt.UTC().Format(time.RFC3339Nano), string(tabs)); err != nil {
			return err
		}
		for name, state := range rec.Bases {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO ckm_lake_base VALUES (?, ?, ?)`, name, rec.ExportID, state); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// metadataVersion is the sequence number of a metadata file name
// (00003-<uuid>.metadata.json), -1 when it has none.
func metadataVersion(loc string) int {
	base := filepath.Base(loc)
	i := strings.IndexByte(base, '-')
	if i <= 0 {
		return -1
	}
	var v int
	if _, err := fmt.Sscanf(base[:i], "%d", &v); err != nil {
		return -1
	}
	return v
}

func writeMetadataFile(meta table.Metadata, loc string) error {
	path := localPath(loc)
	b, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lakeRoot is the folder the lake's tables were written under, as its
// metadata spells it: dir, or the same folder by another path (a symbolic
// link), which the export then uses so every path it compares is spelt
// alike. A lake that was moved or copied is refused.
func lakeRoot(ctx context.Context, db *dbsql.DB, dir string) (string, error) {
	rows, err := db.QueryContext(ctx, `SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ?`, LakeCatalogName)
	if err != nil {
		return dir, nil // a new catalog: no tables yet
	}
	defer rows.Close()
	root := ""
	for rows.Next() {
		var loc string
		if err := rows.Scan(&loc); err != nil {
			return "", err
		}
		r, err := lakeMoved(dir, loc)
		if err != nil {
			return "", err
		}
		if root != "" && r != root {
			return "", fmt.Errorf("lake %s: tables written under both %s and %s", dir, root, r)
		}
		root = r
	}
	if root == "" {
		root = dir
	}
	return root, rows.Err()
}

// lakeMoved returns the root a table's metadata location was written
// under when that is dir (or dir by another path), and says why not
// otherwise: Iceberg metadata (the catalog's pointers, metadata files,
// manifest lists and manifests) holds absolute URIs, as the format
// requires and Spark, Trino and iceberg-go expect, so the folder cannot
// be moved.
func lakeMoved(dir, loc string) (string, error) {
	// <root>/ckm/<table>/metadata/<file>
	root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(localPath(loc)))))
	if root == dir {
		return root, nil
	}
	if a, err := filepath.EvalSymlinks(root); err == nil {
		if b, err := filepath.EvalSymlinks(dir); err == nil && a == b {
			return root, nil // the same folder by another path
		}
	}
	return "", fmt.Errorf("lake %s was written at %s: Iceberg metadata holds absolute paths, so a lake cannot be moved or copied; move it back, or export anew into an empty directory", dir, root)
}

// localPath turns a file:// location into a path.
func localPath(loc string) string {
	return strings.TrimPrefix(loc, "file://")
}

// lastExport reads the newest ckm_lake_export row (nil before the first).
func lastExport(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *dbsql.Row
}) (*exportRecord, error) {
	var r exportRecord
	var runs, tabs, at string
	var producer dbsql.NullString
	err := q.QueryRowContext(ctx, `SELECT export_id, data_version, etl_runs, mode, pii, producer, committed_at, tables
		FROM ckm_lake_export ORDER BY export_id DESC LIMIT 1`).Scan(&r.ExportID, &r.DataVersion, &runs, &r.Mode, &r.PII, &producer, &at, &tabs)
	if errors.Is(err, dbsql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.Producer = producer.String
	if r.CommittedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(runs), &r.ETLRuns); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tabs), &r.Tables); err != nil {
		return nil, err
	}
	return &r, nil
}

// LakeSnapshot is one export of the lake as a reader sees it: every table
// at the metadata the export committed.
type LakeSnapshot struct {
	ExportID    int64
	DataVersion int64
	ETLRuns     []int64
	PII         string
	CommittedAt time.Time
	Tables      map[string]*table.Table
}

// OpenLakeSnapshot reads the lake's current export: the export record and
// every table's metadata pointer in one read of the catalog, so the tables
// are those of one export. Nil when the lake has no export yet.
func OpenLakeSnapshot(ctx context.Context, dir string) (*LakeSnapshot, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	rec, ptr, err := readLakeExport(ctx, dir)
	if err != nil || rec == nil {
		return nil, err
	}
	for _, loc := range ptr {
		if _, err := lakeMoved(dir, loc); err != nil {
			return nil, err
		}
	}
	s := &LakeSnapshot{ExportID: rec.ExportID, DataVersion: rec.DataVersion, ETLRuns: rec.ETLRuns, PII: rec.PII,
		CommittedAt: rec.CommittedAt, Tables: map[string]*table.Table{}}
	for name, loc := range rec.Tables {
		if ptr[name] != loc {
			return nil, fmt.Errorf("lake %s: table %s points at %s, but export %d recorded %s", dir, name, ptr[name], rec.ExportID, loc)
		}
		t, err := table.NewFromLocation(ctx, table.Identifier{LakeNamespace, name}, loc,
			icebergio.LoadFSFunc(nil, loc), nil)
		if err != nil {
			return nil, fmt.Errorf("lake %s: table %s: %w", dir, name, err)
		}
		s.Tables[name] = t
	}
	return s, nil
}

// readLakeExport reads the lake's last export record and every table's
// metadata pointer in one read transaction of the catalog (nil before the
// first export); no table metadata is read.
func readLakeExport(ctx context.Context, dir string) (*exportRecord, map[string]string, error) {
	path := filepath.Join(dir, LakeCatalogFile)
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("lake %s: no Iceberg catalog (%s): %w", dir, LakeCatalogFile, err)
	}
	db, err := dbsql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &dbsql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	rec, err := lastExport(ctx, tx)
	if err != nil || rec == nil {
		return nil, nil, err
	}
	// The pointers themselves, in the same read: they must be the ones the
	// export recorded.
	rows, err := tx.QueryContext(ctx, `SELECT table_name, metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ?`, LakeCatalogName, LakeNamespace)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	ptr := map[string]string{}
	for rows.Next() {
		var n, l string
		if err := rows.Scan(&n, &l); err != nil {
			return nil, nil, err
		}
		ptr[n] = l
	}
	return rec, ptr, rows.Err()
}
