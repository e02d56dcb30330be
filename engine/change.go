package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// The change record (table ckm_change, schema version 20): what ckm's
// writers changed in the fact tables other than by appending rows, kept
// for the lake's incremental export (package export), which re-reads the
// months named here and sees appended rows by itself. A writer records in
// the same transaction as its change, so the record commits with it or
// not at all.

// ChangeMonthKey is the month key of a fact row as the record keeps it:
// yyyymm of date_key, 0 for an unknown date (a special member).
const ChangeMonthKey = "CASE WHEN date_key > 0 THEN date_key // 100 ELSE 0 END"

// Execer is what recording a change needs: *sql.Tx, *sql.Conn and
// *sql.DB have it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// RecordChange records that writer changed rows of table in the given
// months (yyyymm; 0 for unknown dates), or in any month when none are
// given. q is the writer's transaction. A change to every table ("*": an
// admin's statement by hand) also marks the cubes' rollups stale: they are
// refreshed in place from what each run changed (olap.RefreshRollups), and
// such a statement makes no run, so the next refresh rebuilds them.
func RecordChange(ctx context.Context, q Execer, writer, table string, months ...int) error {
	if len(months) == 0 {
		if _, err := q.ExecContext(ctx, `INSERT INTO ckm_change (table_name, month, writer) VALUES (?, NULL, ?)`, table, writer); err != nil {
			return fmt.Errorf("change record of %s: %w", table, err)
		}
		if table == "*" {
			return InvalidateRollups(ctx, q)
		}
		return nil
	}
	for _, m := range months {
		if _, err := q.ExecContext(ctx, `INSERT INTO ckm_change (table_name, month, writer) VALUES (?, ?, ?)`, table, m, writer); err != nil {
			return fmt.Errorf("change record of %s: %w", table, err)
		}
	}
	return nil
}

// RecordChangeWhere records the months of the rows of table that match
// where (a condition on its columns; args are its parameters): call it
// after an UPDATE with the same condition (the rows as they are now) — or
// before a DELETE — in the same transaction.
func RecordChangeWhere(ctx context.Context, q Execer, writer, table, where string, args ...any) error {
	if _, err := q.ExecContext(ctx, ChangeRecordSQL(writer, table, where), args...); err != nil {
		return fmt.Errorf("change record of %s: %w", table, err)
	}
	return nil
}

// ChangeRecordSQL is the statement RecordChangeWhere runs, for a writer
// that runs its statements itself (to trace them): where's parameters are
// the statement's.
func ChangeRecordSQL(writer, table, where string) string {
	return `INSERT INTO ckm_change (table_name, month, writer)
		SELECT DISTINCT ` + QuoteString(table) + `, ` + ChangeMonthKey + `, ` + QuoteString(writer) + ` FROM ` + QuoteIdent(table) + ` WHERE ` + where
}

// QueryRecordingChange runs an admin's statement text on q (a connection:
// the admin's transaction, if any, is its). When record is true (the
// statement may change rows: StatementMayChange, as its caller decided
// once), writer is recorded in the change record for every fact table and
// any month before the statement runs — inside the admin's transaction —
// and again once it ran (after its own commit). The rows are the
// statement's; on an error none are left open.
func QueryRecordingChange(ctx context.Context, q Querier, record bool, writer, text string, args ...any) (*sql.Rows, error) {
	if record {
		if err := RecordChange(ctx, q, writer, "*"); err != nil {
			return nil, err
		}
	}
	rows, err := q.QueryContext(ctx, text, args...)
	if err != nil || !record {
		return rows, err
	}
	if err := RecordChange(ctx, q, writer, "*"); err != nil {
		rows.Close()
		return nil, err
	}
	return rows, nil
}

// noChangeStatements start statements that change no table's rows.
var noChangeStatements = []string{"SET", "RESET", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT",
	"DESCRIBE", "SHOW", "SUMMARIZE", "USE", "CHECKPOINT", "FORCE", "PREPARE", "DEALLOCATE"}

// StatementMayChange reports whether a statement an admin runs by hand
// may change table rows: false for a query (DuckDB's own parser says it
// is a SELECT) and statements that only set, show or end things; true
// for anything else, including what cannot be parsed here.
func StatementMayChange(ctx context.Context, q Querier, text string) bool {
	word := strings.ToUpper(firstWord(text))
	for _, w := range noChangeStatements {
		if word == w {
			return false
		}
	}
	if word == "EXPLAIN" && !strings.Contains(strings.ToUpper(text), "ANALYZE") {
		return false
	}
	rows, err := q.QueryContext(ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", text)
	if err != nil {
		return true
	}
	defer rows.Close()
	var out string
	if !rows.Next() || rows.Scan(&out) != nil {
		return true
	}
	var tree struct {
		Error bool `json:"error"`
	}
	// json_serialize_sql serializes SELECT statements only.
	return json.Unmarshal([]byte(out), &tree) != nil || tree.Error
}

// firstWord is the statement's first keyword, past spaces, comments and
// opening parentheses.
func firstWord(text string) string {
	s := StripLeadingComments(text)
	for strings.HasPrefix(s, "(") {
		s = StripLeadingComments(s[1:])
	}
	end := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
	})
	if end < 0 {
		return s
	}
	return s[:end]
}

// StripLeadingComments returns s past its leading white space and SQL
// comments ("" when a comment does not end).
func StripLeadingComments(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n\f")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return ""
			}
			s = s[i+2:]
		default:
			return s
		}
	}
}
