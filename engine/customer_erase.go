package engine

import (
	"context"
	"database/sql"
	"fmt"
)

// EraseCustomer empties the personal columns (ID number, name, mobile,
// e-mail) of every version of a customer, for an erasure request: the
// versions stay, so facts keep their customer as anonymous history. It
// returns the versions changed.
func EraseCustomer(ctx context.Context, q interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, customerID int64) (int64, error) {
	res, err := q.ExecContext(ctx, `UPDATE dim_customer SET id_number = NULL, name = NULL, mobile = NULL, email = NULL WHERE customer_id = ?`, customerID)
	if err != nil {
		return 0, fmt.Errorf("erase customer %d: %w", customerID, err)
	}
	return res.RowsAffected()
}
