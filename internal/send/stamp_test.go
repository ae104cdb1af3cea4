package send

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
)

// roundTimes renders rounds rounds of lb and returns, per round, each
// kind's body and its times by path (group spans included), every body
// checked valid.
func roundTimes(t *testing.T, lb *LoadBodies, rounds int) (bodies [][][]byte, times []map[string]int64) {
	t.Helper()
	nk := len(lb.Kinds)
	for r := 0; r < rounds; r++ {
		tm := map[string]int64{}
		var round [][]byte
		for k := range lb.Kinds {
			kk, body := lb.Request(int64(r*nk+k), nil)
			if kk != k {
				t.Fatalf("request %d is kind %d, want %d", r*nk+k, kk, k)
			}
			ev, fs := event.Check(body, event.Options{})
			if ev == nil || fs.HasErrors() || ev.Kind != lb.Kinds[k] {
				t.Fatalf("round %d: invalid %s body %s: %v", r, lb.Kinds[k], body, fs)
			}
			for _, v := range event.TimeValues(ev.Kind, body) {
				ms, err := strconv.ParseInt(v.Digits(), 10, 64)
				if err != nil {
					t.Fatalf("round %d: %s %s: %v", r, ev.Kind, v.Path, err)
				}
				tm[string(ev.Kind)+" "+v.Path] = ms
			}
			round = append(round, body)
		}
		bodies, times = append(bodies, round), append(times, tm)
	}
	return bodies, times
}

// distinct fails when two rounds share the value of one time field.
func distinct(t *testing.T, times []map[string]int64) {
	t.Helper()
	seen := map[string]map[int64]int{}
	for r, tm := range times {
		for field, ms := range tm {
			if seen[field] == nil {
				seen[field] = map[int64]int{}
			}
			if r0, dup := seen[field][ms]; dup {
				t.Fatalf("rounds %d and %d share %s = %d", r0, r, field, ms)
			}
			seen[field][ms] = r
		}
	}
}

func TestLoadEveryRoundHasItsOwnTimes(t *testing.T) {
	const pool = 4
	kinds := []event.Kind{event.RecordDone, event.TaskRecordDone, event.PublishStarted}
	lb := prepare(t, kinds, LoadBodyOptions{Pool: pool}, "http://127.0.0.1:9/cb")
	rounds := 3*pool + 5
	bodies, times := roundTimes(t, lb, rounds)
	distinct(t, times)

	names := map[string]bool{}
	for r, round := range bodies {
		var name string
		for k, body := range round {
			id := check(t, body).Identity()
			if k == 0 {
				name = id.Stream
			} else if id.Stream != name {
				t.Fatalf("round %d: %s is about %s, %s about %s", r, kinds[k], id.Stream, kinds[0], name)
			}
		}
		if names[name] {
			t.Fatalf("round %d: stream name %s again", r, name)
		}
		names[name] = true
	}

	for r, tm := range times {
		// Every field of round r is its group's, moved back by whole
		// cycles of the pool.
		shift := int64(r / pool * pool)
		for field, ms := range tm {
			if want := times[r%pool][field] - shift; ms != want {
				t.Errorf("round %d: %s = %d, want %d", r, field, ms, want)
			}
		}
		// The kinds of a round are still about one broadcast.
		if tm["publish_started eventTime"] != tm["record_done beginTime"] || tm["task_record_done group.0.beginTime"] != tm["record_done beginTime"] ||
			tm["task_record_done group.1.endTime"] != tm["record_done endTime"] {
			t.Errorf("round %d: times of the kinds disagree: %v", r, tm)
		}
		if len(tm) != 7 {
			t.Errorf("round %d: %d times, want 7: %v", r, len(tm), tm)
		}
	}
}

// The pool's streams last random lengths, so without care two groups'
// start times meet after enough cycles (round r and r + 1000 of groups
// whose streams differ by a second in length). A long run must still
// never repeat a time.
func TestLoadTimesStayUniqueOverManyCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 20000 rounds")
	}
	kinds := []event.Kind{event.RecordDone, event.Quality}
	lb := prepare(t, kinds, LoadBodyOptions{}, "http://127.0.0.1:9/cb")
	_, times := roundTimes(t, lb, 20000)
	distinct(t, times)
}

// A time that would lose a digit when moved back (a run that says it is
// 2001) is not moved: the round repeats its group's times rather than
// send a 12-digit timestamp or one out of order.
func TestLoadTimesKeepTheirWidth(t *testing.T) {
	const pool = 4
	o := opts()
	o.Now = time.UnixMilli(1e12 + 50) // 2001-09-09: publish_done's eventTime has 50 ms of room
	lb, err := PrepareLoad([]event.Kind{event.PublishDone, event.RecordDone}, o, LoadBodyOptions{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	if bad := lb.Validate(); bad != nil {
		t.Fatalf("invalid: %s %v", bad.Body, bad.Findings)
	}
	_, times := roundTimes(t, lb, 100)
	moved, kept := 0, 0
	for r, tm := range times {
		done := tm["publish_done eventTime"]
		if done < 1e12 || tm["record_done endTime"] != done || tm["record_done beginTime"] > done {
			t.Fatalf("round %d: %v", r, tm)
		}
		if r < pool {
			continue
		}
		switch first := times[r%pool]; {
		case done == first["publish_done eventTime"] && tm["record_done beginTime"] == first["record_done beginTime"]:
			kept++
		case done == first["publish_done eventTime"]-int64(r/pool*pool):
			moved++
		default:
			t.Fatalf("round %d: eventTime %d, group's %d", r, done, first["publish_done eventTime"])
		}
	}
	if moved == 0 || kept == 0 {
		t.Errorf("%d rounds moved, %d kept: want both", moved, kept)
	}
	distinct(t, times[:2*pool])
}

// A time set with --set is sent as set, in every round; other overrides
// leave the times moving.
func TestLoadTimesSetByTheUser(t *testing.T) {
	const pool = 4
	o := opts()
	o.Overrides = []event.Override{
		{Path: "eventTime", Value: []byte("1772366400000")},
		{Path: "fileSize", Value: []byte(`"1234"`)},
	}
	lb, err := PrepareLoad([]event.Kind{event.PublishDone, event.RecordDone}, o, LoadBodyOptions{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	if bad := lb.Validate(); bad != nil {
		t.Fatalf("invalid: %s %v", bad.Body, bad.Findings)
	}
	_, times := roundTimes(t, lb, 3*pool)
	var records []map[string]int64
	for r, tm := range times {
		if tm["publish_done eventTime"] != 1772366400000 {
			t.Errorf("round %d: eventTime %d, want the one set", r, tm["publish_done eventTime"])
		}
		records = append(records, map[string]int64{"beginTime": tm["record_done beginTime"], "endTime": tm["record_done endTime"]})
	}
	distinct(t, records)
}

func TestPutDigits(t *testing.T) {
	for _, v := range []int64{0, 7, 10, 99, 123, 999999999999, 1000000000000, 1772366400000, 1772366399999, 123456789012345678} {
		want := strconv.FormatInt(v, 10)
		b := []byte(strings.Repeat("x", len(want)))
		putDigits(b, v)
		if string(b) != want {
			t.Errorf("putDigits(%d) wrote %s", v, b)
		}
	}
}
