package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
)

// Validation runs on all cores; results must still come out in input order
// with exact counts, across many batches.
func TestValidateKeepsOrderAcrossBatches(t *testing.T) {
	var in bytes.Buffer
	good := event.Fixture(event.PublishDone)
	const n = 2000
	for i := 1; i <= n; i++ {
		if i%7 == 0 {
			fmt.Fprintf(&in, "{\"line\": %d,}\n", i) // not JSON
		} else {
			in.Write(good)
			in.WriteByte('\n')
		}
	}
	path := filepath.Join(t.TempDir(), "many.ndjson")
	if err := os.WriteFile(path, in.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Main([]string{"validate", "--output", "json", path}, Streams{Out: &out, Err: &errOut, Getenv: func(string) string { return "" }}, BuildInfo{Version: "test"})
	if code != ExitCheckFailed {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != n {
		t.Fatalf("%d results, want %d", len(lines), n)
	}
	for i, l := range lines {
		var r validateResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Line != i+1 || r.Valid != ((i+1)%7 != 0) {
			t.Fatalf("result %d is line %d valid=%v", i+1, r.Line, r.Valid)
		}
	}
	if want := fmt.Sprintf("2000 callbacks: %d valid (0 with warnings), %d invalid\n", n-n/7, n/7); errOut.String() != want {
		t.Errorf("summary %q, want %q", errOut.String(), want)
	}
}

// A capture's request-level findings (here a gzip body) stay in validate's
// verdict, since the body alone cannot show them; body findings are made
// afresh.
func TestValidateKeepsRequestFindingsOfCaptures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	rec := &capture.Record{Method: "POST", Target: "/cb", Findings: event.Findings{
		{Severity: event.Error, Code: listen.CodeContentEncoding, Message: `Content-Encoding "gzip"`},
		{Severity: event.Error, Code: event.CodeNotJSON, Message: "stale body finding"},
	}}
	rec.SetBody(event.Fixture(event.Snapshot))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var out, errOut bytes.Buffer
	code := Main([]string{"validate", path}, Streams{Out: &out, Err: &errOut, Getenv: func(string) string { return "" }}, BuildInfo{Version: "test"})
	if code != ExitCheckFailed || !strings.Contains(out.String(), "snapshot          INVALID, 1 error") ||
		!strings.Contains(out.String(), "[content_encoding]") || strings.Contains(out.String(), "stale body finding") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}

func runValidate(t *testing.T, s Streams, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	s.Out, s.Err, s.Getenv = &out, &errOut, func(string) string { return "" }
	code := Main(append([]string{"validate"}, args...), s, BuildInfo{Version: "test"})
	return code, out.String(), errOut.String()
}

// Without a file, validate reads standard input, unless it is a terminal:
// then nobody is about to type callbacks, and it says what to do instead
// of waiting in silence.
func TestValidateNoFileOnTerminal(t *testing.T) {
	code, out, errOut := runValidate(t, Streams{In: strings.NewReader(""), InTTY: true})
	if code != ExitUsage || out != "" || !strings.HasPrefix(errOut,
		"Error: no FILE given, and standard input is a terminal: name the files to check, or pipe callbacks in (livecb validate - < capture.ndjson)\nUsage: livecb validate [FILE...|-] [flags]\n") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// An explicit - still reads the terminal.
	code, out, _ = runValidate(t, Streams{In: strings.NewReader(string(event.Fixture(event.Snapshot))), InTTY: true}, "-")
	if code != ExitOK || out != "stdin:1  snapshot          OK\n" {
		t.Errorf("validate - on a terminal: exit %d, %q", code, out)
	}
	code, _, errOut = runValidate(t, Streams{In: strings.NewReader("")})
	if code != ExitCheckFailed || errOut != "Error: no callbacks in stdin (empty, or only blank lines): nothing to check\n" {
		t.Errorf("empty stdin: exit %d, %q", code, errOut)
	}
}

func TestValidateMaxRecord(t *testing.T) {
	good := string(event.Fixture(event.PublishDone))
	big := `{"streamName":"` + strings.Repeat("x", 2000) + `"}`
	path := filepath.Join(t.TempDir(), "big.ndjson")
	if err := os.WriteFile(path, []byte(good+"\n"+big+"\n"+good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runValidate(t, Streams{}, "--max-record", "1KiB", path)
	want := fmt.Sprintf("%[1]s:1  publish_done      OK\n"+
		"%[1]s:2  -                 INVALID, 1 error\n"+
		"    error   (body)  record at byte %[2]d is over the 1.0 KiB limit (2,017 bytes read); not checked: raise --max-record to read it [record_too_large]\n"+
		"%[1]s:3  publish_done      OK\n", path, len(good)+1)
	if code != ExitCheckFailed || out != want || errOut != "3 callbacks: 2 valid (0 with warnings), 1 invalid\n" {
		t.Errorf("exit %d\nstdout %s\nwant   %s\nstderr %s", code, out, want, errOut)
	}
	// The default limit reads it: it is checked, and is no callback.
	if _, out, _ := runValidate(t, Streams{}, path); strings.Contains(out, "record_too_large") || !strings.Contains(out, "[unknown_kind]") {
		t.Errorf("default limit:\n%s", out)
	}
	for bad, why := range map[string]string{
		"lots": "not a size: give one such as 16MiB, 512KiB or 1048576",
		"-1":   "not a size: give one such as 16MiB, 512KiB or 1048576",
		"0":    "a size of 0 bytes lets nothing through: give at least 1 (such as 16MiB or 512KiB)",
		"2TiB": "more than 1TiB: give a size up to 1TiB (such as 16MiB or 512KiB)",
	} {
		code, _, errOut := runValidate(t, Streams{}, "--max-record", bad, path)
		if code != ExitUsage || !strings.HasPrefix(errOut, fmt.Sprintf("Error: --max-record %q: %s\n", bad, why)) {
			t.Errorf("--max-record %s: exit %d, %q", bad, code, errOut)
		}
	}
}
