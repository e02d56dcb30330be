package mining

import (
	"context"

	"github.com/ckm-dev/ckm/engine"
)

// SetupName is the name under which Setup registers the mining functions
// with engine.Warehouse.Setup.
const SetupName = "mining"

// Setup registers the mining SQL functions on w once (see Register).
func Setup(ctx context.Context, w *engine.Warehouse) error {
	return w.Setup(ctx, SetupName, Register)
}
