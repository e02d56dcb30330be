//go:build !linux

package main

import (
	"errors"
	"os"
	"syscall"
)

func openPTY(cols, rows int) (master, tty *os.File, err error) {
	return nil, nil, errors.New("ckm bench shell opens a pseudo-terminal through Linux's /dev/ptmx; this system is not Linux")
}

func ptyProcAttr() *syscall.SysProcAttr { return nil }
