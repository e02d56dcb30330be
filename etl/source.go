package etl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ErrNotRegular is returned (wrapped in a *NotRegularError) for a path that
// is a FIFO, device, socket or directory where a source export should be: a
// pipe or device may never end, so ckm never reads one.
var ErrNotRegular = errors.New("not a regular file")

// ErrFileChanged is returned when a source file changes between its
// fingerprint and its extraction: the load would not match its manifest.
var ErrFileChanged = errors.New("file changed while loading")

// NotRegularError names the path and what it is.
type NotRegularError struct {
	Path   string
	Target string // where a symbolic link leads, if Path is one
	Kind   string // e.g. "a FIFO (named pipe)"
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file: ckm loads only regular files", e.Path, e.What())
}

// What says what the path is, e.g. "a symbolic link to /dev/zero, a
// character device".
func (e *NotRegularError) What() string {
	if e.Target != "" {
		return fmt.Sprintf("a symbolic link to %s, %s", e.Target, e.Kind)
	}
	return e.Kind
}

func (e *NotRegularError) Unwrap() error { return ErrNotRegular }

// fileKind says what a file of mode m is, for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

// notRegular builds the error for path whose resolved mode is m.
func notRegular(path string, m fs.FileMode) error {
	e := &NotRegularError{Path: path, Kind: fileKind(m)}
	if lst, err := os.Lstat(path); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
		if target, err := filepath.EvalSymlinks(path); err == nil {
			e.Target = target
		}
	}
	return e
}

// statRegular follows symbolic links and returns the file's info, or a
// *NotRegularError when it is not a regular file.
func statRegular(path string) (fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	return st, nil
}

// openRegular opens path for reading only if it is a regular file. It opens
// without blocking (a FIFO with no writer would block open itself) and
// checks the open file, so a path swapped after statRegular is still
// refused.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(path, st.Mode())
	}
	return f, st, nil
}

// readChunk bounds one read, so that a cancelled context is seen within a
// chunk's worth of work.
const readChunk = 1 << 20

// ctxReader ends reading with the context's error once it is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > readChunk {
		p = p[:readChunk]
	}
	return c.r.Read(p)
}

// fileStamp is what a source file looked like when it was fingerprinted.
type fileStamp struct {
	size    int64
	modTime time.Time
	sha256  string
}

// changedSince reports how a file's current info differs from the stamp,
// or "" when it does not.
func (s fileStamp) changedSince(st fs.FileInfo) string {
	switch {
	case st.Size() != s.size:
		return fmt.Sprintf("its size went from %d to %d bytes", s.size, st.Size())
	case !st.ModTime().Equal(s.modTime):
		return "it was modified"
	}
	return ""
}

// fingerprintFile hashes the bytes of path up to the size it has when
// opened, stopping when ctx is cancelled; a file that grows or is modified
// meanwhile is an ErrFileChanged.
func fingerprintFile(ctx context.Context, path string) (fileStamp, error) {
	f, st, err := openRegular(path)
	if err != nil {
		return fileStamp{}, err
	}
	defer f.Close()
	s := fileStamp{size: st.Size(), modTime: st.ModTime()}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(ctxReader{ctx, f}, s.size))
	if err != nil {
		return fileStamp{}, err
	}
	if n != s.size {
		return fileStamp{}, fmt.Errorf("%w: read %d of its %d bytes", ErrFileChanged, n, s.size)
	}
	if err := checkUnchanged(f, s); err != nil {
		return fileStamp{}, err
	}
	s.sha256 = hex.EncodeToString(h.Sum(nil))
	return s, nil
}

// checkUnchanged compares an open file with its stamp.
func checkUnchanged(f *os.File, s fileStamp) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if why := s.changedSince(st); why != "" {
		return fmt.Errorf("%w (%s); load it again once it is complete", ErrFileChanged, why)
	}
	return nil
}

// sourceReader reads a fingerprinted source file for extraction: no more
// than its fingerprinted size, stopping when the context is cancelled, and
// hashing what it reads so verify can tell whether these were the bytes
// fingerprinted.
type sourceReader struct {
	f     *os.File
	stamp fileStamp
	h     *hashBehind
	r     io.Reader
}

// hashBehind hashes the bytes written to it on a goroutine of its own, so
// that a file's extraction, which runs on one core, does not wait for its
// hash: sha256 of the bench's million-line CSV (82 MB) takes ~55 ms, of
// an extraction of ~0.6 s. Handing the bytes over costs a copy of each
// read.
type hashBehind struct {
	h    hash.Hash
	ch   chan []byte
	free chan []byte // buffers the hasher is done with
	done chan struct{}
	once sync.Once
}

func newHashBehind(h hash.Hash) *hashBehind {
	b := &hashBehind{h: h, ch: make(chan []byte, 4), free: make(chan []byte, 4), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for p := range b.ch {
			b.h.Write(p)
			select {
			case b.free <- p:
			default:
			}
		}
	}()
	return b
}

func (b *hashBehind) Write(p []byte) (int, error) {
	var buf []byte
	select {
	case buf = <-b.free:
	default:
	}
	b.ch <- append(buf[:0], p...)
	return len(p), nil
}

// Sum returns the hash of all that was written; no Write may follow.
func (b *hashBehind) Sum() []byte {
	b.stop()
	return b.h.Sum(nil)
}

// stop ends the hasher once it has hashed what was written.
func (b *hashBehind) stop() {
	b.once.Do(func() { close(b.ch) })
	<-b.done
}

func openSource(ctx context.Context, path string, stamp fileStamp) (*sourceReader, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	h := newHashBehind(sha256.New())
	return &sourceReader{f: f, stamp: stamp, h: h, r: io.TeeReader(io.LimitReader(ctxReader{ctx, f}, stamp.size), h)}, nil
}

func (s *sourceReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// head reads up to n bytes from the start; the reader then reads from the
// start again.
func (s *sourceReader) head(n int) ([]byte, error) {
	b := make([]byte, n)
	got, err := io.ReadFull(s.r, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	b = b[:got]
	s.r = io.MultiReader(bytes.NewReader(b), s.r)
	return b, nil
}

// verify reads what extraction left unread and checks that the bytes read
// are the fingerprinted ones and the file has not changed since.
func (s *sourceReader) verify() error {
	if _, err := io.Copy(io.Discard, s.r); err != nil {
		return err
	}
	if err := checkUnchanged(s.f, s.stamp); err != nil {
		return err
	}
	if sum := hex.EncodeToString(s.h.Sum()); sum != s.stamp.sha256 {
		return fmt.Errorf("%w (its content is not what was fingerprinted); load it again once it is complete", ErrFileChanged)
	}
	return nil
}

func (s *sourceReader) Close() error {
	s.h.stop()
	return s.f.Close()
}
