package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/viper"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ckm-dev/ckm/engine"
)

// TestRawGoReadsWhatCkmReads: the fair raw side decodes a GBK till file
// (its Chinese store name intact), flattens the web orders' lines (2 + 3
// lines of two orders; a line that is not JSON is skipped) and appends
// every row; the counts are the hand counts of the files written here.
func TestRawGoReadsWhatCkmReads(t *testing.T) {
	dir := t.TempDir()
	pos := "单号,行号,门店编号,门店名称,收银员,销售时间,会员卡号,手机号,商品编码,数量,单价,折扣,金额\n" +
		"S1,1,ST01,北京朝阳店,张三,2024/1/5 14:22,M1,,P001,1,399,0,399\n" +
		"S1,2,ST01,北京朝阳店,张三,2024/1/5 14:22,M1,,P002,2,\"1,000.50\",1.00,\"2,000.00\"\n" +
		"S2,1,ST02,上海店,李四,2024/1/6 10:00,,,P001,1,10,0,10\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(pos))
	if err != nil {
		t.Fatal(err)
	}
	web := `{"order_id":"W1","created_at":"2024-01-08T10:00:00+08:00","customer":{"mobile":"13800138000"},"lines":[{"sku":"P001","qty":1,"price":"399.00"},{"sku":"P002","qty":2,"price":1.5}]}` + "\n" +
		"not json\n" +
		`{"order_id":"W2","created_at":"2024-01-09T10:00:00+08:00","shipping":{"province":"广东省"},"lines":[{"sku":"P003","qty":1},{"sku":"P004","qty":1},{"sku":"P005","qty":3,"discount":null}]}` + "\n"
	for name, data := range map[string][]byte{"pos_sales_202401.csv": gbk, "web_orders.ndjson": []byte(web)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	counts, err := rawGoLoad(ctx, w, dir)
	if err != nil {
		t.Fatal(err)
	}
	if counts["pos_sales_202401.csv"] != 3 || counts["web_orders.ndjson"] != 5 {
		t.Errorf("rows %v; want 3 till lines and 5 web order lines", counts)
	}
	var stores, price string
	if err := w.DB.QueryRow(`SELECT string_agg(c3, '|' ORDER BY c0, c1), max(c10) FILTER (WHERE c1 = '2') FROM raw_0`).Scan(&stores, &price); err != nil {
		t.Fatal(err)
	}
	if stores != "北京朝阳店|北京朝阳店|上海店" || price != "1,000.50" {
		t.Errorf("till stores %q, quoted price %q; want the GBK names decoded and 1,000.50", stores, price)
	}
	var lines string
	if err := w.DB.QueryRow(`SELECT string_agg(order_id || ':' || sku || ':' || coalesce(qty, '') || ':' || coalesce(price, '') || ':' || coalesce(province, ''), ' ' ORDER BY sku) FROM raw_1`).Scan(&lines); err != nil {
		t.Fatal(err)
	}
	if want := "W1:P001:1:399.00: W1:P002:2:1.5: W2:P003:1::广东省 W2:P004:1::广东省 W2:P005:3::广东省"; lines != want {
		t.Errorf("web lines\n%s\nwant\n%s", lines, want)
	}
}

// TestPlainOrdersPlanted: the plain CSV scenario plants ten of each fault
// (a bad date, a bad quantity, a short row, a repeated line) and ckm load
// with the scenario's own mapping rejects exactly the thirty faulty lines
// and counts the ten repeats as duplicates.
func TestPlainOrdersPlanted(t *testing.T) {
	dir := t.TempDir()
	plan, err := writePlainOrders(dir, 2000, true)
	if err != nil {
		t.Fatal(err)
	}
	if plan != (plainPlan{Lines: 2000, BadDates: 10, BadQty: 10, ShortRows: 10, Duplicates: 10}) {
		t.Fatalf("planted %+v; want 2000 lines, ten of each fault", plan)
	}
	out, stderr, code := runCkm(t, "", "--warehouse", filepath.Join(dir, "w.duckdb"), "--config", filepath.Join(dir, "ckm.yaml"),
		"load", dir, "--as-of", "2024-12-31", "--format", "json")
	if code != exitRejected {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Files []struct {
			Path       string `json:"path"`
			Read       int64  `json:"read"`
			Loaded     int64  `json:"loaded"`
			Rejected   int64  `json:"rejected"`
			Duplicates int64  `json:"duplicates"`
			Warned     int64  `json:"warned"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, f := range rep.Files {
		if !strings.HasSuffix(f.Path, "orders_plain.csv") {
			continue
		}
		if f.Read != 2000 || f.Rejected != 30 || f.Duplicates != 10 || f.Loaded != 1960 || f.Warned != 0 {
			t.Errorf("orders_plain.csv: read %d loaded %d rejected %d duplicates %d warned %d; want 2000, 1960, 30, 10, 0",
				f.Read, f.Loaded, f.Rejected, f.Duplicates, f.Warned)
		}
		return
	}
	t.Errorf("no orders_plain.csv in the report:\n%s", out)
}

// TestDailyPOSLoads: the daily load of ckm bench etl is the latest till
// file's last ten lines as new orders, in the file's own encoding (GBK,
// its Chinese header and store names intact); loaded into a copy of a
// warehouse that holds the export, each of its ten lines has an outcome,
// and every loaded one is a new line of a D order on a store and product
// the warehouse knows, dated the export's last day.
func TestDailyPOSLoads(t *testing.T) {
	dir := t.TempDir()
	exports := filepath.Join(dir, "exports")
	if _, _, code := runCkm(t, "", "fixtures", "generate", "--out", exports, "--customers", "40", "--days", "6", "--quiet"); code != 0 {
		t.Fatal("fixtures generate failed")
	}
	t.Setenv(keyDirEnv, filepath.Join(dir, "keys"))
	wh := filepath.Join(dir, "w.duckdb")
	if _, errOut, code := runCkm(t, "", "--warehouse", wh, "load", exports, "--as-of", "2024-01-06"); code != 0 && code != exitRejected {
		t.Fatalf("load: %s", errOut)
	}
	path, err := writeDailyPOS(exports, filepath.Join(dir, "daily"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text, err := simplifiedchinese.GBK.NewDecoder().Bytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	if len(lines) != dailyLines+1 || !strings.HasPrefix(lines[0], "单号,") {
		t.Fatalf("%d lines, header %q; want the header and %d lines", len(lines), lines[0], dailyLines)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "DS") || !strings.Contains(l, "店,") {
			t.Errorf("line %q: want a D order of a till (S…) at a named store", l)
		}
	}
	daily := filepath.Join(dir, "daily.duckdb")
	if err := copyWarehouse(wh, daily); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCkm(t, "", "--warehouse", daily, "load", path, "--as-of", "2024-01-06", "--format", "json")
	if code != 0 && code != exitRejected {
		t.Fatalf("daily load: %s", errOut)
	}
	var rep struct {
		Files []struct {
			Read, Loaded, Rejected, Duplicates int64
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Files) != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	f := rep.Files[0]
	if f.Read != dailyLines || f.Loaded+f.Rejected+f.Duplicates != dailyLines || f.Loaded == 0 {
		t.Errorf("daily file read %d, loaded %d, rejected %d, duplicates %d; want %d read, each with one outcome, some loaded",
			f.Read, f.Loaded, f.Rejected, f.Duplicates, dailyLines)
	}
	ctx := context.Background()
	w, err := engine.Open(ctx, daily, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var n, known int64
	var day string
	if err := w.DB.QueryRow(`SELECT count(*), count(*) FILTER (WHERE store_key > 0 AND product_key > 0), max(CAST(CAST(order_ts AS DATE) AS VARCHAR))
		FROM fact_sales WHERE order_id LIKE 'D%' AND etl_run_id = (SELECT max(run_id) FROM etl_run)`).Scan(&n, &known, &day); err != nil {
		t.Fatal(err)
	}
	if n != f.Loaded || known != n || day != "2024-01-06" {
		t.Errorf("%d D lines in the facts (%d of known stores and products), last on %s; want the %d loaded, all known, on 2024-01-06", n, known, day, f.Loaded)
	}
}

// TestBenchETLReports runs ckm bench etl on a tiny export set: every side
// ran (positive times and peaks), the ratios are the sides' quotients,
// the plain CSV's planted faults were rejected and counted, the fair raw
// side appended at least the sources' rows, and the 10-line and daily
// loads have times of their own (the 10-line load's write floor too, of
// rows holding its 10 sales lines), as has the full load's write floor.
// With --runs 2 the sides compared ran
// round by round (the log's order), each side's times are in the order run
// and each round's ratio is its pair's quotient.
func TestBenchETLReports(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(ckmBinary(t), "bench", "etl", "--customers", "40", "--days", "6", "--plain-lines", "100", "--runs", "2",
		"--format", "json", "--dir", filepath.Join(dir, "bench"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ckm bench etl: %v\n%s\n%s", err, out, stderr.String())
	}
	var order []string
	logged := map[string][]float64{}
	for _, m := range regexp.MustCompile(`(?m)^(\S+) +([0-9.]+)s \(cpu `).FindAllStringSubmatch(stderr.String(), -1) {
		order = append(order, m[1])
		v, _ := strconv.ParseFloat(m[2], 64)
		logged[m[1]] = append(logged[m[1]], v)
	}
	want := "ckm raw-go raw-duckdb ckm raw-go raw-duckdb ckm-write-floor ckm-write-floor daily-load daily-load plain-ckm plain-read_csv plain-ckm plain-read_csv small-load open-floor write-floor small-load open-floor write-floor"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("runs in the order\n%s\nwant\n%s", got, want)
	}
	var r benchETLResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for name, s := range map[string]benchSide{"ckm": r.CKM, "raw Go": r.RawGo, "raw DuckDB": r.RawDuckDB, "plain ckm": r.PlainCKM, "plain read_csv": r.PlainReadCSV} {
		if s.Seconds <= 0 || s.CPUSeconds <= 0 || s.PeakRSSMB <= 0 {
			t.Errorf("side %s: %+v, want a positive time, CPU time and peak", name, s)
		}
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }
	if !near(r.Ratio, r.CKM.Seconds/r.RawGo.Seconds) || !near(r.OldRatio, r.CKM.Seconds/r.RawDuckDB.Seconds) ||
		!near(r.PlainCSVRatio, r.PlainCKM.Seconds/r.PlainReadCSV.Seconds) || r.CKMPeakRSSMB != r.CKM.PeakRSSMB || r.RawPeakRSSMB != r.RawGo.PeakRSSMB {
		t.Errorf("ratios %.3f %.3f %.3f and peaks %.0f %.0f are not the sides' (%+v)", r.Ratio, r.OldRatio, r.PlainCSVRatio, r.CKMPeakRSSMB, r.RawPeakRSSMB, r)
	}
	if r.PlainRejected != 30 || r.PlainDuplicates != 10 || r.RawGoRows < r.SourceRows {
		t.Errorf("plain rejected %d, duplicates %d (want 30, 10); raw Go rows %d of %d source rows", r.PlainRejected, r.PlainDuplicates, r.RawGoRows, r.SourceRows)
	}
	for name, s := range map[string]benchSide{"ckm": r.CKM, "raw-go": r.RawGo, "plain-ckm": r.PlainCKM, "plain-read_csv": r.PlainReadCSV} {
		// The log prints two decimals; All keeps the order run.
		if len(s.All) != 2 || len(logged[name]) != 2 || math.Abs(s.All[0]-logged[name][0]) > 0.006 || math.Abs(s.All[1]-logged[name][1]) > 0.006 {
			t.Errorf("side %s: times %v, logged %v; want the two runs in the order run", name, s.All, logged[name])
		}
	}
	if len(r.RatioRounds) != 2 || len(r.PlainCSVRatioRounds) != 2 {
		t.Fatalf("round ratios %v, %v; want two each", r.RatioRounds, r.PlainCSVRatioRounds)
	}
	for i := 0; i < 2; i++ {
		if !near(r.RatioRounds[i], r.CKM.All[i]/r.RawGo.All[i]) || !near(r.PlainCSVRatioRounds[i], r.PlainCKM.All[i]/r.PlainReadCSV.All[i]) {
			t.Errorf("round %d ratios %.3f %.3f; want the round's quotients (%v %v %v %v)", i, r.RatioRounds[i], r.PlainCSVRatioRounds[i], r.CKM.All, r.RawGo.All, r.PlainCKM.All, r.PlainReadCSV.All)
		}
	}
	if r.SmallLoadSec <= 0 || r.DailyLoadSec <= 0 || r.DailyLoadCPU <= 0 || r.SmallFloorSec <= 0 || r.SmallFloorCPU <= 0 {
		t.Errorf("10-line load %.3f s, its floor %.3f s (%.3f CPU s), daily load %.3f s (%.3f CPU s): want times",
			r.SmallLoadSec, r.SmallFloorSec, r.SmallFloorCPU, r.DailyLoadSec, r.DailyLoadCPU)
	}
	if s := r.WriteFloor; s.Seconds <= 0 || s.CPUSeconds <= 0 || r.WriteFloorRows <= r.SalesLines || !near(r.WriteFloorShare, s.Seconds/r.CKM.Seconds) {
		t.Errorf("the load's write floor %+v of %d rows (share %.3f): want a time, more rows than the %d sales lines, and its share of ckm's time",
			s, r.WriteFloorRows, r.WriteFloorShare, r.SalesLines)
	}
	if r.SmallWriteFloorSec <= 0 || r.SmallWriteFloorCPU <= 0 || r.SmallWriteFloorRows["fact_sales"] != 10 {
		t.Errorf("write floor %.3f s (%.3f CPU s) of rows %v: want a time, and the 10-line load's 10 sales lines among the rows",
			r.SmallWriteFloorSec, r.SmallWriteFloorCPU, r.SmallWriteFloorRows)
	}
	// The floor is one of its logged runs (sides reports the run of
	// median time), not a figure of its own.
	if f := logged["open-floor"]; len(f) != 2 || r.SmallFloorSec < math.Min(f[0], f[1])-0.006 || r.SmallFloorSec > math.Max(f[0], f[1])+0.006 {
		t.Errorf("floor %.3f s, logged runs %v", r.SmallFloorSec, f)
	}
}

// TestBenchChildPeakIsItsOwn: a side's peak memory is the child's, not
// this process's. With 800 MB touched and dropped here first (this
// process's high-water mark then above 800 MB), 'ckm --help' as a bench
// side peaks below what this process still holds plus 100 MB (DuckDB's
// memory of earlier tests in this process stays resident, and a child's
// peak is at least the resident memory of the process that starts it);
// before resetPeakRSS it read this process's high-water mark, as the
// 10-line load and 'ckm init' of the bench both read 293 MB, the bench's
// own.
func TestBenchChildPeakIsItsOwn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the high-water mark is reset through Linux's /proc/self/clear_refs")
	}
	func() {
		ballast := make([]byte, 800<<20)
		for i := 0; i < len(ballast); i += 4096 {
			ballast[i] = 1
		}
		runtime.KeepAlive(ballast)
	}()
	debug.FreeOSMemory()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	kB := func(field string) float64 {
		m := regexp.MustCompile(field + `:\s+(\d+) kB`).FindSubmatch(status)
		if m == nil {
			t.Fatalf("no %s in /proc/self/status:\n%s", field, status)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v / 1024
	}
	hwm, rss := kB("VmHWM"), kB("VmRSS")
	bound := rss + 100
	if hwm < 800 || bound >= hwm {
		t.Fatalf("this process's high-water mark %.0f MB, resident %.0f MB: the test could not tell a child's peak from this process's", hwm, rss)
	}
	b := &benchChildren{a: &app{cfg: viper.New(), stdout: io.Discard, stderr: io.Discard}, dir: t.TempDir(), self: ckmBinary(t), runs: 1}
	side, _, err := b.side(spec("help", 0, "--help"))
	if err != nil {
		t.Fatal(err)
	}
	if side.PeakRSSMB <= 0 || side.PeakRSSMB >= bound {
		t.Errorf("ckm --help as a bench side peaked at %.0f MB; want its own peak, under %.0f MB (this process holds %.0f MB, its high-water mark is %.0f MB)",
			side.PeakRSSMB, bound, rss, hwm)
	}
}
