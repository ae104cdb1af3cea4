package jsonx

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// unescapeAll decodes the inside of a JSON string with AppendUnescaped,
// copying what is not an escape.
func unescapeAll(s string) (string, bool) {
	b := []byte(s)
	var out []byte
	for i := 0; i < len(b); {
		if b[i] != '\\' {
			out = append(out, b[i])
			i++
			continue
		}
		var n int
		var ok bool
		if out, n, ok = AppendUnescaped(out, b[i:]); !ok {
			return "", false
		}
		i += n
	}
	return string(out), true
}

// FuzzAppendUnescaped: whatever the escapes, what AppendUnescaped makes
// of a string's inside is what encoding/json makes of the string, and it
// refuses what encoding/json refuses.
func FuzzAppendUnescaped(f *testing.F) {
	for _, s := range []string{`a\"b\\c\/d\be\ff\ng\rh\ti`, `\u00e9\u0041`, `\ud83d\ude00`, `\ud83d`, `\ud83dx`,
		`\ud83d\u0041`, `\ude00\ud83d`, `\ud83d\uzzzz`, `\u12`, `\x`, `\`, `\U0041`, `\u00E9\uD83D\uDE00`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // (the readers check UTF-8 first)
		}
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] < 0x20 {
				return // not the inside of a string
			}
		}
		var want string
		wantErr := json.Unmarshal([]byte(`"`+s+`"`), &want)
		got, ok := unescapeAll(s)
		if ok != (wantErr == nil) || ok && got != want {
			t.Fatalf("%q: %q %v, encoding/json %q %v", s, got, ok, want, wantErr)
		}
	})
}

// TestPlainRun: the eight-at-a-time scan stops where the byte-at-a-time
// one does, whatever byte is special and wherever it is.
func TestPlainRun(t *testing.T) {
	for n := 0; n < 40; n++ {
		for _, special := range []byte{'"', '\\', 0, 0x1f, 0x01} {
			for at := 0; at <= n; at++ {
				b := bytes.Repeat([]byte("a\x7f\xff \x20!~é"), 6)[:n]
				b = append(b[:at:at], special)
				b = append(b, "xyz\"..."...)
				want := 0
				for want < len(b) && strPlain[b[want]] {
					want++
				}
				if got := PlainRun(b); got != want {
					t.Fatalf("%q: %d, want %d", b, got, want)
				}
			}
		}
		b := bytes.Repeat([]byte{0x20, 0x21, 0x7e, 0x80, 0xfe, 0x5b, 0x5d}, 8)[:n]
		if got := PlainRun(b); got != n {
			t.Errorf("%q: %d, want %d (all plain)", b, got, n)
		}
	}
}

// FuzzAppendUnescapedString: AppendUnescapedString reads a string's rest
// as encoding/json reads the string (its value, where it ends, what it
// refuses), appends after what dst held, whatever dst's spare capacity
// (the eight-byte copies run ahead of what they keep).
func FuzzAppendUnescapedString(f *testing.F) {
	for _, s := range []string{`abc"`, `a\"b\\c\/d\be\ff\ng\rh\ti" tail`, `\u00e9\u0041"`, `\ud83d\ude00"x`, `\ud83d"`,
		`{\"version\":\"v1.1\",\"publishDomain\":\"push.yourdomain.com\",\"appName\":\"live\"}\n","size":405`,
		`no end`, "ctl\x01\"", `\x"`, `12345678"`, `1234567"`, `123456789012345678901234\"5"`, `\`} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, spare uint8) {
		if !utf8.ValidString(s) {
			return // (the readers check UTF-8 first)
		}
		dec := json.NewDecoder(strings.NewReader(`"` + s))
		tok, err := dec.Token()
		want, isString := tok.(string)
		wantOK := err == nil && isString
		dst := make([]byte, 3, 3+int(spare%24))
		copy(dst, "pre")
		out, n, ok := AppendUnescapedString(dst, []byte(s))
		if ok != wantOK {
			t.Fatalf("%q: ok %v, encoding/json %q %v", s, ok, tok, err)
		}
		if !ok {
			return
		}
		if string(out[:3]) != "pre" || string(out[3:]) != want || n != int(dec.InputOffset())-1 {
			t.Fatalf("%q: %q, %d bytes; encoding/json %q, %d bytes", s, out, n, want, dec.InputOffset()-1)
		}
	})
}
