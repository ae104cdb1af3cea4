package contract

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/deliver/delivertest"
	"github.com/livecb/livecb/internal/event"
)

// one is the single-callback case the delivery tests run.
func one(t *testing.T) []Case {
	t.Helper()
	cases := Select(suite(t), regexp.MustCompile(`^sample/publish_done$`), nil, false)
	if len(cases) != 1 || len(cases[0].Callbacks) != 1 {
		t.Fatalf("%d cases", len(cases))
	}
	return cases
}

func runWith(cases []Case, url string, p deliver.Policy) []Result {
	return Run(context.Background(), cases, Options{
		Target: func(string, event.Family) (string, error) { return url, nil }, Policy: p}, nil)
}

// TestRunAgainstHostileReceivers: a case passes only on a complete answer
// with the expected status; every hostile peer fails it with the
// delivery table's cause.
func TestRunAgainstHostileReceivers(t *testing.T) {
	cases := one(t)
	for _, peer := range delivertest.Peers() {
		t.Run(peer.Name, func(t *testing.T) {
			url := peer.Start(t)
			var results []Result
			delivertest.Bounded(t, delivertest.Timeout+delivertest.Margin, func() {
				results = runWith(cases, url, deliver.Policy{Timeout: delivertest.Timeout})
			})
			r := results[0]
			if peer.Answered() {
				if r.Outcome != Pass {
					t.Errorf("%s: %s", r.Outcome, r.Reason)
				}
				return
			}
			if r.Outcome != Fail || len(r.Exchanges) != 1 || r.Exchanges[0].Cause != peer.Cause || r.Exchanges[0].Status != peer.Status || r.Reason == "" {
				t.Errorf("want a failure (%s), got %s %q %+v", peer.Cause, r.Outcome, r.Reason, r.Exchanges)
			}
		})
	}
}

// TestRunHonoursThePolicy: the suite delivers under the policy it is
// given: TLS settings, retries, redirects, headers.
func TestRunHonoursThePolicy(t *testing.T) {
	cases := one(t)
	var calls atomic.Int32
	var header atomic.Value
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		header.Store(r.Header.Clone())
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	tlsSrv := httptest.NewUnstartedServer(h)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	if r := runWith(cases, tlsSrv.URL, deliver.Policy{})[0]; r.Outcome != Fail || r.Exchanges[0].Cause != deliver.CauseTLS {
		t.Errorf("unverified certificate: %s %s", r.Outcome, r.Reason)
	}
	calls.Store(0)
	r := runWith(cases, tlsSrv.URL, deliver.Policy{Insecure: true, Retries: 1, Backoff: 1, Header: http.Header{"X-Token": {"t"}}})[0]
	if r.Outcome != Pass || calls.Load() != 2 {
		t.Errorf("insecure, one retry after a 503: %s %s after %d calls", r.Outcome, r.Reason, calls.Load())
	}
	if got := header.Load().(http.Header); got.Get("X-Token") != "t" {
		t.Errorf("header %v", got)
	}

	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	if r := runWith(cases, redirector.URL, deliver.Policy{})[0]; r.Outcome != Fail || r.Exchanges[0].Cause != deliver.CauseRedirect {
		t.Errorf("redirect to another host: %s %s", r.Outcome, r.Reason)
	}
	if r := runWith(cases, redirector.URL, deliver.Policy{FollowRedirects: true})[0]; r.Outcome != Pass {
		t.Errorf("redirect followed: %s %s", r.Outcome, r.Reason)
	}
	expect, _ := deliver.ParseExpect("204")
	if r := runWith(cases, other.URL, deliver.Policy{Expect: expect})[0]; r.Outcome != Fail || !strings.Contains(r.Reason, "want 204") {
		t.Errorf("expect 204: %s %s", r.Outcome, r.Reason)
	}
}

func TestProbeHonoursThePolicy(t *testing.T) {
	var ue *deliver.URLError
	if err := Probe(context.Background(), []string{"ftp://x/"}, deliver.Policy{}); !errors.As(err, &ue) {
		t.Errorf("ftp URL: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	if err := Probe(context.Background(), []string{srv.URL}, deliver.Policy{}); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("unverified certificate: %v", err)
	}
	if err := Probe(context.Background(), []string{srv.URL}, deliver.Policy{Insecure: true}); err != nil {
		t.Errorf("insecure: %v", err)
	}
}
