package inspect

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/term"
)

// A stream's life as its callbacks tell it: the publish span from
// publish_started to publish_done, snapshots as instants, quality problems
// and recordings as spans (a task record's group spans within its own), and
// what is wrong with it. Times are the body's own (milliseconds since the
// epoch), not when the callbacks arrived: callbacks are retried and arrive
// out of order.

// TimelineItem is one request about the stream, as the analysis needs it.
type TimelineItem struct {
	ID      int64  // the request's id in the index
	Num     uint64 // its number as the list shows it (the capture's seq)
	Kind    event.Kind
	Arrived time.Time
	Body    []byte
}

// Timeline is the analysed life of one stream.
type Timeline struct {
	Stream     StreamKey `json:"stream"`     // exact
	StreamText string    `json:"streamText"` // as shown
	// From and To are the range of times drawn (ms since the epoch).
	From      int64         `json:"from"`
	To        int64         `json:"to"`
	Publish   []PublishSpan `json:"publish"`
	Snapshots []Tick        `json:"snapshots"`
	Quality   []Span        `json:"quality"`
	Records   []RecordSpan  `json:"records"`
	Anomalies []Anomaly     `json:"anomalies"`
	// Requests is how many requests were analysed; Left how many older
	// ones were not (beyond the limit); Unavailable how many records could
	// not be read back.
	Requests    int `json:"requests"`
	Left        int `json:"left,omitempty"`
	Unavailable int `json:"unavailable,omitempty"`
}

// PublishSpan is the time a stream was live: from a publish_started to the
// publish_done that ends it. StartID or DoneID is -1 when that callback is
// missing; Open marks a span with no done yet (drawn to To).
type PublishSpan struct {
	Start   int64 `json:"start"`
	End     int64 `json:"end"`
	StartID int64 `json:"startId"`
	DoneID  int64 `json:"doneId"`
	Open    bool  `json:"open,omitempty"`
}

// Tick is an instant: a snapshot.
type Tick struct {
	At     int64 `json:"at"`
	ID     int64 `json:"id"`
	Copies int   `json:"copies,omitempty"` // more than 1: duplicates
}

// Span is a time span: a quality problem, a recording or one of its groups.
type Span struct {
	Start  int64  `json:"start"`
	End    int64  `json:"end"`
	ID     int64  `json:"id"`
	Label  string `json:"label,omitempty"`
	Copies int    `json:"copies,omitempty"`
}

// RecordSpan is a recording: its span and, for a task record, its groups.
type RecordSpan struct {
	Span
	Kind   string `json:"kind"`
	Groups []Span `json:"groups,omitempty"`
}

// Anomaly codes: stable names for what the timeline flags.
const (
	AnomalyDuplicate          = "duplicate"            // the same body more than once
	AnomalyDoneWithoutStart   = "done_without_start"   // publish_done, no publish_started before it
	AnomalyStartedAgain       = "started_again"        // publish_started while the stream was live
	AnomalyRecordWithoutStart = "record_without_start" // a recording of a stream never started
	AnomalyOutsideLive        = "outside_live_span"    // a recording, snapshot or problem outside every publish span
	AnomalySnapshotGap        = "snapshot_gap"         // snapshots stopped for much longer than usual
	AnomalyOutOfOrder         = "arrived_out_of_order" // publish_done arrived before its publish_started
	AnomalyNoTime             = "no_time"              // no time livecb can read: drawn when it arrived
)

// Anomaly is one thing wrong with a stream's callbacks.
type Anomaly struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	At      int64    `json:"at"`            // where it is flagged on the timeline
	End     int64    `json:"end,omitempty"` // where it ends, for a gap
	IDs     []int64  `json:"ids"`           // the requests concerned
	Nums    []uint64 `json:"nums"`          // their numbers as the list shows them
}

const (
	// liveSlack is how far outside a publish span a recording, snapshot
	// or problem may fall before it is flagged: the service's machines
	// stamp them, and the spec gives no precision.
	liveSlack = 2 * time.Second
	// A gap between snapshots is an interval longer than gapFactor times
	// the usual one (the median), among at least minIntervals intervals.
	gapNum, gapDen = 3, 2
	minIntervals   = 3
)

// itemTimes is what an item says about time.
type itemTimes struct {
	at, end int64      // its instant, or its span
	groups  [][2]int64 // a task record's group spans
	timed   bool
}

// timesOf reads the times of a body through the event model: its top-level
// timestamps (one: an instant; two: a span) and those of the objects of an
// array (a task record's groups).
func timesOf(k event.Kind, body []byte) itemTimes {
	var top []int64
	groups := map[int]*[2]int64{}
	var order []int
	for _, v := range event.TimeValues(k, body) {
		ms, ok := parseMillis(v.Digits())
		if !ok {
			continue
		}
		parts := strings.Split(v.Path, ".")
		switch len(parts) {
		case 1:
			top = append(top, ms)
		case 3:
			i, err := strconv.Atoi(parts[1])
			if err != nil {
				continue
			}
			g := groups[i]
			if g == nil {
				g = &[2]int64{ms, ms}
				groups[i] = g
				order = append(order, i)
				continue
			}
			g[1] = ms
		}
	}
	var t itemTimes
	for _, i := range order {
		t.groups = append(t.groups, *groups[i])
	}
	switch {
	case len(top) >= 2:
		t.at, t.end, t.timed = top[0], top[1], true
	case len(top) == 1:
		t.at, t.end, t.timed = top[0], top[0], true
	}
	if len(t.groups) > 0 && len(top) < 2 {
		// A task record: its span is that of its groups.
		if !t.timed {
			t.at, t.end = t.groups[0][0], t.groups[0][0]
		}
		for _, g := range t.groups {
			t.at, t.end = min(t.at, g[0], g[1]), max(t.end, g[0], g[1])
		}
		t.timed = true
	}
	return t
}

func parseMillis(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// label is what a span is labelled with: the kind's key fields that are
// words, not times or sizes (a quality problem's module and type, a
// record's format).
func label(k event.Kind, body []byte) string {
	ev, err := event.Decode(body)
	if err != nil {
		return ""
	}
	ev.Kind = k
	info, _ := event.Info(k)
	numeric := map[string]bool{}
	for _, f := range info.Fields {
		numeric[f.Name] = f.Numeric || f.Type == event.TArray || f.Type == event.TObject
	}
	var parts []string
	for _, kf := range ev.KeyFields() {
		if !numeric[kf.Name] {
			parts = append(parts, kf.Value)
		}
	}
	return strings.Join(parts, " ")
}

type analysed struct {
	TimelineItem
	t      itemTimes
	copies []int64 // ids of every copy, this one first
	nums   []uint64
}

// Analyze draws the life of stream from its requests (in any order).
func Analyze(stream StreamKey, items []TimelineItem) Timeline {
	tl := Timeline{Stream: stream, StreamText: term.Sanitize(stream.String()), Publish: []PublishSpan{}, Snapshots: []Tick{}, Quality: []Span{},
		Records: []RecordSpan{}, Anomalies: []Anomaly{}, Requests: len(items)}
	sorted := append([]TimelineItem(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].Arrived.Equal(sorted[j].Arrived) {
			return sorted[i].Arrived.Before(sorted[j].Arrived)
		}
		return sorted[i].ID < sorted[j].ID
	})

	// Duplicates: the same bytes again. Only the first copy takes part in
	// the rest of the analysis (a repeated publish_started is a retry, not
	// a restart).
	var uniq []*analysed
	byHash := map[[32]byte]*analysed{}
	for _, it := range sorted {
		h := sha256.Sum256(it.Body)
		if first, ok := byHash[h]; ok {
			first.copies = append(first.copies, it.ID)
			first.nums = append(first.nums, it.Num)
			continue
		}
		a := &analysed{TimelineItem: it, t: timesOf(it.Kind, it.Body), copies: []int64{it.ID}, nums: []uint64{it.Num}}
		if !a.t.timed {
			ms := it.Arrived.UnixMilli()
			a.t = itemTimes{at: ms, end: ms}
			tl.Anomalies = append(tl.Anomalies, Anomaly{Code: AnomalyNoTime, At: ms, IDs: []int64{it.ID}, Nums: []uint64{it.Num},
				Message: fmt.Sprintf("%s #%d holds no time livecb can read; drawn when it arrived", it.Kind, it.Num)})
		}
		byHash[h] = a
		uniq = append(uniq, a)
	}
	for _, a := range uniq {
		if len(a.copies) > 1 {
			tl.Anomalies = append(tl.Anomalies, Anomaly{Code: AnomalyDuplicate, At: a.t.at, IDs: a.copies, Nums: a.nums,
				Message: fmt.Sprintf("the same %s body arrived %d times (%s): a receiver must treat a repeat as one callback", kindOr(a.Kind), len(a.copies), nums(a.nums))})
		}
	}

	// Publish spans, in the order of the bodies' times.
	var lifecycle []*analysed
	for _, a := range uniq {
		if a.Kind == event.PublishStarted || a.Kind == event.PublishDone {
			lifecycle = append(lifecycle, a)
		}
	}
	sort.SliceStable(lifecycle, func(i, j int) bool { return lifecycle[i].t.at < lifecycle[j].t.at })
	var open *analysed
	started := false
	for _, a := range lifecycle {
		switch a.Kind {
		case event.PublishStarted:
			started = true
			if open != nil {
				tl.Publish = append(tl.Publish, PublishSpan{Start: open.t.at, End: a.t.at, StartID: open.ID, DoneID: -1})
				tl.Anomalies = append(tl.Anomalies, Anomaly{Code: AnomalyStartedAgain, At: a.t.at, IDs: []int64{open.ID, a.ID}, Nums: []uint64{open.Num, a.Num},
					Message: fmt.Sprintf("publish_started #%d while the stream was live since #%d, with no publish_done between", a.Num, open.Num)})
			}
			open = a
		case event.PublishDone:
			if open == nil {
				tl.Publish = append(tl.Publish, PublishSpan{Start: a.t.at, End: a.t.at, StartID: -1, DoneID: a.ID})
				tl.Anomalies = append(tl.Anomalies, Anomaly{Code: AnomalyDoneWithoutStart, At: a.t.at, IDs: []int64{a.ID}, Nums: []uint64{a.Num},
					Message: fmt.Sprintf("publish_done #%d with no publish_started before it", a.Num)})
				continue
			}
			tl.Publish = append(tl.Publish, PublishSpan{Start: open.t.at, End: a.t.at, StartID: open.ID, DoneID: a.ID})
			if a.Arrived.Before(open.Arrived) {
				tl.Anomalies = append(tl.Anomalies, Anomaly{Code: AnomalyOutOfOrder, At: a.t.at, IDs: []int64{open.ID, a.ID}, Nums: []uint64{open.Num, a.Num},
					Message: fmt.Sprintf("publish_done #%d arrived before the publish_started #%d of its span", a.Num, open.Num)})
			}
			open = nil
		}
	}

	// The range drawn: every time the stream's callbacks hold.
	tl.From, tl.To = 0, 0
	first := true
	for _, a := range uniq {
		for _, ms := range []int64{a.t.at, a.t.end} {
			if first || ms < tl.From {
				tl.From = ms
			}
			if first || ms > tl.To {
				tl.To = ms
			}
			first = false
		}
	}
	if tl.To <= tl.From {
		tl.To = tl.From + 1000
	}
	if open != nil {
		tl.Publish = append(tl.Publish, PublishSpan{Start: open.t.at, End: tl.To, StartID: open.ID, DoneID: -1, Open: true})
	}
	sort.SliceStable(tl.Publish, func(i, j int) bool { return tl.Publish[i].Start < tl.Publish[j].Start })

	// live reports whether [b, e] is inside a publish span (with slack),
	// and which.
	slack := liveSlack.Milliseconds()
	live := func(b, e int64) (int, bool) {
		for i, p := range tl.Publish {
			if p.StartID < 0 {
				continue
			}
			if b >= p.Start-slack && (p.Open || e <= p.End+slack) {
				return i, true
			}
		}
		return -1, false
	}
	anyLive := false
	for _, p := range tl.Publish {
		anyLive = anyLive || p.StartID >= 0
	}
	outside := func(a *analysed, what string) {
		if !anyLive {
			return
		}
		tl.Anomalies = append(tl.Anomalies, Anomaly{Code: AnomalyOutsideLive, At: a.t.at, IDs: []int64{a.ID}, Nums: []uint64{a.Num},
			Message: fmt.Sprintf("%s #%d (%s) is outside every publish span of the stream", a.Kind, a.Num, what)})
	}

	snapsBySpan := map[int][]*analysed{}
	for _, a := range uniq {
		copies := len(a.copies)
		if copies == 1 {
			copies = 0
		}
		switch a.Kind {
		case event.Snapshot:
			tl.Snapshots = append(tl.Snapshots, Tick{At: a.t.at, ID: a.ID, Copies: copies})
			span, ok := live(a.t.at, a.t.at)
			if !ok {
				outside(a, "at "+stamp(a.t.at))
			}
			snapsBySpan[span] = append(snapsBySpan[span], a)
		case event.Quality:
			tl.Quality = append(tl.Quality, Span{Start: a.t.at, End: a.t.end, ID: a.ID, Label: label(a.Kind, a.Body), Copies: copies})
			if _, ok := live(a.t.at, a.t.end); !ok {
				outside(a, stamp(a.t.at)+" to "+stamp(a.t.end))
			}
		case event.RecordDone, event.TaskRecordDone:
			r := RecordSpan{Span: Span{Start: a.t.at, End: a.t.end, ID: a.ID, Label: label(a.Kind, a.Body), Copies: copies}, Kind: string(a.Kind)}
			for _, g := range a.t.groups {
				r.Groups = append(r.Groups, Span{Start: g[0], End: g[1], ID: a.ID})
			}
			tl.Records = append(tl.Records, r)
			switch {
			case !started:
				tl.Anomalies = append(tl.Anomalies, Anomaly{Code: AnomalyRecordWithoutStart, At: a.t.at, IDs: []int64{a.ID}, Nums: []uint64{a.Num},
					Message: fmt.Sprintf("%s #%d records a stream that no publish_started began", a.Kind, a.Num)})
			case len(a.t.groups) > 0:
				for i, g := range a.t.groups {
					if _, ok := live(g[0], g[1]); !ok {
						outside(a, fmt.Sprintf("group %d, %s to %s", i, stamp(g[0]), stamp(g[1])))
						break
					}
				}
			default:
				if _, ok := live(a.t.at, a.t.end); !ok {
					outside(a, stamp(a.t.at)+" to "+stamp(a.t.end))
				}
			}
		}
	}
	sort.SliceStable(tl.Snapshots, func(i, j int) bool { return tl.Snapshots[i].At < tl.Snapshots[j].At })

	// Gaps between snapshots, within each publish span.
	spans := make([]int, 0, len(snapsBySpan))
	for s := range snapsBySpan {
		spans = append(spans, s)
	}
	sort.Ints(spans)
	for _, s := range spans {
		if s < 0 && anyLive {
			continue // outside every span: flagged already
		}
		snaps := snapsBySpan[s]
		sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].t.at < snaps[j].t.at })
		if len(snaps) < minIntervals+1 {
			continue
		}
		iv := make([]int64, len(snaps)-1)
		for i := range iv {
			iv[i] = snaps[i+1].t.at - snaps[i].t.at
		}
		usual := median(iv)
		if usual <= 0 {
			continue
		}
		for i, d := range iv {
			if d*gapDen > usual*gapNum {
				tl.Anomalies = append(tl.Anomalies, Anomaly{Code: AnomalySnapshotGap, At: snaps[i].t.at, End: snaps[i+1].t.at, IDs: []int64{snaps[i].ID, snaps[i+1].ID}, Nums: []uint64{snaps[i].Num, snaps[i+1].Num},
					Message: fmt.Sprintf("no snapshot for %s between #%d and #%d (usually one every %s)",
						dur(d), snaps[i].Num, snaps[i+1].Num, dur(usual))})
			}
		}
	}
	sort.SliceStable(tl.Anomalies, func(i, j int) bool { return tl.Anomalies[i].At < tl.Anomalies[j].At })
	return tl
}

// median is the middle of the values (the lower of the two middle ones
// for an even count).
func median(v []int64) int64 {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}

func kindOr(k event.Kind) string {
	if k == "" {
		return "unknown"
	}
	return string(k)
}

func nums(ns []uint64) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = "#" + strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, ", ")
}

func dur(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() }

func stamp(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000Z")
}

// maxTimeline is how many of a stream's requests a timeline analyses (the
// newest).
const maxTimeline = 10_000

// Timeline analyses the held requests of stream k.
func (in *Inspector) Timeline(k StreamKey) (Timeline, bool) {
	entries, left := in.ix.streamEntries(k, maxTimeline)
	if len(entries) == 0 {
		return Timeline{}, false
	}
	items := make([]TimelineItem, 0, len(entries))
	unavailable := 0
	for _, e := range entries {
		rec, _, err := in.record(e)
		if err != nil || rec == nil {
			unavailable++
			continue
		}
		body, err := rec.Bytes()
		if err != nil {
			unavailable++
			continue
		}
		items = append(items, TimelineItem{ID: e.id, Num: e.seq, Kind: rec.Kind, Arrived: rec.Time, Body: body})
	}
	tl := Analyze(k, items)
	tl.Left, tl.Unavailable = left, unavailable
	return tl, true
}
