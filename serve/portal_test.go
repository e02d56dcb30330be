package serve

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// TestPortalSuspended drives the extended protocol by hand, as JDBC does
// with a fetch size: Execute with a row limit suspends the portal, the
// next Execute goes on where it stopped.
func TestPortalSuspended(t *testing.T) {
	w := sharedWarehouse(t)
	srv := startServer(t, w, Config{Auth: Auth{Users: testUsers(t), TrustLoopback: true}})
	nc, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "ana"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	readUntilReady(t, fe)
	fe.Send(&pgproto3.Parse{Query: "SELECT range AS n FROM range(5) ORDER BY n"})
	fe.Send(&pgproto3.Bind{})
	fe.Send(&pgproto3.Execute{MaxRows: 2})
	fe.Send(&pgproto3.Execute{MaxRows: 2})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	// (The final tag's count is not asserted: ckm reports the portal's
	// rows.)
	got := strings.Join(readUntilReady(t, fe), " ")
	want := "ParseComplete BindComplete 0 1 Suspended 2 3 Suspended 4 Complete(SELECT"
	if !strings.HasPrefix(got, want) {
		t.Errorf("messages %q\nwant     %q", got, want)
	}
}

// readUntilReady reads messages up to ReadyForQuery, naming each briefly.
func readUntilReady(t *testing.T, fe *pgproto3.Frontend) []string {
	t.Helper()
	var out []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.ReadyForQuery:
			return out
		case *pgproto3.ParseComplete:
			out = append(out, "ParseComplete")
		case *pgproto3.BindComplete:
			out = append(out, "BindComplete")
		case *pgproto3.DataRow:
			out = append(out, string(m.Values[0]))
		case *pgproto3.PortalSuspended:
			out = append(out, "Suspended")
		case *pgproto3.CommandComplete:
			out = append(out, fmt.Sprintf("Complete(%s)", m.CommandTag))
		case *pgproto3.ErrorResponse:
			t.Fatalf("error: %s %s", m.Code, m.Message)
		}
	}
}
