package serve

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/ckm-dev/ckm/privacy"
)

// User is one account of the server: a name, the role a session of it
// takes, and its password as a SCRAM-SHA-256 verifier (PostgreSQL's
// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" form), so the
// configuration never holds a password.
type User struct {
	Name     string
	Role     privacy.Role
	Verifier string
}

// Auth says how the server authenticates clients.
type Auth struct {
	// Users are the accounts; a client names one in its startup message.
	Users map[string]User
	// TrustLoopback lets a client from a loopback address in without a
	// password, as the user it names (which must exist). Off by default.
	TrustLoopback bool
}

// scramIterations is the PBKDF2 work factor of new verifiers
// (PostgreSQL's default).
const scramIterations = 4096

// HashPassword returns the SCRAM-SHA-256 verifier of password, with a
// random salt, in PostgreSQL's form: what ckm.yaml stores for a user.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return verifier(password, salt, scramIterations)
}

func verifier(password string, salt []byte, iter int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return "", err
	}
	clientKey := hmacSum(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	serverKey := hmacSum(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, b64(salt), b64(stored[:]), b64(serverKey)), nil
}

func hmacSum(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// scramSecret is a parsed verifier.
type scramSecret struct {
	iter              int
	salt              []byte
	storedKey, server []byte
}

// ParseVerifier checks a SCRAM-SHA-256 verifier.
func parseVerifier(v string) (scramSecret, error) {
	bad := func(what string) (scramSecret, error) {
		return scramSecret{}, fmt.Errorf("password verifier: %s: want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (ckm serve hash-password makes one)", what)
	}
	rest, ok := strings.CutPrefix(v, "SCRAM-SHA-256$")
	if !ok {
		return bad("not a SCRAM-SHA-256 verifier")
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return bad("no keys")
	}
	it, saltB64, ok1 := strings.Cut(params, ":")
	stored, server, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return bad("malformed")
	}
	var s scramSecret
	var err error
	if s.iter, err = strconv.Atoi(it); err != nil || s.iter < 1 {
		return bad("iterations " + strconv.Quote(it))
	}
	dec := base64.StdEncoding.DecodeString
	if s.salt, err = dec(saltB64); err != nil {
		return bad("salt")
	}
	if s.storedKey, err = dec(stored); err != nil || len(s.storedKey) != 32 {
		return bad("StoredKey")
	}
	if s.server, err = dec(server); err != nil || len(s.server) != 32 {
		return bad("ServerKey")
	}
	return s, nil
}

// errAuthFailed is the one answer to a wrong password and an unknown user
// alike, as PostgreSQL gives it (no hint which it was).
var errAuthFailed = errors.New("password authentication failed")

// scram runs the server side of a SCRAM-SHA-256 exchange (RFC 5802/7677,
// no channel binding) on be. secret is nil for an unknown user: the
// exchange then runs against a random secret and fails like a wrong
// password.
func scram(be *pgproto3.Backend, secret *scramSecret) error {
	if secret == nil {
		v, err := HashPassword(base64.StdEncoding.EncodeToString(randomBytes(18)))
		if err != nil {
			return err
		}
		s, _ := parseVerifier(v)
		secret = &s
	}
	be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
	if err := be.Flush(); err != nil {
		return err
	}
	if err := be.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return err
	}
	msg, err := be.Receive()
	if err != nil {
		return err
	}
	first, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok || first.AuthMechanism != "SCRAM-SHA-256" {
		return fmt.Errorf("%w: expected a SCRAM-SHA-256 initial response", errAuthFailed)
	}
	// client-first-message: gs2-header "n,," then "n=user,r=nonce".
	// "n,,": no channel binding; "y,,": the client could bind but the
	// server offered none (over TLS).
	cf := string(first.Data)
	if !strings.HasPrefix(cf, "n,,") && !strings.HasPrefix(cf, "y,,") {
		return fmt.Errorf("%w: channel binding is not supported", errAuthFailed)
	}
	gs2, clientFirstBare := cf[:3], cf[3:]
	clientNonce := scramAttr(clientFirstBare, 'r')
	if clientNonce == "" {
		return fmt.Errorf("%w: no client nonce", errAuthFailed)
	}
	nonce := clientNonce + base64.RawStdEncoding.EncodeToString(randomBytes(18))
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(secret.salt), secret.iter)
	be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	if err := be.Flush(); err != nil {
		return err
	}
	if err := be.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
		return err
	}
	if msg, err = be.Receive(); err != nil {
		return err
	}
	final, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return fmt.Errorf("%w: expected a SCRAM final message", errAuthFailed)
	}
	cfin := string(final.Data)
	i := strings.LastIndex(cfin, ",p=")
	if i < 0 || scramAttr(cfin, 'r') != nonce || scramAttr(cfin, 'c') != base64.StdEncoding.EncodeToString([]byte(gs2)) {
		return errAuthFailed
	}
	proof, err := base64.StdEncoding.DecodeString(cfin[i+3:])
	if err != nil || len(proof) != sha256.Size {
		return errAuthFailed
	}
	authMessage := clientFirstBare + "," + serverFirst + "," + cfin[:i]
	clientSig := hmacSum(secret.storedKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	for k := range clientKey {
		clientKey[k] = proof[k] ^ clientSig[k]
	}
	sum := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(sum[:], secret.storedKey) != 1 {
		return errAuthFailed
	}
	serverSig := hmacSum(secret.server, authMessage)
	be.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSig))})
	return nil
}

// scramAttr returns the value of attribute key in a SCRAM message.
func scramAttr(msg string, key byte) string {
	for _, part := range strings.Split(msg, ",") {
		if len(part) >= 2 && part[0] == key && part[1] == '=' {
			return part[2:]
		}
	}
	return ""
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// CheckVerifier checks that v is a SCRAM-SHA-256 verifier.
func CheckVerifier(v string) error {
	_, err := parseVerifier(v)
	return err
}
