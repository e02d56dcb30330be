package privacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reveal is one showing or writing of raw personal data, as the audit
// keeps it.
type Reveal struct {
	Principal Principal
	Command   string // e.g. "sql", "rejects", "cube query", "export parquet"
	Detail    string // the statement or filters; personal values in it are masked
	Reason    string // why, as the principal gave it
	Rows      int64  // rows shown or written (-1 when unknown before the end)
}

// ErrNoReason is returned when a reveal is asked for without a reason.
var ErrNoReason = errors.New("a reveal of raw personal data needs a reason")

// Querier runs statements; *sql.DB, *sql.Conn and *sql.Tx are Queriers.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Audit writes r to the audit table privacy_reveal (schema version 7),
// after checking the principal may reveal and gave a reason. It is to be
// called before the raw values are shown: no audit row, no reveal. The
// detail is stored with personal values masked, so the audit never holds
// a raw value typed into a statement.
// It returns the reveal's id for AuditRows.
func Audit(ctx context.Context, db Querier, r Reveal) (int64, error) {
	if !r.Principal.MayReveal() {
		return 0, fmt.Errorf("role %s may not see raw personal data (steward or admin may)", r.Principal.Role)
	}
	if strings.TrimSpace(r.Reason) == "" {
		return 0, ErrNoReason
	}
	var rows any
	if r.Rows >= 0 {
		rows = r.Rows
	}
	var id int64
	err := db.QueryRowContext(ctx, `INSERT INTO privacy_reveal (reveal_id, revealed_at, os_user, role, command, detail, reason, rows)
		SELECT coalesce(max(reveal_id), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM privacy_reveal RETURNING reveal_id`,
		time.Now().UTC(), r.Principal.User, string(r.Principal.Role), r.Command, MaskText(r.Detail), MaskText(r.Reason), rows).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("audit reveal (a reveal needs a writable warehouse to record it): %w", err)
	}
	return id, nil
}

// AuditRows records how many rows a reveal showed or wrote, once known.
func AuditRows(ctx context.Context, db Querier, id, rows int64) error {
	if _, err := db.ExecContext(ctx, `UPDATE privacy_reveal SET rows = ? WHERE reveal_id = ?`, rows, id); err != nil {
		return fmt.Errorf("audit reveal: %w", err)
	}
	return nil
}
