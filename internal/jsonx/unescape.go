package jsonx

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// AppendUnescaped appends to dst what the escape sequence b starts with
// (b[0] is a backslash) stands for, as encoding/json decodes it: the
// one-letter escapes, \uXXXX, a UTF-16 surrogate pair as one rune, a lone
// surrogate as U+FFFD (what follows it is left for the next call). n is
// the bytes of b it took; ok is false when b does not start with an
// escape encoding/json accepts. livecb's hand-written JSON readers (the
// event decoder, the capture decoder) share it.
func AppendUnescaped(dst, b []byte) (out []byte, n int, ok bool) {
	if len(b) < 2 || b[0] != '\\' {
		return dst, 0, false
	}
	switch e := b[1]; e {
	case '"', '\\', '/':
		return append(dst, e), 2, true
	case 'b':
		return append(dst, '\b'), 2, true
	case 'f':
		return append(dst, '\f'), 2, true
	case 'n':
		return append(dst, '\n'), 2, true
	case 'r':
		return append(dst, '\r'), 2, true
	case 't':
		return append(dst, '\t'), 2, true
	case 'u':
	default:
		return dst, 0, false
	}
	r, ok := hex4(b[2:])
	if !ok {
		return dst, 0, false
	}
	n = 6
	if utf16.IsSurrogate(r) {
		// A pair needs a second \u escape right after.
		if len(b) >= 8 && b[6] == '\\' && b[7] == 'u' {
			r2, ok := hex4(b[8:])
			if !ok {
				return dst, 0, false
			}
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				return utf8.AppendRune(dst, dec), 12, true
			}
		}
		r = utf8.RuneError
	}
	return utf8.AppendRune(dst, r), n, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// PlainRun is the length of the run of bytes b starts with that a JSON
// string holds as they are (not the quote, the backslash or a control
// character): where a string, or its next escape, ends. It looks at
// eight bytes at a time: capture lines and bodies are mostly strings, and
// looking at each byte was a third of decoding a capture line.
func PlainRun(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// A byte is a quote, a backslash or below 0x20 when the bytes
		// x^'"', x^'\\' or x itself below 0x20 has a zero byte there
		// (the three share x's high bits: one "and not x" for all).
		q, bs := x^(ones*'"'), x^(ones*'\\')
		if m := ((q - ones) | (bs - ones) | (x - ones*0x20)) &^ x & highs; m != 0 {
			// The lowest flagged byte is the first special one (borrows
			// only flag bytes above it): no need to look byte by byte.
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && strPlain[b[i]] {
		i++
	}
	return i
}

// unescapeWords is AppendUnescapedString's fast path: it appends b from i
// on, eight bytes at a time, with the escapes of a quote, a backslash or a
// slash unescaped, while nine bytes remain (a word and the byte after it),
// and stops at the first byte it leaves to the slow path (the closing
// quote, another escape, a control), which it returns the index of.
//
// As appendWords (jsonx.go): room made first (the bytes left, at most, and
// a word), then pointers with no bounds to check, and no capacity check
// in the loop: a body's unescaping went from 4,000 instructions to
// BenchmarkAppendUnescapedStringBody's figure in bench/README.md. (At most
// wordsChunk bytes of b a call, b being the rest of a line.)
func unescapeWords(dst, b []byte, i int) ([]byte, int) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	end := min(len(b), i+wordsChunk)
	// (A byte read makes at most one: j-len(dst) <= i-i0 at the top of a
	// turn, which writes eight bytes from j, with i+9 <= end.)
	d, j, out := withRoom(dst, end-i)
	src := unsafe.Pointer(unsafe.SliceData(b))
	for i+9 <= end {
		x := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(src, i))[:])
		binary.LittleEndian.PutUint64((*[8]byte)(unsafe.Add(out, j))[:], x)
		q, bs := x^(ones*'"'), x^(ones*'\\')
		m := ((q - ones) | (bs - ones) | (x - ones*0x20)) &^ x & highs
		if m == 0 {
			i, j = i+8, j+8
			continue
		}
		// The lowest flagged byte is the first that is not plain
		// (borrows only ever flag bytes above it).
		k := bits.TrailingZeros64(m) >> 3
		if byte(x>>(k<<3)) == '\\' {
			// (k <= 7: the byte after it is within the nine.)
			if e := *(*byte)(unsafe.Add(src, i+k+1)); e == '"' || e == '\\' || e == '/' {
				// The escaped byte over the backslash copied, and on.
				*(*byte)(unsafe.Add(out, j+k)) = e
				i, j = i+k+2, j+k+1
				continue
			}
		}
		i, j = i+k, j+k
		break
	}
	return d[:j], i
}

// strPlain[c] is true for the bytes PlainRun lets through.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends to dst the contents of the JSON string that b
// starts (b[0] is the first byte after its opening quote), unescaped as
// encoding/json unescapes them, and reports the bytes of b up to and
// including its closing quote; ok is false when b holds no valid rest of
// a string (a control byte, a bad escape, no closing quote). Both of
// livecb's hand-written JSON readers decode escaped strings with it.
//
// Plain bytes are copied eight at a time, before they are looked at, and
// the copy cut at the first byte that is not plain: a callback's body in a
// capture line is one string with an escaped quote every few bytes, and
// looking for the next escape, then copying up to it, was a third of
// decoding the line.
func AppendUnescapedString(dst, b []byte) (out []byte, n int, ok bool) {
	i := 0
	for {
		if i+9 <= len(b) {
			dst, i = unescapeWords(dst, b, i)
		}
		if i >= len(b) {
			return dst, 0, false
		}
		switch c := b[i]; {
		case c == '"':
			return dst, i + 1, true
		case c == '\\':
			if i+1 < len(b) {
				if e := b[i+1]; e == '"' || e == '\\' || e == '/' {
					dst, i = append(dst, e), i+2
					continue
				}
			}
			var k int
			if dst, k, ok = AppendUnescaped(dst, b[i:]); !ok {
				return dst, 0, false
			}
			i += k
		case c < 0x20:
			return dst, 0, false
		default:
			dst, i = append(dst, c), i+1
		}
	}
}
