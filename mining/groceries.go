package mining

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"os"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// groceriesCSV is the arules Groceries data (9,835 baskets, one per line,
// items comma-separated; see testdata/groceries/README.md), built in so the
// mining benchmark runs from any directory.
//
//go:embed testdata/groceries/groceries.csv
var groceriesCSV []byte

// GroceriesCSV returns the built-in Groceries file's text.
func GroceriesCSV() []byte { return groceriesCSV }

// LoadGroceries creates table(basket BIGINT, item VARCHAR) from a Groceries
// style file (one basket per line, items comma-separated, no quoting; the
// built-in one when path is ""): one row per item, baskets numbered from 1
// in file order.
func LoadGroceries(ctx context.Context, db *sql.DB, path, table string) error {
	if path == "" {
		f, err := os.CreateTemp("", "ckm-groceries-*.csv")
		if err != nil {
			return fmt.Errorf("load groceries: %w", err)
		}
		defer os.Remove(f.Name())
		if _, err := f.Write(groceriesCSV); err != nil {
			f.Close()
			return fmt.Errorf("load groceries: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("load groceries: %w", err)
		}
		path = f.Name()
	}
	// A tab never occurs in the file: each line is read whole.
	q := fmt.Sprintf(`CREATE TABLE %s AS
        WITH lines AS (SELECT CAST(row_number() OVER () AS BIGINT) AS basket, line
                       FROM read_csv(%s, columns = {'line': 'VARCHAR'}, header = false, delim = '\t', quote = '', escape = ''))
        SELECT basket, unnest(string_split(line, ',')) AS item FROM lines`, engine.QuoteIdent(table), engine.QuoteString(path))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("load groceries %s: %w", path, err)
	}
	return nil
}

// groceriesLines returns the baskets of the built-in file as item lists.
func groceriesLines() [][]string {
	var out [][]string
	for _, line := range strings.Split(strings.TrimRight(string(groceriesCSV), "\n"), "\n") {
		out = append(out, strings.Split(strings.TrimRight(line, "\r"), ","))
	}
	return out
}
