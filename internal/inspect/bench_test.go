package inspect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
)

// BenchmarkAdd is the inspector's cost per request in a listener: Prepare,
// on the request's goroutine (concurrently with others), and Add, in the
// listener's commit (one at a time), with the record encoded by the
// listener for its capture log ("save") or by Prepare ("nosave"). Run with
//
//	go test ./internal/inspect -run '^$' -bench Add -benchmem
func BenchmarkAdd(b *testing.B) {
	for _, save := range []bool{true, false} {
		raw := body(b, event.RecordDone, "duration", "598000.0", "fileSize", "186875000")
		ev, fs := event.Check(raw, event.Options{})
		rec := &capture.Record{Format: capture.Format, Time: time.Now(), Remote: "127.0.0.1:50000", Method: "POST", Target: "/record",
			Host: "127.0.0.1:8080", Kind: ev.Kind, Findings: fs, Answer: capture.Answer{Status: 200}}
		rec.SetHeader(http.Header{"Content-Type": {"application/json"}, "User-Agent": {"Go-http-client/1.1"}})
		rec.SetBody(raw)
		rec.Size = int64(len(raw))
		req := &listen.Request{Record: rec, Event: ev, Callback: true}
		if save {
			req.Encoded, _ = capture.Encode(rec, nil)
		}
		in, err := NewLive(LiveOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		name := map[bool]string{true: "save", false: "nosave"}[save]
		b.Run(name+"/Prepare", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				in.prepared.Put(in.Prepare(req))
			}
		})
		b.Run(name+"/Prepare+Add", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec.Seq++
				req.Prepared = in.Prepare(req)
				in.Add(req)
			}
		})
	}
}

// BenchmarkListen is a real listener's throughput on loopback without and
// with the inspector fed by its hook (and a page following the list):
// listen --ui must keep at least 0.9 of listen's rate. Both listeners run at
// once and take turns, a round of requests each, so that the load of a
// shared machine falls on both alike; the ratio of their rates is reported
// (b.N is the number of rounds of 1,000 requests each):
//
//	go test ./internal/inspect -run '^$' -bench Listen -benchtime 20x
func BenchmarkListen(b *testing.B) {
	raw := body(b, event.RecordDone)
	in, err := NewLive(LiveOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	bare := startListener(b, false, nil)
	withUI := startListener(b, false, &in)
	srv, err := NewServer(in, ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve()
	defer srv.Shutdown(context.Background())
	// A page following the list, asking for the newest page at each
	// notice, as the browser does.
	res, err := http.Get(srv.URL() + "api/events")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := res.Body.Read(buf); err != nil {
				return
			}
			if r, err := http.Get(srv.URL() + "api/requests?limit=100"); err == nil {
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
		}
	}()

	const workers, round = 32, 1000
	tr := &http.Transport{MaxIdleConnsPerHost: workers, DialContext: (&net.Dialer{}).DialContext}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	// burst sends round requests to url and returns how long they took.
	burst := func(url string) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= round {
					res, err := client.Post(url+"/record", "application/json", bytes.NewReader(raw))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	burst(bare.url) // warm both up
	burst(withUI.url)
	var tBare, tUI time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			tBare += burst(bare.url)
			tUI += burst(withUI.url)
		} else {
			tUI += burst(withUI.url)
			tBare += burst(bare.url)
		}
	}
	b.StopTimer()
	n := float64(b.N * round)
	b.ReportMetric(n/tBare.Seconds(), "bare-req/s")
	b.ReportMetric(n/tUI.Seconds(), "ui-req/s")
	b.ReportMetric(tBare.Seconds()/tUI.Seconds(), "ratio")
	if want := int64((b.N + 1) * round); in.Len() != want {
		b.Errorf("the inspector saw %d of %d requests", in.Len(), want)
	}
}

// liveOf is an inspector fed n requests about streams of the same few
// names, as a long-running listener's.
func liveOf(b *testing.B, n int) *Inspector {
	in, err := NewLive(LiveOptions{MaxEntries: int64(n)})
	if err != nil {
		b.Fatal(err)
	}
	var reqs []*listen.Request
	for i, k := range []event.Kind{event.PublishStarted, event.Snapshot, event.RecordDone, event.Quality} {
		raw := body(b, k, "streamName", fmt.Sprintf(`"cam%d"`, i))
		ev, fs := event.Check(raw, event.Options{})
		rec := &capture.Record{Time: time.Now(), Method: "POST", Target: "/" + string(k), Kind: ev.Kind, Findings: fs, Answer: capture.Answer{Status: 200}}
		rec.SetBody(raw)
		reqs = append(reqs, &listen.Request{Record: rec, Event: ev, Callback: true})
	}
	for i := 0; i < n; i++ {
		r := reqs[i%len(reqs)]
		r.Record.Seq = uint64(i + 1)
		in.Add(r)
	}
	return in
}

// BenchmarkQuery is a page of the list over 100,000 requests, filtered as a
// page asks: what each notice of the live list costs the server.
func BenchmarkQuery(b *testing.B) {
	in := liveOf(b, 100_000)
	defer in.Close()
	cam2 := StreamKey{"push.example.com", "live", "cam2"}
	for _, c := range []struct {
		name string
		f    Filter
	}{
		{"all", Filter{}},
		{"kind", Filter{Kind: "snapshot"}},
		{"stream", Filter{Stream: &cam2}},
		{"text", Filter{Text: "quality"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p := in.ix.Query(c.f, -1, 100, in.files); len(p.Rows) != 100 {
					b.Fatalf("%d rows", len(p.Rows))
				}
			}
		})
	}
}

// BenchmarkOpen indexes a capture log of 100,000 records.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "cap.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		b.Fatal(err)
	}
	raw := body(b, event.RecordDone)
	for i := 0; i < 100_000; i++ {
		rec := &capture.Record{Time: time.Now(), Method: "POST", Target: "/record", Kind: event.RecordDone,
			Header: http.Header{"Content-Type": {"application/json"}}, Answer: capture.Answer{Status: 200}}
		rec.SetBody(raw)
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
	b.ResetTimer()
	for b.Loop() {
		in, err := Open([]string{path}, OpenOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if in.Len() != 100_000 {
			b.Fatal(in.Len())
		}
		in.Close()
	}
}
