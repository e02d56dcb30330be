package olap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ckm-dev/ckm/engine"
)

// Result is the answer to a query: columns, rows, and how it was computed.
type Result struct {
	Compiled
	Data     [][]any       `json:"data"`
	Cached   bool          `json:"cached"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Version  int64         `json:"data_version"`
	CacheKey string        `json:"-"`
}

// Executor runs cube queries on a warehouse, routing them to fresh rollups
// and caching results by model hash, canonical query and data version.
type Executor struct {
	W     *engine.Warehouse
	Model *Model
	// CacheSize bounds the result cache (0: no cache).
	CacheSize int
	// NoLog turns off the query log that Advise reads.
	NoLog bool
	// LogErr is the last error writing the query log, if any.
	LogErr error

	mu    sync.Mutex
	cache map[string]*Result
	order []string
	// validated remembers cubes checked against this warehouse.
	validated map[string]error
}

// NewExecutor returns an executor with a 256-entry result cache.
func NewExecutor(w *engine.Warehouse, m *Model) *Executor {
	return &Executor{W: w, Model: m, CacheSize: 256, cache: map[string]*Result{}, validated: map[string]error{}}
}

// Validate checks cube against the warehouse catalog once per executor.
func (e *Executor) Validate(ctx context.Context, c *Cube) error {
	e.mu.Lock()
	err, done := e.validated[c.Name]
	e.mu.Unlock()
	if done {
		return err
	}
	err = Validate(ctx, e.W.DB, c)
	e.mu.Lock()
	e.validated[c.Name] = err
	e.mu.Unlock()
	return err
}

// Plan validates the cube and compiles q, routing to fresh rollups.
func (e *Executor) Plan(ctx context.Context, q Query) (*Compiled, int64, error) {
	c, err := e.Model.Cube(q.Cube)
	if err != nil {
		return nil, 0, err
	}
	if err := e.Validate(ctx, c); err != nil {
		return nil, 0, err
	}
	version, err := e.W.DataVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	avail, err := AvailableRollups(ctx, e.W.DB, c, version)
	if err != nil {
		return nil, 0, err
	}
	p, err := Plan(c, q, avail)
	return p, version, err
}

// CacheKey is the result cache key of q on cube c at a data version.
func CacheKey(c *Cube, q Query, version int64) string {
	canon, _ := json.Marshal(q) // struct fields marshal in a fixed order
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d", ModelHash(c), canon, version)
	return hex.EncodeToString(h.Sum(nil))
}

// Query answers q, from the cache when the same query was answered at the
// same data version.
func (e *Executor) Query(ctx context.Context, q Query) (*Result, error) {
	start := time.Now()
	p, version, err := e.Plan(ctx, q)
	if err != nil {
		return nil, err
	}
	c, _ := e.Model.Cube(q.Cube)
	key := CacheKey(c, q, version)
	if e.CacheSize > 0 {
		e.mu.Lock()
		hit := e.cache[key]
		e.mu.Unlock()
		if hit != nil {
			r := *hit
			r.Cached = true
			r.Elapsed = time.Since(start)
			return &r, nil
		}
	}
	data, err := Run(ctx, e.W, p.SQL, p.Args)
	if err != nil {
		return nil, fmt.Errorf("cube %s: %w", q.Cube, err)
	}
	r := &Result{Compiled: *p, Data: data, Version: version, CacheKey: key, Elapsed: time.Since(start)}
	if !e.W.ReadOnly && !e.NoLog {
		// The log feeds `ckm cube advise`; a failure to write it must not
		// fail the query, so it is kept for the caller to inspect.
		e.LogErr = LogQuery(ctx, e.W.DB, c, q, p.Rollup, r.Elapsed)
	}
	if e.CacheSize > 0 {
		e.mu.Lock()
		if _, ok := e.cache[key]; !ok {
			e.cache[key] = r
			e.order = append(e.order, key)
			if len(e.order) > e.CacheSize {
				delete(e.cache, e.order[0])
				e.order = e.order[1:]
			}
		}
		e.mu.Unlock()
	}
	return r, nil
}

// Run executes SQL with args and returns all rows, with DuckDB's HUGEINT
// and DECIMAL values turned into plain Go numbers and strings.
func Run(ctx context.Context, w *engine.Warehouse, query string, args []any) ([][]any, error) {
	rows, err := w.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			vals[i] = plainValue(v)
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

func plainValue(v any) any {
	switch x := v.(type) {
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case duckdb.Decimal:
		// A JSON number that keeps every digit.
		return json.Number(decimalString(x))
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02 15:04:05")
	}
	return v
}

// decimalString renders a DECIMAL exactly.
func decimalString(d duckdb.Decimal) string {
	s := new(big.Int).Abs(d.Value).String()
	neg := d.Value.Sign() < 0
	if d.Scale > 0 {
		for len(s) <= int(d.Scale) {
			s = "0" + s
		}
		s = s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Refresh rebuilds the named rollups of cube (all when none are named) in
// one transaction.
func (e *Executor) Refresh(ctx context.Context, cube string, names []string) error {
	c, err := e.Model.Cube(cube)
	if err != nil {
		return err
	}
	if err := e.Validate(ctx, c); err != nil {
		return err
	}
	tx, err := e.W.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := RefreshCubeRollups(ctx, tx, c, names); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
