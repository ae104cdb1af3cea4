package replay

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/wiretest"
)

// newWireReceiver records each request as it arrived on the wire, head
// and body, and answers by path: /ok 200, /missing 404, /moved a 307 to
// /ok, /large an answer above the policy's MaxResponse, /reset closes the
// connection without an answer.
func newWireReceiver(t *testing.T) *wiretest.Receiver {
	return wiretest.New(t, func(target string) string {
		path, _, _ := strings.Cut(target, "?")
		switch path {
		case "/base/missing":
			return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
		case "/base/moved":
			return "HTTP/1.1 307 Temporary Redirect\r\nLocation: /base/ok\r\nContent-Length: 0\r\n\r\n"
		case "/base/large":
			return "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("x", 100000)
		case "/base/reset":
			return ""
		}
		return wiretest.OK(path)
	})
}

// TestReplayFastPathWritesWhatTheClientWrites: an unpaced replay through
// the Poster puts on the wire, in order, the same bytes as through the
// Client (each record's body, Content-Type and, with --preserve-path,
// target; the policy's header; redirects followed the same way), and
// reports the same outcome for each record.
func TestReplayFastPathWritesWhatTheClientWrites(t *testing.T) {
	rv := newWireReceiver(t)
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/ok?sign=a%2Fb", "application/json"},
		capRec{"{\"streamName\":\"caf\xe9\"}", t0.Add(time.Millisecond), "/ok", "text/plain; charset=latin1"},
		capRec{done, t0.Add(2 * time.Millisecond), "/missing", "application/json; charset=utf-8"},
		capRec{task, t0.Add(3 * time.Millisecond), "/moved?x=1", "application/json"},
		capRec{snapshot, t0.Add(4 * time.Millisecond), "/large", "application/json"},
		capRec{started, t0.Add(5 * time.Millisecond), "/reset", ""},
		capRec{done, t0.Add(6 * time.Millisecond), "/ok", "application/json"},
	)
	client := deliver.NewClient(deliver.Policy{Timeout: 5 * time.Second, UserAgent: "livecb/test", MaxResponse: 1000,
		Header: http.Header{"X-Env": {"ci"}, "Authorization": {"Bearer t"}}})
	for _, engine := range []deliver.Engine{deliver.EngineLoop, deliver.EngineGoroutines} {
		testFastPathWire(t, rv, path, client, engine)
	}
}

func testFastPathWire(t *testing.T, rv *wiretest.Receiver, path string, client *deliver.Client, engine deliver.Engine) {
	var wires [2][]string
	var outs [2][]Outcome
	for i, clientOnly := range []bool{false, true} {
		opts := Options{Inputs: inputs(path), To: rv.URL + "/base", PreservePath: true, Client: client, clientOnly: clientOnly, engine: engine}
		if (fastPath(opts) != nil) == clientOnly {
			t.Fatalf("clientOnly %v: fast path %v", clientOnly, fastPath(opts) != nil)
		}
		_, outs[i] = run(t, opts)
		wires[i] = rv.Take()
	}
	if len(wires[0]) != 8 || len(wires[1]) != 8 {
		t.Fatalf("%d and %d requests on the wire, want 8 each (7 records, one redirected)", len(wires[0]), len(wires[1]))
	}
	for i := range wires[0] {
		if wires[0][i] != wires[1][i] {
			t.Errorf("request %d:\nthe Poster wrote\n%q\nthe Client\n%q", i, wires[0][i], wires[1][i])
		}
	}
	if !strings.Contains(wires[0][1], "Content-Type: text/plain; charset=latin1\r\n") || !strings.HasSuffix(wires[0][1], "caf\xe9\"}") ||
		!strings.HasPrefix(wires[0][0], "POST /base/ok?sign=a%2Fb HTTP/1.1\r\n") {
		t.Errorf("the records' own bytes, type and target:\n%q\n%q", wires[0][0], wires[0][1])
	}
	if len(outs[0]) != 7 || len(outs[1]) != 7 {
		t.Fatalf("%d and %d outcomes", len(outs[0]), len(outs[1]))
	}
	for i := range outs[0] {
		p, c := outs[0][i], outs[1][i]
		if p.Source != c.Source || p.State != c.State || p.OK != c.OK || p.Status != c.Status || p.Cause != c.Cause ||
			p.Attempts != c.Attempts || p.URL != c.URL || p.ContentType != c.ContentType || p.Size != c.Size || p.Kind != c.Kind ||
			(p.State == Answered && p.Reason != c.Reason) {
			t.Errorf("record %d:\nthrough the Poster %+v\nthrough the Client %+v", i+1, p, c)
		}
	}
	want := []State{Answered, Answered, Answered, Answered, Failed, Failed, Answered}
	for i, o := range outs[0] {
		if o.State != want[i] {
			t.Errorf("record %d: %s (%s), want %s", i+1, o.State, o.Reason, want[i])
		}
	}
	if outs[0][2].OK || outs[0][4].Cause != deliver.CauseTooLarge || outs[0][5].Cause != deliver.CauseReset {
		t.Errorf("the 404, the large answer and the reset: %+v / %+v / %+v", outs[0][2], outs[0][4], outs[0][5])
	}
}

// TestReplayFastPathIsOnlyForUnpacedReplaysWithoutRetries: pacing, retries
// and a dry run keep the Client.
func TestReplayFastPathIsOnlyForUnpacedReplaysWithoutRetries(t *testing.T) {
	client := deliver.NewClient(deliver.Policy{})
	retrying := deliver.NewClient(deliver.Policy{Retries: 2})
	for _, tc := range []struct {
		opts Options
		fast bool
	}{
		{Options{Client: client}, true},
		{Options{Client: client, MaxInFlight: 32}, true},
		{Options{Client: client, Speed: 1}, false},
		{Options{Client: retrying}, false},
		{Options{Client: client, DryRun: true}, false},
	} {
		if got := fastPath(tc.opts) != nil; got != tc.fast {
			t.Errorf("%+v: fast path %v, want %v", tc.opts, got, tc.fast)
		}
	}
}
