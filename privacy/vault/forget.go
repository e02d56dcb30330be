package vault

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
)

// Erasure is what Forget did.
type Erasure struct {
	CustomerID     int64 `json:"customer_id"`
	ValuesSealed   int64 `json:"values_sealed"`    // sealed values made unrecoverable
	LinksBroken    int64 `json:"links_broken"`     // identity keys and links removed
	LedgerRedacted int64 `json:"ledger_redacted"`  // reject-ledger entries whose raw texts were removed
	VersionsBlank  int64 `json:"versions_blanked"` // dim_customer versions whose personal columns were emptied
}

// Forget carries out a data subject's erasure request on db (one
// transaction, the caller's): it destroys the customer's key and sealed
// values (crypto-shredding: a copy of an old block holds nothing the data
// key opens), removes the customer's identity keys and links (the tokens
// that would find them again), removes the raw texts of reject-ledger
// entries that hold any of their identifiers or member cards, or one of
// their names with their birth date, empties the personal columns of
// their dim_customer versions, removes the masks of their tokens and the
// mobile tokens of their contact and response keys, and logs the request
// in vault_forgotten.
// Facts stay, as anonymous history of that customer id.
func (v *Vault) Forget(ctx context.Context, db Querier, customerID int64, user, reason string) (Erasure, error) {
	e := Erasure{CustomerID: customerID}
	if strings.TrimSpace(reason) == "" {
		return e, fmt.Errorf("forget customer %d: give the reason (the erasure request)", customerID)
	}
	var known int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM vault_customer_key WHERE customer_id = $1)
		+ (SELECT count(*) FROM etl_identity WHERE customer_id = $1) + (SELECT count(*) FROM dim_customer WHERE customer_id = $1)`,
		customerID).Scan(&known); err != nil {
		return e, fmt.Errorf("forget: %w", err)
	}
	if known == 0 {
		return e, fmt.Errorf("forget: no customer %d in this warehouse (forgotten already?)", customerID)
	}
	values, named, err := v.customerValues(ctx, db, customerID)
	if err != nil {
		return e, err
	}
	if e.LedgerRedacted, err = v.redactLedger(ctx, db, values, named); err != nil {
		return e, err
	}
	steps := []struct {
		n *int64
		q string
	}{
		// The masks of the customer's tokens no other customer shares.
		{nil, `DELETE FROM vault_display WHERE token IN (SELECT token FROM vault_value WHERE customer_id = $1)
			AND token NOT IN (SELECT token FROM vault_value WHERE customer_id <> $1)`},
		// Contact and response keys carry the mobile's token.
		{&e.LinksBroken, `UPDATE fact_interaction SET interaction_id = NULL WHERE customer_id = $1 AND interaction_id IS NOT NULL`},
		{&e.LinksBroken, `UPDATE fact_campaign SET response_id = split_part(response_id, '|', 1) || '|'
			WHERE customer_id = $1 AND strpos(response_id, '|') > 0`},
		// The lake's change record: the months of the rows changed.
		{nil, engine.ChangeRecordSQL("forget", "fact_interaction", "customer_id = $1")},
		{nil, engine.ChangeRecordSQL("forget", "fact_campaign", "customer_id = $1")},
		{&e.ValuesSealed, `DELETE FROM vault_value WHERE customer_id = ?`},
		{nil, `DELETE FROM vault_customer_key WHERE customer_id = ?`},
		{&e.LinksBroken, `DELETE FROM etl_identity WHERE customer_id = ?`},
		{&e.LinksBroken, `DELETE FROM identity_link WHERE customer_id = ?`},
	}
	for _, s := range steps {
		res, err := db.ExecContext(ctx, s.q, customerID)
		if err != nil {
			return e, fmt.Errorf("forget customer %d: %w", customerID, err)
		}
		if s.n != nil {
			n, _ := res.RowsAffected()
			*s.n += n
		}
	}
	if e.VersionsBlank, err = engine.EraseCustomer(ctx, db, customerID); err != nil {
		return e, fmt.Errorf("forget customer %d: %w", customerID, err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO vault_forgotten VALUES (?, ?, ?, ?, ?, ?, ?)`,
		customerID, time.Now().UTC(), user, reason, e.ValuesSealed, e.LinksBroken, e.LedgerRedacted); err != nil {
		return e, fmt.Errorf("forget customer %d: log: %w", customerID, err)
	}
	return e, nil
}

// customerValues opens the customer's sealed identifiers with the forms
// they take in raw source records (a mainland mobile without +86) and adds
// their member cards; their names go apart with their birth dates (many
// share a name: a ledger record naming a namesake is not theirs).
func (v *Vault) customerValues(ctx context.Context, db Querier, customerID int64) ([]string, namedBirth, error) {
	var named namedBirth
	rows, err := db.QueryContext(ctx, `SELECT v.kind, v.token, k.wrapped_key, v.sealed FROM vault_value v
		JOIN vault_customer_key k USING (customer_id) WHERE v.customer_id = ?`, customerID)
	if err != nil {
		return nil, named, fmt.Errorf("forget: %w", err)
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var kind, tok string
		var wrapped, sealed []byte
		if err := rows.Scan(&kind, &tok, &wrapped, &sealed); err != nil {
			return nil, named, fmt.Errorf("forget: %w", err)
		}
		p, err := v.Unseal(customerID, wrapped, tok, sealed)
		if err != nil {
			return nil, named, err
		}
		if kind == "name" {
			named.names = append(named.names, p)
			continue
		}
		values = append(values, p)
		if national, ok := strings.CutPrefix(p, "+86"); ok {
			values = append(values, national)
		}
		if len(p) == 18 && strings.HasPrefix(p[6:], "19") {
			values = append(values, p[:6]+p[8:17]) // the 15-digit form of an ID number born in the 1900s
		}
	}
	if err := rows.Err(); err != nil {
		return nil, named, err
	}
	if named.births, err = birthForms(ctx, db, customerID); err != nil {
		return nil, named, err
	}
	// Member cards are kept in the clear in the identity map (a card
	// number is the retailer's own, not a resident's identifier), but a
	// ledger record holding one is still the customer's: read them before
	// the identity keys go.
	cards, err := db.QueryContext(ctx, `SELECT DISTINCT key_value FROM etl_identity WHERE customer_id = ? AND key_type = 'member_card'`, customerID)
	if err != nil {
		return nil, named, fmt.Errorf("forget: %w", err)
	}
	defer cards.Close()
	for cards.Next() {
		var c string
		if err := cards.Scan(&c); err != nil {
			return nil, named, fmt.Errorf("forget: %w", err)
		}
		values = append(values, c)
	}
	return values, named, cards.Err()
}

// namedBirth is what identifies a customer in a record without any of
// their identifiers: one of their names together with their birth date.
type namedBirth struct {
	names  []string
	births []string // the forms a birth date takes in source records
}

// holds says whether text (opened, not normalised) names the customer
// with their birth date. A name alone is not enough: many share one.
func (n namedBirth) holds(text string) bool {
	named := false
	for _, name := range n.names {
		if name != "" && strings.Contains(text, name) {
			named = true
			break
		}
	}
	if !named {
		return false
	}
	for _, b := range n.births {
		if containsDate(text, b) {
			return true
		}
	}
	return false
}

// containsDate says whether text holds date d standing alone: not inside
// a longer run of digits (1990-1-2 is not in 1990-1-23, nor 19900102 in
// an ID number).
func containsDate(text, d string) bool {
	for from := 0; ; {
		i := strings.Index(text[from:], d)
		if i < 0 {
			return false
		}
		i += from
		before, after := i > 0 && isDigit(text[i-1]), i+len(d) < len(text) && isDigit(text[i+len(d)])
		if !before && !after {
			return true
		}
		from = i + 1
	}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// birthForms reads the customer's birth dates (before forget blanks them)
// in the spellings exports use.
func birthForms(ctx context.Context, db Querier, customerID int64) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT birth_date FROM dim_customer WHERE customer_id = ? AND birth_date IS NOT NULL`, customerID)
	if err != nil {
		return nil, fmt.Errorf("forget: %w", err)
	}
	defer rows.Close()
	var forms []string
	for rows.Next() {
		var d time.Time
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("forget: %w", err)
		}
		y, m, day := d.Date()
		for _, f := range []string{"%04d-%02d-%02d", "%04d/%02d/%02d", "%04d.%02d.%02d", "%04d%02d%02d", "%04d年%d月%d日", "%04d/%d/%d", "%04d-%d-%d"} {
			forms = append(forms, fmt.Sprintf(f, y, int(m), day))
		}
	}
	return forms, rows.Err()
}

// redactLedger removes the raw value and record of every ledger entry
// whose opened texts hold one of values, or one of the customer's names
// with their birth date, and says how many it changed.
func (v *Vault) redactLedger(ctx context.Context, db Querier, values []string, named namedBirth) (int64, error) {
	if len(values) == 0 && len(named.names) == 0 {
		return 0, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT rowid, coalesce(raw_value, ''), coalesce(raw_record, '') FROM etl_reject
		WHERE raw_value IS NOT NULL OR raw_record IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("forget: ledger: %w", err)
	}
	var hit []int64
	for rows.Next() {
		var id int64
		var val, rec string
		if err := rows.Scan(&id, &val, &rec); err != nil {
			rows.Close()
			return 0, fmt.Errorf("forget: ledger: %w", err)
		}
		text := ""
		for _, s := range []string{val, rec} {
			p, err := v.OpenText(s)
			if err != nil {
				rows.Close()
				return 0, err
			}
			text += p + "\n"
		}
		if holdsAny(digitsAndLetters(text), values) || named.holds(text) {
			hit = append(hit, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, id := range hit {
		if _, err := db.ExecContext(ctx, `UPDATE etl_reject SET raw_value = NULL, raw_record = NULL, record_hash = NULL,
			message = message || ' (raw record erased on a data subject''s request)' WHERE rowid = ?`, id); err != nil {
			return 0, fmt.Errorf("forget: ledger: %w", err)
		}
	}
	return int64(len(hit)), nil
}

// digitsAndLetters keeps what identifiers are made of, so a dirty form
// (spaced, dashed, full-width digits) matches its normalised value.
func digitsAndLetters(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '０' && r <= '９':
			b.WriteRune('0' + r - '０')
		case r == '-':
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r == '@', r == '.', r == '+', r == '_':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func holdsAny(text string, values []string) bool {
	for _, v := range values {
		if v != "" && strings.Contains(text, digitsAndLetters(v)) {
			return true
		}
	}
	return false
}
