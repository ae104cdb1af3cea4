// Package contract runs livecb's contract-test suite (`livecb test`) inside
// `go test`: a Go receiver of the live-video service's callbacks checks in
// its own tests that it survives what the service really sends. Each case
// of the suite is a subtest named after it:
//
//	func TestCallbackContract(t *testing.T) {
//		contract.Test(t, myapp.CallbackHandler(), contract.Options{})
//	}
//
// Test serves the handler on a loopback port (net/http/httptest) and sends
// it real HTTP requests; TestURL runs the suite against a receiver that is
// already listening. `go test -run 'TestCallbackContract/enum/'` runs one
// family of cases, as Options.Run does. Run is the same suite outside a
// test (it returns the results).
//
// The cases are those of `livecb test`, in families (Families): every
// kind's sample, the type drift, every documented value of every
// enumerated field, the documented bounds, optional and unknown fields,
// duplicates, order, reconnects, stream names, big numbers, bursts, and
// the opt-in negative cases. Each differs from a realistic sample in one
// respect, about streams of its own, so a failure names the rule broken.
// docs/contract.md in livecb's repository describes every family.
//
// The API is small on purpose and stays compatible: new cases and
// families may appear in any release (that is the point), new fields of
// Options may be added, nothing is removed.
package contract

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/contract"
	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
)

// Options select and shape the cases. The zero value runs every positive
// case with a random seed.
type Options struct {
	// Run, when set, keeps only the cases whose names match; Skip leaves
	// out those whose names match. A case's name starts with its family:
	// regexp.MustCompile(`^(enum|boundary)/`).
	Run, Skip *regexp.Regexp
	// Negative adds the cases of bodies the service never sends
	// (malformed JSON, an empty body...), which must get a 4xx.
	Negative bool
	// Seed makes stream names and times reproducible; 0 picks one at
	// random (Test and TestURL log it, Run returns it).
	Seed uint64
	// Burst is how many callbacks the burst cases send at once: 0 is 50,
	// a negative value leaves the burst cases out.
	Burst int
	// Timeout bounds each request (default 2s, the service's patience).
	Timeout time.Duration
	// Expect is the status every callback must get: "200" (the default),
	// "2xx", "200,204".
	Expect string
	// Header is sent with every request (authentication).
	Header http.Header
	// Domain and App replace the samples' publish domain and app.
	Domain, App string
	// Verify, when set, is called after each case whose callbacks all got
	// the expected answer, to check what the receiver did with them (rows
	// stored, ids intact); an error fails the case. Under Test and
	// TestURL t is the case's subtest; under Run it is nil.
	Verify func(t testing.TB, c CaseInfo) error
}

// Stream is the identity a callback is about.
type Stream struct {
	Domain, App, Name string
}

// Callback is one request of a case.
type Callback struct {
	// Kind is the callback's kind (publish_started, record_done, ...); ""
	// for the negative cases' bodies.
	Kind   string
	Stream Stream
	// Body is what is sent, byte for byte.
	Body        []byte
	ContentType string
	// TaskExternalID is the body's taskExternalId, "" when it has none.
	TaskExternalID string
}

// CaseInfo describes a case.
type CaseInfo struct {
	// Name is the family, a slash, and the case within it
	// ("enum/record_done/format/ts").
	Name   string
	Family string
	// Rule is what the receiver must do, in one sentence.
	Rule     string
	Negative bool
	// Burst cases send their callbacks at once, the others in order.
	Burst     bool
	Callbacks []Callback
	// TaskExternalID is the taskExternalId of the case's task records
	// when they carry one ("" otherwise).
	TaskExternalID string
}

// Kinds returns the kinds of the case's callbacks, in order.
func (c CaseInfo) Kinds() []string {
	out := make([]string, len(c.Callbacks))
	for i, cb := range c.Callbacks {
		out[i] = cb.Kind
	}
	return out
}

// Streams returns the streams the case is about, each once, in order.
func (c CaseInfo) Streams() []Stream {
	var out []Stream
	for _, cb := range c.Callbacks {
		if !slices.Contains(out, cb.Stream) {
			out = append(out, cb.Stream)
		}
	}
	return out
}

// Outcome is how a case ended.
type Outcome string

const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
)

// Result is the outcome of one case.
type Result struct {
	Case    CaseInfo
	Outcome Outcome
	// Reason says why the case failed or was skipped; Details adds the
	// rule, the request that failed and the answer it got.
	Reason   string
	Details  string
	Duration time.Duration
}

// Report is the outcome of Run.
type Report struct {
	// Seed reproduces the run (Options.Seed).
	Seed    uint64
	Results []Result
}

// Passed reports whether no case failed.
func (r Report) Passed() bool {
	for _, res := range r.Results {
		if res.Outcome == Fail {
			return false
		}
	}
	return true
}

// Family describes a family of cases.
type Family struct {
	// Name is the first segment of its cases' names.
	Name  string
	Title string
	// Rules says what its cases check and what the receiver must answer.
	Rules    string
	Negative bool
}

// Families returns every family of cases, in the suite's order.
func Families() []Family {
	var out []Family
	for _, fi := range contract.Families() {
		out = append(out, Family{Name: string(fi.Family), Title: fi.Title, Rules: fi.Rules, Negative: fi.Negative})
	}
	return out
}

// Cases returns the cases opts selects, without running them, and the seed
// they were built with.
func Cases(opts Options) ([]CaseInfo, uint64, error) {
	cases, seed, err := build(opts)
	if err != nil {
		return nil, 0, err
	}
	out := make([]CaseInfo, len(cases))
	for i := range cases {
		out[i] = caseInfo(&cases[i])
	}
	return out, seed, nil
}

// Test serves h on a loopback port and runs the suite against it, each
// case a subtest of t.
func Test(t *testing.T, h http.Handler, opts Options) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	TestURL(t, srv.URL, opts)
}

// TestURL runs the suite against the receiver listening at url (every
// callback is POSTed there), each case a subtest of t. A receiver that
// cannot be reached fails t before any case.
func TestURL(t *testing.T, url string, opts Options) {
	t.Helper()
	cases, seed, err := build(opts)
	if err != nil {
		t.Fatal(err)
	}
	iopts, err := runOptions(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := contract.Probe(ctx, []string{url}, iopts.Policy); err != nil {
		t.Fatalf("livecb contract suite: %v", err)
	}
	t.Logf("livecb contract suite: %d cases against %s, seed %d (set Options.Seed to reproduce)", len(cases), url, seed)
	runner := contract.NewRunner(iopts, contract.InFlight(cases, 1))
	results := make([]contract.Result, 0, len(cases))
	for i := range cases {
		c := &cases[i]
		t.Run(c.Name, func(t *testing.T) {
			res := runner.Case(ctx, c)
			if res.Outcome == contract.Pass && opts.Verify != nil {
				if err := opts.Verify(t, caseInfo(c)); err != nil {
					res.Outcome, res.Reason = contract.Fail, "Verify: the receiver answered as expected but did not do what it should: "+err.Error()
				}
			}
			results = append(results, res)
			switch res.Outcome {
			case contract.Fail:
				t.Errorf("%s\n%s", res.Reason, contract.Details(res))
			case contract.Skip:
				t.Skip(res.Reason)
			}
		})
	}
	var lines []string
	for _, tally := range contract.Summarize(results).Families {
		lines = append(lines, fmt.Sprintf("%-15s %s", tally.Family, tally))
	}
	t.Logf("livecb contract suite, seed %d, by family:\n%s", seed, strings.Join(lines, "\n"))
}

// Run runs the suite against the receiver listening at url and returns
// the results in the cases' order. It returns an error, and no results,
// when opts are wrong or the receiver cannot be reached; a cancelled ctx
// ends the run early, the cases it did not finish skipped.
func Run(ctx context.Context, url string, opts Options) (Report, error) {
	cases, seed, err := build(opts)
	if err != nil {
		return Report{}, err
	}
	iopts, err := runOptions(url, opts)
	if err != nil {
		return Report{}, err
	}
	if err := contract.Probe(ctx, []string{url}, iopts.Policy); err != nil {
		return Report{}, err
	}
	if opts.Verify != nil {
		iopts.Verify = func(_ context.Context, c *contract.Case) error { return opts.Verify(nil, caseInfo(c)) }
	}
	rep := Report{Seed: seed}
	for _, r := range contract.Run(ctx, cases, iopts, nil) {
		rep.Results = append(rep.Results, result(r))
	}
	return rep, nil
}

// build makes and selects the cases.
func build(opts Options) ([]contract.Case, uint64, error) {
	seed := opts.Seed
	for seed == 0 {
		seed = rand.Uint64()
	}
	all, err := contract.Suite(contract.SuiteOptions{Seed: seed, Domain: opts.Domain, App: opts.App, Burst: opts.Burst})
	if err != nil {
		return nil, 0, err
	}
	cases := contract.Select(all, opts.Run, opts.Skip, opts.Negative)
	if len(cases) == 0 {
		return nil, 0, errors.New("contract: Options.Run and Skip select no case: see Cases for their names")
	}
	return cases, seed, nil
}

// runOptions are the engine's options of a run against url.
func runOptions(url string, opts Options) (contract.Options, error) {
	o := contract.Options{
		Target: func(string, event.Family) (string, error) { return url, nil },
		Policy: deliver.Policy{Timeout: opts.Timeout, Header: opts.Header, UserAgent: "livecb-contract (Go)"},
	}
	if opts.Expect != "" {
		e, err := deliver.ParseExpect(opts.Expect)
		if err != nil {
			return o, fmt.Errorf("contract: Options.Expect: %w", err)
		}
		o.Policy.Expect = e
	}
	if err := o.Policy.Check(); err != nil {
		return o, fmt.Errorf("contract: %w", err)
	}
	return o, nil
}

func caseInfo(c *contract.Case) CaseInfo {
	info := CaseInfo{Name: c.Name, Family: string(c.Family), Rule: c.Rule, Negative: c.Negative, Burst: c.Burst, TaskExternalID: c.TaskExternalID}
	for _, cb := range c.Callbacks {
		info.Callbacks = append(info.Callbacks, Callback{Kind: string(cb.Kind), Body: cb.Body, ContentType: contentType(cb), TaskExternalID: cb.TaskExternalID,
			Stream: Stream{Domain: cb.Stream.Domain, App: cb.Stream.App, Name: cb.Stream.Name}})
	}
	return info
}

func contentType(cb contract.Callback) string {
	if cb.ContentType == "" {
		return "application/json"
	}
	return cb.ContentType
}

func result(r contract.Result) Result {
	out := Result{Case: caseInfo(r.Case), Outcome: Outcome(r.Outcome), Reason: r.Reason, Duration: r.Duration}
	if r.Outcome == contract.Fail {
		out.Details = contract.Details(r)
	}
	return out
}
