package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/event"
)

// listen --output json writes what came from the network without HTML
// escaping ("&", not "\u0026") and with every control or bidi character
// escaped (no raw U+202E or U+009B).
func TestListenJSONIsUnescapedHTMLAndEscapedControls(t *testing.T) {
	l := startListen(t, "--count", "1", "--output", "json")
	body, err := event.Set(sampleBody(t, event.Snapshot), "streamName", event.StringValue("a&b<c>\u202egnp.exe\u009b31m"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, l.URL+"/x?a=1&b=2", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, out, errOut := l.wait(t)
	if !strings.Contains(out, `"target":"/x?a=1&b=2"`) {
		t.Errorf("target escaped:\n%s", out)
	}
	if strings.Contains(out, "\u202e") || strings.Contains(out, "\u009b") || !strings.Contains(out, `\u202e`) || !strings.Contains(out, `\u009b`) {
		t.Errorf("controls not escaped:\n%q", out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &rec); err != nil {
		t.Fatalf("stdout is not one JSON record: %v\n%s\n%s", err, out, errOut)
	}
}

// demo --output json: stdout carries the records only; the prose goes to
// stderr.
func TestDemoJSONKeepsProseOffStdout(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Main([]string{"demo", "--output", "json", "--save", filepath.Join(t.TempDir(), "d.ndjson")},
		Streams{Out: &out, Err: &errOut, Getenv: noEnv}, BuildInfo{Version: "test"})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	lines := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var rec struct {
			Format string `json:"format"`
			Valid  *bool  `json:"valid"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Format == "" || rec.Valid == nil {
			t.Fatalf("stdout line %d is not a request record: %q", lines+1, sc.Text())
		}
		lines++
	}
	if lines != 7 {
		t.Errorf("%d records, want 7", lines)
	}
	if !strings.Contains(errOut.String(), "livecb demo: a listener on") || !strings.Contains(errOut.String(), "Next:") {
		t.Errorf("the prose is not on stderr:\n%s", errOut.String())
	}
}

// config init reports through the output layer too.
func TestConfigInitJSON(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runIn(t, dir, "config", "init", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rec struct {
		File  string `json:"file"`
		Bytes int    `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.File != "livecb.yaml" || rec.Bytes == 0 {
		t.Errorf("stdout %q: %v", out, err)
	}
	if errOut != "" {
		t.Errorf("stderr: %s", errOut)
	}
	if _, errOut, code := runIn(t, dir, "config", "init", "-", "--output", "json"); code != ExitUsage || !strings.Contains(errOut, "writes the YAML file itself") {
		t.Errorf("config init - --output json: exit %d %s", code, errOut)
	}
}

// --set-string reaches the wire exactly as typed: an "&" in a URL is sent
// as "&", not as encoding/json's "\u0026".
func TestSetStringReachesTheWireAsTyped(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = b
		mu.Unlock()
	}))
	defer srv.Close()
	r := runSend(t, "", false, "send", "record_done", "--set-string", "downloadUrl=http://h/x.flv?x=1&y=2<", "--to", srv.URL)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Contains(got, []byte(`"downloadUrl":"http://h/x.flv?x=1&y=2<"`)) {
		t.Errorf("body: %s", got)
	}
}

// An error no command typed is a bug (exit 5), not an I/O failure.
func TestUntypedErrorsAreInternal(t *testing.T) {
	root := &cobra.Command{Use: "x", SilenceErrors: true, SilenceUsage: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("boom") }}
	wrapRunErrors(root)
	root.SetArgs(nil)
	err := root.Execute()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitInternal || !strings.Contains(ee.Error(), "internal error: boom") {
		t.Fatalf("got %v", err)
	}
}

// A file error says the file and what is wrong, not Go's "open x: ...".
func TestFileErrorsInWords(t *testing.T) {
	_, err := os.Open(filepath.Join(t.TempDir(), "nope.ndjson"))
	got := fileError(err).Error()
	if !strings.HasPrefix(got, "cannot read ") || !strings.HasSuffix(got, "nope.ndjson: no such file: check the path") {
		t.Errorf("got %q", got)
	}
}

// Output lost on a full disk is exit 4 for every command, also those that
// carry on after a failed write (validate prints its verdicts, demo its
// run), and says so on stderr. /dev/full is a real file that refuses
// every write with ENOSPC.
func TestStdoutOnAFullDiskIsExit4(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	defer full.Close()
	good := filepath.Join(t.TempDir(), "good.ndjson")
	body := sampleBody(t, event.PublishDone)
	if err := os.WriteFile(good, append(body, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"events"},
		{"schema", "record_done"},
		{"validate", good},
		{"validate", "--output", "json", good},
		{"send", "--dry-run", "publish_done"},
		{"demo", "--save", filepath.Join(t.TempDir(), "demo.ndjson")},
	} {
		var errOut bytes.Buffer
		code := Main(args, Streams{In: strings.NewReader(""), Out: full, Err: &errOut, Getenv: noEnv}, BuildInfo{Version: "test"})
		if code != ExitIO || !strings.Contains(errOut.String(), "no space left on the device") {
			t.Errorf("%v: exit %d, want %d; stderr:\n%s", args, code, ExitIO, errOut.String())
		}
	}
	// The same commands with somewhere to write exit 0.
	var out, errOut bytes.Buffer
	if code := Main([]string{"validate", good}, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: noEnv}, BuildInfo{Version: "test"}); code != ExitOK {
		t.Errorf("validate to a buffer: exit %d\n%s", code, errOut.String())
	}
}

// excerpt never cuts a character in two.
func TestExcerptKeepsCharactersWhole(t *testing.T) {
	s := strings.Repeat("a", 79) + "直播"
	got := excerpt([]byte(s), 80)
	if got != strings.Repeat("a", 79)+"..." {
		t.Errorf("got %q", got)
	}
	if got := excerpt([]byte("  short  "), 80); got != "short" {
		t.Errorf("got %q", got)
	}
}
