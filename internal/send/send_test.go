package send

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func opts() BodyOptions { return BodyOptions{Now: now, Rand: rand.New(rand.NewPCG(1, 2))} }

func check(t *testing.T, body []byte) *event.Event {
	t.Helper()
	ev, fs := event.Check(body, event.Options{})
	if ev == nil || fs.HasErrors() {
		t.Fatalf("invalid body %s: %v", body, fs)
	}
	return ev
}

func TestBodiesAreValidAndAboutOneStream(t *testing.T) {
	kinds := []event.Kind{event.PublishStarted, event.Snapshot, event.PublishDone, event.RecordDone, event.TaskRecordDone, event.Quality}
	items, err := Bodies(kinds, opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(kinds) {
		t.Fatalf("%d items", len(items))
	}
	var id event.Identity
	for i, it := range items {
		ev := check(t, it.Body)
		if ev.Kind != kinds[i] || it.Kind != kinds[i] || it.Seq != i+1 {
			t.Errorf("item %d: kind %s/%s seq %d", i, ev.Kind, it.Kind, it.Seq)
		}
		if i == 0 {
			id = ev.Identity()
		} else if ev.Identity() != id {
			t.Errorf("item %d is about %s, want %s", i, ev.Identity(), id)
		}
	}
	if id.Stream == "350802" || !strings.HasPrefix(id.Stream, "livecb-") {
		t.Errorf("stream name %q is not fresh", id.Stream)
	}
	started := check(t, items[0].Body).Number("eventTime")
	done := check(t, items[2].Body).Number("eventTime")
	if !(started < done) || len(started) != 13 {
		t.Errorf("eventTime started %s, done %s", started, done)
	}
	if done != "1772366400000" {
		t.Errorf("publish_done eventTime %s, want now (1772366400000)", done)
	}
}

func TestBodiesIdentity(t *testing.T) {
	o := opts()
	o.PushURL = "rtmp://push.example.com/live/350802?a=aaa&b=bbb"
	items, err := Bodies([]event.Kind{event.PublishStarted}, o)
	if err != nil {
		t.Fatal(err)
	}
	want := `"publishDomain":"push.example.com","appName":"live","streamName":"350802"`
	if !bytes.Contains(items[0].Body, []byte(want)) || !bytes.Contains(items[0].Body, []byte(`"pushParams":{"a":"aaa","b":"bbb"}`)) {
		t.Fatalf("body %s", items[0].Body)
	}
	o = opts()
	o.Domain, o.App, o.Stream = "d.example.com", "app1", "cam 7"
	items, err = Bodies([]event.Kind{event.RecordDone}, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := check(t, items[0].Body).Identity(); got != (event.Identity{Domain: "d.example.com", App: "app1", Stream: "cam 7"}) {
		t.Fatalf("identity %+v", got)
	}
	o.PushURL = "rtmp://nohost"
	if _, err := Bodies([]event.Kind{event.RecordDone}, o); err == nil {
		t.Fatal("bad push URL accepted")
	}
}

func TestBodiesVerbatimAndData(t *testing.T) {
	o := opts()
	o.Verbatim = true
	items, err := Bodies([]event.Kind{event.TaskRecordDone}, o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(items[0].Body, event.Fixture(event.TaskRecordDone)) {
		t.Fatalf("verbatim body %s", items[0].Body)
	}
	o.Stream = "x"
	if _, err := Bodies([]event.Kind{event.RecordDone}, o); err != ErrIdentityConflict {
		t.Fatalf("verbatim + --stream: %v", err)
	}

	o = opts()
	o.Data = []byte(`{"version":"v1.1","publishDomain":"a.example.com","appName":"live","streamName":"s","event":"publish_done","status":"success","eventTime":1772366400000}` + "\n")
	items, err = Bodies(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if items[0].Kind != event.PublishDone || !bytes.Equal(items[0].Body, o.Data) {
		t.Fatalf("data item %+v", items[0])
	}
	if _, err := Bodies([]event.Kind{event.RecordDone, event.Snapshot}, o); err == nil {
		t.Fatal("--data with two kinds accepted")
	}
}

func TestOverridesKeepDigitsAndWarn(t *testing.T) {
	o := opts()
	for _, s := range []struct {
		arg      string
		asString bool
	}{{"taskExternalId=163594946396839937", false}, {"fileSize=12345678901234567890", false}, {"group.1.endTime=1772366400000", true}, {"extra.x=1", false}} {
		ov, err := event.ParseSet(s.arg, s.asString)
		if err != nil {
			t.Fatal(err)
		}
		o.Overrides = append(o.Overrides, ov)
	}
	un, _ := event.ParseUnset("downloadUrl")
	o.Overrides = append(o.Overrides, un)
	items, err := Bodies([]event.Kind{event.TaskRecordDone}, o)
	if err != nil {
		t.Fatal(err)
	}
	b := string(items[0].Body)
	for _, want := range []string{`"taskExternalId":163594946396839937`, `"fileSize":12345678901234567890`, `"endTime":"1772366400000"}]`, `"extra":{"x":1}`} {
		if !strings.Contains(b, want) {
			t.Errorf("body lacks %s: %s", want, b)
		}
	}
	if strings.Contains(b, "downloadUrl") {
		t.Errorf("downloadUrl not removed: %s", b)
	}
	if len(items[0].Warnings) != 1 || !strings.Contains(items[0].Warnings[0], `"extra.x" is not a field of task_record_done`) {
		t.Errorf("warnings %q", items[0].Warnings)
	}
	if !Validate(items) {
		t.Error("a body without downloadUrl passed validation")
	}
}

func TestLifecycle(t *testing.T) {
	o := opts()
	items, err := Lifecycle(o, LifecycleOptions{Length: 2 * time.Minute, SnapshotInterval: 30 * time.Second, TaskRecord: true, Quality: true})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i, it := range items {
		check(t, it.Body)
		kinds = append(kinds, string(it.Kind))
		if i > 0 && it.At < items[i-1].At {
			t.Errorf("item %d at %s before item %d at %s", i, it.At, i-1, items[i-1].At)
		}
		if it.Seq != i+1 {
			t.Errorf("seq %d at %d", it.Seq, i)
		}
	}
	want := "publish_started snapshot quality snapshot snapshot publish_done record_done task_record_done"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("order %s\nwant  %s", got, want)
	}
	if items[0].At != 0 || items[5].At != 2*time.Minute || items[1].At != 30*time.Second {
		t.Errorf("times: %s %s %s", items[0].At, items[1].At, items[5].At)
	}
	// Snapshots are distinct and inside the stream.
	start := check(t, items[0].Body).Number("eventTime")
	end := check(t, items[5].Body).Number("eventTime")
	seen := map[string]bool{}
	for _, it := range items {
		if it.Kind == event.Snapshot {
			at := check(t, it.Body).Number("snapshotTime")
			if at <= start || at >= end || seen[at] {
				t.Errorf("snapshot at %s (stream %s..%s)", at, start, end)
			}
			seen[at] = true
		}
	}
	if end != "1772366400000" {
		t.Errorf("stream ends at %s, want now", end)
	}

	live, err := Lifecycle(o, LifecycleOptions{Length: time.Minute, Live: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 3 || check(t, live[0].Body).Number("eventTime") != "1772366400000" {
		t.Errorf("live lifecycle: %d items, starts %s", len(live), check(t, live[0].Body).Number("eventTime"))
	}
	// Bounded snapshots.
	many, err := Lifecycle(o, LifecycleOptions{Length: time.Hour, SnapshotInterval: time.Millisecond, MaxSnapshots: 5})
	if err != nil || len(many) != 8 {
		t.Errorf("bounded: %d items, %v", len(many), err)
	}
}

func TestArrange(t *testing.T) {
	items := []Item{{Seq: 1, At: 0}, {Seq: 2, At: time.Second}, {Seq: 3, At: 2 * time.Second}}
	dup := Arrange(items, true, false, nil)
	var got []int
	for _, it := range dup {
		got = append(got, it.Seq*10+it.Copy)
	}
	if want := []int{10, 11, 20, 21, 30, 31}; !equalInts(got, want) {
		t.Fatalf("duplicate order %v, want %v", got, want)
	}
	sh := Arrange(items, true, true, rand.New(rand.NewPCG(3, 4)))
	if sameOrder(dup, sh) || len(sh) != 6 {
		t.Fatalf("shuffle kept the order")
	}
	count := map[int]int{}
	for i, it := range sh {
		count[it.Seq*10+it.Copy]++
		if it.At != dup[i].At {
			t.Errorf("moment %d is %s, want %s", i, it.At, dup[i].At)
		}
	}
	if len(count) != 6 {
		t.Errorf("shuffle lost items: %v", count)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRouteByConfig(t *testing.T) {
	off := false
	table := route.Table{
		{Domain: "*", Endpoints: map[event.Family]route.Endpoint{event.FamilyStream: {URL: "http://127.0.0.1:1/any-stream"}}},
		{Domain: "push.yourdomain.com", Endpoints: map[event.Family]route.Endpoint{
			event.FamilyStream:   {URL: "http://127.0.0.1:1/stream"},
			event.FamilyRecord:   {URL: "http://127.0.0.1:1/record"},
			event.FamilySnapshot: {URL: "http://127.0.0.1:1/snap", Enabled: &off}}},
	}
	items, err := Bodies([]event.Kind{event.PublishStarted, event.RecordDone, event.Snapshot}, opts())
	if err != nil {
		t.Fatal(err)
	}
	if err := Route(items, "", table); err != nil {
		t.Fatal(err)
	}
	if items[0].URL != "http://127.0.0.1:1/stream" || items[1].URL != "http://127.0.0.1:1/record" {
		t.Errorf("urls %q %q", items[0].URL, items[1].URL)
	}
	if items[2].URL != "" || !strings.Contains(items[2].Skip, "snapshot callbacks are switched off") {
		t.Errorf("snapshot: url %q skip %q", items[2].URL, items[2].Skip)
	}
	// Quality has no URL configured: an error, before anything is sent.
	q, _ := Bodies([]event.Kind{event.Quality}, opts())
	if err := Route(q, "", table); err == nil {
		t.Error("quality routed without a URL")
	}
	// --to wins.
	if err := Route(q, "http://127.0.0.1:2/", table); err != nil || q[0].URL != "http://127.0.0.1:2/" {
		t.Errorf("--to: %v %q", err, q[0].URL)
	}
}

type sink struct {
	mu     sync.Mutex
	bodies []string
	paths  []string
	at     []time.Time
}

func (s *sink) server(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(b))
		s.paths = append(s.paths, r.URL.Path)
		s.at = append(s.at, time.Now())
		s.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, "got it")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRunDeliversExactBytesAndJudges(t *testing.T) {
	var s sink
	srv := s.server(t, 202)
	items := []Item{
		{Seq: 1, Kind: event.TaskRecordDone, Body: []byte(`{"taskExternalId":163594946396839937}`), URL: srv.URL + "/a"},
		{Seq: 2, Kind: event.Snapshot, Skip: "snapshot callbacks are switched off"},
		{Seq: 3, Kind: event.RecordDone, Body: []byte(`{"fileSize":12345678901234567890}`), URL: srv.URL + "/b"},
	}
	for _, tc := range []struct {
		expect  string
		matched int
		missed  int
	}{{"202", 2, 0}, {"200", 0, 2}, {"2xx", 2, 0}} {
		s.bodies, s.paths = nil, nil
		exp, _ := deliver.ParseExpect(tc.expect)
		var outs []Outcome
		r := &Runner{Client: deliver.NewClient(deliver.Policy{Expect: exp}), OnOutcome: func(o Outcome) { outs = append(outs, o) }}
		sum := r.Run(context.Background(), items)
		if sum.Sent != 2 || sum.Matched != tc.matched || sum.Missed != tc.missed || sum.Skipped != 1 || sum.Failed != 0 {
			t.Errorf("expect %s: %+v", tc.expect, sum)
		}
		if len(outs) != 3 || outs[1].Skipped == "" || string(outs[0].Result.Excerpt) != "got it" || outs[0].Result.Status != 202 {
			t.Errorf("outcomes %+v", outs)
		}
		if strings.Join(s.bodies, "|") != `{"taskExternalId":163594946396839937}|{"fileSize":12345678901234567890}` || strings.Join(s.paths, " ") != "/a /b" {
			t.Errorf("received %q at %q", s.bodies, s.paths)
		}
	}
}

func TestRunSkipsUnreachableURLAfterFirstFailure(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String() + "/cb"
	l.Close()
	var s sink
	srv := s.server(t, 200)
	items := []Item{{Seq: 1, URL: dead}, {Seq: 2, URL: srv.URL}, {Seq: 3, URL: dead}}
	exp, _ := deliver.ParseExpect("200")
	var outs []Outcome
	sum := (&Runner{Client: deliver.NewClient(deliver.Policy{Expect: exp}), OnOutcome: func(o Outcome) { outs = append(outs, o) }}).Run(context.Background(), items)
	if sum.Failed != 1 || sum.Matched != 1 || sum.Skipped != 1 || sum.FirstFailure == nil || sum.FirstFailure.URL != dead {
		t.Fatalf("%+v", sum)
	}
	if !outs[0].Failed() || outs[0].Result.Cause != deliver.CauseRefused || !strings.Contains(outs[2].Skipped, "connection refused") {
		t.Fatalf("outcomes %+v", outs)
	}
}

func TestRunPacesBySpeed(t *testing.T) {
	var s sink
	srv := s.server(t, 200)
	items := []Item{{Seq: 1, URL: srv.URL, Body: []byte("{}")}, {Seq: 2, URL: srv.URL, At: 10 * time.Second, Body: []byte("{}")}}
	exp, _ := deliver.ParseExpect("200")
	(&Runner{Client: deliver.NewClient(deliver.Policy{Expect: exp}), Speed: 50}).Run(context.Background(), items)
	if len(s.at) != 2 {
		t.Fatalf("%d received", len(s.at))
	}
	// 10s of stream time at 50x is 200ms; a generous lower bound only.
	if d := s.at[1].Sub(s.at[0]); d < 150*time.Millisecond {
		t.Errorf("second callback %s after the first, want about 200ms", d)
	}
	// Cancelled while waiting: stops.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	sum := (&Runner{Client: deliver.NewClient(deliver.Policy{Expect: exp}), Speed: 1}).Run(ctx, items)
	if sum.Sent != 1 {
		t.Errorf("sent %d after cancel, want 1", sum.Sent)
	}
}
