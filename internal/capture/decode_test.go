package capture

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/livecb/livecb/internal/event"
)

// encodedRecords are the lines the encoder writes of testRecords.
func encodedRecords(t testing.TB) [][]byte {
	t.Helper()
	recs := testRecords()
	var lines [][]byte
	for i := range recs {
		enc, err := Encode(&recs[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, bytes.TrimSuffix(AppendLine(nil, uint64(i+1), enc), []byte("\n")))
	}
	return lines
}

// lineOf is the line the encoder writes of r as record 1, without its
// newline.
func lineOf(t testing.TB, r *Record) []byte {
	t.Helper()
	enc, err := Encode(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(AppendLine(nil, 1, enc), []byte("\n"))
}

// TestDecodeReadsWhatTheEncoderWrites: every line the encoder writes takes
// the fast path and decodes to what encoding/json makes of it.
func TestDecodeReadsWhatTheEncoderWrites(t *testing.T) {
	for i, line := range encodedRecords(t) {
		got, ok := decodeRecord(line)
		if !ok {
			t.Errorf("record %d declined:\n%s", i, line)
			continue
		}
		var want Record
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, *got, want)
		}
	}
}

// TestDecodeDeclinesWhatItIsNotSureOf: what encoding/json reads otherwise
// (a name in another case, a name twice, a null, a number it refuses for
// the field) is left to it.
func TestDecodeDeclinesWhatItIsNotSureOf(t *testing.T) {
	for _, line := range []string{
		`{"FORMAT":"livecb.capture.v1","seq":1}`,
		`{"format":"a","format":"b"}`,
		`{"header":{"X":nul}}`,
		`{"seq":-0}`,
		`{"seq":1.0}`,
		`{"seq":01}`,
		`{"size":1e3}`,
		`{"answer":{"forwarded":null}}`,
		`{"findings":[{"line":1,"line":2}]}`,
		`{"other":1}`,
		"{\"body\":\"\xff\"}",
		`{"time":"\u0032026-03-28T10:58:55Z"}`,
		`{"seq":1} x`,
		`{"kind_seal":-1}`,
		`{"kind_seal":4294967296}`,
		`{"body":{"a":1,}}`,
		`{"body":{"a":01}}`,
		`{"body":"x","body_tail":"\n"}`,
		`{"body":{"a":1},"encoding":"base64"}`,
		`{"body":[1]}`,
	} {
		if r, ok := decodeRecord([]byte(line)); ok {
			t.Errorf("%s: decoded as %+v, want it declined", line, r)
		}
	}
}

// FuzzDecode: whatever the fast decoder accepts, encoding/json accepts and
// decodes to the same Record.
func FuzzDecode(f *testing.F) {
	for _, line := range encodedRecords(f) {
		f.Add(line)
	}
	f.Add([]byte(`{"format":"livecb.capture.v1","seq":18446744073709551615,"findings":[],"header":{},"answer":{"forwarded":{"latency_ms":-0.5e-3}}}`))
	f.Add([]byte(`{"body":"\ud83d\ude00\ud800x\u00e9\/\b"}`))
	f.Add([]byte(`{"kind":"record_done","kind_seal":4294967296}`))
	f.Add([]byte(`{"body":{"a":[1,"\u00e9",{"b":null}]},"body_tail":"\n"}`))
	f.Add([]byte(`{"body":"x","body_tail":"\n"}`))
	f.Add([]byte(`{"body":{"a":1},"encoding":"base64"}`))
	f.Add([]byte(`{"body":{"a":1 "b":2}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		got, ok := decodeRecord(line)
		if !ok {
			return
		}
		var want Record
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatalf("decoded what encoding/json refuses (%v):\n%q", err, line)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", line, *got, want)
		}
	})
}

// BenchmarkParseJSON is encoding/json's decoding of the line
// BenchmarkParse decodes: what Parse did before decode.go.
func BenchmarkParseJSON(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(typicalRecord)))
	for b.Loop() {
		var r Record
		if err := json.Unmarshal(typicalRecord, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeRecord is the fast decoder alone, on BenchmarkParse's line.
func BenchmarkDecodeRecord(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(typicalRecord)))
	for b.Loop() {
		if _, ok := decodeRecord(typicalRecord); !ok {
			b.Fatal("declined")
		}
	}
}

// TestDecodeLinesOfEveryLength: a body unescaped into the room after a
// short line's copy, or into a piece of its own past shortLine, decodes to
// what encoding/json makes of the line, on either side of the limit, with
// escapes up to the line's last bytes.
func TestDecodeLinesOfEveryLength(t *testing.T) {
	for _, size := range []int{0, 1, 100, shortLine/2 - 40, shortLine - 400, shortLine - 200, shortLine, shortLine + 1, 3 * shortLine, 70 << 10, 200 << 10} {
		var body bytes.Buffer
		body.WriteString(`{"note":"`)
		for body.Len() < size {
			body.WriteString(`\"é\\ "`)
		}
		body.WriteString(`"}`)
		r := Record{Format: Format, Method: "POST", Target: "/cb", Kind: "record_done"}
		r.SetBody(body.Bytes())
		line := lineOf(t, &r)
		got, ok := decodeRecord(line)
		if !ok {
			t.Fatalf("body of %d bytes: declined", body.Len())
		}
		var want Record
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) || got.Body != body.String() {
			t.Errorf("body of %d bytes (line %d): decoded differently", body.Len(), len(line))
		}
	}
}

// TestJSONBodyEndsWhereTheEncoderWroteIt: a body held as a JSON object is
// taken to end before the record's "size" (or "body_tail"), unread, only
// while its seal holds; bodies that hold those very names, sealed or not,
// with a tail or not, decode exactly, as encoding/json decodes them.
func TestJSONBodyEndsWhereTheEncoderWroteIt(t *testing.T) {
	for _, body := range []string{
		`{"a":1}`,
		`{"a":{"b":1},"size":2}`,
		`{"a":{},"body_tail":"x"}`,
		`{"x":"},\"size\":","y":[{"size":1}],"size":{}}`,
		`{"a":{},"body_tail":"\n","size":3}`,
	} {
		for _, tail := range []string{"", "\n", " \r\n"} {
			for _, kind := range []event.Kind{"", event.RecordDone} {
				r := Record{Method: "POST", Body: body + tail, BodyJSON: true, Size: int64(len(body + tail)), Kind: kind, Answer: Answer{Status: 200}}
				r.SealKind()
				line := lineOf(t, &r)
				got, ok := decodeRecord(line)
				if !ok {
					t.Errorf("declined: %s", line)
					continue
				}
				var want Record
				if err := json.Unmarshal(line, &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(*got, want) || got.Body != r.Body || !got.BodyJSON {
					t.Errorf("%s:\n got %+v\nwant %+v", line, *got, want)
				}
			}
		}
	}
	// The line of a sealed callback finds its body's end unread.
	recs := testRecords()
	enc, _ := Encode(&recs[15], nil)
	if _, ok, guessed := decodeLine(bytes.TrimSuffix(AppendLine(nil, 1, enc), []byte("\n")), true); !ok || !guessed {
		t.Errorf("a sealed callback's line: decoded %v, its body's end found unread %v", ok, guessed)
	}
	// An edited body, its seal broken, is read: one that is not JSON is
	// left to encoding/json, which refuses it.
	r := Record{Method: "POST", Body: `{"a":1}`, BodyJSON: true, Size: 7, Kind: event.RecordDone}
	r.SealKind()
	enc, _ = Encode(&r, nil)
	line := bytes.Replace(AppendLine(nil, 1, enc), []byte(`{"a":1}`), []byte(`{"a":1 }`), 1)
	if got, ok := decodeRecord(bytes.TrimSuffix(line, []byte("\n"))); !ok || got.Body != `{"a":1 }` {
		t.Errorf("an edited body: %+v, %v", got, ok)
	}
	bad := bytes.Replace(line, []byte(`{"a":1 }`), []byte(`{"a":1,}`), 1)
	if got, ok := decodeRecord(bytes.TrimSuffix(bad, []byte("\n"))); ok {
		t.Errorf("a body that is not JSON, its seal broken, decoded: %+v", got)
	}
}
