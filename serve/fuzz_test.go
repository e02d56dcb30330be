package serve

import (
	"strings"
	"testing"
)

// FuzzJobCall: any statement text is either not a job call, a job call
// with arguments, or an error — never a panic; a parsed call's arguments
// quote back to literals that parse to the same arguments.
func FuzzJobCall(f *testing.F) {
	for _, s := range []string{"CALL ckm_load('a', 'b')", "CALL ckm_load('it''s')", "call ckm_export(", "CALL ckm_job('')", "CALL ckm_load('a',)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		call, ok, err := parseJobCall(s)
		if !ok || err != nil {
			return
		}
		quoted := make([]string, len(call.args))
		for i, a := range call.args {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", "''") + "'"
		}
		again, err := stringLiterals(strings.Join(quoted, ", "))
		if err != nil || strings.Join(again, "\x00") != strings.Join(call.args, "\x00") {
			t.Errorf("%q: args %q quote back to %q (%v)", s, call.args, again, err)
		}
	})
}

// FuzzVerifier: any configured password string is accepted or refused
// with an error, never a panic.
func FuzzVerifier(f *testing.F) {
	good, _ := HashPassword("x")
	for _, s := range []string{good, "SCRAM-SHA-256$", "SCRAM-SHA-256$1:$:", "secret"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = CheckVerifier(s)
	})
}

// FuzzCatalogMatch: the catalog matchers and the type-lookup rewrite take
// any text.
func FuzzCatalogMatch(f *testing.F) {
	for _, s := range []string{"SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(x)$'", "SHOW server_version", "select * from pg_catalog.pg_type"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := normalizeQuery(s)
		for _, r := range catalogRules {
			r.match(q)
		}
		if out, ok := rewriteTypeLookup(s); ok && typeCatalogRef.MatchString(out) {
			t.Errorf("%q: rewritten %q still names pg_catalog.pg_type or pg_namespace", s, out)
		}
		_, _ = patternFilter(relnamePattern, q)
	})
}
