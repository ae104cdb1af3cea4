package replay

import (
	"encoding/json"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Percentiles of a set of durations.
type Percentiles struct {
	Count int64
	P50   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// hist records durations in microseconds in constant memory, however long
// the replay.
type hist struct{ h *hdrhistogram.Histogram }

func newHist() *hist { return &hist{hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)} }

func (h *hist) record(d time.Duration) {
	h.h.RecordValue(max(d, 0).Microseconds())
}

func (h *hist) percentiles() Percentiles {
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	return Percentiles{
		Count: h.h.TotalCount(),
		P50:   us(h.h.ValueAtQuantile(50)),
		P99:   us(h.h.ValueAtQuantile(99)),
		Max:   us(h.h.Max()),
	}
}

func jsonValid(b []byte) bool { return json.Valid(b) }
