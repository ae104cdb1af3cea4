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
	if code != ExitCheckFailed || !strings.Contains(out.String(), "snapshot  INVALID, 1 error") ||
		!strings.Contains(out.String(), "[content_encoding]") || strings.Contains(out.String(), "stale body finding") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}
