package replay

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
)

// BenchmarkReplayPacing replays 100 callbacks captured 5 ms apart at
// --speed 1 into a loopback receiver and reports how late they left:
// lateness-p50-µs and lateness-p99-µs (the issue asks for < 5 ms).
func BenchmarkReplayPacing(b *testing.B) {
	const n, gap = 100, 5 * time.Millisecond
	rv := newReceiver(b)
	recs := make([]capRec, n)
	for i := range recs {
		recs[i] = capRec{fmt.Sprintf(`{"n":%d}`, i), t0.Add(time.Duration(i) * gap), "/", "application/json"}
	}
	path := writeCapture(b, "bench.ndjson", recs...)
	client := deliver.NewClient(deliver.Policy{Timeout: 2 * time.Second})
	var p50, p99, worst time.Duration
	b.ResetTimer()
	for range b.N {
		sum, err := Run(context.Background(), Options{Inputs: inputs(path), To: rv.URL, Speed: 1, Client: client}, nil)
		if err != nil || sum.Answered != n {
			b.Fatalf("replay: %v, %d answered", err, sum.Answered)
		}
		p50, p99 = max(p50, sum.Lateness.P50), max(p99, sum.Lateness.P99)
		worst = max(worst, sum.Lateness.Max)
	}
	b.ReportMetric(float64(p50.Microseconds()), "lateness-p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "lateness-p99-µs")
	b.ReportMetric(float64(worst.Microseconds()), "lateness-max-µs")
}

// BenchmarkReplayUnpaced replays b.N captured callbacks without pacing,
// 32 at a time, into LIVECB_BENCH_SINK (bench/sink running apart, so that
// a profile shows the replay alone) or an in-process receiver.
//
//	go run ./bench/sink & LIVECB_BENCH_SINK=http://127.0.0.1:18790/cb go test ./internal/replay -run x -bench Unpaced -memprofile mem.out
func BenchmarkReplayUnpaced(b *testing.B) {
	url := os.Getenv("LIVECB_BENCH_SINK")
	if url == "" {
		url = newReceiver(b).URL
	}
	recs := make([]capRec, b.N)
	for i := range recs {
		recs[i] = capRec{done, t0.Add(time.Duration(i) * time.Millisecond), "/cb", "application/json"}
	}
	path := writeCapture(b, "bench.ndjson", recs...)
	client := deliver.NewClient(deliver.Policy{Timeout: 5 * time.Second})
	b.ReportAllocs()
	b.ResetTimer()
	sum, err := Run(context.Background(), Options{Inputs: inputs(path), To: url, MaxInFlight: 32, Client: client}, func(Outcome) {})
	if err != nil || sum.Answered != b.N {
		b.Fatalf("replay: %v, %d of %d answered", err, sum.Answered, b.N)
	}
}
