package deliver

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkPumpLateness sends jobs due 2 ms apart (an open-loop load run
// at 500/s) into a loopback receiver on each engine and reports how late
// they left: lateness-p50-µs and lateness-p99-µs. Load mode's open-loop
// latencies count it.
func BenchmarkPumpLateness(b *testing.B) {
	const n, gap = 200, 2 * time.Millisecond
	url := serveAnswers(b, func(int64) string { return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" }, writeAll)
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			ps, err := NewPoster(Policy{}, 4)
			if err != nil {
				b.Fatal(err)
			}
			defer ps.CloseIdle()
			tgt, err := ps.Target(url)
			if err != nil {
				b.Fatal(err)
			}
			var late []time.Duration
			for range b.N {
				f := &lateFeed{target: &tgt, start: time.Now().Add(10 * time.Millisecond), n: n, gap: gap}
				ps.NewPump(PumpOptions{Conns: 4, Engine: e.engine}, f).Run(context.Background())
				late = append(late, f.late...)
			}
			slices.Sort(late)
			b.ReportMetric(float64(late[len(late)/2].Microseconds()), "lateness-p50-µs")
			b.ReportMetric(float64(late[len(late)*99/100].Microseconds()), "lateness-p99-µs")
		})
	}
}

// lateFeed gives n jobs gap apart and records how late each left (the
// Pump starts a job right when it leaves: its latency's start).
type lateFeed struct {
	target *Target
	start  time.Time
	n      int
	gap    time.Duration
	mu     sync.Mutex
	next   int
	late   []time.Duration
}

func (f *lateFeed) Next(int, []byte) (Job, NextState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next == f.n {
		return Job{}, JobEnd
	}
	j := Job{ID: int64(f.next), Target: f.target, At: f.start.Add(time.Duration(f.next) * f.gap)}
	f.next++
	return j, JobReady
}

func (f *lateFeed) Done(_ int, j Job, res Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Done comes right after the answer: when it left is now less the
	// request's latency.
	f.late = append(f.late, time.Since(j.At)-res.Latency)
}
