package etl

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ckm-dev/ckm/etl/clean"
)

// The identity step's components are found in Go, over the edges as DuckDB
// hands them to two SQL functions a vector at a time (registerLabelFuncs):
//
//	ckm_label_edge(graph, a, b) BOOLEAN  joins keys a and b (true)
//	ckm_label_of(graph, kid)    BIGINT   the least key of kid's component
//
// graph is a handle labelComponents makes for one propagation and drops
// after it. The functions act outside their query, so the analyst sandbox
// refuses them (shell.sandboxDeniedFunctions); a handle is random, so a
// session cannot reach a load's graph by guessing either.
//
// Rounds of SQL (labelRound: three statements and a count a round, as
// many rounds as the longest chain of records needs) took 4.2 s of the
// 5 M-line bench set's load in five rounds over the strong and the
// accepted edges (CKM_DEBUG_SQL=1, one run); the two propagations here
// 0.54 s (the edges 0.13 and 0.30 s, the window that finds each record's
// least key included; the labels 0.04 and 0.07 s), 0.64 s in a busier run.
// A Go map from each record to its first key, instead of the window, was
// as fast on 1.5 M test edges, took 1.3 s at 5 M (a busier run), and held
// Go memory the load's limit does not count. A small load's graph was labelled
// in Go before, read a row at a time: the same statements now serve every
// size.

// labelGraph is a union-find over a graph's keys. Keys are id_key's kid,
// numbered 1…n, so a key's parent is an index; a component's root is its
// least key, which is its label (as the rounds of SQL, which start from
// each key labelled with itself, end).
type labelGraph struct {
	mu     sync.Mutex
	parent []int64 // 0: the key is in no edge (its own root)
}

// maxLabelKey bounds a key id: id_key numbers its keys from 1, one per
// distinct identifier of the load and the earlier records it meets.
const maxLabelKey = 1 << 31

var labelGraphs sync.Map // handle (int64) → *labelGraph

func newLabelGraph() (int64, *labelGraph, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, nil, err
	}
	h := int64(binary.LittleEndian.Uint64(b[:]) >> 1)
	g := &labelGraph{}
	labelGraphs.Store(h, g)
	return h, g, nil
}

func (g *labelGraph) root(k int64) int64 {
	for {
		p := g.parent[k]
		if p == 0 || p == k {
			return k
		}
		pp := g.parent[p]
		if pp == 0 || pp == p {
			return p
		}
		g.parent[k] = pp // path halving
		k = pp
	}
}

// join joins keys a and b.
func (g *labelGraph) join(a, b int64) error {
	for _, k := range [2]int64{a, b} {
		if k < 1 || k >= maxLabelKey {
			return fmt.Errorf("key id %d out of range", k)
		}
		if int(k) >= len(g.parent) {
			grown := make([]int64, max(int(k)+1, 2*len(g.parent)))
			copy(grown, g.parent)
			g.parent = grown
		}
	}
	a, b = g.root(a), g.root(b)
	if a != b {
		g.parent[max(a, b)] = min(a, b)
	}
	g.parent[min(a, b)] = min(a, b)
	return nil
}

// settle points every key at its root, so that reads need no lock.
func (g *labelGraph) settle() {
	for k := range g.parent {
		if g.parent[k] != 0 {
			g.parent[k] = g.root(int64(k))
		}
	}
}

func (g *labelGraph) label(kid int64) int64 {
	if kid < 1 || int(kid) >= len(g.parent) || g.parent[kid] == 0 {
		return kid
	}
	return g.parent[kid]
}

func labelGraphOf(v any) (*labelGraph, error) {
	h, _ := v.(int64)
	g, ok := labelGraphs.Load(h)
	if !ok {
		return nil, fmt.Errorf("no identity graph %v", v)
	}
	return g.(*labelGraph), nil
}

// labelUDF is a graph function over whole input chunks: the graph's
// handle, then args BIGINT keys; each row's result is apply's. Those that
// change the graph (lock) hold its lock for the chunk.
type labelUDF struct {
	name  string
	args  int
	out   duckdb.Type
	lock  bool
	apply func(g *labelGraph, keys []int64) (any, error)
}

func (u *labelUDF) Config() duckdb.ScalarFuncConfig {
	bigint, _ := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	out, _ := duckdb.NewTypeInfo(u.out)
	in := []duckdb.TypeInfo{bigint}
	for range u.args {
		in = append(in, bigint)
	}
	return duckdb.ScalarFuncConfig{InputTypeInfos: in, ResultTypeInfo: out, Volatile: true}
}

func (u *labelUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{ChunkContextExecutor: u.run, ScalarBinder: clean.BindContext}
}

func (u *labelUDF) run(_ context.Context, state *duckdb.ChunkIteratorState) error {
	chunk := state.GetInputChunk()
	n := chunk.GetSize()
	if n == 0 {
		return nil
	}
	hv, err := chunk.GetValue(0, 0)
	if err != nil {
		return err
	}
	g, err := labelGraphOf(hv)
	if err != nil {
		return fmt.Errorf("%s: %w", u.name, err)
	}
	if u.lock {
		g.mu.Lock()
		defer g.mu.Unlock()
	}
	out := state.GetResultVector()
	keys := make([]int64, u.args)
	for row := range n {
		for i := range keys {
			v, err := chunk.GetValue(1+i, row)
			if err != nil {
				return err
			}
			k, ok := v.(int64)
			if !ok {
				return fmt.Errorf("%s: key %v is not a BIGINT", u.name, v)
			}
			keys[i] = k
		}
		res, err := u.apply(g, keys)
		if err != nil {
			return fmt.Errorf("%s: %w", u.name, err)
		}
		if err := duckdb.SetVectorValue(out, row, res); err != nil {
			return err
		}
	}
	return nil
}

// registerLabelFuncs registers ckm_label_edge and ckm_label_of on conn's
// database.
func registerLabelFuncs(_ context.Context, conn *sql.Conn) error {
	for _, f := range []*labelUDF{
		{name: "ckm_label_edge", args: 2, out: duckdb.TYPE_BOOLEAN, lock: true, apply: func(g *labelGraph, k []int64) (any, error) {
			return true, g.join(k[0], k[1])
		}},
		{name: "ckm_label_of", args: 1, out: duckdb.TYPE_BIGINT, apply: func(g *labelGraph, k []int64) (any, error) {
			return g.label(k[0]), nil
		}},
	} {
		if err := duckdb.RegisterScalarUDF(conn, f.name, f); err != nil {
			return err
		}
	}
	return nil
}
