package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/fixtures"
)

// benchIdentityOptions are what ckm bench identity's flags resolve to.
type benchIdentityOptions struct {
	app     *app
	persons int
	days    int
	seed    int64
	dir     string
	keep    bool
	loads   int
}

func init() {
	registerBenchCommand(func(a *app) *cobra.Command { return newBenchIdentityCmd(a, nil) })
}

// newBenchIdentityCmd builds ckm bench identity; runF, when not nil, runs
// instead of benchIdentityRun with the parsed options.
func newBenchIdentityCmd(a *app, runF func(context.Context, *benchIdentityOptions) error) *cobra.Command {
	opts := &benchIdentityOptions{app: a}
	cmd := &cobra.Command{
		Use:   "identity",
		Short: "Score identity resolution against the truth of a world with hard cases",
		Long: `Generate a world with the hard identity cases (fixtures generate --hard-cases:
households sharing a number or e-mail, number changes, recycled numbers, ID
typos, 15/18-digit pairs, name variants, re-issued cards), load it into a
fresh warehouse and score the unification of its customer-naming records
against the true persons: pairwise precision and recall (pairs of records put
together against pairs truly together), per case type, and the households
merged into one customer. The baseline — linking records on any shared key,
transitively — is scored on the same records in the same run.

With --loads 2 the world is cut in time at the first of the month nearest
the middle of the period and loaded in two loads (till files by month, web
orders by date, CRM rows by registration date, re-registrations in the
second), so the rules are measured judging records against what an earlier
load resolved; a record of the first load is scored with the customer it
has after the second (merges followed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.persons < 1 || opts.persons > fixtures.MaxCustomers {
				return usageErrorf("--persons %d: want 1 to %d", opts.persons, fixtures.MaxCustomers)
			}
			if err := checkWorld(1, opts.days); err != nil {
				return err
			}
			if opts.loads != 1 && opts.loads != 2 {
				return usageErrorf("--loads %d: want 1 or 2", opts.loads)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchIdentityRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.persons, "persons", 50000, "persons in the generated world")
	f.IntVar(&opts.days, "days", 365, "days of sales")
	f.Int64Var(&opts.seed, "seed", 1, "generator seed")
	f.StringVar(&opts.dir, "dir", "", "work directory (default: a temporary one)")
	f.BoolVar(&opts.keep, "keep", false, "keep the work directory")
	f.IntVar(&opts.loads, "loads", 1, "loads the world is cut into in time (1 or 2)")
	return cmd
}

// identityScores are the figures of ckm bench identity.
type identityScores struct {
	Persons               int                  `json:"persons"`
	Loads                 int                  `json:"loads"`
	Cut                   string               `json:"cut,omitempty"`
	Records               int                  `json:"records"`
	PairPrecision         float64              `json:"pair_precision"`
	PairRecall            float64              `json:"pair_recall"`
	BaselinePairPrecision float64              `json:"baseline_pair_precision"`
	BaselinePairRecall    float64              `json:"baseline_pair_recall"`
	Households            int                  `json:"households"`
	OverMergedHouseholds  int                  `json:"over_merged_households"`
	BaselineOverMerged    int                  `json:"baseline_over_merged_households"`
	Customers             int                  `json:"customers"`
	TruePersons           int                  `json:"true_persons"`
	ByCase                map[string]caseScore `json:"by_case"`
	Resolver, Baseline    etl.PairScore        `json:"-"`
	GenerateSeconds       float64              `json:"generate_seconds"`
	LoadSeconds           float64              `json:"load_seconds"`
	LoadCPUSeconds        float64              `json:"load_cpu_seconds"` // this process's user+system time over the loads
	PerLoad               []identityLoadTime   `json:"per_load"`
	LoadAverage           any                  `json:"load_average_before"`
	LoadAverageAfter      any                  `json:"load_average_after"`
}

// identityLoadTime is where one load of the bench spent its time: the
// load's seconds and CPU seconds, and the identity and re-resolution
// steps' seconds and statements (from the load's trace).
type identityLoadTime struct {
	Seconds             float64 `json:"seconds"`
	CPUSeconds          float64 `json:"cpu_seconds"`
	IdentitySeconds     float64 `json:"identity_seconds"`
	IdentityStatements  int     `json:"identity_statements"`
	ReresolveSeconds    float64 `json:"reresolve_seconds"`
	ReresolveStatements int     `json:"reresolve_statements"`
}

// identityStepTimes reads a load trace (etl Options.Trace): the wall
// seconds of the identity and reresolve steps ("… identity (step)" lines)
// and the statements each ran.
func identityStepTimes(trace []byte, t *identityLoadTime) {
	for _, line := range strings.Split(string(trace), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		secs, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "s"), 64)
		if err != nil {
			continue
		}
		if n := len(f); n > 3 && f[n-2] == "cpu" {
			f = f[:n-2] // the step's or statement's CPU seconds (etl's trace)
		}
		step := strings.Join(f[1:], " ")
		switch {
		case step == "identity (step)":
			t.IdentitySeconds += secs
		case step == "reresolve (step)":
			t.ReresolveSeconds += secs
		case f[1] == "identity" && len(f) > 2:
			t.IdentityStatements++
		case f[1] == "reresolve" && len(f) > 2:
			t.ReresolveStatements++
		}
	}
}

// caseScore is the score of the pairs touching the persons of one case type.
type caseScore struct {
	Persons               int     `json:"persons"`
	PairPrecision         float64 `json:"pair_precision"`
	PairRecall            float64 `json:"pair_recall"`
	BaselinePairPrecision float64 `json:"baseline_pair_precision"`
	BaselinePairRecall    float64 `json:"baseline_pair_recall"`
}

func benchIdentityRun(ctx context.Context, o *benchIdentityOptions) error {
	a := o.app
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "ckm-bench-identity-")
		if err != nil {
			return err
		}
		dir = d
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	data := filepath.Join(dir, "data")
	out := identityScores{LoadAverage: loadAverage()}
	start := time.Now()
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: data, Customers: o.persons, Days: o.days, Seed: o.seed, HardCases: true})
	if err != nil {
		return err
	}
	out.GenerateSeconds = time.Since(start).Seconds()
	a.logf("generated %d persons with %d hard cases in %.1fs", o.persons, len(exp.HardCases), out.GenerateSeconds)

	// The as-of is the export's: a CRM row tells who holds a number then.
	asOf, err := time.Parse(time.DateOnly, exp.ExportDate)
	if err != nil {
		return fmt.Errorf("bench identity: expected.json export_date: %w", err)
	}
	type load struct {
		dir   string
		asOf  time.Time
		truth map[string][]int32
	}
	loads := []load{{data, asOf.Add(24*time.Hour - time.Second), exp.RecordPersons}}
	if o.loads == 2 {
		start, err := time.Parse(time.DateOnly, exp.Start)
		if err != nil {
			return fmt.Errorf("bench identity: expected.json start: %w", err)
		}
		mid := start.AddDate(0, 0, o.days/2)
		cut := time.Date(mid.Year(), mid.Month(), 1, 0, 0, 0, 0, time.UTC)
		if mid.Day() > 15 {
			cut = cut.AddDate(0, 1, 0)
		}
		if !cut.After(start) || !cut.Before(asOf) {
			return usageErrorf("--loads 2: the period of %d days has no month to cut at", o.days)
		}
		out.Cut = cut.Format(time.DateOnly)
		split, err := splitWorld(data, filepath.Join(dir, "split"), out.Cut, exp.RecordPersons)
		if err != nil {
			return fmt.Errorf("bench identity: split the world: %w", err)
		}
		loads = []load{{split.dirs[0], cut.Add(-time.Second), split.truth[0]}, {split.dirs[1], loads[0].asOf, split.truth[1]}}
	}
	out.Loads = len(loads)

	w, err := engine.Open(ctx, filepath.Join(dir, "bench.duckdb"), engine.Options{})
	if err != nil {
		return err
	}
	defer w.Close()
	var all []etl.IdentityRecord
	var person []int32
	start = time.Now()
	cpu0 := processCPU()
	for i, ld := range loads {
		var recs []etl.IdentityRecord
		var captured time.Duration
		capture := func(ctx context.Context, tx *sql.Tx) (err error) {
			t0 := time.Now()
			recs, err = etl.IdentityRecords(ctx, tx)
			captured = time.Since(t0)
			return err
		}
		// The trace gives the identity step's time; with CKM_DEBUG_SQL (or
		// CKM_DEBUG_ANALYZE=step) it goes to stderr too, as ckm load's does.
		var trace bytes.Buffer
		var traceTo io.Writer = &trace
		analyze := os.Getenv("CKM_DEBUG_ANALYZE")
		if os.Getenv("CKM_DEBUG_SQL") != "" || analyze != "" {
			traceTo = io.MultiWriter(&trace, a.stderr)
		}
		t0, c0 := time.Now(), processCPU()
		rep, err := etl.Load(ctx, w, []string{ld.dir}, etl.Options{Version: version, AsOf: ld.asOf, AfterIdentity: capture, Trace: traceTo, AnalyzeStep: analyze})
		if err != nil {
			return err
		}
		lt := identityLoadTime{Seconds: time.Since(t0).Seconds(), CPUSeconds: processCPU() - c0}
		identityStepTimes(trace.Bytes(), &lt)
		lt.IdentitySeconds -= captured.Seconds() // the bench's own reading of the records
		out.PerLoad = append(out.PerLoad, lt)
		a.logf("load %d of %d: %d rows in %.1fs (identity %.1fs in %d statements, re-resolution %.1fs)",
			i+1, len(loads), rep.Read, lt.Seconds, lt.IdentitySeconds, lt.IdentityStatements, lt.ReresolveSeconds)
		p, err := recordTruth(recs, rep, ld.truth)
		if err != nil {
			return err
		}
		all, person = append(all, recs...), append(person, p...)
	}
	out.LoadSeconds, out.LoadCPUSeconds = time.Since(start).Seconds(), processCPU()-cpu0
	out.LoadAverageAfter = loadAverage()
	a.logf("loaded in %.1fs (%.1f CPU seconds)", out.LoadSeconds, out.LoadCPUSeconds)
	// A record of an earlier load is the customer it has now: follow the
	// merges and re-resolutions later loads made.
	if err := followLaterLoads(ctx, w, all); err != nil {
		return err
	}
	if err := scoreIdentity(&out, exp, all, person); err != nil {
		return err
	}
	out.Persons = o.persons
	if a.format() == formatJSON {
		return writeJSON(a, out)
	}
	header := []string{"case", "persons", "pair_precision", "pair_recall", "baseline_pair_precision", "baseline_pair_recall"}
	rows := [][]any{{"all", out.TruePersons, out.PairPrecision, out.PairRecall, out.BaselinePairPrecision, out.BaselinePairRecall}}
	kinds := slices.Sorted(func(yield func(string) bool) {
		for k := range out.ByCase {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range kinds {
		c := out.ByCase[k]
		rows = append(rows, []any{k, c.Persons, c.PairPrecision, c.PairRecall, c.BaselinePairPrecision, c.BaselinePairRecall})
	}
	if err := a.printTable(header, rows); err != nil {
		return err
	}
	a.logf("households merged into one customer: %d of %d (baseline %d); %d customers for %d persons",
		out.OverMergedHouseholds, out.Households, out.BaselineOverMerged, out.Customers, out.TruePersons)
	return nil
}

// recordTruth gives the true person of each record of a load (-1 for a
// record without a customer) from truth (file name → person per line).
func recordTruth(recs []etl.IdentityRecord, rep *etl.Report, truth map[string][]int32) ([]int32, error) {
	paths := map[int64]string{}
	for _, f := range rep.Files {
		paths[f.FileID] = filepath.Base(f.Path)
	}
	person := make([]int32, len(recs))
	for i, r := range recs {
		person[i] = -1
		if r.Customer == 0 {
			continue
		}
		name := paths[r.FileID]
		lines := truth[name]
		if r.Line < 1 || int(r.Line) > len(lines) || lines[r.Line-1] < 0 {
			return nil, fmt.Errorf("bench identity: %s line %d has a customer but no true person in expected.json", name, r.Line)
		}
		person[i] = lines[r.Line-1]
	}
	return person, nil
}

// scoreIdentity scores the customers the loads gave the records, and the
// baseline, against the true persons (person, per record).
func scoreIdentity(out *identityScores, exp *fixtures.Expected, recs []etl.IdentityRecord, person []int32) error {
	truth := make([]int64, len(recs))
	pred := make([]int64, len(recs))
	persons := map[int32]bool{}
	customers := map[int64]bool{}
	for i, r := range recs {
		if r.Customer == 0 || person[i] < 0 {
			continue
		}
		truth[i] = int64(person[i]) + 1
		pred[i] = r.Customer
		persons[person[i]] = true
		customers[r.Customer] = true
	}
	base := etl.LinkAnyKey(recs)
	for i := range base {
		if pred[i] == 0 {
			base[i] = 0
		}
	}
	out.Records, out.TruePersons, out.Customers = len(recs), len(persons), len(customers)
	out.Resolver = etl.ScorePairs(pred, truth, nil)
	out.Baseline = etl.ScorePairs(base, truth, nil)
	out.PairPrecision, out.PairRecall = out.Resolver.Precision, out.Resolver.Recall
	out.BaselinePairPrecision, out.BaselinePairRecall = out.Baseline.Precision, out.Baseline.Recall

	kindOf := map[string]map[int32]bool{}
	add := func(kind string, p int32) {
		if kindOf[kind] == nil {
			kindOf[kind] = map[int32]bool{}
		}
		kindOf[kind][p] = true
	}
	hard := map[int32]bool{}
	for _, hc := range exp.HardCases {
		add(hc.Kind, hc.Person)
		hard[hc.Person] = true
		if hc.Kind == fixtures.HardRecycled && hc.Other >= 0 {
			add(hc.Kind, hc.Other)
		}
	}
	for p := range persons {
		if !hard[p] {
			add("none", p)
		}
	}
	out.ByCase = map[string]caseScore{}
	for kind, set := range kindOf {
		in := func(i int) bool { return person[i] >= 0 && set[person[i]] }
		r, b := etl.ScorePairs(pred, truth, in), etl.ScorePairs(base, truth, in)
		out.ByCase[kind] = caseScore{Persons: len(set), PairPrecision: r.Precision, PairRecall: r.Recall,
			BaselinePairPrecision: b.Precision, BaselinePairRecall: b.Recall}
	}
	out.Households, out.OverMergedHouseholds, out.BaselineOverMerged = overMerged(exp, person, pred, base)
	return nil
}

// overMerged counts the households (pairs of persons) whose two members
// have records in one group, under the resolver and under the baseline.
func overMerged(exp *fixtures.Expected, person []int32, pred, base []int64) (households, merged, baseMerged int) {
	member := map[int32]bool{}
	for _, hc := range exp.HardCases {
		if hc.Kind == fixtures.HardHousehold {
			member[hc.Person] = true
		}
	}
	together := func(groups []int64) int {
		of := map[int32]map[int64]bool{}
		for i, g := range groups {
			if g != 0 && member[person[i]] {
				if of[person[i]] == nil {
					of[person[i]] = map[int64]bool{}
				}
				of[person[i]][g] = true
			}
		}
		n := 0
		for _, hc := range exp.HardCases {
			if hc.Kind != fixtures.HardHousehold || hc.Person > hc.Other {
				continue
			}
			for g := range of[hc.Person] {
				if of[hc.Other][g] {
					n++
					break
				}
			}
		}
		return n
	}
	for _, hc := range exp.HardCases {
		if hc.Kind == fixtures.HardHousehold && hc.Person < hc.Other {
			households++
		}
	}
	return households, together(pred), together(base)
}

// followLaterLoads gives the records of earlier loads (with the customers
// their own load gave them) the customers they have now, following in order
// what later loads did: merges (every record of a customer to another) and
// re-resolutions (some records of a customer to another).
func followLaterLoads(ctx context.Context, w *engine.Warehouse, recs []etl.IdentityRecord) error {
	type rk struct{ file, line int64 }
	byRec := map[rk]int{}
	of := map[int64][]int{}
	for i, r := range recs {
		byRec[rk{r.FileID, r.Line}] = i
		of[r.Customer] = append(of[r.Customer], i)
	}
	moved := map[int64][]rk{}
	rows, err := w.DB.QueryContext(ctx, `SELECT DISTINCT h.merge_id, h.etl_file_id, h.source_line FROM etl_customer_merge h
		JOIN customer_merge c USING (merge_id) WHERE c.kind = 'load_split' AND c.undone_run IS NULL AND h.fact_table = 'fact_sales'`)
	if err != nil {
		return fmt.Errorf("bench identity: re-resolutions: %w", err)
	}
	for rows.Next() {
		var id, f, l int64
		if err := rows.Scan(&id, &f, &l); err != nil {
			rows.Close()
			return fmt.Errorf("bench identity: re-resolutions: %w", err)
		}
		moved[id] = append(moved[id], rk{f, l})
	}
	if err := rows.Close(); err != nil {
		return err
	}
	rows, err = w.DB.QueryContext(ctx, `SELECT merge_id, kind, survivor, other FROM customer_merge
		WHERE kind IN ('load_merge', 'load_split') AND undone_run IS NULL ORDER BY merge_id`)
	if err != nil {
		return fmt.Errorf("bench identity: merges: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, survivor, other int64
		var kind string
		if err := rows.Scan(&id, &kind, &survivor, &other); err != nil {
			return fmt.Errorf("bench identity: merges: %w", err)
		}
		if kind == "load_merge" {
			for _, i := range of[other] {
				recs[i].Customer = survivor
			}
			of[survivor], of[other] = append(of[survivor], of[other]...), nil
			continue
		}
		// load_split: the records listed leave survivor for other.
		for _, k := range moved[id] {
			i, ok := byRec[k]
			if !ok || recs[i].Customer != survivor {
				continue
			}
			recs[i].Customer = other
			of[other] = append(of[other], i)
		}
		of[survivor] = slices.DeleteFunc(of[survivor], func(i int) bool { return recs[i].Customer != survivor })
	}
	return rows.Err()
}
