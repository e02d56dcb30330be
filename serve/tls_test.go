package serve

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// selfSigned returns a certificate for 127.0.0.1 and its pool.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ckm test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestTLS: with a certificate the server accepts sslmode=verify-full
// clients and the session is encrypted; without one, sslmode=require is
// refused and sslmode=prefer goes on in plain text.
func TestTLS(t *testing.T) {
	w := sharedWarehouse(t)
	cert, pool := selfSigned(t)
	srv := startServer(t, w, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://root:root-pw@%s/ckm?sslmode=verify-full", srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig.RootCAs = pool
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("TLS connect: %v", err)
	}
	defer c.Close(ctx)
	if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
		t.Errorf("connection is %T, want *tls.Conn", c.PgConn().Conn())
	}
	var n, want int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM fact_sales WHERE quantity > $1", 1).Scan(&n); err != nil {
		t.Fatal(err)
	}
	w.DB.QueryRowContext(ctx, "SELECT count(*) FROM fact_sales WHERE quantity > 1").Scan(&want)
	if n != want {
		t.Errorf("over TLS %d, want %d", n, want)
	}

	plain := startServer(t, w, Config{})
	if c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://root:root-pw@%s/ckm?sslmode=require", plain.Addr())); err == nil {
		c.Close(ctx)
		t.Error("sslmode=require connected to a server without TLS")
	}
	c2, err := pgx.Connect(ctx, fmt.Sprintf("postgres://root:root-pw@%s/ckm?sslmode=prefer", plain.Addr()))
	if err != nil {
		t.Fatalf("sslmode=prefer without TLS: %v", err)
	}
	c2.Close(ctx)
}
