package capture

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/jsonx"
)

// marshalLine is the line jsonx makes of r with number seq: the reference
// the reflection-free encoder must match byte for byte.
// A body held as a JSON object (jsonBody) stands in it for the string
// Marshal writes, followed by its "body_tail".
func marshalLine(t testing.TB, r Record, seq uint64) []byte {
	r.Format, r.Seq = Format, seq
	obj, tail, held := r.jsonBody()
	if held {
		r.Body = "\x00body\x00"
	}
	b, err := jsonx.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	if held {
		if tail != "" {
			obj += `,"body_tail":` + string(jsonx.String(tail))
		}
		b = bytes.Replace(b, []byte(`"\u0000body\u0000"`), []byte(obj), 1)
	}
	return append(b, '\n')
}

// testRecords are records with every field set in some, hostile strings
// and bytes that are not UTF-8: the encoder's and the decoder's cases.
func testRecords() []Record {
	at := time.Date(2026, 3, 28, 10, 58, 55, 123456789, time.FixedZone("CST", 8*3600))
	hostile := "a\"b\\c\x00\x01\x1f\b\f\n\r\t<script>&amp;\u2028\u2029\xff\xc3 直播 é \U0001F600 \x7f\u0085\u009b[2J\u202e\u2066\u061c"
	recs := []Record{
		{},
		{Time: at, Remote: "127.0.0.1:5000", Method: "POST", Target: "/cb?a=1&b=<2>", Host: "localhost:8080",
			Header: http.Header{"Content-Type": {"application/json"}, "X-Empty": {}, "X-Nil": nil, "X-Many": {"1", "2", hostile}},
			Body:   `{"event":"publish_done","streamName":"直播"}`, Size: 40, Kind: event.Snapshot, KindSeal: 4294967295, Answer: Answer{Status: 200}},
		{Time: at.UTC(), Method: hostile, Target: hostile, Host: hostile, Header: http.Header{hostile: {hostile}},
			Body: "/w==", Encoding: "base64", Size: 1 << 40, Truncated: true, Redacted: true,
			Findings: event.Findings{{Path: "/a/0", Severity: event.Error, Code: "body_too_large", Message: hostile, Line: 3, Column: 7},
				{Severity: event.Warning, Code: "x", Message: "m"}},
			Answer: Answer{Status: 502, Body: hostile, Forwarded: &Forward{URL: "http://127.0.0.1:1/?t=<x>", Status: 0, LatencyMS: 1.5e-7, Error: hostile}}},
		{Time: time.Unix(0, 0), Header: http.Header{}, Answer: Answer{Status: 413, Forwarded: &Forward{URL: "u", Status: 200, LatencyMS: 12.25}}},
		{Time: at, Method: "POST", Header: http.Header{"Trailer": {"X-Sum"}}, Answer: Answer{Status: 200}},
		// Bodies held as JSON objects, and those that cannot be.
		{Method: "POST", Body: `{"event":"publish_done","streamName":"直播","n":[1,{"a":"\"\\\u202e"}]}`, BodyJSON: true, Kind: event.PublishDone, Answer: Answer{Status: 200}},
		{Method: "POST", Body: "{\"a\":1}\r\n \t", BodyJSON: true, Answer: Answer{Status: 200}},
		{Method: "POST", Body: "{\"a\":\"\u202e\"}", BodyJSON: true},
		{Method: "POST", Body: "{\n  \"a\": 1\n}\n", BodyJSON: true},
		{Method: "POST", Body: " {\"a\":1}", BodyJSON: true},
		{Method: "POST", Body: "{\"a\":\"\x7f\"}", BodyJSON: true},
		{Method: "POST", Body: "eyJhIjoxfQ==", Encoding: "base64", BodyJSON: true},
		{Method: "POST", Body: `{"a":1}`, BodyJSON: true, Truncated: true},
		{Method: "POST", Body: `{"a":"[redacted]"}`, BodyJSON: true, Redacted: true},
		{Method: "POST", Body: `{}`, BodyJSON: true},
		// As a listener writes a callback: sealed, its tail a newline.
		{Method: "POST", Body: "{\"event\":\"record_done\",\"size\":{\"a\":[1,\"},\\\"size\\\":\"]}}\n", BodyJSON: true, Size: 50, Kind: event.RecordDone, Answer: Answer{Status: 200}},
	}
	recs[15].Size = int64(len(recs[15].Body))
	recs[15].SealKind()
	recs[4].SetTarget("/\xff\xfe?a=\x80")
	recs[4].SetHost("h\xe9.example")
	recs[4].SetHeader(http.Header{"X-Latin1": {"caf\xe9"}})
	recs[4].SetTrailer(http.Header{"X-Sum": {"abc"}, "X-Latin1": {"caf\xe9", "ok"}, hostile: {hostile}})
	return recs
}

func TestEncodeMatchesJSONX(t *testing.T) {
	recs := testRecords()
	for i, r := range recs {
		enc, err := Encode(&r, nil)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		got := AppendLine(nil, uint64(i+7), enc)
		want := marshalLine(t, r, uint64(i+7))
		if !bytes.Equal(got, want) {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, want)
		}
		back, err := Parse(bytes.TrimSuffix(got, []byte("\n")))
		if err != nil {
			t.Errorf("record %d does not parse back: %v", i, err)
			continue
		}
		// The body exactly, held as a JSON object when it can be.
		_, _, held := r.jsonBody()
		if back.Body != r.Body || back.Encoding != r.Encoding || back.BodyJSON != held {
			t.Errorf("record %d: body %q (encoding %q, as JSON %v) came back as %q (%q, %v)", i, r.Body, r.Encoding, held, back.Body, back.Encoding, back.BodyJSON)
		}
		if !json.Valid(got) || bytes.Count(got, []byte("\n")) != 1 {
			t.Errorf("record %d: not one line of JSON:\n%s", i, got)
		}
	}
	// Which bodies are held as JSON objects: those that are one, as they
	// came, with only white space after, and nothing jsonx escapes.
	var held []int
	for i, r := range recs {
		if _, _, ok := r.jsonBody(); ok {
			held = append(held, i)
		}
	}
	if want := []int{5, 6, 14, 15}; !slices.Equal(held, want) {
		t.Errorf("bodies held as JSON objects: records %v, want %v", held, want)
	}
	// Nothing that changes what a terminal shows is written raw.
	line, _ := Encode(&recs[2], nil)
	for _, raw := range []string{"\x7f", "\u0085", "\u009b", "\u202e", "\u2066", "\u061c", "\u2028"} {
		if bytes.Contains(line, []byte(raw)) {
			t.Errorf("%q written raw", raw)
		}
	}
	for _, esc := range []string{`\u007f`, `\u009b`, `\u202e`, `<script>&amp;`} {
		if !bytes.Contains(line, []byte(esc)) {
			t.Errorf("%s not in the line", esc)
		}
	}
}

// roundTrip encodes r as record 1, checks the line against jsonx's, and
// parses it back.
func roundTrip(t *testing.T, r Record) *Record {
	t.Helper()
	enc, err := Encode(&r, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := AppendLine(nil, 1, enc)
	if want := marshalLine(t, r, 1); !bytes.Equal(line, want) {
		t.Fatalf("\n got %s\nwant %s", line, want)
	}
	back, err := Parse(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil {
		t.Fatalf("does not parse back: %v\n%s", err, line)
	}
	return back
}

// FuzzEncode: whatever the strings, the encoder writes jsonx's bytes, and
// Parse gives back every field exactly: target, host, header and trailer
// values even when they are not UTF-8, and the body.
func FuzzEncode(f *testing.F) {
	f.Add("POST", "/cb?a=1", "127.0.0.1:8080", "X-K", "v", `{"a":1}`, "ok", "X-Sum", "1")
	f.Add("\x00", "<>&\u2028", "\xff", "\xff", "\xc3", "\"\\", "\t\n", "\u009b", "\u202e\xfe")
	f.Add("POST", "/", "h", "K", "v", "{\"a\":[1,\"\\u0000\"]}\n", "", "T", "t")
	f.Add("POST", "/", "h", "K", "v", " {\"a\":{}}\t\r\n", "", "T", "t")
	f.Fuzz(func(t *testing.T, method, target, host, key, value, body, answer, tkey, tvalue string) {
		r := Record{Time: time.Unix(1700000000, 5), Method: method, Answer: Answer{Status: 200, Body: answer}}
		r.SetTarget(target)
		r.SetHost(host)
		r.SetHeader(http.Header{key: {value, body}})
		r.SetTrailer(http.Header{tkey: {tvalue}})
		r.SetBody([]byte(body))
		// A body Decode takes is held as a JSON object when it can be.
		if _, err := event.Decode([]byte(body)); err == nil {
			r.BodyJSON = true
		}
		back := roundTrip(t, r)
		if back.BodyJSON != (r.BodyJSON && strings.HasPrefix(body, "{") && jsonx.RawSafe(strings.TrimRight(body, " \t\r\n"))) {
			t.Errorf("body %q (BodyJSON %v) came back with BodyJSON %v", body, r.BodyJSON, back.BodyJSON)
		}
		if got, err := back.ExactTarget(); err != nil || got != target {
			t.Errorf("target %q came back as %q (%v)", target, got, err)
		}
		if got, err := back.ExactHost(); err != nil || got != host {
			t.Errorf("host %q came back as %q (%v)", host, got, err)
		}
		// (Field names are HTTP tokens, ASCII: the listener never sees
		// others, and the capture does not keep their bytes.)
		if !utf8.ValidString(key) || !utf8.ValidString(tkey) {
			return
		}
		if h, err := back.ExactHeader(); err != nil || len(h[key]) != 2 || h[key][0] != value || h[key][1] != body {
			t.Errorf("header %q: %q came back as %q (%v)", key, []string{value, body}, h[key], err)
		}
		if h, err := back.ExactTrailer(); err != nil || len(h[tkey]) != 1 || h[tkey][0] != tvalue {
			t.Errorf("trailer %q: %q came back as %q (%v)", tkey, tvalue, h[tkey], err)
		}
		if got, err := back.Bytes(); err != nil || string(got) != body {
			t.Errorf("body %q came back as %q (%v)", body, got, err)
		}
	})
}

func TestWriteLinesAppendsGroupsInOneCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.ndjson")
	w, err := Create(path, true)
	if err != nil {
		t.Fatal(err)
	}
	var group []byte
	for seq := uint64(1); seq <= 3; seq++ {
		enc, err := Encode(&Record{Method: "POST", Body: strings.Repeat("x", int(seq))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		group = AppendLine(group, seq, enc)
	}
	if n, err := w.WriteLines(group); err != nil || n != len(group) {
		t.Fatalf("WriteLines = %d, %v; want %d, nil", n, err, len(group))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), data)
	}
	for i, l := range lines {
		r, err := Parse([]byte(l))
		if err != nil || r.Seq != uint64(i+1) || r.Body != strings.Repeat("x", i+1) {
			t.Errorf("line %d: %+v, %v", i+1, r, err)
		}
	}
	if _, err := w.WriteLines([]byte("{}\n")); err == nil {
		t.Error("WriteLines after Close succeeded")
	}
}

// FuzzEncodeFindings: the hand-written encoder of findings writes
// jsonx.Marshal's bytes, whatever the strings and numbers, and a record
// holding them parses back to the same findings.
func FuzzEncodeFindings(f *testing.F) {
	f.Add("/duration", "warning", "type_drift", `is a JSON number; the spec's sample has a string ("18439.0"); receivers must accept both`, 0, 0, "", "error", "not_json", "x", 1, 7)
	f.Add("/a~1b/0", "error", "\u202e", "\x00\xff<>&\"\\\u2028\u009b\U0001F600", -3, 1<<40, "\t", "", "", "", 0, -1)
	f.Fuzz(func(t *testing.T, path, sev, code, msg string, line, col int, path2, sev2, code2, msg2 string, line2, col2 int) {
		for _, fs := range []event.Findings{
			{{Path: path, Severity: event.Severity(sev), Code: event.Code(code), Message: msg, Line: line, Column: col}},
			{{Path: path, Severity: event.Severity(sev), Code: event.Code(code), Message: msg, Line: line, Column: col},
				{Path: path2, Severity: event.Severity(sev2), Code: event.Code(code2), Message: msg2, Line: line2, Column: col2}},
			{}, nil,
		} {
			want, err := jsonx.Marshal(fs)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendFindings(nil, fs); !bytes.Equal(got, want) {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
			if len(fs) == 0 {
				continue
			}
			back := roundTrip(t, Record{Time: time.Unix(1700000000, 5), Method: "POST", Findings: fs, Answer: Answer{Status: 200}})
			for i, bf := range back.Findings {
				if !utf8.ValidString(fs[i].Path + string(fs[i].Severity) + string(fs[i].Code) + fs[i].Message) {
					continue // (U+FFFD, as jsonx writes it)
				}
				if bf != fs[i] {
					t.Errorf("finding %d came back as %+v, want %+v", i, bf, fs[i])
				}
			}
		}
	})
}

// BenchmarkEncode encodes a listener's typical record (a record_done): the
// work each request's handler does before the commit.
func BenchmarkEncode(b *testing.B) {
	r, err := Parse(typicalRecord)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(typicalRecord)))
	for b.Loop() {
		enc, err := Encode(r, buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = enc[:0]
	}
}

// FuzzAppendTime: a record's time is written as encoding/json writes it,
// in any location, whether its second's text was made now or remembered
// (each time is written twice, and with another fraction of its second,
// then in another location, which must not be given the first's text).
func FuzzAppendTime(f *testing.F) {
	f.Add(int64(1796637220), 120000000, 0)
	f.Add(int64(1796637220), 0, 1)
	f.Add(int64(-62135596800), 999999999, 2)
	f.Add(int64(253402300799), 1, 3)
	locs := []*time.Location{time.UTC, time.FixedZone("", 5*3600+30*60), time.FixedZone("LMT", -(3*3600 + 17*60 + 11)), time.Local}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		locs = append(locs, ny)
	}
	f.Fuzz(func(t *testing.T, sec int64, ns int, loc int) {
		ns = (ns%1e9 + 1e9) % 1e9
		for i := range 3 {
			tm := time.Unix(sec, int64(ns)).In(locs[((loc+i)%len(locs)+len(locs))%len(locs)])
			for _, at := range []time.Time{tm, tm, tm.Add(time.Duration(1e9-1-ns) / 2)} {
				want, err := json.Marshal(at)
				if err != nil {
					continue // out of RFC 3339's years: appendTime returns json's error text
				}
				if got := appendTime(nil, at); !bytes.Equal(got, want) {
					t.Fatalf("appendTime(%v) = %s, want %s", at, got, want)
				}
			}
		}
	})
}
