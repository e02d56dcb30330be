package etl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/ckm-dev/ckm/engine"
)

// The channels of a customer's records (identity_link.channels, the
// customer's channels in dim_customer) were collected per group with
// list(): an aggregate state DuckDB cannot spill. Over the millions of
// groups of a large load (a customer and key each in identity_link) those
// states alone outgrew a 1 GB memory limit: four times the bench set
// failed there. A load has few channels, so each is a bit of a BIGINT
// and a group's channels are bit_or of its records' bits — a fixed-size
// state, which DuckDB spills — turned into the list at the end.

// channelMasks is a test switch: false collects the channels with list()
// as before the masks (the tests compare the two).
var channelMasks = true

// maxChannelBits is the most channels a load's masks hold (bits 0–61 of a
// BIGINT); a load with more collects them with list().
const maxChannelBits = 62

// channelSet is the load's channels as identity's records (id_src) carry
// them, in the order ORDER BY channel gives (NULL last): channel i is bit
// 1 << i.
type channelSet struct {
	names []sql.NullString
}

// readChannels reads the channels of id_src once its records are final.
// It returns nil where the channels are collected with list() (masks
// switched off, or more than maxChannelBits channels).
func (l *loader) readChannels() (*channelSet, error) {
	if !channelMasks {
		return nil, nil
	}
	names, err := nullStrings(l.ctx, l.tx, `SELECT channel FROM (SELECT DISTINCT channel FROM id_src) ORDER BY channel`)
	if err != nil {
		return nil, fmt.Errorf("identity: the load's channels: %w", err)
	}
	cs := &channelSet{names: names}
	if len(cs.names) > maxChannelBits {
		return nil, nil
	}
	return cs, nil
}

// bit is a BIGINT expression: the bit of the channel col (0 for a NULL
// channel when skipNull, as list_distinct drops it). A channel outside
// the set fails the statement: the set is read from the records whose
// channels the masks gather, so one outside it is a fault, never a
// channel to lose quietly.
func (cs *channelSet) bit(col string, skipNull bool) string {
	return cs.bitElse(col, skipNull, "CAST(error('channel outside the load''s channel set: ' || "+col+") AS BIGINT)")
}

// bitIn is bit for channels that may lie outside the set (an earlier
// load's): those are 0, as is NULL.
func (cs *channelSet) bitIn(col string) string {
	return cs.bitElse(col, true, "CAST(0 AS BIGINT)")
}

func (cs *channelSet) bitElse(col string, skipNull bool, others string) string {
	if len(cs.names) == 0 {
		return "CAST(0 AS BIGINT)"
	}
	var b strings.Builder
	b.WriteString("CASE")
	for i, n := range cs.names {
		switch {
		case n.Valid:
			fmt.Fprintf(&b, " WHEN %s = %s THEN %d", col, engine.QuoteString(n.String), int64(1)<<i)
		case !skipNull:
			fmt.Fprintf(&b, " WHEN %s IS NULL THEN %d", col, int64(1)<<i)
		}
	}
	if skipNull {
		fmt.Fprintf(&b, " WHEN %s IS NULL THEN 0", col)
	}
	b.WriteString(" ELSE " + others + " END")
	return b.String()
}

// list is a VARCHAR[] expression: the channels of the mask mask, in
// channel order ([] for 0 or NULL).
func (cs *channelSet) list(mask string) string {
	lit := make([]string, len(cs.names))
	for i, n := range cs.names {
		lit[i] = "NULL"
		if n.Valid {
			lit[i] = engine.QuoteString(n.String)
		}
	}
	if len(lit) == 0 {
		return "CAST([] AS VARCHAR[])"
	}
	return fmt.Sprintf("list_filter(CAST([%s] AS VARCHAR[]), (c, i) -> (coalesce(%s, 0) >> (i - 1)) & 1 = 1)", strings.Join(lit, ", "), mask)
}

// nullStrings is the one column of query's rows, NULL kept.
func nullStrings(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string) ([]sql.NullString, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sql.NullString
	for rows.Next() {
		var n sql.NullString
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
