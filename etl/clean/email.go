package clean

import (
	"strings"
	"unicode"
)

// Email normalises an email address: NFKC (full-width ＠ and letters),
// trimmed, lowercased. It checks the basic shape: one @; a local part of at
// most 64 characters of letters, digits and !#$%&'*+/=?^_`{|}~.- with no
// leading, trailing or doubled dot; a domain of at least two dot-separated
// labels of letters, digits and inner hyphens, the last one not numeric;
// at most 254 characters in all. Quoted local parts and IP-literal domains
// are not accepted.
//
// Errors are *Error with rule email_missing (blank) or email_invalid.
func Email(s string) (string, error) {
	v := strings.ToLower(fold(s))
	if v == "" {
		return "", fail(RuleEmailMissing, s, "blank email")
	}
	if len(v) > 254 {
		return "", fail(RuleEmailInvalid, s, "longer than 254 characters")
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok {
		return "", fail(RuleEmailInvalid, s, "no @")
	}
	if strings.Contains(domain, "@") {
		return "", fail(RuleEmailInvalid, s, "more than one @")
	}
	if reason := checkLocalPart(local); reason != "" {
		return "", fail(RuleEmailInvalid, s, "%s", reason)
	}
	if reason := checkDomain(domain); reason != "" {
		return "", fail(RuleEmailInvalid, s, "%s", reason)
	}
	return v, nil
}

func checkLocalPart(local string) string {
	switch {
	case local == "":
		return "nothing before the @"
	case len(local) > 64:
		return "more than 64 characters before the @"
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return "misplaced dot before the @"
	}
	for _, r := range local {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+/=?^_`{|}~.-", r)) {
			return "character " + quoteRune(r) + " not allowed before the @"
		}
	}
	return ""
}

func checkDomain(domain string) string {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "domain " + strconvQuote(domain) + " has no dot"
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "domain " + strconvQuote(domain) + " has an empty or overlong label"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "domain label " + strconvQuote(l) + " starts or ends with a hyphen"
		}
		for _, r := range l {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') {
				return "character " + quoteRune(r) + " not allowed in the domain"
			}
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return "top-level domain is a number"
	}
	return ""
}
