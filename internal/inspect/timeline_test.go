package inspect

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
)

// t0 is when the test streams start: 2026-03-01 10:00:00 UTC.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func at(s int) int64 { return t0.Add(time.Duration(s) * time.Second).UnixMilli() }

var testStream = event.Stream{Domain: "push.example.com", App: "live", Name: "cam1", ClientIP: "203.0.113.9",
	Start: t0, End: t0.Add(600 * time.Second), TaskExternalID: "163594946396839936"}

// body is kind's sample for testStream with fields set (path: raw JSON).
func body(t testing.TB, k event.Kind, set ...string) []byte {
	t.Helper()
	b, err := event.Sample(k, testStream)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(set); i += 2 {
		if b, err = event.Set(b, set[i], json.RawMessage(set[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func msOf(s int) string { return strconv.FormatInt(at(s), 10) }

// items numbers bodies in order of arrival, one second apart.
func items(bodies ...any) []TimelineItem {
	var out []TimelineItem
	for i := 0; i+1 < len(bodies); i += 2 {
		n := len(out)
		out = append(out, TimelineItem{ID: int64(n), Num: uint64(n + 1), Kind: bodies[i].(event.Kind),
			Arrived: t0.Add(time.Duration(n) * time.Second), Body: bodies[i+1].([]byte)})
	}
	return out
}

func TestAnalyzeWholeStream(t *testing.T) {
	snap := func(s int) []byte { return body(t, event.Snapshot, "snapshotTime", msOf(s)) }
	in := items(
		event.PublishStarted, body(t, event.PublishStarted), // #1 id 0
		event.Snapshot, snap(60), // #2 id 1
		event.Snapshot, snap(120), // #3 id 2
		event.Snapshot, snap(60), // #4 id 3: #2 again
		event.Quality, body(t, event.Quality, "startTime", msOf(150), "endTime", msOf(160)), // #5 id 4
		event.Snapshot, snap(180), // #6 id 5
		event.Snapshot, snap(240), // #7 id 6
		event.Snapshot, snap(420), // #8 id 7: 3 minutes after #7, usually 1
		event.PublishDone, body(t, event.PublishDone), // #9 id 8
		event.RecordDone, body(t, event.RecordDone), // #10 id 9
		event.TaskRecordDone, body(t, event.TaskRecordDone), // #11 id 10
		event.RecordDone, body(t, event.RecordDone, "beginTime", msOf(700), "endTime", msOf(800)), // #12 id 11: after the done
	)
	got := Analyze(StreamKey{"push.example.com", "live", "cam1"}, in)
	want := Timeline{
		Stream: StreamKey{"push.example.com", "live", "cam1"}, StreamText: "push.example.com/live/cam1",
		From: at(0), To: at(800),
		Publish:   []PublishSpan{{Start: at(0), End: at(600), StartID: 0, DoneID: 8}},
		Snapshots: []Tick{{At: at(60), ID: 1, Copies: 2}, {At: at(120), ID: 2}, {At: at(180), ID: 5}, {At: at(240), ID: 6}, {At: at(420), ID: 7}},
		Quality:   []Span{{Start: at(150), End: at(160), ID: 4, Label: "BlackScreen video"}},
		Records: []RecordSpan{
			{Span: Span{Start: at(0), End: at(600), ID: 9, Label: "flv"}, Kind: "record_done"},
			{Span: Span{Start: at(0), End: at(600), ID: 10, Label: "mp4 163594946396839936"}, Kind: "task_record_done",
				Groups: []Span{{Start: at(0), End: at(200), ID: 10}, {Start: at(400), End: at(600), ID: 10}}},
			{Span: Span{Start: at(700), End: at(800), ID: 11, Label: "flv"}, Kind: "record_done"},
		},
		Anomalies: []Anomaly{
			{Code: AnomalyDuplicate, At: at(60), IDs: []int64{1, 3}, Nums: []uint64{2, 4},
				Message: "the same snapshot body arrived 2 times (#2, #4): a receiver must treat a repeat as one callback"},
			{Code: AnomalySnapshotGap, At: at(240), End: at(420), IDs: []int64{6, 7}, Nums: []uint64{7, 8},
				Message: "no snapshot for 3m0s between #7 and #8 (usually one every 1m0s)"},
			{Code: AnomalyOutsideLive, At: at(700), IDs: []int64{11}, Nums: []uint64{12},
				Message: "record_done #12 (2026-03-01 10:11:40.000Z to 2026-03-01 10:13:20.000Z) is outside every publish span of the stream"},
		},
		Requests: 12,
	}
	compareTimeline(t, got, want)
}

func TestAnalyzeLifecycleAnomalies(t *testing.T) {
	key := StreamKey{"push.example.com", "live", "cam1"}
	t.Run("done and record without a start", func(t *testing.T) {
		got := Analyze(key, items(
			event.PublishDone, body(t, event.PublishDone),
			event.RecordDone, body(t, event.RecordDone),
		))
		want := Timeline{Stream: key, StreamText: "push.example.com/live/cam1", From: at(0), To: at(600),
			Publish:   []PublishSpan{{Start: at(600), End: at(600), StartID: -1, DoneID: 0}},
			Snapshots: []Tick{}, Quality: []Span{},
			Records: []RecordSpan{{Span: Span{Start: at(0), End: at(600), ID: 1, Label: "flv"}, Kind: "record_done"}},
			Anomalies: []Anomaly{
				{Code: AnomalyRecordWithoutStart, At: at(0), IDs: []int64{1}, Nums: []uint64{2}, Message: "record_done #2 records a stream that no publish_started began"},
				{Code: AnomalyDoneWithoutStart, At: at(600), IDs: []int64{0}, Nums: []uint64{1}, Message: "publish_done #1 with no publish_started before it"},
			},
			Requests: 2}
		compareTimeline(t, got, want)
	})
	t.Run("started again, done out of order", func(t *testing.T) {
		got := Analyze(key, items(
			event.PublishStarted, body(t, event.PublishStarted),
			event.PublishDone, body(t, event.PublishDone, "eventTime", msOf(300)),
			event.PublishStarted, body(t, event.PublishStarted, "eventTime", msOf(100)),
		))
		want := Timeline{Stream: key, StreamText: "push.example.com/live/cam1", From: at(0), To: at(300),
			Publish: []PublishSpan{
				{Start: at(0), End: at(100), StartID: 0, DoneID: -1},
				{Start: at(100), End: at(300), StartID: 2, DoneID: 1},
			},
			Snapshots: []Tick{}, Quality: []Span{}, Records: []RecordSpan{},
			Anomalies: []Anomaly{
				{Code: AnomalyStartedAgain, At: at(100), IDs: []int64{0, 2}, Nums: []uint64{1, 3}, Message: "publish_started #3 while the stream was live since #1, with no publish_done between"},
				{Code: AnomalyOutOfOrder, At: at(300), IDs: []int64{2, 1}, Nums: []uint64{3, 2}, Message: "publish_done #2 arrived before the publish_started #3 of its span"},
			},
			Requests: 3}
		compareTimeline(t, got, want)
	})
	t.Run("a repeated start is a retry, not a restart", func(t *testing.T) {
		got := Analyze(key, items(
			event.PublishStarted, body(t, event.PublishStarted),
			event.PublishStarted, body(t, event.PublishStarted),
		))
		want := Timeline{Stream: key, StreamText: "push.example.com/live/cam1", From: at(0), To: at(0) + 1000,
			Publish:   []PublishSpan{{Start: at(0), End: at(0) + 1000, StartID: 0, DoneID: -1, Open: true}},
			Snapshots: []Tick{}, Quality: []Span{}, Records: []RecordSpan{},
			Anomalies: []Anomaly{{Code: AnomalyDuplicate, At: at(0), IDs: []int64{0, 1}, Nums: []uint64{1, 2},
				Message: "the same publish_started body arrived 2 times (#1, #2): a receiver must treat a repeat as one callback"}},
			Requests: 2}
		compareTimeline(t, got, want)
	})
	t.Run("no time, a task group outside the span", func(t *testing.T) {
		noTime, err := event.Unset(body(t, event.Snapshot), "snapshotTime")
		if err != nil {
			t.Fatal(err)
		}
		got := Analyze(key, items(
			event.PublishStarted, body(t, event.PublishStarted),
			event.PublishDone, body(t, event.PublishDone),
			event.Snapshot, noTime,
			event.TaskRecordDone, body(t, event.TaskRecordDone, "group", `[{"beginTime":"`+msOf(10)+`","endTime":"`+msOf(20)+`"},{"beginTime":"`+msOf(590)+`","endTime":"`+msOf(650)+`"}]`),
		))
		want := Timeline{Stream: key, StreamText: "push.example.com/live/cam1", From: at(0), To: at(650),
			Publish:   []PublishSpan{{Start: at(0), End: at(600), StartID: 0, DoneID: 1}},
			Snapshots: []Tick{{At: at(2), ID: 2}},
			Quality:   []Span{},
			Records: []RecordSpan{{Span: Span{Start: at(10), End: at(650), ID: 3, Label: "mp4 163594946396839936"}, Kind: "task_record_done",
				Groups: []Span{{Start: at(10), End: at(20), ID: 3}, {Start: at(590), End: at(650), ID: 3}}}},
			Anomalies: []Anomaly{
				{Code: AnomalyNoTime, At: at(2), IDs: []int64{2}, Nums: []uint64{3}, Message: "snapshot #3 holds no time livecb can read; drawn when it arrived"},
				{Code: AnomalyOutsideLive, At: at(10), IDs: []int64{3}, Nums: []uint64{4},
					Message: "task_record_done #4 (group 1, 2026-03-01 10:09:50.000Z to 2026-03-01 10:10:50.000Z) is outside every publish span of the stream"},
			},
			Requests: 4}
		compareTimeline(t, got, want)
	})
	t.Run("a slight skew is no anomaly, snapshots regular", func(t *testing.T) {
		var in []any
		in = append(in, event.PublishStarted, body(t, event.PublishStarted))
		for s := 30; s <= 570; s += 30 {
			in = append(in, event.Snapshot, body(t, event.Snapshot, "snapshotTime", msOf(s)))
		}
		in = append(in, event.PublishDone, body(t, event.PublishDone),
			event.RecordDone, body(t, event.RecordDone, "beginTime", strconv.FormatInt(at(0)-1500, 10), "endTime", strconv.FormatInt(at(600)+1500, 10)))
		got := Analyze(key, items(in...))
		if len(got.Anomalies) != 0 || len(got.Snapshots) != 19 || len(got.Publish) != 1 {
			t.Errorf("anomalies %+v, %d snapshots, %d spans; want none, 19, 1", got.Anomalies, len(got.Snapshots), len(got.Publish))
		}
	})
}

func compareTimeline(t *testing.T, got, want Timeline) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	t.Errorf("timeline:\n%s\nwant:\n%s", g, w)
}
