package etl

import (
	"encoding/binary"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// textDecoder returns the transformer that decodes text in e to UTF-8: e's
// own decoder, with ASCII copied past it where that changes no byte of the
// result.
func textDecoder(e encoding.Encoding) transform.Transformer {
	if e == simplifiedchinese.GB18030 || e == simplifiedchinese.GBK {
		return gbASCIIDecoder{e.NewDecoder()}
	}
	return e.NewDecoder()
}

// gbASCIIDecoder is x/text's GBK or GB18030 decoder (inner) with runs of
// ASCII copied straight from src to dst: most bytes of a Chinese export are
// ASCII, and the inner decoder spends a rune decode and encode on each
// (the bench's POS export of January, 36 MB, decodes in 52 ms, not 88).
//
// Its result is inner's, byte for byte (TestGBASCIIDecoderMatches): inner
// keeps no state between calls, and where a character starts (as it does
// at the start of src and after whatever inner last consumed) a byte below
// 0x80 is that ASCII character alone. A byte from 0x80 up starts a stretch
// that goes to inner as a whole, for the ASCII inside it may belong to a
// character: GBK's second byte can be 0x40–0xFE, and GB18030's four-byte
// characters have their second and fourth byte in 0x30–0x39. No character
// holds a byte below 0x30, so a stretch ends at one; inner, told that the
// stretch is all there is (atEOF), treats its cut last character exactly as
// when it sees that byte after it: U+FFFD for the first byte, and on from
// the next. A stretch that reaches the end of src before such a byte, with
// more to come, is inner's to hold back (ErrShortSrc) as it would alone.
type gbASCIIDecoder struct{ inner transform.Transformer }

func (d gbASCIIDecoder) Reset() { d.inner.Reset() }

func (d gbASCIIDecoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if src[nSrc] < utf8.RuneSelf {
			end := asciiEnd(src, nSrc+1)
			n := copy(dst[nDst:], src[nSrc:end])
			nDst += n
			nSrc += n
			if nSrc < end {
				return nDst, nSrc, transform.ErrShortDst
			}
			continue
		}
		end := nSrc + 1
		for end < len(src) && src[end] >= 0x30 {
			end++
		}
		dn, sn, err := d.inner.Transform(dst[nDst:], src[nSrc:end], end < len(src) || atEOF)
		nDst += dn
		nSrc += sn
		if err != nil {
			return nDst, nSrc, err
		}
	}
	return nDst, nSrc, nil
}

// asciiEnd returns the index of the first byte from i on that is not ASCII,
// or len(b); it reads eight bytes at a time.
func asciiEnd(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	return i
}
