package source

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
)

func readAll(t *testing.T, input string) (Format, []Item) {
	t.Helper()
	var items []Item
	st, err := Read("in", strings.NewReader(input), Options{}, func(it Item) error {
		items = append(items, it)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if st.Items != len(items) {
		t.Errorf("Stats.Items %d, %d items", st.Items, len(items))
	}
	return st.Format, items
}

type want struct {
	line      int
	body      string
	truncated bool
}

func check(t *testing.T, items []Item, wants []want) {
	t.Helper()
	if len(items) != len(wants) {
		t.Fatalf("got %d items, want %d: %+v", len(items), len(wants), items)
	}
	for i, w := range wants {
		it := items[i]
		if it.Line != w.line || string(it.Body) != w.body || it.Truncated != w.truncated {
			t.Errorf("item %d = line %d body %q truncated %v; want line %d body %q truncated %v",
				i, it.Line, it.Body, it.Truncated, w.line, w.body, w.truncated)
		}
		if it.File != "in" {
			t.Errorf("item %d: File %q", i, it.File)
		}
	}
}

func TestReadLines(t *testing.T) {
	long := `{"streamName":"` + strings.Repeat("x", 3<<20) + `"}`
	tests := []struct {
		name   string
		input  string
		format Format
		wants  []want
	}{
		{"ndjson", "{\"a\":1}\n{\"b\":2}\n", FormatNDJSON, []want{{1, `{"a":1}`, false}, {2, `{"b":2}`, false}}},
		{"blank lines keep numbering", "\n{\"a\":1}\n\n   \n{\"b\":2}\n\n", FormatNDJSON, []want{{2, `{"a":1}`, false}, {5, `{"b":2}`, false}}},
		{"CRLF", "{\"a\":1}\r\n{\"b\":2}\r\n", FormatNDJSON, []want{{1, `{"a":1}`, false}, {2, `{"b":2}`, false}}},
		{"no final newline but complete", "{\"a\":1}\n{\"b\":2}", FormatNDJSON, []want{{1, `{"a":1}`, false}, {2, `{"b":2}`, false}}},
		{"truncated last line", "{\"a\":1}\n{\"b\":2,\"c\":\"unfin", FormatNDJSON, []want{{1, `{"a":1}`, false}, {2, `{"b":2,"c":"unfin`, true}}},
		{"broken middle line is a body, not truncated", "{\"a\":1}\n{\"a\": 1,}\n{\"b\":2}\n", FormatNDJSON,
			[]want{{1, `{"a":1}`, false}, {2, `{"a": 1,}`, false}, {3, `{"b":2}`, false}}},
		{"long line", long + "\n{\"b\":2}\n", FormatNDJSON, []want{{1, long, false}, {2, `{"b":2}`, false}}},
		{"big numbers keep their digits", "{\"taskExternalId\":163594946396839936,\"fileSize\":96483721000000000000}\n", FormatNDJSON,
			[]want{{1, `{"taskExternalId":163594946396839936,"fileSize":96483721000000000000}`, false}}},
		{"pretty JSON document", "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}\n", FormatJSON, []want{{1, "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}", false}}},
		{"pretty JSON with CRLF", "{\r\n  \"a\": 1\r\n}\r\n", FormatJSON, []want{{1, "{\r\n  \"a\": 1\r\n}\r", false}}},
		{"invalid single document stays one body", "{\n  \"a\": 1\n  \"b\": 2\n}\n", FormatJSON, []want{{1, "{\n  \"a\": 1\n  \"b\": 2\n}", false}}},
		{"empty file", "", FormatJSON, nil},
		{"blank lines only", "\n  \n\t\r\n\n", FormatJSON, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, items := readAll(t, tt.input)
			if f != tt.format {
				t.Errorf("format %q, want %q", f, tt.format)
			}
			check(t, items, tt.wants)
			for _, it := range items {
				if it.Format != tt.format {
					t.Errorf("item format %q, want %q", it.Format, tt.format)
				}
			}
		})
	}
}

func TestReadStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, err := Read("in", strings.NewReader("{}\n{}\n{}\n"), Options{}, func(Item) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d items; want stop after 1", err, n)
	}
}

// writeCapture writes records with the real capture.Writer.
func writeCapture(t *testing.T, recs ...*capture.Record) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cap.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func rec(body []byte, at time.Time, target, ct string) *capture.Record {
	r := &capture.Record{Time: at, Method: "POST", Target: target, Header: http.Header{"Content-Type": {ct}}, Size: int64(len(body))}
	r.SetBody(body)
	return r
}

func TestReadCapture(t *testing.T) {
	t0 := time.Date(2024, 5, 14, 8, 21, 3, 512_000_000, time.UTC)
	invalid := []byte("{\"streamName\":\"caf\xe9\"}")
	bodies := [][]byte{
		[]byte(`{"taskExternalId":163594946396839936,"note":"<&>"}`),
		invalid,
		[]byte("{\n  \"pretty\": true\n}"),
	}
	path := writeCapture(t,
		rec(bodies[0], t0, "/cb?x=1", "application/json"),
		rec(bodies[1], t0.Add(200*time.Millisecond), "/cb", "text/plain; charset=latin1"),
		rec(bodies[2], t0.Add(time.Second), "/other", "application/json; charset=utf-8"),
	)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, items := readAll(t, string(data))
	if f != FormatCapture {
		t.Fatalf("format %q", f)
	}
	if len(items) != 3 {
		t.Fatalf("%d items", len(items))
	}
	targets := []string{"/cb?x=1", "/cb", "/other"}
	cts := []string{"application/json", "text/plain; charset=latin1", "application/json; charset=utf-8"}
	for i, it := range items {
		if !bytes.Equal(it.Body, bodies[i]) {
			t.Errorf("item %d body %q, want %q", i, it.Body, bodies[i])
		}
		if it.Line != i+1 || it.Target != targets[i] || it.ContentType != cts[i] || it.Capture == nil {
			t.Errorf("item %d: line %d target %q content type %q", i, it.Line, it.Target, it.ContentType)
		}
	}
	if !items[1].Time.Equal(t0.Add(200 * time.Millisecond)) {
		t.Errorf("time %v", items[1].Time)
	}

	// A crash cuts the last record; a record of another format is broken.
	cut := string(data) + `{"format":"livecb.capture.v1","seq":4,"body":"{\"a\"`
	_, items = readAll(t, cut)
	if len(items) != 4 || !items[3].Truncated || items[3].Line != 4 {
		t.Fatalf("cut capture: %+v", items[len(items)-1])
	}
	broken := string(data) + `{"format":"livecb.capture.v1","seq":4,"body":"x","encoding":"rot13"}` + "\n"
	_, items = readAll(t, broken)
	if len(items) != 4 || items[3].Broken == nil || items[3].Truncated {
		t.Fatalf("broken record: %+v", items[3])
	}
	if !strings.Contains(items[3].Broken.Error(), "rot13") {
		t.Errorf("broken reason %v", items[3].Broken)
	}
}

func TestReadHARSample(t *testing.T) {
	f, err := os.Open("../../testdata/har/chrome-devtools.har")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var items []Item
	st, err := Read("sample.har", f, Options{}, func(it Item) error {
		items = append(items, it)
		return nil
	})
	if err != nil || st.Format != FormatHAR {
		t.Fatalf("format %q err %v", st.Format, err)
	}
	// GET, OPTIONS and the POST with an empty body are not callbacks.
	wants := []struct {
		line   int
		at     string
		ct     string
		target string
		has    string
	}{
		{121, "2024-05-14T08:21:03.774Z", "application/json", "/live/callback/stream?token=abc123", `"event":"publish_started"`},
		{325, "2024-05-14T08:21:04.031Z", "application/json; charset=utf-8", "/live/callback/snapshot", `"snapshotTime":1715674864020`},
		{429, "2024-05-14T08:21:04.402Z", "application/json", "/live/callback/stream?token=abc123", `"event":"publish_done"`},
		{642, "2024-05-14T08:21:05.118Z", "application/json", "/live/callback/record", `"taskExternalId":"163594946396839936"`},
	}
	if len(items) != len(wants) {
		t.Fatalf("%d items, want %d", len(items), len(wants))
	}
	for i, w := range wants {
		it := items[i]
		at, _ := time.Parse(time.RFC3339Nano, w.at)
		if it.Broken != nil || it.Truncated {
			t.Errorf("item %d broken: %v", i, it.Broken)
		}
		if it.Line != w.line { // the line of the entry's opening brace
			t.Errorf("item %d line %d, want %d", i, it.Line, w.line)
		}
		if !it.Time.Equal(at) || it.ContentType != w.ct || it.Target != w.target || !bytes.Contains(it.Body, []byte(w.has)) {
			t.Errorf("item %d: time %v ct %q target %q body %s", i, it.Time, it.ContentType, it.Target, it.Body)
		}
		if it.Format != FormatHAR {
			t.Errorf("item %d format %q", i, it.Format)
		}
	}
	if !bytes.Contains(items[3].Body, []byte(`"fileSize":"96483721000000000000"`)) {
		t.Errorf("20-digit size lost: %s", items[3].Body)
	}
}

func TestReadHARLinesAndShapes(t *testing.T) {
	har := "\xef\xbb\xbf{\n" +
		"  \"log\": {\n" +
		"    \"entries\": [\n" +
		"      {\n" + // line 4
		"        \"startedDateTime\": \"2024-05-14T10:21:03.000+02:00\",\n" +
		"        \"request\": {\"method\": \"post\", \"url\": \"http://h/a?b=c\", \"headers\": [{\"name\": \"Content-Type\", \"value\": \"application/json\"}],\n" +
		"          \"postData\": {\"text\": \"{\\\"x\\\":1}\"}}\n" +
		"      },\n" +
		"      {\"startedDateTime\": \"2024-05-14T08:21:04Z\", \"request\": {\"method\": \"POST\", \"url\": \"http://h/bin\", \"postData\": {\"mimeType\": \"application/octet-stream\", \"text\": \"/w==\", \"encoding\": \"base64\"}}}\n" + // line 9
		"    ],\n" +
		"    \"version\": \"1.2\"\n" +
		"  }\n" +
		"}\n"
	f, items := readAll(t, har)
	if f != FormatHAR || len(items) != 2 {
		t.Fatalf("format %q, %d items", f, len(items))
	}
	if items[0].Line != 4 || items[1].Line != 9 {
		t.Errorf("lines %d, %d; want 4, 9", items[0].Line, items[1].Line)
	}
	if string(items[0].Body) != `{"x":1}` || items[0].ContentType != "application/json" || items[0].Target != "/a?b=c" {
		t.Errorf("item 0: %+v", items[0])
	}
	if !items[0].Time.Equal(time.Date(2024, 5, 14, 8, 21, 3, 0, time.UTC)) {
		t.Errorf("time with zone offset: %v", items[0].Time)
	}
	if !bytes.Equal(items[1].Body, []byte{0xff}) {
		t.Errorf("base64 body %q", items[1].Body)
	}

	// A HAR cut short: entries before the cut are read, then a truncation.
	cut := har[:strings.Index(har, "/w==")]
	_, items = readAll(t, cut)
	if len(items) != 2 || !items[1].Truncated || items[1].Line != 9 {
		t.Fatalf("cut HAR: %+v", items)
	}
	// A syntax error is a broken record with its line.
	bad := strings.Replace(har, `"version": "1.2"`, `"version": 1.2.3`, 1)
	_, items = readAll(t, bad)
	if len(items) != 3 || items[2].Broken == nil || items[2].Line != 11 {
		t.Fatalf("bad HAR: %+v", items[len(items)-1])
	}
}

// A JSON callback whose first field is not "log" is not mistaken for a HAR.
func TestNotHAR(t *testing.T) {
	f, items := readAll(t, "{\n  \"appName\": \"live\",\n  \"log\": {}\n}\n")
	if f != FormatJSON || len(items) != 1 {
		t.Fatalf("format %q items %d", f, len(items))
	}
}
