package etl

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxWorkbook is a workbook the fast reader takes on: the part of the
// sheet to read, opened, and the shared strings table, both settled before
// the first row.
type xlsxWorkbook struct {
	sheet io.ReadCloser
	sst   []string
}

// oleSignature starts an encrypted (or legacy) workbook, which excelize
// tries to decrypt.
var oleSignature = []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}

// openXLSXFast prepares the fast reading of a workbook, or returns nil
// where excelize is to read it: wherever excelize would refuse the workbook
// or reach its rows any other way than the one the fast reader follows.
//
// Which part holds the sheet is excelize's answer itself. The workbook is
// copied into a second archive in which every part under xl/worksheets/
// (the worksheets; excelize reads none of them on opening) is a one-cell
// stub naming the part, and xl/sharedStrings.xml is an empty table; the
// other parts are copied compressed as they are. excelize opens that copy
// and picks the sheet with the code readXLSXExcelize runs: its workbook,
// relationships, content types, sheet list and name matching, its sheet
// name checks and its path resolution, relative and absolute targets, and
// its errors on any of them (any error gives the workbook to excelize,
// which gives it again on the real one). The stub's one cell says which
// part it picked; a sheet outside xl/worksheets/ leaves no stub to find.
// What the copy hides from excelize is checked on the real parts: the
// archive's sizes against its limits, part names that come twice, and
// that each stubbed part inflates (excelize inflates every part on opening
// and fails on a corrupt one; the sheet's part is checked as it is read,
// see read).
func openXLSXFast(data []byte, sheet string) (w *xlsxWorkbook) {
	defer func() {
		// Nothing here should panic; if it does, excelize reads the workbook.
		if recover() != nil {
			w = nil
		}
	}()
	if len(data) < len(oleSignature) || bytes.Equal(data[:len(oleSignature)], oleSignature) {
		return nil
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	// excelize's checkFileSize with its default limits.
	var unzipped int64
	for _, f := range zr.File {
		size := f.FileInfo().Size()
		unzipped += size
		if uint64(excelize.UnzipSizeLimit) < uint64(size) || size < 0 || unzipped > excelize.UnzipSizeLimit {
			return nil
		}
	}
	// Part names as excelize files them: backslashes as slashes, and two
	// names found in any case. Two entries of one name are left to it.
	seen := make(map[string]bool, len(zr.File))
	sst := -1
	stub := make([]bool, len(zr.File))
	for i, f := range zr.File {
		name := strings.ReplaceAll(f.Name, `\`, "/")
		lower := strings.ToLower(name)
		switch lower {
		case "[content_types].xml":
			name = "[Content_Types].xml"
		case "xl/sharedstrings.xml":
			name = "xl/sharedStrings.xml"
			sst = i
			stub[i] = true
		}
		if seen[name] {
			return nil
		}
		seen[name] = true
		if strings.HasPrefix(lower, "xl/worksheets/") && strings.HasSuffix(lower, ".xml") {
			stub[i] = true
		}
	}
	nonce := fmt.Sprintf("ckm-stub-%016x-", rand.Uint64())
	var copied bytes.Buffer
	zw := zip.NewWriter(&copied)
	for i, f := range zr.File {
		if !stub[i] {
			if err := zw.Copy(f); err != nil {
				return nil
			}
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			return nil
		}
		body := `<sst xmlns="` + excelize.NameSpaceSpreadSheet.Value + `"/>`
		if i != sst {
			body = `<worksheet xmlns="` + excelize.NameSpaceSpreadSheet.Value + `"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>` +
				nonce + strconv.Itoa(i) + `</t></is></c></row></sheetData></worksheet>`
		}
		if _, err := io.WriteString(w, body); err != nil {
			return nil
		}
	}
	if zw.Close() != nil {
		return nil
	}
	part := stubbedSheet(copied.Bytes(), sheet, nonce)
	if part < 0 || part >= len(zr.File) || !stub[part] || part == sst {
		return nil
	}
	for i, f := range zr.File {
		if stub[i] && i != part && i != sst && !partInflates(f) {
			return nil
		}
	}
	w = &xlsxWorkbook{}
	if sst >= 0 {
		f := zr.File[sst]
		rc, err := f.Open()
		if err != nil {
			return nil
		}
		data, err := io.ReadAll(rc)
		if cerr := rc.Close(); err != nil || cerr != nil {
			return nil
		}
		var ok bool
		if w.sst, ok = parseSST(data, f.FileInfo().Size() > sstTempSize); !ok {
			return nil
		}
	}
	if w.sheet, err = zr.File[part].Open(); err != nil {
		return nil
	}
	return w
}

// stubbedSheet opens the stubbed copy of a workbook with excelize, picks
// the sheet as readXLSXExcelize does, and returns the index of the archive
// entry the stub excelize read names; -1 on any error or doubt.
func stubbedSheet(copied []byte, sheet, nonce string) (part int) {
	part = -1
	defer func() {
		if recover() != nil {
			part = -1
		}
	}()
	f, err := excelize.OpenReader(bytes.NewReader(copied))
	if err != nil {
		return
	}
	defer f.Close()
	// excelize finds a sheet's part in a map, by a case-blind name: two
	// sheets whose names differ in case only are a draw.
	list := f.GetSheetList()
	for i := range list {
		for j := i + 1; j < len(list); j++ {
			if strings.EqualFold(list[i], list[j]) {
				return
			}
		}
	}
	name, err := pickXLSXSheet(f, sheet)
	if err != nil {
		return
	}
	rows, err := f.Rows(name)
	if err != nil {
		return
	}
	defer rows.Close()
	if !rows.Next() {
		return
	}
	cells, err := rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil || len(cells) != 1 || !strings.HasPrefix(cells[0], nonce) {
		return
	}
	n, err := strconv.Atoi(cells[0][len(nonce):])
	if err != nil {
		return
	}
	return n
}

// partInflates reports whether excelize's reading of the part on opening
// (readFile: read errors ignored, the decompressor's Close error not)
// succeeds.
func partInflates(f *zip.File) bool {
	rc, err := f.Open()
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, rc)
	return rc.Close() == nil
}
