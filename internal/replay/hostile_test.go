package replay

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/deliver/delivertest"
)

// TestReplayAgainstHostileReceivers: a peer that answers badly fails each
// record (with its file:line, URL and cause) and the replay goes on; only
// a receiver that cannot be reached stops it. The same on both delivery
// paths: the Poster an unpaced replay uses, and the Client.
func TestReplayAgainstHostileReceivers(t *testing.T) {
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/", "application/json"},
		capRec{done, t0.Add(time.Second), "/", "application/json"})
	client := deliver.NewClient(deliver.Policy{Timeout: delivertest.Timeout})
	for _, peer := range delivertest.Peers() {
		for _, p := range paths {
			t.Run(peer.Name+"/"+p.name, func(t *testing.T) {
				testReplayAgainst(t, peer, Options{Inputs: inputs(path), Client: client, clientOnly: p.clientOnly, engine: p.engine, ReportNeverWaits: p.inline})
			})
		}
	}
}

// paths are the ways a replay delivers, each tested alike: the Pump's
// event loop and its goroutines (the Poster), and the Client; the loop
// also with the outcomes reported inline (ReportNeverWaits), where its
// connections read, send and report, holding their processors.
var paths = []struct {
	name       string
	clientOnly bool
	engine     deliver.Engine
	inline     bool
}{{"poster's loop", false, deliver.EngineLoop, false}, {"poster's loop reporting", false, deliver.EngineLoop, true},
	{"poster's goroutines", false, deliver.EngineGoroutines, false}, {"client", true, 0, false}}

// testReplayAgainst replays opts' two records into peer.
func testReplayAgainst(t *testing.T, peer delivertest.Peer, opts Options) {
	url := peer.Start(t)
	opts.To = url
	var sum Summary
	var outs []Outcome
	delivertest.Bounded(t, 2*delivertest.Timeout+delivertest.Margin, func() {
		sum, outs = run(t, opts)
	})
	switch {
	case peer.Answered():
		if sum.Answered != 2 || sum.Failed() || len(outs) != 2 || !outs[1].OK {
			t.Errorf("summary %+v", sum)
		}
	case peer.Unreachable:
		if len(outs) != 1 || outs[0].State != Unreachable || outs[0].Cause != peer.Cause || sum.Unreachable != 1 ||
			!strings.Contains(sum.Stopped, url) || !strings.Contains(sum.Stopped, string(peer.Cause)) || !strings.Contains(sum.Stopped, "cap.ndjson:1") {
			t.Errorf("summary %+v outcomes %+v", sum, outs)
		}
	default:
		if len(outs) != 2 || sum.Failures != 2 || sum.Unreachable != 0 || sum.Stopped != "" || !sum.Failed() {
			t.Fatalf("want two failed records and no stop, got %+v", sum)
		}
		for i, o := range outs {
			if o.State != Failed || o.OK || o.Cause != peer.Cause || o.URL != url || o.Reason == "" || o.Status != peer.Status ||
				o.Source != "cap.ndjson:"+string(rune('1'+i)) {
				t.Errorf("record %d: %+v", i+1, o)
			}
		}
	}
}

// TestReplayBadRecordIsAFailureNotAStop: a record whose captured query
// holds a control character, and one whose receiver redirects elsewhere,
// fail on their own; the others are delivered.
func TestReplayBadRecordIsAFailureNotAStop(t *testing.T) {
	other := newReceiver(t)
	rv := newReceiver(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/base/away" {
			http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
			return
		}
		rv.Config.Handler.ServeHTTP(w, r)
	}))
	defer redirector.Close()
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/ok", "application/json"},
		capRec{done, t0.Add(time.Second), "/cb?sign=\x01x", "application/json"},
		capRec{done, t0.Add(2 * time.Second), "/away", "application/json"},
		capRec{started, t0.Add(3 * time.Second), "/ok", "application/json"})
	sum, outs := run(t, Options{Inputs: inputs(path), To: redirector.URL + "/base", PreservePath: true})
	if len(outs) != 4 || sum.Answered != 2 || sum.Failures != 2 || sum.Unreachable != 0 || sum.Stopped != "" || !sum.Failed() {
		t.Fatalf("summary %+v", sum)
	}
	if o := outs[1]; o.State != Failed || o.Cause != deliver.CauseURL || o.Source != "cap.ndjson:2" ||
		!strings.Contains(o.URL, "/base/cb?sign=\x01x") || !strings.Contains(o.Reason, "control character") {
		t.Errorf("the record with a control character: %+v", o)
	}
	if o := outs[2]; o.State != Failed || o.Cause != deliver.CauseRedirect || o.Source != "cap.ndjson:3" ||
		o.URL != redirector.URL+"/base/away" || !strings.Contains(o.Reason, other.URL+"/stolen") {
		t.Errorf("the redirected record: %+v", o)
	}
	if got := rv.requests(); len(got) != 2 || got[0].Path != "/base/ok" || got[1].Path != "/base/ok" {
		t.Errorf("the receiver got %+v", got)
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the other host got %d callbacks", n)
	}
}

// TestReplayStopNamesURLAndCauseAfterALimit: the limit stops reading while
// the last delivery is under way; when that one cannot reach the receiver,
// the stop still says where and why.
func TestReplayStopNamesURLAndCauseAfterALimit(t *testing.T) {
	// Accepts, waits, then answers in plain HTTP to a TLS client: a
	// handshake that fails well after the limit stopped the reading.
	url := "https://" + delivertest.Serve(t, func(c net.Conn) {
		time.Sleep(300 * time.Millisecond)
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	}) + "/cb"
	path := writeCapture(t, "cap.ndjson",
		capRec{started, t0, "/", "application/json"},
		capRec{done, t0.Add(time.Second), "/", "application/json"})
	sum, outs := run(t, Options{Inputs: inputs(path), To: url, Filter: Filter{Limit: 1}})
	if len(outs) != 1 || outs[0].State != Unreachable || outs[0].Cause != deliver.CauseTLS {
		t.Fatalf("outcomes %+v", outs)
	}
	if want := url + " unreachable (TLS) at cap.ndjson:1"; sum.Stopped != want {
		t.Errorf("stopped %q, want %q", sum.Stopped, want)
	}
}

func TestReplayRefusesABadTarget(t *testing.T) {
	_, err := Run(context.Background(), Options{To: "ftp://x/", Client: deliver.NewClient(deliver.Policy{})}, nil)
	var ue *deliver.URLError
	if !errors.As(err, &ue) {
		t.Errorf("To ftp://x/: %v", err)
	}
}
