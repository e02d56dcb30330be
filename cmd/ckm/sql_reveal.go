package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// revealedTokens collects the tokens ckm_reveal opened in a session, for
// the audit row that names them (each statement was audited, with its
// reason, before it ran).
type revealedTokens struct {
	mu        sync.Mutex
	tokens    map[string]int64
	principal privacy.Principal
	reason    string
}

func (r *revealedTokens) add(token string) {
	r.mu.Lock()
	r.tokens[token]++
	r.mu.Unlock()
}

// registerReveal makes ckm_reveal(token) available on a protected
// warehouse: opening values for a steward or admin who gave the key and
// --reveal REASON, refusing with what is missing otherwise. Without the
// key a session sees tokens and masks only, whatever its role.
func (a *app) registerReveal(ctx context.Context, w *engine.Warehouse, p privacy.Principal, reason string) (*revealedTokens, error) {
	r := &revealedTokens{tokens: map[string]int64{}, principal: p, reason: reason}
	protected, err := vault.Protected(ctx, w.DB)
	if err != nil || !protected {
		return r, err
	}
	v, err := a.openVault(ctx, w)
	switch {
	case errors.Is(err, vault.ErrNoKey):
		return r, vault.RegisterRevealRefused(ctx, w, "this session has no key (--key-file or CKM_KEY): it sees tokens and masks only")
	case err != nil:
		return nil, err
	case !p.MayReveal():
		return r, vault.RegisterRevealRefused(ctx, w, fmt.Sprintf("role %s never sees raw personal data (--role steward, granted by ckm.yaml)", p.Role))
	case reason == "":
		return r, vault.RegisterRevealRefused(ctx, w, "give the reason with --reveal REASON (written to the reveal audit)")
	}
	return r, vault.RegisterReveal(ctx, w, v, r.add)
}

// audit writes one reveal row naming the tokens opened, if any.
func (r *revealedTokens) audit(ctx context.Context, w *engine.Warehouse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.tokens) == 0 {
		return nil
	}
	list := make([]string, 0, len(r.tokens))
	var n int64
	for t, c := range r.tokens {
		list = append(list, t)
		n += c
	}
	sort.Strings(list)
	_, err := privacy.Audit(ctx, w.DB, privacy.Reveal{Principal: r.principal, Command: "sql ckm_reveal",
		Detail: "tokens revealed: " + strings.Join(list, ", "), Reason: r.reason, Rows: n})
	return err
}
