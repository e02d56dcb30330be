package serve

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// TestVerifierRFC7677 holds the verifier to the SCRAM-SHA-256 example of
// RFC 7677 §3 (user "user", password "pencil"): the server signature made
// with the verifier's ServerKey, and the client proof checked against its
// StoredKey, are the RFC's.
func TestVerifierRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	v, err := verifier("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := parseVerifier(v)
	if err != nil {
		t.Fatal(err)
	}
	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	if got := base64.StdEncoding.EncodeToString(hmacSum(sec.server, authMessage)); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Errorf("server signature %s, want the RFC's", got)
	}
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	sig := hmacSum(sec.storedKey, authMessage)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	if sum := sha256.Sum256(clientKey); string(sum[:]) != string(sec.storedKey) {
		t.Error("the RFC's client proof does not check against the verifier's StoredKey")
	}
	salted, _ := pbkdf2.Key(sha256.New, "pencil", salt, 4096, 32)
	if string(hmacSum(salted, "Client Key")) != string(clientKey) {
		t.Error("client key differs from the one derived from the password")
	}
}

func TestParseVerifier(t *testing.T) {
	good, err := HashPassword("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckVerifier(good); err != nil {
		t.Fatalf("%s: %v", good, err)
	}
	for _, c := range []struct{ v, want string }{
		{"secret", "not a SCRAM-SHA-256 verifier"},
		{"md5abcdef", "not a SCRAM-SHA-256 verifier"},
		{"SCRAM-SHA-256$4096:c2FsdA==", "no keys"},
		{"SCRAM-SHA-256$x:c2FsdA==$a:b", `iterations "x"`},
		{"SCRAM-SHA-256$4096:c2FsdA==$YQ==:YQ==", "StoredKey"},
	} {
		if err := CheckVerifier(c.v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.v, err, c.want)
		}
	}
}

// TestJobCallParse parses job calls and their string-literal arguments.
func TestJobCallParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		args []string
		err  string
	}{
		{"CALL ckm_load('a', 'it''s')", []string{"a", "it's"}, ""},
		{"call CKM_EXPORT( 'lake' )", []string{"lake"}, ""},
		{"CALL ckm_load(a)", nil, "not a string literal"},
		{"CALL ckm_load('a)", nil, "unterminated"},
		{"CALL ckm_load('a' 'b')", nil, "want a comma"},
		{"CALL ckm_load()", nil, "no arguments"},
		{"CALL ckm_job('a', 'b')", nil, "one scheduled job"},
	} {
		call, ok, err := parseJobCall(c.in)
		if !ok {
			t.Errorf("%q not recognised", c.in)
			continue
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(call.args, "|") != strings.Join(c.args, "|") {
			t.Errorf("%q: %v %v, want %v", c.in, call, err, c.args)
		}
	}
	if _, ok, _ := parseJobCall("CALL other('a')"); ok {
		t.Error("CALL other(...) taken for a job")
	}
}
