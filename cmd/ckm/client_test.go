package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// servedWarehouse is a ckm serve started as its own process on a
// warehouse, with the admin password root-pw.
type servedWarehouse struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	info   serveInfo
	done   chan error
}

// startServe runs the ckm binary's serve on cfg's warehouse on a free
// loopback port and waits for its discovery file.
func startServe(t *testing.T, cfg, warehouse string, extra ...string) *servedWarehouse {
	t.Helper()
	s := &servedWarehouse{stderr: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(ckmBinary(t), append([]string{"--config", cfg, "serve", "--listen", "127.0.0.1:0"}, extra...)...)
	s.cmd.Env = append(os.Environ(), "CKM_ADMIN_PASSWORD=root-pw", "CKM_USER=", "CKM_PASSWORD=")
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	for i := 0; ; i++ {
		data, err := os.ReadFile(discoveryPath(warehouse))
		if err == nil && json.Unmarshal(data, &s.info) == nil && s.info.PID == s.cmd.Process.Pid {
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("ckm serve exited: %v\n%s", err, s.stderr)
		default:
		}
		if i > 600 {
			t.Fatalf("no discovery file after 60s\n%s", s.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// syncBuffer is a buffer one goroutine writes while another reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// stop sends SIGTERM and waits for the exit.
func (s *servedWarehouse) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("ckm serve after SIGTERM: %v\n%s", err, s.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("ckm serve did not stop within 60s of SIGTERM\n%s", s.stderr)
	}
}

// TestClientMode: while ckm serve holds the warehouse, ckm sql -c, cube
// query, runs and load (a job) run as another process talk to it and
// print what the embedded commands print on the same data; with the
// server gone, the embedded mode answers again, and a stale discovery
// file is reported and passed over.
func TestClientMode(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	if _, _, code := runCkm(t, "", "fixtures", "generate", "--out", first, "--customers", "60", "--days", "8", "--quiet"); code != 0 {
		t.Fatal("fixtures generate failed")
	}
	if _, _, code := runCkm(t, "", "fixtures", "generate", "--out", second, "--customers", "60", "--days", "4", "--start", "2024-01-09", "--quiet"); code != 0 {
		t.Fatal("fixtures generate failed")
	}
	wh := filepath.Join(dir, "w.duckdb")
	cfg := filepath.Join(dir, "ckm.yaml")
	if err := os.WriteFile(cfg, []byte("warehouse: "+wh+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "load", first); code != 0 && code != 3 {
		t.Fatalf("embedded load: exit %d\n%s", code, errOut)
	}
	commands := [][]string{
		{"--format", "csv", "sql", "-c", "SELECT count(*) AS lines, sum(amount) AS revenue, count(DISTINCT customer_key) AS buyers FROM fact_sales"},
		{"--format", "json", "sql", "-c", "SELECT customer_id, name, mobile, id_number FROM dim_customer WHERE is_current ORDER BY customer_id LIMIT 8"},
		{"--format", "csv", "sql", "-c", "SELECT rule, severity, count(*) AS n FROM etl_reject GROUP BY ALL ORDER BY ALL"},
		{"--format", "csv", "cube", "query", "sales", "--measures", "revenue,orders,customers", "--rows", "region.province", "--totals"},
		{"cube", "query", "sales", "--measures", "revenue", "--rows", "product.category", "--cols", "date.month", "--totals"},
		{"--format", "json", "cube", "query", "sales", "--measures", "revenue,order_lines", "--rows", "date.year"},
		{"--format", "csv", "runs"},
	}
	run := func(what string, env ...string) []string {
		t.Helper()
		for i := 0; i < len(env); i += 2 {
			t.Setenv(env[i], env[i+1])
		}
		var outs []string
		for _, c := range commands {
			out, errOut, code := runCkm(t, "", append([]string{"--config", cfg}, c...)...)
			if code != 0 {
				t.Fatalf("%s: ckm %s: exit %d\n%s", what, strings.Join(c, " "), code, errOut)
			}
			if strings.TrimSpace(out) == "" {
				t.Fatalf("%s: ckm %s printed nothing", what, strings.Join(c, " "))
			}
			outs = append(outs, out)
		}
		return outs
	}
	same := func(what string, want, got []string) {
		t.Helper()
		for i := range want {
			if want[i] != got[i] {
				t.Errorf("%s: ckm %s:\nembedded:\n%s\nthrough the server:\n%s", what, strings.Join(commands[i], " "), want[i], got[i])
			}
		}
	}
	embedded := run("embedded, before")
	if !strings.Contains(embedded[1], "*") {
		t.Errorf("the analyst's dim_customer is not masked:\n%s", embedded[1])
	}

	srv := startServe(t, cfg, wh)
	if _, errOut, code := runCkm(t, "", "--config", cfg, "serve", "--check"); code != 0 || !strings.Contains(errOut, srv.info.Addr) {
		t.Errorf("serve --check: exit %d, %s", code, errOut)
	}
	st, err := os.Stat(discoveryPath(wh))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("discovery file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	// Without credentials the CLI says what to set instead of failing on
	// the lock.
	t.Setenv("CKM_USER", "")
	t.Setenv("CKM_PASSWORD", "")
	if _, errOut, code := runCkm(t, "", "--config", cfg, "runs"); code != exitUsage || !strings.Contains(errOut, "CKM_PASSWORD") || !strings.Contains(errOut, srv.info.Addr) {
		t.Errorf("runs without credentials: exit %d, %s", code, errOut)
	}
	served := run("through the server", "CKM_USER", "admin", "CKM_PASSWORD", "root-pw")
	same("before the load", embedded, served)
	// A wrong password is the server's refusal, not a lock error.
	t.Setenv("CKM_PASSWORD", "nope")
	if _, errOut, code := runCkm(t, "", "--config", cfg, "runs"); code != exitFailure || !strings.Contains(errOut, "28P01") {
		t.Errorf("runs with a wrong password: exit %d, %s", code, errOut)
	}
	t.Setenv("CKM_PASSWORD", "root-pw")
	// The analyst role the CLI asks for by default is kept: no raw data.
	if strings.Contains(served[1], "\"mobile\": \"1") {
		t.Errorf("dim_customer through the server shows raw mobiles:\n%s", served[1])
	}

	// ckm load as a job of the server.
	out, errOut, code := runCkm(t, "", "--config", cfg, "--format", "json", "load", second)
	if code != 0 && code != 3 {
		t.Fatalf("load through the server: exit %d\n%s\n%s", code, out, errOut)
	}
	var job []map[string]any
	if err := json.Unmarshal([]byte(out), &job); err != nil || len(job) != 1 || job[0]["status"] != "ok" || job[0]["etl_run"] != float64(2) {
		t.Errorf("load through the server printed %s (%v)", out, err)
	}
	afterServed := run("through the server, after the load")
	if afterServed[0] == served[0] {
		t.Errorf("the load as a job changed nothing clients read:\n%s", afterServed[0])
	}
	srv.stop(t)
	if _, err := os.Stat(discoveryPath(wh)); !os.IsNotExist(err) {
		t.Errorf("discovery file left after the stop: %v", err)
	}
	afterEmbedded := run("embedded, after")
	same("after the load", afterEmbedded, afterServed)

	// A stale discovery file (its process is gone) is reported and the
	// warehouse opened directly.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale, _ := json.Marshal(serveInfo{Addr: "127.0.0.1:1", PID: dead.Process.Pid})
	if err := os.WriteFile(discoveryPath(wh), stale, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCkm(t, "", "--config", cfg, "serve", "--check"); code != exitFailure || !strings.Contains(errOut, "stale discovery file") {
		t.Errorf("serve --check with a stale discovery file: exit %d, %s", code, errOut)
	}
	out, errOut, code = runCkm(t, "", "--config", cfg, "--format", "csv", "runs")
	if code != 0 || out != afterEmbedded[len(afterEmbedded)-1] || !strings.Contains(errOut, "stale discovery file") || !strings.Contains(errOut, "is not running") {
		t.Errorf("runs with a stale discovery file: exit %d\n%s\n%s", code, out, errOut)
	}
}
