package main

import (
	"bufio"
	"context"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/spf13/cobra"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ckm-dev/ckm/engine"
)

// rawGoOptions are what ckm bench-raw-go resolves to.
type rawGoOptions struct {
	app *app
	dir string // the exports
}

func init() {
	registerCommand(func(a *app) *cobra.Command { return newRawGoCmd(a, nil) })
}

// newRawGoCmd is the fair baseline of `ckm bench etl`: the most
// straightforward fast Go program that does the reading ckm must do —
// decode the GBK till files in Go as ckm does, parse every CSV record and
// every JSON order, flatten the web orders' lines — and appends each row
// to a DuckDB table, with no cleaning, validation or identity. Hidden: it
// is a benchmark tool. runF, when not nil, runs instead of rawGoRun.
func newRawGoCmd(a *app, runF func(context.Context, *rawGoOptions) error) *cobra.Command {
	opts := &rawGoOptions{app: a}
	return &cobra.Command{
		Use:         "bench-raw-go DIR",
		Short:       "Fair baseline of ckm bench etl: decode, parse and append the exports in plain Go",
		Hidden:      true,
		Annotations: map[string]string{peerAnnotation: "true"},
		Args:        cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.dir = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rawGoRun(cmd.Context(), opts)
		},
	}
}

func rawGoRun(ctx context.Context, opts *rawGoOptions) error {
	eo := opts.app.engineOptions()
	eo.NoMigrate = true
	w, err := engine.Open(ctx, opts.app.warehousePath(), eo)
	if err != nil {
		return err
	}
	defer w.Close()
	counts, err := rawGoLoad(ctx, w, opts.dir)
	if err != nil {
		return err
	}
	var total int64
	for _, n := range counts {
		total += n
	}
	return writeJSON(opts.app, map[string]any{"rows": total, "files": counts})
}

// rawGoLoad appends every export in dir to its own table, two files at a
// time (as ckm extracts), and returns the rows appended per file name.
func rawGoLoad(ctx context.Context, w *engine.Warehouse, dir string) (map[string]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".ndjson") || strings.HasSuffix(n, ".xlsx") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var (
		mu     sync.Mutex
		counts = map[string]int64{}
		errs   = make([]error, len(names))
		wg     sync.WaitGroup
		sem    = make(chan struct{}, 2)
	)
	for i, n := range names {
		wg.Add(1)
		go func(i int, n string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rows, err := rawGoFile(ctx, w, filepath.Join(dir, n), fmt.Sprintf("raw_%d", i))
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", n, err)
				return
			}
			mu.Lock()
			counts[n] = rows
			mu.Unlock()
		}(i, n)
	}
	wg.Wait()
	return counts, errors.Join(errs...)
}

// rawGoFile reads one export into table on its own connection.
func rawGoFile(ctx context.Context, w *engine.Warehouse, path, table string) (int64, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	t := &rawTable{table: table, create: func(cols []string) (*duckdb.Appender, error) {
		defs := make([]string, len(cols))
		for i, c := range cols {
			defs[i] = engine.QuoteIdent(c) + " VARCHAR"
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", table, strings.Join(defs, ", "))); err != nil {
			return nil, err
		}
		return engine.Appender(conn, table)
	}}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	name := filepath.Base(path)
	switch {
	case strings.HasSuffix(name, ".xlsx"):
		err = t.xlsx(f)
	case strings.HasSuffix(name, ".ndjson"):
		err = t.webOrders(f)
	case strings.HasPrefix(name, "pos_sales_"):
		// The till files are GBK; ckm decodes them with GB18030, its superset.
		err = t.csv(simplifiedchinese.GB18030.NewDecoder().Reader(f))
	default:
		err = t.csv(f)
	}
	if err != nil {
		if t.app != nil {
			t.app.Close()
		}
		return 0, err
	}
	if t.app != nil {
		if err := t.app.Close(); err != nil {
			return 0, err
		}
	}
	return t.rows, nil
}

// rawTable is one export on its way into a table of VARCHAR columns.
type rawTable struct {
	table  string
	create func(cols []string) (*duckdb.Appender, error)
	app    *duckdb.Appender
	width  int
	vals   []driver.Value
	rows   int64
}

// header creates the table and its appender.
func (t *rawTable) header(cols []string) error {
	var err error
	t.width = len(cols)
	t.vals = make([]driver.Value, t.width)
	t.app, err = t.create(cols)
	return err
}

// row appends one record, padded or cut to the header's width.
func (t *rawTable) row(cells []string) error {
	for i := range t.vals {
		t.vals[i] = nil
		if i < len(cells) {
			t.vals[i] = cells[i]
		}
	}
	t.rows++
	return t.app.AppendRow(t.vals...)
}

func (t *rawTable) csv(r io.Reader) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			continue // a malformed record: skipped, not counted
		}
		if err != nil {
			return err
		}
		if first {
			first = false
			cols := make([]string, len(rec))
			for i := range rec {
				cols[i] = fmt.Sprintf("c%d", i)
			}
			if err := t.header(cols); err != nil {
				return err
			}
			continue
		}
		if err := t.row(rec); err != nil {
			return err
		}
	}
}

// webOrder is one line of the web orders export, as exported.
type webOrder struct {
	OrderID   json.RawMessage `json:"order_id"`
	CreatedAt json.RawMessage `json:"created_at"`
	Customer  struct {
		Mobile json.RawMessage `json:"mobile"`
		Email  json.RawMessage `json:"email"`
	} `json:"customer"`
	Shipping struct {
		Province json.RawMessage `json:"province"`
		City     json.RawMessage `json:"city"`
	} `json:"shipping"`
	Lines []struct {
		SKU      json.RawMessage `json:"sku"`
		Qty      json.RawMessage `json:"qty"`
		Price    json.RawMessage `json:"price"`
		Discount json.RawMessage `json:"discount"`
	} `json:"lines"`
}

// orderText is a JSON scalar as text: a string unquoted, null as "".
func orderText(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return ""
	}
	if m[0] == '"' {
		var s string
		if json.Unmarshal(m, &s) == nil {
			return s
		}
	}
	return string(m)
}

// webOrders parses each order and appends one row per order line.
func (t *rawTable) webOrders(r io.Reader) error {
	if err := t.header([]string{"order_id", "created_at", "mobile", "email", "province", "city", "sku", "qty", "price", "discount"}); err != nil {
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	cells := make([]string, 10)
	for sc.Scan() {
		var o webOrder
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			continue // not a JSON order: skipped, not counted
		}
		cells[0], cells[1] = orderText(o.OrderID), orderText(o.CreatedAt)
		cells[2], cells[3] = orderText(o.Customer.Mobile), orderText(o.Customer.Email)
		cells[4], cells[5] = orderText(o.Shipping.Province), orderText(o.Shipping.City)
		for _, it := range o.Lines {
			cells[6], cells[7], cells[8], cells[9] = orderText(it.SKU), orderText(it.Qty), orderText(it.Price), orderText(it.Discount)
			if err := t.row(cells); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// xlsx appends the first sheet's rows.
func (t *rawTable) xlsx(r io.Reader) error {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := f.Rows(f.GetSheetList()[0])
	if err != nil {
		return err
	}
	defer rows.Close()
	first := true
	for rows.Next() {
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return err
		}
		if first {
			first = false
			cols := make([]string, len(cells))
			for i := range cells {
				cols[i] = fmt.Sprintf("c%d", i)
			}
			if err := t.header(cols); err != nil {
				return err
			}
			continue
		}
		if err := t.row(cells); err != nil {
			return err
		}
	}
	return rows.Error()
}
