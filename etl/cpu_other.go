//go:build !unix

package etl

import "time"

// processCPU is not read on this system: the trace shows wall times only.
func processCPU() (time.Duration, bool) { return 0, false }
