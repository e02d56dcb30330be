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
	rel := strings.TrimSpace(src.Table)
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
		return fmt.Errorf("--source: %w", err)
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
