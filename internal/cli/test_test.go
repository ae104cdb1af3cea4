package cli

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/livecb/livecb/internal/contract"
)

// SIGINT (or SIGTERM) in the middle of a run: the case in flight and the
// cases not run are skipped, not failed, the JUnit report is written with
// them as skipped testcases, and the exit status is 130.
func TestTestInterruptedWritesTheReport(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			var requests atomic.Int32
			inFlight := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if requests.Add(1) == 3 {
					close(inFlight)
					<-r.Context().Done() // hangs until livecb gives up on it
					return
				}
				io.WriteString(w, "ok")
			}))
			defer srv.Close()
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			dir := t.TempDir()
			report := filepath.Join(dir, "report.xml")
			r := interruptAt(t, inFlight, sig, "test", "--to", srv.URL+"/cb", "--run", "^sample/", "--timeout", "1m", "--junit", report)
			if r.code != ExitInterrupted {
				t.Errorf("exit %d, want %d", r.code, ExitInterrupted)
			}
			for _, want := range []string{
				"PASS  sample/publish_started ", "PASS  sample/publish_done ",
				"SKIP  sample/record_done ", "      " + contract.ReasonInterrupted + "\n",
				"\nfamily  passed  failed  skipped\nsample       2       0        4\nall          2       0        4\n",
			} {
				if !strings.Contains(r.out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.out)
				}
			}
			if strings.Contains(r.out, "FAIL") || strings.Contains(r.out, "sample/snapshot") {
				t.Errorf("stdout:\n%s", r.out)
			}
			for _, want := range []string{"INTERRUPTED 6 cases: 2 passed, 0 failed, 1 skipped, 3 not run in ", "JUnit report: " + report + "\n",
				"Error: interrupted: the case in flight and the cases not run are reported as skipped\n"} {
				if !strings.Contains(r.err, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.err)
				}
			}
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatalf("no report: %v", err)
			}
			var doc contract.JUnitSuites
			if err := xml.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Tests != 6 || doc.Failures != 0 || doc.Skipped != 4 {
				t.Errorf("report: tests %d failures %d skipped %d\n%s", doc.Tests, doc.Failures, doc.Skipped, b)
			}
			var skipped []string
			for _, c := range doc.Suites[0].Cases {
				if c.Skipped != nil {
					skipped = append(skipped, c.Name+": "+c.Skipped.Message)
				}
			}
			want := "sample/record_done: " + contract.ReasonInterrupted + "|sample/task_record_done: not run: interrupted|sample/snapshot: not run: interrupted|sample/quality: not run: interrupted"
			if strings.Join(skipped, "|") != want {
				t.Errorf("skipped testcases:\n%s\nwant\n%s", strings.Join(skipped, "\n"), strings.ReplaceAll(want, "|", "\n"))
			}
		})
	}
}

// An unwritable --junit path is an error (exit 4) before the first case:
// the receiver gets nothing.
func TestTestUnwritableJUnitFailsFirst(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	for _, path := range []string{filepath.Join(t.TempDir(), "missing", "report.xml"), t.TempDir()} {
		res := runSend(t, "", false, "test", "--to", url+"/cb", "--junit", path)
		if res.code != ExitIO || !strings.Contains(res.err, "--junit") || res.out != "" {
			t.Errorf("--junit %s: exit %d\n%s%s", path, res.code, res.out, res.err)
		}
	}
	if len(r.bodies) != 0 {
		t.Errorf("the receiver got %d requests", len(r.bodies))
	}
}

// A failing run ends with the summary by family, a FAIL headline and the
// --run pattern of the failures; --output json ends with the summary
// record.
func TestTestSummaryByFamily(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if bytes.Contains(b, []byte(`"status":"fail"`)) {
			http.Error(w, "status fail", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	res := runSend(t, "", false, "test", "--to", srv.URL, "--run", "^(enum|sample)/", "--seed", "3")
	if res.code != ExitCheckFailed {
		t.Fatalf("exit %d\n%s", res.code, res.err)
	}
	if !strings.HasSuffix(res.out, "\nfamily  passed  failed  skipped\nsample       6       0        0\nenum        26       5        0\nall         32       5        0\n") {
		t.Errorf("stdout ends:\n%s", res.out[max(0, len(res.out)-300):])
	}
	if !strings.Contains(res.err, "FAIL 37 cases: 32 passed, 5 failed in ") ||
		!strings.Contains(res.err, "--seed 3 --run '^(enum/publish_started/status/fail|enum/publish_done/status/fail|") {
		t.Errorf("stderr:\n%s", res.err)
	}
	res = runSend(t, "", false, "test", "--to", srv.URL, "--run", "^(enum|sample)/", "--seed", "3", "-o", "json")
	lines := strings.Split(strings.TrimSpace(res.out), "\n")
	if last := lines[len(lines)-1]; len(lines) != 38 || !strings.HasPrefix(last, `{"summary":{"cases":37,"passed":32,"failed":5,"skipped":0,"not_run":0,"interrupted":false,"seed":3,"time_ms":`) ||
		!strings.HasSuffix(last, `"families":[{"family":"sample","passed":6,"failed":0,"skipped":0},{"family":"enum","passed":26,"failed":5,"skipped":0}]}}`) {
		t.Errorf("%d lines, the last:\n%s", len(lines), last)
	}
}
