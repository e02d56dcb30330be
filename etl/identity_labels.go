package etl

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/duckdb/duckdb-go/v2"
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
// 1.3 s, the window that finds each record's least key included. A small
// load's graph was labelled in Go before, read a row at a time: the same
// statements now serve every size.

// labelGraph is a union-find over a graph's keys. Keys are id_key's kid,
// numbered 1…n, so a key's parent is an index; a component's root is its
// least key, which is its label (id_lab starts as kid → kid).
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
			return fmt.Errorf("ckm_label_edge: key id %d out of range", k)
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

// labelEdgeUDF is ckm_label_edge over whole input chunks.
type labelEdgeUDF struct{ in []duckdb.TypeInfo }

func (u *labelEdgeUDF) Config() duckdb.ScalarFuncConfig {
	boolean, _ := duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
	return duckdb.ScalarFuncConfig{InputTypeInfos: u.in, ResultTypeInfo: boolean, Volatile: true}
}

func (u *labelEdgeUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{ChunkContextExecutor: u.run, ScalarBinder: labelBind}
}

func labelBind(parent context.Context, _ []duckdb.ScalarUDFArg) (context.Context, error) {
	if parent == nil {
		return context.Background(), nil
	}
	return parent, nil
}

func (u *labelEdgeUDF) run(_ context.Context, state *duckdb.ChunkIteratorState) error {
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
		return fmt.Errorf("ckm_label_edge: %w", err)
	}
	out := state.GetResultVector()
	g.mu.Lock()
	defer g.mu.Unlock()
	for row := range n {
		av, err := chunk.GetValue(1, row)
		if err != nil {
			return err
		}
		bv, err := chunk.GetValue(2, row)
		if err != nil {
			return err
		}
		a, ok1 := av.(int64)
		b, ok2 := bv.(int64)
		if !ok1 || !ok2 {
			return fmt.Errorf("ckm_label_edge: keys %v, %v: not both BIGINT", av, bv)
		}
		if err := g.join(a, b); err != nil {
			return err
		}
		if err := duckdb.SetVectorValue(out, row, true); err != nil {
			return err
		}
	}
	return nil
}

// labelOfUDF is ckm_label_of over whole input chunks; it only reads a
// settled graph.
type labelOfUDF struct{ in []duckdb.TypeInfo }

func (u *labelOfUDF) Config() duckdb.ScalarFuncConfig {
	bigint, _ := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	return duckdb.ScalarFuncConfig{InputTypeInfos: u.in, ResultTypeInfo: bigint, Volatile: true}
}

func (u *labelOfUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{ChunkContextExecutor: u.run, ScalarBinder: labelBind}
}

func (u *labelOfUDF) run(_ context.Context, state *duckdb.ChunkIteratorState) error {
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
		return fmt.Errorf("ckm_label_of: %w", err)
	}
	out := state.GetResultVector()
	for row := range n {
		kv, err := chunk.GetValue(1, row)
		if err != nil {
			return err
		}
		kid, ok := kv.(int64)
		if !ok {
			return fmt.Errorf("ckm_label_of: key %v: not a BIGINT", kv)
		}
		if err := duckdb.SetVectorValue(out, row, g.label(kid)); err != nil {
			return err
		}
	}
	return nil
}

// registerLabelFuncs registers ckm_label_edge and ckm_label_of on conn's
// database.
func registerLabelFuncs(_ context.Context, conn *sql.Conn) error {
	bigint, err := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	if err != nil {
		return err
	}
	if err := duckdb.RegisterScalarUDF(conn, "ckm_label_edge", &labelEdgeUDF{in: []duckdb.TypeInfo{bigint, bigint, bigint}}); err != nil {
		return err
	}
	return duckdb.RegisterScalarUDF(conn, "ckm_label_of", &labelOfUDF{in: []duckdb.TypeInfo{bigint, bigint}})
}
