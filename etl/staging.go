package etl

import (
	"bufio"
	"encoding/csv"
	"os"
)

// stagingWriter writes records of the mapped fields to a temporary CSV that
// DuckDB reads: _line first, then the fields in order.
type stagingWriter struct {
	f *os.File
	b *bufio.Writer
	w *csv.Writer
}

func newStagingWriter(dir, pattern string, header []string) (*stagingWriter, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	b := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(b)
	s := &stagingWriter{f: f, b: b, w: w}
	if header != nil {
		if err := w.Write(append([]string{"_line"}, header...)); err != nil {
			s.abort()
			return nil, err
		}
	}
	return s, nil
}

func (s *stagingWriter) close() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		s.abort()
		return err
	}
	if err := s.b.Flush(); err != nil {
		s.abort()
		return err
	}
	return s.f.Close()
}

func (s *stagingWriter) abort() {
	s.f.Close()
	os.Remove(s.f.Name())
}
