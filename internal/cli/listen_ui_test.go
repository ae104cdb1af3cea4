package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
)

// listen --ui feeds the inspector from the listener: a callback posted to
// the listener is in the inspector's list, and its record is read back from
// the capture log.
func TestListenUIShowsWhatArrives(t *testing.T) {
	dir := t.TempDir()
	ready, save := filepath.Join(dir, "url"), filepath.Join(dir, "cap.ndjson")
	l := &listenRunning{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.code = Main([]string{"listen", "--port", "0", "--ready-file", ready, "--count", "2", "--save", save, "--ui", "--ui-addr", "127.0.0.1:0"},
			Streams{In: strings.NewReader(""), Out: &l.out, Err: &l.err, Getenv: noEnv}, BuildInfo{Version: "test"})
	}()
	var lines []string
	deadline := time.Now().Add(20 * time.Second)
	for len(lines) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no ready file with two lines: %q", lines)
		}
		if b, err := os.ReadFile(ready); err == nil {
			lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
	listener, ui := lines[0], lines[1]
	body := sampleBody(t, event.PublishStarted)
	postBody(t, listener+"/stream", body)

	get := func(path string, v any) {
		t.Helper()
		res, err := http.Get(ui + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || json.Unmarshal(b, v) != nil {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
	}
	var page struct {
		Rows []struct {
			Kind, Verdict, Path string
		}
	}
	deadline = time.Now().Add(20 * time.Second)
	for len(page.Rows) == 0 && time.Now().Before(deadline) {
		get("api/requests", &page)
		time.Sleep(10 * time.Millisecond)
	}
	if len(page.Rows) != 1 || page.Rows[0].Kind != "publish_started" || page.Rows[0].Verdict != "valid" || page.Rows[0].Path != "/stream" {
		t.Fatalf("the inspector lists %+v", page.Rows)
	}
	var d struct {
		Body struct{ Text string }
		Curl string
	}
	get("api/requests/0", &d)
	if d.Body.Text != string(body) || !strings.Contains(d.Curl, listener+"/stream") {
		t.Errorf("detail: body %q, curl %q", d.Body.Text, d.Curl)
	}
	postBody(t, listener+"/stream", body)
	code, _, errOut := l.wait(t)
	if code != ExitOK || !strings.Contains(errOut, "inspector: "+ui+"\n") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if res, err := http.Get(ui); err == nil {
		res.Body.Close()
		t.Error("the inspector still answers after listen stopped")
	}
}
