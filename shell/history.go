package shell

import (
	"strings"

	"github.com/ckm-dev/ckm/privacy"
)

// Recordable reports whether a statement may be written to the shell's
// history file, which outlives the session and is not audited: not when
// it reveals personal data (it names --reveal or a reveal function) or
// holds a literal ID number, mobile or e-mail address — judged by the
// same recognisers that mask free text (privacy.MaskText): if masking
// the statement changes it, it carries personal data.
func Recordable(text string) bool {
	if strings.TrimSpace(text) == "" || strings.Contains(strings.ToLower(text), "reveal") {
		return false
	}
	// Every mask writes asterisks; folding full-width characters, which
	// MaskText also does, writes none.
	return strings.Count(privacy.MaskText(text), "*") == strings.Count(text, "*")
}

// historyEntries turns the lines of one typed statement into history
// entries. The history file keeps one entry a line, so a statement
// spanning lines becomes one line joined by spaces — unless a line holds a
// -- comment, which would swallow what follows; then each line is its
// own entry.
func historyEntries(lines []string) []string {
	for _, l := range lines {
		if strings.Contains(l, "--") {
			var out []string
			for _, l := range lines {
				if strings.TrimSpace(l) != "" {
					out = append(out, l)
				}
			}
			return out
		}
	}
	parts := make([]string, 0, len(lines))
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" {
			parts = append(parts, t)
		}
	}
	return []string{strings.Join(parts, " ")}
}
