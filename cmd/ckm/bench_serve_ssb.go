package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ckm-dev/ckm/fixtures/ssb"
)

// ssbWireQuery is one SSB query of ckm bench serve: the median time of
// each way of running it over the rounds.
type ssbWireQuery struct {
	Name           string  `json:"name"`
	Rows           int     `json:"rows"`
	InProcessMS    float64 `json:"in_process_ms"`
	WireExtendedMS float64 `json:"wire_extended_ms"`
	WireSimpleMS   float64 `json:"wire_simple_ms"`
	ExtendedRatio  float64 `json:"extended_ratio"` // wire_extended_ms / in_process_ms
	SimpleRatio    float64 `json:"simple_ratio"`   // wire_simple_ms / in_process_ms
}

// ssbWireResult is the SSB part of ckm bench serve.
type ssbWireResult struct {
	SF              float64        `json:"sf"`
	LineorderRows   int64          `json:"lineorder_rows"`
	GenerateSeconds float64        `json:"generate_seconds"`
	Rounds          int            `json:"rounds"`
	Queries         []ssbWireQuery `json:"queries"`
	// The sums over the 13 queries of each way's median.
	InProcessMS    float64 `json:"in_process_ms"`
	WireExtendedMS float64 `json:"wire_extended_ms"`
	WireSimpleMS   float64 `json:"wire_simple_ms"`
	// WireOverheadRatio is WireExtendedMS / InProcessMS (goal ≤ 1.10 at
	// SF 1); WireSimpleRatio the same with the simple protocol.
	WireOverheadRatio float64 `json:"wire_overhead_ratio"`
	WireSimpleRatio   float64 `json:"wire_simple_ratio"`
	Loadavg           any     `json:"loadavg"`
}

// ssbRun runs one query one way and returns its rows as exact cell keys.
type ssbRun func(ctx context.Context, query string) ([][]string, error)

// ssbInProcess runs queries on conn, a database/sql connection to the
// warehouse (no server).
func ssbInProcess(conn *sql.Conn) ssbRun {
	return func(ctx context.Context, query string) ([][]string, error) {
		rows, err := conn.QueryContext(ctx, query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return nil, err
		}
		var out [][]string
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			row := make([]string, len(vals))
			for i, v := range vals {
				row[i] = exactCell(v)
			}
			out = append(out, row)
		}
		return out, rows.Err()
	}
}

// ssbWire runs queries on c, one persistent pgx connection to the server.
func ssbWire(c *pgx.Conn) ssbRun {
	return func(ctx context.Context, query string) ([][]string, error) {
		rows, err := c.Query(ctx, query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				return nil, err
			}
			row := make([]string, len(vals))
			for i, v := range vals {
				row[i] = exactCell(v)
			}
			out = append(out, row)
		}
		return out, rows.Err()
	}
}

// exactCell prints a cell so that the same value reads the same whichever
// way it came: integers of any width, DuckDB's HUGEINT (*big.Int) and
// DECIMAL and PostgreSQL's numeric all as exact decimals, nothing rounded.
func exactCell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return fmt.Sprint(x)
	case *big.Int:
		return x.String()
	case duckdb.Decimal:
		return exactDecimal(x.Value, -int32(x.Scale))
	case pgtype.Numeric:
		if x.NaN || !x.Valid || x.InfinityModifier != pgtype.Finite {
			return fmt.Sprintf("numeric(%+v)", x)
		}
		return exactDecimal(x.Int, x.Exp)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case string:
		return strconv.Quote(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// exactDecimal prints i × 10^exp without trailing zeros after the point.
func exactDecimal(i *big.Int, exp int32) string {
	if i == nil {
		return "NULL"
	}
	if exp >= 0 {
		return new(big.Int).Mul(i, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)).String()
	}
	s := new(big.Int).Abs(i).String()
	scale := int(-exp)
	for len(s) <= scale {
		s = "0" + s
	}
	s = strings.TrimRight(s[:len(s)-scale]+"."+s[len(s)-scale:], "0")
	s = strings.TrimSuffix(s, ".")
	if i.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// ssbRowsDiff is "" when a and b hold the same rows in the same order,
// else where they first differ.
func ssbRowsDiff(a, b [][]string) string {
	for i := range min(len(a), len(b)) {
		if x, y := strings.Join(a[i], " | "), strings.Join(b[i], " | "); x != y {
			return fmt.Sprintf("row %d: (%s) against (%s)", i+1, y, x)
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d rows against %d", len(b), len(a))
	}
	return ""
}

// benchServeSSB times queries (the 13 SSB queries) each way over rounds
// rounds after one untimed round: in process on conn, and over one
// persistent pgx connection each to the server at addr with the extended
// and the simple protocol. In each round every query runs each way in
// turn, the way that goes first rotating, so the machine's other work
// falls on each alike. Every answer over the wire must equal the
// in-process one row for row, else it fails.
func benchServeSSB(ctx context.Context, conn *sql.Conn, addr string, queries []ssb.Query, rounds int) ([]ssbWireQuery, error) {
	names := []string{"in process", "wire extended", "wire simple"}
	runs := []ssbRun{ssbInProcess(conn)}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://bench:bench@%s/ckm?sslmode=disable", addr))
		if err != nil {
			return nil, err
		}
		cfg.DefaultQueryExecMode = mode
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer c.Close(ctx)
		runs = append(runs, ssbWire(c))
	}
	times := make([][][]time.Duration, len(queries)) // query, way, round
	nrows := make([]int, len(queries))
	for qi := range queries {
		times[qi] = make([][]time.Duration, len(runs))
	}
	for r := -1; r < rounds; r++ {
		for qi, q := range queries {
			got := make([][][]string, len(runs))
			for k := range runs {
				s := (k + r + 1) % len(runs)
				t0 := time.Now()
				rows, err := runs[s](ctx, q.SQL)
				d := time.Since(t0)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", q.Name, names[s], err)
				}
				got[s] = rows
				if r >= 0 {
					times[qi][s] = append(times[qi][s], d)
				}
			}
			for s := 1; s < len(runs); s++ {
				if diff := ssbRowsDiff(got[0], got[s]); diff != "" {
					return nil, fmt.Errorf("%s: %s answered differently from in process: %s", q.Name, names[s], diff)
				}
			}
			nrows[qi] = len(got[0])
		}
	}
	out := make([]ssbWireQuery, len(queries))
	for qi, q := range queries {
		m := func(s int) float64 { return ms(median(times[qi][s])) }
		out[qi] = ssbWireQuery{Name: q.Name, Rows: nrows[qi], InProcessMS: m(0), WireExtendedMS: m(1), WireSimpleMS: m(2)}
		out[qi].ExtendedRatio = out[qi].WireExtendedMS / out[qi].InProcessMS
		out[qi].SimpleRatio = out[qi].WireSimpleMS / out[qi].InProcessMS
	}
	return out, nil
}

// ssbWireSummary sums the per-query medians into the result.
func ssbWireSummary(sf float64, lines int64, gen time.Duration, rounds int, qs []ssbWireQuery) ssbWireResult {
	r := ssbWireResult{SF: sf, LineorderRows: lines, GenerateSeconds: gen.Seconds(), Rounds: rounds, Queries: qs}
	for _, q := range qs {
		r.InProcessMS += q.InProcessMS
		r.WireExtendedMS += q.WireExtendedMS
		r.WireSimpleMS += q.WireSimpleMS
	}
	r.WireOverheadRatio = r.WireExtendedMS / r.InProcessMS
	r.WireSimpleRatio = r.WireSimpleMS / r.InProcessMS
	return r
}
