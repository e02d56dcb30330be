package etl_test

import (
	"os"
	"testing"

	"github.com/ckm-dev/ckm/fixtures"
)

// rowGroupCustomers is the smallest number of customers (to a hundred,
// seed 1, 365 days) whose sales exports alone leave more than a row group
// (122,880) of entries in the reject ledger: the rules of one target insert
// their entries in one statement, and that statement's size is what
// DuckDB's insert paths depend on. The whole ledger passes a row group
// from 245,400 customers; planted faults are about one ledger entry per two
// customers, nine in ten of them on sales lines.
const rowGroupCustomers = 265_700

// TestLoadMatchesFixtureTruthPastRowGroup is TestLoadMatchesFixtureTruth at
// a size whose reject ledger passes a row group, where DuckDB 1.5.6 lost a
// batch insert (engine/testdata/batch_insert_loss.sql). It generates about
// 5.9 million sales lines and takes minutes: set CKM_LONG=1.
func TestLoadMatchesFixtureTruthPastRowGroup(t *testing.T) {
	if os.Getenv("CKM_LONG") == "" {
		t.Skip("generator-sized load of 265,700 customers: set CKM_LONG=1")
	}
	w, exp, rep := loadFixtures(t, fixtures.Options{Customers: rowGroupCustomers, Days: 365, Seed: 1})
	var entries, sales int64
	if err := w.DB.QueryRow(`SELECT count(*), count(*) FILTER (WHERE f.source IN ('pos_sales', 'web_orders'))
		FROM etl_reject r JOIN etl_file f USING (file_id)`).Scan(&entries, &sales); err != nil {
		t.Fatal(err)
	}
	if sales <= 122_880 {
		t.Errorf("reject ledger holds %d entries of sales, not more than a row group (122,880): raise rowGroupCustomers", sales)
	}
	t.Logf("%d ledger entries, %d of sales; %d rows read in %v", entries, sales, rep.Read, rep.Elapsed)
	checkTruth(t, w, exp, rep)
}
