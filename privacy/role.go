package privacy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Role is what a principal may do with personal data.
type Role string

// Roles, each allowed what the one before is and more.
const (
	// Analyst reads masked data with read-only SQL in a sandbox (the
	// default); ckm's own commands (mining) still write what they compute.
	Analyst Role = "analyst"
	// Steward may reveal raw personal values; every reveal is audited.
	Steward Role = "steward"
	// Admin may also export raw data and change the schema.
	Admin Role = "admin"
)

// Roles lists the roles in rising order.
var Roles = []Role{Analyst, Steward, Admin}

// ParseRole checks a role name; "" is Analyst.
func ParseRole(s string) (Role, error) {
	if s == "" {
		return Analyst, nil
	}
	if r := Role(s); slices.Contains(Roles, r) {
		return r, nil
	}
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown role %q: want %s", s, strings.Join(names, ", "))
}

// rank orders roles; an unknown role ranks below analyst.
func (r Role) rank() int { return slices.Index(Roles, r) }

// Covers reports whether r allows everything other allows.
func (r Role) Covers(other Role) bool { return r.rank() >= other.rank() && other.rank() >= 0 }

// Principal is who is asking: the operating-system user and the role
// granted to this call.
type Principal struct {
	User string
	Role Role
}

// MayReveal is the decision "may this principal see raw personal values":
// only a steward or an admin, and then only with the reveal audited.
func (p Principal) MayReveal() bool { return p.Role.Covers(Steward) }

// MayExportRaw reports whether the principal may write raw personal data
// out of the warehouse (a raw Parquet export, tables outside the lake).
func (p Principal) MayExportRaw() bool { return p.Role.Covers(Admin) }

// Sandboxed reports whether the principal's SQL is vetted: only reads of
// the analyst's relations pass.
func (p Principal) Sandboxed() bool { return !p.Role.Covers(Admin) }

// Policy says which operating-system users may take a role above analyst:
// the principals list of the warehouse's configuration. A role is never
// granted by asking for it alone.
type Policy struct {
	// Principals maps an OS user name to the highest role they may take.
	Principals map[string]Role
	// Source names where the list came from, for messages.
	Source string
}

// ErrRoleDenied is returned (wrapped) when a role is asked for that the
// policy does not grant the user.
var ErrRoleDenied = errors.New("role not granted")

// Grant returns the principal for user asking for role: analyst always;
// steward or admin only when the policy lists the user with that role or
// a higher one.
func (p Policy) Grant(user string, role Role) (Principal, error) {
	if role == "" {
		role = Analyst
	}
	if role.rank() < 0 {
		return Principal{}, fmt.Errorf("unknown role %q", role)
	}
	if role == Analyst {
		return Principal{User: user, Role: Analyst}, nil
	}
	if user == "" {
		return Principal{}, fmt.Errorf("%w: role %s needs a known operating-system user", ErrRoleDenied, role)
	}
	allowed, ok := p.Principals[user]
	if !ok {
		src := p.Source
		if src == "" {
			src = "no principals list is configured"
		}
		return Principal{}, fmt.Errorf("%w: role %s is not granted to user %q (%s; an admin adds %q under principals: in ckm.yaml)", ErrRoleDenied, role, user, src, user)
	}
	if !allowed.Covers(role) {
		return Principal{}, fmt.Errorf("%w: user %q may take role %s at most, not %s (%s)", ErrRoleDenied, user, allowed, role, p.Source)
	}
	return Principal{User: user, Role: role}, nil
}

// ParsePrincipals checks a principals list, user → role name.
func ParsePrincipals(m map[string]string, source string) (Policy, error) {
	p := Policy{Principals: map[string]Role{}, Source: source}
	for user, name := range m {
		r, err := ParseRole(strings.TrimSpace(name))
		if err != nil || strings.TrimSpace(name) == "" {
			return Policy{}, fmt.Errorf("%s: principals: user %q: %v", source, user, errOrEmpty(err))
		}
		if strings.TrimSpace(user) == "" {
			return Policy{}, fmt.Errorf("%s: principals: an empty user name", source)
		}
		p.Principals[user] = r
	}
	return p, nil
}

func errOrEmpty(err error) error {
	if err != nil {
		return err
	}
	return errors.New("no role given")
}
