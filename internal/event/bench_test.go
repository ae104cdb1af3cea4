package event

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

func benchBodies(b *testing.B) [][]byte {
	rnd := rand.New(rand.NewPCG(1, 1))
	s := NewStream(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), rnd)
	var bodies [][]byte
	for _, k := range KindNames() {
		body, err := Sample(Kind(k), s)
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	return bodies
}

// BenchmarkCheck is decode + classify + validate of one body, all kinds in
// turn; compare with BenchmarkDecodeOnly (the target: at most 2x).
func BenchmarkCheck(b *testing.B) {
	bodies := benchBodies(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		body := bodies[n%len(bodies)]
		n++
		if _, fs := Check(body, Options{}); len(fs) != 0 {
			b.Fatal(fs)
		}
		b.SetBytes(int64(len(body)))
	}
}

// BenchmarkDecodeOnly is the plain encoding/json decode of the same bodies.
func BenchmarkDecodeOnly(b *testing.B) {
	bodies := benchBodies(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		body := bodies[n%len(bodies)]
		n++
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(body)))
	}
}

// driftBody is a record_done from another revision of the service:
// duration and fileSize as JSON numbers, two type_drift warnings.
func driftBody(b *testing.B) []byte {
	body, err := Sample(RecordDone, NewStream(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), rand.New(rand.NewPCG(1, 1))))
	if err != nil {
		b.Fatal(err)
	}
	body, _, err = Apply(RecordDone, body, []Override{{Path: "duration", Value: json.RawMessage(`598000.0`)}, {Path: "fileSize", Value: json.RawMessage(`186875000`)}})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkCheckDrift is Check of a body with findings: what a listener
// pays per callback when the service's revisions disagree on types.
func BenchmarkCheckDrift(b *testing.B) {
	body := driftBody(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, fs := Check(body, Options{}); len(fs) != 2 {
			b.Fatal(fs)
		}
	}
}
