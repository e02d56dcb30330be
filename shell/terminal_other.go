//go:build !unix

package shell

import (
	"os"
	"strconv"
)

// TerminalWidth returns the width in columns of the terminal f is: here
// from the COLUMNS variable, else 120.
func TerminalWidth(f *os.File) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 120
}
