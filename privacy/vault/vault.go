// Package vault keeps a warehouse's personal data encrypted at rest.
//
// A warehouse is protected once it holds a data key (ckm key init): 32
// random bytes, stored only wrapped (AES-256-GCM) by a key-encryption key
// (KEK) that lives outside the warehouse, in a key file or CKM_KEY. From the
// data key come, by HKDF-SHA-256, the token key (HMAC-SHA-256 tokens that
// stand for ID numbers, mobiles and e-mails in analytical tables, so joins,
// identity resolution and distinct counts work without the raw value) and
// the ledger key (raw records of rejected rows). Each customer has a key of
// their own, wrapped by the data key, that seals their raw values in
// vault_value: destroying it (ckm forget) makes those values unrecoverable
// even where DuckDB keeps old blocks. Rotating the KEK re-wraps the data key
// only, so tokens and sealed values stay as they are.
//
// Losing the KEK loses the raw values (they cannot be decrypted), never the
// warehouse: tokens, masks, facts and the knowledge base stay readable.
package vault

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ckm-dev/ckm/privacy"
)

// KeySize is the size of every key: AES-256.
const KeySize = 32

// Errors a caller can test for.
var (
	// ErrNoKey: the warehouse is protected and no key was given.
	ErrNoKey = errors.New("this warehouse's personal data is encrypted: give its key with --key-file (or key_file: in ckm.yaml, or CKM_KEY)")
	// ErrWrongKey: the key given does not open the warehouse's data key.
	ErrWrongKey = errors.New("the key given does not open this warehouse's data key (a different key file or CKM_KEY?)")
	// ErrNotProtected: the warehouse holds no data key yet.
	ErrNotProtected = errors.New("this warehouse is not protected yet: run ckm key init")
	// ErrForgotten: the customer's key was destroyed (ckm forget).
	ErrForgotten = errors.New("the customer's key was destroyed (ckm forget): the value cannot be decrypted")
)

// Querier runs statements; *sql.DB, *sql.Conn and *sql.Tx are Queriers.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Vault is an opened data key and what derives from it. It is safe for
// concurrent use (DuckDB calls its SQL functions from several threads).
type Vault struct {
	data   cipher.AEAD // wraps customer keys
	token  []byte      // HMAC key of tokens
	ledger cipher.AEAD // seals raw records of rejected rows

	tokens sync.Pool // of HMAC states keyed with token, reset before use

	mu    sync.Mutex
	keys  map[int64]customerKey // unwrapped customer keys by customer
	aeads map[int64]cipher.AEAD // ciphers of recently used customer keys (at most aeadCacheSize)
}

// customerKey is an unwrapped customer key and the wrapped bytes it came
// from (a customer whose stored key changed is unwrapped again).
type customerKey struct {
	wrapped string
	key     [KeySize]byte
}

// aeadCacheSize bounds the ciphers kept: one holds ~1.3 KB (AES-GCM's
// tables), so a cipher per customer held 179 MB of Go heap in a load of
// 220,000 customers (a heap profile), twice that in RSS with the
// collector's headroom. Keys are kept for every customer (~0.15 KB each).
// A load seals in hash order, so with many customers most seals miss and
// make a cipher (BenchmarkSeal: ~3.5 µs a seal shuffled over 50,000
// customers against ~0.85 µs over 3,000 in turn, two threads, load 6).
const aeadCacheSize = 4096

// ParseKEK reads a key-encryption key: 64 hexadecimal digits (32 bytes),
// surrounding white space ignored (a key file's trailing newline).
func ParseKEK(text []byte) ([]byte, error) {
	s := strings.TrimSpace(string(text))
	k, err := hex.DecodeString(s)
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("a key is %d hexadecimal digits (%d random bytes; ckm key init --key-file writes one), got %d characters", 2*KeySize, KeySize, len(s))
	}
	return k, nil
}

// NewKEK returns a fresh key-encryption key in the text form ParseKEK reads.
func NewKEK() []byte {
	return []byte(hex.EncodeToString(randomKey()) + "\n")
}

func randomKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(fmt.Sprintf("vault: no randomness: %v", err)) // crypto/rand never fails on supported systems
	}
	return k
}

func newAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(fmt.Sprintf("vault: %v", err)) // keys are always KeySize here
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(fmt.Sprintf("vault: %v", err))
	}
	return aead
}

// seal encrypts plain with a fresh random nonce; the nonce leads the
// result. ad binds the ciphertext to its place (a customer, a purpose).
func seal(aead cipher.AEAD, plain, ad []byte) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("vault: no randomness: %v", err))
	}
	return aead.Seal(nonce, nonce, plain, ad)
}

func open(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("sealed value too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], ad)
}

// Purposes bound into ciphertexts and derivations, so a value sealed for
// one cannot be opened as another.
var (
	adDataKey     = []byte("ckm data key v1")
	adCustomerKey = []byte("ckm customer key v1")
	adLedger      = []byte("ckm ledger v1")
)

func derive(dataKey []byte, info string) []byte {
	k, err := hkdf.Key(sha256.New, dataKey, nil, info, KeySize)
	if err != nil {
		panic(fmt.Sprintf("vault: hkdf: %v", err))
	}
	return k
}

func fromDataKey(dataKey []byte) *Vault {
	v := &Vault{
		data:   newAEAD(derive(dataKey, "ckm customer keys v1")),
		token:  derive(dataKey, "ckm tokens v1"),
		ledger: newAEAD(derive(dataKey, "ckm ledger v1")),
		keys:   map[int64]customerKey{},
		aeads:  map[int64]cipher.AEAD{},
	}
	v.tokens.New = func() any { return hmac.New(sha256.New, v.token) }
	return v
}

// Protected reports whether the warehouse holds a data key.
func Protected(ctx context.Context, db Querier) (bool, error) {
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM vault_key`).Scan(&n); err != nil {
		return false, fmt.Errorf("vault: %w", err)
	}
	return n > 0, nil
}

// Init gives the warehouse a fresh data key wrapped by kek and returns the
// opened vault. A warehouse that has one already is an error (rotate the
// KEK with Rotate; a second data key would orphan every token).
func Init(ctx context.Context, db Querier, kek []byte) (*Vault, error) {
	v, k, err := NewDataKey(kek)
	if err != nil {
		return nil, err
	}
	if err := k.Store(ctx, db); err != nil {
		return nil, err
	}
	return v, nil
}

// WrappedKey is a fresh data key wrapped by its KEK, not yet stored.
type WrappedKey struct {
	wrapped []byte
	kekID   string
}

// NewDataKey draws a data key and wraps it with kek: Init in two steps,
// for a caller that needs the vault (its SQL functions) before the
// transaction that stores the key begins.
func NewDataKey(kek []byte) (*Vault, *WrappedKey, error) {
	if len(kek) != KeySize {
		return nil, nil, fmt.Errorf("vault: a key-encryption key is %d bytes", KeySize)
	}
	dataKey := randomKey()
	return fromDataKey(dataKey), &WrappedKey{wrapped: seal(newAEAD(kek), dataKey, adDataKey), kekID: kekID(kek)}, nil
}

// Store makes k the warehouse's data key; a warehouse that has one already
// is an error (rotate the KEK with Rotate; a second data key would orphan
// every token).
func (k *WrappedKey) Store(ctx context.Context, db Querier) error {
	if p, err := Protected(ctx, db); err != nil {
		return err
	} else if p {
		return errors.New("vault: this warehouse has a data key already (ckm key rotate changes the key that wraps it)")
	}
	now := time.Now().UTC()
	if _, err := db.ExecContext(ctx, `INSERT INTO vault_key (key_id, wrapped_data_key, kek_id, created_at, rotated_at) VALUES (1, ?, ?, ?, ?)`,
		k.wrapped, k.kekID, now, now); err != nil {
		return fmt.Errorf("vault: store data key: %w", err)
	}
	return nil
}

// KEKID names a key-encryption key without revealing it (the first 8
// bytes of an HMAC under the key, in hexadecimal): the name of its default
// key file, and what vault_key records of the key that wraps the data key.
func KEKID(kek []byte) string { return kekID(kek) }

// StoredKEKID is the name (KEKID) of the key that wraps the warehouse's
// data key; ErrNotProtected when it has none.
func StoredKEKID(ctx context.Context, db Querier) (string, error) {
	var id string
	err := db.QueryRowContext(ctx, `SELECT kek_id FROM vault_key WHERE key_id = 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotProtected
	}
	if err != nil {
		return "", fmt.Errorf("vault: read data key: %w", err)
	}
	return id, nil
}

// kekID names a KEK without revealing it, for messages and rotation checks.
func kekID(kek []byte) string {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte("ckm kek id v1"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// Open unwraps the warehouse's data key with kek. A nil kek on a protected
// warehouse is ErrNoKey; a wrong one ErrWrongKey; an unprotected warehouse
// ErrNotProtected.
func Open(ctx context.Context, db Querier, kek []byte) (*Vault, error) {
	dataKey, err := unwrapDataKey(ctx, db, kek)
	if err != nil {
		return nil, err
	}
	return fromDataKey(dataKey), nil
}

func unwrapDataKey(ctx context.Context, db Querier, kek []byte) ([]byte, error) {
	var wrapped []byte
	err := db.QueryRowContext(ctx, `SELECT wrapped_data_key FROM vault_key WHERE key_id = 1`).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotProtected
	}
	if err != nil {
		return nil, fmt.Errorf("vault: read data key: %w", err)
	}
	if kek == nil {
		return nil, ErrNoKey
	}
	if len(kek) != KeySize {
		return nil, fmt.Errorf("vault: a key-encryption key is %d bytes", KeySize)
	}
	dataKey, err := open(newAEAD(kek), wrapped, adDataKey)
	if err != nil {
		return nil, ErrWrongKey
	}
	return dataKey, nil
}

// Rotate re-wraps the data key with newKEK after opening it with oldKEK.
// Nothing else changes: tokens and sealed values stay valid.
func Rotate(ctx context.Context, db Querier, oldKEK, newKEK []byte) error {
	if len(newKEK) != KeySize {
		return fmt.Errorf("vault: a key-encryption key is %d bytes", KeySize)
	}
	if bytes.Equal(oldKEK, newKEK) {
		return errors.New("vault: the new key is the old one")
	}
	dataKey, err := unwrapDataKey(ctx, db, oldKEK)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `UPDATE vault_key SET wrapped_data_key = ?, kek_id = ?, rotated_at = ? WHERE key_id = 1`,
		seal(newAEAD(newKEK), dataKey, adDataKey), kekID(newKEK), time.Now().UTC()); err != nil {
		return fmt.Errorf("vault: store re-wrapped data key: %w", err)
	}
	return nil
}

// Token is the keyed token (HMAC-SHA-256 under the token key) that stands
// for a raw value of kind in analytical tables: the same value and kind
// always give the same token in one warehouse, and without the key nothing
// leads back from it. Its prefix names the kind (tid_, tmo_, tem_).
func (v *Vault) Token(kind privacy.Kind, value string) string {
	// An HMAC state keyed once, reset per token: keying it anew for every
	// value was most of a token's cost.
	m := v.tokens.Get().(hash.Hash)
	out := appendToken(nil, m, kind, value)
	v.tokens.Put(m)
	return string(out)
}

// appendToken appends the token of value to dst, with m an HMAC state of
// the token key (reset here).
func appendToken(dst []byte, m hash.Hash, kind privacy.Kind, value string) []byte {
	m.Reset()
	var buf [sha256.Size]byte
	io.WriteString(m, kind.String())
	m.Write([]byte{0})
	io.WriteString(m, value)
	sum := m.Sum(buf[:0])
	dst = append(dst, tokenPrefix(kind)...)
	return base64.RawURLEncoding.AppendEncode(dst, sum[:18])
}

// TokenPrefixes are the prefixes of tokens, by kind.
func tokenPrefix(k privacy.Kind) string {
	switch k {
	case privacy.IDNumber:
		return "tid_"
	case privacy.Mobile:
		return "tmo_"
	case privacy.Email:
		return "tem_"
	}
	return "t" + k.String()[:2] + "_"
}

// IsToken reports whether s has the form of a token.
func IsToken(s string) bool {
	return len(s) == 28 && s[0] == 't' && s[3] == '_'
}

// NewCustomerKey returns a fresh customer key wrapped by the data key, for
// vault_customer_key.
func (v *Vault) NewCustomerKey(customerID int64) []byte {
	k := randomKey()
	wrapped := seal(v.data, k, customerAD(customerID))
	// The load seals the customer's values next: the key kept unwrapped
	// already (its cipher is made when first used).
	ck := customerKey{wrapped: string(wrapped)}
	copy(ck.key[:], k)
	v.mu.Lock()
	v.keys[customerID] = ck
	delete(v.aeads, customerID)
	v.mu.Unlock()
	return wrapped
}

func customerAD(customerID int64) []byte {
	return fmt.Appendf(append([]byte(nil), adCustomerKey...), ":%d", customerID)
}

// customer unwraps a customer key (cached) and returns its cipher.
func (v *Vault) customer(customerID int64, wrapped []byte) (cipher.AEAD, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	k, ok := v.keys[customerID]
	if ok && k.wrapped == string(wrapped) {
		if a, ok := v.aeads[customerID]; ok {
			return a, nil
		}
	} else {
		plain, err := open(v.data, wrapped, customerAD(customerID))
		if err != nil {
			return nil, fmt.Errorf("vault: customer %d's key does not open with this data key", customerID)
		}
		k = customerKey{wrapped: string(wrapped)}
		copy(k.key[:], plain)
		v.keys[customerID] = k
	}
	a := newAEAD(k.key[:])
	if len(v.aeads) >= aeadCacheSize {
		clear(v.aeads)
	}
	v.aeads[customerID] = a
	return a, nil
}

// Seal encrypts a raw value with the customer's key (wrapped as stored in
// vault_customer_key); token binds the ciphertext to its row.
func (v *Vault) Seal(customerID int64, wrappedKey []byte, token, value string) ([]byte, error) {
	a, err := v.customer(customerID, wrappedKey)
	if err != nil {
		return nil, err
	}
	return seal(a, []byte(value), []byte(token)), nil
}

// Unseal decrypts what Seal encrypted. A nil wrapped key (the customer was
// forgotten) is ErrForgotten.
func (v *Vault) Unseal(customerID int64, wrappedKey []byte, token string, sealed []byte) (string, error) {
	if wrappedKey == nil {
		return "", ErrForgotten
	}
	a, err := v.customer(customerID, wrappedKey)
	if err != nil {
		return "", err
	}
	p, err := open(a, sealed, []byte(token))
	if err != nil {
		return "", fmt.Errorf("vault: the sealed value of %s does not open with customer %d's key", token, customerID)
	}
	return string(p), nil
}

// ledgerPrefix marks a sealed ledger text.
const ledgerPrefix = "ckmv1:"

// SealText encrypts a raw ledger text (a rejected row's value or record)
// with the ledger key, as text for a VARCHAR column.
func (v *Vault) SealText(plain string) string {
	nonce := make([]byte, v.ledger.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("vault: no randomness: %v", err))
	}
	var b ledgerBuf
	return string(v.appendSealedText(&b, nonce, plain))
}

// ledgerBuf holds appendSealedText's buffers, reused from text to text.
type ledgerBuf struct{ plain, sealed, text []byte }

// appendSealedText is SealText with the nonce given (fresh random bytes,
// never used before) and its buffers reused: the result is valid until the
// next call with b.
func (v *Vault) appendSealedText(b *ledgerBuf, nonce []byte, plain string) []byte {
	b.plain = append(b.plain[:0], plain...)
	b.sealed = append(b.sealed[:0], nonce...)
	b.sealed = v.ledger.Seal(b.sealed, nonce, b.plain, adLedger)
	b.text = append(b.text[:0], ledgerPrefix...)
	b.text = base64.RawStdEncoding.AppendEncode(b.text, b.sealed)
	return b.text
}

// OpenText decrypts what SealText encrypted; text that is not sealed
// (written before the warehouse was protected) comes back as it is.
func (v *Vault) OpenText(text string) (string, error) {
	if !IsSealedText(text) {
		return text, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(text[len(ledgerPrefix):])
	if err != nil {
		return "", errors.New("vault: a sealed ledger text is damaged")
	}
	p, err := open(v.ledger, b, adLedger)
	if err != nil {
		return "", errors.New("vault: a sealed ledger text does not open with this data key")
	}
	return string(p), nil
}

// IsSealedText reports whether a ledger text is sealed.
func IsSealedText(text string) bool { return strings.HasPrefix(text, ledgerPrefix) }
