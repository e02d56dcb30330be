package etl

import (
	"context"
	"database/sql"
	"fmt"
)

// IdentityRecord is one customer-naming record identity resolution saw in a
// load: where it is, its normalised keys and the customer it was given
// (0 when it carries no key).
type IdentityRecord struct {
	FileID, Line                  int64
	Card, IDNumber, Mobile, Email string
	Customer                      int64
}

// IdentityRecords reads the records of the running load with their keys and
// customers. It must run inside the load's transaction, in an
// Options.AfterIdentity hook, where the load's working tables live.
func IdentityRecords(ctx context.Context, tx *sql.Tx) ([]IdentityRecord, error) {
	rows, err := tx.QueryContext(ctx, `SELECT s.rec // 10000000000, s.rec % 10000000000,
		coalesce(s.card, ''), coalesce(s.idn, ''), coalesce(s.mobile_v, ''), coalesce(s.email_v, ''), coalesce(r.customer_id, 0)
		FROM (SELECT `+sourceRecs("s")+` AS rec, card, idn, mobile_v, email_v FROM id_src s `+sourceJoin("s")+` WHERE s.rec > 0) s
		LEFT JOIN id_rec r USING (rec) ORDER BY s.rec`)
	if err != nil {
		return nil, fmt.Errorf("identity records: %w", err)
	}
	defer rows.Close()
	var out []IdentityRecord
	for rows.Next() {
		var r IdentityRecord
		if err := rows.Scan(&r.FileID, &r.Line, &r.Card, &r.IDNumber, &r.Mobile, &r.Email, &r.Customer); err != nil {
			return nil, fmt.Errorf("identity records: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("identity records: %w", err)
	}
	return out, nil
}

// LinkAnyKey unifies records that share any key (member card, ID number,
// mobile, e-mail), transitively: the rule ckm used before it knew
// conflicts, kept as the baseline its resolution is measured against. It
// returns a group per record (0 for a record without keys).
func LinkAnyKey(recs []IdentityRecord) []int64 {
	parent := make([]int, len(recs))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	first := map[string]int{}
	link := func(i int, kind, v string) {
		if v == "" {
			return
		}
		k := kind + v
		if j, ok := first[k]; ok {
			parent[find(i)] = find(j)
			return
		}
		first[k] = i
	}
	for i, r := range recs {
		link(i, "c", r.Card)
		link(i, "i", r.IDNumber)
		link(i, "m", r.Mobile)
		link(i, "e", r.Email)
	}
	out := make([]int64, len(recs))
	for i, r := range recs {
		if r.Card != "" || r.IDNumber != "" || r.Mobile != "" || r.Email != "" {
			out[i] = int64(find(i)) + 1
		}
	}
	return out
}

// PairScore is the pairwise agreement of a unification with the truth:
// pairs of records put together (predicted) against pairs truly together.
type PairScore struct {
	Records        int64   `json:"records"`
	PredictedPairs int64   `json:"predicted_pairs"`
	TruePairs      int64   `json:"true_pairs"`
	CorrectPairs   int64   `json:"correct_pairs"`
	Precision      float64 `json:"pair_precision"`
	Recall         float64 `json:"pair_recall"`
}

// ScorePairs scores a unification: pred and truth give each record's group
// (records with group 0 in either are left out), and in, when not nil,
// limits the pairs counted to those with at least one record it accepts.
// Precision is 1 with no predicted pair, recall 1 with no true pair.
func ScorePairs(pred, truth []int64, in func(i int) bool) PairScore {
	type cell struct{ p, t int64 }
	// For pairs "with at least one record in": all pairs within a group
	// minus those among the records outside.
	cells, cellsOut := map[cell]int64{}, map[cell]int64{}
	preds, predsOut := map[int64]int64{}, map[int64]int64{}
	truths, truthsOut := map[int64]int64{}, map[int64]int64{}
	var s PairScore
	for i := range pred {
		if pred[i] == 0 || truth[i] == 0 {
			continue
		}
		c := cell{pred[i], truth[i]}
		cells[c]++
		preds[pred[i]]++
		truths[truth[i]]++
		if in != nil && !in(i) {
			cellsOut[c]++
			predsOut[pred[i]]++
			truthsOut[truth[i]]++
		} else {
			s.Records++
		}
	}
	pairs := func(all, out map[int64]int64) (n int64) {
		for k, v := range all {
			o := out[k]
			n += v*(v-1)/2 - o*(o-1)/2
		}
		return n
	}
	s.PredictedPairs = pairs(preds, predsOut)
	s.TruePairs = pairs(truths, truthsOut)
	for k, v := range cells {
		o := cellsOut[k]
		s.CorrectPairs += v*(v-1)/2 - o*(o-1)/2
	}
	s.Precision, s.Recall = 1, 1
	if s.PredictedPairs > 0 {
		s.Precision = float64(s.CorrectPairs) / float64(s.PredictedPairs)
	}
	if s.TruePairs > 0 {
		s.Recall = float64(s.CorrectPairs) / float64(s.TruePairs)
	}
	return s
}
