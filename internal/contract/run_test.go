package contract

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
)

// An interrupted run: the case in flight is skipped as interrupted, not
// failed; the cases not started are skipped as not run; the JUnit report
// says so for each.
func TestInterruptedRunSkipsWhatItDidNotFinish(t *testing.T) {
	var requests atomic.Int32
	arrived := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if requests.Add(1) == 3 {
			close(arrived)
			select { // the third request hangs until the client gives up
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	defer close(release)
	cases := Select(suite(t), regexp.MustCompile(`^sample/`), nil, false)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	var reported []string
	results := Run(ctx, cases, Options{Target: func(string, event.Family) (string, error) { return srv.URL, nil }, Policy: deliver.Policy{Timeout: time.Minute}},
		func(r Result) { reported = append(reported, r.Case.Name+" "+string(r.Outcome)) })
	var got []string
	for _, r := range results {
		got = append(got, r.Case.Name+" "+string(r.Outcome)+" "+r.Reason)
	}
	want := []string{
		"sample/publish_started pass ",
		"sample/publish_done pass ",
		"sample/record_done skip " + ReasonInterrupted,
		"sample/task_record_done skip not run: interrupted",
		"sample/snapshot skip not run: interrupted",
		"sample/quality skip not run: interrupted",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(reported, ",") != "sample/publish_started pass,sample/publish_done pass,sample/record_done skip" {
		t.Errorf("onResult got %v", reported)
	}
	if s := Summarize(results); s.All != (Tally{Passed: 2, Skipped: 4, NotRun: 3}) || len(s.Families) != 1 || s.Families[0].Family != FamilySample {
		t.Errorf("summary %+v", s)
	}

	var buf bytes.Buffer
	if err := WriteJUnit(&buf, JUnit(results, time.Now(), time.Second, nil)); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 6 || doc.Failures != 0 || doc.Skipped != 4 {
		t.Errorf("report counts: tests %d failures %d skipped %d", doc.Tests, doc.Failures, doc.Skipped)
	}
	for i, c := range doc.Suites[0].Cases[2:] {
		msg := "not run: interrupted"
		if i == 0 {
			msg = ReasonInterrupted
		}
		if c.Skipped == nil || c.Skipped.Message != msg || c.Failure != nil {
			t.Errorf("%s: skipped %+v, failure %+v", c.Name, c.Skipped, c.Failure)
		}
	}
	props := map[string]string{}
	for _, p := range doc.Suites[0].Properties {
		props[p.Name] = p.Value
	}
	if props["family.sample.passed"] != "2" || props["family.sample.skipped"] != "4" || props["family.sample.failed"] != "0" {
		t.Errorf("properties %v", props)
	}
}

// A burst sends its callbacks at once: a receiver that answers only once
// all of them have arrived passes (a receiver taking them one at a time
// would hang), and each callback failing is counted.
func TestBurstSendsItsCallbacksAtOnce(t *testing.T) {
	const n = 20
	var arrived atomic.Int32
	all := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-r.Context().Done():
			return
		}
		if bytes.Contains(b, []byte(`"snapshotTime"`)) {
			http.Error(w, "no snapshots", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	cases, err := Suite(SuiteOptions{Seed: 1, Burst: n})
	if err != nil {
		t.Fatal(err)
	}
	burst := Select(cases, regexp.MustCompile(`^burst/`), nil, false)
	results := Run(context.Background(), burst, Options{Target: func(string, event.Family) (string, error) { return srv.URL, nil }, Policy: deliver.Policy{Timeout: time.Minute}}, nil)
	r := results[0]
	snapshots := 0
	for _, cb := range burst[0].Callbacks {
		if cb.Kind == event.Snapshot {
			snapshots++
		}
	}
	if r.Outcome != Fail || r.Failures != snapshots || len(r.Exchanges) != n || r.Exchanges[r.Failed].Kind != event.Snapshot {
		t.Fatalf("%s: %d failures of %d, want %d: %s", r.Outcome, r.Failures, len(r.Exchanges), snapshots, r.Reason)
	}
	if !strings.HasPrefix(r.Reason, "3 of 20 callbacks sent at once did not get 200 in time; the first: request 5 of 20 (snapshot): answered 503") {
		t.Errorf("reason %q", r.Reason)
	}
	if d := Details(r); !strings.Contains(d, "others:  2 more of the 20 requests failed (requests 11, 17)\n") {
		t.Errorf("details:\n%s", d)
	}
}

// A Verify function decides a case that got its answers.
func TestVerifyFunction(t *testing.T) {
	url := startReceiver(t, "none")
	var seen []string
	results := run(t, url, Select(suite(t), regexp.MustCompile(`^(order/in-order|sample/snapshot)$`), nil, false), func(o *Options) {
		o.Verify = func(_ context.Context, c *Case) error {
			seen = append(seen, c.Name)
			if c.Family == FamilyOrder {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
	})
	if len(seen) != 2 || results[0].Outcome != Pass || results[1].Outcome != Fail ||
		results[1].Reason != "verify failed: the receiver answered as expected but did not do what it should: unexpected EOF" {
		t.Errorf("seen %v; %s %s; %s %q", seen, results[0].Case.Name, results[0].Outcome, results[1].Outcome, results[1].Reason)
	}
}
