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

// write appends a batch in one transaction. If the table refuses it (an
// entry breaking a constraint), the entries are written one by one, so an
// entry that cannot be written is logged and lost alone.
func (a *auditor) write(batch []auditEntry) {
	if len(batch) == 0 {
		return
	}
	err := a.append(batch)
	if err == nil {
		return
	}
	if len(batch) == 1 {
		a.lost(batch[0], err)
		return
	}
	for _, e := range batch {
		if err := a.append([]auditEntry{e}); err != nil {
			a.lost(e, err)
		}
	}
}

func (a *auditor) lost(e auditEntry, err error) {
	a.log.Error("audit entry not written", "event", e.event, "user", e.user, "role", e.role,
		"sqlstate", e.sqlstate, "at", e.at, "err", fmt.Sprint(err))
}

func (a *auditor) append(batch []auditEntry) error {
	ctx := context.Background()
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
