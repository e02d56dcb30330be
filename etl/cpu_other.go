//go:build !unix

package etl

import "time"

// ProcessCPU is not read on this system: the trace shows wall times only.
func ProcessCPU() (time.Duration, bool) { return 0, false }
