package etl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// readXLSX streams the rows of a sheet (the first one when sheet is empty),
// raw cell values so that date cells arrive as Excel serial numbers.
//
// The rows are excelize's (readXLSXExcelize): the same line numbers, cells
// and values, the same sheet and the same errors. excelize reads a sheet's
// XML with encoding/xml at about 25 MB/s (the bench's 19 MB CRM export,
// 143 MB of XML in 198,904 rows, took 6.4 s), so the workbooks whose rows
// it reaches the usual way are read by a reader of its own (openXLSXFast,
// xlsxRows), which replays what excelize's row iterator does over a byte
// scanner of the XML (0.6 s). Whatever that reader is not sure to read as
// excelize does goes to excelize: the whole workbook when that shows
// before the first row (an encrypted or odd archive, a sheet it cannot
// place, shared strings it does not follow), and from the row it stops at
// when it shows later: excelize then reads the workbook again and its
// first rows, the ones already emitted, are passed over.
//
// One difference is left, on broken archives: excelize inflates every part
// before it reads a row and refuses a workbook whose sheet part's deflated
// data is corrupt; the fast reader inflates the part as it reads it, so
// the rows before the damage have been emitted when it returns excelize's
// error.
func readXLSX(ctx context.Context, src io.Reader, sheet string, emit func(line int64, cells []string, raw string) error) (err error) {
	defer corruptXLSX(&err) // the fast reader is held to excelize's answer
	data, err := io.ReadAll(src)
	if err != nil {
		return fmt.Errorf("open XLSX: %w", err)
	}
	w := openXLSXFast(data, sheet)
	if w == nil {
		return readXLSXExcelizeFrom(ctx, bytes.NewReader(data), sheet, 0, emit)
	}
	emitted, handOver, err := w.read(ctx, emit)
	if !handOver {
		return err
	}
	return readXLSXExcelizeFrom(ctx, bytes.NewReader(data), sheet, emitted, emit)
}

// readXLSXExcelize is readXLSX by excelize alone: the reference the fast
// reader is tested against, and what it hands workbooks over to.
func readXLSXExcelize(ctx context.Context, src io.Reader, sheet string, emit func(line int64, cells []string, raw string) error) error {
	return readXLSXExcelizeFrom(ctx, src, sheet, 0, emit)
}

// readXLSXExcelizeFrom reads the rows with excelize and emits those after
// the first skip.
func readXLSXExcelizeFrom(ctx context.Context, src io.Reader, sheet string, skip int64, emit func(line int64, cells []string, raw string) error) (err error) {
	defer corruptXLSX(&err)
	f, err := excelize.OpenReader(src)
	if err != nil {
		return fmt.Errorf("open XLSX: %w", err)
	}
	defer f.Close()
	if sheet, err = pickXLSXSheet(f, sheet); err != nil {
		return err
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		return fmt.Errorf("XLSX sheet %s: %w", sheet, err)
	}
	defer rows.Close()
	var line int64
	for rows.Next() {
		line++
		if line%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return fmt.Errorf("XLSX row %d: %w", line, err)
		}
		if line <= skip {
			continue
		}
		if err := emit(line, cells, strings.Join(cells, ",")); err != nil {
			return err
		}
	}
	return rows.Error()
}

// corruptXLSX, deferred, turns a panic into the read's error: excelize can
// panic on a corrupt archive, which is bad input, not a bug to crash on.
func corruptXLSX(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("corrupt XLSX workbook: %v", r)
	}
}

// pickXLSXSheet names the sheet to read: the one asked for (excelize
// matches names regardless of case), the first when none is asked for,
// and the only one when the one asked for is missing.
func pickXLSXSheet(f *excelize.File, sheet string) (string, error) {
	idx, _ := f.GetSheetIndex(sheet)
	if sheet == "" || idx < 0 {
		list := f.GetSheetList()
		if len(list) == 0 {
			return "", errors.New("XLSX workbook has no sheets")
		}
		if sheet != "" && len(list) > 1 {
			return "", fmt.Errorf("XLSX sheet %q not found (sheets: %s)", sheet, strings.Join(list, ", "))
		}
		sheet = list[0]
	}
	return sheet, nil
}
