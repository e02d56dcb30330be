package privacy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

func TestPolicyGrant(t *testing.T) {
	p, err := ParsePrincipals(map[string]string{"alice": "steward", "root": "admin", "bob": "analyst"}, "config test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		user string
		role Role
		ok   bool
	}{
		{"mallory", Analyst, true}, // anyone is an analyst
		{"", Analyst, true},
		{"mallory", Steward, false}, // not listed
		{"mallory", Admin, false},
		{"bob", Steward, false}, // listed as analyst only
		{"alice", Steward, true},
		{"alice", Admin, false}, // above her role
		{"root", Steward, true}, // below his
		{"root", Admin, true},
		{"", Admin, false},
	}
	for _, c := range cases {
		got, err := p.Grant(c.user, c.role)
		if c.ok != (err == nil) || c.ok && (got.Role != c.role || got.User != c.user) {
			t.Errorf("Grant(%q, %s) = %+v, %v; want granted %v", c.user, c.role, got, err, c.ok)
		}
		if !c.ok && !errors.Is(err, ErrRoleDenied) {
			t.Errorf("Grant(%q, %s): %v is not ErrRoleDenied", c.user, c.role, err)
		}
	}
	if _, err := (Policy{}).Grant("root", Admin); err == nil || !strings.Contains(err.Error(), "no principals list") {
		t.Errorf("no policy: %v", err)
	}
	for _, bad := range []map[string]string{{"alice": "boss"}, {"alice": ""}, {" ": "admin"}} {
		if _, err := ParsePrincipals(bad, "config x"); err == nil {
			t.Errorf("ParsePrincipals(%v) accepted", bad)
		}
	}
	for _, c := range []struct {
		p                            Principal
		reveal, exportRaw, sandboxed bool
	}{
		{Principal{Role: Analyst}, false, false, true},
		{Principal{Role: Steward}, true, false, true},
		{Principal{Role: Admin}, true, true, false},
		{Principal{Role: "boss"}, false, false, true},
	} {
		if c.p.MayReveal() != c.reveal || c.p.MayExportRaw() != c.exportRaw || c.p.Sandboxed() != c.sandboxed {
			t.Errorf("%s: reveal %v export raw %v sandboxed %v", c.p.Role, c.p.MayReveal(), c.p.MayExportRaw(), c.p.Sandboxed())
		}
	}
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	steward := Principal{User: "sam", Role: Steward}
	if _, err := Audit(ctx, w.DB, Reveal{Principal: Principal{User: "amy", Role: Analyst}, Command: "sql", Reason: "x"}); err == nil {
		t.Error("an analyst's reveal was audited")
	}
	if _, err := Audit(ctx, w.DB, Reveal{Principal: steward, Command: "sql", Reason: "  "}); !errors.Is(err, ErrNoReason) {
		t.Errorf("reveal without a reason: %v", err)
	}
	// A raw value typed into a statement is stored masked.
	id, err := Audit(ctx, w.DB, Reveal{Principal: steward, Command: "sql", Rows: -1, Reason: "ticket 5",
		Detail: "SELECT * FROM dim_customer WHERE mobile = '13800138000' OR id_number = '11010519491231002X'"})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := Audit(ctx, w.DB, Reveal{Principal: steward, Command: "rejects", Reason: "ticket 6", Rows: 3})
	if err != nil || id2 != id+1 {
		t.Fatalf("second reveal id %d (%v), want %d", id2, err, id+1)
	}
	if err := AuditRows(ctx, w.DB, id, 2); err != nil {
		t.Fatal(err)
	}
	var detail, user, role string
	var rows int64
	if err := w.DB.QueryRowContext(ctx, `SELECT detail, os_user, role, rows FROM privacy_reveal WHERE reveal_id = ?`, id).Scan(&detail, &user, &role, &rows); err != nil {
		t.Fatal(err)
	}
	if want := "SELECT * FROM dim_customer WHERE mobile = '+86 138****8000' OR id_number = '110105************'"; detail != want || user != "sam" || role != "steward" || rows != 2 {
		t.Errorf("audit row: %q %s %s %d; want %q sam steward 2", detail, user, role, rows, want)
	}
}
