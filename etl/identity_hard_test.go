package etl_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
)

// hardLoad is a world with the hard identity cases, loaded, with the
// customer of every record and the truth.
type hardLoad struct {
	exp       *fixtures.Expected
	recs      []etl.IdentityRecord
	person    []int32           // true person per record (-1: no key)
	customers map[int32][]int64 // customers per person, one entry per record
	persons   map[int64][]int32 // persons per customer, one entry per record
	crm       map[int32][]int64 // customers of a person's CRM rows
	cases     map[string][]fixtures.HardCase
}

func loadHard(t *testing.T, persons int, seed int64) *hardLoad {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: dir, Customers: persons, Days: 365, Seed: seed, HardCases: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	asOf, _ := time.Parse(time.DateOnly, exp.ExportDate)
	h := &hardLoad{exp: exp, customers: map[int32][]int64{}, persons: map[int64][]int32{}, crm: map[int32][]int64{},
		cases: map[string][]fixtures.HardCase{}}
	rep, err := etl.Load(ctx, w, []string{dir}, etl.Options{AsOf: asOf.Add(24*time.Hour - time.Second),
		AfterIdentity: func(ctx context.Context, tx *sql.Tx) (err error) {
			h.recs, err = etl.IdentityRecords(ctx, tx)
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[int64]string{}
	for _, f := range rep.Files {
		name := filepath.Base(f.Path)
		paths[f.FileID] = name
		ft := exp.Files[name]
		if f.Loaded != ft.Loaded || f.Rejected != ft.Rejected || f.Duplicates != ft.Duplicates {
			t.Errorf("%s: loaded/rejected/duplicates %d/%d/%d, expected.json %d/%d/%d", name, f.Loaded, f.Rejected, f.Duplicates, ft.Loaded, ft.Rejected, ft.Duplicates)
		}
	}
	h.person = make([]int32, len(h.recs))
	for i, r := range h.recs {
		h.person[i] = -1
		if r.Customer == 0 {
			continue
		}
		name := paths[r.FileID]
		lines := exp.RecordPersons[name]
		if int(r.Line) > len(lines) || lines[r.Line-1] < 0 {
			t.Fatalf("%s line %d has customer %d but no true person", name, r.Line, r.Customer)
		}
		p := lines[r.Line-1]
		h.person[i] = p
		h.customers[p] = append(h.customers[p], r.Customer)
		h.persons[r.Customer] = append(h.persons[r.Customer], p)
		if name == "crm_customers.xlsx" {
			h.crm[p] = append(h.crm[p], r.Customer)
		}
	}
	for _, hc := range exp.HardCases {
		h.cases[hc.Kind] = append(h.cases[hc.Kind], hc)
	}
	return h
}

// whole reports whether all of a person's records are one customer's.
func (h *hardLoad) whole(p int32) bool {
	cs := h.customers[p]
	for _, c := range cs {
		if c != cs[0] {
			return false
		}
	}
	return len(cs) > 0
}

// shareCustomer reports whether any customer holds records of both persons.
func (h *hardLoad) shareCustomer(p, q int32) bool {
	of := map[int64]bool{}
	for _, c := range h.customers[p] {
		of[c] = true
	}
	for _, c := range h.customers[q] {
		if of[c] {
			return true
		}
	}
	return false
}

// TestIdentityHardCases loads a world of 3,000 persons with the hard cases
// and checks each case type against the generator's truth, and that the
// old rule (etl.LinkAnyKey) fails where the resolution must not.
func TestIdentityHardCases(t *testing.T) {
	h := loadHard(t, 3000, 5)
	base := etl.LinkAnyKey(h.recs)
	baseShare := func(p, q int32) bool {
		of := map[int64]bool{}
		for i, g := range base {
			if h.person[i] == p {
				of[g] = true
			}
		}
		for i, g := range base {
			if h.person[i] == q && of[g] {
				return true
			}
		}
		return false
	}
	t.Run("household", func(t *testing.T) {
		merged, baseMerged, pairs := 0, 0, 0
		for _, hc := range h.cases[fixtures.HardHousehold] {
			if hc.Person > hc.Other {
				continue
			}
			pairs++
			// Different valid IDs never merge through a shared key alone.
			if h.crm[hc.Person][0] == h.crm[hc.Other][0] {
				t.Errorf("household %d/%d sharing the %s: CRM rows merged into customer %d", hc.Person, hc.Other, hc.Shares, h.crm[hc.Person][0])
			}
			if h.shareCustomer(hc.Person, hc.Other) {
				merged++
			}
			if baseShare(hc.Person, hc.Other) {
				baseMerged++
			}
		}
		// A record carrying only a shared number, from a time and channel
		// both members use it in, may stand alone, never join the other
		// (a member who gives it online with their own e-mail does not use
		// it alone there).
		if merged != 0 || baseMerged != pairs || pairs != 90 {
			t.Errorf("households with records in one customer: %d of %d (baseline %d)", merged, pairs, baseMerged)
		}
		t.Logf("households with a record in the other's customer: %d of %d (baseline %d)", merged, pairs, baseMerged)
	})
	t.Run("recycled", func(t *testing.T) {
		for _, hc := range h.cases[fixtures.HardRecycled] {
			if h.crm[hc.Person][0] == h.crm[hc.Other][0] {
				t.Errorf("recycled number: holders %d and %d merged", hc.Other, hc.Person)
			}
			if h.shareCustomer(hc.Person, hc.Other) {
				t.Errorf("recycled number: a record of %d or %d went to the other", hc.Other, hc.Person)
			}
			if !baseShare(hc.Person, hc.Other) {
				t.Logf("recycled %d/%d: the baseline kept them apart (the old holder never gave the number)", hc.Other, hc.Person)
			}
		}
	})
	for _, kind := range []string{fixtures.HardMobileChange, fixtures.HardIDTypo, fixtures.HardID15, fixtures.HardNameVariant, fixtures.HardCardReissue} {
		t.Run(kind, func(t *testing.T) {
			if len(h.cases[kind]) == 0 {
				t.Fatal("no cases")
			}
			for _, hc := range h.cases[kind] {
				if !h.whole(hc.Person) {
					t.Errorf("person %d (%s): records split over customers %v", hc.Person, kind, uniq(h.customers[hc.Person]))
				}
				for _, c := range uniq(h.customers[hc.Person]) {
					if ps := uniq32(h.persons[c]); len(ps) > 1 {
						t.Errorf("person %d (%s): customer %d also holds %v", hc.Person, kind, c, ps)
					}
				}
				if kind == fixtures.HardIDTypo && hc.PassesCheck && len(h.crm[hc.Person]) != 2 {
					t.Errorf("person %d: %d CRM rows loaded, want 2 (a typo passing the check)", hc.Person, len(h.crm[hc.Person]))
				}
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		hard := map[int32]bool{}
		for _, hc := range h.exp.HardCases {
			hard[hc.Person] = true
			if hc.Other >= 0 {
				hard[hc.Other] = true
			}
		}
		for p := range h.customers {
			if hard[p] {
				continue
			}
			if !h.whole(p) || len(uniq32(h.persons[h.customers[p][0]])) != 1 {
				t.Errorf("person %d without a hard case: customers %v holding %v", p, uniq(h.customers[p]), uniq32(h.persons[h.customers[p][0]]))
			}
		}
	})
}

func uniq(xs []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func uniq32(xs []int32) []int32 {
	seen := map[int32]bool{}
	var out []int32
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
