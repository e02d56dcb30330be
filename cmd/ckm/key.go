package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy/vault"
)

// The key-encryption key (KEK) that wraps a protected warehouse's data key
// comes from --key-file (config key_file:, env CKM_KEY_FILE), else from
// CKM_KEY (the key itself, 64 hexadecimal digits), else from the warehouse's
// default key file: <key directory>/<KEK id>.key, where the key directory
// is CKM_KEY_DIR, else os.UserConfigDir()/ckm/keys (~/.config/ckm/keys on
// Linux), and the KEK id (vault.KEKID) is what vault_key records of the
// key that wraps the data key. It is never stored in the warehouse.
//
// Why there: a key beside the warehouse file would travel with every copy
// and backup of it, which is what encryption at rest is meant to survive;
// the user's configuration directory is private to the user (the directory
// is created 0700, the file 0600), is not where warehouses are kept, and
// names the key by the KEK id, so a warehouse moved or renamed on the same
// account still finds its key, and no name of a file or path is needed.

// keyDirEnv names the directory of default key files (tests set it to a
// temporary directory).
const keyDirEnv = "CKM_KEY_DIR"

// keyDir is the directory of default key files.
func keyDir() (string, error) {
	if d := os.Getenv(keyDirEnv); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no directory for the warehouse's key (%w): give a key with --key-file or CKM_KEY, or a directory with %s", err, keyDirEnv)
	}
	return filepath.Join(d, "ckm", "keys"), nil
}

// kek reads the key-encryption key given explicitly (--key-file, CKM_KEY);
// nil when none is given.
func (a *app) kek() ([]byte, error) {
	if path := a.cfg.GetString("key-file"); path != "" {
		return readKeyFile(path)
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

// readKeyFile reads the KEK of a key file that only its owner may read.
func readKeyFile(path string) ([]byte, error) {
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

// keySource says where a KEK came from, for messages.
func (a *app) keySource() string {
	if path := a.cfg.GetString("key-file"); path != "" {
		return path
	}
	return "CKM_KEY"
}

// warehouseKEK is the KEK that should open w's data key and where it came
// from: the explicit one (kek), else w's default key file when it exists;
// nil when neither is there (or w is not protected and none was given).
func (a *app) warehouseKEK(ctx context.Context, w *engine.Warehouse) ([]byte, string, error) {
	kek, err := a.kek()
	if err != nil || kek != nil {
		return kek, a.keySource(), err
	}
	id, err := vault.StoredKEKID(ctx, w.DB)
	if errors.Is(err, vault.ErrNotProtected) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	dir, err := keyDir()
	if err != nil {
		return nil, "", nil // no default: the caller says a key is needed
	}
	path := filepath.Join(dir, id+".key")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	kek, err = readKeyFile(path)
	return kek, path, err
}

// openVault opens the data key of w with its KEK (warehouseKEK): nil for
// an unprotected warehouse (a KEK given for one is refused, it would go
// unused); vault.ErrNoKey for a protected one without a KEK.
func (a *app) openVault(ctx context.Context, w *engine.Warehouse) (*vault.Vault, error) {
	v, _, err := a.openVaultFrom(ctx, w)
	return v, err
}

func (a *app) openVaultFrom(ctx context.Context, w *engine.Warehouse) (*vault.Vault, string, error) {
	kek, from, err := a.warehouseKEK(ctx, w)
	if err != nil {
		return nil, "", err
	}
	protected, err := vault.Protected(ctx, w.DB)
	if err != nil {
		return nil, "", err
	}
	if !protected {
		if kek != nil {
			return nil, "", fmt.Errorf("warehouse %s: a key was given but %w", w.Path, vault.ErrNotProtected)
		}
		return nil, "", nil
	}
	v, err := vault.Open(ctx, w.DB, kek)
	if errors.Is(err, vault.ErrNoKey) {
		if dir, derr := keyDir(); derr == nil {
			err = fmt.Errorf("%w; its default key file is not in %s", err, dir)
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("warehouse %s: %w", w.Path, err)
	}
	return v, from, nil
}

// holdsPersonalData reports whether w was loaded: a warehouse with
// customers, identity keys or ledger entries.
func holdsPersonalData(ctx context.Context, w *engine.Warehouse) (bool, error) {
	var loaded int64
	if err := w.DB.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM etl_identity) + (SELECT count(*) FROM etl_reject)
		+ (SELECT count(*) FROM dim_customer WHERE customer_key > 0)`).Scan(&loaded); err != nil {
		return false, err
	}
	return loaded > 0, nil
}

// loadVault is the vault every load of the CLI writes through: a protected
// warehouse's (its key is required), or, for a warehouse that holds no
// personal data yet (a new file), a data key created now (protection by
// default; newWarehouseKEK says where its key goes). A warehouse loaded in
// the clear by an older ckm is refused: ckm init converts it. where names
// the key's file (or CKM_KEY).
func (a *app) loadVault(ctx context.Context, w *engine.Warehouse) (v *vault.Vault, where string, err error) {
	v, where, err = a.openVaultFrom(ctx, w)
	if err != nil || v != nil {
		return v, where, err
	}
	loaded, err := holdsPersonalData(ctx, w)
	if err != nil {
		return nil, "", err
	}
	if loaded {
		return nil, "", fmt.Errorf("warehouse %s holds personal data in the clear (loaded before protection was the default): run ckm init to encrypt it (the file is rewritten whole), then load", w.Path)
	}
	return a.protectNew(ctx, w)
}

// protectNew gives w, which holds no personal data, a data key wrapped by
// a new warehouse KEK (newWarehouseKEK).
func (a *app) protectNew(ctx context.Context, w *engine.Warehouse) (*vault.Vault, string, error) {
	kek, where, created, err := a.newWarehouseKEK()
	if err != nil {
		return nil, "", err
	}
	v, key, err := vault.NewDataKey(kek)
	if err == nil {
		err = key.Store(ctx, w.DB)
	}
	if err != nil {
		if created {
			os.Remove(where)
		}
		return nil, "", fmt.Errorf("warehouse %s: %w", w.Path, err)
	}
	a.logf("warehouse %s is protected: ID numbers, mobiles, e-mails, names and addresses are stored encrypted; its key is in %s (keep it safe and backed up apart from the warehouse: without it the raw values are lost)", w.Path, where)
	return v, where, nil
}

// newWarehouseKEK is the KEK a new protected warehouse is given: the
// explicit one (--key-file, created with a fresh key if missing; CKM_KEY),
// else a fresh key in a new default key file. created says a default file
// was written (for clean-up when the warehouse then refuses the key).
func (a *app) newWarehouseKEK() (kek []byte, where string, created bool, err error) {
	if path := a.cfg.GetString("key-file"); path != "" {
		kek, err = createKeyFile(path)
		return kek, path, false, err
	}
	if kek, err = a.kek(); err != nil || kek != nil {
		return kek, "CKM_KEY", false, err
	}
	return a.newDefaultKEK()
}

// newDefaultKEK writes a fresh KEK to a new default key file (0600, in a
// key directory created 0700).
func (a *app) newDefaultKEK() (kek []byte, where string, created bool, err error) {
	dir, err := keyDir()
	if err != nil {
		return nil, "", false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", false, fmt.Errorf("key directory %s: %w", dir, err)
	}
	text := vault.NewKEK()
	if kek, err = vault.ParseKEK(text); err != nil {
		return nil, "", false, err
	}
	path := filepath.Join(dir, vault.KEKID(kek)+".key")
	if _, err := createKeyFileWith(path, text); err != nil {
		return nil, "", false, err
	}
	return kek, path, true, nil
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
	rotate.Flags().StringVar(&rotateOpts.newKeyFile, "new-key-file", "", "file of the new key (created with a fresh random key, mode 0600, if missing; default: a new default key file, and the old default key file is removed)")
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
		if p, err := vault.Protected(ctx, w.DB); err != nil {
			return err
		} else if p {
			return fmt.Errorf("warehouse %s: %w", w.Path, errors.New("it has a data key already (ckm key rotate changes the key that wraps it)"))
		}
		_, err := protectWarehouse(ctx, a, w)
		return err
	case "rotate":
		old, oldFrom, err := a.warehouseKEK(ctx, w)
		if err != nil {
			return err
		}
		if old == nil {
			if _, err := vault.Open(ctx, w.DB, nil); err != nil {
				return fmt.Errorf("warehouse %s: %w", w.Path, err)
			}
		}
		next, nextFrom, created := []byte(nil), opts.newKeyFile, false
		if opts.newKeyFile != "" {
			next, err = createKeyFile(opts.newKeyFile)
		} else {
			next, nextFrom, created, err = a.newDefaultKEK()
		}
		if err != nil {
			return err
		}
		if err := vault.Rotate(ctx, w.DB, old, next); err != nil {
			if created {
				os.Remove(nextFrom)
			}
			return fmt.Errorf("warehouse %s: %w", w.Path, err)
		}
		a.logf("the data key of %s is now wrapped by the key in %s; the old key no longer opens it", w.Path, nextFrom)
		if dir, err := keyDir(); err == nil && filepath.Dir(oldFrom) == filepath.Clean(dir) {
			// The old default key file would only mislead: it opens nothing now.
			if err := os.Remove(oldFrom); err != nil {
				a.logf("the old key file %s could not be removed: %v", oldFrom, err)
			}
		}
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
	return createKeyFileWith(path, vault.NewKEK())
}

// createKeyFileWith is createKeyFile writing text to a new file.
func createKeyFileWith(path string, text []byte) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return readKeyFile(path)
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

// protectWarehouse gives w, which has no data key, one wrapped by a new
// warehouse KEK (newWarehouseKEK: the key given, else a new default key
// file) and returns where that key is. A warehouse loaded in the clear is
// converted in the same transaction (vault.Protect: raw values sealed,
// tokens and masks in their place) and then rewritten whole, since DuckDB
// keeps deleted values in freed blocks; w is closed then.
func protectWarehouse(ctx context.Context, a *app, w *engine.Warehouse) (string, error) {
	loaded, err := holdsPersonalData(ctx, w)
	if err != nil {
		return "", err
	}
	if !loaded {
		_, where, err := a.protectNew(ctx, w)
		return where, err
	}
	kek, where, created, err := a.newWarehouseKEK()
	if err != nil {
		return "", err
	}
	if err := convertWarehouse(ctx, a, w, kek); err != nil {
		if created {
			os.Remove(where)
		}
		return "", err
	}
	a.logf("warehouse %s is protected: loads now need the key, which is in %s (keep it safe and backed up apart from the warehouse)", w.Path, where)
	return where, nil
}

// convertWarehouse gives w, loaded in the clear, a data key wrapped by kek
// and converts it (vault.Protect) in one transaction, then rewrites the
// file whole and closes w.
func convertWarehouse(ctx context.Context, a *app, w *engine.Warehouse, kek []byte) error {
	v, key, err := vault.NewDataKey(kek)
	if err != nil {
		return err
	}
	// Before the transaction: it sees the functions of its start.
	if err := vault.Register(ctx, w, v); err != nil {
		return err
	}
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := key.Store(ctx, tx); err != nil {
		return err
	}
	if err := vault.Protect(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("key init: %w", err)
	}
	path := w.Path
	if err := w.Close(); err != nil {
		return err
	}
	if err := engine.Rewrite(ctx, path); err != nil {
		return fmt.Errorf("the warehouse is protected, but rewriting %s failed (its old blocks may still hold raw values): %w", path, err)
	}
	a.logf("warehouse %s was loaded in the clear: its personal data is now encrypted, and the file was rewritten whole", path)
	return nil
}
