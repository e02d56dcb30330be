package etl

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/xuri/excelize/v2"
)

// xlsxRows is excelize's Rows iterator (Next and Columns with
// RawCellValue, v2.11.1) replayed over xmlScanner tokens, statement for
// statement where the statements decide what comes out:
//   - a <row> element anywhere (any prefix: excelize looks at local names
//     only) starts a row; its r attribute, when non-zero, sets the row
//     number, and a row without one is the one after the last. Row numbers
//     skipped over come out as rows of no cells (nil). A row numbered at or
//     before the current one is read into the current row, after its cells;
//   - a </sheetData> ends the rows, and so does the end of the XML;
//   - a <c> goes to the column of its r reference, or to the one after the
//     previous cell when it has none; blank columns before it are filled
//     with "", a cell of an earlier column is appended at the end all the
//     same, and a cell whose value is "" and has no formula is dropped;
//   - a cell's value is the text of its last <v>, except t="s" (the shared
//     string at that index; outside the table, "") and t="inlineStr" with
//     an <is> (the string item's text). <v>, <f> and <is> count at any depth
//     inside the cell.
//
// Where excelize would go its own way on input this code does not follow
// (a style index that does not parse, a cell inside a cell, an attribute
// its Unmarshal cannot convert, XML the scanner gives up on, the end of the
// XML inside a cell), fail is set and the reader hands over to excelize.
type xlsxRows struct {
	sc   *xmlScanner
	sst  []string
	fail bool

	curRow, seekRow int
	err             error // excelize's rows.err: ErrMaxRows
	// pending is excelize's rows.token: a <row> start tag read ahead, whose
	// r attribute (num, numErr) Columns reads again.
	pending bool
	num     int
	numErr  error

	v     []byte   // the cell's <v>
	x     xlsxText // the cell's <is>
	width int      // the length of the last row with cells: the next one's capacity
}

// next is Rows.Next.
func (r *xlsxRows) next() bool {
	if r.err != nil {
		return false
	}
	r.seekRow++
	if r.curRow >= r.seekRow {
		return true
	}
	for {
		switch r.sc.next() {
		case xmlStart:
			if string(r.sc.local) == "row" {
				r.curRow++
				n, err := attrInt(r.sc.attrs, "r")
				if n > excelize.TotalRows {
					r.err = excelize.ErrMaxRows
					return false
				}
				if n != 0 {
					r.curRow = n
				}
				r.pending, r.num, r.numErr = true, n, err
				return true
			}
		case xmlEnd:
			if string(r.sc.local) == "sheetData" {
				return false
			}
		case xmlText:
		case xmlEOF:
			return false
		default:
			r.fail = true
			return false
		}
	}
}

// columns is Rows.Columns.
func (r *xlsxRows) columns() ([]string, error) {
	if r.curRow > r.seekRow {
		return nil, nil
	}
	var cells []string
	var rowErr error
	col := 0
	for {
		kind := xmlStart
		if !r.pending {
			kind = r.sc.next()
		}
		switch kind {
		case xmlStart:
			if r.pending || string(r.sc.local) == "row" {
				n := r.num
				if r.pending {
					rowErr = r.numErr
				} else {
					n, rowErr = attrInt(r.sc.attrs, "r")
				}
				if n > excelize.TotalRows {
					r.err, r.pending = excelize.ErrMaxRows, false
					return cells, r.err
				} else if n != 0 {
					r.curRow = n
				} else if !r.pending {
					r.curRow++
				}
				r.pending, r.num, r.numErr = true, n, rowErr
				if r.curRow > r.seekRow {
					r.pending = false
					return cells, rowErr
				}
			} else if string(r.sc.local) == "c" {
				var err error
				if cells, col, err = r.cell(cells, col); r.fail {
					return nil, nil
				} else if err != nil {
					rowErr = err
				}
			}
			r.pending = false
			if rowErr != nil {
				return cells, rowErr
			}
		case xmlEnd:
			if string(r.sc.local) == "sheetData" {
				return cells, rowErr
			}
		case xmlText:
		case xmlEOF:
			return cells, rowErr
		default:
			r.fail = true
			return nil, nil
		}
	}
}

type xlsxCellType uint8

const (
	cellValue  xlsxCellType = iota // the text of <v>: numbers, dates, booleans, errors, formula strings, unknown types
	cellShared                     // t="s"
	cellInline                     // t="inlineStr"
)

// cell reads a <c> whose start tag was just read and adds its value to
// cells; col is the column of the cell before it. It returns the cells, the
// cell's column and excelize's error for a bad r reference.
func (r *xlsxRows) cell(cells []string, col int) ([]string, int, error) {
	sc := r.sc
	var ref []byte
	typ := cellValue
	for _, a := range sc.attrs {
		switch string(a.local) {
		case "r":
			ref = a.value
		case "s":
			// excelize stops reading the cell's attributes and content at a
			// style index strconv refuses, and reads the content as row
			// content: left to it.
			if !isInt64(a.value) {
				r.fail = true
				return cells, col, nil
			}
		case "t":
			switch string(a.value) {
			case "s":
				typ = cellShared
			case "inlineStr":
				typ = cellInline
			default:
				typ = cellValue
			}
		}
	}
	col++
	refCol, refErr := 0, error(nil)
	if len(ref) > 0 {
		refCol, refErr = cellColumn(ref)
	}
	r.v = r.v[:0]
	r.x.reset()
	formula := false
content:
	for depth := 0; ; {
		ok := true
		switch sc.next() {
		case xmlStart:
			switch string(sc.local) {
			case "v":
				r.v, ok = elementText(sc, r.v[:0])
			case "f":
				formula = true
				ok = formulaAttrsParse(sc.attrs) && skipElement(sc)
			case "is":
				r.x.present = true
				ok = decodeItem(sc, &r.x)
			case "c":
				ok = false // excelize's cell would end at the inner </c>
			default:
				depth++
			}
		case xmlEnd:
			if depth == 0 {
				break content
			}
			depth--
		case xmlText:
		default:
			ok = false
		}
		if !ok {
			r.fail = true
			return cells, col, nil
		}
	}
	if len(ref) > 0 {
		if refErr != nil {
			return cells, -1, refErr
		}
		col = refCol
	}
	var val string
	switch {
	case typ == cellShared:
		if len(r.v) > 0 {
			if i := sharedIndex(r.v); i >= 0 && i < len(r.sst) {
				val = r.sst[i]
			}
		}
	case typ == cellInline && r.x.present:
		val = r.x.String()
	default:
		val = string(r.v)
	}
	if val != "" || formula {
		if cells == nil {
			cells = make([]string, 0, min(max(r.width, col), 512))
		}
		for blank := col - len(cells); blank > 1; blank-- {
			cells = append(cells, "")
		}
		cells = append(cells, val)
		r.width = len(cells)
	}
	return cells, col, nil
}

// formulaAttrsParse checks the attributes excelize's xlsxF maps to bool and
// int, which Unmarshal must convert.
func formulaAttrsParse(attrs []xmlAttr) bool {
	for _, a := range attrs {
		switch string(a.local) {
		case "aca", "dt2D", "dtr", "del1", "del2", "ca", "bx":
			if len(a.value) > 0 && !parseBool(strings.TrimSpace(string(a.value))) {
				return false
			}
		case "si":
			if len(a.value) > 0 && !parseInt64(strings.TrimSpace(string(a.value))) {
				return false
			}
		}
	}
	return true
}

// attrInt is excelize's attrValToInt: strconv.Atoi of each attribute of
// the local name in turn, stopping at the first error (with the value
// Atoi gave with it).
func attrInt(attrs []xmlAttr, local string) (val int, err error) {
	for _, a := range attrs {
		if string(a.local) == local {
			if val, err = atoi(a.value); err != nil {
				return
			}
		}
	}
	return
}

// atoi is strconv.Atoi, without a string for plain digits.
func atoi(b []byte) (int, error) {
	if n := len(b); n > 0 && n <= 18 {
		v := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return strconv.Atoi(string(b))
			}
			v = v*10 + int(c-'0')
		}
		return v, nil
	}
	return strconv.Atoi(string(b))
}

// isInt64 reports whether strconv.ParseInt(b, 10, 64) takes b.
func isInt64(b []byte) bool {
	if n := len(b); n > 0 && n <= 18 {
		for _, c := range b {
			if c < '0' || c > '9' {
				return parseInt64(string(b))
			}
		}
		return true
	}
	return parseInt64(string(b))
}

// sharedIndex is the index excelize reads from a t="s" cell's value:
// strconv.Atoi after strings.TrimSpace, its error ignored.
func sharedIndex(v []byte) int {
	i, _ := atoi(bytes.TrimSpace(v))
	return i
}

// cellColumn is the column of excelize's CellNameToCoordinates, computed
// here for a plain reference (A1 to XFD1048576) and left to it otherwise,
// for its quirks and its errors.
func cellColumn(ref []byte) (int, error) {
	col, i := 0, 0
	for ; i < len(ref) && i < 3 && 'A' <= ref[i] && ref[i] <= 'Z'; i++ {
		col = col*26 + int(ref[i]-'A'+1)
	}
	row, j := 0, i
	for ; j < len(ref) && j-i < 7 && '0' <= ref[j] && ref[j] <= '9'; j++ {
		row = row*10 + int(ref[j]-'0')
	}
	if i > 0 && j > i && j == len(ref) && col <= excelize.MaxColumns && row >= 1 && row <= excelize.TotalRows {
		return col, nil
	}
	col, _, err := excelize.CellNameToCoordinates(string(ref))
	return col, err
}

// xlsxChunk is the size of the pieces of a sheet's XML the decompressing
// goroutine hands over; see run for xlsxReadMin.
const (
	xlsxChunk   = 256 << 10
	xlsxReadMin = 64 << 10
)

// xlsxPipe decompresses a part on a goroutine of its own, a few chunks
// ahead of the scanner: inflating the XML takes about as long as scanning
// it, and the machine has a second core.
type xlsxPipe struct {
	full chan []byte
	free chan []byte
	stop chan struct{}
	wg   sync.WaitGroup
	err  error // the part's error other than its end; read once full is closed
}

func startXLSXPipe(rc io.ReadCloser) *xlsxPipe {
	const chunks = 4
	p := &xlsxPipe{full: make(chan []byte, chunks), free: make(chan []byte, chunks), stop: make(chan struct{})}
	for i := 0; i < chunks; i++ {
		p.free <- make([]byte, xlsxChunk)
	}
	p.wg.Add(1)
	go p.run(rc)
	return p
}

func (p *xlsxPipe) run(rc io.ReadCloser) {
	defer p.wg.Done()
	defer close(p.full)
	defer func() {
		// recover() in readXLSX does not reach this goroutine.
		if r := recover(); r != nil {
			p.err = fmt.Errorf("corrupt XLSX workbook: %v", r)
		}
	}()
	defer rc.Close()
	for {
		var b []byte
		select {
		case b = <-p.free:
		case <-p.stop:
			return
		}
		// Each read asks for at least xlsxReadMin bytes, more than the
		// decompressor ever holds back (its 32 KB window), as excelize's
		// reads do: when a part's sizes are wrong, the archive reader drops
		// or refuses the data of a read, and the data before must be the
		// same as excelize's.
		n, err := 0, error(nil)
		for len(b)-n >= xlsxReadMin && err == nil {
			var m int
			m, err = rc.Read(b[n:])
			n += m
		}
		if n > 0 {
			select {
			case p.full <- b[:n]:
			case <-p.stop:
				return
			}
		}
		if err != nil {
			// excelize reads a part whose CRC does not match all the same.
			if err != io.EOF && !errors.Is(err, zip.ErrChecksum) {
				p.err = err
			} else if cerr := rc.Close(); cerr != nil {
				p.err = cerr
			}
			return
		}
	}
}

// fill is the scanner's input: it appends the next chunk to dst.
func (p *xlsxPipe) fill(dst []byte) ([]byte, error) {
	b, ok := <-p.full
	if !ok {
		if p.err != nil {
			return dst, p.err
		}
		return dst, io.EOF
	}
	dst = append(dst, b...)
	p.free <- b[:cap(b)]
	return dst, nil
}

// drain reads the rest of the part and returns its error, if any.
func (p *xlsxPipe) drain() error {
	for b := range p.full {
		p.free <- b[:cap(b)]
	}
	return p.err
}

// close stops the goroutine and waits for it.
func (p *xlsxPipe) close() {
	close(p.stop)
	p.wg.Wait()
}

func isEOF(err error) bool { return err == io.EOF }

// read streams the sheet's rows to emit as readXLSXExcelize does. When the
// rows take a turn it does not follow it returns handOver with the number
// of rows emitted so far, all of them the ones excelize gives first.
//
// excelize inflates the whole part before it reads a row, and refuses the
// workbook when the part's deflated data is corrupt; the fast reader finds
// that out as it gets there. So before it ends with the rows' end or their
// error it inflates the rest of the part (excelize's rows may end before
// the XML does), and hands over if that fails: excelize's error then is
// the one returned, though rows before the damage were emitted.
func (w *xlsxWorkbook) read(ctx context.Context, emit func(line int64, cells []string, raw string) error) (emitted int64, handOver bool, err error) {
	pipe := startXLSXPipe(w.sheet)
	defer pipe.close()
	rows := &xlsxRows{sc: newXMLScanner(pipe.fill), sst: w.sst}
	var line int64
	for rows.next() {
		line++
		if line%4096 == 0 && ctx.Err() != nil {
			return line - 1, false, ctx.Err()
		}
		cells, err := rows.columns()
		if rows.fail {
			return line - 1, true, nil
		}
		if err != nil {
			if pipe.drain() != nil {
				return line - 1, true, nil
			}
			return line - 1, false, fmt.Errorf("XLSX row %d: %w", line, err)
		}
		if err := emit(line, cells, strings.Join(cells, ",")); err != nil {
			return line, false, err
		}
	}
	if rows.fail || pipe.drain() != nil {
		return line, true, nil
	}
	return line, false, rows.err
}
