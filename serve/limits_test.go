package serve

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// TestConnectionLimit: past MaxConnections a client is refused with 53300;
// when a session ends, a new one is let in.
func TestConnectionLimit(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{MaxConnections: 2})
	ctx := context.Background()
	a := connect(t, srv, "root", false)
	connect(t, srv, "ana", false)
	_, err := pgx.Connect(ctx, connString(srv, "stew"))
	if pgCode(err) != "53300" {
		t.Fatalf("third client: %v, want 53300", err)
	}
	a.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := pgx.Connect(ctx, connString(srv, "stew"))
		if err == nil {
			c.Close(ctx)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a session ended, a client is still refused: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStartupTimeout: a client that connects and says nothing is
// disconnected after StartupTimeout.
func TestStartupTimeout(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{StartupTimeout: 300 * time.Millisecond})
	nc, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("read: %v (want the server to close the connection)", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("silent client disconnected after %s, want about 300ms", d)
	}
}

// TestMessageLimit: a session that announces a 100 MB message is cut off
// at once instead of the server waiting to read it.
func TestMessageLimit(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{Auth: Auth{Users: testUsers(t), TrustLoopback: true}})
	nc, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "ana"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	readUntilReady(t, fe)
	nc.Write([]byte{'Q', 0x06, 0x00, 0x00, 0x00, 'S', 'E', 'L'})
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("oversized query: %v (want the connection closed at once)", err)
	}
}
