package vault

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl/clean"
	"github.com/ckm-dev/ckm/privacy"
)

// Register makes the vault's write functions available in the warehouse
// (once per open warehouse), for the loader:
//
//	ckm_token(kind, value) VARCHAR              the token of a raw value (kind: id_number | mobile | email)
//	ckm_new_customer_key(customer_id) BLOB      a fresh customer key, wrapped
//	ckm_seal(customer_id, wrapped_key, token, value) BLOB   a raw value sealed with its customer's key
//	ckm_seal_text(text) VARCHAR                 a raw ledger text sealed with the ledger key
//
// None of them decrypts: a process that registers them can write protected
// data but not read it back.
func Register(ctx context.Context, w *engine.Warehouse, v *Vault) error {
	return w.Setup(ctx, "vault", func(ctx context.Context, conn *sql.Conn) error { return v.registerWrite(conn) })
}

// RegisterReveal makes ckm_reveal(token) VARCHAR available: the raw
// value behind a token, for a steward session holding the key. It reads
// the sealed values as they are now (a session sees the loads committed
// before it started); a token several customers share (a household's
// mobile) is the same value in each of their seals, and a forgotten
// customer's tokens reveal nothing. reveal is called with each token
// revealed, for the audit.
func RegisterReveal(ctx context.Context, w *engine.Warehouse, v *Vault, reveal func(token string)) error {
	return w.Setup(ctx, "vault reveal", func(ctx context.Context, conn *sql.Conn) error {
		index, err := v.sealedIndex(ctx, conn)
		if err != nil {
			return err
		}
		f := &udf{in: []duckdb.TypeInfo{varchar}, out: varchar, fn: func(a []driver.Value) (any, error) {
			token, ok := a[0].(string)
			if !ok {
				return nil, nil
			}
			s, ok := index[token]
			if !ok {
				return nil, nil
			}
			p, err := v.Unseal(s.customerID, s.wrapped, token, s.sealed)
			if err != nil {
				return nil, err
			}
			if reveal != nil {
				reveal(token)
			}
			return p, nil
		}}
		return duckdb.RegisterScalarUDF(conn, "ckm_reveal", f)
	})
}

// RegisterRevealRefused makes ckm_reveal(token) fail with why: for
// sessions that may not reveal (no key, no reveal reason, analyst), so the
// refusal says what is missing instead of "no such function".
func RegisterRevealRefused(ctx context.Context, w *engine.Warehouse, why string) error {
	return w.Setup(ctx, "vault reveal", func(ctx context.Context, conn *sql.Conn) error {
		f := &udf{in: []duckdb.TypeInfo{varchar}, out: varchar, fn: func(a []driver.Value) (any, error) {
			return nil, fmt.Errorf("ckm_reveal: %s", why)
		}}
		return duckdb.RegisterScalarUDF(conn, "ckm_reveal", f)
	})
}

// Revealer reads the sealed values as they are now and returns a function
// that gives the raw value behind a token: ok is false for a token no
// sealed value of a living customer stands behind (forgotten, or not a
// token of this warehouse). For the CLI's reveals outside SQL (a
// steward's identity explain, a contact file), audited by the caller.
func (v *Vault) Revealer(ctx context.Context, db Querier) (func(token string) (raw string, ok bool, err error), error) {
	index, err := v.sealedIndex(ctx, db)
	if err != nil {
		return nil, err
	}
	return func(token string) (string, bool, error) {
		s, ok := index[token]
		if !ok {
			return "", false, nil
		}
		p, err := v.Unseal(s.customerID, s.wrapped, token, s.sealed)
		if err != nil {
			return "", false, err
		}
		return p, true, nil
	}, nil
}

type sealedValue struct {
	customerID      int64
	wrapped, sealed []byte
}

// sealedIndex reads the sealed values of customers whose key exists, by token.
func (v *Vault) sealedIndex(ctx context.Context, db Querier) (map[string]sealedValue, error) {
	rows, err := db.QueryContext(ctx, `SELECT v.token, v.customer_id, k.wrapped_key, v.sealed
		FROM vault_value v JOIN vault_customer_key k USING (customer_id) ORDER BY v.customer_id DESC`)
	if err != nil {
		return nil, fmt.Errorf("vault: read sealed values: %w", err)
	}
	defer rows.Close()
	index := map[string]sealedValue{}
	for rows.Next() {
		var tok string
		var s sealedValue
		if err := rows.Scan(&tok, &s.customerID, &s.wrapped, &s.sealed); err != nil {
			return nil, fmt.Errorf("vault: read sealed values: %w", err)
		}
		index[tok] = s
	}
	return index, rows.Err()
}

var varchar, bigint, blob duckdb.TypeInfo

func init() {
	mk := func(t duckdb.Type) duckdb.TypeInfo {
		ti, err := duckdb.NewTypeInfo(t)
		if err != nil {
			panic(err)
		}
		return ti
	}
	varchar, bigint, blob = mk(duckdb.TYPE_VARCHAR), mk(duckdb.TYPE_BIGINT), mk(duckdb.TYPE_BLOB)
}

func (v *Vault) registerWrite(conn *sql.Conn) error {
	funcs := map[string]*udf{
		"ckm_new_customer_key": {in: []duckdb.TypeInfo{bigint}, out: blob, volatile: true, fn: func(a []driver.Value) (any, error) {
			id, ok := a[0].(int64)
			if !ok {
				return nil, fmt.Errorf("ckm_new_customer_key: no customer id")
			}
			return v.NewCustomerKey(id), nil
		}},
	}
	for name, f := range funcs {
		if err := duckdb.RegisterScalarUDF(conn, name, f); err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
	}
	if err := duckdb.RegisterScalarUDF(conn, "ckm_seal_text", &sealTextUDF{v}); err != nil {
		return fmt.Errorf("register ckm_seal_text: %w", err)
	}
	if err := duckdb.RegisterScalarUDF(conn, "ckm_token", &tokenUDF{v}); err != nil {
		return fmt.Errorf("register ckm_token: %w", err)
	}
	if err := duckdb.RegisterScalarUDF(conn, "ckm_seal", &sealUDF{v}); err != nil {
		return fmt.Errorf("register ckm_seal: %w", err)
	}
	return nil
}

// sealUDF is ckm_seal(customer_id, wrapped_key, token, value) over whole
// vectors: the wrapped keys, tokens and values read in place, a vector's
// nonces in one read of crypto/rand, and a customer's cipher looked up
// once for a run of its rows (the loader seals in customer order), where
// row by row each seal boxed four arguments and its result and took the
// vault's lock. A NULL value gives NULL; a row without its customer or key
// fails, as Seal does.
type sealUDF struct{ v *Vault }

func (u *sealUDF) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{bigint, blob, varchar, varchar}, ResultTypeInfo: blob,
		SpecialNullHandling: true, Volatile: true}
}

func (u *sealUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{ChunkContextExecutor: u.run, ScalarBinder: clean.BindContext}
}

func (u *sealUDF) run(_ context.Context, state *duckdb.ChunkIteratorState) error {
	chunk := state.GetInputChunk()
	views, err := textViews(chunk, 1, 3) // wrapped key, token, value
	if err != nil {
		return err
	}
	n := views[2].Len()
	out := state.GetResultVector()
	var nonces, buf, plain, ad []byte
	lastID, lastKey := int64(0), ""
	var aead cipher.AEAD
	for row := range n {
		value, ok, err := views[2].GetValueBorrowed(row)
		if err != nil {
			return err
		}
		if !ok {
			if err := duckdb.SetVectorValue[any](out, row, nil); err != nil {
				return err
			}
			continue
		}
		id, err := chunk.GetValue(0, row)
		if err != nil {
			return err
		}
		customerID, _ := id.(int64)
		wrapped, okKey, err := views[0].GetValueBorrowed(row)
		if err != nil {
			return err
		}
		token, _, err := views[1].GetValueBorrowed(row)
		if err != nil {
			return err
		}
		if id == nil || !okKey {
			return fmt.Errorf("ckm_seal: a value of customer %v without its customer key", id)
		}
		if aead == nil || customerID != lastID || wrapped != lastKey {
			if aead, err = u.v.customer(customerID, []byte(wrapped)); err != nil {
				return err
			}
			lastID, lastKey = customerID, strings.Clone(wrapped)
		}
		if nonces == nil {
			nonces = make([]byte, n*aead.NonceSize())
			if _, err := rand.Read(nonces); err != nil {
				return fmt.Errorf("ckm_seal: no randomness: %w", err)
			}
		}
		ns := aead.NonceSize()
		nonce := nonces[row*ns : (row+1)*ns]
		plain, ad = append(plain[:0], value...), append(ad[:0], token...)
		buf = append(buf[:0], nonce...)
		buf = aead.Seal(buf, nonce, plain, ad)
		if err := duckdb.SetVectorValue(out, row, buf); err != nil {
			return err
		}
	}
	return nil
}

// tokenUDF is ckm_token(kind, value) over whole vectors, with one HMAC
// state a vector and the result written from a reused buffer: row by row,
// duckdb-go boxed both arguments and the result of every value. A NULL
// kind or value gives NULL.
type tokenUDF struct{ v *Vault }

func (u *tokenUDF) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{varchar, varchar}, ResultTypeInfo: varchar}
}

func (u *tokenUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{ChunkContextExecutor: u.run, ScalarBinder: clean.BindContext}
}

func (u *tokenUDF) run(_ context.Context, state *duckdb.ChunkIteratorState) error {
	views, err := textViews(state.GetInputChunk(), 0, 2) // kind, value
	if err != nil {
		return err
	}
	out := state.GetResultVector()
	m := u.v.tokens.Get().(hash.Hash)
	defer u.v.tokens.Put(m)
	var buf []byte
	lastName, last := "", privacy.None
	for row := range views[1].Len() {
		name, okKind, err := views[0].GetValueBorrowed(row)
		if err != nil {
			return err
		}
		value, okValue, err := views[1].GetValueBorrowed(row)
		if err != nil {
			return err
		}
		if !okKind || !okValue {
			continue // NULL in, NULL out: DuckDB's default NULL handling
		}
		if name != lastName || last == privacy.None {
			if last = privacy.ParseKind(name); last == privacy.None {
				return fmt.Errorf("ckm_token: unknown kind %q", name)
			}
			lastName = strings.Clone(name)
		}
		buf = appendToken(buf[:0], m, last, value)
		if err := duckdb.SetVectorValue(out, row, buf); err != nil {
			return err
		}
	}
	return nil
}

// sealTextUDF is ckm_seal_text over whole vectors: the texts are read in
// place, the nonces of a vector come from one read of crypto/rand, and the
// buffers are reused, where a row-by-row function boxed every text and
// result and read the random source per text. A load warning on every one
// of 2.5 million lines (a marketplace export without a product master)
// seals two texts a line into the reject ledger: the ledger's INSERT took
// 47–50 s row by row, most of it in Go's garbage collector.
type sealTextUDF struct{ v *Vault }

func (u *sealTextUDF) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{varchar}, ResultTypeInfo: varchar, Volatile: true}
}

func (u *sealTextUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{ChunkContextExecutor: u.run, ScalarBinder: clean.BindContext}
}

func (u *sealTextUDF) run(_ context.Context, state *duckdb.ChunkIteratorState) error {
	views, err := textViews(state.GetInputChunk(), 0, 1)
	if err != nil {
		return err
	}
	in, out := views[0], state.GetResultVector()
	ns := u.v.ledger.NonceSize()
	nonces := make([]byte, in.Len()*ns)
	if _, err := rand.Read(nonces); err != nil {
		return fmt.Errorf("ckm_seal_text: no randomness: %w", err)
	}
	var b ledgerBuf
	for row := range in.Len() {
		text, valid, err := in.GetValueBorrowed(row)
		if err != nil {
			return err
		}
		if !valid {
			continue // NULL in, NULL out: DuckDB's default NULL handling
		}
		if err := duckdb.SetVectorValue(out, row, u.v.appendSealedText(&b, nonces[row*ns:(row+1)*ns], text)); err != nil {
			return err
		}
	}
	return nil
}

// udf calls fn per row; fn sees NULLs as nil.
type udf struct {
	in       []duckdb.TypeInfo
	out      duckdb.TypeInfo
	volatile bool
	fn       func([]driver.Value) (any, error)
}

func (u *udf) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: u.in, ResultTypeInfo: u.out, SpecialNullHandling: true, Volatile: u.volatile}
}

func (u *udf) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: u.fn}
}

// textViews reads in place n VARCHAR or BLOB arguments of a chunk
// function, from its argument first on.
func textViews(chunk *duckdb.DataChunk, first, n int) ([]duckdb.VectorView[string], error) {
	views := make([]duckdb.VectorView[string], n)
	for i := range views {
		vec, err := chunk.GetVector(first + i)
		if err != nil {
			return nil, err
		}
		if views[i], err = duckdb.GetVectorView[string](vec); err != nil {
			return nil, err
		}
	}
	return views, nil
}
