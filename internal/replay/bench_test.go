package replay

import (
	"context"
	"fmt"
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
