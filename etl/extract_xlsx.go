package etl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// readXLSX streams the rows of a sheet (the first one when sheet is empty),
// raw cell values so that date cells arrive as Excel serial numbers.
func readXLSX(ctx context.Context, src io.Reader, sheet string, emit func(line int64, cells []string, raw string) error) (err error) {
	defer func() {
		// excelize can panic on corrupt archives; that is bad input, not a bug to crash on.
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt XLSX workbook: %v", r)
		}
	}()
	f, err := excelize.OpenReader(src)
	if err != nil {
		return fmt.Errorf("open XLSX: %w", err)
	}
	defer f.Close()
	idx, _ := f.GetSheetIndex(sheet)
	if sheet == "" || idx < 0 {
		list := f.GetSheetList()
		if len(list) == 0 {
			return errors.New("XLSX workbook has no sheets")
		}
		if sheet != "" && len(list) > 1 {
			return fmt.Errorf("XLSX sheet %q not found (sheets: %s)", sheet, strings.Join(list, ", "))
		}
		sheet = list[0]
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
		if err := emit(line, cells, strings.Join(cells, ",")); err != nil {
			return err
		}
	}
	return rows.Error()
}
