// Package export writes the warehouse out for other tools: the Parquet
// lake that BI tools, Spark, Trino or ClickHouse read — every dimension,
// fact and knowledge-base table (and the ETL run ledger for lineage) as
// Parquet, facts hive-partitioned by year and month, with a manifest.
package export

import (
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// ManifestFile is the name of the manifest at the lake's root.
const ManifestFile = "manifest.json"

// LakeFormat names the layout in the manifest; FormatVersion changes when
// the layout does.
const (
	LakeFormat    = "ckm-parquet-lake"
	FormatVersion = 1
)

// ErrUnknownTable is returned (wrapped) when ParquetOptions.Tables names a
// table the warehouse does not have.
var ErrUnknownTable = errors.New("no such table")

// ParquetOptions configure Parquet.
type ParquetOptions struct {
	// Out is the lake directory. It must not exist, be empty, or hold an
	// earlier lake (a manifest.json), which is replaced whole.
	Out string
	// Tables limits the export to these tables (default: every dim_*,
	// fact_* and kb_* table and etl_run). Other tables need RawPII.
	Tables []string
	// Principal is who exports. Masked, the lake holds what an analyst
	// reads: the masked views of schema analyst where a table has one
	// (dim_customer: masked ID, name, mobile and e-mail, birth year
	// instead of birth date), and any other column named for personal
	// data masked by its kind.
	Principal privacy.Principal
	// RawPII writes personal data unmasked: only for a principal that may
	// export raw data (admin), with a Reason, and audited.
	RawPII bool
	// Reason is why raw data is exported, for the audit.
	Reason string
	// Producer names the program in the manifest, e.g. "ckm 0.1.0".
	Producer string
	// DirMode and FileMode are the lake's permissions (0: 0755 and 0644;
	// a raw lake is always owner-only).
	DirMode, FileMode os.FileMode
}

// Manifest describes a lake: what was exported, from which data, when.
type Manifest struct {
	Format        string          `json:"format"`
	FormatVersion int             `json:"format_version"`
	Producer      string          `json:"producer,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	Warehouse     string          `json:"warehouse"`
	DataVersion   int64           `json:"data_version"`             // last committed etl_run.run_id
	SchemaVersion int             `json:"schema_version"`           // the warehouse's schema_version
	PII           string          `json:"pii"`                      // masked | raw
	LakeExportID  int64           `json:"lake_export_id,omitempty"` // written by ckm export lake: from this export's snapshot
	Tables        []TableManifest `json:"tables"`
}

// TableManifest describes one exported table.
type TableManifest struct {
	Name          string           `json:"name"`
	Path          string           `json:"path"` // directory under the lake root
	Rows          int64            `json:"rows"`
	PartitionedBy []string         `json:"partitioned_by,omitempty"`
	Columns       []ColumnManifest `json:"columns"`
	Files         []FileManifest   `json:"files"`
}

// ColumnManifest is one column as readers see it (partition columns come
// from the directory names under hive partitioning).
type ColumnManifest struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Masked    string `json:"masked,omitempty"` // the PII kind masked, e.g. mobile
	Partition bool   `json:"partition,omitempty"`
}

// FileManifest is one Parquet file of a table.
type FileManifest struct {
	Path  string `json:"path"` // relative to the lake root, with forward slashes
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// lakeTable is a table chosen for export with its columns and where they
// are read from: the table itself, or its masked view in schema analyst.
type lakeTable struct {
	name   string
	source string // quoted relation to read
	masked bool   // read from the masked view
	cols   []column
}

// column is a column's name and DuckDB type.
type column struct{ Name, Type string }

// Parquet exports the warehouse as a Parquet lake under opts.Out. All
// tables are read in one transaction, so the lake is one consistent
// snapshot; the lake is written to a temporary directory beside Out and
// renamed into place, so a failed export leaves no half lake.
func Parquet(ctx context.Context, w *engine.Warehouse, opts ParquetOptions) (*Manifest, error) {
	if opts.Out == "" {
		return nil, errors.New("export parquet: no output directory")
	}
	out := filepath.Clean(opts.Out)
	if err := checkTarget(out, ManifestFile); err != nil {
		return nil, fmt.Errorf("export parquet: %w", err)
	}
	if opts.RawPII && !opts.Principal.MayExportRaw() {
		return nil, fmt.Errorf("export parquet: role %s may not export raw personal data (admin may)", opts.Principal.Role)
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("export parquet: %w", err)
	}
	defer conn.Close()

	tables, err := lakeTables(ctx, conn, opts.Tables, opts.RawPII)
	if err != nil {
		return nil, fmt.Errorf("export parquet: %w", err)
	}
	if !opts.RawPII {
		for _, t := range tables {
			if !isLakeTable(t.name) && !t.masked {
				// Masking works by column name; other tables (the reject
				// ledger's raw records, the identity map) hold personal data
				// under other names.
				return nil, fmt.Errorf("export parquet: %s is not a lake table and may hold unmasked personal data: only a role that allows raw values (admin) may export it", t.name)
			}
		}
	}
	dirMode, fileMode := opts.DirMode, opts.FileMode
	if opts.RawPII {
		// Raw personal data: readable by the exporting user only.
		dirMode, fileMode = 0o700, 0o600
	}
	var audit int64
	m, err := writeFolder(out, dirMode, fileMode, func(tmp string) (*Manifest, error) {
		m := &Manifest{Format: LakeFormat, FormatVersion: FormatVersion, Producer: opts.Producer,
			CreatedAt: time.Now().UTC().Truncate(time.Second), Warehouse: w.Path, PII: "masked"}
		if opts.RawPII {
			m.PII = "raw"
		}
		if m.SchemaVersion, err = w.Version(ctx); err != nil {
			return nil, err
		}
		if opts.RawPII {
			names := make([]string, len(tables))
			for i, t := range tables {
				names[i] = t.name
			}
			// No audit row, no raw export.
			if audit, err = privacy.Audit(ctx, w.DB, privacy.Reveal{Principal: opts.Principal, Command: "export parquet",
				Detail: "tables " + strings.Join(names, ",") + " to " + out, Reason: opts.Reason, Rows: -1}); err != nil {
				return nil, err
			}
		}
		if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return nil, err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		// The version the export's snapshot (its transaction) sees.
		if m.DataVersion, err = engine.DataVersionTx(ctx, conn); err != nil {
			return nil, err
		}
		for _, t := range tables {
			tm, err := exportTable(ctx, conn, tmp, t, opts.RawPII)
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", t.name, err)
			}
			m.Tables = append(m.Tables, *tm)
		}
		return m, nil
	})
	if err != nil {
		return nil, fmt.Errorf("export parquet: %w", err)
	}
	if audit != 0 {
		var rows int64
		for _, t := range m.Tables {
			rows += t.Rows
		}
		if err := privacy.AuditRows(ctx, w.DB, audit, rows); err != nil {
			return m, fmt.Errorf("export parquet: %w", err)
		}
	}
	return m, nil
}

// writeFolder writes a Parquet folder out: fill writes it into a new
// temporary directory beside out and returns its manifest, which goes to
// manifest.json; the folder gets its permissions (0: 0755 and 0644) and
// is swapped in for the old one. One writer at a time per folder (a lock
// beside it); what interrupted writers left beside it (.NAME.tmp-*) goes
// first.
func writeFolder(out string, dirMode, fileMode os.FileMode, fill func(tmp string) (*Manifest, error)) (*Manifest, error) {
	if dirMode == 0 {
		dirMode = 0o755
	}
	if fileMode == 0 {
		fileMode = 0o644
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockLake(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")); len(stale) > 0 {
		for _, d := range stale {
			if err := os.RemoveAll(d); err != nil {
				return nil, fmt.Errorf("removing what an interrupted export left: %w", err)
			}
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	m, err := fill(tmp)
	if err != nil {
		return nil, err
	}
	if err := writeManifest(filepath.Join(tmp, ManifestFile), m); err != nil {
		return nil, err
	}
	if err := chmodTree(tmp, dirMode, fileMode); err != nil {
		return nil, err
	}
	if err := replaceDir(tmp, out); err != nil {
		return nil, err
	}
	done = true
	return m, nil
}

// checkTarget refuses a directory that is neither missing, empty (but for
// the files named in ignore) nor a lake of its kind, which holds marker:
// manifest.json for ckm export parquet, catalog.db for ckm export lake.
func checkTarget(dir, marker string, ignore ...string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == marker {
			return nil
		}
	}
	for _, e := range entries {
		if !slices.Contains(ignore, e.Name()) {
			return fmt.Errorf("%s exists and is not a ckm lake (no %s): choose a new or empty directory", dir, marker)
		}
	}
	return nil
}

// replaceDir moves the finished lake tmp to out, replacing an earlier lake:
// where the system can, by exchanging the two directories in one step (a
// reader never finds out or its manifest missing), else by two renames.
func replaceDir(tmp, out string) error {
	if _, err := os.Stat(out); err == nil {
		if err := exchangeDirs(tmp, out); err == nil {
			return os.RemoveAll(tmp) // now the old lake
		}
	}
	old := ""
	if _, err := os.Stat(out); err == nil {
		old = tmp + ".old"
		if err := os.Rename(out, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		if old != "" {
			os.Rename(old, out)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// isLakeTable reports whether a table belongs in the lake by default.
func isLakeTable(name string) bool {
	return strings.HasPrefix(name, "dim_") || strings.HasPrefix(name, "fact_") ||
		strings.HasPrefix(name, "kb_") || name == "etl_run"
}

// lakeTables lists the tables to export with their columns, dimensions
// first, then facts, the knowledge base and the run ledger. Unless raw, a
// table with a masked view in schema analyst is read through it.
func lakeTables(ctx context.Context, conn *dbsql.Conn, only []string, raw bool) ([]lakeTable, error) {
	rows, err := conn.QueryContext(ctx, `SELECT schema_name, table_name, column_name, data_type
FROM duckdb_columns() WHERE database_name = current_database() AND schema_name IN ('main', ?)
ORDER BY schema_name = 'main', table_name, column_index`, privacy.AnalystSchema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byName := map[string]*lakeTable{}
	views := map[string]*lakeTable{}
	var names []string
	for rows.Next() {
		var schema, table string
		var c column
		if err := rows.Scan(&schema, &table, &c.Name, &c.Type); err != nil {
			return nil, err
		}
		if schema == privacy.AnalystSchema {
			v := views[table]
			if v == nil {
				v = &lakeTable{name: table, masked: true, source: engine.QuoteIdent(schema) + "." + engine.QuoteIdent(table)}
				views[table] = v
			}
			v.cols = append(v.cols, c)
			continue
		}
		t := byName[table]
		if t == nil {
			t = &lakeTable{name: table, source: "main." + engine.QuoteIdent(table)}
			if v := views[table]; v != nil && !raw {
				t = v
			}
			byName[table] = t
			names = append(names, table)
		}
		if !t.masked {
			t.cols = append(t.cols, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var chosen []string
	if len(only) == 0 {
		for _, n := range names {
			if isLakeTable(n) {
				chosen = append(chosen, n)
			}
		}
	} else {
		for _, n := range only {
			if byName[n] == nil {
				return nil, fmt.Errorf("%w in the warehouse: %q", ErrUnknownTable, n)
			}
			if !slices.Contains(chosen, n) {
				chosen = append(chosen, n)
			}
		}
	}
	rank := func(n string) int {
		for i, p := range []string{"dim_", "fact_", "kb_"} {
			if strings.HasPrefix(n, p) {
				return i
			}
		}
		return 3
	}
	slices.SortStableFunc(chosen, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	out := make([]lakeTable, len(chosen))
	for i, n := range chosen {
		out[i] = *byName[n]
	}
	return out, nil
}

// partitioned reports whether a table is written hive-partitioned by year
// and month of its date_key: the facts, which grow with time.
func partitioned(t lakeTable) bool {
	if !strings.HasPrefix(t.name, "fact_") {
		return false
	}
	return slices.ContainsFunc(t.cols, func(c column) bool { return c.Name == "date_key" })
}

// selectList builds the export query's columns: unless raw, the masked
// view's columns as they are, and other columns named for personal data
// masked as privacy's DisplaySQL shows them. For partitioned tables it also returns
// the partition columns, the year and month of date_key (0 for the special
// members, whose keys are negative).
func selectList(t lakeTable, raw bool) (cols, parts string, manifest []ColumnManifest) {
	var exprs []string
	for _, c := range t.cols {
		q := engine.QuoteIdent(c.Name)
		cm := ColumnManifest{Name: c.Name, Type: c.Type}
		k := privacy.ColumnKind(c.Name)
		if t.masked {
			k = privacy.MaskedColumns[t.name][c.Name]
			if k != privacy.None {
				cm.Masked = k.String()
			}
			exprs = append(exprs, q)
		} else if k != privacy.None && !raw {
			arg := q
			if c.Type != "VARCHAR" {
				arg = "CAST(" + q + " AS VARCHAR)"
			}
			exprs = append(exprs, k.DisplaySQL(arg)+" AS "+q)
			cm.Type, cm.Masked = "VARCHAR", k.String()
		} else {
			exprs = append(exprs, q)
		}
		manifest = append(manifest, cm)
	}
	if partitioned(t) {
		parts = `CAST(CASE WHEN date_key > 0 THEN date_key // 10000 ELSE 0 END AS INTEGER) AS "year", ` +
			`CAST(CASE WHEN date_key > 0 THEN date_key // 100 % 100 ELSE 0 END AS INTEGER) AS "month"`
		manifest = append(manifest,
			ColumnManifest{Name: "year", Type: "INTEGER", Partition: true},
			ColumnManifest{Name: "month", Type: "INTEGER", Partition: true})
	}
	return strings.Join(exprs, ", "), parts, manifest
}

// exportTable writes one table under dir/<name>/ and describes what it
// wrote, checking that the files hold every row the COPY wrote.
func exportTable(ctx context.Context, conn *dbsql.Conn, dir string, t lakeTable, raw bool) (*TableManifest, error) {
	tdir := filepath.Join(dir, t.name)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return nil, err
	}
	if partitioned(t) && slices.ContainsFunc(t.cols, func(c column) bool { return c.Name == "year" || c.Name == "month" }) {
		return nil, errors.New("has its own year or month column, which the year/month partitions would hide: rename it")
	}
	cols, parts, manifest := selectList(t, raw)
	from := " FROM " + t.source
	tm := &TableManifest{Name: t.name, Path: t.name, Columns: manifest}
	copyTo := func(query, target, options string) error {
		return conn.QueryRowContext(ctx, "COPY ("+query+") TO "+engine.QuoteString(target)+
			" (FORMAT parquet, COMPRESSION zstd"+options+")").Scan(&tm.Rows)
	}
	if parts == "" {
		if err := copyTo("SELECT "+cols+from, filepath.Join(tdir, "data_0.parquet"), ""); err != nil {
			return nil, err
		}
	} else {
		tm.PartitionedBy = []string{"year", "month"}
		if err := copyTo("SELECT "+cols+", "+parts+from, tdir, `, PARTITION_BY ("year", "month"), OVERWRITE_OR_IGNORE`); err != nil {
			return nil, err
		}
		if tm.Rows == 0 {
			// No rows, no partitions: write one empty file where the unknown
			// dates go, so readers still find the table and its schema.
			empty := filepath.Join(tdir, "year=0", "month=0")
			if err := os.MkdirAll(empty, 0o755); err != nil {
				return nil, err
			}
			if err := copyTo("SELECT "+cols+from+" LIMIT 0", filepath.Join(empty, "data_0.parquet"), ""); err != nil {
				return nil, err
			}
		}
	}
	files, err := listFiles(ctx, conn, dir, tdir)
	if err != nil {
		return nil, err
	}
	var sum int64
	for _, f := range files {
		sum += f.Rows
	}
	if sum != tm.Rows {
		return nil, fmt.Errorf("wrote %d rows but the files hold %d", tm.Rows, sum)
	}
	tm.Files = files
	return tm, nil
}

// listFiles lists a table's Parquet files with their row counts from the
// files' own metadata.
func listFiles(ctx context.Context, conn *dbsql.Conn, root, tdir string) ([]FileManifest, error) {
	var paths []string
	err := filepath.WalkDir(tdir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	files := make([]FileManifest, 0, len(paths))
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT num_rows FROM parquet_file_metadata("+engine.QuoteString(p)+")").Scan(&n); err != nil {
			return nil, fmt.Errorf("read back %s: %w", p, err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil, err
		}
		files = append(files, FileManifest{Path: filepath.ToSlash(rel), Rows: n, Bytes: st.Size()})
	}
	return files, nil
}

func writeManifest(path string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
