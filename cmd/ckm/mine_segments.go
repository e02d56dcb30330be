package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

func init() {
	registerMineCommand(func(a *app) *cobra.Command { return newMineSegmentsCmd(a, nil) })
}

// mineSegmentsOptions are what ckm mine segments' flags resolve to.
type mineSegmentsOptions struct {
	app *app
	mining.SegmentsOptions
}

// newMineSegmentsCmd builds ckm mine segments; runF, when not nil, runs
// instead of mineSegmentsRun with the parsed options.
func newMineSegmentsCmd(a *app, runF func(context.Context, *mineSegmentsOptions) error) *cobra.Command {
	opts := &mineSegmentsOptions{app: a}
	o := &opts.SegmentsOptions
	var asOf, kRange string
	var features []string
	var seed int64
	cmd := &cobra.Command{
		Use:   "segments",
		Short: "Customer segments by k-means on standardised features, with readable profiles",
		Long: "Computes per-customer features from fact_sales_current as of a day (--features, from " + strings.Join(mining.SegmentFeatures, ", ") + ";\n" +
			"default recency, frequency, monetary) or reads them from --source (one row per customer: --customer-col and\n" +
			"the feature columns, --features or every other column), standardises them, fits k-means and writes the\n" +
			"segments (kb_segment, with scaling and centroids) and every customer's segment (kb_customer_segment).\n" +
			"--k-range 2..8 prints inertia and silhouette per k and stores a model only when --k is also given.\n" +
			"SQL: ckm_segment_of(model_id, [feature, …]) is a stored model's segment of one row of raw features;\n" +
			"kb_segment_history shows who moved between segments across models of one --name.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateMineFlags(cmd); err != nil {
				return err
			}
			var err error
			if o.AsOf, err = flagDate("as-of", asOf); err != nil {
				return err
			}
			if o.KRange, err = parseKRange(kRange); err != nil {
				return err
			}
			if seed < 0 {
				return usageErrorf("--seed %d: want a number >= 0", seed)
			}
			o.Seed = uint64(seed)
			o.Features = nil
			for _, f := range features {
				if f = strings.TrimSpace(f); f != "" {
					o.Features = append(o.Features, f)
				}
			}
			if err := checkSegmentsFlags(o); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return mineSegmentsRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Source.Table, "source", "", "table or SELECT of per-customer features (default: computed from fact_sales_current)")
	fl.StringVar(&o.Source.Customer, "customer-col", "", "customer column of --source (default customer_id)")
	fl.StringSliceVar(&features, "features", nil, "features, comma-separated: "+strings.Join(mining.SegmentFeatures, ", ")+" (default recency,frequency,monetary), or columns of --source")
	fl.StringVar(&asOf, "as-of", "", "compute the features as of this day (default: the last purchase day)")
	fl.IntVar(&o.K, "k", 0, "number of segments (needed unless --k-range)")
	fl.StringVar(&kRange, "k-range", "", "report inertia and silhouette for k in LO..HI (e.g. 2..8); stores only with --k")
	fl.Int64Var(&seed, "seed", 0, "seed of k-means++ and the silhouette sample")
	fl.IntVar(&o.Restarts, "restarts", 10, "k-means runs from different seeds; the lowest inertia wins")
	fl.StringVar(&o.Algorithm, "algorithm", "hamerly", "lloyd, hamerly or elkan (the same segments)")
	fl.IntVar(&o.SilhouetteSample, "silhouette-sample", 5000, "customers the silhouette is computed on (a seeded sample when more)")
	fl.StringVar(&o.Name, "name", "", "model name in kb_model (default segments); models of one name form kb_segment_history")
	fl.BoolVar(&o.DryRun, "dry-run", false, "segment without writing to the knowledge base")
	return cmd
}

// parseKRange reads LO..HI (2 ≤ LO ≤ HI ≤ 100).
func parseKRange(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	lo, hi, ok := strings.Cut(s, "..")
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || errA != nil || errB != nil || a < 2 || b < a || b > 100 {
		return nil, usageErrorf("--k-range %q: want LO..HI with 2 <= LO <= HI <= 100, e.g. 2..8", s)
	}
	ks := make([]int, 0, b-a+1)
	for k := a; k <= b; k++ {
		ks = append(ks, k)
	}
	return ks, nil
}

// checkSegmentsFlags turns bad values into usage errors naming the flag.
func checkSegmentsFlags(o *mining.SegmentsOptions) error {
	switch {
	case o.K < 0 || (o.K == 0 && len(o.KRange) == 0):
		return usageErrorf("--k %d: want a number of segments >= 1 (or --k-range)", o.K)
	case o.K > 1000:
		return usageErrorf("--k %d: want at most 1000 segments", o.K)
	case o.Restarts < 1:
		return usageErrorf("--restarts %d: want a number >= 1", o.Restarts)
	case o.SilhouetteSample < 2:
		return usageErrorf("--silhouette-sample %d: want a number >= 2", o.SilhouetteSample)
	}
	switch o.Algorithm {
	case "lloyd", "hamerly", "elkan":
	default:
		return usageErrorf("--algorithm %q: want lloyd, hamerly or elkan", o.Algorithm)
	}
	seen := map[string]bool{}
	for _, f := range o.Features {
		if seen[f] {
			return usageErrorf("--features: %q named twice", f)
		}
		seen[f] = true
		if o.Source.Table == "" {
			if err := mining.CheckSegmentFeature(f); err != nil {
				return usageErrorf("--features: %v", err)
			}
		}
	}
	if o.Source.Table == "" && o.Source.Customer != "" {
		return usageErrorf("--customer-col needs --source, a table of per-customer features")
	}
	return nil
}

func mineSegmentsRun(ctx context.Context, opts *mineSegmentsOptions) error {
	a := opts.app
	return runMine(ctx, a, func(ctx context.Context, w *engine.Warehouse) (*mining.SegmentsResult, error) {
		return mining.Segments(ctx, w, opts.SegmentsOptions)
	}, func(res *mining.SegmentsResult) error {
		if len(res.KReport) > 0 {
			rows := make([][]any, len(res.KReport))
			for i, c := range res.KReport {
				best := ""
				if c.K == res.BestK {
					best = "*"
				}
				rows[i] = []any{c.K, round(c.Inertia, 3), round(c.Silhouette, 4), c.Iterations, best}
			}
			a.logf("k selection on %d customers (%s): highest silhouette at k = %d", res.Customers, strings.Join(res.Features, ", "), res.BestK)
			if err := a.printTable([]string{"k", "inertia", "silhouette", "iterations", "best"}, rows); err != nil {
				return err
			}
			if res.K == 0 {
				return nil
			}
		}
		sil := "n/a"
		if res.Silhouette != nil {
			sil = fmt.Sprintf("%.4f", *res.Silhouette)
		}
		a.logf("segments model %d: %d customers in %d segments over %s; inertia %.3f, silhouette %s, %d iterations",
			res.ModelID, res.Customers, res.K, strings.Join(res.Features, ", "), res.Inertia, sil, res.Iterations)
		header, rows := segmentRows(res)
		return a.printTable(header, rows)
	})
}

// segmentRows is the profile table: each segment's size, share of value and
// feature means in raw units.
func segmentRows(res *mining.SegmentsResult) ([]string, [][]any) {
	header := []string{"segment", "label", "customers", "share_pct", "value_share_pct"}
	for _, f := range res.Features {
		header = append(header, "mean_"+f)
	}
	rows := make([][]any, len(res.Segments))
	for i, s := range res.Segments {
		var vs any
		if s.ValueShare != nil {
			vs = round(100**s.ValueShare, 1)
		}
		row := []any{s.Segment, s.Label, s.Size, round(100*s.Share, 1), vs}
		for _, m := range s.Means {
			row = append(row, round(m, 2))
		}
		rows[i] = row
	}
	return header, rows
}
