package etl

import (
	"context"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestIDTypoRule checks which pairs of ID numbers idTypoSQL accepts as one
// person's, on records made by hand: a typo needs a shared mobile or
// e-mail, one body digit of difference and two of name, birth date and
// region agreeing.
func TestIDTypoRule(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const a = "110105198001010011" // the ID; the others differ from it
	for _, q := range []string{
		`CREATE TEMP TABLE id_src (rec BIGINT, idn VARCHAR, name_v VARCHAR, birth_in DATE, region_in VARCHAR)`,
		`INSERT INTO id_src VALUES
			(1, '` + a + `', '张伟', DATE '1980-01-01', '110105'),
			(2, '110105198001010021', 'ＺＨＡＮＧ　ＷＥＩ', DATE '1980-01-01', '110105'), -- one digit: same person (name differs in script)
			(3, '110105198001010031', '李娜', DATE '1975-05-05', '440305'),               -- one digit, nothing else agrees
			(4, '110105198001010231', '张伟', DATE '1980-01-01', '110105'),               -- two digits from 1, 2 and 6 (one from 3, whose evidence disagrees)
			(5, '110105198001010041', '张伟', DATE '1980-01-01', '110105'),               -- one digit, no shared key
			(6, '` + a + `', '张伟', DATE '1980-01-01', '110105')                          -- the same ID: not a typo`,
		`CREATE TEMP TABLE id_src2 AS SELECT rec, idn, ` + nameKeySQL("name_v") + ` AS name_key, birth_in, region_in FROM id_src`,
		`DROP TABLE id_src`, `ALTER TABLE id_src2 RENAME TO id_src`,
		// Records 1-4 and 6 share the e-mail (kid 9); 5 has its own.
		`CREATE TEMP TABLE id_rk_all AS SELECT rec, CASE WHEN rec = 5 THEN 8 ELSE 9 END AS kid, true AS weak FROM id_src`,
		idTypoSQL(IdentityRules{}.withDefaults()),
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT id_a, id_b FROM id_typo ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got [][2]string
	for rows.Next() {
		var x, y string
		if err := rows.Scan(&x, &y); err != nil {
			t.Fatal(err)
		}
		got = append(got, [2]string{x, y})
	}
	if len(got) != 1 || got[0] != [2]string{a, "110105198001010021"} {
		t.Errorf("typo pairs %v, want only %s = 110105198001010021", got, a)
	}
}

// TestNameKey: full-width and half-width pinyin, spaces and case agree;
// characters stay characters.
func TestNameKey(t *testing.T) {
	ctx := context.Background()
	w, err := engine.Open(ctx, "", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for in, want := range map[string]string{"ＺＨＡＮＧ　ＷＥＩ": "zhangwei", "Zhang Wei": "zhangwei", "zhangwei": "zhangwei", "张伟": "张伟", " ": ""} {
		var got *string
		if err := w.DB.QueryRowContext(ctx, `SELECT `+nameKeySQL("?::VARCHAR"), in).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want == "" && got != nil || want != "" && (got == nil || *got != want) {
			t.Errorf("name key of %q = %v, want %q", in, got, want)
		}
	}
}

// TestIdentityRulesCheck: each bad threshold is named.
func TestIdentityRulesCheck(t *testing.T) {
	for _, c := range []struct {
		r    IdentityRules
		want string
	}{
		{IdentityRules{IDTypoDigits: 4}, "identity.id_typo_digits 4"},
		{IdentityRules{MinEvidence: 4}, "identity.min_evidence 4"},
		{IdentityRules{MaxGapDays: -1}, "identity.max_gap_days -1"},
		{IdentityRules{TieEvidence: 4}, "identity.tie_evidence 4"},
	} {
		if err := c.r.Check(); err == nil || err.Error()[:len(c.want)] != c.want {
			t.Errorf("%+v: %v, want %q", c.r, err, c.want)
		}
	}
	if err := (IdentityRules{}).Check(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
