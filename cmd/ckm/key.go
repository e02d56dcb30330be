package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// The key-encryption key (KEK) that wraps a protected warehouse's data key
// comes from --key-file (config key_file:, env CKM_KEY_FILE), else from
// CKM_KEY (the key itself, 64 hexadecimal digits). It is never stored in
// the warehouse.

// kek reads the key-encryption key; nil when none is given.
func (a *app) kek() ([]byte, error) {
	if path := a.cfg.GetString("key-file"); path != "" {
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("key file %s may be read by others (mode %04o): chmod 600 %s", path, st.Mode().Perm(), path)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		k, err := vault.ParseKEK(text)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, nil
	}
	if text := os.Getenv("CKM_KEY"); text != "" {
		k, err := vault.ParseKEK([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("CKM_KEY: %w", err)
		}
		return k, nil
	}
	return nil, nil
}

// openVault opens the data key of w with the configured KEK: nil for an
// unprotected warehouse (a KEK given for one is refused, it would go
// unused); vault.ErrNoKey for a protected one without a KEK.
func (a *app) openVault(ctx context.Context, w *engine.Warehouse) (*vault.Vault, error) {
	kek, err := a.kek()
	if err != nil {
		return nil, err
	}
	protected, err := vault.Protected(ctx, w.DB)
	if err != nil {
		return nil, err
	}
	if !protected {
		if kek != nil {
			return nil, fmt.Errorf("warehouse %s: a key was given but %w", w.Path, vault.ErrNotProtected)
		}
		return nil, nil
	}
	v, err := vault.Open(ctx, w.DB, kek)
	if err != nil {
		return nil, fmt.Errorf("warehouse %s: %w", w.Path, err)
	}
	return v, nil
}

// keyOptions are what ckm key init and ckm key rotate resolve to.
type keyOptions struct {
	app        *app
	action     string // init | rotate
	newKeyFile string // rotate: the file of the new KEK (created if missing)
}

func init() { registerCommand(func(a *app) *cobra.Command { return newKeyCmd(a, nil) }) }

// newKeyCmd builds ckm key with its subcommands init and rotate.
func newKeyCmd(a *app, runF func(context.Context, *keyOptions) error) *cobra.Command {
	root := &cobra.Command{Use: "key", Short: "Protect personal data at rest: create or rotate the warehouse's key", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() }}
	run := func(opts *keyOptions) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			if opts.action == "rotate" && opts.newKeyFile == "" {
				return usageErrorf("--new-key-file: give the file of the new key (created with a fresh key if missing)")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return keyRun(cmd.Context(), opts)
		}
	}
	initOpts := &keyOptions{app: a, action: "init"}
	root.AddCommand(&cobra.Command{Use: "init", Args: cobra.NoArgs,
		Short: "Give the warehouse a data key: from now on ID numbers, mobiles and e-mails are stored encrypted",
		Long: `Create the warehouse's data key, wrapped by the key of --key-file (created
with a fresh random key, mode 0600, if missing) or CKM_KEY. Loads then store
tokens and masks in analytical tables and the raw values only encrypted,
and need the key. Keep the key file safe and backed up apart from the
warehouse: without it the raw values are lost (the warehouse is not).`,
		RunE: run(initOpts)})
	rotateOpts := &keyOptions{app: a, action: "rotate"}
	rotate := &cobra.Command{Use: "rotate", Args: cobra.NoArgs,
		Short: "Re-wrap the data key with a new key; tokens and encrypted values stay as they are",
		RunE:  run(rotateOpts)}
	rotate.Flags().StringVar(&rotateOpts.newKeyFile, "new-key-file", "", "file of the new key (created with a fresh random key, mode 0600, if missing)")
	root.AddCommand(rotate)
	return root
}

func keyRun(ctx context.Context, opts *keyOptions) error {
	a := opts.app
	w, err := a.createWarehouse(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	switch opts.action {
	case "init":
		if path := a.cfg.GetString("key-file"); path != "" {
			if _, err := createKeyFile(path); err != nil {
				return err
			}
		}
		kek, err := a.kek()
		if err != nil {
			return err
		}
		if kek == nil {
			return usageErrorf("--key-file: give the key file (created with a fresh key if missing), or set CKM_KEY")
		}
		return protectWarehouse(ctx, a, w, kek)
	case "rotate":
		old, err := a.kek()
		if err != nil {
			return err
		}
		if old == nil {
			if _, err := vault.Open(ctx, w.DB, nil); err != nil {
				return fmt.Errorf("warehouse %s: %w", w.Path, err)
			}
		}
		next, err := createKeyFile(opts.newKeyFile)
		if err != nil {
			return err
		}
		if err := vault.Rotate(ctx, w.DB, old, next); err != nil {
			return fmt.Errorf("warehouse %s: %w", w.Path, err)
		}
		a.logf("the data key of %s is now wrapped by the key in %s; the old key no longer opens it", w.Path, opts.newKeyFile)
		return nil
	}
	return fmt.Errorf("key: unknown action %q", opts.action)
}

// createKeyFile reads the KEK of path, creating the file (mode 0600) with
// a fresh random key when it does not exist.
func createKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, usageErrorf("--key-file: give the key file (created with a fresh key if missing), or set CKM_KEY")
	}
	text := vault.NewKEK()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		if text, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
	case err != nil:
		return nil, fmt.Errorf("key file %s: %w", path, err)
	default:
		_, werr := f.Write(text)
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
	}
	k, err := vault.ParseKEK(text)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// protectWarehouse gives w a data key. A warehouse loaded in the clear is
// converted in the same transaction (vault.Protect: raw values sealed,
// tokens and masks in their place) and then rewritten whole, since DuckDB
// keeps deleted values in freed blocks.
func protectWarehouse(ctx context.Context, a *app, w *engine.Warehouse, kek []byte) error {
	var loaded int64
	if err := w.DB.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM etl_identity) + (SELECT count(*) FROM etl_reject)
		+ (SELECT count(*) FROM dim_customer WHERE customer_key > 0)`).Scan(&loaded); err != nil {
		return err
	}
	v, key, err := vault.NewDataKey(kek)
	if err != nil {
		return err
	}
	if loaded > 0 {
		// Before the transaction: it sees the functions of its start.
		if err := vault.Register(ctx, w, v); err != nil {
			return err
		}
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := key.Store(ctx, tx); err != nil {
		return err
	}
	if loaded > 0 {
		if err := vault.Protect(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("key init: %w", err)
	}
	if loaded > 0 {
		path := w.Path
		if err := w.Close(); err != nil {
			return err
		}
		if err := engine.Rewrite(ctx, path); err != nil {
			return fmt.Errorf("the warehouse is protected, but rewriting %s failed (its old blocks may still hold raw values): %w", path, err)
		}
		a.logf("warehouse %s was loaded in the clear: its personal data is now encrypted, and the file was rewritten whole", path)
	}
	a.logf("warehouse %s is protected: loads now need the key", w.Path)
	return nil
}
