package engine

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

//go:embed schema_v1.sql
var schemaV1 string

//go:embed seed_v1.sql
var seedV1 string

//go:embed schema_v2.sql
var schemaV2 string

//go:embed schema_v3_scd.sql
var schemaV3SCD string

//go:embed schema_v4.sql
var schemaV4 string

//go:embed schema_v5.sql
var schemaV5 string

//go:embed schema_v6.sql
var schemaV6 string

//go:embed schema_v7.sql
var schemaV7 string

//go:embed schema_v8.sql
var schemaV8 string

//go:embed schema_v9.sql
var schemaV9 string

//go:embed schema_v10.sql
var schemaV10 string

//go:embed schema_v11.sql
var schemaV11 string

//go:embed schema_v12.sql
var schemaV12 string

//go:embed schema_v13.sql
var schemaV13 string

//go:embed schema_v14.sql
var schemaV14 string

//go:embed schema_v15.sql
var schemaV15 string

//go:embed schema_v16.sql
var schemaV16 string

//go:embed schema_v17.sql
var schemaV17 string

//go:embed schema_v20.sql
var schemaV20 string

//go:embed schema_v21.sql
var schemaV21 string

//go:embed schema_v22.sql
var schemaV22 string

// Migration is one step of the schema's history. Steps run in order, each in
// its own transaction, and are recorded in schema_version.
type Migration struct {
	Version     int
	Description string
	SQL         []string
}

// Migrations is the schema's history; append, never edit a released step.
var Migrations = []Migration{
	{Version: 1, Description: "canonical CRM star schema, ETL ledger, knowledge base", SQL: []string{schemaV1, seedV1}},
	{Version: 2, Description: "natural keys scoped by source, restatements, ledger references", SQL: []string{schemaV2}},
	{Version: 3, Description: "dim_customer.effective_from: effective-dated SCD2", SQL: []string{schemaV3SCD}},
	{Version: 4, Description: "OLAP query log and rollup registry, mining table macros", SQL: []string{schemaV4}},
	{Version: 5, Description: "knowledge base of pattern mining: rule measures, recommendations, segment scaling and history, cross-sell macros", SQL: []string{schemaV5}},
	{Version: 6, Description: "mapping exports ckm did not generate: a file feeds several sources, more canonical fields", SQL: []string{schemaV6}},
	{Version: 7, Description: "personal data: one mask per kind, reveal audit, analyst relations", SQL: []string{schemaV7}},
	{Version: 8, Description: "identity_link: the keys and rules that hold each customer's records together", SQL: []string{schemaV8}},
	{Version: 9, Description: "ckm_segment_of: a stored k-means model's nearest segment in SQL", SQL: []string{schemaV9}},
	{Version: 10, Description: "customer merges and splits with their history, steward identity decisions, record keys", SQL: []string{schemaV10}},
	{Version: 11, Description: "personal data at rest: the vault (data key, customer keys, sealed values, erasures), identity link display", SQL: []string{schemaV11}},
	{Version: 12, Description: "serve_job_run: the runs of ckm serve's scheduled and hand-started jobs", SQL: []string{schemaV12}},
	{Version: 13, Description: "marketing consent and do-not-contact on dim_customer, campaign target lists (kb_target)", SQL: []string{schemaV13}},
	{Version: 14, Description: "names protected at rest: the analyst's dim_customer shows a name token's mask", SQL: []string{schemaV14}},
	{Version: 15, Description: "identity_link.channels: the channels each key was seen in, for time- and channel-aware links across loads", SQL: []string{schemaV15}},
	{Version: 16, Description: "customer_merge.kind load_split: a later load re-resolves earlier records", SQL: []string{schemaV16}},
	{Version: 17, Description: "masks that skip the full-width map for ASCII text; a token in a contact's or response's key shows its kept mask", SQL: []string{schemaV17}},
	{Version: 20, Description: "ckm_change: writers record the fact months they change, for the lake's incremental export", SQL: []string{schemaV20}},
	{Version: 21, Description: "analyst.dim_customer looks tokens up among the displays of their own kind", SQL: []string{schemaV21}},
	{Version: 22, Description: "the vault's and identity's tables and dim_customer without primary keys: the load's post-check counts their duplicate keys", SQL: []string{schemaV22}},
}

// SchemaVersion is the version Migrate brings a warehouse to.
func SchemaVersion() int { return Migrations[len(Migrations)-1].Version }

// Migrate creates the schema or upgrades it to SchemaVersion. It is
// idempotent; a warehouse newer than this binary is an error.
func (w *Warehouse) Migrate(ctx context.Context) error {
	// A warehouse that has a schema answers in one statement (every
	// command opens it); a catalog error (a new file: no schema_version)
	// creates the table first.
	current, err := w.Version(ctx)
	if de := (*duckdb.Error)(nil); errors.As(err, &de) && de.Type == duckdb.ErrorTypeCatalog {
		if _, err := w.DB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		current, err = w.Version(ctx)
	}
	if err != nil {
		return err
	}
	if current > SchemaVersion() {
		return fmt.Errorf("migrate: warehouse %s has schema version %d, newer than this ckm (%d): upgrade ckm", w.Path, current, SchemaVersion())
	}
	for _, m := range Migrations {
		if m.Version <= current {
			continue
		}
		if err := w.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (w *Warehouse) apply(ctx context.Context, m Migration) error {
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate to %d: %w", m.Version, err)
	}
	defer tx.Rollback()
	for _, stmt := range m.SQL {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate to %d (%s): %w", m.Version, m.Description, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, description) VALUES (?, ?)`, m.Version, m.Description); err != nil {
		return fmt.Errorf("migrate to %d: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate to %d: commit: %w", m.Version, err)
	}
	return nil
}

// Version returns the warehouse's schema version (0 for a new file).
func (w *Warehouse) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := w.DB.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return int(v.Int64), nil
}
