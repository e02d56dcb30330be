package mining

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ckm-dev/ckm/engine"
)

// An opRun is one run of an operator: the skeleton every operator shares.
// It holds the operator's kind (the prefix of its errors and its kb_model
// kind), the warehouse, the source (defaults applied, the operator's roles
// checked) and the one connection its temp tables live on; close drops them.
//
//	run, err := startRun(ctx, w, "rfm", o.Source, purchaseRoles...)
//	if err != nil { return nil, err }
//	defer run.close()
//	if err := run.temp(ctx, "ckm_rfm_scores", query); err != nil { return nil, run.fail(err) }
//	…
//	res.ModelID, err = run.save(ctx, rec, scoresWrite(asOf, scoresSQL))
type opRun struct {
	kind  string
	w     *engine.Warehouse
	src   Source
	conn  *sql.Conn
	temps []string
}

// startRun checks the source's roles and opens the run's connection; errors
// name the operator.
func startRun(ctx context.Context, w *engine.Warehouse, kind string, src Source, roles ...Role) (*opRun, error) {
	if err := src.require(ctx, w.DB, roles...); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return &opRun{kind: kind, w: w, src: src, conn: conn}, nil
}

// fail prefixes err with the operator's kind.
func (r *opRun) fail(err error) error { return fmt.Errorf("%s: %w", r.kind, err) }

// temp creates (or replaces) the temp table name as query on the run's
// connection; close drops it.
func (r *opRun) temp(ctx context.Context, name, query string) error {
	r.temps = append(r.temps, name)
	_, err := r.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+name+" AS "+query)
	return err
}

// save fills the record's kind and lineage and persists it with the writes
// in one transaction, returning the model id.
func (r *opRun) save(ctx context.Context, rec modelRecord, writes ...kbWrite) (int64, error) {
	if rec.Kind == "" {
		rec.Kind = r.kind
	}
	if err := rec.lineage(ctx, r.w, r.src); err != nil {
		return 0, r.fail(err)
	}
	id, err := persist(ctx, r.conn, rec, writes...)
	if err != nil {
		return 0, r.fail(err)
	}
	return id, nil
}

// close drops the run's temp tables (even when ctx is cancelled) and
// closes its connection.
func (r *opRun) close() {
	ctx := context.Background()
	for _, t := range r.temps {
		r.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+t)
	}
	r.conn.Close()
}
