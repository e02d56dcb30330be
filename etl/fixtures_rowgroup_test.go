package etl_test

import (
	"os"
	"testing"

	"github.com/ckm-dev/ckm/fixtures"
)

// rowGroupCustomers is the smallest number of customers (to a hundred;
// seed 1, 365 days) whose generated export set leaves more than a row group
// (122,880) of entries in the reject ledger: planted faults give about one
// ledger entry per two customers, nine in ten of them on sales lines.
const rowGroupCustomers = 245_400

// TestLoadMatchesFixtureTruthPastRowGroup is TestLoadMatchesFixtureTruth at
// a size whose reject ledger passes a row group (122,994 entries). It
// generates 5.6 million records and takes over two minutes and 9 GB on two
// cores, the load alone two: set CKM_LONG=1. Until the BUG of
// TestContactWithoutTimeIsNoDuplicate is fixed it fails on one line of
// callcenter_contacts.csv (132931: a duplicate, planted as date_missing).
//
// It does not guard against DuckDB 1.5.6's lost batch insert
// (engine/testdata/batch_insert_loss.sql): spread over dozens of row
// groups of sales lines, the ledger entries of one statement reach DuckDB
// in small batches; even at 265,700 customers (123,127 sales entries in
// one statement) the load kept them without the workaround.
// TestLedgerBoundary, with dense narrow files, is the guard.
func TestLoadMatchesFixtureTruthPastRowGroup(t *testing.T) {
	if os.Getenv("CKM_LONG") == "" {
		t.Skip("generator-sized load of 245,400 customers, over two minutes: set CKM_LONG=1")
	}
	w, exp, rep := loadFixtures(t, fixtures.Options{Customers: rowGroupCustomers, Days: 365, Seed: 1})
	var entries, sales int64
	if err := w.DB.QueryRow(`SELECT count(*), count(*) FILTER (WHERE f.source IN ('pos_sales', 'web_orders'))
		FROM etl_reject r JOIN etl_file f USING (file_id)`).Scan(&entries, &sales); err != nil {
		t.Fatal(err)
	}
	if entries <= 122_880 {
		t.Errorf("reject ledger holds %d entries, not more than a row group (122,880): raise rowGroupCustomers", entries)
	}
	t.Logf("%d ledger entries, %d of them sales; %d rows read in %v", entries, sales, rep.Read, rep.Elapsed)
	checkTruth(t, w, exp, rep)
}
