package cli

import (
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
func BenchmarkRender(b *testing.B) {
	body, err := event.Sample(event.RecordDone, event.NewStream(time.Now(), nil))
	if err != nil {
		b.Fatal(err)
	}
	ev, fs := event.Check(body, event.Options{})
	rec := &capture.Record{Time: time.Now(), Method: "POST", Target: "/cb", Header: http.Header{}, Kind: ev.Kind, Findings: fs,
		Answer: capture.Answer{Status: 200}}
	rec.SetBody(body)
	r := &listen.Request{Record: rec, Event: ev, Callback: true}
	pr := &requestPrinter{p: term.NewPalette(false)}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = pr.render(buf[:0], r)
	}
	b.Log(string(buf))
}
