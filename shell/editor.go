package shell

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/chzyer/readline"
)

// EditorOptions configure a TerminalEditor.
type EditorOptions struct {
	// HistoryFile keeps the history across sessions ("" keeps it for this
	// session only). It is created owner-readable only.
	HistoryFile string
	// HistoryLimit is how many entries the history keeps (0: 1000).
	HistoryLimit int
	// Complete offers completions for Tab (Shell.Complete).
	Complete func(line string, pos int) ([]string, int)
	// Stdin, Stdout and Stderr default to the process's.
	Stdin          io.ReadCloser
	Stdout, Stderr io.Writer
}

// TerminalEditor is a LineEditor on a terminal, with Emacs-style line
// editing, history (Up/Down, Ctrl-R) and Tab completion, built on
// github.com/chzyer/readline.
type TerminalEditor struct {
	rl     *readline.Instance
	in     io.Closer // the terminal's input, under readline's wrappers
	closed sync.Once
	err    error
}

// NewTerminalEditor starts line editing on the terminal; Close ends it.
func NewTerminalEditor(o EditorOptions) (*TerminalEditor, error) {
	if o.HistoryFile != "" {
		// readline would create it world-readable; the history of an
		// analyst's queries is theirs.
		f, err := os.OpenFile(o.HistoryFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		f.Close()
	}
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = 1000
	}
	cfg := &readline.Config{
		Prompt:                 "ckm> ",
		HistoryFile:            o.HistoryFile,
		HistoryLimit:           o.HistoryLimit,
		DisableAutoSaveHistory: true, // the shell saves only Recordable statements
		HistorySearchFold:      true,
		InterruptPrompt:        "^C",
		EOFPrompt:              "",
		Stdin:                  o.Stdin,
		Stdout:                 o.Stdout,
		Stderr:                 o.Stderr,
	}
	if o.Complete != nil {
		cfg.AutoComplete = completer(o.Complete)
	}
	if cfg.Stdin == nil {
		cfg.Stdin = readline.NewCancelableStdin(os.Stdin)
	}
	in := &keyFilter{r: cfg.Stdin}
	cfg.Stdin = in
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, fmt.Errorf("line editor: %w", err)
	}
	return &TerminalEditor{rl: rl, in: in}, nil
}

// ReadLine implements LineEditor.
func (e *TerminalEditor) ReadLine(prompt string) (string, error) {
	e.rl.SetPrompt(prompt)
	line, err := e.rl.Readline()
	if errors.Is(err, readline.ErrInterrupt) {
		return "", ErrLineInterrupted
	}
	return line, err
}

// SaveHistory implements LineEditor.
func (e *TerminalEditor) SaveHistory(entry string) error { return e.rl.SaveHistory(entry) }

// Close restores the terminal; a ReadLine waiting for input returns
// io.EOF. It may be called more than once, from any goroutine.
func (e *TerminalEditor) Close() error {
	e.closed.Do(func() {
		// readline closes only its own wrapper of the input, and then
		// waits for a read of the terminal that would never end.
		e.in.Close()
		e.err = e.rl.Close()
	})
	return e.err
}

// completer adapts Shell.Complete to readline, which wants the rest of
// each candidate after what is typed.
type completer func(line string, pos int) ([]string, int)

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	head := string(line[:pos])
	words, n := c(head, len(head))
	typed := []rune(head[len(head)-n:])
	var out [][]rune
	for _, w := range words {
		r := []rune(w)
		if len(r) < len(typed) {
			continue
		}
		out = append(out, r[len(typed):])
	}
	return out, len(typed)
}

// keyFilter rewrites the keys readline does not know. chzyer/readline
// takes an unknown escape sequence for the end of input: Home or End as
// tmux, screen and the Linux console send them (ESC [1~, ESC [4~) would
// submit the line, or on an empty line end the shell. Home and End become
// the sequences it knows (ESC [H, ESC [F); other ESC [n~ keys (Insert,
// Page Up/Down, F5–F12) are dropped, Delete (ESC [3~) is kept.
type keyFilter struct {
	r    io.ReadCloser
	held []byte
}

func (k *keyFilter) Read(p []byte) (int, error) {
	if len(k.held) == 0 {
		buf := make([]byte, len(p))
		n, err := k.r.Read(buf)
		if n == 0 {
			return 0, err
		}
		k.held = filterKeys(buf[:n])
		if len(k.held) == 0 {
			return 0, err
		}
	}
	n := copy(p, k.held)
	k.held = k.held[n:]
	return n, nil
}

func (k *keyFilter) Close() error { return k.r.Close() }

// filterKeys rewrites the ESC [ digits ~ sequences of b, until none is
// left to rewrite (dropping one may join the bytes around it into
// another).
func filterKeys(b []byte) []byte {
	for {
		out := filterKeysOnce(b)
		if bytes.Equal(out, b) {
			return out
		}
		b = out
	}
}

func filterKeysOnce(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '[' {
			j := i + 2
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			if j > i+2 && j < len(b) && b[j] == '~' {
				switch string(b[i+2 : j]) {
				case "1", "7":
					out = append(out, "\x1b[H"...)
				case "4", "8":
					out = append(out, "\x1b[F"...)
				case "3":
					out = append(out, b[i:j+1]...)
				}
				i = j
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}
