package etl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ckm-dev/ckm/privacy"
)

// storedKey finds the key a steward names for customer as etl_identity
// stores it. A steward names keys as ckm identity explain lists them: the
// normalised value on a plain warehouse, a token with --reveal on a
// protected one, or — on any warehouse — the masked display
// (mobile:138****8000, id_number:110105********0011), which names the
// customer's key uniquely when only one of its keys of that type shows
// so. A masked form several of the customer's keys share is refused, as is
// one no key of theirs shows.
func (m *merger) storedKey(customer int64, k IdentityKey) (IdentityKey, error) {
	if n, err := m.count(`SELECT count(*) FROM etl_identity WHERE key_type = ? AND key_value = ?`, k.Type, k.Value); err != nil || n > 0 {
		return k, err
	}
	rows, err := m.q.QueryContext(m.ctx, `SELECT DISTINCT ei.key_value, coalesce(il.key_display, '')
		FROM etl_identity ei LEFT JOIN identity_link il USING (customer_id, key_type, key_value)
		WHERE ei.customer_id = ? AND ei.key_type = ?`, customer, k.Type)
	if err != nil {
		return k, fmt.Errorf("customer merge: %w", err)
	}
	defer rows.Close()
	kind := privacy.ParseKind(k.Type)
	var matches []string
	for rows.Next() {
		var value, display string
		if err := rows.Scan(&value, &display); err != nil {
			return k, fmt.Errorf("customer merge: %w", err)
		}
		shown := []string{privacy.Mask(kind, value)}
		if display != "" {
			shown = append(shown, display, privacy.Mask(kind, display))
		}
		if slices.Contains(shown, k.Value) && !slices.Contains(matches, value) {
			matches = append(matches, value)
		}
	}
	if err := rows.Err(); err != nil {
		return k, fmt.Errorf("customer merge: %w", err)
	}
	switch len(matches) {
	case 1:
		return IdentityKey{k.Type, matches[0]}, nil
	case 0:
		// The caller says whose key it is, if anyone's.
		return k, nil
	}
	return k, fmt.Errorf("split %d: %w: %d of the customer's keys show as %s; name the one meant in full (ckm identity explain %d --reveal REASON)",
		customer, ErrMergeRefused, len(matches), strings.TrimSpace(k.masked()), customer)
}
