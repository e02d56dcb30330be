package mining

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"os"
)

// cdnowMaster is the CDNOW master file of Fader & Hardie (23,570
// customers, see testdata/SOURCE.md), built in so the CLV benchmark runs from
// any directory.
//
//go:embed testdata/CDNOW_master.txt
var cdnowMaster []byte

// LoadCDNOWMaster creates table from the built-in CDNOW master file, like
// LoadCDNOW.
func LoadCDNOWMaster(ctx context.Context, db *sql.DB, table string) error {
	f, err := os.CreateTemp("", "ckm-cdnow-master-*.txt")
	if err != nil {
		return fmt.Errorf("load cdnow master: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(cdnowMaster); err != nil {
		f.Close()
		return fmt.Errorf("load cdnow master: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("load cdnow master: %w", err)
	}
	return LoadCDNOW(ctx, db, f.Name(), table)
}
