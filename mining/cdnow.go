package mining

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ckm-dev/ckm/engine"
)

// LoadCDNOW creates table (customer_id BIGINT, order_date DATE, cds INTEGER,
// amount DECIMAL(18,2)) from a CDNOW purchase file of Fader & Hardie:
// whitespace-separated lines of id, yyyymmdd, CDs, dollars (the master file)
// or id, id-in-sample, yyyymmdd, CDs, dollars (the sample file, whose
// customers are numbered by their id in the sample). Lines that do not start
// with a digit (a header) are skipped.
func LoadCDNOW(ctx context.Context, db *sql.DB, path, table string) error {
	q := fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS
WITH lines AS (
    SELECT string_split_regex(trim(line), '\s+') AS f
    FROM (SELECT unnest(string_split(replace(content, chr(13), ''), chr(10))) AS line FROM read_text(%s))
    WHERE regexp_matches(line, '^\s*[0-9]')
)
SELECT CAST(f[len(f) - 3] AS BIGINT) AS customer_id,
       strptime(f[len(f) - 2], '%%Y%%m%%d')::DATE AS order_date,
       CAST(f[len(f) - 1] AS INTEGER) AS cds,
       CAST(f[len(f)] AS DECIMAL(18,2)) AS amount
FROM lines`, engine.QuoteIdent(table), engine.QuoteString(path))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("load cdnow %s: %w", path, err)
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+engine.QuoteIdent(table)).Scan(&n); err != nil {
		return fmt.Errorf("load cdnow %s: %w", path, err)
	}
	if n == 0 {
		return fmt.Errorf("load cdnow %s: no purchase lines", path)
	}
	return nil
}
