package serve

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ckm-dev/ckm/shell"
)

// RevealExpressionRefusal is why ckm_reveal(token) as a SQL expression is
// not answered through ckm serve. The embedded shell's ckm_reveal is a
// DuckDB function, and a function is registered for the whole database,
// not for one session: in a server shared by analysts it could not tell a
// steward's call from an analyst's. A steward or admin reveals with the
// CALL form instead, which the server audits before any value opens.
const RevealExpressionRefusal = "ckm_reveal(...) as an expression is not available through ckm serve (a database function cannot tell whose session calls it); " +
	"a steward or admin reveals with CALL ckm_reveal('reason', 'token', ...), audited before any value opens"

// revealCall finds a call of the function ckm_reveal in SQL text, outside
// string literals, quoted identifiers other than its own name, dollar
// quotes and comments.
var revealCall = regexp.MustCompile(`(?i)(^|[^a-z0-9_$."])("ckm_reveal"|ckm_reveal)\s*\(`)

// callsReveal reports whether text calls ckm_reveal(...) as a function.
func callsReveal(text string) bool {
	if !strings.Contains(strings.ToLower(text), "ckm_reveal") {
		return false
	}
	return revealCall.MatchString(shell.CodeOnly(text))
}

// revealRefusal is the error for a statement calling ckm_reveal(...): an
// analyst is refused outright (42501); a steward or admin is told to use
// the CALL form (0A000).
func (ss *session) revealRefusal(text string) error {
	if !ss.principal.MayReveal() {
		return ss.refused(text, fmt.Errorf("%w: ckm_reveal: role %s never sees raw personal data (a steward or admin may, with CALL ckm_reveal)", shell.ErrRefused, ss.principal.Role))
	}
	return ss.refused(text, &pgError{code: "0A000", msg: RevealExpressionRefusal})
}
