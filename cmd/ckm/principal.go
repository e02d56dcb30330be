package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/ckm-dev/ckm/privacy"
)

// Roles on a local CLI. --role asks for a role; it never grants one. A
// role above analyst is granted only to an operating-system user that the
// principals list of the configuration names with that role or a higher
// one:
//
//	principals:
//	  alice: steward
//	  root: admin
//
// and the list is trusted only when the configuration file is owned by
// root or by the owner of the warehouse file, and no one else may write it
// (chmod go-w). So a user cannot grant themselves a role with a config file
// of their own, --config or CKM_CONFIG. The role and the reveal reason
// come only from the command line, never from the environment or config.

// addRoleFlag adds --role and --reveal, which decide whether raw personal
// data may be shown or exported.
func addRoleFlag(cmd *cobra.Command) {
	cmd.Flags().String("role", string(privacy.Analyst), "role: analyst (masked, read-only SQL), steward (may reveal raw values, audited) or admin; granted by the principals list of ckm.yaml")
	cmd.Flags().String("reveal", "", "show raw personal data, for this reason (steward or admin; written to the reveal audit)")
}

// role returns the --role of cmd, checked (not yet granted: see grant).
func (a *app) role(cmd *cobra.Command) (string, error) {
	r, _ := cmd.Flags().GetString("role")
	role, err := privacy.ParseRole(r)
	if err != nil {
		return "", usageErrorf("--role %q: %v", r, err)
	}
	return string(role), nil
}

// reveal returns the --reveal reason of cmd; given, it needs a role above
// analyst.
func (a *app) reveal(cmd *cobra.Command, role string) (string, error) {
	reason, _ := cmd.Flags().GetString("reveal")
	if cmd.Flags().Changed("reveal") && reason == "" {
		return "", usageErrorf("--reveal: give the reason for seeing raw personal data")
	}
	if reason != "" && role == string(privacy.Analyst) {
		return "", usageErrorf("--reveal: role analyst never sees raw personal data; ask with --role steward")
	}
	return reason, nil
}

// grant returns the principal of this call: the operating-system user with
// the role asked for, if the trusted principals list grants it.
func (a *app) grant(role string) (privacy.Principal, error) {
	name := currentUser()
	r, err := privacy.ParseRole(role)
	if err != nil {
		return privacy.Principal{}, usageErrorf("--role %q: %v", role, err)
	}
	if r == privacy.Analyst {
		return privacy.Principal{User: name, Role: r}, nil
	}
	policy, err := a.policy()
	if err != nil {
		return privacy.Principal{}, err
	}
	return policy.Grant(name, r)
}

// currentUser names the operating-system user running ckm.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// policy reads the principals list of the configuration file in use,
// checking that the file can be trusted with it.
func (a *app) policy() (privacy.Policy, error) {
	cfg := a.cfg.ConfigFileUsed()
	if cfg == "" {
		return privacy.Policy{Source: "no configuration file (ckm.yaml) names principals"}, nil
	}
	if abs, err := filepath.Abs(cfg); err == nil {
		cfg = abs
	}
	data, err := os.ReadFile(cfg)
	if err != nil {
		return privacy.Policy{}, fmt.Errorf("principals: %w", err)
	}
	var doc struct {
		Principals map[string]string `yaml:"principals"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return privacy.Policy{}, usageErrorf("config %s: principals: %v", cfg, err)
	}
	if len(doc.Principals) == 0 {
		return privacy.Policy{Source: "config " + cfg + " names no principals"}, nil
	}
	if err := trustedConfig(cfg, a.warehousePath()); err != nil {
		return privacy.Policy{}, err
	}
	return privacy.ParsePrincipals(doc.Principals, "config "+cfg)
}

// errUntrustedConfig is returned (wrapped) when a principals list is in a
// file others could have written.
var errUntrustedConfig = errors.New("principals list not trusted")

// trustedConfig checks that cfg is owned by root or by the owner of the
// warehouse file, and writable by its owner only.
func trustedConfig(cfg, warehouse string) error {
	st, err := os.Stat(cfg)
	if err != nil {
		return fmt.Errorf("principals: %w", err)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: config %s may be written by group or others (mode %v): chmod go-w %s", errUntrustedConfig, cfg, st.Mode().Perm(), cfg)
	}
	owner, ok := fileOwner(st)
	if !ok {
		return fmt.Errorf("%w: config %s: file owners are not known on this system, so roles above analyst cannot be granted", errUntrustedConfig, cfg)
	}
	if owner == 0 {
		return nil
	}
	wst, err := os.Stat(warehouse)
	if err != nil {
		return fmt.Errorf("%w: config %s is not owned by root and the warehouse %s cannot be checked: %v", errUntrustedConfig, cfg, warehouse, err)
	}
	if wo, ok := fileOwner(wst); !ok || wo != owner {
		return fmt.Errorf("%w: config %s is owned by neither root nor the owner of the warehouse %s", errUntrustedConfig, cfg, warehouse)
	}
	return nil
}
