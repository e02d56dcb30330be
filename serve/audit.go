package serve

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/privacy"
)

// auditEntry is one row of serve_audit.
type auditEntry struct {
	at        time.Time
	event     string
	pid       uint32
	user      string
	role      string
	remote    string
	statement string
	rows      int64
	ms        float64
	sqlstate  string
}

// auditor writes serve_audit from one goroutine, in batches, so a
// statement costs its session a channel send, not a write. Entries are
// never dropped: a full queue makes sessions wait.
type auditor struct {
	w       *engine.Warehouse
	log     *slog.Logger
	entries chan auditEntry
	done    chan struct{}
}

func newAuditor(w *engine.Warehouse, log *slog.Logger) *auditor {
	a := &auditor{w: w, log: log, entries: make(chan auditEntry, 4096), done: make(chan struct{})}
	go a.run()
	return a
}

// add queues an entry; the statement is masked here. A nil auditor
// (a server not yet serving) records nothing.
func (a *auditor) add(e auditEntry) {
	if a == nil {
		return
	}
	e.at = time.Now().UTC()
	switch e.event {
	case "session", "session_end", "auth_failed":
		e.rows = -1
	}
	if e.statement != "" {
		e.statement = privacy.MaskText(e.statement)
	}
	a.entries <- e
}

// close writes what is queued and stops.
func (a *auditor) close() {
	close(a.entries)
	<-a.done
}

func (a *auditor) run() {
	defer close(a.done)
	var batch []auditEntry
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-a.entries:
			if !ok {
				a.write(batch)
				return
			}
			batch = append(batch, e)
			if len(batch) >= 512 {
				a.write(batch)
				batch = nil
			}
		case <-tick.C:
			if len(batch) > 0 {
				a.write(batch)
				batch = nil
			}
		}
	}
}

// write appends a batch in one transaction.
func (a *auditor) write(batch []auditEntry) {
	if len(batch) == 0 {
		return
	}
	ctx := context.Background()
	err := func() error {
		conn, err := a.w.DB.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		app, err := engine.Appender(conn, "serve_audit")
		if err != nil {
			return err
		}
		for _, e := range batch {
			var pid any
			if e.pid != 0 {
				pid = int32(e.pid)
			}
			if err := app.AppendRow(e.at, e.event, pid, nullStr(e.user), nullStr(e.role), nullStr(e.remote),
				nullStr(e.statement), nullInt(e.rows), e.ms, nullStr(e.sqlstate)); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	}()
	if err != nil {
		a.log.Error("audit", "entries", len(batch), "err", fmt.Sprint(err))
	}
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n < 0 {
		return nil
	}
	return n
}
