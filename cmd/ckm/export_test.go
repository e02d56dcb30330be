package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/export"
)

func TestExportParquetCommand(t *testing.T) {
	wh := sqlWarehouse(t)
	lake := filepath.Join(t.TempDir(), "lake")

	stdout, stderr, code := runCkm(t, "", "export", "parquet", "--warehouse", wh, "--out", lake, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var m export.Manifest
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("stdout is not the manifest: %v\n%s", err, stdout)
	}
	b, err := os.ReadFile(filepath.Join(lake, export.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var disk export.Manifest
	json.Unmarshal(b, &disk)
	if len(m.Tables) == 0 || len(disk.Tables) != len(m.Tables) || m.PII != "masked" {
		t.Errorf("manifest: %d tables (disk %d), pii %s", len(m.Tables), len(disk.Tables), m.PII)
	}

	// The lake reads back masked, through the shell.
	q := "SELECT mobile FROM read_parquet('" + filepath.Join(lake, "dim_customer", "*.parquet") + "') WHERE customer_key = 2"
	admin := asAdmin(t)
	stdout, _, code = runCkm(t, "", append(append([]string{"sql", "--warehouse", wh, "--format", "csv"}, admin...), "--reveal", "check the lake", "-c", q)...)
	if code != 0 || stdout != "mobile\n+86 139****5678\n" {
		t.Errorf("lake mobile: exit %d, %q", code, stdout)
	}

	// An admin's export stays masked without a reason; with one it is raw,
	// audited, and replaces the lake.
	_, stderr, code = runCkm(t, "", append(append([]string{"export", "parquet", "--warehouse", wh, "--out", lake, "--tables", "dim_customer"}, admin...), "--reveal", "CRM migration")...)
	if code != 0 {
		t.Fatalf("admin export: exit %d: %s", code, stderr)
	}
	stdout, _, _ = runCkm(t, "", append(append([]string{"sql", "--warehouse", wh, "--format", "csv"}, admin...), "--reveal", "check the lake", "-c", q)...)
	if stdout != "mobile\n+8613912345678\n" {
		t.Errorf("admin lake mobile: %q", stdout)
	}
	// --role admin without the principals list is refused.
	if _, stderr, code := runCkm(t, "", "export", "parquet", "--warehouse", wh, "--out", lake, "--role", "admin", "--reveal", "x"); code != 1 || !strings.Contains(stderr, "role not granted") {
		t.Errorf("ungranted admin export: exit %d, %s", code, stderr)
	}

	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no --out", nil, 2, "--out DIR is required"},
		{"unknown table", []string{"--out", lake, "--tables", "dim_nosuch"}, 2, "dim_nosuch"},
		{"not a lake", []string{"--out", filepath.Dir(wh)}, 1, "not a ckm lake"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCkm(t, "", append([]string{"export", "parquet", "--warehouse", wh}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.stderr)
			}
		})
	}
}

// TestNewExportParquetCmd checks what ckm export parquet parses its flags,
// environment and config into, without a warehouse.
func TestNewExportParquetCmd(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ckm.yaml")
	os.WriteFile(cfg, []byte("export:\n  parquet:\n    out: lake\n    tables: [dim_customer, fact_sales]\nrole: admin\n"), 0o644)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want exportParquetOptions
		err  string
	}{
		{"flags", nil, []string{"--out", "x", "--tables", "a,b", "--role", "admin"}, exportParquetOptions{out: "x", tables: []string{"a", "b"}, role: "admin"}, ""},
		{"environment", map[string]string{"CKM_EXPORT_PARQUET_OUT": "y", "CKM_TABLES": "c"}, nil, exportParquetOptions{out: "y", tables: []string{"c"}, role: "analyst"}, ""},
		{"config, never the role", nil, []string{"--config", cfg}, exportParquetOptions{out: "lake", tables: []string{"dim_customer", "fact_sales"}, role: "analyst"}, ""},
		{"no --out", nil, nil, exportParquetOptions{}, "--out DIR is required"},
		{"bad role", nil, []string{"--out", "x", "--role", "root"}, exportParquetOptions{}, `--role "root"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var got *exportParquetOptions
			err := parseWith(t, []string{"export"}, func(a *app) *cobra.Command {
				return newExportParquetCmd(a, func(_ context.Context, o *exportParquetOptions) error { got = o; return nil })
			}, append([]string{"export", "parquet"}, c.args...)...)
			if c.err != "" {
				var ue usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want a usage error with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.out != c.want.out || !slices.Equal(got.tables, c.want.tables) || got.role != c.want.role {
				t.Errorf("options %+v, want %+v", *got, c.want)
			}
		})
	}
}
