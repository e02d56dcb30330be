package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/olap"
	"github.com/ckm-dev/ckm/privacy"
)

func init() {
	registerCubeCommand(func(a *app) *cobra.Command { return newCubeQueryCmd(a, nil) })
	registerCubeCommand(func(a *app) *cobra.Command { return newCubeExplainCmd(a, nil) })
}

// cubeQueryOptions are the flags shared by cube query and cube explain, and
// the query they resolve to.
type cubeQueryOptions struct {
	app                                *app
	measures, rows, cols, where, order []string
	totals, allowPII, noRollups        bool
	drill, rollUp, top, through, file  string
	limit, offset                      int
	role, reveal                       string // cube query: who asks for raw PII, and why

	// q is the parsed query, set before the command runs.
	q olap.Query
}

// resolve parses the flags (or the --query file) into o.q for cube.
func (o *cubeQueryOptions) resolve(cube string) error {
	if o.limit < 0 {
		return usageErrorf("--limit %d: want 0 (no limit) or more", o.limit)
	}
	if o.offset < 0 {
		return usageErrorf("--offset %d: want 0 or more", o.offset)
	}
	q, err := o.query(cube)
	o.q = q
	return err
}

func (o *cubeQueryOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&o.measures, "measures", nil, "measures, comma-separated")
	f.StringSliceVar(&o.rows, "rows", nil, "row levels (dimension.level), comma-separated")
	f.StringSliceVar(&o.cols, "cols", nil, "column levels: pivots them across")
	f.StringArrayVar(&o.where, "where", nil, `filter, repeatable: "level=v", "level in a,b", "level between a,b", "level>=v" …`)
	f.StringArrayVar(&o.order, "order", nil, `order key, repeatable: "measure desc", "-measure", "level"`)
	f.BoolVar(&o.totals, "totals", false, "add subtotals along rows and cols and a grand total")
	f.StringVar(&o.drill, "drill", "", `drill down: "level[=member][>to_level]"`)
	f.StringVar(&o.rollUp, "roll-up", "", "roll a level up to its parent")
	f.StringVar(&o.top, "top", "", `top-N per group: "level:N:measure[:other]"`)
	f.StringVar(&o.through, "through", "", `drill through to base rows: comma-separated columns, or "all"`)
	f.IntVar(&o.limit, "limit", 0, "row limit (drill-through page size)")
	f.IntVar(&o.offset, "offset", 0, "drill-through page offset")
	f.BoolVar(&o.allowPII, "allow-pii", false, "show raw PII in drill-through: needs --role steward or admin (granted in ckm.yaml) and --reveal REASON")
	f.BoolVar(&o.noRollups, "no-rollups", false, "answer from the base tables only")
	f.StringVar(&o.file, "query", "", "read the query from a JSON file instead of flags")
}

func (o *cubeQueryOptions) query(cube string) (olap.Query, error) {
	if o.file != "" {
		data, err := os.ReadFile(o.file)
		if err != nil {
			return olap.Query{}, usageErrorf("--query: %v", err)
		}
		q, err := olap.ParseQuery(data)
		if err != nil {
			return q, usageErrorf("--query %s: %v", o.file, err)
		}
		if q.Cube == "" {
			q.Cube = cube
		}
		return q, nil
	}
	q := olap.Query{Cube: cube, Measures: o.measures, Rows: o.rows, Cols: o.cols, Totals: o.totals, RollUp: o.rollUp,
		Limit: o.limit, AllowPII: o.allowPII, NoRollups: o.noRollups}
	for _, w := range o.where {
		f, err := olap.ParseFilter(w)
		if err != nil {
			return q, usageErrorf("--where: %v", err)
		}
		q.Where = append(q.Where, f)
	}
	for _, s := range o.order {
		q.Order = append(q.Order, olap.ParseOrder(s))
	}
	if o.drill != "" {
		d, err := olap.ParseDrill(o.drill)
		if err != nil {
			return q, usageErrorf("--drill: %v", err)
		}
		q.Drill = d
	}
	if o.top != "" {
		t, err := olap.ParseTop(o.top)
		if err != nil {
			return q, usageErrorf("--top: %v", err)
		}
		q.Top = t
	}
	if o.through != "" {
		q.Through = &olap.Through{Offset: o.offset, Limit: o.limit}
		q.Limit = 0
		if o.through != "all" {
			q.Through.Columns = strings.Split(o.through, ",")
		}
	}
	return q, nil
}

// queryErr makes a query that does not fit its cube a usage error (exit 2).
func queryErr(err error) error {
	var qe *olap.QueryError
	if errors.As(err, &qe) {
		return usageErrorf("%v", err)
	}
	return err
}

// newCubeQueryCmd builds ckm cube query; runF, when not nil, runs instead of
// cubeQueryRun with the parsed options: tests check parsing without a
// warehouse.
func newCubeQueryCmd(a *app, runF func(context.Context, *cubeQueryOptions) error) *cobra.Command {
	o := &cubeQueryOptions{app: a}
	cmd := &cobra.Command{
		Use:   "query NAME",
		Short: "Query a cube: slice, dice, drill, roll up, pivot, top-N, drill-through",
		Example: `  ckm cube query sales --measures revenue,customers --rows region.province --totals
  ckm cube query sales --measures revenue --rows region.province --drill 'region.province=Guangdong'
  ckm cube query sales --measures revenue --rows region.province --cols date.year --totals
  ckm cube query sales --measures revenue --rows region.province,product.category --top product.category:3:revenue:other
  ckm cube query sales --where region.city=Shenzhen --through order_id,mobile,amount --limit 20`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.resolve(args[0]); err != nil {
				return err
			}
			var err error
			if o.role, err = a.role(cmd); err != nil {
				return err
			}
			if o.reveal, err = a.reveal(cmd, o.role); err != nil {
				return err
			}
			if o.q.AllowPII && o.reveal == "" {
				return usageErrorf("--allow-pii: raw personal data needs --role steward or admin and --reveal REASON")
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return cubeQueryRun(cmd.Context(), o)
		},
	}
	o.flags(cmd)
	addRoleFlag(cmd)
	return cmd
}

func cubeQueryRun(ctx context.Context, o *cubeQueryOptions) error {
	a, q := o.app, o.q
	if conn, err := a.serverClient(ctx, "cube query", clientRole(o.role)); err != nil || conn != nil {
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return cubeViaServer(ctx, o, conn)
	}
	var principal privacy.Principal
	if q.AllowPII {
		// The role must be granted and allow reveals; the reveal is
		// audited before the query runs.
		var err error
		if principal, err = a.grant(o.role); err != nil {
			return err
		}
		if !principal.MayReveal() {
			return fmt.Errorf("--allow-pii: role %s may not see raw personal data (steward or admin may)", principal.Role)
		}
	}
	ex, done, err := a.cubeExecutor(ctx, q.Cube)
	if err != nil {
		return err
	}
	defer done()
	var audit int64
	if q.AllowPII {
		detail, _ := json.Marshal(q)
		if audit, err = privacy.Audit(ctx, ex.W.DB, privacy.Reveal{Principal: principal, Command: "cube query",
			Detail: string(detail), Reason: o.reveal, Rows: -1}); err != nil {
			return err
		}
	}
	res, err := ex.Query(ctx, q)
	if err != nil {
		return queryErr(err)
	}
	if audit != 0 {
		if err := privacy.AuditRows(ctx, ex.W.DB, audit, int64(len(res.Data))); err != nil {
			return err
		}
	}
	if res.Rollup != "" {
		a.logf("answered from rollup %s in %v", res.Rollup, res.Elapsed.Round(1000))
	}
	header, rows := a.cubeTable(q, res)
	return a.printTable(header, rows)
}

// newCubeExplainCmd builds ckm cube explain; runF, when not nil, runs
// instead of cubeExplainRun.
func newCubeExplainCmd(a *app, runF func(context.Context, *cubeQueryOptions) error) *cobra.Command {
	o := &cubeQueryOptions{app: a}
	cmd := &cobra.Command{
		Use:   "explain NAME",
		Short: "Show the SQL of a cube query, the rollup chosen and why others were rejected",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.resolve(args[0]); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return cubeExplainRun(cmd.Context(), o)
		},
	}
	o.flags(cmd)
	return cmd
}

func cubeExplainRun(ctx context.Context, o *cubeQueryOptions) error {
	a, q := o.app, o.q
	ex, done, err := a.cubeExecutor(ctx, q.Cube)
	if err != nil {
		return err
	}
	defer done()
	p, version, err := ex.Plan(ctx, q)
	if err != nil {
		return queryErr(err)
	}
	if a.format() == formatJSON {
		return writeJSON(a, map[string]any{"sql": p.SQL, "args": p.Args, "rollup": p.Rollup, "rejected": p.Rejected, "data_version": version, "columns": p.Columns})
	}
	source := "base tables"
	if p.Rollup != "" {
		source = "rollup " + p.Rollup
	}
	fmt.Fprintf(a.stdout, "-- source: %s (data version %d)\n", source, version)
	for _, r := range p.Rejected {
		fmt.Fprintf(a.stdout, "-- rejected rollup %s: %s\n", r.Rollup, r.Reason)
	}
	for i, v := range p.Args {
		fmt.Fprintf(a.stdout, "-- $%d = %#v\n", i+1, v)
	}
	fmt.Fprintln(a.stdout, p.SQL+";")
	return nil
}

// cubeExecutor opens the warehouse and an executor for the model holding
// cube; done closes the warehouse.
func (a *app) cubeExecutor(ctx context.Context, cube string) (*olap.Executor, func(), error) {
	m, _, err := a.cubeFor(ctx, cube)
	if err != nil {
		return nil, nil, err
	}
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return nil, nil, err
	}
	return olap.NewExecutor(w, m), func() { w.Close() }, nil
}

// cubeTable lays a result out for printing: a pivot grid with indented
// subtotals on a table, the flat columns for csv/json and drill-through.
func (a *app) cubeTable(q olap.Query, res *olap.Result) ([]string, [][]any) {
	if a.format() == formatTable && q.Through == nil {
		g := olap.Pivot(&res.Compiled, res.Data)
		return g.Header, g.Rows
	}
	header := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		header[i] = c.Name
	}
	return header, res.Data
}
