package send

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
)

// BenchmarkLoad measures load mode's sender: b.N requests, 50 at a time,
// to LIVECB_BENCH_SINK (e.g. bench/sink running apart, so that a CPU
// profile shows the sender alone) or to an in-process bare handler.
//
//	go run ./bench/sink & LIVECB_BENCH_SINK=http://127.0.0.1:18790/cb go test ./internal/send -run x -bench Load -cpuprofile cpu.out
func BenchmarkLoad(b *testing.B) {
	for _, same := range []bool{true, false} {
		name := "unique"
		if same {
			name = "same-body"
		}
		b.Run(name, func(b *testing.B) {
			url := os.Getenv("LIVECB_BENCH_SINK")
			if url == "" {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
				defer srv.Close()
				url = srv.URL
			}
			lb, err := PrepareLoad([]event.Kind{event.RecordDone}, BodyOptions{Now: time.Now()}, LoadBodyOptions{Same: same})
			if err != nil {
				b.Fatal(err)
			}
			if err := lb.Route(url, nil); err != nil {
				b.Fatal(err)
			}
			p, err := deliver.NewPoster(deliver.Policy{}, 50)
			if err != nil {
				b.Fatal(err)
			}
			l := &Load{Poster: p, Bodies: lb, Concurrency: 50, Count: int64(b.N)}
			b.ReportAllocs()
			b.ResetTimer()
			rep, err := l.Run(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if rep.Matched != int64(b.N) {
				b.Fatalf("%d of %d answered 200", rep.Matched, b.N)
			}
			b.ReportMetric(rep.Throughput, "req/s")
		})
	}
}

// BenchmarkRequest measures rendering one load-mode body from the pool
// (the work a sender does per request before posting), past the pool's
// first cycle so that the times are shifted.
func BenchmarkRequest(b *testing.B) {
	for _, kind := range []event.Kind{event.RecordDone, event.TaskRecordDone} {
		b.Run(string(kind), func(b *testing.B) {
			lb, err := PrepareLoad([]event.Kind{kind}, BodyOptions{Now: time.Now()}, LoadBodyOptions{})
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 0, lb.MaxSize(0))
			_, body := lb.Request(0, buf)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, buf = lb.Request(int64(DefaultPoolSize+i), buf[:0])
			}
		})
	}
}
