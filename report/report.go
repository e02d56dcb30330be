package report

import (
	"bufio"
	"context"
	dbsql "database/sql"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// Options configure a report.
type Options struct {
	// AsOf is the last day the report covers (zero: the last day with
	// sales). Facts after it are left out; the knowledge base is shown as
	// stored (its models' own as-of dates are named).
	AsOf time.Time
	// Title heads the page (default "Customer knowledge report").
	Title string
	// Now stamps the page (zero: time.Now); tests fix it.
	Now time.Time
}

// Report is the content of the page: sections of charts and tables.
type Report struct {
	Title       string
	AsOf        string // "" when the warehouse has no sales
	Generated   string
	DataVersion int64
	Sections    []*Section
}

// Section is one part of the page. Empty, when not "", says why it has no
// data and what to run; its charts and tables are then absent.
type Section struct {
	ID, Title, Intro string
	Empty            string
	Figures          []Figure
	Tables           []Table
	Notes            []string
}

// Figure is one chart with its caption.
type Figure struct {
	Caption string
	SVG     template.HTML
}

// Table is a short table; Numeric marks right-aligned columns.
type Table struct {
	Caption string
	Header  []string
	Numeric []bool
	Rows    [][]string
}

// Build reads the warehouse into a Report. Every value that can hold
// personal data is masked as for an analyst: customers are named through
// the masked view analyst.dim_customer, and every table passes
// privacy.RowMasker by column name.
func Build(ctx context.Context, w *engine.Warehouse, opts Options) (*Report, error) {
	if opts.Title == "" {
		opts.Title = "Customer knowledge report"
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer conn.Close()
	b := &builder{conn: conn}
	r := &Report{Title: opts.Title, Generated: opts.Now.Format("2006-01-02 15:04")}
	if r.DataVersion, err = w.DataVersion(ctx); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	asOf := opts.AsOf
	if asOf.IsZero() {
		var last dbsql.NullTime
		if err := conn.QueryRowContext(ctx, `SELECT max(CAST(order_ts AS DATE)) FROM fact_sales`).Scan(&last); err != nil {
			return nil, fmt.Errorf("report: last sale day: %w", err)
		}
		if last.Valid {
			asOf = last.Time
		}
	}
	if !asOf.IsZero() {
		b.asOf = asOf.Format(time.DateOnly)
		r.AsOf = b.asOf
	}
	for _, s := range sections {
		sec := &Section{ID: s.id, Title: s.title, Intro: s.intro}
		if err := s.build(ctx, b, sec); err != nil {
			return nil, fmt.Errorf("report: %s: %w", s.title, err)
		}
		for i := range sec.Tables {
			maskTable(&sec.Tables[i])
		}
		r.Sections = append(r.Sections, sec)
	}
	return r, nil
}

// maskTable masks the cells of columns named for personal data, and
// personal values found in any text cell.
func maskTable(t *Table) {
	m := privacy.NewRowMasker(t.Header)
	vals := make([]any, len(t.Header))
	for _, row := range t.Rows {
		for i, v := range row {
			vals[i] = v
		}
		m.Mask(vals)
		for i := range row {
			// Figures stay figures: a sum of money is no mobile number.
			if s, ok := vals[i].(string); ok && !(i < len(t.Numeric) && t.Numeric[i]) {
				row[i] = privacy.MaskText(s)
			}
		}
	}
}

// Write renders r as one self-contained HTML page.
func (r *Report) Write(out io.Writer) error {
	return page.Execute(out, r)
}

// builder runs the report's queries on one connection.
type builder struct {
	conn *dbsql.Conn
	asOf string // yyyy-mm-dd; "" when there are no sales
}

// until is the SQL bound of facts the report covers: before the day
// after AsOf.
func (b *builder) until() string {
	return "DATE '" + b.asOf + "' + INTERVAL 1 DAY"
}

// rows runs q and returns every row as text (NULL as "").
func (b *builder) rows(ctx context.Context, q string, args ...any) ([][]string, error) {
	rs, err := b.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = text(v)
		}
		out = append(out, row)
	}
	return out, rs.Err()
}

// text formats a scanned value: decimals exactly, dates as dates,
// NULL as "".
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 {
			return x.Format(time.DateOnly)
		}
		return x.Format("2006-01-02 15:04")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = text(e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// WriteFile builds the report and writes it to path whole or not at all:
// into a temporary file next to it, renamed over path when complete.
func WriteFile(ctx context.Context, w *engine.Warehouse, path string, opts Options) error {
	r, err := Build(ctx, w, opts)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriter(f)
	if err := r.Write(bw); err != nil {
		f.Close()
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
