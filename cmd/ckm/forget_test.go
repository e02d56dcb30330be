package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// TestForget erases one customer of a protected fixture load and proves it
// with the key material: the customer's key is gone, so their sealed
// values (captured before) no longer decrypt with anything the warehouse
// holds; the warehouse file and WAL, and every ledger text opened with the
// key, hold none of their raw values; their identity keys, links and
// personal columns are gone while their facts stay; the request is logged.
func TestForget(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	exports, wh, kf := filepath.Join(dir, "exports"), filepath.Join(dir, "w.duckdb"), filepath.Join(dir, "k")
	if _, stderr, code := runCkm(t, "", "fixtures", "generate", "--out", exports, "--customers", "200", "--days", "60", "--seed", "3", "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "init"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "load", exports); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	kek, err := os.ReadFile(kf)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := vault.ParseKEK(kek)

	// The customer: one holding an ID number, a mobile and some sales.
	w, err := engine.Open(ctx, wh, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(ctx, w.DB, k)
	if err != nil {
		t.Fatal(err)
	}
	var id, sales int64
	if err := w.DB.QueryRow(`SELECT customer_id, (SELECT count(*) FROM fact_sales f WHERE f.customer_id = c.customer_id) AS n
		FROM vault_value c WHERE kind = 'id_number' AND customer_id IN (SELECT customer_id FROM vault_value WHERE kind = 'mobile')
		AND customer_id IN (SELECT customer_id FROM etl_identity WHERE key_type = 'member_card')
		ORDER BY n DESC, customer_id LIMIT 1`).Scan(&id, &sales); err != nil {
		t.Fatal(err)
	}
	// Two rejected till lines whose records carry nothing but a member
	// card (written as a till file spells it, spaced): the customer's,
	// which forget must erase, and another customer's, which stays.
	var card, otherCard string
	if err := w.DB.QueryRow(`SELECT (SELECT min(key_value) FROM etl_identity WHERE customer_id = $1 AND key_type = 'member_card'),
		(SELECT min(key_value) FROM etl_identity WHERE customer_id <> $1 AND key_type = 'member_card')`, id).Scan(&card, &otherCard); err != nil {
		t.Fatal(err)
	}
	// Two rejected CRM rows carrying no identifier: the customer's name
	// with their birth date (as 1990年1月2日), which forget must erase, and
	// the name with another birth date (a namesake), which stays.
	var nameTok string
	var nameWrapped, nameSealed []byte
	var birth time.Time
	if err := w.DB.QueryRow(`SELECT v.token, k.wrapped_key, v.sealed, (SELECT max(birth_date) FROM dim_customer WHERE customer_id = $1)
		FROM vault_value v JOIN vault_customer_key k USING (customer_id) WHERE v.customer_id = $1 AND v.kind = 'name' LIMIT 1`, id).Scan(&nameTok, &nameWrapped, &nameSealed, &birth); err != nil {
		t.Fatalf("customer %d has no sealed name and birth date: %v", id, err)
	}
	name, err := v.Unseal(id, nameWrapped, nameTok, nameSealed)
	if err != nil {
		t.Fatal(err)
	}
	other := birth.AddDate(1, 2, 3)
	for i, d := range []time.Time{birth, other} {
		rec := fmt.Sprintf(",%s,,,,F,%d年%d月%d日", name, d.Year(), int(d.Month()), d.Day())
		if _, err := w.DB.Exec(`INSERT INTO etl_reject (run_id, file_id, path, line, stage, rule, severity, column_name, raw_value, raw_record, message)
			VALUES (1, 1, 'crm_test.csv', ?, 'validate', 'test', 'error', 'id_number', NULL, ?, 'planted by TestForget')`, 900011+i, v.SealText(rec)); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range []string{card, otherCard} {
		rec := "2024-01-05 10:00," + c[:1] + " " + c[1:] + ",P00001,1,9.90"
		if _, err := w.DB.Exec(`INSERT INTO etl_reject (run_id, file_id, path, line, stage, rule, severity, column_name, raw_value, raw_record, message)
			VALUES (1, 1, 'pos_sales_test.csv', ?, 'validate', 'test', 'error', 'product_code', NULL, ?, 'planted by TestForget')`, 900001+i, v.SealText(rec)); err != nil {
			t.Fatal(err)
		}
	}
	type sealedValue struct {
		tok             string
		wrapped, sealed []byte
	}
	var captured []sealedValue
	var raws []string
	rows, err := w.DB.Query(`SELECT v.token, k.wrapped_key, v.sealed FROM vault_value v JOIN vault_customer_key k USING (customer_id) WHERE customer_id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s sealedValue
		if err := rows.Scan(&s.tok, &s.wrapped, &s.sealed); err != nil {
			t.Fatal(err)
		}
		p, err := v.Unseal(id, s.wrapped, s.tok, s.sealed)
		if err != nil {
			t.Fatal(err)
		}
		captured = append(captured, s)
		raws = append(raws, p)
		if national, ok := strings.CutPrefix(p, "+86"); ok {
			raws = append(raws, national)
		}
	}
	rows.Close()
	w.Close()
	if len(captured) < 2 || sales == 0 {
		t.Fatalf("customer %d: %d sealed values, %d sales; the fixture should give more", id, len(captured), sales)
	}

	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "forget", "5"); code != exitUsage || !strings.Contains(stderr, "--reason") {
		t.Errorf("forget without a reason: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "forget", "5", "--reason", "r"); code != 1 || !strings.Contains(stderr, "admin may") {
		t.Errorf("forget as analyst: exit %d %s", code, stderr)
	}
	// On a protected warehouse the file holds no raw value even before
	// forget (TestProtectedWarehouseByteScan); what forget must remove
	// from it is the customer's wrapped key, checked below.
	if _, stderr, code := runCkm(t, "", append([]string{"--warehouse", wh, "forget", itoa(id), "--reason", "request 42"}, asAdmin(t)...)...); code != 1 || !strings.Contains(stderr, "give its key") {
		t.Errorf("forget without the key: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCkm(t, "", append([]string{"--warehouse", wh, "--key-file", kf, "forget", itoa(id), "--reason", "request 42"}, asAdmin(t)...)...); code != 0 {
		t.Fatalf("forget: exit %d %s", code, stderr)
	}

	// Decryption fails: nothing in the warehouse opens the captured seals.
	w, err = engine.Open(ctx, wh, engine.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if v, err = vault.Open(ctx, w.DB, k); err != nil {
		t.Fatal(err)
	}
	for _, s := range captured {
		var shared int64
		if err := w.DB.QueryRow(`SELECT (SELECT count(*) FROM vault_display WHERE token = $1) - (SELECT count(*) FROM vault_value WHERE token = $1)`, s.tok).Scan(&shared); err != nil || shared > 0 {
			t.Errorf("the mask of the forgotten customer's token %s stays (%v)", s.tok, err)
		}
		var wrapped []byte
		err := w.DB.QueryRow(`SELECT wrapped_key FROM vault_customer_key WHERE customer_id = ?`, id).Scan(&wrapped)
		if err == nil {
			t.Fatalf("customer %d's key is still in the warehouse", id)
		}
		if _, err := v.Unseal(id, wrapped, s.tok, s.sealed); !errors.Is(err, vault.ErrForgotten) {
			t.Errorf("unseal after forget: %v, want ErrForgotten", err)
		}
	}
	// The ledger line carrying the customer's card lost its record; the
	// other customer's kept it.
	for line, erased := range map[int64]bool{900011: true, 900012: false} {
		var rec *string
		if err := w.DB.QueryRow(`SELECT raw_record FROM etl_reject WHERE line = ?`, line).Scan(&rec); err != nil {
			t.Fatal(err)
		}
		if (rec == nil) != erased {
			t.Errorf("ledger line %d (the name with %s birth date): raw record erased %v, want %v", line,
				map[bool]string{true: "the customer's", false: "another"}[erased], rec == nil, erased)
		}
	}
	for line, erased := range map[int64]bool{900001: true, 900002: false} {
		var rec *string
		if err := w.DB.QueryRow(`SELECT raw_record FROM etl_reject WHERE line = ?`, line).Scan(&rec); err != nil {
			t.Fatal(err)
		}
		if (rec == nil) != erased {
			t.Errorf("ledger line %d (card %s, %s's): raw record erased %v, want %v", line, map[bool]string{true: card, false: otherCard}[erased],
				map[bool]string{true: "the forgotten customer", false: "another customer"}[erased], rec == nil, erased)
		}
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM vault_value WHERE customer_id = ?`:   0,
		`SELECT count(*) FROM etl_identity WHERE customer_id = ?`:  0,
		`SELECT count(*) FROM identity_link WHERE customer_id = ?`: 0,
		`SELECT count(*) FROM dim_customer WHERE customer_id = ? AND coalesce(id_number, mobile, email, name, CAST(birth_date AS VARCHAR)) IS NOT NULL`: 0,
		`SELECT count(*) FROM fact_interaction WHERE customer_id = ? AND interaction_id IS NOT NULL`:                                                    0,
		`SELECT count(*) FROM fact_campaign WHERE customer_id = ? AND NOT ends_with(response_id, '|')`:                                                  0,
		`SELECT count(*) FROM fact_sales WHERE customer_id = ?`:                                                                                         sales,
		`SELECT count(*) FROM vault_forgotten WHERE customer_id = ? AND reason = 'request 42'`:                                                          1,
	} {
		var n int64
		if err := w.DB.QueryRow(q, id).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d (%v), want %d", q, n, err, want)
		}
	}
	// Ledger texts opened with the key hold none of the raw values.
	// (Line 900012 is the namesake's, planted above with the same name:
	// rightly kept, so not scanned.)
	rows, err = w.DB.Query(`SELECT coalesce(raw_value, ''), coalesce(raw_record, '') FROM etl_reject WHERE line <> 900012`)
	if err != nil {
		t.Fatal(err)
	}
	var ledger strings.Builder
	for rows.Next() {
		var a, b string
		rows.Scan(&a, &b)
		for _, s := range []string{a, b} {
			p, err := v.OpenText(s)
			if err != nil {
				t.Fatal(err)
			}
			ledger.WriteString(p + "\n")
		}
	}
	rows.Close()
	w.Close()
	files := map[string][]byte{"ledger": []byte(ledger.String())}
	for _, f := range []string{wh, wh + ".wal"} {
		if b, err := os.ReadFile(f); err == nil {
			files[f] = b
		}
	}
	for name, b := range files {
		for _, raw := range raws {
			if bytes.Contains(b, []byte(raw)) {
				t.Errorf("%s still holds %s of the forgotten customer", name, raw)
			}
		}
		for _, s := range captured {
			if bytes.Contains(b, s.wrapped) {
				t.Errorf("%s still holds the forgotten customer's wrapped key", name)
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
