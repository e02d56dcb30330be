package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/ckm-dev/ckm/engine"
)

// app is what every command shares: resolved global settings and the output
// streams.
type app struct {
	cfg    *viper.Viper
	stdout io.Writer
	stderr io.Writer
}

// Output formats of --format.
const (
	formatTable = "table"
	formatCSV   = "csv"
	formatJSON  = "json"
)

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	a := &app{cfg: viper.New(), stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "ckm",
		Short:         "ckm — the customer knowledge warehouse",
		Long:          "ckm turns raw customer channel exports into a clean DuckDB star schema,\nanswers drill-down questions and mines customer knowledge next to the data.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.loadConfig(cmd)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.String("warehouse", "", "warehouse file (default from config, else ./ckm.duckdb)")
	pf.String("config", "", "config file (default ./ckm.yaml if present)")
	pf.String("format", formatTable, "output format: table, csv or json")
	pf.Bool("read-only", false, "open the warehouse read-only")

	root.AddCommand(
		newInitCmd(a),
		newVersionCmd(a),
	)
	for _, add := range extraCommands {
		root.AddCommand(add(a))
	}
	return root
}

// extraCommands lets each command file add itself (init() in that file), so
// adding a command touches one file.
var extraCommands []func(*app) *cobra.Command

func registerCommand(f func(*app) *cobra.Command) { extraCommands = append(extraCommands, f) }

// loadConfig resolves flags > CKM_* env > config file > defaults.
func (a *app) loadConfig(cmd *cobra.Command) error {
	v := a.cfg
	v.SetEnvPrefix("CKM")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	v.SetDefault("warehouse", "ckm.duckdb")
	v.SetDefault("format", formatTable)
	cmd.Flags().VisitAll(func(f *pflag.Flag) { _ = v.BindPFlag(f.Name, f) })
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) { _ = v.BindPFlag(f.Name, f) })

	cfgFile := v.GetString("config")
	explicit := cfgFile != ""
	if !explicit {
		cfgFile = "ckm.yaml"
	}
	if _, err := os.Stat(cfgFile); err == nil {
		v.SetConfigFile(cfgFile)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return usageErrorf("config %s: %v", cfgFile, err)
		}
	} else if explicit {
		return usageErrorf("config %s: %v", cfgFile, err)
	}
	switch f := v.GetString("format"); f {
	case formatTable, formatCSV, formatJSON:
	default:
		return usageErrorf("--format %q: want table, csv or json", f)
	}
	return nil
}

func (a *app) format() string        { return a.cfg.GetString("format") }
func (a *app) warehousePath() string { return a.cfg.GetString("warehouse") }

// openWarehouse opens the configured warehouse, upgrading it unless
// --read-only. A missing warehouse is an error ("no warehouse at PATH; run
// ckm init"), never an empty one created: the commands that read (or, like
// mine, write next to data) need the data to be there.
func (a *app) openWarehouse(ctx context.Context) (*engine.Warehouse, error) {
	return engine.Open(ctx, a.warehousePath(), engine.Options{ReadOnly: a.cfg.GetBool("read-only"), MustExist: true})
}

// createWarehouse opens the configured warehouse like openWarehouse, but
// creates it when missing: for the commands that bring data in (load, demo,
// fixtures ssb).
func (a *app) createWarehouse(ctx context.Context) (*engine.Warehouse, error) {
	return engine.Open(ctx, a.warehousePath(), engine.Options{ReadOnly: a.cfg.GetBool("read-only")})
}

// logf writes a progress or log line to stderr (never stdout, which belongs
// to results).
func (a *app) logf(format string, args ...any) {
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
