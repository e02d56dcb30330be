package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultMaxStatementBytes is the largest statement (or meta-command line)
// the shell reads when Options.MaxStatementBytes is zero: far above any
// statement a person writes or a script of INSERTs needs, far below what
// would exhaust memory.
const DefaultMaxStatementBytes = 32 << 20

// ErrStatementTooLarge is returned (wrapped) for input whose statement
// grows past the limit before it ends; nothing of it runs.
var ErrStatementTooLarge = errors.New("statement too large")

// ErrLineInterrupted is what a LineEditor returns when the user presses
// Ctrl-C at the prompt: the statement being typed is dropped.
var ErrLineInterrupted = errors.New("line interrupted")

// LineEditor is an interactive source of input lines (a terminal with line
// editing): ReadLine shows prompt and returns the line typed, io.EOF on
// Ctrl-D, or ErrLineInterrupted on Ctrl-C; SaveHistory keeps an entry in
// the history the user recalls (the shell passes only Recordable ones).
type LineEditor interface {
	ReadLine(prompt string) (string, error)
	SaveHistory(entry string) error
}

// lineSource gives the shell its input one line at a time.
type lineSource interface {
	// next returns the next line without its newline; at most max bytes,
	// else an error wrapping ErrStatementTooLarge. io.EOF ends the input
	// (a last line without newline comes first with a nil error).
	next(ctx context.Context, prompt string, max int) (string, error)
}

// readerSource reads lines from a file or pipe, writing prompts to w when
// it is not nil (a terminal without line editing).
type readerSource struct {
	r      *bufio.Reader
	prompt io.Writer
}

func newReaderSource(r io.Reader, prompt io.Writer) *readerSource {
	return &readerSource{r: bufio.NewReaderSize(r, 64<<10), prompt: prompt}
}

// next reads in buffer-sized slices, so a line never grows past max and
// a cancelled context stops a long read between slices (ckm sql -f
// /dev/zero ends at the limit, not when memory does).
func (s *readerSource) next(ctx context.Context, prompt string, max int) (string, error) {
	if s.prompt != nil {
		fmt.Fprint(s.prompt, prompt)
	}
	var line []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 { // +1: the newline itself
			return "", fmt.Errorf("%w: a line of more than %d bytes", ErrStatementTooLarge, max)
		}
		line = append(line, chunk...)
		switch {
		case err == bufio.ErrBufferFull:
			if cerr := ctx.Err(); cerr != nil {
				return "", cerr
			}
			continue
		case err == io.EOF && len(line) > 0:
			return string(line), nil
		case err != nil:
			return "", err
		}
		return strings.TrimRight(string(line), "\r\n"), nil
	}
}

// editorSource reads lines from a LineEditor.
type editorSource struct{ ed LineEditor }

func (s editorSource) next(_ context.Context, prompt string, max int) (string, error) {
	line, err := s.ed.ReadLine(prompt)
	if err != nil {
		return "", err
	}
	if len(line) > max {
		return "", fmt.Errorf("%w: a line of more than %d bytes", ErrStatementTooLarge, max)
	}
	return line, nil
}
