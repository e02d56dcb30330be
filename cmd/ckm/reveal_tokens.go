package main

import (
	"context"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// tokenRevealer returns a function that gives the raw value behind a token
// of w (its key is needed: vault.ErrNoKey without it); a value that is no
// token, or a forgotten customer's token, comes back as it is. On an
// unprotected warehouse every value comes back as it is. For the reveals
// of a granted, audited principal outside SQL.
func (a *app) tokenRevealer(ctx context.Context, w *engine.Warehouse) (func(string) (string, error), error) {
	v, err := a.openVault(ctx, w)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return func(s string) (string, error) { return s, nil }, nil
	}
	open, err := v.Revealer(ctx, w.DB)
	if err != nil {
		return nil, err
	}
	return func(s string) (string, error) {
		if !vault.IsToken(s) {
			return s, nil
		}
		raw, ok, err := open(s)
		if err != nil || !ok {
			return s, err
		}
		return raw, nil
	}, nil
}

// revealColumn replaces the tokens of column col of rows by their raw
// values (tokenRevealer).
func (a *app) revealColumn(ctx context.Context, rows [][]any, col int) error {
	w, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	reveal, err := a.tokenRevealer(ctx, w)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if s, ok := r[col].(string); ok {
			if r[col], err = reveal(s); err != nil {
				return err
			}
		}
	}
	return nil
}
