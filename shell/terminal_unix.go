//go:build unix

package shell

import (
	"os"

	"golang.org/x/sys/unix"
)

// TerminalWidth returns the width in columns of the terminal f is, or 0
// when f is not a terminal.
func TerminalWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 0
	}
	return int(ws.Col)
}
