package send

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/deliver/delivertest"
	"github.com/livecb/livecb/internal/event"
)

// TestRunnerAgainstHostileReceivers: single sends report every hostile
// peer as the delivery table says, bounded in time and memory.
func TestRunnerAgainstHostileReceivers(t *testing.T) {
	client := deliver.NewClient(deliver.Policy{Timeout: delivertest.Timeout})
	for _, peer := range delivertest.Peers() {
		t.Run(peer.Name, func(t *testing.T) {
			url := peer.Start(t)
			items := []Item{{Seq: 1, Kind: event.PublishDone, URL: url, Body: []byte("{}")},
				{Seq: 2, Kind: event.PublishDone, URL: url, Body: []byte("{}")}}
			var outs []Outcome
			var sum Summary
			delivertest.Bounded(t, 2*delivertest.Timeout+delivertest.Margin, func() {
				sum = (&Runner{Client: client, OnOutcome: func(o Outcome) { outs = append(outs, o) }}).Run(context.Background(), items)
			})
			if len(outs) != 2 {
				t.Fatalf("%d outcomes", len(outs))
			}
			if peer.Answered() {
				if sum.Matched != 2 || !outs[0].Matched || outs[0].Result.Status != peer.Status {
					t.Errorf("summary %+v, first %+v", sum, outs[0].Result)
				}
				return
			}
			r := outs[0].Result
			if !outs[0].Failed() || outs[0].Matched || r.Cause != peer.Cause || r.Status != peer.Status || sum.Matched != 0 || sum.FirstFailure == nil {
				t.Errorf("want a failure (%s), got status %d cause %q matched %v: %v", peer.Cause, r.Status, r.Cause, outs[0].Matched, r.Err)
			}
			if outs[1].Skipped == "" || sum.Failed != 1 || sum.Skipped != 1 {
				t.Errorf("the second callback to the same URL: %+v, summary %+v", outs[1], sum)
			}
		})
	}
}

// TestLoadAgainstHostileReceivers: load mode reports every hostile peer as
// the single sends do, and never crashes nor allocates what a peer
// announces.
func TestLoadAgainstHostileReceivers(t *testing.T) {
	for _, peer := range delivertest.Peers() {
		t.Run(peer.Name, func(t *testing.T) {
			url := peer.Start(t)
			lb := prepare(t, []event.Kind{event.PublishDone}, LoadBodyOptions{Pool: 2}, url)
			p, err := deliver.NewPoster(deliver.Policy{Timeout: delivertest.Timeout}, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer p.CloseIdle()
			l := &Load{Poster: p, Bodies: lb, Concurrency: 1, Count: 3, Engine: testEngine}
			var rep LoadReport
			delivertest.Bounded(t, 3*delivertest.Timeout+delivertest.Margin, func() {
				rep, err = l.Run(context.Background())
			})
			if err != nil {
				t.Fatal(err)
			}
			if peer.Answered() {
				if rep.Matched != 3 || rep.Statuses[peer.Status] != 3 {
					t.Errorf("report %+v", rep)
				}
				return
			}
			if rep.Requests != 3 || rep.Failed != 3 || rep.Causes[peer.Cause] != 3 || rep.Answered != 0 || rep.ErrorRate() != 1 ||
				rep.FirstFailure == nil || rep.FirstFailure.Cause != peer.Cause {
				t.Errorf("want 3 failures (%s), got %+v", peer.Cause, rep)
			}
		})
	}
}

// TestLoadFollowsRedirectsAsSingleSendsDo: a receiver that answers 307
// to the same host gets its callbacks in load mode too.
func TestLoadFollowsRedirectsAsSingleSendsDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/final" {
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	policy := deliver.Policy{FollowRedirects: true}
	lb := prepare(t, []event.Kind{event.PublishDone}, LoadBodyOptions{Pool: 2}, srv.URL+"/cb")
	p, err := deliver.NewPoster(policy, 2)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := (&Load{Poster: p, Bodies: lb, Concurrency: 2, Count: 3, Engine: testEngine}).Run(context.Background())
	if err != nil || rep.Matched != 3 || rep.ErrorRate() != 0 {
		t.Fatalf("%v: report %+v", err, rep)
	}
	single := (&Runner{Client: deliver.NewClient(policy)}).Run(context.Background(), []Item{{URL: srv.URL + "/cb", Body: []byte("{}")}})
	if single.Matched != 1 {
		t.Fatalf("single send: %+v", single)
	}
}

// TestLoadCountsRequestsDueButNeverSent: an open-loop run whose receiver
// is too slow for the rate reports the requests that never left.
func TestLoadCountsRequestsDueButNeverSent(t *testing.T) {
	c := counter{delay: 100 * time.Millisecond}
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.PublishDone}, LoadBodyOptions{Pool: 4}, url)
	l := newLoad(lb, 1)
	// 30 requests are due in 300 ms; one sender, 100 ms per answer.
	l.Rate, l.Duration = 100, 300*time.Millisecond
	rep, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests+rep.Unsent != 30 || rep.Unsent < 20 {
		t.Fatalf("%d sent and %d unsent of the 30 due: %+v", rep.Requests, rep.Unsent, rep)
	}
	if want := float64(rep.Unsent) / 30; math.Abs(rep.ErrorRate()-want) > 1e-9 {
		t.Errorf("error rate %v, want %v (the unsent count as errors)", rep.ErrorRate(), want)
	}
	// A receiver that keeps up leaves nothing unsent. The last request is
	// due 50 ms before the end, so a busy machine's scheduling delay (a
	// loaded CI runner stalls a goroutine for more than 10 ms) does not
	// count it unsent: only a sender that waited on its receiver would.
	var fast counter
	l = newLoad(prepare(t, []event.Kind{event.PublishDone}, LoadBodyOptions{Pool: 4}, fast.start(t)), 4)
	l.Rate, l.Duration = 20, 300*time.Millisecond
	if rep, err = l.Run(context.Background()); err != nil || rep.Unsent != 0 || rep.Requests != 6 {
		t.Errorf("%v: %d sent, %d unsent", err, rep.Requests, rep.Unsent)
	}
}

// TestLoadRefusesASchedule that cannot be kept, with a typed error.
func TestLoadRefusesAnAbsurdSchedule(t *testing.T) {
	var c counter
	url := c.start(t)
	lb := prepare(t, []event.Kind{event.PublishDone}, LoadBodyOptions{Pool: 2}, url)
	for _, tc := range []struct {
		rate    float64
		count   int64
		setting string
	}{
		{1e-300, 1, SettingRate}, {math.Inf(1), 1, SettingRate}, {math.NaN(), 1, SettingRate}, {-1, 1, SettingRate},
		{1e12, 1, SettingRate}, {0.001, math.MaxInt64, SettingRate}, {0, -1, "count"},
	} {
		l := newLoad(lb, 1)
		l.Rate, l.Count = tc.rate, tc.count
		l.Duration = time.Second
		rep, err := l.Run(context.Background())
		var se *deliver.SettingError
		if !errors.As(err, &se) || se.Setting != tc.setting || rep.Requests != 0 {
			t.Errorf("rate %v count %d: %v, %d sent", tc.rate, tc.count, err, rep.Requests)
		}
	}
	if bodies, _ := c.snapshot(); len(bodies) != 0 {
		t.Errorf("%d requests sent by refused runs", len(bodies))
	}
	// A URL the policy refuses is refused before anything is sent.
	lb.urls[0] = "ftp://x/"
	var ue *deliver.URLError
	if _, err := newLoad(lb, 1).Run(context.Background()); !errors.As(err, &ue) {
		t.Errorf("bad URL: %v", err)
	}
}
