package mining

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining/tree"
	"github.com/ckm-dev/ckm/privacy"
)

// TargetOptions configure campaign targeting: a response model learnt from
// one campaign's targeted members, scored on every customer.
type TargetOptions struct {
	// Campaign is the code (dim_campaign.campaign_code) of the campaign
	// whose targeted members (fact_campaign) teach who responds; their
	// features are taken from the rows before its start date.
	Campaign string
	// Top is how many customers the list holds at most (those with a
	// positive expected profit).
	Top int
	// ContactCost is the cost of contacting one customer.
	ContactCost float64
	// ExpectedRevenue is the revenue of one response (0: the mean revenue
	// of the campaign's responses).
	ExpectedRevenue float64
	// AsOf is the day customers are scored on: their features come from
	// the rows before it (default the day after the last sale).
	AsOf         time.Time
	TestFraction float64 // default 0.3
	Seed         uint64
	Name         string // default "target"
	DryRun       bool
}

// TargetRule is a responder profile: a rule of the response tree.
type TargetRule struct {
	Conditions []string `json:"if"`
	Class      string   `json:"then"`
	Confidence float64  `json:"confidence"`
	Members    float64  `json:"members"` // training weight at the leaf
}

// TargetResult summarises a targeting run.
type TargetResult struct {
	ModelID         int64       `json:"model_id"`
	Campaign        string      `json:"campaign"`
	TrainedAsOf     string      `json:"trained_as_of"`
	ScoredAsOf      string      `json:"scored_as_of"`
	Targeted        int         `json:"campaign_targeted"`
	ResponseRate    float64     `json:"campaign_response_rate"`
	ExpectedRevenue float64     `json:"expected_revenue"`
	ContactCost     float64     `json:"contact_cost"`
	Metrics         TreeMetrics `json:"metrics"`
	TopDecileLift   float64     `json:"top_decile_lift"`
	// Scored customers, those excluded for lack of marketing consent (NULL
	// counts as none) or for the do-not-contact list, and the list's size.
	Scored          int           `json:"scored"`
	NoConsent       int           `json:"excluded_no_consent"`
	DoNotContact    int           `json:"excluded_do_not_contact"`
	Listed          int           `json:"listed"`
	ExpectedResp    float64       `json:"expected_responses"`
	ExpectedProfit  float64       `json:"expected_profit"`
	ResponderRules  []TargetRule  `json:"responder_rules"`
	NonResponder    []TargetRule  `json:"non_responder_rules"`
	ProbabilitySQL  string        `json:"probability_sql"`
	Features        []string      `json:"features"`
	List            []TargetRow   `json:"-"`
	TrainingSummary *FeatureStats `json:"training_cases"`
}

// TargetRow is one customer of the target list.
type TargetRow struct {
	Rank        int
	CustomerID  int64
	Probability float64
	Profit      float64
}

// Classes of the response label.
const (
	respondedYes = "yes"
	respondedNo  = "no"
)

// MineTarget learns who responds to a campaign — a C4.5 tree over the
// warehouse features before the campaign's start, labelled by
// fact_campaign.responded of its targeted members, evaluated on held-out
// members (lift by decile) — then scores every customer known before AsOf
// with the tree's probability SQL in DuckDB, drops those without marketing
// consent or on the do-not-contact list (dim_customer, current version),
// ranks the rest by expected profit = probability × expected revenue −
// contact cost and keeps the top N with a positive profit. It stores the
// model (kind target), the tree's rules (the responder profile) in
// kb_rule and the list in kb_target, in one transaction.
func MineTarget(ctx context.Context, w *engine.Warehouse, o TargetOptions) (*TargetResult, error) {
	if o.Name == "" {
		o.Name = "target"
	}
	if o.TestFraction == 0 {
		o.TestFraction = 0.3
	}
	switch {
	case strings.TrimSpace(o.Campaign) == "":
		return nil, fmt.Errorf("target: no campaign code given")
	case o.Top <= 0:
		return nil, fmt.Errorf("target: top %d: want at least 1", o.Top)
	case math.IsNaN(o.ContactCost) || math.IsInf(o.ContactCost, 0) || o.ContactCost < 0:
		return nil, fmt.Errorf("target: contact cost %v: want a finite number ≥ 0", o.ContactCost)
	case math.IsNaN(o.ExpectedRevenue) || math.IsInf(o.ExpectedRevenue, 0) || o.ExpectedRevenue < 0:
		return nil, fmt.Errorf("target: expected revenue %v: want a finite number ≥ 0", o.ExpectedRevenue)
	}
	res := &TargetResult{Campaign: o.Campaign, ContactCost: o.ContactCost}
	var key int64
	var start sql.NullTime
	var responses int
	var meanRevenue sql.NullFloat64
	err := w.DB.QueryRowContext(ctx, `SELECT c.campaign_key, c.start_date,
            (SELECT count(DISTINCT customer_id) FROM fact_campaign f WHERE f.campaign_key = c.campaign_key AND f.targeted AND f.customer_id > 0),
            (SELECT count(DISTINCT customer_id) FILTER (WHERE f.responded) FROM fact_campaign f WHERE f.campaign_key = c.campaign_key AND f.targeted AND f.customer_id > 0),
            (SELECT avg(revenue) FILTER (WHERE f.responded AND f.revenue > 0) FROM fact_campaign f WHERE f.campaign_key = c.campaign_key AND f.customer_id > 0)
        FROM dim_campaign c WHERE c.campaign_code = ? ORDER BY c.campaign_key LIMIT 1`, o.Campaign).Scan(&key, &start, &res.Targeted, &responses, &meanRevenue)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("target: no campaign %q in dim_campaign (%s)", o.Campaign, campaignCodes(ctx, w))
	}
	if err != nil {
		return nil, fmt.Errorf("target: campaign %q: %w", o.Campaign, err)
	}
	if !start.Valid {
		return nil, fmt.Errorf("target: campaign %q has no start date: the features need a cut-off", o.Campaign)
	}
	if res.Targeted == 0 || responses == 0 || responses == res.Targeted {
		return nil, fmt.Errorf("target: campaign %q has %d targeted customers and %d responders: a response model needs both responders and non-responders",
			o.Campaign, res.Targeted, responses)
	}
	res.ResponseRate = float64(responses) / float64(res.Targeted)
	res.ExpectedRevenue = o.ExpectedRevenue
	if res.ExpectedRevenue == 0 {
		if !meanRevenue.Valid {
			return nil, fmt.Errorf("target: campaign %q credits no revenue to its responses: give the expected revenue of a response", o.Campaign)
		}
		res.ExpectedRevenue = meanRevenue.Float64
	}
	if o.AsOf.IsZero() {
		var last sql.NullTime
		if err := w.DB.QueryRowContext(ctx, `SELECT max(CAST(order_ts AS DATE)) + 1 FROM fact_sales`).Scan(&last); err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		if !last.Valid {
			return nil, fmt.Errorf("target: no sales to score customers on: %w", ErrEmpty)
		}
		o.AsOf = last.Time
	}
	res.TrainedAsOf, res.ScoredAsOf = start.Time.Format(time.DateOnly), o.AsOf.Format(time.DateOnly)

	labelSQL := fmt.Sprintf(`SELECT customer_id, CASE WHEN bool_or(responded) THEN '%s' ELSE '%s' END AS responded
        FROM fact_campaign WHERE campaign_key = %d AND targeted AND customer_id > 0 GROUP BY customer_id`, respondedYes, respondedNo, key)
	// Responders are rare: each counts as many times as there are
	// non-responders per responder, so their leaves survive pruning; the
	// probability is mapped back to the campaign's odds below.
	oversample := max(1, int(math.Round(float64(res.Targeted-responses)/float64(responses))))
	tr, err := MineTree(ctx, w, TreeOptions{Source: Source{Label: "responded"}, Positive: respondedYes, TestFraction: o.TestFraction,
		Seed: o.Seed, DryRun: true, Oversample: oversample, MinLeaf: targetMinLeaf(res.Targeted, responses, oversample, o.TestFraction), FromWarehouse: FeatureOptions{AsOf: start.Time, LabelSQL: labelSQL}})
	if err != nil {
		return nil, fmt.Errorf("target: response model: %s", strings.TrimPrefix(err.Error(), "tree: "))
	}
	res.Metrics, res.Features, res.TrainingSummary = tr.Metrics, tr.Features, tr.Cases
	if len(tr.Metrics.Lift) > 0 {
		res.TopDecileLift = tr.Metrics.Lift[0].Lift
	}
	resampled, err := tr.Tree.ProbabilitySQL(tr.Features, respondedYes)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	res.ProbabilitySQL = fmt.Sprintf("(SELECT p / (p + %d * (1 - p)) FROM (SELECT CAST(%s AS DOUBLE) AS p))", oversample, resampled)
	rules := tr.Tree.Rules()
	res.ResponderRules, res.NonResponder = profileRules(rules)

	// Score every customer known before AsOf.
	all := `SELECT DISTINCT customer_id, 'no' AS responded FROM dim_customer WHERE customer_id > 0`
	run, _, _, err := startFeatureRun(ctx, w, "target", FeatureOptions{AsOf: o.AsOf, LabelSQL: all}, Source{Label: "responded"})
	if err != nil {
		return nil, err
	}
	defer run.close()
	scores := fmt.Sprintf(`SELECT f.customer_id, CAST(%s AS DOUBLE) AS probability,
            coalesce(d.marketing_consent, false) AS consent, coalesce(d.do_not_contact, false) AS dnc
        FROM %s f LEFT JOIN (SELECT customer_id, any_value(marketing_consent) AS marketing_consent, any_value(do_not_contact) AS do_not_contact
            FROM dim_customer WHERE is_current GROUP BY customer_id) d USING (customer_id)`, res.ProbabilitySQL, featureTable)
	if err := run.temp(ctx, "ckm_target_scores", scores); err != nil {
		return nil, run.fail(fmt.Errorf("score: %w", err))
	}
	list := fmt.Sprintf(`SELECT row_number() OVER (ORDER BY profit DESC, customer_id) AS rank, customer_id, probability, profit FROM (
            SELECT customer_id, probability, probability * %[1]v - %[2]v AS profit FROM ckm_target_scores WHERE consent AND NOT dnc)
        WHERE profit > 0 ORDER BY rank LIMIT %[3]d`, res.ExpectedRevenue, o.ContactCost, o.Top)
	if err := run.temp(ctx, "ckm_target_list", list); err != nil {
		return nil, run.fail(fmt.Errorf("list: %w", err))
	}
	if err := run.conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ckm_target_scores), (SELECT count(*) FILTER (WHERE NOT consent) FROM ckm_target_scores),
            (SELECT count(*) FILTER (WHERE consent AND dnc) FROM ckm_target_scores), count(*), coalesce(sum(probability), 0), coalesce(sum(profit), 0)
        FROM ckm_target_list`).Scan(&res.Scored, &res.NoConsent, &res.DoNotContact, &res.Listed, &res.ExpectedResp, &res.ExpectedProfit); err != nil {
		return nil, run.fail(err)
	}
	rows, err := run.conn.QueryContext(ctx, `SELECT rank, customer_id, probability, profit FROM ckm_target_list ORDER BY rank`)
	if err != nil {
		return nil, run.fail(err)
	}
	for rows.Next() {
		var r TargetRow
		if err := rows.Scan(&r.Rank, &r.CustomerID, &r.Probability, &r.Profit); err != nil {
			rows.Close()
			return nil, run.fail(err)
		}
		res.List = append(res.List, r)
	}
	rows.Close()
	if o.DryRun {
		return res, nil
	}
	treeJSON, err := json.Marshal(tr.Tree)
	if err != nil {
		return nil, run.fail(err)
	}
	params := map[string]any{"campaign": o.Campaign, "top": o.Top, "contact_cost": o.ContactCost, "expected_revenue": res.ExpectedRevenue,
		"scored_as_of": res.ScoredAsOf, "trained_as_of": res.TrainedAsOf, "features": tr.Features, "label": "responded",
		"positive": respondedYes, "probability_sql": res.ProbabilitySQL, "oversample": oversample, "tree": json.RawMessage(treeJSON),
		"from_warehouse": featureParams(FeatureOptions{AsOf: start.Time, LabelSQL: labelSQL})}
	metrics := map[string]any{"evaluation": res.Metrics, "top_decile_lift": res.TopDecileLift, "scored": res.Scored,
		"excluded_no_consent": res.NoConsent, "excluded_do_not_contact": res.DoNotContact, "listed": res.Listed,
		"expected_responses": res.ExpectedResp, "expected_profit": res.ExpectedProfit, "campaign_response_rate": res.ResponseRate}
	writeRules := func(ctx context.Context, tx *sql.Tx, id int64) error {
		return writeDecisionRules(ctx, tx, id, rules, tr.trainCount, tr.trainWeight)
	}
	writeList := func(ctx context.Context, tx *sql.Tx, id int64) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_target (model_id, campaign_code, rank, customer_id, probability, expected_revenue, contact_cost, expected_profit)
            SELECT ?, ?, rank, customer_id, probability, ?, ?, profit FROM ckm_target_list`, id, o.Campaign, res.ExpectedRevenue, o.ContactCost); err != nil {
			return fmt.Errorf("target list: %w", err)
		}
		return nil
	}
	if res.ModelID, err = run.save(ctx, modelRecord{Name: o.Name, Status: "ok", Params: params, Metrics: metrics}, writeRules, writeList); err != nil {
		return nil, err
	}
	return res, nil
}

// targetMinLeaf is the smallest leaf of the response tree: 2 % of the
// (resampled) training weight, so that a leaf speaks for several
// responders, not one counted many times.
func targetMinLeaf(targeted, responses, oversample int, testFraction float64) float64 {
	w := (1 - testFraction) * float64(targeted-responses+oversample*responses)
	return math.Max(2, math.Round(0.02*w))
}

// profileRules splits the tree's rules into the responder and
// non-responder profiles, each by confidence then size, highest first.
func profileRules(rules []tree.Rule) (yes, no []TargetRule) {
	yes, no = []TargetRule{}, []TargetRule{}
	for _, r := range rules {
		conf := 0.0
		if r.Weight > 0 {
			conf = 1 - r.Errors/r.Weight
		}
		tr := TargetRule{Conditions: r.Conditions, Class: r.Class, Confidence: conf, Members: r.Weight}
		if tr.Conditions == nil {
			tr.Conditions = []string{}
		}
		if r.Class == respondedYes {
			yes = append(yes, tr)
		} else {
			no = append(no, tr)
		}
	}
	for _, s := range [][]TargetRule{yes, no} {
		sort.SliceStable(s, func(i, j int) bool {
			if s[i].Confidence != s[j].Confidence {
				return s[i].Confidence > s[j].Confidence
			}
			return s[i].Members > s[j].Members
		})
	}
	return yes, no
}

// campaignCodes lists the campaign codes for an error message.
func campaignCodes(ctx context.Context, w *engine.Warehouse) string {
	var codes sql.NullString
	if err := w.DB.QueryRowContext(ctx, `SELECT string_agg(campaign_code, ', ' ORDER BY campaign_code) FROM dim_campaign WHERE campaign_code IS NOT NULL`).Scan(&codes); err != nil || !codes.Valid {
		return "no campaigns loaded"
	}
	return "campaigns: " + codes.String
}

// TargetContactsOptions ask for the contact file of a stored target list.
type TargetContactsOptions struct {
	ModelID   int64
	Path      string
	Principal privacy.Principal
	Reason    string
	// Reveal, on a protected warehouse (whose dim_customer holds tokens),
	// gives the raw value behind a name, mobile or e-mail token; values
	// that are no token come back as they are.
	Reveal func(string) (string, error)
}

// WriteTargetContacts writes the contact details (rank, customer id, name,
// mobile, e-mail: raw personal data) of the target list of a stored target
// model to a CSV file for the mailing tool. Only a principal who may
// reveal raw values (steward or admin) may, with a reason; the reveal is
// audited (privacy.Audit) before the file is written, with its row count
// after. The file is written whole or not at all (mode 0600).
func WriteTargetContacts(ctx context.Context, w *engine.Warehouse, o TargetContactsOptions) (int64, error) {
	var kind, campaign sql.NullString
	if err := w.DB.QueryRowContext(ctx, `SELECT kind, params->>'campaign' FROM kb_model WHERE model_id = ?`, o.ModelID).Scan(&kind, &campaign); err != nil {
		if err == sql.ErrNoRows {
			return 0, fmt.Errorf("target contacts: no model %d", o.ModelID)
		}
		return 0, fmt.Errorf("target contacts: %w", err)
	}
	if kind.String != "target" {
		return 0, fmt.Errorf("target contacts: model %d is a %s model, not a target list", o.ModelID, kind.String)
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("target contacts: %w", err)
	}
	defer conn.Close()
	id, err := privacy.Audit(ctx, conn, privacy.Reveal{Principal: o.Principal, Command: "mine target",
		Detail: fmt.Sprintf("contact file of target model %d (campaign %s) to %s", o.ModelID, campaign.String, o.Path), Reason: o.Reason, Rows: -1})
	if err != nil {
		return 0, fmt.Errorf("target contacts: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT t.rank, t.customer_id, coalesce(d.name, ''), coalesce(d.mobile, ''), coalesce(d.email, '')
        FROM kb_target t LEFT JOIN (SELECT * FROM main.dim_customer WHERE is_current) d USING (customer_id)
        WHERE t.model_id = ? ORDER BY t.rank`, o.ModelID)
	if err != nil {
		return 0, fmt.Errorf("target contacts: %w", err)
	}
	defer rows.Close()
	tmp, err := os.CreateTemp(filepath.Dir(o.Path), ".ckm-contacts-*")
	if err != nil {
		return 0, fmt.Errorf("target contacts: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	cw := csv.NewWriter(tmp)
	cw.Write([]string{"rank", "customer_id", "name", "mobile", "email"})
	var n int64
	for rows.Next() {
		var rank, cust int64
		var name, mobile, email string
		if err := rows.Scan(&rank, &cust, &name, &mobile, &email); err != nil {
			return 0, fmt.Errorf("target contacts: %w", err)
		}
		if o.Reveal != nil {
			for _, s := range []*string{&name, &mobile, &email} {
				if *s, err = o.Reveal(*s); err != nil {
					return 0, fmt.Errorf("target contacts: %w", err)
				}
			}
		}
		cw.Write([]string{strconv.FormatInt(rank, 10), strconv.FormatInt(cust, 10), name, mobile, email})
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("target contacts: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return 0, fmt.Errorf("target contacts: write %s: %w", o.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("target contacts: write %s: %w", o.Path, err)
	}
	if err := os.Rename(tmp.Name(), o.Path); err != nil {
		return 0, fmt.Errorf("target contacts: %w", err)
	}
	if err := privacy.AuditRows(ctx, conn, id, n); err != nil {
		return n, fmt.Errorf("target contacts: %w", err)
	}
	return n, nil
}
