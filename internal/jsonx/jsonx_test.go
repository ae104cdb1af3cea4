package jsonx

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestAppendStringEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{"http://h/x.flv?x=1&y=2<b>", `"http://h/x.flv?x=1&y=2<b>"`},
		{"a\"b\\c", `"a\"b\\c"`},
		{"\n\r\t\b\f\x00\x1b", `"\n\r\t\b\f\u0000\u001b"`},
		{"del\x7f", `"del\u007f"`},
		{"csi\u009b31m", `"csi\u009b31m"`},
		{"rtl\u202egnp.exe", `"rtl\u202egnp.exe"`},
		{"iso\u2066x\u2069", `"iso\u2066x\u2069"`},
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
		{"bad\xff", `"bad\ufffd"`},
		{"zw\u200bsp\ufeffbom\u00adshy\u2060wj", `"zw\u200bsp\ufeffbom\u00adshy\u2060wj"`},
		{"tag\U000E0041\U000E007F", `"tag\udb40\udc41\udb40\udc7f"`},
		{"👨\u200d👩\u200d👧 ❤\ufe0f e\u0301 سلام\u200cها", "\"👨\u200d👩\u200d👧 ❤\ufe0f e\u0301 سلام\u200cها\""},
		{"直播间🎥é", `"直播间🎥é"`},
	} {
		if got := string(String(c.in)); got != c.want {
			t.Errorf("String(%q) = %s, want %s", c.in, got, c.want)
		}
		var back string
		if err := json.Unmarshal(String(c.in), &back); err != nil {
			t.Fatalf("String(%q) is not JSON: %v", c.in, err)
		}
		if want := strings.ToValidUTF8(c.in, "\ufffd"); back != want {
			t.Errorf("String(%q) decodes to %q", c.in, back)
		}
	}
}

// TestUnsafe: every control and bidirectional control is unsafe, and
// nothing that is a letter, mark, number, symbol, punctuation or space is:
// what Unsafe adds beyond controls are format characters (Cf) and the two
// separators.
func TestUnsafe(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		u := Unsafe(r)
		if (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == 0x2028 || r == 0x2029) && !u {
			t.Errorf("%U is not unsafe", r)
		}
		if u && !unicode.IsControl(r) && !unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Errorf("%U is unsafe but printable", r)
		}
	}
	for _, r := range []rune{0x00ad, 0x180e, 0x200b, 0x2060, 0x2064, 0x206a, 0x206f, 0xfeff, 0xfff9, 0xfffb, 0xe0001, 0xe0020, 0xe007f} {
		if !Unsafe(r) {
			t.Errorf("the format character %U is not unsafe", r)
		}
	}
	for _, r := range []rune{' ', '~', 0xa0, 0xe9, 0x301, 0x200c, 0x200d, 0xfe0f, 0xfffd, '直', 0x1f3a5, 0x1f3fd} {
		if Unsafe(r) {
			t.Errorf("%U (%c) is unsafe", r, r)
		}
	}
}

func TestMarshalMatchesEncodingJSONButForEscapes(t *testing.T) {
	v := map[string]any{"target": "/x?a=1&b=2", "evil": "\u009b\u202e", "n": 1.5, "list": []string{"<>"}}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"evil":"\u009b\u202e","list":["<>"],"n":1.5,"target":"/x?a=1&b=2"}`
	if string(got) != want {
		t.Fatalf("Marshal = %s\nwant      %s", got, want)
	}
	var a, b any
	std, _ := json.Marshal(v)
	json.Unmarshal(got, &a)
	json.Unmarshal(std, &b)
	if !jsonEqual(a, b) {
		t.Fatalf("Marshal decodes to %v, encoding/json's to %v", a, b)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestEncoderOneLinePerValue(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	enc.Encode(map[string]string{"a": "x&y"})
	enc.Encode([]string{"\u202e"})
	if got, want := buf.String(), "{\"a\":\"x&y\"}\n[\"\\u202e\"]\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestEscapeUnsafeLeavesCleanInputAlone(t *testing.T) {
	in := []byte(`{"a":"直播间 plain"}`)
	if out := EscapeUnsafe(in); &out[0] != &in[0] {
		t.Fatal("clean input was copied")
	}
}

// FuzzAppendString checks that every string encodes to JSON that decodes to
// the same string (invalid UTF-8 aside) and holds no unsafe rune raw.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a&b", "\u009b", "\u202e", "\xff\xfe", "\x7f", "\u2028", "\U000E0041", "\ufeff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := String(s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want && utf8.ValidString(s) {
			t.Fatalf("%q -> %s -> %q", s, b, back)
		}
		for _, r := range string(b) {
			if Unsafe(r) {
				t.Fatalf("%q -> %s holds %U raw", s, b, r)
			}
		}
		m, err := Marshal(s)
		if err != nil || !bytes.Equal(m, b) {
			t.Fatalf("Marshal(%q) = %s, String = %s", s, m, b)
		}
	})
}

// TestAppendStringDenseEscapes: strings thick with what a word at a time
// must find exactly (quotes and backslashes side by side, next to controls,
// DEL, multi-byte characters and invalid bytes, at every offset of a word)
// encode as Marshal encodes them.
func TestAppendStringDenseEscapes(t *testing.T) {
	alphabet := []string{`"`, `\`, "a", "\x01", "\x7f", "é", "\u2028", "\xff", "~", " ", "#", "]"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for n := r.IntN(40); n > 0; n-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := b.String()
		want, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := String(s); !bytes.Equal(got, want) {
			t.Fatalf("String(%q) = %s, want %s", s, got, want)
		}
		// Appended after other bytes: the words fall elsewhere in dst.
		if got := AppendString([]byte("xyz"), s); !bytes.Equal(got[3:], want) {
			t.Fatalf("AppendString(xyz, %q) = %s, want %s", s, got[3:], want)
		}
	}
}

// TestLongStringsAcrossChunks: strings longer than the fast paths take at
// a time (wordsChunk), dense with quotes and backslashes or plain, with
// the rare byte that needs a look anywhere (across a chunk's end too),
// encode as Marshal encodes them and decode back to themselves, appended
// to a buffer with room to spare or none at all.
func TestLongStringsAcrossChunks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	dense := []string{`"`, `\`, "a", "bcdefgh", `{"k":"v"}`, "/"}
	rare := []string{"\x01", "\x7f", "é", "\u2028", "\xff", "\n"}
	for _, size := range []int{wordsChunk - 9, wordsChunk, wordsChunk + 1, 2*wordsChunk + 7, 5*wordsChunk + 3} {
		for round := range 30 {
			var b strings.Builder
			for b.Len() < size {
				if round%3 != 0 && r.IntN(200) == 0 {
					b.WriteString(rare[r.IntN(len(rare))])
				} else {
					b.WriteString(dense[r.IntN(len(dense))])
				}
			}
			s := b.String()
			want, err := Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, dst := range [][]byte{nil, make([]byte, 3, 3+2*len(s)+64)} {
				got := AppendString(dst, s)
				if !bytes.Equal(got[len(dst):], want) {
					t.Fatalf("%d bytes, round %d: AppendString differs from Marshal", len(s), round)
				}
				back, n, ok := AppendUnescapedString(dst, want[1:])
				if !ok || n != len(want)-1 {
					t.Fatalf("%d bytes, round %d: AppendUnescapedString refused its encoding (ok %v, %d of %d)", len(s), round, ok, n, len(want)-1)
				}
				if utf8.ValidString(s) && string(back[len(dst):]) != s {
					t.Fatalf("%d bytes, round %d: decoded back differently", len(s), round)
				}
				var viaJSON string
				if err := json.Unmarshal(want, &viaJSON); err != nil || string(back[len(dst):]) != viaJSON {
					t.Fatalf("%d bytes, round %d: decoded otherwise than encoding/json (%v)", len(s), round, err)
				}
			}
		}
	}
}

// TestPrintableRunEveryByteEverywhere: each byte value at each place of
// two words and a tail, among printable bytes, is where the run ends
// exactly when it is not printable ASCII.
func TestPrintableRunEveryByteEverywhere(t *testing.T) {
	for c := 0; c < 256; c++ {
		for at := 0; at < 19; at++ {
			for _, around := range []byte{' ', '~', 'a'} {
				b := bytes.Repeat([]byte{around}, 19)
				b[at] = byte(c)
				want := len(b)
				if c < 0x20 || c >= 0x7f {
					want = at
				}
				if got := PrintableRun(string(b)); got != want {
					t.Fatalf("PrintableRun(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
}

// TestRawSafe: text JSON holds as it is, and what it must not.
func TestRawSafe(t *testing.T) {
	for s, want := range map[string]bool{
		`{"a":"b\"c\\d","n":1}`:     true,
		"{\"s\":\"直播 👨\u200d👩 é\"}": true,
		`{"a":"\u202e"}`:            true, // (an escape: ASCII)
		"{\"a\":1}\n":               false,
		"{\"a\":\t1}":               false,
		"{\"a\":\"\x7f\"}":          false,
		"{\"a\":\"\u0085\"}":        false,
		"{\"a\":\"\u202e\"}":        false,
		"{\"a\":\"\u2028\"}":        false,
		"{\"a\":\"\xff\"}":          false,
		"{\"a\":\"\U000E0041\"}":    false,
	} {
		if got := RawSafe(s); got != want {
			t.Errorf("RawSafe(%q) = %v, want %v", s, got, want)
		}
		// What RawSafe lets through, AppendString escapes only where
		// JSON must: the quote and the backslash.
		if want {
			esc := string(AppendString(nil, s))
			plain := strings.NewReplacer(`\"`, "", `\\`, "").Replace(esc[1 : len(esc)-1])
			if strings.Contains(plain, `\`) {
				t.Errorf("RawSafe(%q), but AppendString escapes more: %s", s, esc)
			}
		}
	}
}
