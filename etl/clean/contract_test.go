package clean

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/fixtures"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// TestRulesAgreeWithFixtures generates the fixture exports and checks that
// the cleaners flag exactly the lines where the generator planted a fault
// of a rule they decide (expected.json is the independent ground truth):
// id_invalid, id_checksum, mobile_invalid, date_invalid, date_missing,
// date_future (after the export date) and amount_invalid. Malformed rows
// and JSON lines are skipped, as the loader rejects them first.
func TestRulesAgreeWithFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("generates fixtures")
	}
	dir := t.TempDir()
	exp, err := fixtures.Generate(context.Background(), fixtures.Options{Out: dir, Customers: 1000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	exportDate, err := time.Parse("2006-01-02", exp.ExportDate)
	if err != nil {
		t.Fatal(err)
	}
	c := &contractCheck{got: map[string]map[int64]string{}, exportDate: exportDate}
	c.crm(t, filepath.Join(dir, "crm_customers.xlsx"))
	pos, _ := filepath.Glob(filepath.Join(dir, "pos_sales_*.csv"))
	for _, p := range pos {
		c.csv(t, p, true, map[string]func(*contractCheck, string, int64, string){
			"销售时间": (*contractCheck).timestamp, "手机号": (*contractCheck).mobile,
			"单价": (*contractCheck).amount, "折扣": (*contractCheck).amount, "金额": (*contractCheck).amount,
		})
	}
	c.csv(t, filepath.Join(dir, "callcenter_contacts.csv"), false, map[string]func(*contractCheck, string, int64, string){
		"来电时间": (*contractCheck).timestamp,
	})
	c.web(t, filepath.Join(dir, "web_orders.ndjson"))

	mine := map[string]bool{RuleIDInvalid: true, RuleIDChecksum: true, RuleMobileInvalid: true,
		RuleDateInvalid: true, RuleDateMissing: true, "date_future": true, RuleAmountInvalid: true}
	planted := 0
	for name, ft := range exp.Files {
		want := map[int64]string{}
		for _, is := range append(ft.Rejects, ft.Warnings...) {
			if mine[is.Rule] {
				want[is.Line] = is.Rule
				planted++
			}
		}
		got := c.got[name]
		var diffs []string
		for line, rule := range want {
			if got[line] != rule {
				diffs = append(diffs, fmt.Sprintf("line %d: planted %s, cleaners say %q", line, rule, got[line]))
			}
		}
		for line, rule := range got {
			if want[line] == "" {
				diffs = append(diffs, fmt.Sprintf("line %d: cleaners say %s, nothing planted", line, rule))
			}
		}
		sort.Strings(diffs)
		for _, d := range diffs {
			t.Errorf("%s %s", name, d)
		}
	}
	if planted < 100 {
		t.Errorf("only %d planted faults of these rules: is the generator still planting them?", planted)
	}
}

type contractCheck struct {
	got        map[string]map[int64]string // file → line → first rule
	exportDate time.Time
}

func (c *contractCheck) flag(file string, line int64, rule string) {
	if c.got[file] == nil {
		c.got[file] = map[int64]string{}
	}
	if c.got[file][line] == "" {
		c.got[file][line] = rule
	}
}

func (c *contractCheck) timestamp(file string, line int64, s string) {
	ts, err := Timestamp(s)
	switch {
	case err != nil:
		c.flag(file, line, RuleOf(err))
	case ts.Truncate(24 * time.Hour).After(c.exportDate):
		c.flag(file, line, "date_future")
	}
}

func (c *contractCheck) mobile(file string, line int64, s string) {
	if _, err := Mobile(s); RuleOf(err) == RuleMobileInvalid {
		c.flag(file, line, RuleMobileInvalid)
	}
}

func (c *contractCheck) amount(file string, line int64, s string) {
	if _, err := Amount(s); RuleOf(err) == RuleAmountInvalid {
		c.flag(file, line, RuleAmountInvalid)
	}
}

func (c *contractCheck) crm(t *testing.T, path string) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("客户")
	if err != nil || len(rows) == 0 {
		t.Fatalf("crm sheet: %v", err)
	}
	cols, err := MapHeaders(rows[0], []FieldSpec{
		{Name: "id", Aliases: []string{"身份证号"}, Required: true}, {Name: "mobile", Aliases: []string{"手机"}, Required: true},
		{Name: "birthday", Aliases: []string{"生日"}, Required: true}, {Name: "registered", Aliases: []string{"注册日期"}, Required: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(path)
	for i, r := range rows[1:] {
		line := int64(i + 2)
		cell := func(field string) string {
			if j := cols[field]; j < len(r) {
				return r[j]
			}
			return ""
		}
		if _, err := ResidentID(cell("id")); err != nil && !err.(*Error).Blank() {
			c.flag(name, line, RuleOf(err))
		}
		c.mobile(name, line, cell("mobile"))
		for _, field := range []string{"birthday", "registered"} {
			if _, err := Date(cell(field)); err != nil && !err.(*Error).Blank() {
				t.Errorf("%s line %d: %s: %v", name, line, field, err)
			}
		}
	}
}

// csv checks the given columns of a CSV file (GBK when gbk), skipping
// rows with the wrong number of fields.
func (c *contractCheck) csv(t *testing.T, path string, gbk bool, checks map[string]func(*contractCheck, string, int64, string)) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var in io.Reader = fh
	if gbk {
		in = simplifiedchinese.GBK.NewDecoder().Reader(fh)
	}
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		t.Fatal(err)
	}
	var specs []FieldSpec
	for col := range checks {
		specs = append(specs, FieldSpec{Name: col, Required: true})
	}
	cols, err := MapHeaders(header, specs)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	name := filepath.Base(path)
	for {
		r, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(r) != len(header) {
			continue
		}
		line, _ := cr.FieldPos(0) // a quoted field spanning lines counts where it starts
		for col, check := range checks {
			if v := r[cols[col]]; v != "" || col == "销售时间" || col == "来电时间" {
				check(c, name, int64(line), v)
			}
		}
	}
}

func (c *contractCheck) web(t *testing.T, path string) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	name := filepath.Base(path)
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for line := int64(1); sc.Scan(); line++ {
		var o struct {
			CreatedAt string `json:"created_at"`
			Customer  struct{ Mobile string }
			Lines     []struct{ Price, Discount string }
		}
		if json.Unmarshal(sc.Bytes(), &o) != nil {
			continue
		}
		c.timestamp(name, line, o.CreatedAt)
		if o.Customer.Mobile != "" {
			c.mobile(name, line, o.Customer.Mobile)
		}
		for _, l := range o.Lines {
			c.amount(name, line, l.Price)
			c.amount(name, line, l.Discount)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
