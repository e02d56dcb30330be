package etl

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl/region"
)

// run is the whole transactional load: stage, clean and validate each
// target, resolve customers, load dimensions and facts, reconcile, record.
func (l *loader) run() error {
	var paths []string
	for _, j := range l.jobs {
		paths = append(paths, j.Path)
	}
	// The run's id (the next one) and its row in one statement.
	t0 := time.Now()
	if err := l.tx.QueryRowContext(l.ctx, `INSERT INTO etl_run (run_id, started_at, status, paths, ckm_version)
		VALUES ((SELECT coalesce(max(run_id), 0) + 1 FROM etl_run), ?, 'running', ?, ?) RETURNING run_id`,
		l.start, strings.Join(paths, "\n"), l.opts.Version).Scan(&l.runID); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	l.traceStep("run", t0)
	if l.opts.FailAfter == "run" {
		return errors.New("load: injected failure after run")
	}
	t0 = time.Now()
	if err := region.LoadDim(l.ctx, l.tx); err != nil {
		return fmt.Errorf("dim_region: %w", err)
	}
	l.traceStep("region", t0)
	if err := l.stageHere(); err != nil {
		return err
	}
	for _, step := range []struct {
		name string
		fn   func() error
	}{
		{"products", l.loadProducts},
		{"campaigns", l.loadCampaigns},
		{"validate", l.validateFacts},
		{"identity", l.resolveIdentity},
		{"customers", l.loadCustomers},
		{"reresolve", l.applyReresolution},
		{"facts", l.loadFacts},
		{"reconcile", l.reconcile},
		{"ledger", l.writeLedger},
		{"postcheck", l.postcheck},
	} {
		if step.name == "postcheck" && l.opts.tamper != nil {
			if err := l.opts.tamper(l.ctx, l.tx); err != nil {
				return err
			}
		}
		t0 := time.Now()
		if err := step.fn(); err != nil {
			return err
		}
		l.traceStep(step.name+" (step)", t0)
		if l.opts.FailAfter == step.name {
			return fmt.Errorf("load: injected failure after %s", step.name)
		}
	}
	return l.dropTemps()
}

// noteIdle finds the targets with nothing in this load: no file of the
// target in ld_file (so no extract rejects of it either) and no line in its
// staging table (joins and derived sources included). Every rule, repeat
// and duplicate check of such a target reads an empty c_<target> or the
// rejects of its (absent) files, and its dimension and fact inserts read an
// empty ok_<target>: skipping them changes nothing but the time. The
// c_<target> tables and ok_<target> views are still made, empty, for the
// steps that read every target.
func (l *loader) noteIdle() error {
	l.idle = map[string]bool{}
	if l.opts.everyTarget {
		return nil
	}
	// One statement asks for every target.
	names := targetNames()
	cols := make([]string, len(names))
	busy := make([]any, len(names))
	for i, name := range names {
		cols[i] = fmt.Sprintf(`EXISTS (SELECT 1 FROM stg_%s) OR EXISTS (SELECT 1 FROM ld_file WHERE target = %s)`, name, engine.QuoteString(name))
		busy[i] = new(bool)
	}
	if err := l.tx.QueryRowContext(l.ctx, "SELECT "+strings.Join(cols, ",\n\t")).Scan(busy...); err != nil {
		return fmt.Errorf("targets of the load: %w", err)
	}
	for i, name := range names {
		l.idle[name] = !*busy[i].(*bool)
	}
	return nil
}

// stageAhead stages the load's files (stageFiles) and cleans the sales
// lines (cleanSales) in a transaction of its own on the load's
// connection, committed before the load's transaction begins. Only TEMP tables are written, which no other
// connection sees and which go with the connection whatever the load's
// fate. Committed, they are scanned on every DuckDB thread: DuckDB gives a
// scan as many threads as the table has committed row groups, so a
// table written in the reading transaction is read on one thread
// (DataTable::MaxThreads counts committed rows only) — measured on a
// million staged lines, the cleaning statement (c_sales_d) ran on one of
// two threads, 2.9–4.0 s wall for 3.0–4.2 CPU s; staged ahead, 1.55 s wall
// for 2.95 CPU s (load average 1.5–2.6).
// Staging reads the warehouse for the largest file id only; run checks
// that id again in the load's transaction (stageHere), where the files'
// rows (fileRows, with dim_channel's keys) are written.
func (l *loader) stageAhead(conn *sql.Conn) error {
	tx, err := conn.BeginTx(l.ctx, nil)
	if err != nil {
		return fmt.Errorf("begin staging: %w", err)
	}
	l.tx, l.stageConn = tx, conn
	defer func() {
		l.tx.Rollback()
		l.tx, l.stageConn = nil, nil
	}()
	t0 := time.Now()
	if err := l.stageFiles(); err != nil {
		return err
	}
	// The sales lines are cleaned here too, from the committed staged
	// lines: committed, the cleaned lines are read on every thread by the
	// steps after (duplicates, identity, the fact insert). Cleaning reads
	// of the warehouse only dim_channel (ld_file's channel keys, which it
	// does not keep); ld_file is made again in the load's transaction
	// (fileRows), ld_region, read there by the customers' cleaning, is not.
	if err := l.settle(); err != nil {
		return err
	}
	if err := l.fileRows(); err != nil {
		return err
	}
	if err := l.regions(); err != nil {
		return err
	}
	if err := l.cleanSales(); err != nil {
		return err
	}
	if err := l.releaseStagedSales(); err != nil {
		return err
	}
	if err := l.dropCleaningTables(); err != nil {
		return err
	}
	// The rejects of extraction and staging are copied into the load's
	// transaction (stageHere): see fileRows on DuckDB's estimates.
	if err := l.exec("stage", `ALTER TABLE ld_reject RENAME TO ld_reject_ahead`); err != nil {
		return err
	}
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("commit staging: %w", err)
	}
	l.traceStep("stage ahead", t0)
	l.stagedAhead, l.cleanedAhead = true, true
	if l.opts.stagedOn != nil {
		if err := l.opts.stagedOn(l.ctx, conn); err != nil {
			return err
		}
	}
	if l.opts.afterStaging != nil {
		return l.opts.afterStaging(l.ctx)
	}
	return nil
}

// dropCleaningTables drops, before staging ahead commits, what only the
// cleaning of the sales lines read: the memo tables of its distinct raw
// values (md_*) and the positions of the lines without a line number
// (sales_pos). Dropped here, they are released by that commit; dropped in
// the load's transaction, or left, they would hold their memory (or their
// spilled blocks) to its end (TestDroppedTempTableKeepsMemoryUntilCommit). The
// cleaning of the other targets, in the load's transaction, builds the
// memo tables it joins.
func (l *loader) dropCleaningTables() error {
	drops := l.dropTempsSQL(func(n string) bool { return n == "sales_pos" || strings.HasPrefix(n, "md_") })
	if drops == "" {
		return nil
	}
	return l.exec("stage", drops)
}

// settle commits what staging ahead wrote so far and goes on in a new
// transaction, so that the next statements read it on every thread (a
// JSON export's records before they are flattened, a joined export's raw
// files before they are joined). Inside the load's transaction (a small
// load, or staging again) it does nothing.
func (l *loader) settle() error {
	if l.stageConn == nil {
		return nil
	}
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("commit staging: %w", err)
	}
	tx, err := l.stageConn.BeginTx(l.ctx, nil)
	if err != nil {
		return fmt.Errorf("begin staging: %w", err)
	}
	l.tx = tx
	return nil
}

// stageHere stages the files in the load's transaction unless stageAhead
// did and no other load took file ids after the ones staged since (a load
// in the same process — DuckDB lets one process write a warehouse; then
// they are staged again here, after the new largest id), and writes the
// files' rows (fileRows) and notes the idle targets.
func (l *loader) stageHere() error {
	if err := l.loadedMeanwhile(); err != nil {
		return err
	}
	var base int64
	if l.stagedAhead {
		var err error
		if base, err = l.count(`SELECT coalesce(max(file_id), 0) FROM etl_file`); err != nil {
			return fmt.Errorf("file id: %w", err)
		}
		if base != l.fileBase {
			l.logf("files staged again: another load took file ids %d–%d since", l.fileBase+1, base)
		}
	}
	t0, step := time.Now(), "files"
	if !l.stagedAhead || base != l.fileBase {
		step = "stage"
		l.raws, l.cleanedAhead, l.salesReleased = nil, false, false
		if err := l.stageFiles(); err != nil {
			return err
		}
	} else if err := l.exec("stage", `CREATE TEMP TABLE ld_reject AS FROM ld_reject_ahead`); err != nil {
		return err
	}
	if l.stagedAhead {
		if err := l.exec("stage", `DROP TABLE ld_reject_ahead`); err != nil {
			return err
		}
	}
	if err := l.fileRows(); err != nil {
		return err
	}
	if err := l.noteIdle(); err != nil {
		return err
	}
	l.traceStep(step, t0)
	return nil
}

// loadedMeanwhile fails the load when a file of it was loaded by another
// run that committed after skipLoaded looked (a load of the same process,
// through the etl API, while this one extracted or staged): loading it
// again would load its lines twice.
func (l *loader) loadedMeanwhile() error {
	if len(l.jobs) == 0 {
		return nil
	}
	var keys []string
	for _, j := range l.jobs {
		keys = append(keys, engine.QuoteString(j.SHA256+j.Source)) // a hash of 64 hex digits, then the source
	}
	var path string
	var run int64
	err := l.tx.QueryRowContext(l.ctx, `SELECT path, run_id FROM etl_file WHERE sha256 || source IN (`+strings.Join(keys, ", ")+`)
		ORDER BY file_id LIMIT 1`).Scan(&path, &run)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("manifest: %w", err)
	}
	return fmt.Errorf("load: %s (the same content) was loaded by run %d while this load ran; nothing of this load was written — run it again, it will skip that file", path, run)
}

// stageFiles creates the per-target staging tables (every canonical field
// as VARCHAR, plus file_id, _line and _item) and reads each extracted file
// into them inside DuckDB.
func (l *loader) stageFiles() error {
	base, err := l.count(`SELECT coalesce(max(file_id), 0) FROM etl_file`)
	if err != nil {
		return fmt.Errorf("file id: %w", err)
	}
	l.fileBase = base
	if err := l.exec("stage", `CREATE OR REPLACE TEMP TABLE ld_reject (file_id BIGINT, line BIGINT, stage VARCHAR, rule VARCHAR,
		severity VARCHAR, column_name VARCHAR, raw_value VARCHAR, raw_record VARCHAR, message VARCHAR,
		ref_run_id BIGINT, ref_file_id BIGINT, ref_line BIGINT)`); err != nil {
		return err
	}
	// Lines whose outcome is "duplicate" although a rule fired on them
	// (see rejectRepeats).
	if err := l.exec("stage", `CREATE OR REPLACE TEMP TABLE ld_skip (file_id BIGINT, line BIGINT)`); err != nil {
		return err
	}
	if err := l.exec("stage", `CREATE OR REPLACE TEMP VIEW ld_err AS
		SELECT DISTINCT file_id, line FROM ld_reject WHERE severity = 'error'`); err != nil {
		return err
	}
	narrow := l.narrowStaging()
	for _, name := range targetNames() {
		t := targets[name]
		cols := []string{"file_id BIGINT", "_line BIGINT", "_item INTEGER"}
		kept, isNarrow := narrow[name]
		for _, f := range t.Fields {
			if !isNarrow || kept[f.Name] {
				cols = append(cols, engine.QuoteIdent(f.Name)+" VARCHAR")
			}
		}
		view := stagedColumns(t, kept)
		if err := l.exec("stage", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s (%s)`, l.stageTable(name), strings.Join(cols, ", "))); err != nil {
			return err
		}
		if isNarrow {
			if err := l.exec("stage", fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW stg_%s AS SELECT %s FROM %s`,
				name, strings.Join(view, ", "), l.stageTable(name))); err != nil {
				return err
			}
		}
	}
	for i, j := range l.jobs {
		j.FileID = base + int64(i) + 1
		if err := l.stageFile(j); err != nil {
			return fmt.Errorf("stage %s: %w", j.Path, err)
		}
		if err := l.insertRejects(j.FileID, j.x.rejects); err != nil {
			return err
		}
		if l.opts.Progress != nil {
			l.opts.Progress(Progress{Step: "stage", File: j.Path, FilesDone: i + 1, Files: len(l.jobs), Elapsed: time.Since(l.start)})
		}
	}
	for i, j := range l.refs {
		j.FileID = -int64(i) - 1
		if err := l.stageRaw(j); err != nil {
			return fmt.Errorf("stage %s: %w", j.Path, err)
		}
	}
	return l.stageDerived()
}

// fileRows creates ld_file, a row per file of the load with its source's
// settings, in the load's transaction. DuckDB takes a table written in the
// reading transaction for empty when it orders joins (its estimate counts
// committed rows only), so the small tables joined to the load's working
// tables — ld_file, ld_reject — are written there too, as every table was
// before stageAhead: committed with the staged lines, ld_file's estimate of
// 2 rows against ~0 for the million cleaned lines made the fact insert
// build its hash table on those (4.4 s of a 10 s statement), and
// ld_reject's made the identity step's read of the valid lines twice as
// slow.
func (l *loader) fileRows() error {
	if err := l.exec("stage", `CREATE OR REPLACE TEMP TABLE ld_file (file_id BIGINT, source VARCHAR, target VARCHAR,
		channel VARCHAR, channel_key INTEGER, customer_required BOOLEAN, path VARCHAR, corrections VARCHAR,
		guests BOOLEAN, cancel_status VARCHAR[], cancel_prefix VARCHAR, cancel_as VARCHAR)`); err != nil {
		return err
	}
	for _, j := range l.jobs {
		channel := j.m.Channel
		corrections := j.m.Corrections
		if corrections == "" {
			corrections = CorrectionsRestate
		}
		required := j.m.Guests == GuestsReject || (j.m.Guests == "" && j.m.Target == "sales" && channel == "web")
		var cancelStatus []string
		var cancelPrefix, cancelAs any
		if c := j.m.Cancelled; c != nil {
			for _, st := range c.Status {
				cancelStatus = append(cancelStatus, strings.ToLower(strings.TrimSpace(st)))
			}
			cancelPrefix, cancelAs = nullable(c.OrderPrefix), c.As
		}
		statusList := sqlStrings(cancelStatus)
		if err := l.exec("stage", `INSERT INTO ld_file SELECT ?, ?, ?, ?, coalesce((SELECT channel_key FROM dim_channel WHERE channel_code = ?), -1), ?, ?, ?,
			?, `+statusList+`, ?, ?`,
			j.FileID, j.Source, j.Target, channel, channel, required, j.Path, corrections,
			j.m.Guests == GuestsGuest, cancelPrefix, cancelAs); err != nil {
			return err
		}
	}
	return nil
}

// narrowStagingBytes is the size of a target's files from which its
// staging table holds only the fields their mappings map (narrowStaging):
// below it the view costs a statement for little.
// (A variable: tests narrow small loads.)
var narrowStagingBytes int64 = 4 << 20

// narrowStaging returns, for each target whose staging table leaves out
// the fields no file of this load maps, the fields it keeps. A field no
// mapping gives is NULL on every staged line: the table stg_<target>_d
// holds the others and the view stg_<target> gives all, those as NULL (a
// million-line order export mapping 12 of the 25 sales fields wrote the
// 13 others' NULLs, ~100 MB, into stg_sales). A load with raw or joined
// sources (whose derived fields are mapped in SQL), and a target with less
// than narrowStagingBytes of files, keep the whole table.
func (l *loader) narrowStaging() map[string]map[string]bool {
	if l.opts.everyStep {
		return nil
	}
	size := map[string]int64{}
	kept := map[string]map[string]bool{}
	for _, j := range append(append([]*fileJob(nil), l.jobs...), l.refs...) {
		if j.m.raw() || j.m.joinOf != nil || len(j.m.Joins) > 0 {
			return nil
		}
		size[j.Target] += j.Size
		if kept[j.Target] == nil {
			kept[j.Target] = map[string]bool{}
		}
		for _, f := range j.m.fields() {
			kept[j.Target][f] = true
		}
	}
	for name := range kept {
		if size[name] < narrowStagingBytes {
			delete(kept, name)
		}
	}
	l.narrowed = kept
	return kept
}

// stagedColumns is the select list of the view stg_<target> over a
// staging table holding the fields of t in kept: the line's id, then every
// field, NULL where not kept (nil keeps none).
func stagedColumns(t *target, kept map[string]bool) []string {
	cols := []string{"file_id", "_line", "_item"}
	for _, f := range t.Fields {
		if kept[f.Name] {
			cols = append(cols, engine.QuoteIdent(f.Name))
		} else {
			cols = append(cols, "NULL::VARCHAR AS "+engine.QuoteIdent(f.Name))
		}
	}
	return cols
}

// stageTable is the table the staged lines of target are inserted into:
// stg_<target>, or stg_<target>_d when narrowStaging narrowed it.
func (l *loader) stageTable(target string) string {
	if _, ok := l.narrowed[target]; ok {
		return "stg_" + target + "_d"
	}
	return "stg_" + target
}

func (l *loader) stageFile(j *fileJob) error {
	fields := j.m.fields()
	quoted := make([]string, len(fields))
	for i, f := range fields {
		quoted[i] = engine.QuoteIdent(f)
	}
	stg := l.stageTable(j.Target)
	if j.m.raw() || j.m.joinOf != nil {
		return l.stageRaw(j)
	}
	if j.x.tmpPath == "" && (j.Format != "parquet" || j.stamp.size == 0) {
		return nil // an export of nothing: no lines to stage
	}
	switch j.Format {
	case "ndjson", "json":
		return l.stageJSON(j, stg)
	case "parquet":
		return l.stageParquet(j, stg)
	}
	spec := []string{"'_line': 'BIGINT'"}
	for _, f := range fields {
		spec = append(spec, engine.QuoteString(f)+": 'VARCHAR'")
	}
	q := fmt.Sprintf(`INSERT INTO %s (file_id, _line, _item, %s)
		SELECT %d, _line, 1, %s FROM read_csv(%s, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
		strict_mode = true, columns = {%s})`,
		stg, strings.Join(quoted, ", "), j.FileID, strings.Join(quoted, ", "), j.x.csvFiles(), strings.Join(spec, ", "))
	return l.exec("stage", q)
}

// jsonPath turns a dotted mapping path into a DuckDB JSON path.
func jsonPath(p string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, seg := range strings.Split(p, ".") {
		b.WriteString(`."` + strings.ReplaceAll(seg, `"`, `\"`) + `"`)
	}
	return engine.QuoteString(b.String())
}

func (l *loader) stageJSON(j *fileJob, stg string) error {
	// DuckDB buffers twice the largest object it expects: the longest
	// record staged, at least 1MB.
	maxObject := max(j.x.longest+1024, 1<<20)
	if err := l.exec("stage", fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE raw_json AS SELECT * FROM read_json(%s,
		format = 'newline_delimited', columns = {'_line': 'BIGINT', 'r': 'JSON'}, maximum_object_size = %d)`,
		engine.QuoteString(j.x.tmpPath), maxObject)); err != nil {
		return err
	}
	if err := l.settle(); err != nil {
		return err
	}
	// One parse per record and per item: json_extract_string with a list
	// of paths returns all fields at once.
	var cols, paths []string
	for _, f := range sortedKeys(j.m.Columns) {
		cols = append(cols, engine.QuoteIdent(f))
		paths = append(paths, jsonPath(j.m.Columns[f].Aliases[0]))
	}
	pick := func(list string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s[%d]", list, i+1)
		}
		return out
	}
	if j.m.Items == "" {
		q := fmt.Sprintf(`INSERT INTO %s (file_id, _line, _item, %s) SELECT %d, _line, 1, %s
			FROM (SELECT _line, json_extract_string(r, [%s]) AS v FROM raw_json)`,
			stg, strings.Join(cols, ", "), j.FileID, strings.Join(pick("v", len(cols)), ", "), strings.Join(paths, ", "))
		if err := l.exec("stage", q); err != nil {
			return err
		}
		return l.exec("stage", `DROP TABLE IF EXISTS raw_json`)
	}
	items := jsonPath(j.m.Items)
	// A record without line items would vanish in the unnest: reject it.
	if err := l.exec("stage", fmt.Sprintf(`INSERT INTO ld_reject `+ledgerColumns+`
		SELECT %d, _line, 'extract', 'items_missing', 'error', %s, NULL, left(CAST(r AS VARCHAR), 4096),
		       'no line items: ' || %s || ' is not a non-empty array'
		FROM raw_json WHERE coalesce(json_type(r, %s), 'NULL') <> 'ARRAY' OR json_array_length(r, %s) = 0`,
		j.FileID, engine.QuoteString(j.m.Items), engine.QuoteString(j.m.Items), items, items)); err != nil {
		return err
	}
	var icols, ipaths []string
	for _, f := range sortedKeys(j.m.ItemColumns) {
		icols = append(icols, engine.QuoteIdent(f))
		ipaths = append(ipaths, jsonPath(j.m.ItemColumns[f].Aliases[0]))
	}
	recList := "[]::VARCHAR[]"
	if len(paths) > 0 {
		recList = "json_extract_string(r, [" + strings.Join(paths, ", ") + "])"
	}
	q := fmt.Sprintf(`INSERT INTO %s (file_id, _line, _item, %s)
		SELECT %d, _line, i, %s FROM (
			SELECT _line, v, i, json_extract_string(items[i], [%s]) AS iv FROM (
				SELECT _line, v, items, unnest(range(1, len(items) + 1)) AS i FROM (
					SELECT _line, %s AS v, CAST(json_extract(r, %s) AS JSON[]) AS items FROM raw_json
					WHERE json_type(r, %s) = 'ARRAY' AND json_array_length(r, %s) > 0)))`,
		stg, strings.Join(append(cols, icols...), ", "), j.FileID,
		strings.Join(append(pick("v", len(cols)), pick("iv", len(icols))...), ", "),
		strings.Join(ipaths, ", "), recList, items, items, items)
	if err := l.exec("stage", q); err != nil {
		return err
	}
	return l.exec("stage", `DROP TABLE IF EXISTS raw_json`)
}

func (l *loader) stageParquet(j *fileJob, stg string) error {
	src := fmt.Sprintf("read_parquet(%s)", engine.QuoteString(j.Path))
	rows, err := l.tx.QueryContext(l.ctx, "DESCRIBE SELECT * FROM "+src)
	if err != nil {
		return fmt.Errorf("read Parquet schema: %w", err)
	}
	var header []string
	for rows.Next() {
		var name, typ string
		var a, b, c, d any
		if err := rows.Scan(&name, &typ, &a, &b, &c, &d); err != nil {
			rows.Close()
			return err
		}
		header = append(header, name)
	}
	rows.Close()
	cols, err := mapColumns(header, j.m)
	if err != nil {
		return fmt.Errorf("columns: %w", err)
	}
	var names, exprs []string
	for _, f := range j.m.fields() {
		if i := cols[f]; i >= 0 {
			names = append(names, engine.QuoteIdent(f))
			exprs = append(exprs, "CAST("+engine.QuoteIdent(header[i])+" AS VARCHAR)")
		}
	}
	n, err := l.count("SELECT count(*) FROM " + src)
	if err != nil {
		return err
	}
	j.x.records, j.Read = n, n
	// Line numbers are row positions in the file (from 1), whatever order DuckDB scans it in.
	numbered := fmt.Sprintf("read_parquet(%s, file_row_number = true)", engine.QuoteString(j.Path))
	return l.exec("stage", fmt.Sprintf(`INSERT INTO %s (file_id, _line, _item, %s) SELECT %d, file_row_number + 1, 1, %s FROM %s`,
		stg, strings.Join(names, ", "), j.FileID, strings.Join(exprs, ", "), numbered))
}

func sortedKeys(m map[string]Column) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// insertRejects records extract-stage rejects of one file.
func (l *loader) insertRejects(fileID int64, rs []reject) error {
	const batch = 200
	for i := 0; i < len(rs); i += batch {
		end := min(i+batch, len(rs))
		var ph []string
		var args []any
		for _, r := range rs[i:end] {
			ph = append(ph, "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, fileID, r.line, r.stage, r.rule, r.severity, nullable(r.column), nullable(r.value), r.record, r.message)
		}
		if err := l.exec("stage", "INSERT INTO ld_reject "+ledgerColumns+" VALUES "+strings.Join(ph, ", "), args...); err != nil {
			return err
		}
	}
	return nil
}

// sqlStrings is a SQL list literal of the strings ss (VARCHAR[], also
// when empty).
func sqlStrings(ss []string) string {
	if len(ss) == 0 {
		return "[]::VARCHAR[]"
	}
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = engine.QuoteString(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dropTemps drops the load's temporary views and tables (the connection
// goes back to the pool), in one statement: the ones its statements made
// (noteTemps), views first.
func (l *loader) dropTemps() error {
	drops := l.dropTempsSQL(nil)
	if drops == "" {
		return nil
	}
	l.temps, l.tempOrder = nil, nil
	return l.exec("cleanup", drops)
}

// dropTempsSQL is a statement dropping the load's TEMP objects that only
// (nil: all) picks, views first ("" when there is none).
func (l *loader) dropTempsSQL(only func(name string) bool) string {
	var drops []string
	for _, kind := range []string{"VIEW", "TABLE"} {
		for _, n := range l.tempOrder {
			if l.temps[n] == kind && (only == nil || only(n)) {
				drops = append(drops, "DROP "+kind+" IF EXISTS temp."+engine.QuoteIdent(n))
			}
		}
	}
	return strings.Join(drops, "; ")
}

// traceStep writes the time of a step begun at t0 to opts.Trace, and the
// CPU time the process used in it (all threads: DuckDB's too) since the
// trace's last step line.
func (l *loader) traceStep(step string, t0 time.Time) {
	if l.opts.Trace != nil {
		fmt.Fprintf(l.opts.Trace, "%8.3fs %s%s\n", time.Since(t0).Seconds(), step, l.cpuSinceLast())
	}
}

// cpuSinceLast is " cpu N.NNNs": the process's CPU time since the last
// call ("" where it cannot be read).
func (l *loader) cpuSinceLast() string {
	now, ok := ProcessCPU()
	if !ok {
		return ""
	}
	d := now - l.cpuMark
	l.cpuMark = now
	return fmt.Sprintf(" cpu %.3fs", d.Seconds())
}
