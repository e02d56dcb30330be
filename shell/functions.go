package shell

import (
	"context"
	dbsql "database/sql"
	"fmt"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/etl"
	"github.com/ckm-dev/ckm/etl/clean"
	"github.com/ckm-dev/ckm/mining"
)

// functionSets are the packages that add SQL functions to a warehouse, each
// through its Register(ctx, conn), under the Setup name that makes it run
// once per warehouse.
var functionSets = []struct {
	name     string
	register func(ctx context.Context, conn *dbsql.Conn) error
}{
	{"clean", clean.Register},           // ckm_id_normalize, ckm_mobile, ckm_mask_* …
	{"region", etl.RegisterRegionFuncs}, // ckm_region_code, ckm_region_of
	{mining.SetupName, mining.Register}, // ckm_bgnbd_p_alive, ckm_clv …
}

// RegisterFunctions registers all of ckm's SQL functions on w: the ETL
// cleaners as scalar functions (ckm_mobile, ckm_mask_id, …) and the mining
// operators as table functions. It is idempotent per warehouse; the shell
// and the Parquet export call it on open.
func RegisterFunctions(ctx context.Context, w *engine.Warehouse) error {
	for _, set := range functionSets {
		if err := w.Setup(ctx, set.name, set.register); err != nil {
			return fmt.Errorf("register functions: %w", err)
		}
	}
	return nil
}
