package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// plainMapping maps the plain order export of the bench (English headers,
// UTF-8) onto ckm's sales lines: a user's mapping in ckm.yaml.
const plainMapping = `sources:
  - name: plain_orders
    target: sales
    channel: pos
    pattern: "orders_plain*.csv"
    columns:
      order_id: [order_id]
      line_no: [line_no]
      store_code: [store_code]
      store_name: [store_name]
      salesperson: [cashier]
      ts: [ts]
      member_card: [member_card]
      product_code: [sku]
      quantity: [qty]
      unit_price: [unit_price]
      discount: [discount]
      amount: [amount]
`

// plainPlan is what writePlainOrders planted: every fault ckm must catch.
type plainPlan struct {
	Lines      int // data lines written (the faults included)
	BadDates   int // 30 February: date_invalid
	BadQty     int // "two": quantity_invalid
	ShortRows  int // five fields: malformed_row
	Duplicates int // a line written twice: the repeat is a duplicate
}

// rejected is how many lines ckm must reject.
func (p plainPlan) rejected() int { return p.BadDates + p.BadQty + p.ShortRows }

// writePlainOrders writes dir/orders_plain.csv (lines data lines of 1–3
// line orders in 2024, UTF-8, with faults ten of each planted fault spread
// through the file), dir/products.csv (the 300 products sold) and
// dir/ckm.yaml (the mapping), and returns what it planted.
func writePlainOrders(dir string, lines int, faults bool) (plainPlan, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return plainPlan{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ckm.yaml"), []byte(plainMapping), 0o644); err != nil {
		return plainPlan{}, err
	}
	products := "商品编码,商品名称,品类,品牌,成本,标价\n"
	for p := 1; p <= 300; p++ {
		products += fmt.Sprintf("P%05d,Product %d,Home>Kitchen>Item %d,Brand %d,%d.00,%d.50\n", p, p, p%20, p%12, 5+p%40, 12+p%60)
	}
	if err := os.WriteFile(filepath.Join(dir, "products.csv"), []byte(products), 0o644); err != nil {
		return plainPlan{}, err
	}
	f, err := os.Create(filepath.Join(dir, "orders_plain.csv"))
	if err != nil {
		return plainPlan{}, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("order_id,line_no,store_code,store_name,cashier,ts,member_card,mobile,sku,qty,unit_price,discount,amount\n")
	plan := plainPlan{}
	every := max(lines/41, 1) // forty faults, spread out
	start := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	step := time.Duration(int64(340*24*time.Hour) / int64(lines))
	order, line := 1, 0
	var prev string
	for i := 1; i <= lines; i++ {
		line++
		if line > order%3+1 {
			order, line = order+1, 1
		}
		p := (order*31+line*7)%300 + 1
		qty := line%3 + 1
		price := 12 + p%60
		card := ""
		if order%3 != 0 {
			card = fmt.Sprintf("M%08d", order*7919%50000)
		}
		ts := start.Add(time.Duration(i) * step).Format("2006-01-02 15:04:05")
		qtyText := fmt.Sprint(qty)
		rec := ""
		// Forty faults, ten of each kind, at every (lines/41)th line.
		kind := -1
		if k := i / every; faults && i%every == 0 && k >= 1 && k <= 40 {
			kind = k % 4
		}
		switch kind {
		case 0:
			rec = prev // the line before, again
			plan.Duplicates++
			line-- // the repeat takes no line number of its own
		case 1:
			ts = "2024-02-30 10:00:00"
			plan.BadDates++
		case 2:
			qtyText = "two"
			plan.BadQty++
		case 3:
			rec = fmt.Sprintf("O%08d,%d,S%02d,Store %d,E%03d\n", order, line, order%20, order%20, order%50)
			plan.ShortRows++
		}
		if rec == "" {
			rec = fmt.Sprintf("O%08d,%d,S%02d,Store %d,E%03d,%s,%s,,P%05d,%s,%d.50,0,%d.%02d\n",
				order, line, order%20, order%20, order%50, ts, card, p, qtyText, price, qty*price+qty/2, qty%2*50)
			prev = rec
		}
		if _, err := w.WriteString(rec); err != nil {
			return plainPlan{}, err
		}
		plan.Lines++
	}
	if err := w.Flush(); err != nil {
		return plainPlan{}, err
	}
	return plan, f.Close()
}

// benchPlain runs the plain CSV scenario: ckm load of the plain export
// against DuckDB's read_csv into a table (bench-raw-load reads every CSV
// of a directory so), checks that ckm caught exactly the planted faults,
// and times a 10-line load into an initialised warehouse.
func benchPlain(ctx context.Context, b *benchChildren, dir string, lines int, res *benchETLResult) error {
	plainDir := filepath.Join(dir, "plain")
	plan, err := writePlainOrders(plainDir, lines, true)
	if err != nil {
		return err
	}
	cfg := filepath.Join(plainDir, "ckm.yaml")
	// ckm and read_csv round by round (benchChildren.sides).
	sides, outs, err := b.sides(spec("plain-ckm", int64(plan.Lines), "--config", cfg, "load", plainDir, "--as-of", "2024-12-31", "--format", "json"),
		spec("plain-read_csv", int64(plan.Lines), "bench-raw-load", plainDir))
	if err != nil {
		return err
	}
	res.PlainCKM, res.PlainReadCSV = sides[0], sides[1]
	out := outs[0]
	var rep struct {
		Read       int64 `json:"rows_read"`
		Rejected   int64 `json:"rows_rejected"`
		Duplicates int64 `json:"rows_duplicate"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return fmt.Errorf("plain-ckm: %w", err)
	}
	// products.csv adds its 300 lines to what was read.
	if rep.Read != int64(plan.Lines)+300 || rep.Rejected != int64(plan.rejected()) || rep.Duplicates != int64(plan.Duplicates) {
		return fmt.Errorf("plain CSV: ckm read %d, rejected %d, duplicates %d; planted %d lines (+300 products), %d faults, %d duplicates",
			rep.Read, rep.Rejected, rep.Duplicates, plan.Lines, plan.rejected(), plan.Duplicates)
	}
	res.PlainRejected, res.PlainDuplicates = rep.Rejected, rep.Duplicates
	res.PlainCSVRatio = res.PlainCKM.Seconds / res.PlainReadCSV.Seconds
	res.PlainCSVRatioRounds = roundRatios(res.PlainCKM, res.PlainReadCSV)
	res.PlainCSVCPURatio = res.PlainCKM.CPUSeconds / res.PlainReadCSV.CPUSeconds
	// The fixed cost: ten lines into a warehouse that exists.
	smallDir := filepath.Join(dir, "small")
	if _, err := writePlainOrders(smallDir, 10, false); err != nil {
		return err
	}
	os.Remove(filepath.Join(smallDir, "products.csv"))
	small := spec("small-load", 10, "--config", filepath.Join(smallDir, "ckm.yaml"), "load",
		filepath.Join(smallDir, "orders_plain.csv"), "--as-of", "2024-12-31")
	small.prepare = b.initialise
	// Its floor: what every ckm command that opens the warehouse to write
	// pays before any work — process start, DuckDB's start, the open, the
	// migrations check and the close — timed as 'ckm init' of a warehouse
	// already initialised, round by round with the 10-line load.
	floor := spec("open-floor", 0, "init")
	floor.prepare = b.initialise
	// Its write floor: the open floor plus raw DuckDB writing the rows the
	// 10-line load leaves (taken from one load of them, untimed).
	rowsDir := filepath.Join(dir, "small-rows")
	written, err := b.smallLoadRows(ctx, small, rowsDir)
	if err != nil {
		return err
	}
	write := spec("write-floor", 10, "bench-raw-write", rowsDir)
	write.prepare = b.initialise
	sides, outs, err = b.sides(small, floor, write)
	if err != nil {
		return err
	}
	if err := checkWritten(outs[2], written); err != nil {
		return fmt.Errorf("the 10-line load's %w", err)
	}
	res.SmallLoadSec, res.SmallLoadCPU = sides[0].Seconds, sides[0].CPUSeconds
	res.SmallFloorSec, res.SmallFloorCPU = sides[1].Seconds, sides[1].CPUSeconds
	res.SmallWriteFloorSec, res.SmallWriteFloorCPU = sides[2].Seconds, sides[2].CPUSeconds
	res.SmallWriteFloorRows = written
	return nil
}

// smallLoadRows runs the 10-line load once (untimed) into an initialised
// warehouse and writes into dir the rows it left that an initialised
// warehouse lacks (writeFloorRows), which must hold its 10 sales lines.
func (b *benchChildren) smallLoadRows(ctx context.Context, small benchSpec, dir string) (map[string]int64, error) {
	loaded, base := filepath.Join(b.dir, "small-rows-loaded.duckdb"), filepath.Join(b.dir, "small-rows-base.duckdb")
	if err := b.initialise(base); err != nil {
		return nil, err
	}
	if err := copyWarehouse(base, loaded); err != nil {
		return nil, err
	}
	if _, _, err := b.child(loaded, small.args); err != nil {
		return nil, fmt.Errorf("write floor: the 10-line load: %w", err)
	}
	written, err := writeFloorRows(ctx, loaded, base, dir)
	if err != nil {
		return nil, err
	}
	if written["fact_sales"] != small.rows {
		return nil, fmt.Errorf("write floor: the 10-line load left %d sales lines, want %d", written["fact_sales"], small.rows)
	}
	return written, nil
}
