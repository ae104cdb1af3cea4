package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/event"
)

func runLoad(t *testing.T, errTTY bool, args ...string) run {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb, ErrTTY: errTTY,
		Getenv: func(string) string { return "" }}, BuildInfo{Version: "test"})
	return run{code, out.String(), errb.String()}
}

func TestSendLoadJSONReportAndDistinctStreams(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	res := runLoad(t, false, "send", "record_done", "--count", "150", "--concurrency", "6", "--output", "json", "--to", url+"/cb")
	if res.code != 0 || res.err != "" {
		t.Fatalf("exit %d, stderr %s", res.code, res.err)
	}
	var rep struct {
		Kinds       []string           `json:"kinds"`
		URLs        []string           `json:"urls"`
		SameBody    bool               `json:"same_body"`
		Concurrency int                `json:"concurrency"`
		Requests    int64              `json:"requests"`
		Answered    int64              `json:"answered"`
		Matched     int64              `json:"matched"`
		Failed      int64              `json:"failed"`
		Statuses    map[string]int64   `json:"statuses"`
		Errors      map[string]int64   `json:"errors"`
		Throughput  float64            `json:"throughput"`
		LatencyMS   map[string]float64 `json:"latency_ms"`
		ErrorRate   float64            `json:"error_rate"`
		OK          bool               `json:"ok"`
	}
	var keys map[string]any
	if err := json.Unmarshal([]byte(res.out), &keys); err != nil {
		t.Fatalf("%v: %s", err, res.out)
	}
	for _, k := range []string{"kinds", "urls", "same_body", "concurrency", "requests", "answered", "matched", "missed", "failed",
		"statuses", "errors", "elapsed_s", "throughput", "latency_ms", "error_rate", "max_error_rate", "ok"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	if err := json.Unmarshal([]byte(res.out), &rep); err != nil {
		t.Fatalf("%v: %s", err, res.out)
	}
	if rep.Requests != 150 || rep.Answered != 150 || rep.Matched != 150 || rep.Failed != 0 || rep.Statuses["200"] != 150 ||
		len(rep.Errors) != 0 || rep.Concurrency != 6 || rep.SameBody || !rep.OK || rep.ErrorRate != 0 ||
		len(rep.Kinds) != 1 || rep.Kinds[0] != "record_done" || rep.URLs[0] != url+"/cb" || rep.Throughput <= 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, q := range []string{"min", "p50", "p90", "p99", "p99.9", "max", "mean"} {
		if rep.LatencyMS[q] <= 0 {
			t.Errorf("latency %s = %v", q, rep.LatencyMS[q])
		}
	}
	if !(rep.LatencyMS["p50"] <= rep.LatencyMS["p99"] && rep.LatencyMS["p99"] <= rep.LatencyMS["max"]) {
		t.Errorf("latency %v", rep.LatencyMS)
	}
	streams := map[string]bool{}
	for _, b := range r.bodies {
		ev, fs := event.Check([]byte(b), event.Options{})
		if ev == nil || fs.HasErrors() {
			t.Fatalf("invalid body %s", b)
		}
		streams[ev.Identity().Stream] = true
	}
	if len(r.bodies) != 150 || len(streams) != 150 {
		t.Fatalf("%d bodies, %d distinct streams", len(r.bodies), len(streams))
	}
}

func TestSendLoadProgressBarOnlyOnATerminal(t *testing.T) {
	var r receiver
	url := r.start(t, 200)
	// Slow enough for the bar to draw at least once.
	res := runLoad(t, true, "send", "snapshot", "--count", "30", "--rate", "60", "--to", url)
	if res.code != 0 || !strings.Contains(res.err, "sending") || !strings.Contains(res.err, "req") {
		t.Fatalf("exit %d; a terminal's stderr has no progress bar: %q", res.code, res.err)
	}
	if strings.Contains(res.out, "\r") {
		t.Errorf("progress on stdout: %q", res.out)
	}
	res = runLoad(t, false, "send", "snapshot", "--count", "30", "--rate", "60", "--to", url)
	if res.code != 0 || res.err != "" {
		t.Fatalf("piped stderr got %q", res.err)
	}
}

func TestSendLoadEmitBodiesValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "targets.json")
	res := runLoad(t, false, "send", "publish_started", "task_record_done", "--count", "40", "--set", "extra=1", "--emit", file, "--to", "http://127.0.0.1:9/cb")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.err)
	}
	if !strings.Contains(res.err, `"extra" is not a field`) {
		t.Errorf("no warning about the unknown path: %s", res.err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	streams := map[string]int{}
	for _, l := range lines {
		var tgt struct {
			Method, URL, Body string
			Header            map[string][]string
		}
		if err := json.Unmarshal([]byte(l), &tgt); err != nil {
			t.Fatal(err)
		}
		body, err := base64.StdEncoding.DecodeString(tgt.Body)
		if err != nil {
			t.Fatal(err)
		}
		ev, fs := event.Check(body, event.Options{})
		if ev == nil || fs.HasErrors() || !bytes.Contains(body, []byte(`"extra":1`)) {
			t.Fatalf("body %s: %v", body, fs)
		}
		if tgt.Header["User-Agent"][0] != "livecb/test" {
			t.Fatalf("header %v", tgt.Header)
		}
		streams[ev.Identity().Stream]++
	}
	if len(lines) != 40 || len(streams) != 20 {
		t.Fatalf("%d targets about %d streams", len(lines), len(streams))
	}
}
