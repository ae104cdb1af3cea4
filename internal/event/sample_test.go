package event

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// Samples of every kind are valid under --strict and coherent with their
// stream, whatever the random stream.
func TestSamplesAreValidAndCoherent(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for seed := uint64(0); seed < 50; seed++ {
		s := NewStream(now, rand.New(rand.NewPCG(seed, seed)))
		start, end := s.Start.UnixMilli(), s.End.UnixMilli()
		if start >= end {
			t.Fatalf("stream %+v does not last", s)
		}
		for _, k := range KindNames() {
			body, err := Sample(Kind(k), s)
			if err != nil {
				t.Fatal(err)
			}
			ev, fs := Check(body, Options{Strict: true})
			if ev == nil || ev.Kind != Kind(k) || len(fs) > 0 {
				t.Fatalf("%s sample %s: kind %v, findings %v", k, body, ev, fs)
			}
			if ev.Identity() != (Identity{s.Domain, s.App, s.Name}) {
				t.Errorf("%s identity %v, stream %+v", k, ev.Identity(), s)
			}
			for _, f := range []string{"eventTime", "snapshotTime", "beginTime", "endTime", "startTime"} {
				if n := ev.Number(f); n != "" {
					v, _ := strconv.ParseInt(n, 10, 64)
					if v < start || v > end {
						t.Errorf("%s %s=%d outside the stream [%d, %d]", k, f, v, start, end)
					}
				}
			}
		}
	}
}

func TestApplyPushURL(t *testing.T) {
	var s Stream
	if err := s.ApplyPushURL("rtmp://push.example.com/live/350802?a=aaa&b=b%20b&auth_key=x"); err != nil {
		t.Fatal(err)
	}
	if s.Domain != "push.example.com" || s.App != "live" || s.Name != "350802" || len(s.PushParams) != 3 || s.PushParams[1] != [2]string{"b", "b b"} {
		t.Errorf("%+v", s)
	}
	body, _ := Sample(PublishStarted, s)
	ev, _ := Decode(body)
	if pp, _ := ev.Fields()["pushParams"].(map[string]any); pp["auth_key"] != "x" || len(pp) != 3 {
		t.Errorf("pushParams %v", ev.Fields()["pushParams"])
	}
	for _, bad := range []string{"rtmp://push.example.com/live", "/live/1", "rtmp://h/app/"} {
		if err := (&Stream{}).ApplyPushURL(bad); err == nil {
			t.Errorf("ApplyPushURL(%q) accepted", bad)
		}
	}
}
