package jsonx

import (
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
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
		// x^'"', x^'\\' or x itself below 0x20 has a zero byte there.
		q, bs := x^(ones*'"'), x^(ones*'\\')
		if ((q-ones)&^q|(bs-ones)&^bs|(x-ones*0x20)&^x)&highs != 0 {
			break
		}
	}
	for i < len(b) && strPlain[b[i]] {
		i++
	}
	return i
}

// strPlain[c] is true for the bytes PlainRun lets through.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
