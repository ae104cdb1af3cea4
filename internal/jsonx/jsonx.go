// Package jsonx is livecb's one JSON encoding: what every command writes as
// JSON (--output json, capture records, reports) and every value livecb
// puts into a body goes through it, so that its promises hold everywhere:
//
//   - no HTML escaping: "&", "<" and ">" are written as they are, so a value
//     set on the command line reaches the wire exactly as typed (encoding/json
//     would write \u0026);
//   - nothing that can change what a terminal or an editor shows is written
//     raw: control characters (C0, DEL, C1 such as U+009B, the one-byte CSI),
//     bidirectional controls (U+202E and friends), the line separators
//     U+2028/U+2029 and invisible format characters (see Unsafe) are
//     written as \u escapes. The value a JSON reader gets is unchanged; only
//     its spelling differs.
//
// Invalid UTF-8 inside a string becomes U+FFFD, as with encoding/json.
package jsonx

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/bits"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// plain[b] is true for the ASCII bytes a JSON string holds as they are.
var plain = func() (t [256]bool) {
	for b := 0x20; b < 0x7f; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// Unsafe reports whether r can change what a terminal or a viewer shows
// without being seen itself; jsonx writes it escaped, and term.Sanitize
// shows it escaped, so that the two cannot disagree:
//
//   - control characters: C0, DEL and C1 (U+009B is a one-byte CSI);
//   - bidirectional controls (Unicode's Bidi_Control: U+061C, U+200E/F,
//     U+202A-U+202E, U+2066-U+2069), which make a line read differently
//     from its bytes;
//   - the line and paragraph separators U+2028/U+2029, line breaks to some
//     viewers and JavaScript;
//   - invisible format characters that can hide or split text: U+00AD
//     (soft hyphen), U+180E, U+200B (zero width space), U+2060-U+2064,
//     the deprecated U+206A-U+206F, U+FEFF (BOM), U+FFF9-U+FFFB
//     (interlinear annotation) and the tag characters U+E0001 and
//     U+E0020-U+E007F, which can carry a whole hidden ASCII text. The
//     only emoji that use tags, the flags of England, Scotland and Wales,
//     are shown with their tags escaped.
//
// U+200C and U+200D (zero width non-joiner and joiner) are not unsafe:
// Persian and Indic scripts need them, and emoji sequences (👨‍👩‍👧) are
// joined by U+200D. Variation selectors (❤️) are not either.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r < 0xad:
		return false
	case r == 0xad, r == 0x061c, r == 0x180e:
		return true
	case r < 0x200b:
		return false
	case r == 0x200b, r == 0x200e, r == 0x200f, r >= 0x2028 && r <= 0x202e,
		r >= 0x2060 && r <= 0x2064, r >= 0x2066 && r <= 0x206f:
		return true
	case r == 0xfeff, r >= 0xfff9 && r <= 0xfffb:
		return true
	case r == 0xe0001, r >= 0xe0020 && r <= 0xe007f:
		return true
	}
	return false
}

// AppendString appends s as a JSON string to dst.
//
// Plain ASCII is copied eight bytes at a time, before it is looked at, and
// the copy cut at the first byte that needs a look (a quote or backslash,
// escaped right there, a control, DEL or any byte of a multi-byte
// character): a capture record's body is one string with a quote every few
// bytes, and escaping it byte by byte was the most of encoding a record
// (FuzzAppendString holds it to encoding/json).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if start < i && i+8 <= len(s) {
			// (What the slow path let through as it is, not yet copied.)
			dst = append(dst, s[start:i]...)
			start = i
		}
		if i+8 <= len(s) {
			dst, i = appendWords(dst, s, i)
			start = i
		}
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		if b := s[i]; b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = appendEscape(dst, rune(b))
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case Unsafe(c):
			dst = append(dst, s[start:i]...)
			dst = appendEscape(dst, c)
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendWords is AppendString's fast path: it appends s from i on, eight
// bytes at a time, escaping quotes and backslashes, while eight bytes
// remain, and stops at the first byte that needs a look (a control, DEL,
// any byte of a multi-byte character), which it returns the index of.
//
// Room for the worst case (every byte escaped) is made first, so that the
// loop has no capacity check and its pointers no bounds to check: with
// both (reslicing for each word), a body, with a quote every ten bytes,
// cost 4,300 instructions; now 3,150 (BenchmarkAppendStringBody). (At
// most wordsChunk bytes of s a call: a long string's room is not made
// twice its size at once.) Finding every quote of a word at once, and
// moving the rest of the word on for each, cost more: see bench/README.md.
func appendWords(dst []byte, s string, i int) ([]byte, int) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	end := min(len(s), i+wordsChunk)
	// (Each byte read makes at most two: at the top of a turn
	// j-len(dst) <= 2*(i-i0), and a turn writes at most nine bytes from
	// j, with i+8 <= end.)
	d, j, out := withRoom(dst, 2*(end-i))
	src := unsafe.Pointer(unsafe.StringData(s))
	for i+8 <= end {
		x := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(src, i))[:])
		binary.LittleEndian.PutUint64((*[8]byte)(unsafe.Add(out, j))[:], x)
		// A byte needs a look when its high bit is set in x (from 0x80),
		// in x+1 (0x7f), in x-0x20 (below 0x20), or in q-1 or bs-1 (a
		// quote or backslash). Each of these sets the high bit of bytes
		// from 0x80 on anyway, so none needs the usual "and not itself"
		// of a zero-byte test; carries and borrows only ever flag bytes
		// above one that needs a look.
		q, bs := x^(ones*'"'), x^(ones*'\\')
		m := (x | (x + ones) | (x - ones*0x20) | (q - ones) | (bs - ones)) & highs
		if m == 0 {
			i, j = i+8, j+8
			continue
		}
		// The lowest flagged byte is the first that needs a look.
		k := bits.TrailingZeros64(m) >> 3
		c := byte(x >> (k << 3))
		if c != '"' && c != '\\' {
			i, j = i+k, j+k
			break
		}
		// A quote or backslash: its escape over the copy, and on.
		e := (*[2]byte)(unsafe.Add(out, j+k))
		e[0], e[1] = '\\', c
		i, j = i+k+1, j+k+2
	}
	return d[:j], i
}

// withRoom is dst with room for n more bytes, whole (d, to be cut back to
// what was written), with the length of dst (j) and d's start (out), for
// the word loops' writes through pointers.
func withRoom(dst []byte, n int) (d []byte, j int, out unsafe.Pointer) {
	dst = slices.Grow(dst, n)
	d = dst[:cap(dst)]
	return d, len(dst), unsafe.Pointer(unsafe.SliceData(d))
}

// wordsChunk is the most of a string appendWords takes at a time.
const wordsChunk = 4 << 10

// String returns s as a JSON string.
func String(s string) []byte { return AppendString(make([]byte, 0, len(s)+2), s) }

// appendEscape writes r as \uXXXX, or as a UTF-16 surrogate pair beyond
// U+FFFF (the tag characters), as JSON spells those.
func appendEscape(dst []byte, r rune) []byte {
	if r > 0xffff {
		hi, lo := utf16.EncodeRune(r)
		return appendEscape(appendEscape(dst, hi), lo)
	}
	return append(dst, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}

// IsSpace reports whether c is JSON's white space (RFC 8259: space, tab,
// line feed, carriage return).
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Word is the eight bytes of w as a little-endian word, for the loops that
// look at a string's bytes eight at a time (one load: w has eight).
func Word(w string) uint64 {
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// PrintableRun is the length of the run of printable ASCII bytes (0x20 to
// 0x7e) s starts with, eight bytes at a time: a listener sanitises the
// strings of every line it prints (term.Sanitize), and looks at every
// body it holds as JSON in a capture line (RawSafe).
func PrintableRun(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := Word(s[i : i+8])
		// A byte's high bit is set in x-0x20 when it is below 0x20, in x+1
		// from 0x7f on, in x from 0x80 on; a borrow or carry only flags
		// the bytes above a flagged one, so the lowest flag is the first
		// byte that is not printable ASCII.
		if m := ((x - ones*0x20) | x | (x + ones)) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	return i
}

// RawSafe reports whether s holds no character AppendString would escape
// but the quote and the backslash: no control, DEL, invalid UTF-8 or
// Unsafe character. JSON text whose strings have none of them can stand in
// a line of JSON as it is, and show no more than its escaped form would.
func RawSafe(s string) bool {
	for _, r := range s[PrintableRun(s):] {
		if r == utf8.RuneError || Unsafe(r) {
			return false
		}
	}
	return true
}

// Marshal is json.Marshal with jsonx's escaping.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return EscapeUnsafe(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// MarshalIndent is json.MarshalIndent with jsonx's escaping.
func MarshalIndent(v any, prefix, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return EscapeUnsafe(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// EscapeUnsafe rewrites the unsafe runes (see Unsafe) that encoding/json
// leaves raw (DEL, C1 and bidirectional controls) as \u escapes, in place
// when there are none. b must be JSON text: outside strings JSON has only
// ASCII, so every such rune is inside a string, where an escape means the
// same.
func EscapeUnsafe(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < 0x7f {
		i++
	}
	if i == len(b) {
		return b
	}
	var out []byte
	start := 0
	for i < len(b) {
		c := b[i]
		if c < 0x7f {
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(b[i:])
		}
		if Unsafe(r) {
			if out == nil {
				out = make([]byte, 0, len(b)+16)
			}
			out = append(out, b[start:i]...)
			out = appendEscape(out, r)
			start = i + size
		}
		i += size
	}
	if out == nil {
		return b
	}
	return append(out, b[start:]...)
}

// Encoder writes one JSON value per line.
type Encoder struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	e := &Encoder{w: w}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// SetIndent indents each value as json.Encoder.SetIndent does.
func (e *Encoder) SetIndent(prefix, indent string) { e.enc.SetIndent(prefix, indent) }

// Encode writes v and a newline with one Write.
func (e *Encoder) Encode(v any) error {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return err
	}
	_, err := e.w.Write(EscapeUnsafe(e.buf.Bytes()))
	return err
}
