package etl

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// The fast XLSX reader against excelize (readXLSXExcelize): every test
// compares the (line, cells, raw) sequence and the error of readXLSX with
// those of the excelize reader on the same bytes, cells compared with
// reflect.DeepEqual (a nil row is not an empty one).

type xlsxRow struct {
	line  int64
	cells []string
	raw   string
}

type xlsxResult struct {
	rows []xlsxRow
	err  string
}

func xlsxCollect(read func(context.Context, *bytes.Reader, string, func(int64, []string, string) error) error, data []byte, sheet string) xlsxResult {
	var res xlsxResult
	err := read(context.Background(), bytes.NewReader(data), sheet, func(line int64, cells []string, raw string) error {
		res.rows = append(res.rows, xlsxRow{line, cells, raw})
		return nil
	})
	if err != nil {
		res.err = err.Error()
	}
	return res
}

func xlsxFast(ctx context.Context, r *bytes.Reader, sheet string, emit func(int64, []string, string) error) error {
	return readXLSX(ctx, r, sheet, emit)
}

func xlsxOld(ctx context.Context, r *bytes.Reader, sheet string, emit func(int64, []string, string) error) error {
	return readXLSXExcelize(ctx, r, sheet, emit)
}

// xlsxPath says how the fast reader took a workbook.
type xlsxPath int

const (
	xlsxWhole    xlsxPath = iota // read by the fast reader to the end
	xlsxUpFront                  // given to excelize before the first row
	xlsxHandOver                 // handed over to excelize after some rows
)

func (p xlsxPath) String() string {
	return [...]string{"fast", "excelize from the start", "handed over"}[p]
}

func xlsxPathOf(data []byte, sheet string) xlsxPath {
	w := openXLSXFast(data, sheet)
	if w == nil {
		return xlsxUpFront
	}
	if _, handOver, _ := w.read(context.Background(), func(int64, []string, string) error { return nil }); handOver {
		return xlsxHandOver
	}
	return xlsxWhole
}

// xlsxSame checks the two readers agree on data and sheet; it returns the
// result.
func xlsxSame(t *testing.T, what string, data []byte, sheet string) xlsxResult {
	t.Helper()
	want := xlsxCollect(xlsxOld, data, sheet)
	got := xlsxCollect(xlsxFast, data, sheet)
	if got.err != want.err {
		t.Fatalf("%s, sheet %q: error %q, excelize %q", what, sheet, got.err, want.err)
	}
	if !reflect.DeepEqual(got.rows, want.rows) {
		n := min(len(got.rows), len(want.rows))
		for i := 0; i < n; i++ {
			if !reflect.DeepEqual(got.rows[i], want.rows[i]) {
				t.Fatalf("%s, sheet %q: row %d is %#v, excelize %#v (of %d and %d rows)", what, sheet, i, got.rows[i], want.rows[i], len(got.rows), len(want.rows))
			}
		}
		t.Fatalf("%s, sheet %q: %d rows, excelize %d", what, sheet, len(got.rows), len(want.rows))
	}
	return want
}

// xlsxTricky are texts that have tripped readers: spaces kept or not,
// line ends, XML's special characters, excelize's _xHHHH_ escapes, CJK,
// emoji, numbers as text.
var xlsxTricky = []string{
	"", " ", "  ", " leading", "trailing ", "  both  ", "\tTab", "line1\nline2", "cr\r\nlf", "lone\rcr", "\n",
	`quote "x"`, "comma,value", `<tag> & 'apos' "q" > <`, "a]]>b", "]]>", "&amp;", "&#20013;", "中文字符", "王芳",
	"😀 emoji 👍🏽", "𠮷野家", "_x0041_", "_x005F_x0041_", "x_x000D_y", "_x00e9_", "_xD800_", "_x", "__x0041__",
	"0123", "1e5", "-0", "TRUE", "#N/A", "=SUM(A1)", "\u00a0nbsp\u00a0", "\u2028sep", "\u200b", "Émile Zoë",
	"tab\tinside", strings.Repeat("长", 3000), strings.Repeat("ab,", 700),
}

var xlsxSheetNames = []string{"Sheet1", "客户", "Data 2", "Émile", "数据", "x", "Summary (all)"}

// xlsxRandomWorkbook builds a workbook with excelize's writer: a few
// sheets of cells of every type set one by one, or rows through the
// stream writer, with gaps between rows and columns.
func xlsxRandomWorkbook(t *testing.T, r *rand.Rand) ([]byte, []string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	perm := r.Perm(len(xlsxSheetNames))
	nSheets := 1 + r.IntN(3)
	var names []string
	for i := 0; i < nSheets; i++ {
		name := xlsxSheetNames[perm[i]]
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		if r.IntN(3) == 0 {
			xlsxStreamSheet(t, r, f, name, 1+r.IntN(300))
		} else {
			xlsxCellSheet(t, r, f, name)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), names
}

func xlsxRandomText(r *rand.Rand) string {
	if r.IntN(3) > 0 {
		return xlsxTricky[r.IntN(len(xlsxTricky))]
	}
	const letters = "abcXYZ 019,.;\"'<>&_-\n\t中文é😀"
	rs := []rune(letters)
	n := r.IntN(20)
	out := make([]rune, n)
	for i := range out {
		out[i] = rs[r.IntN(len(rs))]
	}
	return string(out)
}

func xlsxRandomNumber(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return float64(r.IntN(100000)) - 50000
	case 1:
		return r.Float64() * 1e15
	case 2:
		return -r.Float64() * 1e-10
	case 3:
		return math.MaxInt64
	case 4:
		return 45000 + r.Float64() // a date serial
	}
	return r.NormFloat64() * 1000
}

func xlsxCellSheet(t *testing.T, r *rand.Rand, f *excelize.File, sheet string) {
	date, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		t.Fatal(err)
	}
	row := 0
	for n := r.IntN(40); n > 0; n-- {
		row += 1 + r.IntN(3)*r.IntN(2) // sometimes a gap
		if r.IntN(8) == 0 {
			// a row element with no cells
			if err := f.SetRowHeight(sheet, row+1+r.IntN(3), 30); err != nil {
				t.Fatal(err)
			}
		}
		col := 0
		for m := r.IntN(12); m > 0; m-- {
			col += 1 + r.IntN(2)*r.IntN(3)
			cell, _ := excelize.CoordinatesToCellName(col, row)
			var err error
			switch r.IntN(14) {
			case 0:
				err = f.SetCellStr(sheet, cell, xlsxRandomText(r))
			case 1:
				err = f.SetCellValue(sheet, cell, xlsxRandomText(r))
			case 2:
				err = f.SetCellInt(sheet, cell, int64(r.IntN(1<<40))-1<<39)
			case 3:
				err = f.SetCellFloat(sheet, cell, xlsxRandomNumber(r), -1, 64)
			case 4:
				err = f.SetCellFloat(sheet, cell, xlsxRandomNumber(r), 2, 32)
			case 5:
				err = f.SetCellBool(sheet, cell, r.IntN(2) == 0)
			case 6:
				err = f.SetCellValue(sheet, cell, time.Date(1900+r.IntN(200), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), 0, 0, time.UTC))
			case 7:
				if err = f.SetCellFormula(sheet, cell, "SUM(A1:B2)"); err == nil && r.IntN(2) == 0 {
					err = f.SetCellValue(sheet, cell, r.IntN(100))
				}
			case 8:
				err = f.SetCellRichText(sheet, cell, []excelize.RichTextRun{
					{Text: xlsxRandomText(r), Font: &excelize.Font{Bold: true, Color: "FF0000", Size: 11, Family: "宋体"}},
					{Text: xlsxRandomText(r)},
					{Text: " tail ", Font: &excelize.Font{Italic: true, Underline: "single", VertAlign: "superscript"}},
				})
			case 9:
				err = f.SetCellDefault(sheet, cell, xlsxRandomText(r))
			case 10:
				err = f.SetCellValue(sheet, cell, nil)
			case 11:
				err = f.SetCellStyle(sheet, cell, cell, date)
			case 12:
				err = f.SetCellValue(sheet, cell, time.Duration(r.IntN(1e6))*time.Second)
			default:
				err = f.SetCellValue(sheet, cell, uint64(r.Uint64()))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func xlsxStreamSheet(t *testing.T, r *rand.Rand, f *excelize.File, sheet string, rows int) {
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		t.Fatal(err)
	}
	row := 0
	for ; rows > 0; rows-- {
		row += 1 + r.IntN(2)*r.IntN(3)
		values := make([]any, r.IntN(10))
		for i := range values {
			switch r.IntN(9) {
			case 0:
				values[i] = xlsxRandomText(r)
			case 1:
				values[i] = r.IntN(1000000) - 5000
			case 2:
				values[i] = xlsxRandomNumber(r)
			case 3:
				values[i] = r.IntN(2) == 0
			case 4:
				values[i] = time.Date(2000+r.IntN(30), 1, 1+r.IntN(300), 0, 0, 0, 0, time.UTC)
			case 5:
				values[i] = nil
			case 6:
				values[i] = []excelize.RichTextRun{{Text: xlsxRandomText(r), Font: &excelize.Font{Bold: true}}, {Text: "x"}}
			case 7:
				values[i] = excelize.Cell{Formula: "A1*2", Value: r.IntN(50)}
			default:
				values[i] = float32(r.Float64())
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1+r.IntN(2), row)
		if err := sw.SetRow(cell, values); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestXLSXFastMatchesExcelizeWritten compares the readers on workbooks
// excelize writes, for every way of naming the sheet, and checks the fast
// reader reads them all itself.
func TestXLSXFastMatchesExcelizeWritten(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 20
	}
	for seed := 0; seed < seeds; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		data, names := xlsxRandomWorkbook(t, r)
		what := fmt.Sprintf("workbook %d", seed)
		sheets := append([]string{"", strings.ToUpper(names[0]), "missing"}, names...)
		for _, sheet := range sheets {
			res := xlsxSame(t, what, data, sheet)
			want := xlsxWhole
			if res.err != "" {
				want = xlsxUpFront // a missing sheet among several
			}
			if got := xlsxPathOf(data, sheet); got != want {
				t.Fatalf("%s, sheet %q: %v, want %v", what, sheet, got, want)
			}
		}
	}
}

// TestXLSXFastStreamWriterLarge compares the readers on a sheet of 30,000
// rows written by excelize's stream writer (its XML is longer than the
// fast reader's chunks, so tokens straddle them), with shared strings and
// inline strings on a second sheet.
func TestXLSXFastStreamWriterLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	f := excelize.NewFile()
	xlsxStreamSheet(t, r, f, "Sheet1", 30000)
	if _, err := f.NewSheet("Shared"); err != nil {
		t.Fatal(err)
	}
	xlsxCellSheet(t, r, f, "Shared")
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, sheet := range []string{"", "Shared"} {
		if res := xlsxSame(t, "stream-written workbook", b.Bytes(), sheet); sheet == "" && len(res.rows) < 30000 {
			t.Fatalf("%d rows", len(res.rows))
		}
		if p := xlsxPathOf(b.Bytes(), sheet); p != xlsxWhole {
			t.Fatalf("sheet %q: %v", sheet, p)
		}
	}
}

// TestXLSXFastCRMExport compares the readers on the benchmark's CRM
// export (198,904 rows) when this machine has it.
func TestXLSXFastCRMExport(t *testing.T) {
	const path = "/tmp/e14/exports/crm_customers.xlsx"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%s: %v", path, err)
	}
	if testing.Short() {
		t.Skip("reads 143 MB of XML twice")
	}
	res := xlsxSame(t, path, data, "客户")
	if res.err != "" || len(res.rows) < 198904 {
		t.Fatalf("%d rows, error %q", len(res.rows), res.err)
	}
	if p := xlsxPathOf(data, "客户"); p != xlsxWhole {
		t.Fatalf("%v", p)
	}
}

// TestXLSXFastStopsWithEmit checks an emit error ends the reading with that
// error, and that a cancelled context stops it at a multiple of 4096 rows.
func TestXLSXFastStopsWithEmit(t *testing.T) {
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10000; i++ {
		cell, _ := excelize.CoordinatesToCellName(1, i)
		if err := sw.SetRow(cell, []any{i, "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	var last int64
	err = readXLSX(context.Background(), bytes.NewReader(b.Bytes()), "", func(line int64, _ []string, _ string) error {
		last = line
		if line == 7 {
			return stop
		}
		return nil
	})
	if err != stop || last != 7 {
		t.Fatalf("error %v after line %d", err, last)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = readXLSX(ctx, bytes.NewReader(b.Bytes()), "", func(line int64, _ []string, _ string) error {
		last = line
		if line == 5000 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || last != 8191 {
		t.Fatalf("error %v after line %d", err, last)
	}
}

// xlsxPart is one file of a hand-made archive.
type xlsxPart struct{ name, body string }

// xlsxZip writes parts into a zip archive, deflated.
func xlsxZip(t testing.TB, parts ...xlsxPart) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const (
	xlsxMainNS  = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	xlsxRelNS   = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	xlsxSheetNS = `xmlns="` + xlsxMainNS + `" xmlns:r="` + xlsxRelNS + `"`
)

// xlsxHand is a hand-made workbook of one sheet named Data: the sheet's XML
// (the content of its sheetData unless whole), the shared strings' XML if
// any, and the relationship's target of the sheet. Extra parts replace
// the usual part of their name, or are added.
type xlsxHand struct {
	sheet, sst, target string
	whole              bool // sheet is the whole part
	extra              []xlsxPart
	workbook           string // the workbook part's XML, if not the usual one
}

func (h xlsxHand) bytes(t testing.TB) []byte {
	return xlsxZip(t, h.parts()...)
}

func (h xlsxHand) parts() []xlsxPart {
	sheet := h.sheet
	if !h.whole {
		sheet = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
			`<worksheet ` + xlsxSheetNS + `><dimension ref="A1"/><sheetData>` + sheet + `</sheetData></worksheet>`
	}
	target := h.target
	if target == "" {
		target = "worksheets/sheet1.xml"
	}
	sheetPath := strings.TrimPrefix(target, "/")
	if !strings.HasPrefix(sheetPath, "xl/") {
		sheetPath = "xl/" + sheetPath
	}
	workbook := h.workbook
	if workbook == "" {
		workbook = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
			`<workbook ` + xlsxSheetNS + `><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`
	}
	rels := `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="` + xlsxRelNS + `/worksheet" Target="` + target + `"/>`
	if h.sst != "" {
		rels += `<Relationship Id="rId2" Type="` + xlsxRelNS + `/sharedStrings" Target="sharedStrings.xml"/>`
	}
	rels += `</Relationships>`
	parts := []xlsxPart{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/` + sheetPath + `" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
		{"_rels/.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="` + xlsxRelNS + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", workbook},
		{"xl/_rels/workbook.xml.rels", rels},
		{sheetPath, sheet},
	}
	if h.sst != "" {
		parts = append(parts, xlsxPart{"xl/sharedStrings.xml", h.sst})
	}
extra:
	for _, e := range h.extra {
		for i := range parts {
			if parts[i].name == e.name {
				parts[i] = e
				continue extra
			}
		}
		parts = append(parts, e)
	}
	return parts
}

func xlsxSST(items ...string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		fmt.Sprintf(`<sst xmlns="%s" count="%d" uniqueCount="%d">`, xlsxMainNS, len(items), len(items)) + strings.Join(items, "") + `</sst>`
}

// xlsxHandCases are workbooks excelize's writer does not make, each with
// how the fast reader is to take it.
var xlsxHandCases = []struct {
	name string
	book xlsxHand
	path xlsxPath
}{
	{"inline strings", xlsxHand{sheet: `<row r="1"><c r="A1" t="inlineStr"><is><t>plain</t></is></c><c r="B1" t="inlineStr"><is><t xml:space="preserve">  kept  </t></is></c></row>`}, xlsxWhole},
	{"inline rich text and phonetic runs", xlsxHand{sheet: `<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><b/><sz val="11"/><color rgb="FFFF0000"/><rFont val="MS Gothic"/><family val="3"/><charset val="128"/></rPr><t>東京</t></r><r><t xml:space="preserve"> 都</t></r><rPh sb="0" eb="2"><t>トウキョウ</t></rPh><phoneticPr fontId="1" type="noConversion"/></is></c></row>`}, xlsxWhole},
	{"inline text and runs, repeated", xlsxHand{sheet: `<row><c t="inlineStr"><is><t>first</t><r><t>r1</t><t>r1b</t></r><t>second</t></is><is><r><t>r2</t></r></is></c><c t="inlineStr"><is/></c><c t="inlineStr"><v>no is</v></c></row>`}, xlsxWhole},
	{"text nested in text", xlsxHand{sheet: `<row><c t="inlineStr"><is><t>a<x>hidden</x>b<!-- c -->c</t><foo><t>not mine</t></foo></is></c><c><v>1<!--x-->2<y>3</y>4</v></c><c><foo><v>deep</v></foo></c></row>`}, xlsxWhole},
	{"rows and cells without r", xlsxHand{sheet: `<row><c><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row><row r="5"><c><v>5</v></c><c r="D5"><v>d</v></c><c><v>e</v></c></row><row><c r="B6"><v>b</v></c></row>`}, xlsxWhole},
	{"gaps, order and duplicates", xlsxHand{sheet: `<row r="3"><c r="C3"><v>c3</v></c><c r="A3"><v>a3</v></c></row><row r="2"><c r="B2"><v>b2</v></c></row><row r="3"><c r="A3"><v>again</v></c></row><row r="7" spans="1:3"/><row r="9"><c r="XFD9"><v>last col</v></c></row><row r="10"></row>`}, xlsxWhole},
	{"entities and references", xlsxHand{sheet: `<row r="1"><c r="A1" t="inlineStr"><is><t>&#20013;&#x4E2D;&#x4e2d; &lt;&gt;&amp;&apos;&quot; &#13;&#10;&#9; &#x1F600;&#xD800;</t></is></c><c r="B&#49;" t="str"><v>&#65;&#x42;</v></c><c r="C1" t="inlineStr"><is><t><![CDATA[<b>&amp;</b> ]] >]]></t></is></c></row>`}, xlsxWhole},
	{"line ends", xlsxHand{sheet: "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a\r\nb\rc\n\rd\r\r\ne</t></is></c><c r=\"B1\" t=\"str\"><v>x\r</v></c></row><row\r\nr=\"2\"\r\n><c\tr='A2'\nt='str'><v>tab</v></c ></row >"}, xlsxWhole},
	{"shared strings", xlsxHand{
		sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v> 1 </v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>99</v></c><c r="F1" t="s"><v>-1</v></c><c r="G1" t="s"><v>x</v></c><c r="H1" t="s"><v>+1</v></c><c r="I1" t="s"><v>1.0</v></c><c r="J1" t="s"/><c r="K1" t="s"><f>A1</f></c><c r="L1" t="s"><v>99999999999999999999</v></c></row>`,
		sst: xlsxSST(`<si><t>zero</t></si>`, `<si><r><rPr><b val="0"/><i val="true"/><strike/><color theme="1" tint="-0.25" auto="1" indexed="64"/></rPr><t>one</t></r><r><t xml:space="preserve"> run</t></r></si>`,
			`<si><t>ルビ</t><rPh sb="0" eb="2"><t>ルビ</t></rPh><phoneticPr fontId="1"/></si>`, `<si><t>_x0041__x005F_x0042__x000D_</t></si>`)}, xlsxWhole},
	{"shared strings after other elements", xlsxHand{sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>`,
		sst: `<?xml version="1.0"?><!-- c --><x:sst xmlns:x="` + xlsxMainNS + `" count=" 2 "><x:extLst><x:si><x:t>not an item</x:t></x:si></x:extLst><x:si><x:t>first</x:t></x:si>text<x:si><x:t>second</x:t></x:si></x:sst><garbage`}, xlsxWhole},
	{"empty shared strings", xlsxHand{sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>1</v></c></row>`, sst: " "}, xlsxWhole},
	{"types", xlsxHand{sheet: `<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="e"><v>#DIV/0!</v></c><c r="C1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="D1" t="d"><v>2024-01-02T03:04:05Z</v></c><c r="E1" t="n"><v>1.5E-3</v></c><c r="F1" t="zz"><v>odd</v></c><c r="G1"><f>SUM(A1)</f></c><c r="H1" t="str"><f t="shared" ref="H1:H2" si="0" ca="1" aca="false"/></c><c r="I1" s="3"><v>45000.5</v></c><c r="J1"><v></v></c><c r="K1" t="inlineStr"/></row>`}, xlsxWhole},
	{"absolute sheet target", xlsxHand{target: "/xl/worksheets/sheet1.xml", sheet: `<row r="1"><c r="A1"><v>abs</v></c></row>`}, xlsxWhole},
	{"sheet outside worksheets", xlsxHand{target: "data/table.xml", sheet: `<row r="1"><c r="A1"><v>elsewhere</v></c></row>`}, xlsxUpFront},
	{"sheet file named otherwise", xlsxHand{target: "worksheets/Data.xml", sheet: `<row r="1"><c r="A1"><v>named</v></c></row>`}, xlsxWhole},
	{"prefixed elements", xlsxHand{whole: true, sheet: `<x:worksheet xmlns:x="` + xlsxMainNS + `"><x:sheetData><x:row r="1"><x:c r="A1" x:t="inlineStr"><x:is><x:t>px</x:t></x:is></x:c><x:c r="B1"><x:v>2</x:v></x:c></x:row></x:sheetData></x:worksheet>`}, xlsxWhole},
	{"strict namespaces", xlsxHand{whole: true,
		sheet:    `<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>`,
		sst:      `<sst xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><si><t>strict http://purl.oclc.org/ooxml/spreadsheetml/main</t></si></sst>`,
		workbook: `<workbook xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main" xmlns:r="http://purl.oclc.org/ooxml/officeDocument/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`}, xlsxWhole},
	{"strict names in shared text", xlsxHand{sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`,
		sst: xlsxSST(`<si><t>http://purl.oclc.org/ooxml/drawingml/main</t></si>`)}, xlsxUpFront},
	{"shared strings without namespace", xlsxHand{sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`, sst: `<sst><si><t>a</t></si></sst>`}, xlsxUpFront},
	{"shared strings with a bad count", xlsxHand{sheet: `<row r="3"><c r="A3"><v>1</v></c></row>`, sst: `<sst xmlns="` + xlsxMainNS + `" count="many"><si><t>a</t></si></sst>`}, xlsxUpFront},
	{"shared strings with a bad run property", xlsxHand{sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`, sst: xlsxSST(`<si><r><rPr><sz val="big"/></rPr><t>a</t></r></si>`)}, xlsxUpFront},
	{"shared strings cut short", xlsxHand{sheet: `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`, sst: `<sst xmlns="` + xlsxMainNS + `"><si><t>a</t></si>`}, xlsxUpFront},
	{"attribute r as a namespace", xlsxHand{sheet: `<row r="1"><c xmlns:r="urn:x" t="str"><v>v</v></c></row>`}, xlsxWhole},
	{"bad cell references", xlsxHand{sheet: `<row r="1"><c r="$B$1"><v>abs</v></c><c r="c1"><v>lower</v></c><c r="A+1"><v>plus</v></c></row><row r="2"><c r="1A"><v>x</v></c></row>`}, xlsxWhole},
	{"column past XFD", xlsxHand{sheet: `<row r="1"><c r="A1"><v>a</v></c><c r="XFE1"><v>b</v></c></row>`}, xlsxWhole},
	{"reference past the last row", xlsxHand{sheet: `<row r="1"><c r="A1048577"><v>b</v></c></row>`}, xlsxWhole},
	{"row past the last row", xlsxHand{sheet: `<row r="1"><c><v>1</v></c></row><row r="1048577"><c><v>b</v></c></row>`}, xlsxWhole},
	{"first row past the last row", xlsxHand{sheet: `<row r="1048577"><c><v>b</v></c></row>`}, xlsxWhole},
	{"row number not a number", xlsxHand{sheet: `<row r="1"><c><v>1</v></c></row><row r="two"><c><v>2</v></c></row><row r="3"><c><v>3</v></c></row>`}, xlsxWhole},
	{"first row number not a number", xlsxHand{sheet: `<row r="x"><c><v>1</v></c></row>`}, xlsxWhole},
	{"row numbers odd", xlsxHand{sheet: `<row r="0"><c><v>zero</v></c></row><row r="-2"><c><v>neg</v></c></row><row r="+4" r="5"><c><v>two r</v></c></row><row r=" 6"><c><v>space</v></c></row>`}, xlsxWhole},
	{"self-closing rows and cells", xlsxHand{sheet: `<row r="1"/><row r="2"><c r="B2"/><c r="C2" t="s"/></row><row r="4"><c r="A4"><v>x</v></c></row>`}, xlsxWhole},
	{"no sheetData", xlsxHand{whole: true, sheet: `<worksheet ` + xlsxSheetNS + `><sheetViews/></worksheet>`}, xlsxWhole},
	{"sheet part cut in its first tag", xlsxHand{whole: true, sheet: `<w`}, xlsxHandOver},
	{"empty sheet part", xlsxHand{whole: true, sheet: ``}, xlsxWhole},
	{"blank sheet part", xlsxHand{whole: true, sheet: " \n "}, xlsxWhole},
	{"row elements after sheetData", xlsxHand{whole: true, sheet: `<worksheet ` + xlsxSheetNS + `><sheetData><row r="1"><c><v>in</v></c></row></sheetData><extLst><row r="5"><c><v>out</v></c></row></extLst></worksheet>`}, xlsxWhole},
	{"rows before sheetData", xlsxHand{whole: true, sheet: `<worksheet ` + xlsxSheetNS + `><sheetPr><row><c><v>pre</v></c></row></sheetPr><sheetData><row><c><v>in</v></c></row></sheetData></worksheet>`}, xlsxWhole},
	{"byte order mark and declaration", xlsxHand{whole: true, sheet: "\ufeff<?xml version='1.0' encoding='utf-8'?><?other stuff?><!-- c --><worksheet " + xlsxSheetNS + `><sheetData><row r="1"><c r="A1"><v>bom</v></c></row></sheetData></worksheet>`}, xlsxWhole},
	{"style index not a number", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2" s="x"><v>2</v></c></row>`}, xlsxHandOver},
	{"formula attribute not a boolean", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><f ca="maybe">A1</f><v>2</v></c></row>`}, xlsxHandOver},
	{"cell in a cell", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><c r="B2"><v>2</v></c><v>3</v></c></row>`}, xlsxHandOver},
	{"inline run property not a number", xlsxHand{sheet: `<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><family val="x"/></rPr><t>a</t></r></is></c></row>`}, xlsxHandOver},
	{"phonetic run bounds not numbers", xlsxHand{sheet: `<row r="1"><c r="A1" t="inlineStr"><is><t>a</t><rPh sb="-1" eb="2"><t>b</t></rPh></is></c></row>`}, xlsxHandOver},
	{"bold with a child", xlsxHand{sheet: `<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><b><x/></b></rPr><t>a</t></r></is></c></row>`}, xlsxHandOver},
	{"XML cut short in a row", xlsxHand{whole: true, sheet: `<worksheet ` + xlsxSheetNS + `><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c><c r="B2"><v>3`}, xlsxHandOver},
	{"XML cut short between cells", xlsxHand{whole: true, sheet: `<worksheet ` + xlsxSheetNS + `><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c>`}, xlsxWhole},
	{"mismatched tags", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</c></v></row>`}, xlsxHandOver},
	{"unknown entity", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>&nbsp;</v></c></row>`}, xlsxHandOver},
	{"character not allowed", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>a&#1;b</v></c></row>`}, xlsxHandOver},
	{"invalid UTF-8", xlsxHand{sheet: "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row><row r=\"2\"><c r=\"A2\"><v>a\xffb</v></c></row>"}, xlsxHandOver},
	{"unescaped ]]>", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>]]></v></c></row>`}, xlsxHandOver},
	{"DOCTYPE", xlsxHand{whole: true, sheet: `<?xml version="1.0"?><!DOCTYPE worksheet><worksheet ` + xlsxSheetNS + `><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>`}, xlsxHandOver},
	{"encoding declared", xlsxHand{whole: true, sheet: `<?xml version="1.0" encoding="ISO-8859-1"?><worksheet ` + xlsxSheetNS + "><sheetData><row r=\"1\"><c r=\"A1\" t=\"str\"><v>caf\xe9</v></c></row></sheetData></worksheet>"}, xlsxHandOver},
	{"non-ASCII element name", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><données/><v>2</v></c></row>`}, xlsxHandOver},
	{"garbage after the root", xlsxHand{whole: true, sheet: `<worksheet ` + xlsxSheetNS + `><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet><<<`}, xlsxHandOver},
	{"sheet named in another case", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row>`,
		workbook: `<workbook ` + xlsxSheetNS + `><sheets><sheet name="DATA" sheetId="1" r:id="rId1"/></sheets></workbook>`}, xlsxWhole},
	{"two sheets one part", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row>`,
		workbook: `<workbook ` + xlsxSheetNS + `><sheets><sheet name="Other" sheetId="2" r:id="rId9"/><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`}, xlsxWhole},
	{"sheets named alike", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row>`,
		workbook: `<workbook ` + xlsxSheetNS + `><sheets><sheet name="data" sheetId="2" r:id="rId1"/><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`}, xlsxUpFront},
	{"no sheets", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row>`, workbook: `<workbook ` + xlsxSheetNS + `><sheets/></workbook>`}, xlsxUpFront},
	{"sheet part missing", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row>`,
		workbook: `<workbook ` + xlsxSheetNS + `><sheets><sheet name="Data" sheetId="1" r:id="rId7"/></sheets></workbook>`}, xlsxUpFront},
	{"broken workbook part", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row>`, workbook: `<workbook ` + xlsxSheetNS + `><sheets>`}, xlsxUpFront},
	{"broken styles part", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row>`, extra: []xlsxPart{{"xl/styles.xml", `<styleSheet xmlns="` + xlsxMainNS + `"><numFmts count="x"/>`}}}, xlsxUpFront},
	{"broken content types", xlsxHand{sheet: `<row r="2"><c r="A2"><v>1</v></c></row>`, extra: []xlsxPart{{"[Content_Types].xml", `<Types`}}}, xlsxUpFront},
	{"content types twice", xlsxHand{sheet: `<row r="2"><c r="A2"><v>1</v></c></row>`, extra: []xlsxPart{{"[content_types].XML", `<Types`}}}, xlsxUpFront},
	{"two parts of one name", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row>`, extra: []xlsxPart{{`xl\worksheets\sheet1.xml`, `<worksheet><sheetData><row><c><v>second</v></c></row></sheetData></worksheet>`}}}, xlsxUpFront},
	{"another sheet part broken", xlsxHand{sheet: `<row r="1"><c r="A1"><v>1</v></c></row>`, extra: []xlsxPart{{"xl/worksheets/sheet2.xml", `<worksheet><sheetData><row>`}}}, xlsxWhole},
}

// TestXLSXFastHandWritten compares the readers on XML excelize's writer
// does not produce, and checks which of them read each workbook.
func TestXLSXFastHandWritten(t *testing.T) {
	for _, c := range xlsxHandCases {
		data := c.book.bytes(t)
		for _, sheet := range []string{"", "Data", "data", "Other", "missing"} {
			xlsxSame(t, c.name, data, sheet)
		}
		if got := xlsxPathOf(data, "Data"); got != c.path {
			t.Errorf("%s: %v, want %v", c.name, got, c.path)
		}
	}
}

// TestXLSXFastHandWrittenDetails pins a few of the hand-made cases' rows,
// so that the comparison with excelize is not of two empty results.
func TestXLSXFastHandWrittenDetails(t *testing.T) {
	want := map[string][][]string{
		"inline rich text and phonetic runs":  {{"東京 都"}},
		"inline text and runs, repeated":      {{"secondr1br2", "", "no is"}},
		"text nested in text":                 {{"abc", "124", "deep"}},
		"rows and cells without r":            {{"1", "2"}, {"3"}, nil, nil, {"5", "", "", "d", "e"}, {"", "b"}},
		"entities and references":             {{"中中中 <>&'\" \r\n\t 😀\uFFFD", "AB", "<b>&amp;</b> ]] >"}},
		"line ends":                           {{"a\nb\nc\n\nd\n\ne", "x\n"}, {"tab"}},
		"shared strings":                      {{"zero", "one run", "ルビ", "A_x0042_\r", "", "", "zero", "one run", "zero", "", ""}},
		"strict namespaces":                   {{"strict " + xlsxMainNS}},
		"shared strings after other elements": {{"first", "second"}},
	}
	for _, c := range xlsxHandCases {
		rows, ok := want[c.name]
		if !ok {
			continue
		}
		res := xlsxCollect(xlsxFast, c.book.bytes(t), "")
		var got [][]string
		for _, r := range res.rows {
			got = append(got, r.cells)
		}
		if res.err != "" || !reflect.DeepEqual(got, rows) {
			t.Errorf("%s: %q (error %q), want %q", c.name, got, res.err, rows)
		}
	}
}

// TestXLSXFastCorrupt reads damaged workbooks: cut short, overwritten,
// bytes flipped, not an archive. Each gives what excelize gives, or, where
// the damage is in the deflated XML of the sheet being read, the same
// error after the rows before the damage; none panics.
func TestXLSXFastCorrupt(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	good, names := xlsxRandomWorkbook(t, r)
	for len(names) > 1 || len(good) < 8000 {
		good, names = xlsxRandomWorkbook(t, r)
	}
	inputs := map[string][]byte{
		"empty":   {},
		"garbage": []byte("this is not a workbook at all, just text\n"),
		"OLE":     append([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, make([]byte, 600)...),
		"zeros":   make([]byte, 4096),
	}
	for _, n := range []int{1, 4, 8, 30, 100, len(good) / 3, len(good) / 2, len(good) - 22, len(good) - 1} {
		inputs[fmt.Sprintf("cut to %d bytes", n)] = good[:n]
	}
	for i := 0; i < 300; i++ {
		b := bytes.Clone(good)
		for k := 1 + r.IntN(3); k > 0; k-- {
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		}
		inputs[fmt.Sprintf("flipped %d", i)] = b
	}
	for i := 0; i < 50; i++ {
		b := bytes.Clone(good)
		at := r.IntN(len(b) - 64)
		copy(b[at:], junk(64, uint64(i)))
		inputs[fmt.Sprintf("overwritten %d", i)] = b
	}
	for what, data := range inputs {
		want := xlsxCollect(xlsxOld, data, "")
		got := xlsxCollect(xlsxFast, data, "")
		if got.err != want.err {
			t.Fatalf("%s: error %q, excelize %q", what, got.err, want.err)
		}
		if want.err != "" && strings.HasPrefix(want.err, "open XLSX: ") {
			// excelize refuses the archive on opening; the fast reader
			// finds a damaged sheet part only as it inflates it.
			continue
		}
		if !reflect.DeepEqual(got.rows, want.rows) {
			t.Fatalf("%s: rows differ (%d, excelize %d)", what, len(got.rows), len(want.rows))
		}
	}
}

// FuzzXLSXFast compares the readers on workbooks whose sheet XML (and
// shared strings) the fuzzer writes.
func FuzzXLSXFast(f *testing.F) {
	for _, c := range xlsxHandCases {
		f.Add(c.book.sheet, c.book.sst)
	}
	f.Fuzz(func(t *testing.T, sheet, sst string) {
		if len(sheet) > 1<<16 || len(sst) > 1<<16 {
			return
		}
		data := xlsxHand{sheet: sheet, sst: sst}.bytes(t)
		want := xlsxCollect(xlsxOld, data, "")
		got := xlsxCollect(xlsxFast, data, "")
		if got.err != want.err || !reflect.DeepEqual(got.rows, want.rows) {
			t.Fatalf("sheet %q, shared strings %q: %d rows, error %q; excelize %d rows, error %q", sheet, sst, len(got.rows), got.err, len(want.rows), want.err)
		}
	})
}

// BenchmarkXLSXCRMExport times the two readers over the benchmark's CRM
// export (emit does nothing).
func BenchmarkXLSXCRMExport(b *testing.B) {
	data, err := os.ReadFile("/tmp/e14/exports/crm_customers.xlsx")
	if err != nil {
		b.Skip(err)
	}
	for _, r := range []struct {
		name string
		read func(context.Context, io.Reader, string, func(int64, []string, string) error) error
	}{{"fast", readXLSX}, {"excelize", readXLSXExcelize}} {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if err := r.read(context.Background(), bytes.NewReader(data), "客户", func(int64, []string, string) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestXLSXFastLargeSharedStrings compares the readers on a shared strings
// part past 16 MB, which excelize reads its other way (every <si>, at any
// depth, root unchecked), and on the same items in a small part.
func TestXLSXFastLargeSharedStrings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 17 MB shared strings part")
	}
	var items strings.Builder
	items.WriteString(`<extLst><si><t>nested item</t></si></extLst>`)
	n := 0
	for items.Len() <= sstTempSize {
		fmt.Fprintf(&items, `<si><t>item %d &amp; 文字</t></si>`, n)
		n++
	}
	items.WriteString(`<si><r><t>rich </t></r><r><rPr><b/></rPr><t>last</t></r></si>`)
	sheet := fmt.Sprintf(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>%d</v></c><c r="D1" t="s"><v>%d</v></c><c r="E1" t="s"><v>%d</v></c></row>`, n, n+1, n+2)
	for _, small := range []bool{false, true} {
		body := items.String()
		if small {
			body = body[:strings.LastIndex(body[:20000], "<si>")] + body[strings.LastIndex(body, "<si><r>"):]
		}
		data := xlsxHand{sheet: sheet, sst: `<sst xmlns="` + xlsxMainNS + `">` + body + `</sst>`}.bytes(t)
		res := xlsxSame(t, fmt.Sprintf("shared strings of %d bytes", len(body)), data, "")
		// Past 16 MB the <si> inside extLst is item 0.
		first := "item 0 & 文字"
		if !small {
			first = "nested item"
		}
		if len(res.rows) != 1 || len(res.rows[0].cells) < 2 || res.rows[0].cells[0] != first {
			t.Fatalf("%+v", res)
		}
		if p := xlsxPathOf(data, ""); p != xlsxWhole {
			t.Fatalf("%v", p)
		}
	}
}

// TestXLSXFastMutatedXML compares the readers on the hand-made cases with
// their sheet XML and shared strings damaged at random: characters of
// XML's syntax inserted, bytes dropped or doubled, stretches cut out.
func TestXLSXFastMutatedXML(t *testing.T) {
	rounds := 40
	if testing.Short() {
		rounds = 5
	}
	const alphabet = `<>/="'&;#x:!?[]- ` + "\r\n\t\x00\xff" + `rcvtisfRCV0129AZ中`
	r := rand.New(rand.NewPCG(5, 6))
	mutate := func(s string) string {
		b := []byte(s)
		for k := 1 + r.IntN(4); k > 0 && len(b) > 0; k-- {
			i := r.IntN(len(b))
			switch r.IntN(4) {
			case 0:
				b = append(b[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
			case 1:
				b = append(b[:i], b[i+1:]...)
			case 2:
				b = append(b[:i], append([]byte{b[i]}, b[i:]...)...)
			default:
				j := min(len(b), i+1+r.IntN(20))
				b = append(b[:i], b[j:]...)
			}
		}
		return string(b)
	}
	paths := map[xlsxPath]int{}
	for _, c := range xlsxHandCases {
		for round := 0; round < rounds; round++ {
			book := c.book
			if book.sst == "" || r.IntN(2) == 0 {
				book.sheet = mutate(book.sheet)
			} else {
				book.sst = mutate(book.sst)
			}
			data := book.bytes(t)
			xlsxSame(t, fmt.Sprintf("%s, mutated: sheet %q, shared strings %q", c.name, book.sheet, book.sst), data, "")
			paths[xlsxPathOf(data, "")]++
		}
	}
	t.Logf("read %v", paths)
}

// xlsxRawPart is a part written into an archive as it is found there,
// right or wrong: stored or deflated, its CRC and size as given.
type xlsxRawPart struct {
	xlsxPart
	store  bool
	crc    func(uint32) uint32 // nil: the right one
	size   func(uint64) uint64 // the declared uncompressed size; nil: the right one
	damage func([]byte) []byte // done to the deflated bytes
}

func xlsxZipRaw(t testing.TB, parts ...xlsxRawPart) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, p := range parts {
		data := []byte(p.body)
		fh := &zip.FileHeader{Name: p.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: uint64(len(data))}
		if !p.store {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.DefaultCompression)
			fw.Write(data)
			fw.Close()
			data = c.Bytes()
			fh.Method = zip.Deflate
		}
		if p.damage != nil {
			data = p.damage(data)
		}
		fh.CompressedSize64 = uint64(len(data))
		if p.crc != nil {
			fh.CRC32 = p.crc(fh.CRC32)
		}
		if p.size != nil {
			fh.UncompressedSize64 = p.size(fh.UncompressedSize64)
		}
		w, err := zw.CreateRaw(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestXLSXFastDamagedParts compares the readers on archives whose parts
// are damaged below the XML: a wrong CRC (excelize reads the part all the
// same), a wrong declared size, corrupt deflated data in the sheet read or
// in another one (excelize refuses the workbook on opening; the fast
// reader finds the damage in the sheet it reads only when it gets there,
// and returns excelize's error then).
func TestXLSXFastDamagedParts(t *testing.T) {
	var rows strings.Builder
	for i := 1; i <= 20000; i++ {
		fmt.Fprintf(&rows, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>name %d</t></is></c><c r="B%d"><v>%d</v></c><c r="C%d" t="s"><v>%d</v></c></row>`, i, i, i, i, i*7, i, i%2)
	}
	book := xlsxHand{sheet: rows.String(), sst: xlsxSST(`<si><t>even</t></si>`, `<si><t>odd</t></si>`),
		extra: []xlsxPart{{"xl/worksheets/sheet2.xml", `<worksheet xmlns="` + xlsxMainNS + `"><sheetData><row r="1"><c r="A1"><v>other sheet</v></c></row></sheetData></worksheet>`}}}
	flip := func(at float64) func([]byte) []byte {
		return func(b []byte) []byte {
			i := int(float64(len(b)) * at)
			for k := i; k < i+8; k++ {
				b[k] ^= 0x5a
			}
			return b
		}
	}
	ones := func(at float64) func([]byte) []byte {
		return func(b []byte) []byte {
			i := int(float64(len(b)) * at)
			for k := i; k < i+64; k++ {
				b[k] = 0xff
			}
			return b
		}
	}
	cut := func(at float64) func([]byte) []byte {
		return func(b []byte) []byte { return b[:int(float64(len(b))*at)] }
	}
	cases := []struct {
		name   string
		part   string
		change func(*xlsxRawPart)
		path   xlsxPath
		rows   bool // the rows must match too
	}{
		{"sheet CRC wrong", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.crc = func(c uint32) uint32 { return c ^ 1 } }, xlsxWhole, true},
		{"stored sheet CRC wrong", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.store, p.crc = true, func(c uint32) uint32 { return c ^ 1 } }, xlsxWhole, true},
		{"sheet size too large", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.size = func(n uint64) uint64 { return n + 100 } }, xlsxHandOver, true},
		{"sheet size too small", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.size = func(n uint64) uint64 { return n - 100000 } }, xlsxHandOver, true},
		{"stored sheet size too large", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.store, p.size = true, func(n uint64) uint64 { return n + 100 } }, xlsxHandOver, true},
		{"stored sheet size too small", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.store, p.size = true, func(n uint64) uint64 { return n - 100001 } }, xlsxHandOver, true},
		{"sheet deflated data corrupt", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.damage = flip(0.6) }, xlsxHandOver, false},
		{"sheet deflated data corrupt at the end", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.damage = flip(0.99) }, xlsxHandOver, false},
		{"sheet deflated data not deflate", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.damage = ones(0.7) }, xlsxHandOver, false},
		{"sheet deflated data cut short", "xl/worksheets/sheet1.xml", func(p *xlsxRawPart) { p.damage = cut(0.8) }, xlsxHandOver, false},
		{"other sheet deflated data corrupt", "xl/worksheets/sheet2.xml", func(p *xlsxRawPart) { p.damage = flip(0.5) }, xlsxUpFront, true},
		{"shared strings CRC wrong", "xl/sharedStrings.xml", func(p *xlsxRawPart) { p.crc = func(c uint32) uint32 { return c ^ 1 } }, xlsxUpFront, true},
		{"styles deflated data corrupt", "xl/styles.xml", func(p *xlsxRawPart) { p.damage = flip(0.5) }, xlsxUpFront, true},
	}
	for _, c := range cases {
		parts := book.parts()
		if c.part == "xl/styles.xml" {
			parts = append(parts, xlsxPart{"xl/styles.xml", `<styleSheet xmlns="` + xlsxMainNS + `">` + strings.Repeat(`<!-- padding -->`, 50) + `</styleSheet>`})
		}
		raw := make([]xlsxRawPart, len(parts))
		found := false
		for i, p := range parts {
			raw[i].xlsxPart = p
			if p.name == c.part {
				c.change(&raw[i])
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: no part %s", c.name, c.part)
		}
		data := xlsxZipRaw(t, raw...)
		want := xlsxCollect(xlsxOld, data, "")
		got := xlsxCollect(xlsxFast, data, "")
		if got.err != want.err || c.rows && !reflect.DeepEqual(got.rows, want.rows) {
			t.Fatalf("%s: %d rows, error %q; excelize %d rows, error %q", c.name, len(got.rows), got.err, len(want.rows), want.err)
		}
		if p := xlsxPathOf(data, ""); p != c.path {
			t.Errorf("%s: %v, want %v", c.name, p, c.path)
		}
		t.Logf("%s: %d rows, excelize %d, error %q", c.name, len(got.rows), len(want.rows), want.err)
	}
}
