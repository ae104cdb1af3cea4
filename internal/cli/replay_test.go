package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The progress bar is drawn on stderr only when stderr is a terminal; piped
// output stays clean.
func TestReplayProgressBarOnlyOnTerminal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	t.Chdir(dir)
	file := filepath.Join(dir, "bodies.ndjson")
	if err := os.WriteFile(file, []byte("{\"a\":1}\n{\"a\":2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tty := range []bool{false, true} {
		var out, errb bytes.Buffer
		code := Main([]string{"replay", file, "--to", srv.URL}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb,
			ErrTTY: tty, Getenv: func(string) string { return "" }}, BuildInfo{Version: "test"})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if got := strings.Contains(errb.String(), "replaying"); got != tty {
			t.Errorf("stderr a terminal: %v; progress bar drawn: %v\n%q", tty, got, errb.String())
		}
		if strings.Count(out.String(), "200 OK") != 2 {
			t.Errorf("stdout: %q", out.String())
		}
	}
}
