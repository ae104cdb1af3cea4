package capture

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
)

func TestSetBodyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     []byte
		encoding string
	}{
		{"json", []byte(`{"a":1}`), ""},
		{"empty", []byte{}, ""},
		{"non-ASCII UTF-8", []byte(`{"streamName":"直播-é"}`), ""},
		{"control bytes", []byte("\x1b[2J\x00\r\n"), ""},
		{"invalid UTF-8", []byte("{\"a\":\"\xff\xfe\"}"), "base64"},
		{"cut UTF-8 sequence", []byte("caf\xc3"), "base64"},
	} {
		var r Record
		r.SetBody(tc.body)
		if r.Encoding != tc.encoding {
			t.Errorf("%s: encoding %q, want %q", tc.name, r.Encoding, tc.encoding)
		}
		got, err := r.Bytes()
		if err != nil || !bytes.Equal(got, tc.body) {
			t.Errorf("%s: Bytes() = %q, %v; want %q", tc.name, got, err, tc.body)
		}
	}
	r := Record{Body: "x", Encoding: "gzip"}
	if _, err := r.Bytes(); err == nil {
		t.Error("an unknown encoding was accepted")
	}
}

func TestWriterAndParse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.ndjson")
	w, err := Create(path, true)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 28, 10, 58, 55, 123456789, time.UTC)
	in := []*Record{
		{Time: at, Remote: "127.0.0.1:5000", Method: "POST", Target: "/cb?a=1", Host: "localhost:8080",
			Header: http.Header{"Content-Type": {"application/json"}}, Size: 7, Kind: event.Snapshot,
			Answer: Answer{Status: 200}},
		{Time: at, Method: "POST", Size: 2, Truncated: true,
			Findings: event.Findings{{Severity: event.Error, Code: "body_too_large", Message: "too big"}},
			Answer:   Answer{Status: 502, Forwarded: &Forward{URL: "http://127.0.0.1:1/", LatencyMS: 1.5, Error: "refused"}}},
	}
	in[0].SetBody([]byte(`{"a":1}`))
	in[1].SetBody([]byte{0xff, 0x00})
	for _, r := range in {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	// The time keeps its nanoseconds; the format field comes first.
	if !strings.HasPrefix(lines[0], `{"format":"livecb.capture.v2","seq":1,"time":"2026-03-28T10:58:55.123456789Z"`) {
		t.Errorf("line 1: %s", lines[0])
	}
	for i, line := range lines {
		if !IsRecord([]byte(line)) {
			t.Errorf("line %d not recognised as a record", i+1)
		}
		r, err := Parse([]byte(line))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if r.Seq != uint64(i+1) || !r.Time.Equal(at) {
			t.Errorf("line %d: seq %d time %v", i+1, r.Seq, r.Time)
		}
		want, _ := in[i].Bytes()
		if got, _ := r.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("line %d: body %q, want %q", i+1, got, want)
		}
	}
	r, _ := Parse([]byte(lines[1]))
	if !r.Truncated || r.Answer.Forwarded == nil || r.Answer.Forwarded.Error != "refused" || r.Findings[0].Code != "body_too_large" {
		t.Errorf("record 2: %+v", r)
	}
	r, _ = Parse([]byte(lines[0]))
	if r.Host != "localhost:8080" || r.Target != "/cb?a=1" || r.Kind != event.Snapshot || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("record 1: %+v", r)
	}
}

func TestParseRejects(t *testing.T) {
	for _, line := range []string{
		`{"format":"livecb.capture.v3","seq":1}`,
		`{"seq":1}`,
		`{"format":"livecb.capture.v1","body":"!!","encoding":"base64"}`,
		`{"format":"livecb.capture.v1","target":"/","target_raw":"!!"}`,
		`{"format":"livecb.capture.v1","host":"h","host_raw":"%"}`,
		`{"format":"livecb.capture.v1","header_raw":{"X":["*"]}}`,
		`{"format":"livecb.capture.v1","trailer":{"X":["a"]},"trailer_raw":{"X":["?"]}}`,
		`not json`,
	} {
		if _, err := Parse([]byte(line)); err == nil {
			t.Errorf("Parse(%s) succeeded", line)
		}
	}
	if IsRecord([]byte(`{"event":"publish_done"}`)) {
		t.Error("a callback body was taken for a capture record")
	}
}

func TestConcurrentWritesKeepWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.ndjson")
	w, err := Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := &Record{Method: "POST"}
			r.SetBody([]byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", 5000))))
			if err := w.Write(r); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	w.Close()
	f, _ := os.Open(path)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	seqs := map[uint64]bool{}
	for sc.Scan() {
		r, err := Parse(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", len(seqs)+1, err)
		}
		seqs[r.Seq] = true
	}
	if len(seqs) != n {
		t.Errorf("%d distinct records, want %d", len(seqs), n)
	}
}

func TestCreateAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.ndjson")
	for i := 0; i < 2; i++ {
		w, err := Create(path, false)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(&Record{Method: "POST"})
		w.Close()
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 2 {
		t.Errorf("%d lines after two runs, want 2 (append)", n)
	}
	if _, err := Create(filepath.Join(path, "sub"), false); err == nil {
		t.Error("Create under a file succeeded")
	}
}

// FuzzParse: capture logs are read back from disk and may be edited or cut;
// Parse must never panic, and what it accepts must survive a round trip.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"format":"livecb.capture.v1","seq":1,"time":"2026-03-28T10:58:55.123456789Z","method":"POST","target":"/","header":{},"body":"{}","size":2,"answer":{"status":200}}`))
	f.Add([]byte(`{"format":"livecb.capture.v1","body":"/w==","encoding":"base64","truncated":true}`))
	f.Add([]byte(`{"format":"livecb.capture.v1","body":"x","encoding":"gzip"}`))
	f.Add([]byte(`{"format":"livecb.capture.v1","findings":[{"path":"/a","severity":"error","code":"x","message":"m"}]`))
	f.Add([]byte(`{"format":"livecb.capture.v1","target":"/\ufffd","target_raw":"L//+","host":"h\ufffd","host_raw":"aOk=","trailer":{"X-Sum":["1"]},"trailer_raw":{"X-L":["6Q=="]}}`))
	f.Add(typicalRecord)
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := Parse(line)
		if err != nil {
			return
		}
		body, err := r.Bytes()
		if err != nil {
			t.Fatalf("Parse accepted a record whose body does not decode: %v", err)
		}
		for name, exact := range map[string]func() error{
			"target":  func() error { _, err := r.ExactTarget(); return err },
			"host":    func() error { _, err := r.ExactHost(); return err },
			"header":  func() error { _, err := r.ExactHeader(); return err },
			"trailer": func() error { _, err := r.ExactTrailer(); return err },
		} {
			if err := exact(); err != nil {
				t.Fatalf("Parse accepted a record whose exact %s does not decode: %v", name, err)
			}
		}
		var again Record
		again.SetBody(body)
		if got, _ := again.Bytes(); !bytes.Equal(got, body) {
			t.Fatalf("round trip changed the body: %q -> %q", body, got)
		}
	})
}

// typicalRecord is a record as livecb listen writes it for a record_done.
var typicalRecord = []byte(`{"format":"livecb.capture.v1","seq":1,"time":"2026-12-01T11:00:36.121486949Z","remote":"127.0.0.1:55506","method":"POST","target":"/cb","host":"127.0.0.1:18791","header":{"Content-Length":["405"],"Content-Type":["application/json"],"User-Agent":["livecb/dev"]},"body":"{\"version\":\"v1.1\",\"publishDomain\":\"push.yourdomain.com\",\"appName\":\"live\",\"streamName\":\"livecb-266522\",\"format\":\"flv\",\"duration\":\"422000.0\",\"fileSize\":\"131875000\",\"beginTime\":1796122411815,\"endTime\":1796122833815,\"event\":\"record_done\",\"downloadUrl\":\"http://s3.cn-north-1.jcloudcs.com/livecb-demo/record/20261201/push.yourdomain.com/live/livecb-266522/20261201105331_20261201110033.flv\",\"status\":\"success\"}\n","size":405,"kind":"record_done","answer":{"status":200}}`)

// TestParseReadsRecordsOfBefore: records written before target_raw,
// host_raw and trailer existed parse as they did, the exact forms falling
// back to the readable ones.
func TestParseReadsRecordsOfBefore(t *testing.T) {
	r, err := Parse(typicalRecord)
	if err != nil {
		t.Fatal(err)
	}
	target, err1 := r.ExactTarget()
	host, err2 := r.ExactHost()
	trailer, err3 := r.ExactTrailer()
	if target != "/cb" || host != "127.0.0.1:18791" || trailer != nil || err1 != nil || err2 != nil || err3 != nil {
		t.Errorf("exact target %q host %q trailer %v (%v %v %v)", target, host, trailer, err1, err2, err3)
	}
	// And a record without those fields encodes to a line of the same
	// record ("size" now before "body").
	enc, err := Encode(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := AppendLine(nil, r.Seq, enc)
	back, err := Parse(bytes.TrimSuffix(got, []byte("\n")))
	if err != nil || back.Format != Format {
		t.Fatalf("re-encoded:\n%s\nto %+v (%v)", got, back, err)
	}
	back.Format = r.Format
	if !reflect.DeepEqual(back, r) {
		t.Errorf("re-encoded:\n%s\nto %+v, want %+v", got, back, r)
	}
	// (The same fields, in this format's order.)
	v1 := func(b []byte) []byte {
		return bytes.Replace(bytes.Replace(b, []byte(`,"size":405`), nil, 1), []byte(Format), []byte(FormatV1), 1)
	}
	if want := v1(typicalRecord); !bytes.Equal(v1(got), append(want, '\n')) {
		t.Errorf("re-encoded:\n%s\nwant the fields of\n%s", got, typicalRecord)
	}
}

// TestExactTargetAndHost: bytes that are not UTF-8 are kept.
func TestExactTargetAndHost(t *testing.T) {
	var r Record
	r.SetTarget("/\xff\xfe?q=1")
	r.SetHost("h\xe9:80")
	if r.Target != "/\xff\xfe?q=1" || r.TargetRaw != "L//+P3E9MQ==" || r.HostRaw == "" {
		t.Errorf("target %q raw %q host raw %q", r.Target, r.TargetRaw, r.HostRaw)
	}
	enc, _ := Encode(&r, nil)
	back, err := Parse(bytes.TrimSuffix(AppendLine(nil, 1, enc), []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	if back.Target != "/\ufffd\ufffd?q=1" {
		t.Errorf("readable target %q", back.Target)
	}
	if got, _ := back.ExactTarget(); got != "/\xff\xfe?q=1" {
		t.Errorf("exact target %q", got)
	}
	if got, _ := back.ExactHost(); got != "h\xe9:80" {
		t.Errorf("exact host %q", got)
	}
	r.SetTarget("/ok")
	if r.TargetRaw != "" {
		t.Errorf("a UTF-8 target keeps a raw form %q", r.TargetRaw)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(typicalRecord)))
	for b.Loop() {
		if _, err := Parse(typicalRecord); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseSaysWhatIsWrongWithABody: a body is a string or a JSON object,
// and only an object has a "body_tail".
func TestParseSaysWhatIsWrongWithABody(t *testing.T) {
	for line, want := range map[string]string{
		`{"format":"livecb.capture.v1","seq":1,"body":[1]}`:                          "a string or a JSON object",
		`{"format":"livecb.capture.v1","seq":1,"body":"x","body_tail":"\n"}`:         `"body_tail" follows a body held as a JSON object`,
		`{"format":"livecb.capture.v1","seq":1,"body":{"a":1},"encoding":"base64"}`:  "has no encoding",
		`{"format":"livecb.capture.v1","seq":1,"body":{"a":1,},"encoding":"base64"}`: "invalid character",
	} {
		if _, err := Parse([]byte(line)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", line, err, want)
		}
	}
	// A JSON object, with its tail: the exact bytes, white space and all.
	r, err := Parse([]byte(`{"format":"livecb.capture.v1","seq":1,"body":{ "a" : [1, 2] },"body_tail":"\r\n"}`))
	if err != nil || r.Body != "{ \"a\" : [1, 2] }\r\n" || !r.BodyJSON {
		t.Errorf("got %+v, %v", r, err)
	}
}

// TestCutFormat: a line's start is a record's for the formats a reader
// reads, and no other.
func TestCutFormat(t *testing.T) {
	for line, want := range map[string]string{
		`{"format":"livecb.capture.v2","seq":1}`: `,"seq":1}`,
		`{"format":"livecb.capture.v1","seq":2}`: `,"seq":2}`,
		`{"format":"livecb.capture.v3","seq":3}`: "",
		`{"format":"livecb.capture.v2x"}`:        "",
		`{"seq":1,"format":"livecb.capture.v2"}`: "",
		`{"format":"livecb.capture.v2`:           "",
	} {
		rest, ok := CutFormat([]byte(line))
		if ok != (want != "") || ok && string(rest) != want {
			t.Errorf("CutFormat(%s) = %q, %v; want %q", line, rest, ok, want)
		}
	}
}
