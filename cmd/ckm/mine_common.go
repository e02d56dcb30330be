package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
	"github.com/ckm-dev/ckm/shell"
)

// mineFlags are the flags every `ckm mine` value operator shares: where the
// purchases come from, the as-of date and whether to write the result.
type mineFlags struct {
	source   string
	customer string
	timeCol  string
	amount   string
	cost     string
	asOf     string
	name     string
	dryRun   bool
}

func (f *mineFlags) add(cmd *cobra.Command, withCost bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "purchases table or SELECT (default fact_sales)")
	fl.StringVar(&f.customer, "customer-col", "", "customer id column (default customer_id)")
	fl.StringVar(&f.timeCol, "time-col", "", "purchase date/timestamp column (default order_ts)")
	fl.StringVar(&f.amount, "amount-col", "", "amount column, negative for returns (default amount)")
	if withCost {
		fl.StringVar(&f.cost, "cost-col", "", "cost column (default cost_amount)")
	}
	fl.StringVar(&f.asOf, "as-of", "", "as-of date YYYY-MM-DD (default: the last purchase day)")
	fl.StringVar(&f.name, "name", "", "model name in kb_model")
	fl.BoolVar(&f.dryRun, "dry-run", false, "compute without writing to the knowledge base")
}

func (f *mineFlags) sourceSpec() mining.Source {
	return mining.Source{Table: f.source, Customer: f.customer, Time: f.timeCol, Amount: f.amount, Cost: f.cost}
}

// date parses a YYYY-MM-DD flag value ("" is the zero time).
func flagDate(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, usageErrorf("--%s %q: want a date YYYY-MM-DD", flag, v)
	}
	return t, nil
}

// round keeps printed figures readable; JSON output keeps full precision.
func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	if v < 0 {
		return -float64(int64(-v*p+0.5)) / p
	}
	return float64(int64(v*p+0.5)) / p
}

// mineCommon is what the shared flags resolve to for an operator's options.
type mineCommon struct {
	AsOf   time.Time
	Source mining.Source
	Name   string
	DryRun bool
}

// resolve checks every flag of the mine command cmd, whether it came from
// the command line, the environment or the config, and returns what the
// shared flags resolve to.
func (f *mineFlags) resolve(cmd *cobra.Command) (mineCommon, error) {
	if err := validateMineFlags(cmd); err != nil {
		return mineCommon{}, err
	}
	asOf, err := flagDate("as-of", f.asOf)
	if err != nil {
		return mineCommon{}, err
	}
	src := f.sourceSpec()
	vetSourceInRun(cmd, src)
	return mineCommon{AsOf: asOf, Source: src, Name: f.name, DryRun: f.dryRun}, nil
}

// mineSourceKey carries a mine command's --source from its flags to runMine.
type mineSourceKey struct{}

// vetSourceInRun hands a command's --source to runMine, which vets it
// (vetMineSource) before the operator reads it; an empty source (the
// operator's default relation) needs no vetting.
func vetSourceInRun(cmd *cobra.Command, src mining.Source) {
	if src.Table == "" {
		return
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cmd.SetContext(context.WithValue(ctx, mineSourceKey{}, src))
}

// vetMineSource refuses a --source an analyst's statement could not read:
// mining commands run for analysts, and their source — a table or a
// SELECT — would otherwise read files or the raw personal data the
// sandbox keeps from them, and write it into the knowledge base.
func vetMineSource(ctx context.Context, w *engine.Warehouse, src mining.Source) error {
	return vetMineQuery(ctx, w, "--source", src.Table)
}

// vetMineQuery refuses what an analyst's statement could not read in the
// table or SELECT a flag gives, naming the flag.
func vetMineQuery(ctx context.Context, w *engine.Warehouse, flag, table string) error {
	rel := strings.TrimSpace(table)
	if t := strings.ToUpper(rel); strings.HasPrefix(t, "SELECT") || strings.HasPrefix(t, "WITH") || strings.HasPrefix(t, "FROM") || strings.HasPrefix(t, "(") {
		rel = "(" + rel + ")"
	} else {
		parts := strings.Split(rel, ".")
		for i, p := range parts {
			parts[i] = engine.QuoteIdent(p)
		}
		rel = strings.Join(parts, ".")
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := shell.Vet(ctx, conn, "SELECT * FROM "+rel+" AS source"); err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	return nil
}

// runMine is the behaviour every `ckm mine <op>` shares once its flags are
// parsed: open the warehouse, run the operator, then print its result as
// one JSON document or through show (which prints the table).
func runMine[R any](ctx context.Context, a *app, op func(context.Context, *engine.Warehouse) (R, error), show func(R) error) error {
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	if src, ok := ctx.Value(mineSourceKey{}).(mining.Source); ok {
		if err := vetMineSource(ctx, w, src); err != nil {
			return err
		}
	}
	res, err := op(ctx, w)
	if err != nil {
		return err
	}
	if a.format() == formatJSON {
		return writeJSON(a, res)
	}
	return show(res)
}

// warehouseCaseFlags are the flags that build a learner's cases from the
// star schema (mining.FeatureOptions) in place of --source.
type warehouseCaseFlags struct {
	labelSQL, featureSQL, asOf string
}

func (f *warehouseCaseFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.labelSQL, "label-sql", "", "SELECT customer_id, <label>: build the cases from the warehouse (features before --as-of) instead of --source")
	fl.StringVar(&f.featureSQL, "feature-sql", "", "with --label-sql: SELECT customer_id, extra features (refused if it reads rows from --as-of on)")
	fl.StringVar(&f.asOf, "as-of", "", "with --label-sql: the cut-off YYYY-MM-DD; features see only rows before it")
}

// resolve checks the flags against --source and fills the options.
func (f *warehouseCaseFlags) resolve(source string, o *mining.FeatureOptions) error {
	o.LabelSQL, o.FeatureSQL = f.labelSQL, f.featureSQL
	switch {
	case strings.TrimSpace(f.labelSQL) == "":
		if f.featureSQL != "" || f.asOf != "" {
			return usageErrorf("--feature-sql and --as-of need --label-sql")
		}
		if strings.TrimSpace(source) == "" {
			return usageErrorf("--source: give a table or SELECT of features and a label (or --label-sql to build them from the warehouse)")
		}
		return nil
	case strings.TrimSpace(source) != "":
		return usageErrorf("--source and --label-sql: give one (--label-sql builds the cases from the warehouse)")
	case f.asOf == "":
		return usageErrorf("--as-of: give the cut-off date of --label-sql (features see only rows before it)")
	}
	t, err := flagDate("as-of", f.asOf)
	if err != nil {
		return err
	}
	if t.IsZero() {
		return usageErrorf("--as-of %s: want a date after 0001-01-01", f.asOf)
	}
	o.AsOf = t
	return nil
}

// vetFeatureQueries vets --label-sql and --feature-sql as analyst queries.
func vetFeatureQueries(ctx context.Context, w *engine.Warehouse, o mining.FeatureOptions) error {
	for _, q := range [][2]string{{"--label-sql", o.LabelSQL}, {"--feature-sql", o.FeatureSQL}} {
		if strings.TrimSpace(q[1]) != "" {
			if err := vetMineQuery(ctx, w, q[0], q[1]); err != nil {
				return err
			}
		}
	}
	return nil
}
