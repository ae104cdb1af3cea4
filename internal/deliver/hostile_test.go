package deliver_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/deliver/delivertest"
	"github.com/livecb/livecb/internal/listen"
)

// checkOutcome asserts that res is the outcome peer must give.
func checkOutcome(t *testing.T, peer delivertest.Peer, res deliver.Result) {
	t.Helper()
	if peer.Answered() {
		if res.Err != nil || res.Status != peer.Status || !res.Matched {
			t.Errorf("want an answer %d, got status %d matched %v cause %q: %v", peer.Status, res.Status, res.Matched, res.Cause, res.Err)
		}
		return
	}
	if res.Err == nil || res.Cause != peer.Cause || res.Matched {
		t.Errorf("want a failure (%s), got status %d matched %v cause %q: %v", peer.Cause, res.Status, res.Matched, res.Cause, res.Err)
	}
	if res.Status != peer.Status {
		t.Errorf("status %d kept, want %d", res.Status, peer.Status)
	}
	if res.Unreachable() != peer.Unreachable {
		t.Errorf("unreachable %v, want %v (%s: %v)", res.Unreachable(), peer.Unreachable, res.Cause, res.Err)
	}
}

// TestHostileReceivers: the Client and the Poster (Post, Do and both engines
// of its Pump), under the same policy,
// report the same outcome against every hostile peer, without a panic,
// within the timeout and without allocating what the peer announces.
func TestHostileReceivers(t *testing.T) {
	policy := deliver.Policy{Timeout: delivertest.Timeout}
	client := deliver.NewClient(policy)
	poster, err := deliver.NewPoster(policy, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer poster.CloseIdle()
	body := []byte(`{"event":"publish_done"}`)
	limit := delivertest.Timeout + delivertest.Margin
	for _, peer := range delivertest.Peers() {
		t.Run(peer.Name, func(t *testing.T) {
			url := peer.Start(t)
			t.Run("client", func(t *testing.T) {
				var res deliver.Result
				delivertest.Bounded(t, limit, func() {
					res = client.Do(context.Background(), deliver.Request{URL: url, Body: body}, nil)
				})
				checkOutcome(t, peer, res)
				if peer.Answered() && string(res.Excerpt) != "{\"code\":0}\n" {
					t.Errorf("excerpt %q", res.Excerpt)
				}
			})
			t.Run("poster", func(t *testing.T) {
				tgt, err := poster.Target(url)
				if err != nil {
					t.Fatal(err)
				}
				var res deliver.Result
				delivertest.Bounded(t, limit, func() { res = poster.Post(context.Background(), tgt, body) })
				checkOutcome(t, peer, res)
			})
			for _, engine := range []struct {
				name string
				e    deliver.Engine
			}{{"pump's loop", deliver.EngineLoop}, {"pump's goroutines", deliver.EngineGoroutines}} {
				t.Run(engine.name, func(t *testing.T) {
					tgt, err := poster.Target(url)
					if err != nil {
						t.Fatal(err)
					}
					f := &oneJob{job: deliver.Job{Target: &tgt, Body: body}}
					delivertest.Bounded(t, limit, func() {
						poster.NewPump(deliver.PumpOptions{Conns: 1, Engine: engine.e}, f).Run(context.Background())
					})
					if f.given != 1 || f.done != 1 || !f.sent {
						t.Fatalf("the job was given %d times, given back %d times (sent %v)", f.given, f.done, f.sent)
					}
					checkOutcome(t, peer, f.res)
				})
			}
			t.Run("poster's Do", func(t *testing.T) {
				var res deliver.Result
				delivertest.Bounded(t, limit, func() {
					res = poster.Do(context.Background(), deliver.Request{URL: url, Body: body, ContentType: "application/json; charset=utf-8"})
				})
				checkOutcome(t, peer, res)
				if len(res.Attempts) != 1 || res.Attempts[0].Cause != res.Cause || res.Attempts[0].Status != res.Status {
					t.Errorf("attempts %+v for a result %d %q", res.Attempts, res.Status, res.Cause)
				}
			})
		})
	}
}

// oneJob is a Feed of one job.
type oneJob struct {
	job         deliver.Job
	given, done int
	sent        bool
	res         deliver.Result
}

func (f *oneJob) Next(int, []byte) (deliver.Job, deliver.NextState) {
	if f.given > 0 {
		return deliver.Job{}, deliver.JobEnd
	}
	f.given++
	return f.job, deliver.JobReady
}

func (f *oneJob) Done(_ int, j deliver.Job, res deliver.Result) {
	f.done, f.sent, f.res = f.done+1, j.Sent, res
}

// TestHostileReceiversBehindTheListener: listen --forward-to answers 502
// for every peer that does not answer completely, and relays the answer of
// the one that does.
func TestHostileReceiversBehindTheListener(t *testing.T) {
	for _, peer := range delivertest.Peers() {
		t.Run(peer.Name, func(t *testing.T) {
			url := peer.Start(t)
			srv, err := listen.Listen(listen.Options{Addr: "127.0.0.1:0", ForwardTo: url,
				Forward: &deliver.Policy{Timeout: delivertest.Timeout}})
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve()
			defer srv.Shutdown(context.Background())
			var status int
			var answer []byte
			delivertest.Bounded(t, delivertest.Timeout+delivertest.Margin, func() {
				resp, err := http.Post(srv.URL()+"/cb", "application/json", strings.NewReader(`{"event":"publish_done"}`))
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				status = resp.StatusCode
				answer, _ = io.ReadAll(resp.Body)
			})
			switch {
			case peer.Answered() && (status != peer.Status || string(answer) != "{\"code\":0}\n"):
				t.Errorf("forwarded answer %d %q, want %d and the receiver's body", status, answer, peer.Status)
			case !peer.Answered() && (status != http.StatusBadGateway || !strings.Contains(string(answer), string(peer.Cause))):
				t.Errorf("answered %d %q, want 502 naming %q", status, answer, peer.Cause)
			}
		})
	}
}
