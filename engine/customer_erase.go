package engine

import (
	"context"
	"database/sql"
	"fmt"
)

// EraseCustomer empties the personal columns (ID number, name, mobile,
// e-mail, and the birth date derived from the ID) of every version of a
// customer, for an erasure request: the
// versions stay, so facts keep their customer as anonymous history. It
// returns the versions changed.
func EraseCustomer(ctx context.Context, q interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, customerID int64) (int64, error) {
	res, err := q.ExecContext(ctx, `UPDATE dim_customer SET id_number = NULL, name = NULL, mobile = NULL, email = NULL, birth_date = NULL WHERE customer_id = ?`, customerID)
	if err != nil {
		return 0, fmt.Errorf("erase customer %d: %w", customerID, err)
	}
	return res.RowsAffected()
}

// TokeniseCustomers replaces the raw ID numbers, mobiles, e-mails and
// names of every version by their tokens (names of customers only: the
// special members' names say "Unknown" and the like) (ckm_token, registered by the vault), for a
// warehouse protected after it was loaded in the clear. Tokens keep SCD2's
// comparisons: equal raw values give equal tokens.
func TokeniseCustomers(ctx context.Context, q interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}) error {
	if _, err := q.ExecContext(ctx, `UPDATE dim_customer SET id_number = ckm_token('id_number', id_number),
		mobile = ckm_token('mobile', mobile), email = ckm_token('email', email),
		name = CASE WHEN customer_id > 0 THEN ckm_token('name', name) ELSE name END
		WHERE id_number IS NOT NULL OR mobile IS NOT NULL OR email IS NOT NULL OR (customer_id > 0 AND name IS NOT NULL)`); err != nil {
		return fmt.Errorf("tokenise customers: %w", err)
	}
	return nil
}
