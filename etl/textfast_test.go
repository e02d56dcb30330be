package etl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// randomGB returns n pieces of ASCII-heavy GBK/GB18030 text: ASCII (what
// ends a stretch and what does not), two- and four-byte characters, and
// what is no character: 0x80, 0xFF, a lead byte before a byte no character
// has there, four-byte sequences out of range or cut short.
func randomGB(rng *rand.Rand, n int) []byte {
	lead := func() byte { return byte(0x81 + rng.IntN(0x7e)) }
	digit := func() byte { return byte('0' + rng.IntN(10)) }
	var b []byte
	for ; n > 0; n-- {
		switch k := rng.IntN(24); {
		case k < 10:
			for m := 1 + rng.IntN(12); m > 0; m-- {
				const ascii = "abcXYZ0123456789,.;\"' \t\r\n/-@~\x7f\x00"
				b = append(b, ascii[rng.IntN(len(ascii))])
			}
		case k < 15: // two bytes: trail 0x40–0x7E or 0x80–0xFE
			t := byte(0x40 + rng.IntN(0x3f))
			if rng.IntN(2) == 0 {
				t = byte(0x80 + rng.IntN(0x7f))
			}
			b = append(b, lead(), t)
		case k < 17: // four bytes, some beyond the table
			b = append(b, lead(), digit(), lead(), digit())
		case k == 17: // a real four-byte character: U+10000 (90 30 81 30) up to the end of the range
			b = append(b, byte(0x90+rng.IntN(8)), digit(), lead(), digit())
		case k == 18:
			b = append(b, []byte{0x80, 0xff, 0x81, 0xfe}[rng.IntN(4)])
		case k == 19: // a lead byte before a byte no second byte is
			b = append(b, lead(), []byte{0x7f, 0xff, 0x20, 0x2f, ',', '\n', 0x00}[rng.IntN(7)])
		case k == 20: // a four-byte sequence cut short or broken
			s := []byte{lead(), digit(), lead(), digit()}
			s[1+rng.IntN(3)] = []byte{0x7f, 0xff, 0x80, 0x3a, 0x2f, ',', 'A'}[rng.IntN(7)]
			b = append(b, s[:1+rng.IntN(4)]...)
		default: // a lead byte and a second byte in 0x30–0x39, which GBK reads apart
			b = append(b, lead(), digit())
		}
	}
	return b
}

// gbEncodings are the encodings textDecoder copies ASCII for.
var gbEncodings = []struct {
	name string
	e    encoding.Encoding
}{{"GB18030", simplifiedchinese.GB18030}, {"GBK", simplifiedchinese.GBK}}

// TestGBASCIIDecoderMatches decodes random GBK/GB18030 text with
// textDecoder and with x/text's decoder alone, whole and streamed through
// transform.NewReader from readers that hand over one byte, half of what is
// asked or random amounts (characters cut at every place), and through
// Transform itself with small source and destination buffers: the bytes
// must be the same.
func TestGBASCIIDecoderMatches(t *testing.T) {
	for _, name := range []string{"utf-16le", "utf-16be", "utf-16"} {
		e, err := decoderFor(name)
		if err != nil {
			t.Fatal(err)
		}
		// A byte below 0x80 is half a UTF-16 character.
		if _, ok := textDecoder(e).(gbASCIIDecoder); ok {
			t.Fatalf("textDecoder copies ASCII of %s", name)
		}
	}
	rng := rand.New(rand.NewPCG(18030, 936))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for _, enc := range gbEncodings {
		fast := textDecoder(enc.e)
		if _, ok := fast.(gbASCIIDecoder); !ok {
			t.Fatalf("textDecoder(%s) is %T", enc.name, fast)
		}
		for i := 0; i < n; i++ {
			src := randomGB(rng, 1+rng.IntN(60))
			want, err := io.ReadAll(transform.NewReader(bytes.NewReader(src), enc.e.NewDecoder()))
			if err != nil {
				t.Fatal(err)
			}
			check := func(how string, got []byte, err error) {
				t.Helper()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s, %s: decoded % x\n as %q (%v),\nwant %q", enc.name, how, src, got, err, want)
				}
			}
			got, _, err := transform.Bytes(fast, src)
			check("whole", got, err)
			got, err = io.ReadAll(transform.NewReader(iotest.OneByteReader(bytes.NewReader(src)), fast))
			check("one byte a read", got, err)
			got, err = io.ReadAll(transform.NewReader(iotest.HalfReader(bytes.NewReader(src)), fast))
			check("half reads", got, err)
			got, err = io.ReadAll(transform.NewReader(iotest.DataErrReader(&chunkReader{src, rng}), fast))
			check("random reads, EOF with the data", got, err)
			srcStep, dstLen := 1+rng.IntN(9), 4+rng.IntN(9)
			got, err = transformSteps(fast, src, srcStep, dstLen)
			check(fmt.Sprintf("Transform, %d more source bytes a call, %d-byte dst", srcStep, dstLen), got, err)
		}
	}
}

// chunkReader reads its bytes in random amounts.
type chunkReader struct {
	b   []byte
	rng *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+c.rng.IntN(7))], c.b)
	c.b = c.b[n:]
	return n, nil
}

// transformSteps runs t over src as a caller of the transform.Transformer
// contract would, with at most srcStep bytes of src not yet offered a call
// and a dst of dstLen bytes, and fails on a call that makes no progress it
// could have made.
func transformSteps(t transform.Transformer, src []byte, srcStep, dstLen int) ([]byte, error) {
	t.Reset()
	var out []byte
	dst := make([]byte, dstLen)
	start, end := 0, 0 // src[start:end] is offered
	for {
		atEOF := end == len(src)
		nDst, nSrc, err := t.Transform(dst, src[start:end], atEOF)
		out = append(out, dst[:nDst]...)
		start += nSrc
		switch {
		case err == transform.ErrShortDst:
			if nDst == 0 && nSrc == 0 {
				return out, errors.New("ErrShortDst without progress")
			}
		case err == transform.ErrShortSrc:
			if atEOF {
				return out, errors.New("ErrShortSrc at EOF")
			}
			end = min(end+srcStep, len(src))
		case err != nil:
			return out, err
		case start != end:
			return out, errors.New("nil error with src left")
		case atEOF:
			return out, nil
		default:
			end = min(end+srcStep, len(src))
		}
	}
}

// TestGBASCIIDecoderPOSExport decodes a GB18030 POS export of the bench
// (ckm bench etl's exports, when at hand) through textReader and through
// x/text's decoder alone.
func TestGBASCIIDecoderPOSExport(t *testing.T) {
	const path = "/tmp/e14/exports/pos_sales_202401.csv"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Skip(err)
	}
	want, err := io.ReadAll(transform.NewReader(bytes.NewReader(src), simplifiedchinese.GB18030.NewDecoder()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := textReader(bytes.NewReader(src), Detected{Encoding: "gb18030"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s decodes differently from byte %d of the UTF-8 (%d bytes, want %d)", path, i, len(got), len(want))
	}
}

// FuzzGBASCIIDecoder compares textDecoder with x/text's decoder alone on
// any bytes, given whole and a few bytes a call into a small dst.
func FuzzGBASCIIDecoder(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		f.Add(randomGB(rng, 1+rng.IntN(20)), uint8(i))
	}
	f.Fuzz(func(t *testing.T, src []byte, steps uint8) {
		for _, enc := range gbEncodings {
			want, _, err := transform.Bytes(enc.e.NewDecoder(), src)
			if err != nil {
				t.Fatal(err)
			}
			whole, _, err := transform.Bytes(textDecoder(enc.e), src)
			if err != nil || !bytes.Equal(whole, want) {
				t.Fatalf("%s: decoded % x as %q (%v), want %q", enc.name, src, whole, err, want)
			}
			srcStep, dstLen := 1+int(steps%8), 4+int(steps/8%8)
			if got, err := transformSteps(textDecoder(enc.e), src, srcStep, dstLen); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s, %d source bytes a call, %d-byte dst: decoded % x as %q (%v), want %q", enc.name, srcStep, dstLen, src, got, err, want)
			}
		}
	})
}
