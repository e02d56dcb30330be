package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/olap"
)

func init() { registerCubeCommand(func(a *app) *cobra.Command { return newCubeListCmd(a, nil) }) }

// cubeModel returns the builtin cubes plus the cubes/*.yaml of the config
// directory (or of --cubes-dir / CKM_CUBES_DIR), which may replace them.
func (a *app) cubeModel() (*olap.Model, error) {
	m, err := olap.Builtin()
	if err != nil {
		return nil, err
	}
	dir := a.cfg.GetString("cubes_dir")
	if dir == "" {
		base := "."
		if f := a.cfg.ConfigFileUsed(); f != "" {
			base = filepath.Dir(f)
		}
		dir = filepath.Join(base, "cubes")
	}
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		if err := m.LoadDir(dir); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// cubeListOptions are what ckm cube list resolves to (it has no flags of
// its own).
type cubeListOptions struct{ app *app }

// newCubeListCmd builds ckm cube list; runF, when not nil, runs instead of
// cubeListRun.
func newCubeListCmd(a *app, runF func(context.Context, *cubeListOptions) error) *cobra.Command {
	opts := &cubeListOptions{app: a}
	return &cobra.Command{
		Use:   "list",
		Short: "List the cubes and whether they are valid on this warehouse",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return cubeListRun(cmd.Context(), opts)
		},
	}
}

func cubeListRun(ctx context.Context, opts *cubeListOptions) error {
	a := opts.app
	m, err := a.cubeModel()
	if err != nil {
		return err
	}
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	var rows [][]any
	for _, c := range m.Cubes {
		status := "ok"
		if err := olap.Validate(ctx, w.DB, c); err != nil {
			status = "invalid: " + firstLine(err.Error())
		}
		rows = append(rows, []any{c.Name, c.Title, c.Fact, len(c.Dimensions), len(c.Measures), len(c.Rollups), c.File, status})
	}
	return a.printTable([]string{"cube", "title", "fact", "dimensions", "measures", "rollups", "file", "status"}, rows)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// cubeFor loads the model and returns the named cube.
func (a *app) cubeFor(ctx context.Context, name string) (*olap.Model, *olap.Cube, error) {
	m, err := a.cubeModel()
	if err != nil {
		return nil, nil, err
	}
	c, err := m.Cube(name)
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	return m, c, nil
}
