package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ckm-dev/ckm/fixtures"
)

// TestProtectedWarehouseByteScan loads a fixture set into a protected
// warehouse and scans, for every raw ID number, mobile and e-mail of the
// set (expected.json's personal list, with the 15-digit ID forms, and
// folded so full-width, spaced and dashed forms match; GBK-decoded too):
// the warehouse file, its WAL and temp directory, the process temp
// directory, the Parquet lake, and every analyst CLI output (each
// readable relation in csv and json, ckm rejects with and without the key,
// cube drill-through). None may hold one. The exports themselves are the
// scan's control: it finds the raw values there. With the key, a steward's
// ckm_reveal gives back exactly raw values of the list, one per token.
func TestProtectedWarehouseByteScan(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	os.MkdirAll(tmp, 0o700)
	t.Setenv("TMPDIR", tmp)
	exports, wh, kf := filepath.Join(dir, "exports"), filepath.Join(dir, "w.duckdb"), filepath.Join(dir, "k")
	exp, err := fixtures.Generate(ctx, fixtures.Options{Out: exports, Customers: 300, Days: 60, Seed: 3, ListPersonal: true})
	if err != nil {
		t.Fatal(err)
	}
	raw := personalRaw(exp)
	if len(exp.Personal.IDNumbers) < 300 {
		t.Fatalf("expected.json lists %d ID numbers for 300 customers", len(exp.Personal.IDNumbers))
	}
	if v := raw.find(filesText(t, exports)); v == "" {
		t.Fatal("the scan finds no raw value even in the exports")
	}

	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "key", "init"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCkm(t, "", "--warehouse", wh, "--key-file", kf, "load", exports); code != 0 && code != exitRejected {
		t.Fatalf("load exit %d: %s", code, stderr)
	}
	allNames := raw.names
	raw = raw.withoutNamesIn(t, nonPersonalText(t, wh))
	if len(raw.names) < 200 {
		t.Fatalf("only %d names to scan for", len(raw.names))
	}

	outputs := map[string]string{}
	relations := analystRelations(t, wh)
	outputs["relations"] = relationText(t, wh, relations)
	for _, rel := range relations {
		for _, format := range []string{"csv", "json"} {
			out, stderr, code := runCkm(t, "", "sql", "--warehouse", wh, "--format", format, "-c", "SELECT * FROM "+rel)
			if code != 0 {
				t.Fatalf("analyst reading %s: exit %d %s", rel, code, stderr)
			}
			outputs["sql "+format+" "+rel] = out
		}
	}
	for name, args := range map[string][]string{
		"rejects":                {"rejects", "--format", "json", "--limit", "1000000"},
		"rejects with the key":   {"--key-file", kf, "rejects", "--format", "json", "--limit", "1000000"},
		"drill-through":          {"cube", "query", "sales", "--format", "csv", "--through", "all", "--limit", "100000"},
		"contacts drill-through": {"cube", "query", "interactions", "--format", "csv", "--through", "all", "--limit", "100000"},
	} {
		out, stderr, code := runCkm(t, "", append([]string{"--warehouse", wh}, args...)...)
		if code != 0 || len(out) < 1000 {
			t.Fatalf("%s: exit %d, %d bytes, %s", name, code, len(out), stderr)
		}
		outputs[name] = out
	}
	lake := filepath.Join(dir, "lake")
	if _, stderr, code := runCkm(t, "", "export", "parquet", "--warehouse", wh, "--out", lake); code != 0 {
		t.Fatal(stderr)
	}
	outputs["lake"] = lakeText(t, lake)
	outputs["lake files"] = filesText(t, lake)
	outputs["warehouse file, WAL and temp"] = filesText(t, wh, wh+".wal", wh+".tmp")
	outputs["process temp dir"] = filesText(t, tmp)
	for name, o := range outputs {
		for _, text := range []string{o, gbk(o)} {
			if v := raw.find(text); v != "" {
				t.Errorf("%s holds the raw value %s", name, v)
				break
			}
		}
	}

	// A steward with the key gets every token's raw value back exactly.
	out, stderr, code := runCkm(t, "", []string{"sql", "--warehouse", wh, "--format", "json", "--key-file", kf,
		"--config", principalsConfig(t, "steward"), "--role", "steward", "--reveal", "byte-scan test", "-c",
		`SELECT key_type, ckm_reveal(key_value) AS v FROM main.etl_identity WHERE key_type IN ('id_number', 'mobile', 'email')
		UNION ALL SELECT DISTINCT 'name', ckm_reveal(name) FROM main.dim_customer WHERE customer_id > 0 AND name IS NOT NULL`}...)
	if code != 0 {
		t.Fatalf("reveal: exit %d %s", code, stderr)
	}
	var revealed []struct {
		KeyType string `json:"key_type"`
		V       string `json:"v"`
	}
	if err := json.Unmarshal([]byte(out), &revealed); err != nil {
		t.Fatalf("%v: %.300s", err, out)
	}
	if len(revealed) < 300 {
		t.Fatalf("%d values revealed", len(revealed))
	}
	names := 0
	defer func() {
		if names < 200 {
			t.Errorf("%d names revealed, want one per customer of the CRM (about 250)", names)
		}
	}()
	for _, r := range revealed {
		ok := false
		switch r.KeyType {
		case "id_number":
			ok = raw.ids[r.V] && len(r.V) == 18
		case "mobile":
			ok = raw.mobiles[strings.TrimPrefix(r.V, "+86")] && strings.HasPrefix(r.V, "+86")
		case "email":
			ok = raw.emails[r.V]
		case "name":
			ok = allNames[r.V]
			names++
		}
		if !ok {
			t.Errorf("ckm_reveal gave %s %q, not a raw value of the set", r.KeyType, r.V)
		}
	}
}

// filesText concatenates the bytes of the files at paths (directories
// walked; missing paths skipped).
func filesText(t *testing.T, paths ...string) string {
	t.Helper()
	var b strings.Builder
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if os.IsNotExist(err) {
				return nil
			}
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.Write(data)
			b.WriteByte('\n')
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// gbk decodes text as GBK (invalid bytes replaced), so full-width digits
// written in GBK fold like their UTF-8 forms.
func gbk(text string) string {
	s, err := simplifiedchinese.GBK.NewDecoder().String(text)
	if err != nil {
		return ""
	}
	return s
}
