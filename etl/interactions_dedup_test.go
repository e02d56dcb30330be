package etl

import (
	"context"
	"slices"
	"testing"
)

// TestContactWithoutTimeIsNoDuplicate: two call-centre contacts of one
// caller that both lack their time are two rejected records (date_missing),
// not one record and a duplicate. The natural key of a contact is caller
// and time; without a time there is no key to be a duplicate of, as sales
// lines without an order id or line number are never duplicates. Found by
// TestLoadMatchesFixtureTruthPastRowGroup (seed 1, 265,700 customers:
// callcenter_contacts.csv lines 75254 and 162244, one caller written two
// ways, both without a time).
func TestContactWithoutTimeIsNoDuplicate(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "callcenter_contacts_notime.csv", "来电号码,来电时间,类别,满意度,坐席,时长秒\n"+
		"+8614520805089,,咨询,4,A017,38\n"+ // line 2: date_missing
		"+86 145-2080-5089,,咨询,,A015,110\n", false) // line 3: the same caller, another contact, date_missing
	w := openMem(t)
	rep, err := Load(context.Background(), w, []string{dir}, Options{AsOf: asOf2024()})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Files[0]
	if got, want := [4]int64{f.Read, f.Loaded, f.Rejected, f.Duplicates}, [4]int64{2, 0, 2, 0}; got != want {
		t.Errorf("read/loaded/rejected/duplicates = %v, want %v", got, want)
	}
	want := []string{"2 date_missing error", "3 date_missing error"}
	if got := ledgerOf(t, w, "callcenter_contacts_notime.csv"); !slices.Equal(got, want) {
		t.Errorf("ledger %q, want %q", got, want)
	}
}
