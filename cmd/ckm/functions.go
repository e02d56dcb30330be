package main

import (
	"context"
	dbsql "database/sql"
	"fmt"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/etl/clean"
	"github.com/ckm-dev/ckm/mining"
)

// functionSets are the packages that add Go SQL functions to a warehouse,
// each through its Register(ctx, conn), under the Setup name that makes it
// run once per warehouse. (The masks of personal data are SQL macros of the
// schema, so the export and the shell need none of these.)
var functionSets = []struct {
	name     string
	register func(ctx context.Context, conn *dbsql.Conn) error
}{
	{"clean", clean.Register},           // ckm_id_normalize, ckm_mobile …
	{"region", etl.RegisterRegionFuncs}, // ckm_region_code, ckm_region_of
	{mining.SetupName, mining.Register}, // ckm_bgnbd_p_alive, ckm_clv …
}

// registerFunctions registers ckm's Go SQL functions on w for the shell:
// the ETL cleaners as scalar functions and the mining functions. It is
// idempotent per warehouse.
func registerFunctions(ctx context.Context, w *engine.Warehouse) error {
	for _, set := range functionSets {
		if err := w.Setup(ctx, set.name, set.register); err != nil {
			return fmt.Errorf("register functions: %w", err)
		}
	}
	return nil
}
