//go:build !unix

package shell

import "os"

// TerminalWidth returns the width in columns of the terminal f is, or 0
// when it cannot tell (here: always; the caller may know better, e.g. from
// COLUMNS).
func TerminalWidth(f *os.File) int { return 0 }
