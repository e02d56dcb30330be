package etl

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/privacy"
)

// TestSplitByDisplayedKeys: on a protected warehouse etl_identity holds
// tokens, and ckm identity explain shows keys masked. A split naming a
// mobile as explain shows it (139****9000) finds the token and moves the
// record carrying only that mobile; a masked form two of the customer's
// mobiles share is refused, naming the way out; a raw value no stored key
// equals is refused as before.
func TestSplitByDisplayedKeys(t *testing.T) {
	ctx := context.Background()
	cw := newCrossWorld(t, true)
	cw.load("2024-06-30", nil, []string{
		posLine("S1", "2024-03-01 10:00", "M00000001", "13800138000"),
		posLine("S2", "2024-03-02 10:00", "M00000001", "13900139000"),
		posLine("S3", "2024-03-03 10:00", "", "13900139000"),
		posLine("S4", "2024-03-04 10:00", "M00000001", "13700149000"),
		posLine("S5", "2024-03-05 10:00", "M00000001", "13700159000"),
	})
	a := cw.card("M00000001")
	shown := queryString(t, cw.w, `SELECT key_display FROM identity_link WHERE customer_id = ? AND key_type = 'mobile' AND key_value = ?`, a, cw.v.Token(privacy.Mobile, "+8613900139000"))
	if strings.Contains(shown, "0013") || !strings.Contains(shown, "*") {
		t.Fatalf("explain shows the mobile as %q, want it masked", shown)
	}
	st := Steward{User: "t", Role: "steward", Reason: "household"}
	if _, err := SplitCustomer(ctx, cw.w, a, []IdentityKey{{"mobile", "+8613900139000"}}, st); !errors.Is(err, ErrMergeRefused) || !strings.Contains(err.Error(), "no customer has key") {
		t.Errorf("split by a raw mobile on a protected warehouse: %v, want refused (no such stored key)", err)
	}
	// 13700149000 and 13700159000 show alike.
	amb := queryString(t, cw.w, `SELECT key_display FROM identity_link WHERE customer_id = ? AND key_type = 'mobile' AND key_value = ?`, a, cw.v.Token(privacy.Mobile, "+8613700149000"))
	if _, err := SplitCustomer(ctx, cw.w, a, []IdentityKey{{"mobile", amb}}, st); !errors.Is(err, ErrMergeRefused) || !strings.Contains(err.Error(), "2 of the customer's keys show as") {
		t.Errorf("split by %s shared by two mobiles: %v, want refused as ambiguous", amb, err)
	}
	out, err := SplitCustomer(ctx, cw.w, a, []IdentityKey{{"mobile", shown}}, st)
	if err != nil {
		t.Fatalf("split by %s: %v", shown, err)
	}
	if got := cw.sale("S3"); got != out.Other || got == a {
		t.Errorf("S3 is customer %d's after the split, want the new customer %d", got, out.Other)
	}
	for _, o := range []string{"S1", "S2", "S4"} {
		if got := cw.sale(o); got != a {
			t.Errorf("%s (with A's card) is customer %d's, want A %d", o, got, a)
		}
	}
	if got := cw.mobileHolder("+8613900139000"); got != a && got != out.Other {
		t.Errorf("the split mobile is customer %d's", got)
	}
}
