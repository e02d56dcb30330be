package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/fixtures"
	"github.com/ckm-dev/ckm/mining"
)

// ckm mine target's flags parse into TargetOptions; bad values are usage
// errors naming the flag, and a contact file needs a steward's reveal.
func TestMineTargetParse(t *testing.T) {
	var want mineTargetOptions
	want.Campaign, want.Top, want.TestFraction, want.Seed, want.role = "C202403", 1000, 0.3, 1, "analyst"
	all := want
	all.Top, all.ContactCost, all.ExpectedRevenue, all.AsOf, all.Name = 50, 2.5, 300, time.Date(2024, 10, 20, 0, 0, 0, 0, time.UTC), "x"
	env := want
	env.ContactCost = 4
	cases := []parseCase[mineTargetOptions]{
		{name: "defaults", args: []string{"C202403"}, want: want},
		{name: "all", args: []string{"C202403", "--top", "50", "--contact-cost", "2.5", "--expected-revenue", "300", "--as-of", "2024-10-20", "--name", "x"}, want: all},
		{name: "env", env: map[string]string{"CKM_MINE_TARGET_CONTACT_COST": "4"}, args: []string{"C202403"}, want: env},
		{name: "top", args: []string{"C1", "--top", "0"}, err: "--top 0: want 1 or more"},
		{name: "cost", args: []string{"C1", "--contact-cost", "-1"}, err: "--contact-cost -1: want a number >= 0"},
		{name: "revenue", args: []string{"C1", "--expected-revenue", "NaN"}, err: "--expected-revenue NaN"},
		{name: "as-of", args: []string{"C1", "--as-of", "soon"}, err: `--as-of "soon": want a date`},
		{name: "contacts without reveal", args: []string{"C1", "--contact-file", "x.csv"}, err: "--contact-file: contact details are raw personal data"},
		{name: "reveal without contacts", args: []string{"C1", "--role", "steward", "--reveal", "mailing"}, err: "--reveal: mine target reveals only with --contact-file"},
		{name: "analyst reveal", args: []string{"C1", "--contact-file", "x.csv", "--reveal", "mailing"}, err: "role analyst never sees raw personal data"},
	}
	checkParse(t, []string{"mine"}, newMineTargetCmd, []string{"mine", "target"}, func(o *mineTargetOptions) { o.app = nil }, cases)
}

// ckm mine target on a generated world (2024-01-01 to 11-15) with planted responders (member
// level gold/diamond and web share drive the response): trained on the
// 618 campaign (C202403), the list scored on the eve of the 双11 campaign
// (C202405) holds, among the members 双11 targeted at random, responders
// at a rate well above that random selection's (lift ≥ 1.5, counted by the
// test from fact_campaign); it lists nobody without consent or on the
// do-not-contact list, stores the list keyed by customer id only, and the
// responder rules name both planted drivers. The contact file is refused
// to an ungranted steward and written for a granted one, audited with its
// row count.
func TestMineTargetPlantedResponders(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	exp, err := fixtures.Generate(context.Background(), fixtures.Options{Out: data, Customers: 4000, Days: 320, Seed: 7, Responders: true})
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(dir, "w.duckdb")
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "load", data, "--as-of", exp.ExportDate); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCkm(t, "", "mine", "target", "C209901", "--warehouse", wh); code != 1 || !strings.Contains(stderr, `no campaign "C209901" in dim_campaign (campaigns: C202401`) {
		t.Errorf("unknown campaign: exit %d, %s", code, stderr)
	}
	out, stderr, code := runCkm(t, "", "mine", "target", "C202403", "--warehouse", wh, "--top", "800", "--contact-cost", "5",
		"--as-of", "2024-10-20", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res mining.TargetResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	w, err := engine.Open(context.Background(), wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var listed, ranksOK, forbidden, noConsent, dnc, cols, overlap, overlapResp, targeted, responded, refused, onList int
	err = w.DB.QueryRow(`WITH l AS (SELECT * FROM kb_target WHERE model_id = ?),
            d AS (SELECT customer_id, any_value(marketing_consent) AS consent, any_value(do_not_contact) AS dnc FROM dim_customer WHERE is_current GROUP BY 1),
            b AS (SELECT customer_id, bool_or(responded) AS r FROM fact_campaign WHERE targeted AND customer_id > 0
                AND campaign_key = (SELECT campaign_key FROM dim_campaign WHERE campaign_code = 'C202405') GROUP BY 1)
        SELECT (SELECT count(*) FROM l),
            (SELECT count(*) FROM (SELECT rank, row_number() OVER (ORDER BY expected_profit DESC, customer_id) AS rn FROM l) WHERE rank = rn),
            (SELECT count(*) FROM l JOIN d USING (customer_id) WHERE NOT coalesce(d.consent, false) OR coalesce(d.dnc, false)),
            (SELECT count(*) FROM d WHERE customer_id > 0 AND NOT coalesce(consent, false) AND customer_id IN (SELECT customer_id FROM dim_customer WHERE valid_from < DATE '2024-10-20' AND (registered_date IS NULL OR registered_date < DATE '2024-10-20'))),
            (SELECT count(*) FROM d WHERE customer_id > 0 AND coalesce(consent, false) AND coalesce(dnc, false) AND customer_id IN (SELECT customer_id FROM dim_customer WHERE valid_from < DATE '2024-10-20' AND (registered_date IS NULL OR registered_date < DATE '2024-10-20'))),
            (SELECT count(*) FROM duckdb_columns() WHERE table_name = 'kb_target' AND (column_name LIKE '%mobile%' OR column_name LIKE '%name%' OR column_name LIKE '%email%')),
            (SELECT count(*) FROM l JOIN b USING (customer_id)), (SELECT count(*) FILTER (WHERE r) FROM l JOIN b USING (customer_id)),
            (SELECT count(*) FROM b), (SELECT count(*) FILTER (WHERE r) FROM b),
            (SELECT count(*) FROM d WHERE consent = false), (SELECT count(*) FROM d WHERE dnc)`, res.ModelID).Scan(
		&listed, &ranksOK, &forbidden, &noConsent, &dnc, &cols, &overlap, &overlapResp, &targeted, &responded, &refused, &onList)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if listed == 0 || listed > 800 || listed != res.Listed || ranksOK != listed || forbidden != 0 || cols != 0 {
		t.Errorf("list: %d rows (result %d), %d ranked by profit, %d without consent or on the do-not-contact list, %d contact columns", listed, res.Listed, ranksOK, forbidden, cols)
	}
	if res.NoConsent != noConsent || res.DoNotContact != dnc {
		t.Errorf("excluded %d without consent and %d on the list; the test counts %d and %d", res.NoConsent, res.DoNotContact, noConsent, dnc)
	}
	// The permissions the generator wrote arrive in dim_customer (a few CRM
	// rows are rejected for planted faults).
	truth := exp.Truth.Responders
	if refused > truth.NoConsent || float64(refused) < 0.95*float64(truth.NoConsent) || onList > truth.DoNotContact || float64(onList) < 0.95*float64(truth.DoNotContact) {
		t.Errorf("dim_customer: %d without consent, %d on the do-not-contact list; the generator wrote %d and %d", refused, onList, truth.NoConsent, truth.DoNotContact)
	}
	random := float64(responded) / float64(targeted)
	lift := float64(overlapResp) / float64(overlap) / random
	t.Logf("双11: %d targeted at random, %.2f %% responded; of them %d on the list, %.2f %% responded: lift %.2f; held-out top-decile lift %.2f",
		targeted, 100*random, overlap, 100*float64(overlapResp)/float64(overlap), lift, res.TopDecileLift)
	if overlap < 50 || lift < 1.5 {
		t.Errorf("lift %.2f over random selection on %d listed members of 双11, want ≥ 1.5 on ≥ 50", lift, overlap)
	}
	drivers := map[string]bool{}
	for _, r := range res.ResponderRules {
		for _, c := range r.Conditions {
			for _, d := range exp.Truth.Responders.Drivers {
				if strings.HasPrefix(c, d+" ") {
					drivers[d] = true
				}
			}
		}
	}
	if len(drivers) != len(exp.Truth.Responders.Drivers) {
		t.Errorf("responder rules name drivers %v, want all of %v: %+v", drivers, exp.Truth.Responders.Drivers, res.ResponderRules)
	}

	// The contact file: only for a granted steward, audited.
	contacts := filepath.Join(dir, "contacts.csv")
	args := []string{"mine", "target", "C202403", "--warehouse", wh, "--top", "20", "--as-of", "2024-10-20", "--contact-file", contacts, "--role", "steward", "--reveal", "双11 mailing"}
	if _, stderr, code := runCkm(t, "", args...); code != 1 || !strings.Contains(stderr, "not granted") {
		t.Errorf("ungranted steward: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(contacts); !os.IsNotExist(err) {
		t.Errorf("contact file written for an ungranted steward")
	}
	if _, stderr, code := runCkm(t, "", append(args, "--config", principalsConfig(t, "steward"))...); code != 0 {
		t.Fatalf("granted steward: exit %d: %s", code, stderr)
	}
	f, err := os.Open(contacts)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) < 2 || strings.Join(recs[0], ",") != "rank,customer_id,name,mobile,email" || !strings.HasPrefix(recs[1][3], "+86") {
		t.Fatalf("contact file %v (%v)", recs, err)
	}
	out, _, _ = runCkm(t, "", "sql", "--warehouse", wh, "--format", "csv", "--role", "admin", "--config", principalsConfig(t, "admin"),
		"-c", "SELECT role, command, reason, rows FROM privacy_reveal")
	if want := "role,command,reason,rows\nsteward,mine target,双11 mailing," + strconv.Itoa(len(recs)-1) + "\n"; out != want {
		t.Errorf("audit %q, want %q", out, want)
	}
}
