package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// AssignSQL returns a DuckDB expression giving the 0-based segment of a row
// whose raw features are in the named columns (or macro parameters), in the
// model's feature order. It evaluates exactly what Assign does — each value
// cast to DOUBLE, (x − mean) / scale − centroid, squared, summed feature by
// feature, the first minimum winning — with every constant written as the
// shortest decimal that round-trips and read back as DOUBLE, so its result
// equals Assign's on every row. A row with a NULL, NaN or infinite feature
// gets NULL (Assign refuses it).
func (m Model) AssignSQL(columns []string) (string, error) {
	if err := m.Check(); err != nil {
		return "", err
	}
	if len(columns) != len(m.Scaling.Mean) {
		return "", fmt.Errorf("cluster: %d columns for %d features", len(columns), len(m.Scaling.Mean))
	}
	cols := make([]string, len(columns))
	guards := make([]string, len(columns))
	for j, c := range columns {
		if c == "" {
			return "", fmt.Errorf("cluster: feature %d has an empty column name", j)
		}
		cols[j] = "CAST(" + quoteIdent(c) + " AS DOUBLE)"
		guards[j] = "isfinite(" + cols[j] + ")"
	}
	dists := make([]string, len(m.Centroids))
	for c, cent := range m.Centroids {
		terms := make([]string, len(cols))
		for j, col := range cols {
			t := fmt.Sprintf("((%s - %s) / %s - %s)", col, doubleLit(m.Scaling.Mean[j]), doubleLit(m.Scaling.Scale[j]), doubleLit(cent[j]))
			terms[j] = t + " * " + t
		}
		dists[c] = "(" + strings.Join(terms, " + ") + ")"
	}
	list := "[" + strings.Join(dists, ", ") + "]"
	return fmt.Sprintf("CASE WHEN %s THEN list_position(%s, list_min(%s)) - 1 END",
		strings.Join(guards, " AND "), list, list), nil
}

// doubleLit writes v so DuckDB reads back the same float64: a string cast,
// never a DECIMAL literal (DuckDB types 0.1 as DECIMAL(2,1)).
func doubleLit(v float64) string {
	return "CAST('" + strconv.FormatFloat(v, 'g', -1, 64) + "' AS DOUBLE)"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
