package contract

import (
	"context"
	"testing"

	"github.com/livecb/livecb/internal/event"
)

// BenchmarkSuite runs the whole suite (bursts of DefaultBurst included,
// negative cases too) against the correct receiver of testdata/receivers
// on loopback: one op is one run, which stays well under a few seconds.
//
//	go test ./internal/contract -run '^$' -bench Suite -benchtime 5x
func BenchmarkSuite(b *testing.B) {
	url := startReceiver(b, "none")
	cases, err := Suite(SuiteOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cases = Select(cases, nil, nil, true)
	opts := Options{Target: func(string, event.Family) (string, error) { return url, nil }}
	b.ResetTimer()
	for b.Loop() {
		for _, r := range Run(context.Background(), cases, opts, nil) {
			if r.Outcome != Pass {
				b.Fatalf("%s: %s %s", r.Case.Name, r.Outcome, r.Reason)
			}
		}
	}
	b.ReportMetric(float64(len(cases)), "cases/op")
}
