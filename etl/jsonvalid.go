package etl

// maxJSONDepth is encoding/json's maxNestingDepth: json.Valid refuses a
// value with more arrays and objects open at once.
const maxJSONDepth = 10000

// validJSON reports whether b is one JSON value, exactly as json.Valid
// does (TestValidJSONMatchesJSONValid, FuzzValidJSON), in a third to two
// fifths of its time: encoding/json's scanner calls a function per byte.
// Like json.Valid it takes any byte from 0x80 up inside a string, UTF-8 or
// not. It keeps the open arrays and objects on a bit stack, not the Go
// stack, so that hostile nesting costs no more than its length.
func validJSON(b []byte) bool {
	// Bit d of inObject is set when the container at depth d (from 0) is
	// an object. Zeroing room for all maxJSONDepth bits took a fifth of
	// the time of a 300-byte line; the first 128 depths cost nothing.
	var small [2]uint64
	inObject := small[:]
	depth, i := 0, 0
	for {
		// A value starts at i, after any space.
		i = skipJSONSpace(b, i)
		if i == len(b) {
			return false
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth == maxJSONDepth {
				return false
			}
			i = skipJSONSpace(b, i+1)
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				i++
				break // empty: a whole value
			}
			if depth/64 == len(inObject) {
				inObject = append(inObject, 0)
			}
			if c == '{' {
				inObject[depth/64] |= 1 << (depth % 64)
				if i = jsonKeyEnd(b, i); i < 0 {
					return false
				}
			} else {
				inObject[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			continue
		case '"':
			if i = jsonStringEnd(b, i+1); i < 0 {
				return false
			}
		case 't':
			if !hasJSONWord(b, i, "true") {
				return false
			}
			i += 4
		case 'f':
			if !hasJSONWord(b, i, "false") {
				return false
			}
			i += 5
		case 'n':
			if !hasJSONWord(b, i, "null") {
				return false
			}
			i += 4
		default:
			if i = jsonNumberEnd(b, i); i < 0 {
				return false
			}
		}
		// A value ended at i: close the containers it ends, up to the
		// comma before the next value.
		for {
			i = skipJSONSpace(b, i)
			if depth == 0 {
				return i == len(b)
			}
			if i == len(b) {
				return false
			}
			object := inObject[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			if c := b[i]; c == ',' {
				i++
				if object {
					if i = jsonKeyEnd(b, skipJSONSpace(b, i)); i < 0 {
						return false
					}
				}
				break
			} else if object && c == '}' || !object && c == ']' {
				i++
				depth--
				continue
			}
			return false
		}
	}
}

// skipJSONSpace returns the index of the first byte from i on that is not
// JSON white space (space, tab, CR, LF), or len(b).
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// jsonKeyEnd returns the index just past the colon of the object key that
// starts at b[i] (its opening quote), or -1 when there is no such key.
func jsonKeyEnd(b []byte, i int) int {
	if i == len(b) || b[i] != '"' {
		return -1
	}
	if i = jsonStringEnd(b, i+1); i < 0 {
		return -1
	}
	if i = skipJSONSpace(b, i); i == len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

// jsonStringByte marks the bytes that stand for themselves inside a JSON
// string: all but the quote, the backslash and the control bytes below
// 0x20.
var jsonStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// jsonStringEnd returns the index just past the closing quote of the string
// whose text starts at b[i], or -1 when the string is malformed or open.
func jsonStringEnd(b []byte, i int) int {
	for {
		// Four bytes a test while they can: a tenth off the bench's orders.
		for i+4 <= len(b) && jsonStringByte[b[i]] && jsonStringByte[b[i+1]] && jsonStringByte[b[i+2]] && jsonStringByte[b[i+3]] {
			i += 4
		}
		for i < len(b) && jsonStringByte[b[i]] {
			i++
		}
		if i == len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 == len(b) {
				return -1
			}
			switch b[i+1] {
			case 'b', 'f', 'n', 'r', 't', '\\', '/', '"':
				i += 2
			case 'u':
				if i+5 >= len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control byte
			return -1
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// hasJSONWord reports whether b holds word at i. What follows it is for the
// caller to judge, as for any value.
func hasJSONWord(b []byte, i int, word string) bool {
	return len(b)-i >= len(word) && string(b[i:i+len(word)]) == word
}

// jsonNumberEnd returns the index just past the number that starts at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, or -1 when none does.
func jsonNumberEnd(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i == len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i+1 == len(b) || !isDigit(b[i+1]) {
			return -1
		}
		i = skipDigits(b, i+2)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == len(b) || !isDigit(b[i]) {
			return -1
		}
		i = skipDigits(b, i+1)
	}
	return i
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}
