package etl

import (
	"bufio"
	"bytes"
	"io"

	"golang.org/x/text/transform"
)

// crReader turns every CR into a line feed, for text whose lines end in CR
// alone.
type crReader struct{ r io.Reader }

func (c crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// textReader opens a text file as UTF-8 whatever its encoding, with LF
// line breaks when the file breaks lines with CR alone.
func textReader(f io.Reader, d Detected) (io.Reader, error) {
	e, err := decoderFor(d.Encoding)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	switch d.Encoding {
	case "utf-8", "utf8", "utf-8-bom":
		// As is, less a BOM: records with bytes that are not UTF-8 (a
		// line from another encoding) are rejected as encoding_invalid
		// rather than decoded into U+FFFD.
		br := bufio.NewReader(f)
		if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
			br.Discard(3)
		}
		r = br
	default:
		r = transform.NewReader(f, textDecoder(e))
	}
	if d.CROnly {
		r = crReader{r}
	}
	return r, nil
}

// physLines reads physical lines (without the line break) and numbers them.
type physLines struct {
	r       *bufio.Reader
	line    int64
	pending [][]byte // pushed-back lines
	pendNo  []int64
	err     error
}

func (p *physLines) next() ([]byte, int64, bool) {
	if n := len(p.pending); n > 0 {
		l, no := p.pending[n-1], p.pendNo[n-1]
		p.pending, p.pendNo = p.pending[:n-1], p.pendNo[:n-1]
		return l, no, true
	}
	if p.err != nil {
		return nil, 0, false
	}
	var buf []byte
	for {
		chunk, err := p.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			if len(buf) > maxRecordBytes {
				// Keep reading to the end of the line, but keep only the head.
				for err == bufio.ErrBufferFull {
					_, err = p.r.ReadSlice('\n')
				}
				if err != nil && err != io.EOF {
					p.err = err
				}
				break
			}
			continue
		}
		if err != nil {
			p.err = err
			if len(buf) == 0 {
				return nil, 0, false
			}
		}
		break
	}
	p.line++
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	return buf, p.line, true
}

func (p *physLines) pushBack(lines [][]byte, nos []int64) {
	for i := len(lines) - 1; i >= 0; i-- {
		p.pending = append(p.pending, lines[i])
		p.pendNo = append(p.pendNo, nos[i])
	}
}
