package export

import (
	"context"
	"crypto/rand"
	dbsql "database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// Snapshot summary properties ckm writes on every table it commits.
const (
	SummaryDataVersion  = "ckm.data-version" // last committed ETL run the export read
	SummaryETLRuns      = "ckm.etl-runs"     // runs committed since the previous export, JSON list
	SummaryExportID     = "ckm.export-id"    // the export (row of ckm_lake_export)
	SummaryFingerprints = "ckm.fingerprints" // JSON: partition -> "rows:hash" of what the table holds
	SummaryPII          = "ckm.pii"          // masked | raw
	DefaultLakeRetain   = 24 * time.Hour     // how long a superseded snapshot stays readable
	lakeRowGroupSize    = 122880             // DuckDB's default, stated so the bench can match it
	lakePartitionNone   = ""                 // the one "partition" of an unpartitioned table
	lakeDataDir         = "data"             // under a table's location
	lakeMetadataDir     = "metadata"         // under a table's location
	lakeLockFile        = ".export.lock"     // held by the one export at a time
	lakeSchemaChangeMsg = "columns changed since the last export"
)

// LakeOptions configure Lake.
type LakeOptions struct {
	// Dir is the lake: the Iceberg catalog (catalog.db), one directory per
	// table under ckm/, and lake.duckdb.
	Dir string
	// Tables limits the export (default: every dim_*, fact_*, kb_* table
	// and etl_run), as for Parquet.
	Tables []string
	// Principal, RawPII and Reason: as for Parquet. A lake is masked or raw
	// throughout; changing it rewrites every table.
	Principal privacy.Principal
	RawPII    bool
	Reason    string
	// Full rewrites every partition; otherwise only those whose content
	// changed since the last export are rewritten.
	Full bool
	// Retain is how long a snapshot stays readable after a newer one
	// replaced it (0: DefaultLakeRetain; negative: expire at once, as ckm
	// forget does). Expired snapshots' files are removed.
	Retain time.Duration
	// DirMode and FileMode are the permissions of the lake's directories
	// and files (0: 0755 and 0644; a raw lake is always owner-only).
	DirMode, FileMode os.FileMode
	// Producer names the program in the export record, e.g. "ckm 0.1.0".
	Producer string
	// ParquetDir, when set, also gets the plain hive-partitioned folder
	// ckm export parquet writes (with its manifest.json), made of the
	// committed snapshot's own data files (hard links where the file
	// system allows), swapped in whole after the lake's commit.
	ParquetDir string
}

// LakeResult describes one export.
type LakeResult struct {
	Dir              string            `json:"dir"`
	ExportID         int64             `json:"export_id"`
	DataVersion      int64             `json:"data_version"`
	ETLRuns          []int64           `json:"etl_runs"`
	Mode             string            `json:"mode"` // full | incremental
	PII              string            `json:"pii"`
	Tables           []LakeTableResult `json:"tables"`
	SnapshotsExpired int               `json:"snapshots_expired"`
	ParquetDir       string            `json:"parquet_dir,omitempty"`
	FilesRemoved     int               `json:"files_removed"`
	// The fact tables' DuckDB row groups hashed again and those whose kept
	// hashes were used (see lakeBase).
	GroupsHashed int `json:"row_groups_hashed"`
	GroupsKept   int `json:"row_groups_kept"`
	// Where the time went: preparing (the lake's lock and catalog, the
	// tables to export, the data version), reading and writing the tables,
	// the catalog commit and snapshot expiry, and tidying (unreferenced
	// files, lake.duckdb, permissions).
	PrepareMS float64 `json:"prepare_ms"`
	TablesMS  float64 `json:"tables_ms"`
	CommitMS  float64 `json:"commit_ms"`
	TidyMS    float64 `json:"tidy_ms"`
	// TidyParts splits TidyMS: reading the snapshot, removing unreferenced
	// files, lake.duckdb, permissions.
	TidyParts map[string]float64 `json:"tidy_parts_ms,omitempty"`
	// StorageWarmMS is when, from the export's start, the warm-up of the
	// fact tables' storage (warmStorage) finished: on a warehouse just
	// opened no fact table's storage is read before (pragma_storage_info
	// holds the table while it reads), so what an incremental export
	// does with the facts starts there at the earliest.
	StorageWarmMS float64 `json:"storage_warm_ms,omitempty"`
	// SideTables were exported on a second connection reading the same
	// snapshot, beside the others (lake_side.go); SideMS is when, from
	// the export's start, it finished.
	SideTables []string `json:"side_tables,omitempty"`
	SideMS     float64  `json:"side_ms,omitempty"`
}

// LakeTableResult is one table of an export.
type LakeTableResult struct {
	Name       string   `json:"name"`
	Rows       int64    `json:"rows"`
	Files      int      `json:"files"`         // data files of the current snapshot
	Written    int      `json:"files_written"` // by this export
	Replaced   int      `json:"files_replaced"`
	Partitions []string `json:"partitions_rewritten,omitempty"`
	// Of Partitions, those that kept their files and got one more holding
	// only the rows appended to them (lakeAppend).
	Appended    []string `json:"partitions_appended,omitempty"`
	SnapshotID  int64    `json:"snapshot_id"`
	Changed     bool     `json:"changed"`
	Partitioned bool     `json:"partitioned"`
	Check       string   `json:"check"`    // how: LakeCheckSources, LakeCheckRows or LakeCheckOutput
	CheckMS     float64  `json:"check_ms"` // fingerprinting the table
	WriteMS     float64  `json:"write_ms"` // writing its files and staging its snapshot
	CopyMS      float64  `json:"copy_ms"`  // of WriteMS: DuckDB's COPY of the rewritten partitions
}

// How an export found out whether a table changed.
const (
	LakeCheckSources = "sources" // its definitions and base tables hashed as before: not read
	LakeCheckRows    = "rows"    // its own rows' hashes, per partition
	LakeCheckOutput  = "output"  // the rows the export writes (masked), per partition
	LakeCheckWritten = "written" // an unpartitioned table written, then its file fingerprinted (dropped if the same)
)

// lakeBeforeCommit, set by tests, runs when every file of an export is
// written and the catalog commit is next.
var lakeBeforeCommit func()

var partKeyRe = regexp.MustCompile(`^(-?\d+)-(\d+)$`)

// Lake exports the warehouse as Apache Iceberg tables under opts.Dir.
// DuckDB writes the Parquet data files (ZSTD, facts partitioned by year
// and month, Iceberg field ids in the files), iceberg-go turns them into
// data files and snapshots, and one SQLite transaction of the catalog
// commits every changed table at once. Until then nothing new is
// visible; a killed export leaves only files no snapshot references,
// which the next export removes.
func Lake(ctx context.Context, w *engine.Warehouse, opts LakeOptions) (*LakeResult, error) {
	res, err := lake(ctx, w, opts)
	if err != nil {
		return nil, fmt.Errorf("export lake: %w", err)
	}
	return res, nil
}

func lake(ctx context.Context, w *engine.Warehouse, opts LakeOptions) (*LakeResult, error) {
	started := time.Now()
	if opts.Dir == "" {
		return nil, errors.New("no lake directory")
	}
	dir, err := filepath.Abs(filepath.Clean(opts.Dir))
	if err != nil {
		return nil, err
	}
	if opts.RawPII && !opts.Principal.MayExportRaw() {
		return nil, fmt.Errorf("role %s may not export raw personal data (admin may)", opts.Principal.Role)
	}
	if err := checkTarget(dir, LakeCatalogFile, lakeLockFile); err != nil {
		return nil, err
	}
	var parquetDir string
	if opts.ParquetDir != "" {
		if parquetDir, err = filepath.Abs(filepath.Clean(opts.ParquetDir)); err != nil {
			return nil, err
		}
		if parquetDir == dir || strings.HasPrefix(parquetDir, dir+string(filepath.Separator)) || strings.HasPrefix(dir, parquetDir+string(filepath.Separator)) {
			return nil, fmt.Errorf("the Parquet folder %s and the lake %s must not contain each other", parquetDir, dir)
		}
		if err := checkTarget(parquetDir, ManifestFile); err != nil {
			return nil, err
		}
	}
	dirMode, fileMode := opts.DirMode, opts.FileMode
	if dirMode == 0 {
		dirMode = 0o755
	}
	if fileMode == 0 {
		fileMode = 0o644
	}
	if opts.RawPII {
		dirMode, fileMode = 0o700, 0o600
	}
	retain := opts.Retain
	if retain == 0 {
		retain = DefaultLakeRetain
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, err
	}
	unlock, err := lockLake(filepath.Join(dir, lakeLockFile))
	if err != nil {
		return nil, err
	}
	defer unlock()

	// The export's transaction first: every read of the warehouse is of
	// the snapshot its first statement (the data version) fixes. Then, as
	// early as that, the fact tables' storage is read on a connection of
	// its own (warmStorage): on a warehouse just opened it is what an
	// incremental export waits for longest, and the rest of preparing
	// need not come first.
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	var dataVersion int64
	if dataVersion, err = engine.DataVersionTx(ctx, conn); err != nil {
		return nil, err
	}
	// A second connection on the same snapshot, for the tables an
	// incremental export reads beside the others (lake_side.go).
	side, err := pinSide(ctx, w.DB, conn)
	if err != nil {
		return nil, err
	}
	defer side.close()
	warm := warmStorage(ctx, w.DB)
	defer warm.wait()

	cat, err := openLakeCatalog(ctx, dir, true)
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	dir = cat.root // the same folder, spelt as its metadata spells it
	prev, err := lastExport(ctx, cat.db)
	if err != nil {
		return nil, fmt.Errorf("lake catalog: %w", err)
	}

	tables, err := lakeTables(ctx, conn, opts.Tables, opts.RawPII)
	if err != nil {
		return nil, err
	}
	if !opts.RawPII {
		for _, t := range tables {
			if !isLakeTable(t.name) && !t.masked {
				return nil, fmt.Errorf("%s is not a lake table and may hold unmasked personal data: only a role that allows raw values (admin) may export it", t.name)
			}
		}
	}
	res := &LakeResult{Dir: dir, Mode: "incremental", PII: "masked", DataVersion: dataVersion}
	if opts.RawPII {
		res.PII = "raw"
	}
	full := opts.Full || prev == nil || prev.PII != res.PII
	if full {
		res.Mode = "full"
		// A full export keeps both cores busy with the fact tables' COPY.
		side.close()
		side = nil
	}
	res.ExportID = 1
	if prev != nil {
		res.ExportID = prev.ExportID + 1
	}
	var audit int64
	if opts.RawPII {
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = t.name
		}
		if audit, err = privacy.Audit(ctx, w.DB, privacy.Reveal{Principal: opts.Principal, Command: "export lake",
			Detail: "tables " + strings.Join(names, ",") + " to " + dir, Reason: opts.Reason, Rows: -1}); err != nil {
			return nil, err
		}
	}

	since := int64(0)
	if prev != nil {
		since = prev.DataVersion
	}
	if res.ETLRuns, err = runsSince(ctx, conn, since); err != nil {
		return nil, err
	}
	runs, _ := json.Marshal(res.ETLRuns)
	tag := randomTag()
	now := time.Now()

	phase := time.Now()
	res.PrepareMS = float64(phase.Sub(started).Microseconds()) / 1000
	lap := func(d *float64) {
		*d = float64(time.Since(phase).Microseconds()) / 1000
		phase = time.Now()
	}
	base, err := loadLakeBase(ctx, conn, cat.db, full)
	if err != nil {
		return nil, err
	}
	base.warm = warm
	src, err := newLakeSources(ctx, conn, base)
	if err != nil {
		return nil, err
	}
	files := newManifestCache()
	read := readTables{} // each table's metadata, read once in the export
	if !full {
		// Where the look-up table's rows ended for the masked views'
		// snapshots (the first such view's, as one export writes them all).
		for _, t := range tables {
			if !t.masked || src.lookupEnd > 0 {
				continue
			}
			tbl, err := cat.table(ctx, read, table.Identifier{LakeNamespace, t.name})
			if errors.Is(err, catalog.ErrNoSuchTable) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if cur := tbl.CurrentSnapshot(); cur != nil && cur.Summary != nil {
				if st, err := lookupBefore(cur.Summary.Properties); err == nil && st != nil {
					src.lookupEnd = st.End
				}
			}
		}
	}
	written := map[string]*lakeWritten{}
	var commits []table.TableCommit
	res.Tables = make([]LakeTableResult, len(tables))
	job := lakeTableJob{
		src: src, files: files, read: read, written: written, raw: opts.RawPII, full: full, exportID: res.ExportID, tag: tag, retain: retain, now: now,
		props: iceberg.Properties{
			SummaryDataVersion: strconv.FormatInt(res.DataVersion, 10),
			SummaryETLRuns:     string(runs),
			SummaryExportID:    strconv.FormatInt(res.ExportID, 10),
			SummaryPII:         res.PII,
		}}
	order, sideIdx := lakeOrder(tables, src), []int(nil)
	if side != nil {
		var first []int
		for _, i := range order {
			ok, err := onSide(ctx, cat, read, tables[i])
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", tables[i].name, err)
			}
			if ok {
				sideIdx = append(sideIdx, i)
				res.SideTables = append(res.SideTables, tables[i].name)
			} else {
				first = append(first, i)
			}
		}
		order = first
	}
	var sr *sideRun
	if len(sideIdx) > 0 {
		sr = runSide(ctx, side, cat, dir, tables, sideIdx, job)
		defer func() { <-sr.done }() // before side.close
	}
	for _, i := range order {
		t := tables[i]
		tr, tc, _, err := exportLakeTable(ctx, conn, cat, dir, t, job)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
		res.Tables[i] = *tr
		if tc != nil {
			commits = append(commits, *tc)
		}
	}
	if commits, err = sr.join(res, commits, started); err != nil {
		return nil, err
	}
	side.close()
	rec := &exportRecord{ExportID: res.ExportID, DataVersion: res.DataVersion, ETLRuns: res.ETLRuns, Mode: res.Mode,
		PII: res.PII, Producer: opts.Producer, CommittedAt: time.Now(), Bases: base.after}
	res.GroupsHashed, res.GroupsKept = base.Hashed, base.Kept
	lap(&res.TablesMS)
	if lakeBeforeCommit != nil {
		lakeBeforeCommit()
	}
	committed, err := cat.commitExport(ctx, commits, read, rec)
	if err != nil {
		return nil, err
	}
	maps.Copy(read, committed)
	conn.ExecContext(ctx, "ROLLBACK")
	if res.SnapshotsExpired, err = expireLake(ctx, cat, retain, read); err != nil {
		return res, fmt.Errorf("expiring snapshots: %w", err)
	}
	lap(&res.CommitMS)
	defer lap(&res.TidyMS)

	// Committed. What follows tidies up; a failure here leaves a readable
	// lake, and the next export tries again.
	res.TidyParts = map[string]float64{}
	tidyAt := time.Now()
	tidyLap := func(name string) {
		res.TidyParts[name] = float64(time.Since(tidyAt).Microseconds()) / 1000
		tidyAt = time.Now()
	}
	// The lake as committed, from the metadata this export already holds
	// (OpenLakeSnapshot would read every table's metadata file again).
	snap := &LakeSnapshot{ExportID: rec.ExportID, DataVersion: rec.DataVersion, ETLRuns: rec.ETLRuns, PII: rec.PII,
		CommittedAt: rec.CommittedAt, Tables: map[string]*table.Table{}}
	for name := range rec.Tables {
		t, ok := read[name]
		if !ok {
			return res, fmt.Errorf("internal: table %s of the catalog was not read", name)
		}
		snap.Tables[name] = t
	}
	tidyLap("snapshot")
	for i := range res.Tables {
		t := snap.Tables[res.Tables[i].Name]
		if s := t.CurrentSnapshot(); s != nil {
			res.Tables[i].SnapshotID = s.SnapshotID
		}
	}
	// The files no snapshot references (under the namespace) are removed
	// while lake.duckdb (at the root) is written: one waits on the file
	// system's metadata, the other on DuckDB and fsync.
	var removeErr error
	removed := make(chan struct{})
	go func() {
		defer close(removed)
		res.FilesRemoved, removeErr = removeUnreferenced(ctx, dir, snap, retain, now, files)
		res.TidyParts["unreferenced"] = float64(time.Since(tidyAt).Microseconds()) / 1000
	}()
	duckErr := writeLakeDuckDB(ctx, conn, dir, snap, fileMode, files)
	lakeDuckDBAt := time.Now()
	<-removed
	res.TidyParts["lake.duckdb"] = float64(lakeDuckDBAt.Sub(tidyAt).Microseconds()) / 1000
	tidyAt = time.Now()
	if removeErr != nil {
		return res, fmt.Errorf("removing unreferenced files: %w", removeErr)
	}
	if duckErr != nil {
		return res, fmt.Errorf("%s: %w", LakeDuckDBFile, duckErr)
	}
	if err := chmodTree(dir, dirMode, fileMode); err != nil {
		return res, err
	}
	tidyLap("chmod")
	if parquetDir != "" {
		if err := lakeParquetFolder(ctx, w, parquetDir, snap, tables, opts.RawPII, dirMode, fileMode, opts.Producer, files); err != nil {
			return res, fmt.Errorf("Parquet folder %s: %w", parquetDir, err)
		}
		res.ParquetDir = parquetDir
		tidyLap("parquet folder")
	}
	// The export returns after the warm-up anyway (the deferred wait).
	res.StorageWarmMS = float64(warm.wait().Sub(started).Microseconds()) / 1000
	if audit != 0 {
		var rows int64
		for _, t := range res.Tables {
			rows += t.Rows
		}
		if err := privacy.AuditRows(ctx, w.DB, audit, rows); err != nil {
			return res, err
		}
	}
	return res, nil
}

// lakeOrder is the order an export goes through its tables (indexes into
// tables, which keep their order in the result): first those that read
// no fact table whose row-group hashes are kept (lakeBase), then the
// others, each part in the given order (so fact_sales_current after the
// fact_sales whose files it links). On a warehouse just opened those
// fact tables cannot be read before the warm-up has read their storage
// (warmStorage), and the tables that need none of them are done in that
// time instead of after it — in the 5 M sql bench, kb_* and etl_run; a
// table whose sources cannot be known goes with the second.
func lakeOrder(tables []lakeTable, src *lakeSources) []int {
	var first, then []int
	for i, t := range tables {
		deps, _, ok := src.reads(t)
		waits := !ok
		for d := range deps {
			waits = waits || src.base.record && trackedBase(d, src.dateKy[d])
		}
		if waits {
			then = append(then, i)
		} else {
			first = append(first, i)
		}
	}
	return append(first, then...)
}

func randomTag() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// runsSince lists the ETL runs committed after run id since.
func runsSince(ctx context.Context, conn *dbsql.Conn, since int64) ([]int64, error) {
	rows, err := conn.QueryContext(ctx, `SELECT run_id FROM etl_run WHERE status = 'committed' AND run_id > ? ORDER BY run_id`, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	runs := []int64{}
	for rows.Next() {
		var r int64
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// lakeColumn is a column as the lake writes it: the select expression, the
// DuckDB type of the result and the Iceberg type.
type lakeColumn struct {
	name, expr, duck string
	typ              iceberg.Type
}

// lakeColumns maps a table's export columns (masked as selectList does) to
// Iceberg types; the facts get their year and month partition columns.
func lakeColumns(t lakeTable, raw bool) ([]lakeColumn, error) {
	if partitioned(t) && slices.ContainsFunc(t.cols, func(c column) bool { return c.Name == "year" || c.Name == "month" }) {
		return nil, errors.New("has its own year or month column, which the year/month partitions would hide: rename it")
	}
	cols, _, manifest := selectList(t, raw)
	exprs := splitSelect(cols)
	if len(exprs) != len(t.cols) {
		return nil, fmt.Errorf("internal: %d select expressions for %d columns", len(exprs), len(t.cols))
	}
	var out []lakeColumn
	for i, c := range t.cols {
		typ := manifest[i].Type
		expr, duck, it, err := icebergType(exprs[i], typ)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		if expr != exprs[i] {
			expr += " AS " + engine.QuoteIdent(c.Name)
		}
		out = append(out, lakeColumn{name: c.Name, expr: expr, duck: duck, typ: it})
	}
	if partitioned(t) {
		out = append(out,
			lakeColumn{name: "year", expr: `CAST(CASE WHEN date_key > 0 THEN date_key // 10000 ELSE 0 END AS INTEGER) AS "year"`, duck: "INTEGER", typ: iceberg.PrimitiveTypes.Int32},
			lakeColumn{name: "month", expr: `CAST(CASE WHEN date_key > 0 THEN date_key // 100 % 100 ELSE 0 END AS INTEGER) AS "month"`, duck: "INTEGER", typ: iceberg.PrimitiveTypes.Int32})
	}
	return out, nil
}

// splitSelect splits selectList's comma-joined list at its top-level
// commas (masking calls have their own).
func splitSelect(s string) []string {
	var out []string
	depth, start := 0, 0
	inQuote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '"' || c == '\'':
			inQuote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, strings.TrimSpace(s[start:]))
	}
	return out
}

var decimalRe = regexp.MustCompile(`^DECIMAL\((\d+),\s*(\d+)\)$`)

// icebergType maps a DuckDB type to Iceberg's, casting where Iceberg has
// no such type (small and unsigned integers, JSON, nested types other than
// lists).
func icebergType(expr, duck string) (string, string, iceberg.Type, error) {
	cast := func(to string) string { return "CAST(" + stripAlias(expr) + " AS " + to + ")" }
	switch duck {
	case "BOOLEAN":
		return expr, duck, iceberg.PrimitiveTypes.Bool, nil
	case "TINYINT", "SMALLINT", "UTINYINT", "USMALLINT":
		return cast("INTEGER"), "INTEGER", iceberg.PrimitiveTypes.Int32, nil
	case "INTEGER":
		return expr, duck, iceberg.PrimitiveTypes.Int32, nil
	case "UINTEGER", "BIGINT":
		if duck == "UINTEGER" {
			return cast("BIGINT"), "BIGINT", iceberg.PrimitiveTypes.Int64, nil
		}
		return expr, duck, iceberg.PrimitiveTypes.Int64, nil
	case "UBIGINT":
		return cast("DECIMAL(20,0)"), "DECIMAL(20,0)", iceberg.DecimalTypeOf(20, 0), nil
	case "HUGEINT", "UHUGEINT":
		return cast("DECIMAL(38,0)"), "DECIMAL(38,0)", iceberg.DecimalTypeOf(38, 0), nil
	case "FLOAT":
		return expr, duck, iceberg.PrimitiveTypes.Float32, nil
	case "DOUBLE":
		return expr, duck, iceberg.PrimitiveTypes.Float64, nil
	case "VARCHAR":
		return expr, duck, iceberg.PrimitiveTypes.String, nil
	case "BLOB":
		return expr, duck, iceberg.PrimitiveTypes.Binary, nil
	case "DATE":
		return expr, duck, iceberg.PrimitiveTypes.Date, nil
	case "TIMESTAMP":
		return expr, duck, iceberg.PrimitiveTypes.Timestamp, nil
	case "TIMESTAMP WITH TIME ZONE":
		return expr, duck, iceberg.PrimitiveTypes.TimestampTz, nil
	}
	if m := decimalRe.FindStringSubmatch(duck); m != nil {
		p, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		return expr, duck, iceberg.DecimalTypeOf(p, s), nil
	}
	if strings.HasSuffix(duck, "[]") {
		switch elem := strings.TrimSuffix(duck, "[]"); elem {
		case "VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "DATE":
			_, _, et, _ := icebergType("x", elem)
			// Element ids are assigned when the table is created.
			return expr, duck, &iceberg.ListType{Element: et}, nil
		}
	}
	// Anything else (JSON, structs, maps, intervals, UUIDs) as its text.
	return cast("VARCHAR"), "VARCHAR", iceberg.PrimitiveTypes.String, nil
}

// stripAlias removes a trailing AS "name" from a select expression.
func stripAlias(expr string) string {
	if i := strings.LastIndex(expr, ` AS "`); i > 0 && strings.HasSuffix(expr, `"`) {
		return expr[:i]
	}
	return expr
}

// icebergSchema builds the schema of a new table (ids are reassigned by
// the catalog; the files' ids come from the created table's schema).
func icebergSchema(cols []lakeColumn) *iceberg.Schema {
	fields := make([]iceberg.NestedField, len(cols))
	next := len(cols) + 1
	for i, c := range cols {
		typ := c.typ
		if l, ok := typ.(*iceberg.ListType); ok {
			typ = &iceberg.ListType{ElementID: next, Element: l.Element}
			next++
		}
		fields[i] = iceberg.NestedField{ID: i + 1, Name: c.name, Type: typ}
	}
	return iceberg.NewSchema(0, fields...)
}

// sameColumns reports whether a table's Iceberg schema has exactly these
// columns and types (by name: ids and order aside; the files carry the ids).
func sameColumns(s *iceberg.Schema, cols []lakeColumn) bool {
	if len(s.Fields()) != len(cols) {
		return false
	}
	for _, c := range cols {
		f, ok := s.FindFieldByName(c.name)
		if !ok || !sameType(f.Type, c.typ) {
			return false
		}
	}
	return true
}

// sameType compares Iceberg types, list element ids aside.
func sameType(a, b iceberg.Type) bool {
	if l, ok := a.(*iceberg.ListType); ok {
		bl, ok := b.(*iceberg.ListType)
		return ok && l.Element.Equals(bl.Element)
	}
	return a.Equals(b)
}

// evolveLakeSchema adds to a table's schema, in tx, the columns of cols it
// lacks, and returns the new schema. A column gone or of another type is
// an error: readers of the older snapshots would see them change meaning.
func evolveLakeSchema(tx *table.Transaction, old *iceberg.Schema, cols []lakeColumn) (*iceberg.Schema, error) {
	byName := map[string]lakeColumn{}
	for _, c := range cols {
		byName[c.name] = c
	}
	for _, f := range old.Fields() {
		c, ok := byName[f.Name]
		if !ok {
			return nil, fmt.Errorf("column %s is gone", f.Name)
		}
		if !sameType(f.Type, c.typ) {
			return nil, fmt.Errorf("column %s is now %s, was %s", f.Name, c.typ, f.Type)
		}
	}
	// Each new column goes where the export writes it: before the next
	// column that was there (the facts' year and month stay last).
	u := tx.UpdateSchema(true, false)
	for i, c := range cols {
		if _, ok := old.FindFieldByName(c.name); ok {
			continue
		}
		u.AddColumn([]string{c.name}, c.typ, "", false, nil)
		for _, next := range cols[i+1:] {
			if _, ok := old.FindFieldByName(next.name); ok {
				u.MoveBefore([]string{c.name}, []string{next.name})
				break
			}
		}
	}
	if err := u.Commit(); err != nil {
		return nil, err
	}
	st, err := tx.StagedTable()
	if err != nil {
		return nil, err
	}
	if !sameColumns(st.Schema(), cols) {
		return nil, fmt.Errorf("internal: evolved schema %s", st.Schema())
	}
	return st.Schema(), nil
}

// fieldIDs is DuckDB's FIELD_IDS option for the table's schema, so every
// column of every data file carries its Iceberg field id.
func fieldIDs(s *iceberg.Schema) string {
	var parts []string
	for _, f := range s.Fields() {
		id := strconv.Itoa(f.ID)
		if l, ok := f.Type.(*iceberg.ListType); ok {
			id = "{__duckdb_field_id: " + id + ", element: " + strconv.Itoa(l.ElementID) + "}"
		}
		parts = append(parts, engine.QuoteIdent(f.Name)+": "+id)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

type lakeTableJob struct {
	raw, full bool
	exportID  int64
	tag       string
	retain    time.Duration
	now       time.Time
	props     iceberg.Properties
	src       *lakeSources
	files     *manifestCache
	read      readTables // the tables read so far (this one is added)
	// written holds, per partitioned table written so far in this
	// export, the partitions it wrote (see lakeWritten).
	written map[string]*lakeWritten
}

// lakeWritten is what an export wrote of one partitioned table from its
// source rows: a later table whose rows in a partition are the same rows
// under the same columns (a filter view such as fact_sales_current, where
// the filter keeps every row of the partition) takes the same files,
// hard-linked, instead of a second COPY. An incremental export knows it
// from the view's fingerprints; a full one from its row counts
// (filterCounts).
type lakeWritten struct {
	layout string              // the select list and the files' field ids
	fp     map[string]string   // partition -> fingerprint of the source rows written
	files  map[string][]string // partition -> its data files
	// appended: partition -> fingerprint of the rows appended to it; its
	// files are only those rows, the partition's older files stay.
	appended map[string]string
}

// fpOf is w.fp[k], for a nil w too.
func (w *lakeWritten) fpOf(k string) (string, bool) {
	if w == nil {
		return "", false
	}
	fp, ok := w.fp[k]
	return fp, ok
}

// lakeLayout is what the files of a table hold besides its rows: the
// select list (casts, masks) and the Iceberg field ids.
func lakeLayout(exprs []string, schema *iceberg.Schema) string {
	return strings.Join(exprs, ", ") + "\x00" + fieldIDs(schema)
}

// exportLakeTable writes what changed of one table and returns the commit
// that makes it current (nil when nothing changed and nothing expires).
func exportLakeTable(ctx context.Context, conn *dbsql.Conn, cat *lakeCatalog, dir string, t lakeTable, job lakeTableJob) (*LakeTableResult, *table.TableCommit, int, error) {
	cols, err := lakeColumns(t, job.raw)
	if err != nil {
		return nil, nil, 0, err
	}
	ident := table.Identifier{LakeNamespace, t.name}
	part := partitioned(t)
	tbl, err := cat.table(ctx, job.read, ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		if tbl, err = createLakeTable(ctx, cat, dir, ident, cols, part); err == nil {
			job.read[t.name] = tbl
		}
	}
	if err != nil {
		return nil, nil, 0, err
	}
	// A table of an older ckm version gains the columns added since (a
	// new schema; older snapshots keep theirs) and is rewritten whole.
	tx := tbl.NewTransaction()
	schema, evolved := tbl.Schema(), false
	if !sameColumns(schema, cols) {
		if schema, err = evolveLakeSchema(tx, schema, cols); err != nil {
			return nil, nil, 0, fmt.Errorf("%s: %v (lake: %s); only added columns are taken over: export to a new lake directory", lakeSchemaChangeMsg, err, tbl.Schema().String())
		}
		evolved = true
	}
	exprs := make([]string, len(cols))
	names := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = c.expr
		names[i] = engine.QuoteIdent(c.name)
	}
	query := "SELECT " + strings.Join(exprs, ", ") + " FROM " + t.source

	// What the table holds now, partition by partition.
	// A full export fingerprints the files it writes instead (reading
	// DuckDB's own Parquet back is cheaper than the source a second time:
	// masked views, views over joins).
	//
	// A table that is not masked is fingerprinted from its own rows
	// (whole-row hashes, no casts or masks evaluated); a masked one from
	// the rows the export writes. Before either, the source hash (its
	// definitions and the base tables they read) is compared with the
	// current snapshot's: equal, the table is not read at all.
	started := time.Now()
	cur := tbl.CurrentSnapshot()
	before := map[string]string{}
	var prevSource, prevDefs string
	if cur != nil && cur.Summary != nil {
		if s, ok := cur.Summary.Properties[SummaryFingerprints]; ok {
			if err := json.Unmarshal([]byte(s), &before); err != nil {
				return nil, nil, 0, fmt.Errorf("snapshot %d: bad %s: %w", cur.SnapshotID, SummaryFingerprints, err)
			}
		}
		prevSource, prevDefs = cur.Summary.Properties[SummarySource], cur.Summary.Properties[SummaryDefinitions]
	}
	source, defs, err := job.src.signature(ctx, t, job.raw)
	if err != nil {
		return nil, nil, 0, err
	}
	// Other definitions may map the same rows to other values.
	redefined := defs != prevDefs || evolved
	// Its own rows say what the lake holds, unless the select list looks
	// masks up in another table.
	rowFP := !t.masked && !job.src.listReads(t, job.raw)
	var now, baseParts map[string]string
	var baseBefore map[string]string
	base := ""
	if part && source != "" {
		base = job.src.filterBase(t)
	}
	if base != "" && cur != nil && !redefined && cur.Summary != nil {
		if s, ok := cur.Summary.Properties[SummarySourceParts]; ok {
			if err := json.Unmarshal([]byte(s), &baseBefore); err != nil {
				return nil, nil, 0, fmt.Errorf("snapshot %d: bad %s: %w", cur.SnapshotID, SummarySourceParts, err)
			}
		}
	}
	// A masked view that looks tokens up (lakeLookup): its base table's
	// hashes and the look-up table's state as its snapshot recorded them.
	var lk *lakeLookup
	var lkBefore *lookupState
	var lkBaseBefore map[string]string
	if t.masked && part && source != "" {
		lk = job.src.lookupPlan(t, job.src.deps[strings.ToLower(t.name)])
	}
	if lk != nil && cur != nil && !redefined && cur.Summary != nil {
		if lkBefore, err = lookupBefore(cur.Summary.Properties); err != nil {
			return nil, nil, 0, fmt.Errorf("snapshot %d: %w", cur.SnapshotID, err)
		}
		if s, ok := cur.Summary.Properties[SummarySourceParts]; ok && lkBefore != nil {
			if err := json.Unmarshal([]byte(s), &lkBaseBefore); err != nil {
				return nil, nil, 0, fmt.Errorf("snapshot %d: bad %s: %w", cur.SnapshotID, SummarySourceParts, err)
			}
		}
	}
	check, writeFirst := LakeCheckOutput, false
	var appended map[string]string // partition -> fingerprint of the rows appended to it
	var appendQuery string
	// A full export of a filter view over a table written before in this
	// export under the same layout (fact_sales_current over fact_sales)
	// links that table's files where the view keeps every row.
	var fullLinks *lakeWritten
	if w := job.written[base]; job.full && rowFP && w != nil && w.layout == lakeLayout(exprs, schema) {
		fullLinks = w
	}
	switch {
	case !job.full && cur != nil && source != "" && source == prevSource:
		now = maps.Clone(before)
		check = LakeCheckSources
	case !job.full && lkBefore != nil && lkBaseBefore != nil:
		var ok bool
		if now, baseParts, ok, err = job.src.lookupFingerprints(ctx, lk, query, names, before, lkBaseBefore, lkBefore); err != nil {
			return nil, nil, 0, err
		}
		if ok {
			check = LakeCheckLookup
		} else if now, err = fingerprints(ctx, conn, query, names, part); err != nil {
			return nil, nil, 0, err
		}
	case !job.full && baseBefore != nil:
		check = LakeCheckBase
		if now, baseParts, err = job.src.filterFingerprints(ctx, t, base, before, baseBefore); err != nil {
			return nil, nil, 0, err
		}
	case fullLinks != nil:
		check = LakeCheckCounts
		if now, err = job.src.filterCounts(ctx, t, fullLinks.fp); err != nil {
			return nil, nil, 0, err
		}
	case rowFP:
		check = LakeCheckRows
		if now, err = job.src.rawFingerprints(ctx, t, part); err != nil {
			return nil, nil, 0, err
		}
	case !job.full && !part && cur != nil && !redefined:
		// One partition (the whole table), computed through masks or
		// views: written first and fingerprinted from the file, which
		// costs one pass instead of two when it did change; unchanged,
		// the file is dropped and the snapshot kept.
		check, writeFirst = LakeCheckWritten, true
		now = map[string]string{lakePartitionNone: "unknown"}
	case !job.full:
		if now, err = fingerprints(ctx, conn, query, names, part); err != nil {
			return nil, nil, 0, err
		}
	}
	checked := time.Now()
	var changed []string
	for k, v := range now {
		if cur == nil || redefined || before[k] != v {
			changed = append(changed, k)
		}
	}
	for k := range before {
		if _, ok := now[k]; !ok {
			changed = append(changed, k) // the partition is gone
		}
	}
	tr := &LakeTableResult{Name: t.name, Partitioned: part, Check: check, CheckMS: float64(checked.Sub(started).Microseconds()) / 1000}
	defer func() { tr.WriteMS = float64(time.Since(checked).Microseconds()) / 1000 }()
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	// The current files are read only where some are replaced; an
	// unchanged table's count is its snapshot summary's.
	var curFiles []iceberg.DataFile
	if cur != nil && (len(changed) > 0 || job.full) {
		if curFiles, err = job.files.snapshotDataFiles(fs, cur); err != nil {
			return nil, nil, 0, err
		}
	}
	if job.full {
		// Every partition is written; which ones there are comes from the files.
		changed = nil
		for k := range before {
			changed = append(changed, k)
		}
		if !part {
			changed = []string{lakePartitionNone}
		}
	}
	slices.Sort(changed)
	if len(changed) > 0 || cur == nil || job.full {
		if part {
			tr.Partitions = changed
		}
		var live []string
		for _, k := range changed {
			if _, ok := now[k]; ok {
				live = append(live, k)
			}
		}
		if job.full && part {
			live = slices.Sorted(maps.Keys(now))
		}
		var added []iceberg.DataFile
		if job.full || len(live) > 0 || (!part && cur == nil) {
			copyStart := time.Now()
			// Partitions that only gained the rows appended to the base
			// table since the last export keep their files and get one
			// more, of those rows (lakeAppend).
			if part && rowFP && !job.full && cur != nil && !redefined {
				if appended, appendQuery, err = job.src.lakeAppend(ctx, t, base, before, now, curFiles, tbl, live, exprs); err != nil {
					return nil, nil, 0, err
				}
			}
			// Partitions whose rows a table written before in this export
			// wrote under the same layout are linked, not copied.
			var linked, appendCopy []string
			layout := lakeLayout(exprs, schema)
			w := job.written[base]
			if w == nil || !part || w.layout != layout || (job.full && w != fullLinks) {
				w = nil
			}
			var rest []string
			for _, k := range live {
				if add, ok := appended[k]; ok {
					// The same appended rows, written by the base table.
					if w != nil && w.appended[k] == add && len(w.files[k]) > 0 {
						linked = append(linked, w.files[k]...)
					} else {
						appendCopy = append(appendCopy, k)
					}
					continue
				}
				// The base table's files of a partition hold all of its
				// rows only where it did not append to that partition.
				if fp, ok := w.fpOf(k); ok && fp == now[k] && w.appended[k] == "" && len(w.files[k]) > 0 {
					linked = append(linked, w.files[k]...)
				} else {
					rest = append(rest, k)
				}
			}
			live = rest
			for k := range appended {
				tr.Appended = append(tr.Appended, k)
			}
			slices.Sort(tr.Appended)
			paths, err := copyLakeFiles(ctx, conn, tbl, schema, query, part, live, linked, job, appendQuery, appendCopy)
			if err != nil {
				return nil, nil, 0, err
			}
			tr.CopyMS = float64(time.Since(copyStart).Microseconds()) / 1000
			if part && rowFP {
				w := &lakeWritten{layout: layout, fp: now, files: map[string][]string{}, appended: appended}
				for _, p := range paths {
					if k, ok := pathPartition(p); ok {
						w.files[k] = append(w.files[k], p)
					}
				}
				job.written[t.name] = w
			}
			if (job.full && !rowFP) || writeFirst {
				files := make([]string, len(paths))
				for i, p := range paths {
					files[i] = engine.QuoteString(p)
				}
				from := "SELECT * FROM read_parquet([" + strings.Join(files, ", ") + "], hive_partitioning = false)"
				if len(paths) == 0 {
					from = "SELECT * FROM (" + query + ") WHERE false"
				}
				if now, err = fingerprints(ctx, conn, from, names, part); err != nil {
					return nil, nil, 0, err
				}
				if writeFirst && maps.Equal(now, before) {
					// The same rows: this export keeps the table's snapshot.
					if len(paths) > 0 {
						if err := os.RemoveAll(filepath.Dir(paths[0])); err != nil {
							return nil, nil, 0, err
						}
					}
					paths, changed = nil, nil
				}
			}
			if job.full {
				for k := range now {
					if !slices.Contains(changed, k) {
						changed = append(changed, k)
					}
				}
				slices.Sort(changed)
			}
			for _, p := range paths {
				df, err := table.FileToDataFile(ctx, fs, "file://"+p, schema, tbl.Spec(), 0, tbl.Properties())
				if err != nil {
					return nil, nil, 0, fmt.Errorf("%s: %w", p, err)
				}
				added = append(added, df)
			}
		}
		var dropped []iceberg.DataFile
		for _, df := range curFiles {
			if k := partitionKey(tbl, df); job.full || slices.Contains(changed, k) && appended[k] == "" {
				dropped = append(dropped, df)
			}
		}
		tr.Written, tr.Replaced = len(added), len(dropped)
		tr.Changed = len(added)+len(dropped) > 0
		if part {
			tr.Partitions = changed
		}
		if !tr.Changed {
			tr.Partitions = nil
		}
		fp, _ := json.Marshal(now)
		props := maps.Clone(job.props)
		props[SummaryFingerprints] = string(fp)
		props[SummarySource] = source
		props[SummaryDefinitions] = defs
		srcBase := base
		if lk != nil {
			srcBase = lk.base
			st, err := job.src.lookupNow(ctx)
			if err != nil {
				return nil, nil, 0, err
			}
			js, _ := json.Marshal(st)
			props[SummaryLookup] = string(js)
		}
		if srcBase != "" {
			if baseParts == nil {
				if _, err := job.src.tableHash(ctx, srcBase); err != nil {
					return nil, nil, 0, err
				}
				baseParts = job.src.parts[srcBase]
			}
			bp, _ := json.Marshal(baseParts)
			props[SummarySourceParts] = string(bp)
		}
		switch {
		case len(dropped) == 0 && len(added) == 0:
			// A new partitioned table with no rows: nothing to commit.
		case len(dropped) == 0:
			err = tx.AddDataFiles(ctx, added, props)
		default:
			err = tx.ReplaceDataFilesWithDataFiles(ctx, dropped, added, props)
		}
		if err != nil {
			return nil, nil, 0, err
		}
		tr.Files = len(curFiles) - len(dropped) + len(added)
	} else if cur != nil {
		n, err := -1, error(nil)
		if cur.Summary != nil {
			n, err = strconv.Atoi(cur.Summary.Properties["total-data-files"])
		}
		if n < 0 || err != nil {
			if curFiles, err = job.files.snapshotDataFiles(fs, cur); err != nil {
				return nil, nil, 0, err
			}
			n = len(curFiles)
		}
		tr.Files = n
	}
	for _, v := range now {
		n, _, _ := strings.Cut(v, ":")
		r, _ := strconv.ParseInt(n, 10, 64)
		tr.Rows += r
	}
	tc, err := tx.TableCommit()
	if err != nil {
		return nil, nil, 0, err
	}
	if len(tc.Updates) == 0 {
		return tr, nil, 0, nil
	}
	return tr, &tc, 0, nil
}

// expireLake commits, for every table in one catalog transaction, the
// removal of the snapshots replaced more than retain ago (all replaced
// ones when retain < 0). It runs after the export's commit, so the
// snapshot that export replaced counts as replaced now. read holds the
// tables as committed (tables not in it are read into it), and gets the
// tables as expiry leaves them.
func expireLake(ctx context.Context, cat *lakeCatalog, retain time.Duration, read readTables) (int, error) {
	var commits []table.TableCommit
	n := 0
	for ident, err := range cat.ListTables(ctx, table.Identifier{LakeNamespace}) {
		if err != nil {
			return 0, err
		}
		tbl, err := cat.table(ctx, read, ident)
		if err != nil {
			return 0, err
		}
		cur := tbl.CurrentSnapshot()
		expire := expiredSnapshots(tbl.Metadata(), retain, time.Now())
		if len(expire) == 0 || cur == nil {
			continue
		}
		id := cur.SnapshotID
		commits = append(commits, table.TableCommit{
			Identifier: ident,
			Requirements: []table.Requirement{table.AssertTableUUID(tbl.Metadata().TableUUID()),
				table.AssertRefSnapshotID(table.MainBranch, &id)},
			Updates: []table.Update{table.NewRemoveSnapshotsUpdate(expire, false)},
		})
		n += len(expire)
	}
	if len(commits) == 0 {
		return 0, nil
	}
	committed, err := cat.commitExport(ctx, commits, read, nil)
	maps.Copy(read, committed)
	return n, err
}

// createLakeTable creates a table at <dir>/ckm/<name>, partitioned by
// identity(year), identity(month) when it is a fact.
func createLakeTable(ctx context.Context, cat *lakeCatalog, dir string, ident table.Identifier, cols []lakeColumn, part bool) (*table.Table, error) {
	sc := icebergSchema(cols)
	opts := []catalog.CreateTableOpt{
		catalog.WithLocation("file://" + filepath.Join(dir, LakeNamespace, catalog.TableNameFromIdent(ident))),
		catalog.WithProperties(iceberg.Properties{
			"write.format.default":                 "parquet",
			"write.parquet.compression-codec":      "zstd",
			"write.metadata.compression-codec":     "none",
			"history.expire.min-snapshots-to-keep": "1",
		}),
	}
	if part {
		y, _ := sc.FindFieldByName("year")
		m, _ := sc.FindFieldByName("month")
		spec := iceberg.NewPartitionSpec(
			iceberg.PartitionField{SourceIDs: []int{y.ID}, FieldID: 1000, Name: "year", Transform: iceberg.IdentityTransform{}},
			iceberg.PartitionField{SourceIDs: []int{m.ID}, FieldID: 1001, Name: "month", Transform: iceberg.IdentityTransform{}})
		opts = append(opts, catalog.WithPartitionSpec(&spec))
	}
	return cat.CreateTable(ctx, ident, sc, opts...)
}

// fingerprints returns, per partition ("YYYY-M", or "" unpartitioned),
// "rows:hash" of the rows the export would write: the sum of the rows'
// hashes, order-independent, so any change of any row changes it.
func fingerprints(ctx context.Context, conn *dbsql.Conn, query string, names []string, part bool) (map[string]string, error) {
	key := ""
	if part {
		key = `"year" * 100 + "month"`
	}
	return partitionHashes(ctx, conn, "("+query+")", strings.Join(names, ", "), key)
}

// partitionHashes is the one GROUP BY of every fingerprint: per partition,
// the row count and the sum of hash(hashArgs) over the relation from.
// partKey is an integer expression year*100+month of a row's partition
// (0 for year 0), or "" when the relation is not partitioned (one
// partition, "", present even when empty).
func partitionHashes(ctx context.Context, conn *dbsql.Conn, from, hashArgs, partKey string) (map[string]string, error) {
	part := partKey != ""
	if !part {
		partKey = "0"
	}
	q := "SELECT " + partKey + ", " + countHashSum(hashArgs) + " FROM " + from + " " + lakeFPRow + " GROUP BY 1"
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var p, n int64
		var h string
		if err := rows.Scan(&p, &n, &h); err != nil {
			return nil, err
		}
		k := lakePartitionNone
		if part {
			k = monthKey(p)
		}
		out[k] = strconv.FormatInt(n, 10) + ":" + h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !part && len(out) == 0 {
		out[lakePartitionNone] = "0:0"
	}
	return out, nil
}

// countHashSum is SQL for a fingerprint's two columns over a group: its
// row count and the sum of hash(hashArgs) (a decimal string).
func countHashSum(hashArgs string) string {
	return "count(*), CAST(coalesce(sum(CAST(hash(" + hashArgs + ") AS HUGEINT)), 0) AS VARCHAR)"
}

// partitionKey is the fingerprint key of a data file's partition.
func partitionKey(tbl *table.Table, df iceberg.DataFile) string {
	spec := tbl.Spec()
	if spec.NumFields() == 0 {
		return lakePartitionNone
	}
	p := df.Partition()
	var vals []string
	for _, f := range spec.Fields() {
		vals = append(vals, fmt.Sprint(p[f.FieldID]))
	}
	return strings.Join(vals, "-")
}

// copyLakeFiles has DuckDB write the given partitions (all rows when the
// table is not partitioned, or on a full export that links none) as new
// Parquet files under the table's data directory, in a directory of their
// own, and returns their paths.
//
// linked are data files another table wrote in this export holding
// exactly the rows of other partitions of this one (lakeWritten): each is
// hard-linked (copied where links cannot be made) to the same place under
// this table's directory, and no COPY is run when keys is empty.
//
// appendKeys are partitions of which only the rows of appendQuery (the
// table's select list over its appended rows) are written.
func copyLakeFiles(ctx context.Context, conn *dbsql.Conn, tbl *table.Table, schema *iceberg.Schema, query string, part bool, keys, linked []string, job lakeTableJob, appendQuery string, appendKeys []string) ([]string, error) {
	out := filepath.Join(localPath(tbl.Location()), lakeDataDir, fmt.Sprintf("e%06d-%s", job.exportID, job.tag))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if len(keys) > 0 || len(appendKeys) > 0 || len(linked) == 0 {
		// A full export writes every partition, unless some are linked.
		all := job.full && len(linked) == 0
		if err := copyLakePartitions(ctx, conn, out, schema, query, part, keys, all, appendQuery, appendKeys); err != nil {
			return nil, err
		}
	}
	if err := linkLakeFiles(out, linked); err != nil {
		return nil, err
	}
	var paths []string
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			paths = append(paths, p)
		}
		return err
	})
	slices.Sort(paths)
	return paths, err
}

// copyLakePartitions is copyLakeFiles' COPY into out: of the partitions
// keys, or of every row when all.
func copyLakePartitions(ctx context.Context, conn *dbsql.Conn, out string, schema *iceberg.Schema, query string, part bool, keys []string, all bool, appendQuery string, appendKeys []string) error {
	opts := fmt.Sprintf("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE %d, FIELD_IDS %s", lakeRowGroupSize, fieldIDs(schema))
	target := filepath.Join(out, "data_0.parquet")
	if part {
		opts += `, PARTITION_BY ("year", "month"), WRITE_PARTITION_COLUMNS true`
		target = out
		if !all {
			// The date_key ranges (a superset of the partitions) let DuckDB
			// skip the row groups of other months before computing a row;
			// the outer filter is exact.
			of := func(query string, keys []string) (string, error) {
				var conds []string
				for _, k := range keys {
					m := partKeyRe.FindStringSubmatch(k)
					if m == nil {
						return "", fmt.Errorf("bad partition key %q", k)
					}
					conds = append(conds, "("+m[1]+", "+m[2]+")")
				}
				return "SELECT * FROM (" + query + " WHERE " + dateKeyRanges(keys) + `) WHERE ("year", "month") IN (` + strings.Join(conds, ", ") + ")", nil
			}
			var qs []string
			if len(keys) > 0 || len(appendKeys) == 0 {
				q, err := of(query, keys)
				if err != nil {
					return err
				}
				qs = append(qs, q)
			}
			if len(appendKeys) > 0 {
				q, err := of(appendQuery, appendKeys)
				if err != nil {
					return err
				}
				qs = append(qs, q)
			}
			query = strings.Join(qs, " UNION ALL ")
		}
	}
	_, err := conn.ExecContext(ctx, "COPY ("+query+") TO "+engine.QuoteString(target)+" ("+opts+")")
	return err
}

// linkLakeFiles links each of files (another table's data files, at
// <its data dir>/<export dir>/year=Y/month=M/<name>) to the same
// year=Y/month=M/<name> under out.
func linkLakeFiles(out string, files []string) error {
	for _, f := range files {
		k, ok := pathPartition(f)
		if !ok {
			return fmt.Errorf("internal: data file %s has no partition directory", f)
		}
		y, m, _ := strings.Cut(k, "-")
		if err := linkOrCopy(f, filepath.Join(out, "year="+y, "month="+m, filepath.Base(f))); err != nil {
			return err
		}
	}
	return nil
}

// pathPartition is the partition key ("Y-M") of a data file DuckDB's
// partitioned COPY wrote, from its year=Y/month=M directories.
func pathPartition(p string) (string, bool) {
	m := filepath.Base(filepath.Dir(p))
	y := filepath.Base(filepath.Dir(filepath.Dir(p)))
	if !strings.HasPrefix(m, "month=") || !strings.HasPrefix(y, "year=") {
		return "", false
	}
	k := strings.TrimPrefix(y, "year=") + "-" + strings.TrimPrefix(m, "month=")
	return k, partKeyRe.MatchString(k)
}

// dateKeyRanges is a condition on date_key true for every row of the
// given partitions ("year-month"): year y > 0 and month m are exactly
// date_key BETWEEN y*10000+m*100 AND y*10000+m*100+99; year 0 holds the
// special members (negative or NULL keys) and anything below 10000.
func dateKeyRanges(keys []string) string {
	var ors []string
	for _, k := range keys {
		m := partKeyRe.FindStringSubmatch(k)
		y, _ := strconv.ParseInt(m[1], 10, 64)
		mo, _ := strconv.ParseInt(m[2], 10, 64)
		if y <= 0 {
			ors = append(ors, "date_key IS NULL OR date_key < 10000")
			continue
		}
		lo := y*10000 + mo*100
		ors = append(ors, fmt.Sprintf("date_key BETWEEN %d AND %d", lo, lo+99))
	}
	if len(ors) == 0 {
		return "false"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// snapshotDataFiles lists the live data files of a snapshot.
func snapshotDataFiles(fs icebergio.IO, s *table.Snapshot) ([]iceberg.DataFile, error) {
	return (*manifestCache)(nil).snapshotDataFiles(fs, s)
}

// manifestCache keeps, for one export, the manifest lists and manifests
// it has read (both are immutable files), so checking, tidying and
// lake.duckdb read each once. A nil cache reads every time.
type manifestCache struct {
	mu      sync.Mutex // its maps: an export reads it from two goroutines (lake_side.go, tidying)
	lists   map[string][]iceberg.ManifestFile
	entries map[string][]iceberg.DataFile
}

func newManifestCache() *manifestCache {
	return &manifestCache{lists: map[string][]iceberg.ManifestFile{}, entries: map[string][]iceberg.DataFile{}}
}

// manifests are a snapshot's manifests.
func (c *manifestCache) manifests(fs icebergio.IO, s *table.Snapshot) ([]iceberg.ManifestFile, error) {
	if c != nil {
		c.mu.Lock()
		l, ok := c.lists[s.ManifestList]
		c.mu.Unlock()
		if ok {
			return l, nil
		}
	}
	l, err := s.Manifests(fs)
	if err == nil && c != nil {
		c.mu.Lock()
		c.lists[s.ManifestList] = l
		c.mu.Unlock()
	}
	return l, err
}

// dataFiles are a manifest's live (not deleted) entries' files.
func (c *manifestCache) dataFiles(fs icebergio.IO, mf iceberg.ManifestFile) ([]iceberg.DataFile, error) {
	if c != nil {
		c.mu.Lock()
		d, ok := c.entries[mf.FilePath()]
		c.mu.Unlock()
		if ok {
			return d, nil
		}
	}
	var out []iceberg.DataFile
	for e, err := range mf.Entries(fs, true) {
		if err != nil {
			return nil, err
		}
		out = append(out, e.DataFile())
	}
	if c != nil {
		c.mu.Lock()
		c.entries[mf.FilePath()] = out
		c.mu.Unlock()
	}
	return out, nil
}

// snapshotDataFiles lists the live data files of a snapshot.
func (c *manifestCache) snapshotDataFiles(fs icebergio.IO, s *table.Snapshot) ([]iceberg.DataFile, error) {
	mfs, err := c.manifests(fs, s)
	if err != nil {
		return nil, err
	}
	var out []iceberg.DataFile
	for _, mf := range mfs {
		if mf.ManifestContent() != iceberg.ManifestContentData {
			continue
		}
		dfs, err := c.dataFiles(fs, mf)
		if err != nil {
			return nil, err
		}
		out = append(out, dfs...)
	}
	return out, nil
}

// expiredSnapshots lists the snapshots replaced (by the next entry of the
// snapshot log) more than retain before now; never the current one.
func expiredSnapshots(meta table.Metadata, retain time.Duration, now time.Time) []int64 {
	cur := meta.CurrentSnapshot()
	if cur == nil {
		return nil
	}
	log := slices.Collect(meta.SnapshotLogs())
	replaced := map[int64]int64{}
	for i := 0; i+1 < len(log); i++ {
		replaced[log[i].SnapshotID] = log[i+1].TimestampMs
	}
	cutoff := now.Add(-retain).UnixMilli()
	var out []int64
	for _, s := range meta.Snapshots() {
		if s.SnapshotID == cur.SnapshotID {
			continue
		}
		at, ok := replaced[s.SnapshotID]
		if !ok {
			at = s.TimestampMs // never current (not in the log)
		}
		if retain < 0 || at < cutoff {
			out = append(out, s.SnapshotID)
		}
	}
	return out
}

// removeUnreferenced deletes, under each table's directory, every file no
// live snapshot references: data and metadata of killed exports and of
// expired snapshots, and metadata files replaced more than retain ago.
func removeUnreferenced(ctx context.Context, dir string, snap *LakeSnapshot, retain time.Duration, now time.Time, files *manifestCache) (int, error) {
	keep := map[string]bool{}
	cutoff := now.Add(-retain).UnixMilli()
	for _, t := range snap.Tables {
		meta := t.Metadata()
		keep[localPath(t.MetadataLocation())] = true
		prev := slices.Collect(meta.PreviousFiles())
		for i, e := range prev {
			replacedAt := meta.LastUpdatedMillis()
			if i+1 < len(prev) {
				replacedAt = prev[i+1].TimestampMs
			}
			if retain >= 0 && replacedAt >= cutoff {
				keep[localPath(e.MetadataFile)] = true
			}
		}
		fs, err := t.FS(ctx)
		if err != nil {
			return 0, err
		}
		for _, s := range meta.Snapshots() {
			keep[localPath(s.ManifestList)] = true
			mfs, err := files.manifests(fs, &s)
			if err != nil {
				return 0, err
			}
			for _, mf := range mfs {
				keep[localPath(mf.FilePath())] = true
				dfs, err := files.dataFiles(fs, mf)
				if err != nil {
					return 0, err
				}
				for _, df := range dfs {
					keep[localPath(df.FilePath())] = true
				}
			}
		}
	}
	root := filepath.Join(dir, LakeNamespace)
	removed := 0
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if !keep[p] {
			if err := os.Remove(p); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	// Empty directories left by removed files go too (deepest first).
	slices.Reverse(dirs)
	for _, d := range dirs {
		if d != root && filepath.Base(d) != lakeMetadataDir && filepath.Base(d) != lakeDataDir {
			os.Remove(d) // fails, as it should, when not empty
		}
	}
	return removed, err
}

// chmodTree gives the lake its configured permissions.
func chmodTree(dir string, dirMode, fileMode os.FileMode) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fileMode
		if d.IsDir() {
			mode = dirMode
		}
		return os.Chmod(p, mode)
	})
}

// writeLakeDuckDB writes lake.duckdb: a view per table over the current
// snapshot's data files, so a BI tool with a DuckDB driver sees named
// tables, and ckm_lake (the export) and ckm_lake_tables (each view's
// snapshot). It is written beside and renamed into place, so a reader
// holding the old file keeps it. The new file starts as a copy of the old
// one and only the views whose table has another snapshot are replaced.
// The file is attached to the warehouse's own DuckDB (conn), which is
// cheaper than starting another database.
func writeLakeDuckDB(ctx context.Context, conn *dbsql.Conn, dir string, snap *LakeSnapshot, mode os.FileMode, files *manifestCache) error {
	final := filepath.Join(dir, LakeDuckDBFile)
	tmp := final + ".tmp-" + randomTag()
	defer os.Remove(tmp)
	defer os.Remove(tmp + ".wal")
	write := func(conn *dbsql.Conn) error {
		if err := writeLakeDuckDBFile(ctx, conn, tmp, final, snap, files, true); err == nil {
			return nil
		}
		// No old file, or one that cannot be updated (another version's
		// layout): write a new one.
		os.Remove(tmp)
		os.Remove(tmp + ".wal")
		return writeLakeDuckDBFile(ctx, conn, tmp, final, snap, files, false)
	}
	if err := write(conn); err != nil {
		// A warehouse that may not attach a file (opened read-only):
		// a DuckDB of its own.
		os.Remove(tmp)
		os.Remove(tmp + ".wal")
		db, oerr := dbsql.Open("duckdb", "")
		if oerr != nil {
			return errors.Join(err, oerr)
		}
		defer db.Close()
		own, oerr := db.Conn(ctx)
		if oerr != nil {
			return errors.Join(err, oerr)
		}
		defer own.Close()
		if err := write(own); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

func writeLakeDuckDBFile(ctx context.Context, conn *dbsql.Conn, tmp, old string, snap *LakeSnapshot, files *manifestCache, reuse bool) error {
	have := map[string]int64{} // view -> snapshot id it reads
	if reuse {
		if _, err := os.Stat(old + ".wal"); err == nil {
			return errors.New("old file has a WAL")
		}
		if err := copyRegular(old, tmp); err != nil {
			return err
		}
	}
	alias := "ckm_lake_file_" + randomTag()
	qa := engine.QuoteIdent(alias)
	if _, err := conn.ExecContext(ctx, "ATTACH "+engine.QuoteString(tmp)+" AS "+qa); err != nil {
		return err
	}
	attached := true
	defer func() {
		if attached {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			conn.ExecContext(context.WithoutCancel(ctx), "DETACH "+qa)
		}
	}()
	if reuse {
		rows, err := conn.QueryContext(ctx, `SELECT t.name, t.snapshot_id FROM `+qa+`.main.ckm_lake_tables t JOIN duckdb_views() v ON v.view_name = t.name AND v.database_name = ?`, alias)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			var id int64
			if err := rows.Scan(&n, &id); err != nil {
				rows.Close()
				return err
			}
			have[n] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	// One transaction: one write of the file, not one per view.
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	if reuse {
		var drop []string
		rows, err := conn.QueryContext(ctx, `SELECT view_name FROM duckdb_views() WHERE database_name = ? AND schema_name = 'main' AND NOT internal`, alias)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			if _, ok := snap.Tables[n]; !ok {
				drop = append(drop, n)
			}
		}
		rows.Close()
		for _, n := range drop {
			if _, err := conn.ExecContext(ctx, "DROP VIEW "+qa+".main."+engine.QuoteIdent(n)); err != nil {
				return err
			}
		}
	}
	names := slices.Sorted(maps.Keys(snap.Tables))
	var tables []string
	for _, name := range names {
		t := snap.Tables[name]
		var id int64 = -1
		var files_ []string
		if s := t.CurrentSnapshot(); s != nil {
			id = s.SnapshotID
		}
		tables = append(tables, fmt.Sprintf("(%s, %d)", engine.QuoteString(name), id))
		if prev, ok := have[name]; ok && prev == id {
			continue
		}
		if s := t.CurrentSnapshot(); s != nil {
			fs, err := t.FS(ctx)
			if err != nil {
				return err
			}
			dfs, err := files.snapshotDataFiles(fs, s)
			if err != nil {
				return err
			}
			for _, df := range dfs {
				files_ = append(files_, engine.QuoteString(localPath(df.FilePath())))
			}
		}
		slices.Sort(files_)
		var q string
		if len(files_) > 0 {
			q = "SELECT * FROM read_parquet([" + strings.Join(files_, ", ") + "], hive_partitioning = false)"
		} else {
			var cols []string
			for _, f := range t.Schema().Fields() {
				cols = append(cols, "CAST(NULL AS "+duckType(f.Type)+") AS "+engine.QuoteIdent(f.Name))
			}
			q = "SELECT " + strings.Join(cols, ", ") + " WHERE false"
		}
		if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE VIEW "+qa+".main."+engine.QuoteIdent(name)+" AS "+q); err != nil {
			return fmt.Errorf("view %s: %w", name, err)
		}
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE OR REPLACE TABLE %s.main.ckm_lake AS SELECT %d AS export_id, %d AS data_version, TIMESTAMP '%s' AS committed_at",
			qa, snap.ExportID, snap.DataVersion, snap.CommittedAt.UTC().Format("2006-01-02 15:04:05.000000")),
		"CREATE OR REPLACE TABLE " + qa + ".main.ckm_lake_tables (name VARCHAR, snapshot_id BIGINT)",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if len(tables) > 0 {
		if _, err := conn.ExecContext(ctx, "INSERT INTO "+qa+".main.ckm_lake_tables VALUES "+strings.Join(tables, ", ")); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "CHECKPOINT "+qa); err != nil {
		return err
	}
	attached = false
	_, err := conn.ExecContext(ctx, "DETACH "+qa)
	return err
}

// copyRegular copies a file's bytes.
func copyRegular(from, to string) error {
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
	return out.Close()
}

// duckType is the DuckDB type of an Iceberg type, for empty views.
func duckType(t iceberg.Type) string {
	switch t := t.(type) {
	case iceberg.BooleanType:
		return "BOOLEAN"
	case iceberg.Int32Type:
		return "INTEGER"
	case iceberg.Int64Type:
		return "BIGINT"
	case iceberg.Float32Type:
		return "FLOAT"
	case iceberg.Float64Type:
		return "DOUBLE"
	case iceberg.DateType:
		return "DATE"
	case iceberg.TimestampType:
		return "TIMESTAMP"
	case iceberg.TimestampTzType:
		return "TIMESTAMPTZ"
	case iceberg.BinaryType:
		return "BLOB"
	case iceberg.DecimalType:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision(), t.Scale())
	case *iceberg.ListType:
		return duckType(t.Element) + "[]"
	}
	return "VARCHAR"
}

// lakeParquetFolder writes the hive-partitioned folder of ckm export
// parquet from a lake snapshot: each table's current data files, linked
// (or copied) as <table>/year=Y/month=M/<file> for the facts and
// <table>/<file> otherwise, and manifest.json. The files hold the year
// and month columns too, as the lake's do; readers that take them from
// the directory names find the same values.
func lakeParquetFolder(ctx context.Context, w *engine.Warehouse, out string, snap *LakeSnapshot, tables []lakeTable,
	raw bool, dirMode, fileMode os.FileMode, producer string, files *manifestCache) error {
	_, err := writeFolder(out, dirMode, fileMode, func(tmp string) (*Manifest, error) {
		m := &Manifest{Format: LakeFormat, FormatVersion: FormatVersion, Producer: producer, CreatedAt: time.Now().UTC().Truncate(time.Second),
			Warehouse: w.Path, DataVersion: snap.DataVersion, PII: snap.PII, LakeExportID: snap.ExportID}
		var err error
		if m.SchemaVersion, err = w.Version(ctx); err != nil {
			return nil, err
		}
		for _, t := range tables {
			tbl := snap.Tables[t.name]
			if tbl == nil {
				return nil, fmt.Errorf("table %s is not in the lake's snapshot", t.name)
			}
			cols, err := lakeColumns(t, raw)
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", t.name, err)
			}
			_, _, cm := selectList(t, raw)
			tm := TableManifest{Name: t.name, Path: t.name}
			for i, c := range cols {
				col := ColumnManifest{Name: c.name, Type: c.duck}
				if i < len(cm) {
					col.Masked, col.Partition = cm[i].Masked, cm[i].Partition
				}
				tm.Columns = append(tm.Columns, col)
			}
			part := partitioned(t)
			if part {
				tm.PartitionedBy = []string{"year", "month"}
			}
			var dfs []iceberg.DataFile
			if s := tbl.CurrentSnapshot(); s != nil {
				fs, err := tbl.FS(ctx)
				if err != nil {
					return nil, err
				}
				if dfs, err = files.snapshotDataFiles(fs, s); err != nil {
					return nil, err
				}
			}
			dataDir := filepath.Join(localPath(tbl.Location()), lakeDataDir)
			for _, df := range dfs {
				src := localPath(df.FilePath())
				rel, err := filepath.Rel(dataDir, src)
				if err != nil || strings.HasPrefix(rel, "..") {
					return nil, fmt.Errorf("table %s: data file %s outside %s", t.name, src, dataDir)
				}
				// e000003-tag/year=2025/month=3/data_0.parquet -> year=2025/month=3/e000003-tag-data_0.parquet
				first, rest, _ := strings.Cut(filepath.ToSlash(rel), "/")
				sub := filepath.Join(t.name, filepath.Dir(rest), first+"-"+filepath.Base(rest))
				if part {
					key := partitionKey(tbl, df)
					y, mo, _ := strings.Cut(key, "-")
					sub = filepath.Join(t.name, "year="+y, "month="+mo, first+"-"+filepath.Base(rest))
				}
				if err := linkOrCopy(src, filepath.Join(tmp, sub)); err != nil {
					return nil, fmt.Errorf("table %s: %w", t.name, err)
				}
				tm.Files = append(tm.Files, FileManifest{Path: filepath.ToSlash(sub), Rows: df.Count(), Bytes: df.FileSizeBytes()})
				tm.Rows += df.Count()
			}
			if len(dfs) == 0 {
				// No rows: one empty file, as ckm export parquet writes, so
				// readers still find the table and its columns.
				sub := filepath.Join(t.name, "data_0.parquet")
				if part {
					sub = filepath.Join(t.name, "year=0", "month=0", "data_0.parquet")
				}
				if err := emptyParquet(ctx, w, tbl.Schema(), filepath.Join(tmp, sub)); err != nil {
					return nil, fmt.Errorf("table %s: %w", t.name, err)
				}
				tm.Files = append(tm.Files, FileManifest{Path: filepath.ToSlash(sub)})
				if st, err := os.Stat(filepath.Join(tmp, sub)); err == nil {
					tm.Files[0].Bytes = st.Size()
				}
			}
			slices.SortFunc(tm.Files, func(a, b FileManifest) int { return strings.Compare(a.Path, b.Path) })
			m.Tables = append(m.Tables, tm)
		}
		return m, nil
	})
	return err
}

// linkOrCopy makes dst the same file as src: a hard link, or a copy where
// links cannot be made (another file system).
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyRegular(src, dst)
}

// emptyParquet writes a Parquet file of the schema's columns and no rows.
func emptyParquet(ctx context.Context, w *engine.Warehouse, schema *iceberg.Schema, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var cols []string
	for _, f := range schema.Fields() {
		cols = append(cols, "CAST(NULL AS "+duckType(f.Type)+") AS "+engine.QuoteIdent(f.Name))
	}
	_, err := w.DB.ExecContext(ctx, "COPY (SELECT "+strings.Join(cols, ", ")+" WHERE false) TO "+engine.QuoteString(path)+
		" (FORMAT parquet, COMPRESSION zstd, FIELD_IDS "+fieldIDs(schema)+")")
	return err
}

// ForgetInLake brings a lake up to date after ckm forget and expires every
// older snapshot at once, removing their files and replaced metadata, so
// no snapshot of the lake still holds what was erased. The lake keeps its
// kind (masked or raw; raw needs a principal that may export it).
func ForgetInLake(ctx context.Context, w *engine.Warehouse, dir string, p privacy.Principal, reason string) (*LakeResult, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("forget in lake: %w", err)
	}
	rec, _, err := readLakeExport(ctx, abs)
	if err != nil {
		return nil, fmt.Errorf("forget in lake: %w", err)
	}
	raw := rec != nil && rec.PII == "raw"
	return Lake(ctx, w, LakeOptions{Dir: dir, Principal: p, RawPII: raw, Reason: reason, Retain: -1, Producer: "ckm forget"})
}
