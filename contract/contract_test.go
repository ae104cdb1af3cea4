package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/livecb/livecb/contract"
)

// store is a correct receiver: it accepts every callback that is a JSON
// object about a stream, keeps each body under its stream's name, and
// rejects what is not a callback with a 4xx.
type store struct {
	mu     sync.Mutex
	bodies map[string][][]byte
}

func (s *store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		http.Error(w, "want JSON", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var cb map[string]any
	if err != nil || json.Unmarshal(body, &cb) != nil || cb == nil {
		http.Error(w, "not a JSON object", http.StatusBadRequest)
		return
	}
	name, _ := cb["streamName"].(string)
	s.mu.Lock()
	s.bodies[name] = append(s.bodies[name], body)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// The suite against a correct handler: every case passes, negative ones
// included, and Verify sees each case's bodies where the receiver kept
// them.
func TestTestPassesACorrectReceiver(t *testing.T) {
	s := &store{bodies: map[string][][]byte{}}
	verified := map[string]bool{}
	contract.Test(t, s, contract.Options{Negative: true, Verify: func(t testing.TB, c contract.CaseInfo) error {
		verified[c.Name] = true
		if len(c.Kinds()) != len(c.Callbacks) || c.Rule == "" || !strings.HasPrefix(c.Name, c.Family+"/") {
			return errors.New("incomplete case information")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, cb := range c.Callbacks {
			if c.Negative {
				continue // rejected: nothing kept
			}
			if !slices.ContainsFunc(s.bodies[cb.Stream.Name], func(b []byte) bool { return bytes.Equal(b, cb.Body) }) {
				return errors.New("a body of " + cb.Stream.Name + " was not kept")
			}
		}
		return nil
	}})
	cases, _, err := contract.Cases(contract.Options{Negative: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.Negative && !verified[c.Name] {
			t.Errorf("Verify was not called for %s", c.Name)
		}
	}
}

// A receiver that rejects the older revision's status "fail": run as a go
// test, exactly those cases fail, each as its own subtest with its reason.
func TestTestReportsEachFailingCaseAsASubtest(t *testing.T) {
	if os.Getenv("LIVECB_CONTRACT_HELPER") == "1" {
		t.Skip("the helper process runs TestHelperRejectsStatusFail only")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHelperRejectsStatusFail$", "-test.v")
	cmd.Env = append(os.Environ(), "LIVECB_CONTRACT_HELPER=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the helper did not fail: %v\n%s", err, out)
	}
	failed := regexp.MustCompile(`(?m)^    --- FAIL: TestHelperRejectsStatusFail/(\S+)`).FindAllSubmatch(out, -1)
	var names []string
	for _, m := range failed {
		names = append(names, string(m[1]))
	}
	want := []string{"enum/publish_started/status/fail", "enum/publish_done/status/fail", "enum/record_done/status/fail",
		"enum/task_record_done/status/fail", "enum/snapshot/status/fail"}
	if !slices.Equal(names, want) {
		t.Errorf("failed subtests %v, want %v\n%s", names, want, out)
	}
	for _, s := range []string{
		"--- PASS: TestHelperRejectsStatusFail/sample/publish_started",
		"--- PASS: TestHelperRejectsStatusFail/burst/mixed",
		"publish_done: answered 400 Bad Request, want 200: the receiver rejected a body the service sends",
		`rule:    publish_done status "fail" is documented only by an older revision`,
	} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("the output lacks %q:\n%s", s, out)
		}
	}
	if !regexp.MustCompile(`(?m)^ +enum +26 passed, 5 failed, 0 skipped$`).Match(out) {
		t.Errorf("no summary by family:\n%s", out)
	}
}

func TestHelperRejectsStatusFail(t *testing.T) {
	if os.Getenv("LIVECB_CONTRACT_HELPER") != "1" {
		t.Skip("run by TestTestReportsEachFailingCaseAsASubtest")
	}
	s := &store{bodies: map[string][][]byte{}}
	contract.Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(`"status":"fail"`)) {
			http.Error(w, "status fail", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.ServeHTTP(w, r)
	}), contract.Options{})
}

// Run and Cases: selection, the seed, and errors before any case.
func TestRunSelectsAndReports(t *testing.T) {
	s := &store{bodies: map[string][][]byte{}}
	srv := newServer(t, s)
	rep, err := contract.Run(context.Background(), srv, contract.Options{Run: regexp.MustCompile(`^reconnect/`), Skip: regexp.MustCompile(`records`), Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seed != 9 || !rep.Passed() || len(rep.Results) != 2 || rep.Results[0].Case.Name != "reconnect/republish" ||
		len(rep.Results[0].Case.Streams()) != 1 || len(rep.Results[0].Case.Callbacks) != 4 {
		t.Errorf("report %+v", rep)
	}
	again, _, _ := contract.Cases(contract.Options{Run: regexp.MustCompile(`^reconnect/republish$`), Seed: 9})
	if again[0].Streams()[0] != rep.Results[0].Case.Streams()[0] {
		t.Errorf("seed 9 made %v, then %v", rep.Results[0].Case.Streams(), again[0].Streams())
	}
	if len(s.bodies[again[0].Streams()[0].Name]) != 4 {
		t.Errorf("the receiver kept %d bodies of the stream", len(s.bodies[again[0].Streams()[0].Name]))
	}

	if _, err := contract.Run(context.Background(), srv, contract.Options{Run: regexp.MustCompile(`^nothing`)}); err == nil {
		t.Error("no case selected, no error")
	}
	if _, err := contract.Run(context.Background(), srv, contract.Options{Expect: "20x"}); err == nil || !strings.Contains(err.Error(), "Options.Expect") {
		t.Errorf("bad Expect: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + l.Addr().String() + "/cb"
	l.Close()
	if _, err := contract.Run(context.Background(), closed, contract.Options{}); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("closed port: %v", err)
	}
	fams := contract.Families()
	if len(fams) < 10 || fams[0].Name != "sample" || fams[len(fams)-1].Name != "burst" {
		t.Errorf("families %+v", fams)
	}
}

func newServer(t *testing.T, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}
