package engine

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// countingTx counts the statements ApplyCustomerChanges executes.
type countingTx struct {
	*sql.Tx
	execs int
}

func (c *countingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.execs++
	return c.Tx.ExecContext(ctx, query, args...)
}

// TestCustomerChangesSkipIdleWrites: ApplyCustomerChanges runs no write of
// an action no change of the round takes, runs the type 1 corrections
// after the actions are decided (they read tracked attributes only), and
// re-points no fact when no history moved — and leaves dim_customer and
// the facts exactly as the path that runs every statement (EveryStep,
// the order before) does. Two change sets of one round each, whose pairing
// of changes with versions and choice of actions is one statement instead
// of two: one where a change is inserted into an older version (facts
// move; the writes of extend, known earlier, prepend and correct are left
// out: 4+1 statements), one of a new customer and a change equal to its
// version (no history moves: closing a version, noting the moved customers
// and the 2 fact updates with their 2 change records are left out as well:
// 10+1 statements).
func TestCustomerChangesSkipIdleWrites(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		changes string
		fewer   int
		want    []string
	}{{
		name: "inserted version",
		changes: `(1, TIMESTAMP '2024-04-01', 1, 'platinum', 'A2'),
			(2, TIMESTAMP '2024-03-01', 1, 'silver', NULL)`,
		fewer: 5,
		want: []string{
			"1 A2 gold [1900-01-01, 2024-04-01) false known 2024-01-01",
			"1 A2 platinum [2024-04-01, 2024-06-01) false known 2024-04-01",
			"1 A2 silver [2024-06-01, 9999-12-31) true known 2024-06-01",
			"2 B silver [1900-01-01, 9999-12-31) true known 2024-01-01",
			"s1 gold", "s2 platinum", "s3 silver", "s4 silver",
		},
	}, {
		name: "nothing moves",
		changes: `(3, TIMESTAMP '2024-10-01', 1, 'none', 'C'),
			(2, TIMESTAMP '2024-03-01', 1, 'silver', 'B2')`,
		fewer: 11,
		want: []string{
			"1 A gold [1900-01-01, 2024-06-01) false known 2024-01-01",
			"1 A silver [2024-06-01, 9999-12-31) true known 2024-06-01",
			"2 B2 silver [1900-01-01, 9999-12-31) true known 2024-01-01",
			"3 C none [1900-01-01, 9999-12-31) true known 2024-10-01",
			"s1 gold", "s2 gold", "s3 silver", "s4 silver",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			apply := func(every bool) ([]string, int) {
				w, err := Open(ctx, "", Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				seedHistories(t, w)
				changes := `CREATE TEMP TABLE changes AS SELECT * FROM (VALUES ` + tc.changes + `) t(customer_id, eff, rnk, member_level, name)`
				if _, err := w.DB.ExecContext(ctx, changes); err != nil {
					t.Fatalf("%v\n%s", err, changes)
				}
				conn, err := w.DB.Conn(ctx) // the TEMP table is the connection's
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				tx, err := conn.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				ct := &countingTx{Tx: tx}
				if err := ApplyCustomerChanges(ctx, ct, CustomerChanges{
					Changes:   "changes",
					Values:    seedChangeValues(),
					TypeOne:   []string{"name"},
					EveryStep: every,
				}); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				got := historyLines(t, w)
				got = append(got, queryLines(t, w, `SELECT s.order_id || ' ' || d.member_level FROM fact_sales s JOIN dim_customer d USING (customer_key) ORDER BY s.order_id`)...)
				got = append(got, queryLines(t, w, `SELECT count(*) || ':' || sum(hash(d)) FROM dim_customer d`)...)
				return got, ct.execs
			}
			skip, n := apply(false)
			every, nEvery := apply(true)
			if strings.Join(skip, "\n") != strings.Join(every, "\n") {
				t.Errorf("skipping:\n%s\nevery statement:\n%s", strings.Join(skip, "\n"), strings.Join(every, "\n"))
			}
			if got := strings.Join(skip[:len(skip)-1], "\n"); got != strings.Join(tc.want, "\n") {
				t.Errorf("history and sales:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
			if nEvery-n != tc.fewer {
				t.Errorf("%d statements, every statement %d: want %d fewer", n, nEvery, tc.fewer)
			}
		})
	}
}
