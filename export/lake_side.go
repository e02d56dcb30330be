package export

import (
	"context"
	dbsql "database/sql"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// An incremental export reads the warehouse on two connections at once:
// the masked tables that are not partitioned (dim_customer: four look-ups
// of its tokens per row, then one Parquet file written whole) go on a
// second connection while the first goes through the others. Their work
// is mostly one thread each (dim_customer's 75,660 rows are one DuckDB
// row group), and on a warehouse just opened the fact tables wait for the
// storage warm-up anyway.
//
// Both connections must read one snapshot. DuckDB cannot share a
// transaction between connections, but it numbers transaction starts and
// commits from one counter: a transaction sees the commits numbered
// before its start. When the second connection's transaction starts at
// the number right after the first's, no commit was numbered between
// them, and the two see the same data. Otherwise (another connection of
// the process started a transaction or committed in between) the export
// reads everything on the first connection, as before.

// lakeSide is the export's second connection, in a transaction that
// reads the same snapshot as the first's.
type lakeSide struct {
	conn *dbsql.Conn
}

// lakeBetweenPins, set by tests, runs between the start of the export's
// transaction and the second connection's.
var lakeBetweenPins func()

// pinSide starts a transaction on a second connection of db and keeps it
// when it provably reads the same snapshot as first's transaction (which
// must have read the warehouse already); nil, nil when it does not.
func pinSide(ctx context.Context, db *dbsql.DB, first *dbsql.Conn) (*lakeSide, error) {
	var a, b int64
	if err := first.QueryRowContext(ctx, "SELECT txid_current()").Scan(&a); err != nil {
		return nil, err
	}
	if lakeBetweenPins != nil {
		lakeBetweenPins()
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		conn.Close()
		return nil, err
	}
	s := &lakeSide{conn: conn}
	if err := conn.QueryRowContext(ctx, "SELECT txid_current()").Scan(&b); err != nil {
		s.close()
		return nil, err
	}
	if b != a+1 {
		s.close()
		return nil, nil
	}
	return s, nil
}

func (s *lakeSide) close() {
	if s == nil || s.conn == nil {
		return
	}
	s.conn.ExecContext(context.Background(), "ROLLBACK")
	s.conn.Close()
	s.conn = nil
}

// onSide tells whether an incremental export exports t on the second
// connection: a masked table that is not partitioned (its check writes
// the table and fingerprints the file) and is in the lake already (the
// catalog is only read, not created in, beside the first connection).
func onSide(ctx context.Context, cat *lakeCatalog, read readTables, t lakeTable) (bool, error) {
	if !t.masked || partitioned(t) {
		return false, nil
	}
	_, err := cat.table(ctx, read, table.Identifier{LakeNamespace, t.name})
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return false, nil
	}
	return err == nil, err
}

// sideRun is the second connection's share of an export, running.
type sideRun struct {
	done    chan struct{}
	idx     []int
	results []*LakeTableResult
	commits []*table.TableCommit
	err     error
	at      time.Time // when it finished
}

// runSide exports tables[idx...] on the side's connection. Its sources are
// its own over the catalog the first connection read (40–50 ms to read
// again at 5 M lines; sibling), without the fact tables' kept row-group
// hashes (lakeBase: the first connection's alone); the manifest cache is
// shared (it locks), and the table metadata read so far is copied (the
// side's tables are in it: onSide read them, and it adds none).
func runSide(ctx context.Context, side *lakeSide, cat *lakeCatalog, dir string, tables []lakeTable, idx []int, job lakeTableJob) *sideRun {
	r := &sideRun{done: make(chan struct{}), idx: idx, results: make([]*LakeTableResult, len(idx)),
		commits: make([]*table.TableCommit, len(idx))}
	job.src = job.src.sibling(side.conn, &lakeBase{before: map[string]*lakeBaseState{}, after: map[string]string{}})
	job.read, job.written = maps.Clone(job.read), map[string]*lakeWritten{}
	go func() {
		defer close(r.done)
		defer func() { r.at = time.Now() }()
		for n, i := range idx {
			tr, tc, _, err := exportLakeTable(ctx, side.conn, cat, dir, tables[i], job)
			if err != nil {
				r.err = fmt.Errorf("table %s: %w", tables[i].name, err)
				return
			}
			r.results[n], r.commits[n] = tr, tc
		}
	}()
	return r
}

// join waits for the run (nil: none), puts its tables' results in res
// (and when it finished, from started) and appends their commits.
func (r *sideRun) join(res *LakeResult, commits []table.TableCommit, started time.Time) ([]table.TableCommit, error) {
	if r == nil {
		return commits, nil
	}
	<-r.done
	if r.err != nil {
		return nil, r.err
	}
	for n, i := range r.idx {
		res.Tables[i] = *r.results[n]
		if r.commits[n] != nil {
			commits = append(commits, *r.commits[n])
		}
	}
	res.SideMS = float64(r.at.Sub(started).Microseconds()) / 1000
	return commits, nil
}
