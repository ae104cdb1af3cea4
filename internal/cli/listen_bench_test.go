package cli

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
	"github.com/livecb/livecb/internal/term"
)

// BenchmarkRender is listen's line for one valid callback, made for every
// request the listener receives (outside the capture's critical section).
func BenchmarkRender(b *testing.B) { benchRender(b, nil) }

// BenchmarkRenderDrift is BenchmarkRender for a record_done from another
// revision of the service: its line and two type_drift warnings.
func BenchmarkRenderDrift(b *testing.B) {
	benchRender(b, []event.Override{{Path: "duration", Value: json.RawMessage(`598000.0`)}, {Path: "fileSize", Value: json.RawMessage(`186875000`)}})
}

// benchRender renders a record_done, changed by overrides.
func benchRender(b *testing.B, overrides []event.Override) {
	body, err := event.Sample(event.RecordDone, event.NewStream(time.Now(), nil))
	if err != nil {
		b.Fatal(err)
	}
	if body, _, err = event.Apply(event.RecordDone, body, overrides); err != nil {
		b.Fatal(err)
	}
	ev, fs := event.Check(body, event.Options{})
	rec := &capture.Record{Time: time.Now(), Method: "POST", Target: "/cb", Header: http.Header{}, Kind: ev.Kind, Findings: fs,
		Answer: capture.Answer{Status: 200}}
	rec.SetBody(body)
	r := &listen.Request{Record: rec, Event: ev, Callback: true}
	pr := makeRequestPrinter(nil, term.NewPalette(false), false)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = pr.render(buf[:0], r)
	}
	b.Log(string(buf))
}
