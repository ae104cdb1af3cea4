package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
)

// A request under way when send or replay is interrupted is reported as
// cut short by the interruption, not as a receiver that could not be
// reached or a failed delivery; what was done is counted, exit 130.
func TestInterruptedRequestIsNotAFailure(t *testing.T) {
	capture := filepath.Join(t.TempDir(), "bodies.ndjson")
	var lines []string
	for range 3 {
		lines = append(lines, string(sampleBody(t, event.PublishDone)))
	}
	if err := os.WriteFile(capture, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		args       []string
		line, summ string
	}{
		{"send", []string{"send", "lifecycle", "--timeout", "1m"},
			"  FAILED: interrupted  ", "interrupted: 2 callbacks sent: 1 answered 200, 1 cut short by the interruption, "},
		{"replay", []string{"replay", capture, "--timeout", "1m"},
			"  INTERRUPTED: no answer yet  ", "interrupted: 2 callbacks replayed in "},
	} {
		t.Run(c.name, func(t *testing.T) {
			var requests atomic.Int32
			inFlight := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if requests.Add(1) == 2 {
					close(inFlight)
					<-r.Context().Done() // no answer until livecb gives up
					return
				}
			}))
			defer srv.Close()
			r := interruptAt(t, inFlight, syscall.SIGINT, append(c.args, "--to", srv.URL+"/cb")...)
			all := r.out + r.err
			if r.code != ExitInterrupted || !strings.Contains(all, c.line) || !strings.Contains(r.err, c.summ) {
				t.Errorf("exit %d (want %d); want %q and %q in\n%s", r.code, ExitInterrupted, c.line, c.summ, all)
			}
			for _, wrong := range []string{"could not be delivered", "unreachable", "failed", "network error", "context canceled"} {
				if strings.Contains(all, wrong) {
					t.Errorf("the interrupted request is reported as %q:\n%s", wrong, all)
				}
			}
		})
	}
}

// interruptAt runs livecb with args and sends the process sig once
// inFlight is closed (the receiver holds a request: the command has set
// its signal handler by then), and returns what the command did.
func interruptAt(t *testing.T, inFlight <-chan struct{}, sig syscall.Signal, args ...string) run {
	t.Helper()
	if !selfSignals {
		t.Skip("sends signals to the test's own process")
	}
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- Main(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: noEnv}, BuildInfo{Version: "test"})
	}()
	select {
	case <-inFlight:
	case code := <-done:
		t.Fatalf("exit %d before the request to interrupt\n%s%s", code, out.String(), errb.String())
	}
	signalSelf(sig)
	select {
	case code := <-done:
		return run{code, out.String(), errb.String()}
	case <-time.After(30 * time.Second):
		t.Fatal("it did not stop after the signal")
	}
	return run{}
}
