//go:build !unix

package cluster

// processCPU is not measured off Unix.
func processCPU() float64 { return 0 }
