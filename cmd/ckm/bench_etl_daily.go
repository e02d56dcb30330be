package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// dailyLines is the size of the daily load of ckm bench etl.
const dailyLines = 10

// writeDailyPOS writes dir/pos_sales_daily.csv: the till export of one
// more day's business as the loaded warehouse knows it, the last
// dailyLines lines of the latest till file in exports (the period's last
// day: its stores, cashiers, members and products) as new orders (each
// order number prefixed with D), in the file's own encoding and header. It
// returns the file's path.
func writeDailyPOS(exports, dir string) (string, error) {
	names, err := filepath.Glob(filepath.Join(exports, "pos_sales_*.csv"))
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "", fmt.Errorf("daily load: no till export (pos_sales_*.csv) in %s", exports)
	}
	data, err := os.ReadFile(names[len(names)-1])
	if err != nil {
		return "", err
	}
	lines := bytes.Split(bytes.TrimRight(data, "\r\n"), []byte("\n"))
	if len(lines) < dailyLines+1 {
		return "", fmt.Errorf("daily load: %s has fewer than %d lines", names[len(names)-1], dailyLines)
	}
	var out bytes.Buffer
	out.Write(lines[0]) // the header, as exported
	out.WriteByte('\n')
	for _, l := range lines[len(lines)-dailyLines:] {
		// The order number is the first field, ASCII in every encoding the
		// fixtures write.
		out.WriteByte('D')
		out.Write(l)
		out.WriteByte('\n')
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "pos_sales_daily.csv")
	return path, os.WriteFile(path, out.Bytes(), 0o644)
}

// benchDaily times the daily load: dailyLines till lines of one day into a
// copy of the warehouse the full load left (ckm.duckdb in the bench's
// directory), process start to exit — the fixed cost a scheduled daily
// load pays in a warehouse of a year's sales, rollup refresh included.
func benchDaily(b *benchChildren, dir, exports, asOf string, res *benchETLResult) error {
	path, err := writeDailyPOS(exports, filepath.Join(dir, "daily"))
	if err != nil {
		return err
	}
	loaded := filepath.Join(dir, "ckm.duckdb")
	daily := spec("daily-load", dailyLines, "load", path, "--as-of", asOf)
	daily.prepare = func(wh string) error { return copyWarehouse(loaded, wh) }
	side, _, err := b.side(daily)
	if err != nil {
		return fmt.Errorf("daily load: %w", err)
	}
	res.DailyLoadSec, res.DailyLoadCPU = side.Seconds, side.CPUSeconds
	return nil
}
