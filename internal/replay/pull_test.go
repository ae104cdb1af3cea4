package replay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/wiretest"
)

// mixedCapture writes a capture of n records that go every way a record
// can: answered, 404, redirected, reset without an answer, a probe (GET)
// left out, and a broken line in the middle. It returns the file's path.
func mixedCapture(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mixed.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{started, done, task, snapshot}
	targets := []string{"/ok", "/ok?n=%d", "/missing", "/ok", "/moved?n=%d", "/ok", "/reset", "/ok"}
	for i := range n {
		target := targets[i%len(targets)]
		if strings.Contains(target, "%d") {
			target = fmt.Sprintf(target, i)
		}
		method := "POST"
		if i%50 == 49 {
			method = "GET"
		}
		r := &capture.Record{Time: t0.Add(time.Duration(i) * time.Millisecond), Method: method, Target: target, Remote: "127.0.0.1:5000",
			Header: http.Header{"Content-Type": {"application/json"}}}
		body := bodies[i%len(bodies)]
		r.SetBody([]byte(body))
		r.Size = int64(len(body))
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	mid := len(lines) / 2
	out := append(bytes.Join(lines[:mid], nil), "{\"format\":\"livecb.capture.v1\",\"seq\":\n"...)
	out = append(out, bytes.Join(lines[mid:], nil)...)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// piped is the input of path's bytes through a pipe: an input that may
// wait, which the replay reads on its own goroutine.
func piped(path string) []Input {
	return []Input{{Name: filepath.Base(path), Open: func() (io.ReadCloser, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		go func() {
			w.Write(b) //nolint:errcheck // the reader's end may close first
			w.Close()
		}()
		return r, nil
	}}}
}

// TestReplayReadsAndReportsAlikeEveryWay: whoever reads the records (the
// replay's goroutine for a pipe, the Pump's connections for a file) and
// whoever reports the outcomes (a goroutine of their own, or inline where
// they are completed), on either engine, a replay puts the same requests
// on the wire (in the same order, one at a time) and reports the same
// outcomes, in the same order, with the same summary.
func TestReplayReadsAndReportsAlikeEveryWay(t *testing.T) {
	rv := newWireReceiver(t)
	path := mixedCapture(t, 400)
	client := deliver.NewClient(deliver.Policy{Timeout: 5 * time.Second})
	// As they are, stopped by a --limit, and stopped at the broken line.
	for _, stop := range []struct {
		name      string
		limit     int
		stopOnErr bool
	}{{"all", 0, false}, {"limit", 123, false}, {"stop on error", 0, true}} {
		t.Run(stop.name, func(t *testing.T) {
			testReplayAlikeEveryWay(t, rv, path, client, stop.limit, stop.stopOnErr)
		})
	}
}

func testReplayAlikeEveryWay(t *testing.T, rv *wiretest.Receiver, path string, client *deliver.Client, limit int, stopOnErr bool) {
	for _, inFlight := range []int{1, 8} {
		var baseName string
		var baseWire []string
		var baseOuts []Outcome
		var baseSum Summary
		for _, engine := range []deliver.Engine{deliver.EngineGoroutines, deliver.EngineLoop} {
			for _, file := range []bool{false, true} {
				for _, inline := range []bool{false, true} {
					name := fmt.Sprintf("in flight %d, engine %d, file %v, inline %v", inFlight, engine, file, inline)
					in := piped(path)
					if file {
						in = inputs(path)
					}
					sum, outs := run(t, Options{Inputs: in, To: rv.URL + "/base", PreservePath: true, Client: client, MaxInFlight: inFlight,
						engine: engine, ReportNeverWaits: inline, Filter: Filter{Limit: limit}, StopOnError: stopOnErr})
					wire := rv.Take()
					switch {
					case limit > 0:
						if sum.Selected != limit || sum.Broken != 0 || len(outs) != limit || len(wire) < limit {
							t.Fatalf("%s: summary %+v, %d outcomes, %d requests", name, sum, len(outs), len(wire))
						}
					case stopOnErr:
						if !sum.StoppedOnError || sum.Broken != 1 || outs[len(outs)-1].State != Broken || sum.Selected >= 400-400/50 {
							t.Fatalf("%s: summary %+v, last outcome %+v", name, sum, outs[len(outs)-1])
						}
					default:
						if sum.Read != 400-400/50 || sum.Broken != 1 || sum.Answered == 0 || sum.Failures == 0 || sum.Stopped != "" {
							t.Fatalf("%s: summary %+v", name, sum)
						}
					}
					if len(outs) != sum.Selected+sum.Broken {
						t.Fatalf("%s: %d outcomes for %d records selected and %d broken", name, len(outs), sum.Selected, sum.Broken)
					}
					if baseName == "" {
						baseName, baseWire, baseOuts, baseSum = name, wire, outs, sum
						continue
					}
					if sum.Read != baseSum.Read || sum.Selected != baseSum.Selected || sum.Filtered != baseSum.Filtered ||
						sum.Answered != baseSum.Answered || sum.Missed != baseSum.Missed || sum.Failures != baseSum.Failures {
						t.Errorf("%s: summary %+v\n%s: %+v", name, sum, baseName, baseSum)
					}
					if len(wire) != len(baseWire) {
						t.Fatalf("%s: %d requests, %s: %d", name, len(wire), baseName, len(baseWire))
					}
					if inFlight == 1 {
						for i := range wire {
							if wire[i] != baseWire[i] {
								t.Fatalf("%s: request %d\n%q\n%s:\n%q", name, i, wire[i], baseName, baseWire[i])
							}
						}
					}
					for i, o := range outs {
						b := baseOuts[i]
						if o.Source != b.Source || o.State != b.State || o.OK != b.OK || o.Status != b.Status || o.Cause != b.Cause ||
							o.Kind != b.Kind || o.URL != b.URL || !bytes.Equal(o.Body, b.Body) {
							t.Fatalf("%s: outcome %d %+v\n%s: %+v", name, i, o, baseName, b)
						}
					}
				}
			}
		}
	}
}

// TestReplayInterruptedWhileItsConnectionsRead: a replay interrupted while
// the Pump's connections read the file stops at once, and reports each
// record it read once: answered, or interrupted.
func TestReplayInterruptedWhileItsConnectionsRead(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // a test receiver
		time.Sleep(2 * time.Millisecond)
	}))
	defer slow.Close()
	recs := make([]capRec, 3000)
	for i := range recs {
		recs[i] = capRec{done, t0.Add(time.Duration(i) * time.Millisecond), "/cb", "application/json"}
	}
	path := writeCapture(t, "cap.ndjson", recs...)
	client := deliver.NewClient(deliver.Policy{Timeout: 5 * time.Second})
	for _, inline := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		var outs []Outcome
		start := time.Now()
		sum, err := Run(ctx, Options{Inputs: inputs(path), To: slow.URL + "/cb", Client: client, MaxInFlight: 4, ReportNeverWaits: inline},
			func(o Outcome) { outs = append(outs, o) })
		took := time.Since(start)
		cancel()
		if err != nil {
			t.Fatalf("inline %v: %v", inline, err)
		}
		if took > 3*time.Second || sum.Stopped != "interrupted" {
			t.Fatalf("inline %v: took %s, stopped %q", inline, took, sum.Stopped)
		}
		if sum.Answered == 0 || len(outs) >= len(recs) || len(outs) != sum.Selected || sum.Answered+sum.Interrupted != len(outs) {
			t.Fatalf("inline %v: %d outcomes, summary %+v", inline, len(outs), sum)
		}
		for i, o := range outs {
			if o.Line != i+1 || o.State != Answered && o.State != Interrupted {
				t.Fatalf("inline %v: outcome %d: %+v", inline, i, o)
			}
		}
	}
}
