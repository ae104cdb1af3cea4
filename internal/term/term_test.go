package term

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/livecb/livecb/internal/jsonx"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestColorEnabled(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		tty     bool
		noColor bool
		want    bool
	}{
		{"terminal", nil, true, false, true},
		{"piped", nil, false, false, false},
		{"NO_COLOR on a terminal", map[string]string{"NO_COLOR": "1"}, true, false, false},
		{"NO_COLOR any value", map[string]string{"NO_COLOR": "false"}, true, false, false},
		{"NO_COLOR empty is unset", map[string]string{"NO_COLOR": ""}, true, false, true},
		{"--no-color on a terminal", nil, true, true, false},
		{"CLICOLOR=0 on a terminal", map[string]string{"CLICOLOR": "0"}, true, false, false},
		{"CLICOLOR=1 piped stays off", map[string]string{"CLICOLOR": "1"}, false, false, false},
		{"CLICOLOR=1 on a terminal", map[string]string{"CLICOLOR": "1"}, true, false, true},
		{"CLICOLOR_FORCE piped", map[string]string{"CLICOLOR_FORCE": "1"}, false, false, true},
		{"CLICOLOR_FORCE=0 is not forcing", map[string]string{"CLICOLOR_FORCE": "0"}, false, false, false},
		{"CLICOLOR_FORCE beats CLICOLOR=0", map[string]string{"CLICOLOR_FORCE": "1", "CLICOLOR": "0"}, false, false, true},
		{"NO_COLOR beats CLICOLOR_FORCE", map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, true, false, false},
		{"--no-color beats CLICOLOR_FORCE", map[string]string{"CLICOLOR_FORCE": "1"}, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ColorEnabled(env(tt.vars), tt.tty, tt.noColor); got != tt.want {
				t.Errorf("ColorEnabled(%v, tty=%v, noColor=%v) = %v, want %v", tt.vars, tt.tty, tt.noColor, got, tt.want)
			}
		})
	}
}

func TestPalette(t *testing.T) {
	on, off := NewPalette(true), NewPalette(false)
	for name, f := range map[string][2]func(string) string{
		"OK": {on.OK, off.OK}, "Bad": {on.Bad, off.Bad}, "Warn": {on.Warn, off.Warn},
		"Dim": {on.Dim, off.Dim}, "Bold": {on.Bold, off.Bold},
	} {
		if got := f[0]("x"); !strings.HasPrefix(got, "\x1b[") || !strings.Contains(got, "x") {
			t.Errorf("enabled %s(x) = %q, want an SGR sequence around x", name, got)
		}
		if got := f[1]("x"); got != "x" {
			t.Errorf("disabled %s(x) = %q, want x", name, got)
		}
	}
}

func TestNeverWaits(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if NeverWaits(w) || NeverWaits(r) {
		t.Error("a pipe's reader waits for its writer, and its writer for its reader")
	}
	if NeverWaits(&bytes.Buffer{}) || NeverWaits((*os.File)(nil)) {
		t.Error("only a file can be known not to wait")
	}
	f, err := os.Create(t.TempDir() + "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !NeverWaits(f) {
		t.Error("a regular file never waits")
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if !NeverWaits(null) {
		t.Errorf("%s never waits", os.DevNull)
	}
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a bytes.Buffer is not a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) {
		t.Error("a pipe is not a terminal")
	}
	f, err := os.Create(t.TempDir() + "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is not a terminal")
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain ASCII", "live/350802 ok", "live/350802 ok"},
		{"non-ASCII kept", "直播-流 ü", "直播-流 ü"},
		{"empty", "", ""},
		{"CSI colour", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"OSC title", "\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"NUL", "a\x00b", `a\x00b`},
		{"newline and CR", "a\nb\rc", `a\nb\rc`},
		{"tab", "a\tb", `a\tb`},
		{"backspace", "abc\b\b", `abc\b\b`},
		{"DEL", "a\x7f", `a\x7f`},
		{"C1 CSI", "a\u009b31m", `a\u009b31m`},
		{"C1 NEL", "a\u0085b", `a\u0085b`},
		{"invalid UTF-8 byte", "a\xffb", `a\xffb`},
		{"truncated UTF-8", "a\xe7\x9b", `a\xe7\x9b`},
		{"lone continuation", "\x80", `\x80`},
		{"RLO override", "abc\u202egpj.exe", `abc\u202egpj.exe`},
		{"LRO and PDF", "\u202dx\u202c", `\u202dx\u202c`},
		{"isolates", "\u2066x\u2069", `\u2066x\u2069`},
		{"RLM", "a\u200fb", `a\u200fb`},
		{"encoded replacement char kept", "a\uFFFDb", "a\uFFFDb"},
		{"ALM", "a\u061cb", `a\u061cb`},
		{"line separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"zero width space", "pass\u200bword", `pass\u200bword`},
		{"BOM", "\ufeffok", `\ufeffok`},
		{"soft hyphen", "to\u00adken", `to\u00adken`},
		{"word joiner", "a\u2060b", `a\u2060b`},
		{"tag characters", "ok\U000E0041\U000E007F", `ok\U000e0041\U000e007f`},
		{"accents, combining and precomposed", "café cafe\u0301 Ñ", "café cafe\u0301 Ñ"},
		{"emoji with joiners and selectors", "👨\u200d👩\u200d👧 ❤\ufe0f 👍🏽 🎥", "👨\u200d👩\u200d👧 ❤\ufe0f 👍🏽 🎥"},
		{"Persian with a non-joiner", "می\u200cخواهم", "می\u200cخواهم"},
		{"no-break space", "a\u00a0b", "a\u00a0b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sanitize(tt.in)
			if got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, r := range got {
				if r < 0x20 || (r >= 0x7f && r < 0xa0) {
					t.Errorf("Sanitize(%q) = %q still holds control %U", tt.in, got, r)
				}
			}
		})
	}
}

func TestSanitizeLines(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"one":                  "one",
		"a\x1b[2J\nb\r\n\tc\n": "a\\x1b[2J\nb\\r\n\\tc\n",
	} {
		if got := SanitizeLines(in); got != want {
			t.Errorf("SanitizeLines(%q) = %q, want %q", in, got, want)
		}
	}
}

// unsafeForTerminal lists, independently of jsonx.Unsafe, what must never
// reach a terminal raw.
func unsafeForTerminal(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0x061c || r == 0x200e || r == 0x200f ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x2028 || r == 0x2029 ||
		r == 0x200b || r == 0xfeff || r == 0x00ad || r == 0xe0001 || (r >= 0xe0020 && r <= 0xe007f)
}

// FuzzSanitize: the output holds no unsafe rune and is valid UTF-8;
// sanitising twice changes nothing more; text with nothing unsafe comes
// back as it is.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"ok", "\x1b[31m", "\xff", "\u202e", "a\u009bb", "直播 👨\u200d👩", "\u2028", "\U000E0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		for i, r := range got {
			if unsafeForTerminal(r) || jsonx.Unsafe(r) {
				t.Fatalf("Sanitize(%q) = %q: unsafe %U at %d", s, got, r, i)
			}
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Sanitize(%q) = %q: invalid UTF-8 passed through", s, got)
		}
		if Sanitize(got) != got {
			t.Fatalf("Sanitize is not idempotent on %q", got)
		}
		safe := utf8.ValidString(s)
		for _, r := range s {
			safe = safe && !unsafeForTerminal(r) && !jsonx.Unsafe(r)
		}
		if safe && got != s {
			t.Fatalf("Sanitize(%q) = %q: safe text changed", s, got)
		}
		if !safe && got == s {
			t.Fatalf("Sanitize(%q) left unsafe text as it is", s)
		}
	})
}
