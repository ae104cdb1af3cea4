package inspect

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/livecb/livecb/internal/event"
)

func TestPrettyLinesKeepTokensAndPaths(t *testing.T) {
	in := []byte(`{"a":163594946396839936123,"s":"caf\u00e9 \"x\"","e":{},"l":[],"o":{"k/~":[1,{"z":null}]},"":true}`)
	got, ok := prettyLines(in)
	if !ok {
		t.Fatal("not pretty-printed")
	}
	want := []BodyLine{
		{"", "{"},
		{"/a", `  "a": 163594946396839936123,`},
		{"/s", `  "s": "caf\u00e9 \"x\"",`},
		{"/e", `  "e": {},`},
		{"/l", `  "l": [],`},
		{"/o", `  "o": {`},
		{"/o/k~1~0", `    "k/~": [`},
		{"/o/k~1~0/0", `      1,`},
		{"/o/k~1~0/1", `      {`},
		{"/o/k~1~0/1/z", `        "z": null`},
		{"/o/k~1~0/1", `      }`},
		{"/o/k~1~0", `    ]`},
		{"/o", `  },`},
		{"/", `  "": true`},
		{"", "}"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	for _, bad := range []string{`{"a":`, `{"a":1} x`, "\xff"} {
		if _, ok := prettyLines([]byte(bad)); ok {
			t.Errorf("%q pretty-printed; want refused", bad)
		}
	}
}

func TestPlaceFindings(t *testing.T) {
	b := []byte(`{"event":"publish_started","group":[{"beginTime":"1"}],"eventTime":"12"}`)
	pretty, _ := prettyLines(b)
	fs := event.Findings{
		{Path: "/eventTime", Severity: event.Warning, Code: event.CodeTypeDrift},
		{Path: "/group/0/endTime", Severity: event.Error, Code: event.CodeMissingField},
		{Path: "/status", Severity: event.Error, Code: event.CodeMissingField},
		{Path: "", Severity: event.Warning, Code: "content_type"},
	}
	got := placeFindings(fs, pretty, 0, func(c event.Code) bool { return c == "content_type" })
	want := []struct {
		at    int
		exact bool
	}{{7, true}, {3, false}, {0, false}, {-1, false}}
	for i, w := range want {
		if got[i].At != w.at || got[i].Exact != w.exact {
			t.Errorf("finding %s at line %d (exact %v), want %d (%v); lines %q", fs[i].Path, got[i].At, got[i].Exact, w.at, w.exact, pretty)
		}
	}
	// A syntax error is placed on its raw line.
	raw := placeFindings(event.Findings{{Severity: event.Error, Code: event.CodeNotJSON, Line: 2, Column: 3}}, nil, 3, func(event.Code) bool { return false })
	if raw[0].At != 1 || !raw[0].Exact {
		t.Errorf("syntax error at %d; want raw line index 1", raw[0].At)
	}
}

// receiver is a real HTTP server that keeps what it received.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
	srv    *httptest.Server
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, buf.Bytes())
		r.heads = append(r.heads, req.Header.Clone())
		r.mu.Unlock()
		w.Header().Set("X-Receiver", "yes")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("stored\n"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() ([][]byte, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), append([]http.Header(nil), r.heads...)
}

// The copied commands, run by a real shell, deliver the exact bytes:
// quotes, %, backslashes, non-UTF-8 bytes, NUL, control and bidi
// characters, an empty header value.
func TestCommandsReproduceExactBytes(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	bodies := [][]byte{
		[]byte(`{"streamName":"it's 100% \\ \"x\"","n":163594946396839936}`),
		[]byte("{\"a\":\"multi\nline\ttab\"}\n"),
		[]byte("-n not an option\xff\x00\x1b[31m\u202e end"),
		{},
	}
	header := http.Header{"User-Agent": {"JDCloud-Live/1.0 'quoted'"}, "X-Empty": {""}, "X-Bytes": {"a\xffb"},
		"Connection": {"keep-alive"}, "Content-Type": {"application/json; charset=utf-8"}}
	for _, shell := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(shell); err != nil {
			continue
		}
		for i, b := range bodies {
			rcv := newReceiver(t)
			cmd := CurlCommand(rcv.srv.URL+"/cb/../x?a=[1]", header, b)
			if out, err := exec.Command(shell, "-c", cmd).CombinedOutput(); err != nil {
				t.Fatalf("%s: body %d: %v\n%s\n%s", shell, i, err, cmd, out)
			}
			got, heads := rcv.got()
			if len(got) != 1 || !bytes.Equal(got[0], b) {
				t.Fatalf("%s: body %d: received %q, want %q\ncommand:\n%s", shell, i, got, b, cmd)
			}
			h := heads[0]
			if h.Get("User-Agent") != "JDCloud-Live/1.0 'quoted'" || h.Get("X-Bytes") != "a\xffb" ||
				h.Get("Content-Type") != "application/json; charset=utf-8" || h.Get("Accept") != "" {
				t.Errorf("%s: headers %q", shell, h)
			}
			if vs, ok := h["X-Empty"]; !ok || vs[0] != "" {
				t.Errorf("%s: the empty header did not arrive empty: %q", shell, h)
			}
		}
	}
}

func TestSendCommandPipesExactBytes(t *testing.T) {
	// A stand-in livecb on PATH records what the command gives it: the
	// quoting is the shell's, the bytes are real.
	dir := t.TempDir()
	out := filepath.Join(dir, "got")
	fake := "#!/bin/sh\ncat > " + out + "\nprintf '%s\\n' \"$@\" > " + out + ".args\n"
	if err := os.WriteFile(filepath.Join(dir, "livecb"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{[]byte(`{"a":"it's 100%"}`), []byte("\xff\x00%s\\n")} {
		cmd := SendCommand("http://127.0.0.1:3000/cb?x='y'", b, true)
		c := exec.Command("sh", "-c", cmd)
		c.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
		if o, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s\n%s", err, cmd, o)
		}
		got, _ := os.ReadFile(out)
		args, _ := os.ReadFile(out + ".args")
		if !bytes.Equal(got, b) {
			t.Errorf("stdin %q, want %q (command %s)", got, b, cmd)
		}
		if want := "send\n--data\n-\n--to\nhttp://127.0.0.1:3000/cb?x='y'\n--no-validate\n"; string(args) != want {
			t.Errorf("args %q, want %q", args, want)
		}
	}
	if c := SendCommand("http://h/cb", []byte(`{}`), false); c != `printf '%s' '{}' | livecb send --data - --to 'http://h/cb'` {
		t.Errorf("command %s", c)
	}
}

func TestDetailOfCapturedRequest(t *testing.T) {
	bad := body(t, event.PublishStarted, "eventTime", `"12"`)
	bad, _ = event.Unset(bad, "status")
	path := captureOf(t, "/stream?auth_key=s3cret", bad)
	in, err := Open([]string{path}, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	d, err := in.Detail(0, "http://127.0.0.1:9/")
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != "publish_started" || d.Verdict != "invalid" || d.Stream == nil || d.Stream.Name != "cam1" {
		t.Fatalf("row %+v", d.Row)
	}
	codes := map[string]Mark{}
	for _, m := range d.Findings {
		codes[string(m.Code)+m.Path] = m
	}
	drift, ok := codes["type_drift/eventTime"]
	if !ok || !drift.Exact || d.Body.Pretty[drift.At].Path != "/eventTime" {
		t.Errorf("type_drift at %+v; lines %q", drift, d.Body.Pretty)
	}
	if miss, ok := codes["missing_field/status"]; !ok || miss.Exact || miss.At != 0 {
		t.Errorf("missing status at %+v", miss)
	}
	if d.ResendURL != "http://127.0.0.1:9/stream?auth_key=s3cret" {
		t.Errorf("resend URL %q", d.ResendURL)
	}
	if !strings.Contains(d.Curl, "'http://127.0.0.1:9/stream?auth_key=s3cret'") || !strings.Contains(d.Send, "--no-validate") {
		t.Errorf("commands\n%s\n%s", d.Curl, d.Send)
	}
	if d.Fixture != "publish_started-1.json" || d.Body.Text == nil || *d.Body.Text != string(bad) {
		t.Errorf("fixture %q, body %v", d.Fixture, d.Body.Text)
	}
	// A report masks the secret; the detail served locally does not.
	e := in.ix.get(0)
	m, err := in.detail(e, detailOptions{mask: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Target, "s3cret") || strings.Contains(m.Curl, "s3cret") || !m.Masked {
		t.Errorf("masked detail shows the secret: %q %q", m.Target, m.Curl)
	}
}
