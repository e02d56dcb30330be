package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// leafCommands returns every runnable command below root, with its RunE
// replaced by a no-op and its argument check dropped, so executing it runs
// only the flag parsing and loadConfig.
func leafCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c != root && c.Runnable() {
			c.RunE = func(*cobra.Command, []string) error { return nil }
			c.Run = nil
			c.Args = nil
			out = append(out, c)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return out
}

// commandArgs is the arguments that select c below the root.
func commandArgs(c *cobra.Command) []string {
	var path []string
	for ; c.HasParent(); c = c.Parent() {
		path = append([]string{c.Name()}, path...)
	}
	return path
}

// envSample is a value for a flag of each type and how the flag then
// prints it.
func envSample(t *testing.T, f *pflag.Flag) (env, want string) {
	switch f.Name {
	case "format":
		return "csv", "csv"
	case "memory-limit":
		return "2GB", "2GB"
	case "config":
		p := filepath.Join(t.TempDir(), "empty.yaml")
		os.WriteFile(p, []byte("{}\n"), 0o644)
		return p, p
	}
	switch f.Value.Type() {
	case "bool":
		return "true", "true"
	case "int", "int64":
		return "7", "7"
	case "float64":
		return "7.5", "7.5"
	case "duration":
		return "90s", "1m30s"
	case "string":
		return "v-" + f.Name, "v-" + f.Name
	case "stringSlice":
		return "a,b", "[a,b]"
	case "stringArray":
		return "a", "[a]"
	}
	t.Fatalf("flag --%s: no sample for type %s", f.Name, f.Value.Type())
	return "", ""
}

// excludedFromEnv are the flags that must be given on the command line.
var excludedFromEnvTest = map[string]bool{"force": true, "dry-run": true, "role": true, "reveal": true, "help": true}

// TestEveryFlagFromEnv walks every command and every flag: each flag not
// excluded takes its value from CKM_<COMMAND>_<FLAG> (global flags from
// CKM_<FLAG>) when not given on the command line.
func TestEveryFlagFromEnv(t *testing.T) {
	probe := newRootCmd(io.Discard, io.Discard)
	globals := probe.PersistentFlags()
	n := 0
	for _, leaf := range leafCommands(probe) {
		path := commandArgs(leaf)
		t.Run(strings.Join(path, "_"), func(t *testing.T) {
			root := newRootCmd(io.Discard, io.Discard)
			cmd, _, err := root.Find(path)
			if err != nil {
				t.Fatal(err)
			}
			leafCommands(root)
			want := map[string]string{}
			cmd.InheritedFlags().VisitAll(func(*pflag.Flag) {}) // merge the persistent flags
			cmd.Flags().VisitAll(func(f *pflag.Flag) {
				if excludedFromEnvTest[f.Name] {
					return
				}
				env := envName(nil, f.Name)
				if globals.Lookup(f.Name) == nil {
					env = envName(path, f.Name)
				}
				v, w := envSample(t, f)
				t.Setenv(env, v)
				want[f.Name] = w
				n++
			})
			root.SetArgs(path)
			if err := root.Execute(); err != nil {
				t.Fatalf("%s: %v", strings.Join(path, " "), err)
			}
			for name, w := range want {
				if got := cmd.Flags().Lookup(name).Value.String(); got != w {
					t.Errorf("--%s = %q, want %q from the environment", name, got, w)
				}
			}
		})
	}
	if n < 50 {
		t.Errorf("only %d flags checked", n)
	}
}

// envName is the variable a flag of the command at path reads.
func envName(path []string, flag string) string {
	return "CKM_" + strings.ToUpper(strings.ReplaceAll(strings.Join(append(path, flag), "_"), "-", "_"))
}

// TestFlagSources checks the order flag > command env > plain env > config
// (command section, then top level) > default, and that --force, --dry-run
// and --role never come from the environment or the config.
func TestFlagSources(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ckm.yaml")
	os.WriteFile(cfg, []byte("limit: 11\nmine:\n  rfm:\n    window-days: 30\n  clv:\n    dry-run: true\nrole: admin\ncube:\n  query:\n    limit: 12\n"), 0o644)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		flag string
		want string
	}{
		{"flag beats env", map[string]string{"CKM_MINE_RFM_AS_OF": "2001-01-01"}, []string{"mine", "rfm", "--as-of", "2002-02-02"}, "as-of", "2002-02-02"},
		{"command env", map[string]string{"CKM_MINE_RFM_AS_OF": "2001-01-01", "CKM_AS_OF": "2003-03-03"}, []string{"mine", "rfm"}, "as-of", "2001-01-01"},
		{"plain env", map[string]string{"CKM_AS_OF": "2003-03-03"}, []string{"mine", "rfm"}, "as-of", "2003-03-03"},
		{"command config", nil, []string{"--config", cfg, "mine", "rfm"}, "window-days", "30"},
		{"env beats config", map[string]string{"CKM_WINDOW_DAYS": "9"}, []string{"--config", cfg, "mine", "rfm"}, "window-days", "9"},
		{"command config beats top level", nil, []string{"--config", cfg, "cube", "query", "sales"}, "limit", "12"},
		{"top-level config", nil, []string{"--config", cfg, "rejects"}, "limit", "11"},
		{"default", nil, []string{"mine", "rfm"}, "window-days", "0"},
		{"no CKM_DRY_RUN", map[string]string{"CKM_DRY_RUN": "true", "CKM_MINE_RFM_DRY_RUN": "true"}, []string{"mine", "rfm"}, "dry-run", "false"},
		{"no dry-run from config", nil, []string{"--config", cfg, "mine", "clv"}, "dry-run", "false"},
		{"no CKM_ROLE", map[string]string{"CKM_ROLE": "admin", "CKM_SQL_ROLE": "admin"}, []string{"sql"}, "role", "analyst"},
		{"no role from config", nil, []string{"--config", cfg, "sql"}, "role", "analyst"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			root := newRootCmd(io.Discard, io.Discard)
			leafCommands(root)
			root.SetArgs(c.args)
			cmd, err := root.ExecuteC()
			if err != nil {
				t.Fatal(err)
			}
			if got := cmd.Flags().Lookup(c.flag).Value.String(); got != c.want {
				t.Errorf("--%s = %q, want %q", c.flag, got, c.want)
			}
		})
	}
}

// TestRoleNotFromEnv runs ckm sql with CKM_ROLE=admin: personal data stays
// masked.
func TestRoleNotFromEnv(t *testing.T) {
	wh := sqlWarehouse(t)
	t.Setenv("CKM_ROLE", "admin")
	out, stderr, code := runCkm(t, "", "sql", "--warehouse", wh, "--format", "csv", "-c", "SELECT mobile FROM dim_customer WHERE customer_id = 1001")
	if code != 0 || strings.Contains(out, "13800138000") {
		t.Errorf("CKM_ROLE=admin unmasked the mobile: exit %d\n%s%s", code, out, stderr)
	}
}

// TestLoadAsOfFromEnv: CKM_LOAD_AS_OF=2000-01-01 puts every sale in the
// future, exactly like --as-of 2000-01-01.
func TestLoadAsOfFromEnv(t *testing.T) {
	for _, c := range []struct {
		name string
		env  string
		args []string
	}{
		{"flag", "", []string{"--as-of", "2000-01-01"}},
		{"CKM_LOAD_AS_OF", "2000-01-01", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			wh := filepath.Join(dir, "w.duckdb")
			src := filepath.Join(dir, "pos_sales_a.csv")
			os.WriteFile(src, []byte(posHeader+posRows(3)), 0o644)
			if c.env != "" {
				t.Setenv("CKM_LOAD_AS_OF", c.env)
			}
			_, stderr, code := runCkm(t, "", append([]string{"--warehouse", wh, "load", src}, c.args...)...)
			if code != exitRejected {
				t.Errorf("load: exit %d, want %d (all rows future): %s", code, exitRejected, stderr)
			}
			out, stderr, code := runCkm(t, "", "--warehouse", wh, "--format", "csv", "sql", "-c", "SELECT count(*) AS n FROM fact_sales")
			if code != 0 || out != "n\n0\n" {
				t.Errorf("sales loaded: exit %d %q %s", code, out, stderr)
			}
		})
	}
}
