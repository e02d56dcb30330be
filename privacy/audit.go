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

// Execer runs a statement; *sql.DB, *sql.Conn and *sql.Tx are Execers.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Audit writes r to the audit table privacy_reveal (schema version 7),
// after checking the principal may reveal and gave a reason. It is to be
// called before the raw values are shown: no audit row, no reveal. The
// detail is stored with personal values masked, so the audit never holds
// a raw value typed into a statement.
func Audit(ctx context.Context, db Execer, r Reveal) error {
	if !r.Principal.MayReveal() {
		return fmt.Errorf("role %s may not see raw personal data (steward or admin may)", r.Principal.Role)
	}
	if strings.TrimSpace(r.Reason) == "" {
		return ErrNoReason
	}
	_, err := db.ExecContext(ctx, `INSERT INTO privacy_reveal (reveal_id, revealed_at, os_user, role, command, detail, reason, rows)
		SELECT coalesce(max(reveal_id), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM privacy_reveal`,
		time.Now().UTC(), r.Principal.User, string(r.Principal.Role), r.Command, MaskText(r.Detail), MaskText(r.Reason), r.Rows)
	if err != nil {
		return fmt.Errorf("audit reveal: %w", err)
	}
	return nil
}
