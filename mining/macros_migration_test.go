package mining

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ckm-dev/ckm/engine"
)

// TestMacrosAreMigrated checks that every table macro mining defines is
// created, with exactly this text, by the engine's migrations (the latest
// one that defines it): the engine owns every persistent object, and a
// change to an operator's SQL needs a new migration.
func TestMacrosAreMigrated(t *testing.T) {
	for _, m := range macros() {
		want := macroDDL(m)
		var got string
		for _, mig := range engine.Migrations {
			for _, text := range mig.SQL {
				if i := strings.Index(text, "CREATE OR REPLACE MACRO "+m.name+"("); i >= 0 {
					stmt := text[i:]
					if j := strings.Index(stmt, ";\n"); j >= 0 {
						stmt = stmt[:j+1]
					}
					got = stmt
				}
			}
		}
		if got == "" {
			t.Errorf("no engine migration creates the table macro %s", m.name)
			continue
		}
		if got != want {
			t.Errorf("the latest engine migration defining %s differs from mining's SQL: add a migration with\n%s", m.name, want)
		}
	}
}

// macroDDL is the statement a migration creates m with.
func macroDDL(m macro) string {
	return fmt.Sprintf("CREATE OR REPLACE MACRO %s(%s) AS TABLE %s;", m.name, m.params, m.body)
}
