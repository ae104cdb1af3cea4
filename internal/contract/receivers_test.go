package contract

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
)

// receiverBin is the receiver of testdata/receivers, built once by TestMain
// and run by every test, correct or with one of its -bug values.
var receiverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "livecb-receivers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	receiverBin = filepath.Join(dir, "receiver")
	build := exec.Command("go", "build", "-o", receiverBin, "./testdata/receivers")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test receiver: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startReceiver runs the receiver of testdata/receivers with -bug bug
// ("none" for the correct one) as a process on a free loopback port and
// returns its callback URL once it listens.
func startReceiver(t testing.TB, bug string, args ...string) string {
	t.Helper()
	name := "-bug " + bug
	cmd := exec.Command(receiverBin, append([]string{"-addr", "127.0.0.1:0", "-bug", bug}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Broken receivers log their panics: keep them for a failing test only.
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("receiver %s stderr:\n%s", name, excerpt(stderr.Bytes(), 2000))
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		base, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("receiver %s did not start: first line %q", name, line)
		}
		return base + "/callback"
	case <-time.After(10 * time.Second):
		t.Fatalf("receiver %s did not report its address within 10s", name)
	}
	return ""
}

func TestProbeReportsUnreachableReceiver(t *testing.T) {
	url := startReceiver(t, "none")
	if err := Probe(context.Background(), []string{url}, deliver.Policy{Timeout: time.Second}); err != nil {
		t.Fatalf("probe of a running receiver: %v", err)
	}
	// Port 1 (tcpmux) is closed on any machine that runs these tests.
	err := Probe(context.Background(), []string{"http://127.0.0.1:1/cb"}, deliver.Policy{Timeout: time.Second})
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Cause != deliver.CauseRefused ||
		err.Error() != "the receiver at http://127.0.0.1:1/cb is unreachable: connection refused: is the receiver running, and on this port?" {
		t.Fatalf("probe of a closed port: got %v, want a refused UnreachableError in words", err)
	}
	// A name that cannot resolve (.invalid never does) is no refusal.
	err = Probe(context.Background(), []string{"http://receiver.invalid/cb"}, deliver.Policy{Timeout: time.Second})
	if !errors.As(err, &ue) || ue.Cause != deliver.CauseDNS || strings.Contains(err.Error(), "lookup receiver") {
		t.Fatalf("probe of an unknown host: got %v, want a DNS UnreachableError in words", err)
	}
}

// seedsPerBug is how many random seeds each receiver is tried with.
const seedsPerBug = 5

// randomSeeds returns n random seeds (printed by the caller on failure).
func randomSeeds(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = rand.Uint64()
	}
	return out
}

// runSeeds runs every positive case of the suite built with each seed
// against its own receiver with -bug bug, the seeds at once, and returns
// the results by seed.
func runSeeds(t *testing.T, bug string, args []string, seeds []uint64, mod func(*Options)) map[uint64][]Result {
	t.Helper()
	out := map[uint64][]Result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, seed := range seeds {
		cases, err := Suite(SuiteOptions{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		url := startReceiver(t, bug, args...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A generous limit: the machine running the tests may be
			// loaded (or the race detector on); only global-lock's case
			// is about time, and sets its own.
			opts := Options{Target: func(string, event.Family) (string, error) { return url, nil }, Policy: deliver.Policy{Timeout: 10 * time.Second}}
			if mod != nil {
				mod(&opts)
			}
			results := Run(context.Background(), Select(cases, nil, nil, false), opts, nil)
			mu.Lock()
			out[seed] = results
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// Each receiver of testdata/receivers with a bug of the generated
// families fails, whatever the seed, exactly the cases of the rule it
// breaks, all in that family: the failure is attributed to the rule.
func TestEachBugIsCaughtByItsFamily(t *testing.T) {
	tests := []struct {
		bug    string
		args   []string
		opts   func(*Options)
		family Family
		cases  string // the failing cases' names
		reason string // in every failing case's reason
	}{
		{bug: "format-no-ts", family: FamilyEnum, cases: `^enum/(record_done|task_record_done)/format/ts$`, reason: "answered 400 Bad Request"},
		{bug: "module-subset", family: FamilyEnum, cases: `^enum/quality/module/(PureColor|ColorCast|Brightness|Contrast)$`, reason: "answered 400 Bad Request"},
		{bug: "status-fail", family: FamilyEnum, cases: `^enum/[a-z_]+/status/fail$`, reason: "the receiver rejected a body the service sends"},
		{bug: "group-max-5", family: FamilyBoundary, cases: `^boundary/task_record_done/group/10-spans-`, reason: "answered 400 Bad Request"},
		{bug: "zero-duration", family: FamilyBoundary, cases: `^boundary/(record_done|task_record_done)/(duration/min/(string|number)|zero-length|all-min)$`, reason: "answered 400 Bad Request"},
		// Each request holds the lock 200ms: the burst's last callbacks wait
		// 10s for the others, well past the 4s limit; alone, each of the
		// other cases' callbacks waits 200ms, far within it even on a
		// loaded machine.
		{bug: "global-lock", args: []string{"-hold", "200ms"}, opts: func(o *Options) { o.Policy.Timeout = 4 * time.Second }, family: FamilyBurst,
			cases: `^burst/mixed$`, reason: "callbacks sent at once did not get 200 in time; the first: request"},
		{bug: "refuse-restart", family: FamilyReconnect, cases: `^reconnect/restart-without-done$`, reason: "request 2 of 3 (publish_started): answered 409 Conflict"},
		{bug: "refuse-republish", family: FamilyReconnect, cases: `^reconnect/(republish|records-of-both-sessions)$`, reason: "(publish_started): answered 409 Conflict"},
		{bug: "one-record-per-stream", family: FamilyReconnect, cases: `^reconnect/records-of-both-sessions$`, reason: "request 6 of 6 (record_done): answered 500"},
	}
	for _, tt := range tests {
		t.Run(tt.bug, func(t *testing.T) {
			t.Parallel()
			seeds := randomSeeds(seedsPerBug)
			want := regexp.MustCompile(tt.cases)
			for seed, results := range runSeeds(t, tt.bug, tt.args, seeds, tt.opts) {
				var failed []string
				matched := 0
				for _, r := range results {
					if want.MatchString(r.Case.Name) {
						matched++
					}
					switch {
					case r.Outcome == Fail:
						failed = append(failed, r.Case.Name)
						if r.Case.Family != tt.family || !want.MatchString(r.Case.Name) {
							t.Errorf("seed %d: %s (family %s) failed, but -bug %s breaks a rule of family %s only: %s\n%s",
								seed, r.Case.Name, r.Case.Family, tt.bug, tt.family, r.Reason, Details(r))
						} else if !strings.Contains(r.Reason, tt.reason) {
							t.Errorf("seed %d: %s: reason %q does not contain %q", seed, r.Case.Name, r.Reason, tt.reason)
						}
					case r.Outcome != Pass:
						t.Errorf("seed %d: %s: %s %s", seed, r.Case.Name, r.Outcome, r.Reason)
					case want.MatchString(r.Case.Name):
						t.Errorf("seed %d: %s passed: -bug %s was not caught by it", seed, r.Case.Name, tt.bug)
					}
				}
				if matched == 0 || len(failed) != matched {
					t.Errorf("seed %d: %d cases match %s, %d failed: %v", seed, matched, tt.cases, len(failed), failed)
				}
			}
			if t.Failed() {
				t.Logf("seeds: %v", seeds)
			}
		})
	}
}

// The correct receiver passes every case, negative ones included, under
// every seed tried, with --verify-cmd checking each task record was kept
// with its exact id.
func TestGoodReceiverPassesEverySeed(t *testing.T) {
	seeds := randomSeeds(seedsPerBug)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, seed := range seeds {
		store := filepath.Join(t.TempDir(), "records.tsv")
		url := startReceiver(t, "none", "-store", store)
		cases, err := Suite(SuiteOptions{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			results := Run(context.Background(), Select(cases, nil, nil, true), Options{
				Target:    func(string, event.Family) (string, error) { return url, nil },
				Policy:    deliver.Policy{Timeout: 10 * time.Second},
				VerifyCmd: "STORE=" + store + "; " + verifyStored,
			}, nil)
			mu.Lock()
			defer mu.Unlock()
			for _, r := range results {
				if r.Outcome != Pass {
					t.Errorf("seed %d: %s: %s: %s\n%s", seed, r.Case.Name, r.Outcome, r.Reason, Details(r))
				}
			}
			t.Logf("seed %d: %d cases in %s", seed, len(results), time.Since(start).Round(time.Millisecond))
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.Logf("seeds: %v", seeds)
	}
}
