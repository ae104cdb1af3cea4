package capture

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// The encoder of records, without reflection: a listener encodes one per
// request, and encoding/json's reflection cost more than the system call
// that writes the line. It writes the same bytes as json.Marshal of a
// Record (capture_test.go compares them); the rare parts (findings, a
// forwarded request) still go through encoding/json.

// appendRecord appends r's JSON from the field after "seq" on (starting
// with its comma) to dst.
func appendRecord(dst []byte, r *Record) ([]byte, error) {
	dst = append(dst, `,"time":`...)
	dst = appendTime(dst, r.Time)
	dst = append(dst, `,"remote":`...)
	dst = appendString(dst, r.Remote)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, r.Method)
	dst = append(dst, `,"target":`...)
	dst = appendString(dst, r.Target)
	if r.Host != "" {
		dst = append(dst, `,"host":`...)
		dst = appendString(dst, r.Host)
	}
	dst = append(dst, `,"header":`...)
	dst = appendHeader(dst, r.Header)
	if len(r.HeaderRaw) > 0 {
		dst = append(dst, `,"header_raw":`...)
		dst = appendHeader(dst, r.HeaderRaw)
	}
	dst = append(dst, `,"body":`...)
	dst = appendString(dst, r.Body)
	if r.Encoding != "" {
		dst = append(dst, `,"encoding":`...)
		dst = appendString(dst, r.Encoding)
	}
	dst = append(dst, `,"size":`...)
	dst = strconv.AppendInt(dst, r.Size, 10)
	if r.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	if r.Redacted {
		dst = append(dst, `,"redacted":true`...)
	}
	if r.Kind != "" {
		dst = append(dst, `,"kind":`...)
		dst = appendString(dst, string(r.Kind))
	}
	if len(r.Findings) > 0 {
		b, err := json.Marshal(r.Findings)
		if err != nil {
			return dst, err
		}
		dst = append(dst, `,"findings":`...)
		dst = append(dst, b...)
	}
	dst = append(dst, `,"answer":{"status":`...)
	dst = strconv.AppendInt(dst, int64(r.Answer.Status), 10)
	if r.Answer.Body != "" {
		dst = append(dst, `,"body":`...)
		dst = appendString(dst, r.Answer.Body)
	}
	if r.Answer.Forwarded != nil {
		b, err := json.Marshal(r.Answer.Forwarded)
		if err != nil {
			return dst, err
		}
		dst = append(dst, `,"forwarded":`...)
		dst = append(dst, b...)
	}
	return append(dst, "}}"...), nil
}

// appendTime is time.Time's MarshalJSON (RFC 3339 with nanoseconds) for
// the years it accepts.
func appendTime(dst []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		b, _ := json.Marshal(t) // encoding/json's error, as json.Marshal
		return append(dst, b...)
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// appendHeader encodes a header as encoding/json encodes a map of string
// slices: keys sorted, nil as null.
func appendHeader(dst []byte, h map[string][]string) []byte {
	if h == nil {
		return append(dst, "null"...)
	}
	var small [32]string
	keys := small[:0]
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		vs := h[k]
		if vs == nil {
			dst = append(dst, "null"...)
			continue
		}
		dst = append(dst, '[')
		for j, v := range vs {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, v)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// plain[b] is true for the ASCII bytes a JSON string holds as they are
// (one table lookup per byte instead of six comparisons: a record is
// mostly such bytes); false for the rest, and for every byte of a
// multi-byte rune, which the loop then decodes.
var plain = func() (t [256]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// appendString quotes s as encoding/json does (HTML-safe: <, > and & are
// escaped; invalid UTF-8 becomes U+FFFD; U+2028 and U+2029 are escaped).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
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
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
