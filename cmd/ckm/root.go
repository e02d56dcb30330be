package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

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
	return newRoot(&app{cfg: viper.New(), stdout: stdout, stderr: stderr})
}

// newRoot builds the ckm command tree around a.
func newRoot(a *app) *cobra.Command {
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
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.String("warehouse", "", "warehouse file (default from config, else ./ckm.duckdb)")
	pf.String("config", "", "config file (default ./ckm.yaml if present)")
	pf.String("format", formatTable, "output format: table, csv or json")
	pf.Bool("read-only", false, "open the warehouse read-only")
	pf.String("key-file", "", "file of the key that opens a protected warehouse's personal data (else CKM_KEY; see ckm key)")
	pf.String("memory-limit", "", "DuckDB memory_limit, e.g. 4GB or 512MiB; past it DuckDB spills to --temp-directory (default: 80% of RAM; 1GB for ckm load)")
	pf.Int("threads", 0, "DuckDB worker threads (default: one per core)")
	pf.String("temp-directory", "", "where DuckDB spills what does not fit in --memory-limit (default: WAREHOUSE.tmp)")

	root.AddCommand(
		newInitCmd(a, nil),
		newVersionCmd(a, nil),
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

// loadConfig resolves every flag of cmd: the command line, else the
// environment, else the config file, else the flag's default. A global flag
// reads CKM_<FLAG> and the config key <flag>; a command flag reads
// CKM_<COMMAND>_<FLAG> (the command path below ckm joined with _, e.g.
// CKM_MINE_RFM_AS_OF), then CKM_<FLAG>, then the config key
// <command>.<flag> (e.g. mine: {rfm: {as-of: ...}}), then <flag>. A value
// from the environment or config is set on the flag itself, so commands read
// their flag fields and cmd.Flags().Changed reports any value given.
func (a *app) loadConfig(cmd *cobra.Command) error {
	v := a.cfg
	v.SetEnvPrefix("CKM")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	v.SetDefault("warehouse", "ckm.duckdb")
	v.SetDefault("format", formatTable)
	global := cmd.Root().PersistentFlags()
	global.VisitAll(func(f *pflag.Flag) { _ = v.BindPFlag(f.Name, f) })

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
	if err := a.flagsFromEnvAndConfig(cmd, global); err != nil {
		return err
	}
	switch f := v.GetString("format"); f {
	case formatTable, formatCSV, formatJSON:
	default:
		return usageErrorf("--format %q: want table, csv or json", f)
	}
	return a.checkEngineFlags()
}

// engineOptions are DuckDB's settings from --memory-limit, --threads and
// --temp-directory (or CKM_MEMORY_LIMIT, memory-limit in ckm.yaml, ...).
func (a *app) engineOptions() engine.Options {
	return engine.Options{
		MemoryLimit:   strings.TrimSpace(a.cfg.GetString("memory-limit")),
		Threads:       a.cfg.GetInt("threads"),
		TempDirectory: a.cfg.GetString("temp-directory"),
	}
}

// checkEngineFlags rejects unusable DuckDB settings as usage errors naming
// the flag, before any warehouse is opened.
func (a *app) checkEngineFlags() error {
	o := a.engineOptions()
	for flag, check := range map[string]engine.Options{
		"memory-limit":   {MemoryLimit: o.MemoryLimit},
		"threads":        {Threads: o.Threads},
		"temp-directory": {TempDirectory: o.TempDirectory},
	} {
		if err := check.Check(); err != nil {
			return usageErrorf("--%s: %v", flag, err)
		}
	}
	return nil
}

// commandLineOnly are the flags never taken from the environment or the
// config: each says what this one call may do.
var commandLineOnly = map[string]bool{"force": true, "dry-run": true, "role": true, "reveal": true, "help": true}

// flagsFromEnvAndConfig sets each flag of cmd not given on the command line
// from its first environment variable or config key that holds a value.
func (a *app) flagsFromEnvAndConfig(cmd *cobra.Command, global *pflag.FlagSet) error {
	var path []string
	for c := cmd; c.HasParent(); c = c.Parent() {
		path = append([]string{c.Name()}, path...)
	}
	fs := cmd.Flags()
	var unset []*pflag.Flag
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) {}) // merges the global flags into fs
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Changed && !commandLineOnly[f.Name] {
			unset = append(unset, f)
		}
	})
	for _, f := range unset {
		envs, keys := flagSources(path, f.Name, global.Lookup(f.Name) == f)
		values, from, ok := a.lookupFlagValue(envs, keys)
		if !ok {
			continue
		}
		var err error
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice && len(values) > 1 {
			err = sv.Replace(values)
			f.Changed = true
		} else {
			err = fs.Set(f.Name, strings.Join(values, ","))
		}
		if err != nil {
			return usageErrorf("--%s from %s: %v", f.Name, from, err)
		}
	}
	return nil
}

// flagSources lists, in order, the environment variables and config keys a
// flag reads.
func flagSources(path []string, flag string, global bool) (envs, keys []string) {
	envName := func(parts ...string) string {
		return "CKM_" + strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(strings.Join(parts, "_")))
	}
	if !global && len(path) > 0 {
		envs = append(envs, envName(append(path, flag)...))
		keys = append(keys, strings.Join(append(path, flag), "."))
	}
	envs = append(envs, envName(flag))
	if flag != "config" {
		keys = append(keys, flag)
		// DuckDB's own spelling (memory_limit, temp_directory) works too.
		if snake := strings.ReplaceAll(flag, "-", "_"); snake != flag {
			keys = append(keys, snake)
		}
	}
	return envs, keys
}

// lookupFlagValue returns the first non-empty environment variable of envs,
// else the first config key of keys that is set (a YAML list gives its
// items), and says where it found it.
func (a *app) lookupFlagValue(envs, keys []string) (values []string, from string, ok bool) {
	for _, e := range envs {
		if v := os.Getenv(e); v != "" {
			return []string{v}, e, true
		}
	}
	if a.cfg.ConfigFileUsed() == "" {
		return nil, "", false
	}
	for _, k := range keys {
		if !a.cfg.InConfig(k) {
			continue
		}
		from := "config key " + k
		switch v := a.cfg.Get(k).(type) {
		case nil, map[string]any:
			continue
		case []any:
			for _, x := range v {
				values = append(values, configString(x))
			}
			return values, from, true
		default:
			return []string{configString(v)}, from, true
		}
	}
	return nil, "", false
}

// configString is a config file value as it would be typed on the command
// line.
func configString(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.Format(time.DateOnly)
	}
	return fmt.Sprint(v)
}

func (a *app) format() string        { return a.cfg.GetString("format") }
func (a *app) warehousePath() string { return a.cfg.GetString("warehouse") }

// openWarehouse opens the configured warehouse, upgrading it unless
// --read-only. A missing warehouse is an error ("no warehouse at PATH; run
// ckm init"), never an empty one created: the commands that read (or, like
// mine, write next to data) need the data to be there.
func (a *app) openWarehouse(ctx context.Context) (*engine.Warehouse, error) {
	opts := a.engineOptions()
	opts.ReadOnly, opts.MustExist = a.cfg.GetBool("read-only"), true
	return engine.Open(ctx, a.warehousePath(), opts)
}

// createWarehouse opens the configured warehouse like openWarehouse, but
// creates it when missing: for the commands that bring data in (load, demo,
// fixtures ssb).
func (a *app) createWarehouse(ctx context.Context) (*engine.Warehouse, error) {
	opts := a.engineOptions()
	opts.ReadOnly = a.cfg.GetBool("read-only")
	return engine.Open(ctx, a.warehousePath(), opts)
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
