package clean

import (
	"errors"
	"fmt"
)

// Rule names, as used in etl_reject.rule and fixtures/FORMATS.md.
const (
	RuleIDChecksum      = "id_checksum"      // 18-digit ID whose check character is wrong
	RuleIDInvalid       = "id_invalid"       // wrong layout or impossible birth date
	RuleIDMissing       = "id_missing"       // blank ID
	RuleMobileInvalid   = "mobile_invalid"   // not a CN mobile
	RuleMobileMissing   = "mobile_missing"   // blank mobile
	RuleEmailInvalid    = "email_invalid"    // not a plausible email address
	RuleEmailMissing    = "email_missing"    // blank email
	RuleDateInvalid     = "date_invalid"     // unreadable or impossible date/time
	RuleDateMissing     = "date_missing"     // blank date/time
	RuleAmountInvalid   = "amount_invalid"   // not an amount of money
	RuleAmountMissing   = "amount_missing"   // blank amount
	RuleHeaderMissing   = "header_missing"   // a required column is absent
	RuleHeaderDup       = "header_duplicate" // two columns map to one field
	RuleHeaderAmbiguous = "header_ambiguous" // one column matches two fields
)

// Error is a value that failed a cleaning rule. Rule is one of the Rule*
// constants; Value is the raw input (as received, before any cleaning).
type Error struct {
	Rule  string
	Value string
	// The reason is formatted only when asked for: the SQL functions reject
	// millions of values and only keep the rule.
	format string
	args   []any
}

// Reason says what is wrong with the value, in words.
func (e *Error) Reason() string { return fmt.Sprintf(e.format, e.args...) }

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %q: %s", e.Rule, e.Value, e.Reason())
}

// Blank reports whether the error is about a missing (blank) value rather
// than a wrong one.
func (e *Error) Blank() bool {
	switch e.Rule {
	case RuleIDMissing, RuleMobileMissing, RuleEmailMissing, RuleDateMissing, RuleAmountMissing:
		return true
	}
	return false
}

// RuleOf returns the rule name carried by err (an *Error anywhere in its
// chain), or "" when err is nil or carries none.
func RuleOf(err error) string {
	if e, ok := err.(*Error); ok { // the common case, without reflection
		return e.Rule
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Rule
	}
	return ""
}

func fail(rule, value, format string, args ...any) *Error {
	return &Error{Rule: rule, Value: value, format: format, args: args}
}
