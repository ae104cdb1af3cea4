package inspect

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
)

func streamBody(t testing.TB, k event.Kind, name string) []byte {
	t.Helper()
	return body(t, k, "streamName", `"`+name+`"`)
}

func ids(p Page) []int64 {
	out := []int64{}
	for _, r := range p.Rows {
		out = append(out, r.ID)
	}
	return out
}

func TestQueryFiltersAndPages(t *testing.T) {
	var bodies [][]byte
	for i := 0; i < 10; i++ {
		k := []event.Kind{event.PublishStarted, event.Snapshot}[i%2]
		bodies = append(bodies, streamBody(t, k, fmt.Sprintf("s%d", i%3)))
	}
	bodies = append(bodies, []byte(`{"not":"a callback"}`)) // id 10: unknown kind, invalid
	path := captureOf(t, "/cb", bodies...)
	in, err := Open([]string{path}, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	files := in.files
	s1 := StreamKey{"push.example.com", "live", "s1"}
	for _, c := range []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all", Filter{}, []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"kind", Filter{Kind: "snapshot"}, []int64{9, 7, 5, 3, 1}},
		{"no kind", Filter{Kind: "none"}, []int64{10}},
		{"unknown kind", Filter{Kind: "nope"}, []int64{}},
		{"verdict", Filter{Verdict: VerdictInvalid}, []int64{10}},
		{"stream", Filter{Stream: &s1}, []int64{7, 4, 1}},
		{"stream and kind", Filter{Stream: &s1, Kind: "publish_started"}, []int64{4}},
		{"absent stream", Filter{Stream: &StreamKey{"x", "y", "z"}}, []int64{}},
		{"text: stream", Filter{Text: " LIVE/S2 "}, []int64{8, 5, 2}},
		{"text: code", Filter{Text: "unknown_kind"}, []int64{10}},
		{"text: status", Filter{Text: "200"}, []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
	} {
		p := in.ix.Query(c.f, -1, 100, files)
		if got := ids(p); fmt.Sprint(got) != fmt.Sprint(c.want) || p.Matched != len(c.want) {
			t.Errorf("%s: ids %v (matched %d), want %v", c.name, got, p.Matched, c.want)
		}
	}
	// Pages of 4, newest first, each older page from the cursor.
	var pages [][]int64
	before := int64(-1)
	for {
		p := in.ix.Query(Filter{}, before, 4, files)
		pages = append(pages, ids(p))
		if p.Older < 0 {
			break
		}
		before = p.Older
	}
	if got := fmt.Sprint(pages); got != "[[10 9 8 7] [6 5 4 3] [2 1 0]]" {
		t.Errorf("pages %s", got)
	}
	p := in.ix.Query(Filter{}, -1, 1, files)
	if r := p.Rows[0]; r.Method != "POST" || r.Path != "/cb" || r.Kind != "" || r.Verdict != "invalid" || r.Status != 200 ||
		r.File != path || r.Line != 11 || len(r.Codes) != 1 || r.Codes[0] != "unknown_kind" {
		t.Errorf("row %+v", r)
	}
	ss := in.ix.Streams(10)
	if len(ss) != 3 || ss[0].Key.Name != "s0" || ss[0].Requests != 4 || ss[0].Kinds["publish_started"] != 2 {
		t.Errorf("streams %+v", ss)
	}
}

func TestOpenOtherFormatsAndBrokenLines(t *testing.T) {
	dir := t.TempDir()
	nd := filepath.Join(dir, "cb.ndjson")
	good := streamBody(t, event.RecordDone, "a")
	os.WriteFile(nd, append(append(append([]byte{}, good...), '\n'), []byte("{\"cut\":")...), 0o644)
	har := filepath.Join(dir, "cb.har")
	harDoc := `{"log":{"version":"1.2","entries":[{"startedDateTime":"2026-03-01T10:00:00Z","request":{"method":"POST","url":"http://x/record?a=1",` +
		`"headers":[],"postData":{"mimeType":"application/json","text":` + string(jsonString(string(good))) + `}}}]}}`
	os.WriteFile(har, []byte(harDoc), 0o644)
	capPath := captureOf(t, "/cb", good)
	raw, _ := os.ReadFile(capPath)
	broken := filepath.Join(dir, "broken.ndjson")
	os.WriteFile(broken, append(append([]byte{}, raw...), []byte("{\"format\":\"livecb.capture.v1\",\"seq\":2,\"body\":\n")...), 0o644)

	in, err := Open([]string{nd, har, broken}, OpenOptions{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p := in.ix.Query(Filter{}, -1, 100, in.files)
	var got []string
	for _, r := range p.Rows {
		got = append(got, fmt.Sprintf("%s:%d %s %s %s", filepath.Base(r.File), r.Line, r.Kind, r.Verdict, r.Path))
	}
	want := []string{"broken.ndjson:2  broken ", "broken.ndjson:1 record_done valid /cb", "cb.har:1 record_done valid /record",
		"cb.ndjson:2  broken ", "cb.ndjson:1 record_done valid "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range p.Rows {
		d, err := in.Detail(r.ID, "")
		if err != nil {
			t.Fatalf("detail of %d: %v", r.ID, err)
		}
		if r.Verdict == "valid" && (d.Body.Text == nil || *d.Body.Text != string(good)) {
			t.Errorf("detail of %d: body %v", r.ID, d.Body.Text)
		}
		if r.Verdict == "broken" && len(d.Findings) == 0 {
			t.Errorf("detail of broken %d has no finding", r.ID)
		}
	}
	spill := in.spill
	if _, err := os.Stat(spill); err != nil {
		t.Fatalf("spill file: %v", err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spill); !os.IsNotExist(err) {
		t.Errorf("the temporary file %s outlived Close", spill)
	}
}

func jsonString(s string) []byte {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.Bytes()
}

// A live inspector holds the newest records within its budget; with a
// capture log it reads the older ones back from it (by a search on seq),
// without one it says they are gone.
func TestLiveWindowAndCaptureLog(t *testing.T) {
	for _, save := range []bool{true, false} {
		t.Run(fmt.Sprintf("save=%v", save), func(t *testing.T) {
			var in *Inspector
			l := startListener(t, save, &in)
			var err error
			// (the listener's file exists: NewLive starts after its end)
			in, err = NewLive(LiveOptions{SavePath: l.save, WindowBytes: 4 << 10})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var sent [][]byte
			for i := 0; i < 40; i++ {
				b := streamBody(t, event.Snapshot, fmt.Sprintf("n%02d", i))
				sent = append(sent, b)
				post(t, l.url+"/snapshot", b)
			}
			waitFor(t, "40 requests", func() bool { return in.Len() == 40 })
			held, inWindow := 0, 0
			for id := int64(0); id < 40; id++ {
				if _, ok := in.ix.held(in.ix.get(id)); ok {
					inWindow++
				}
				d, err := in.Detail(id, "")
				if err != nil {
					if _, ok := err.(*NotHeldError); save || !ok {
						t.Fatalf("detail %d: %v", id, err)
					}
					continue
				}
				held++
				if *d.Body.Text != string(sent[id]) || d.Seq != uint64(id+1) {
					t.Fatalf("detail %d: seq %d body %q", id, d.Seq, *d.Body.Text)
				}
			}
			t.Logf("%d shown, %d from the window, bytes %d", held, inWindow, in.ix.win.heldBytes())
			if inWindow == 40 || inWindow == 0 || !save && held != inWindow {
				t.Errorf("%d of 40 in a 4 KiB window, %d shown; want the newest few in it, and the others shown only from a capture log", inWindow, held)
			}
			if in.ix.win.heldBytes() > 4<<10+int64(len(sent[0]))+2048 {
				t.Errorf("window holds %d bytes, budget 4 KiB", in.ix.win.heldBytes())
			}
		})
	}
}

// A summary of a request is kept, never its body: opening a capture of
// large bodies costs a small fraction of their size.
func TestIndexHoldsNoBodies(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 8<<10)
	const n = 4000
	var samples [][]byte
	for i := 0; i < 50; i++ {
		samples = append(samples, body(t, event.Snapshot, "streamName", fmt.Sprintf(`"s%d"`, i), "padding", `"`+pad+`"`))
	}
	for i := 0; i < n; i++ {
		rec := &capture.Record{Method: http.MethodPost, Target: "/snapshot", Header: http.Header{"Content-Type": {"application/json"}},
			Answer: capture.Answer{Status: 200}}
		b := samples[i%50]
		rec.SetBody(b)
		rec.Size = int64(len(b))
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	in, err := Open([]string{path}, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if in.Len() != n {
		t.Fatalf("%d requests indexed, want %d", in.Len(), n)
	}
	// The bodies are 32 MiB; the index about 130 bytes a request.
	if grew > 4<<20 {
		t.Errorf("opening %d requests of 8 KiB took %d bytes of heap: bodies are being held", n, grew)
	}
	runtime.KeepAlive(in)
}

// What the list shows has its control and bidirectional characters
// escaped; the exact value still filters and links.
func TestRowsShowInvisibleCharactersEscaped(t *testing.T) {
	name := "cam\x1b[31m\u202eevil"
	path := captureOf(t, "/cb", body(t, event.Snapshot, "streamName", `"cam\u001b[31m\u202eevil"`))
	in, err := Open([]string{path}, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	key := StreamKey{"push.example.com", "live", name}
	p := in.ix.Query(Filter{Stream: &key}, -1, 10, in.files)
	if len(p.Rows) != 1 {
		t.Fatalf("the exact stream matched %d rows", len(p.Rows))
	}
	if r := p.Rows[0]; r.Stream.Name != name || r.StreamText != `push.example.com/live/cam\x1b[31m\u202eevil` {
		t.Errorf("stream %q shown as %q", r.Stream.Name, r.StreamText)
	}
	if ss := in.ix.Streams(10); ss[0].Text != `push.example.com/live/cam\x1b[31m\u202eevil` {
		t.Errorf("streams show %q", ss[0].Text)
	}
	if tl, _ := in.Timeline(key); tl.StreamText != `push.example.com/live/cam\x1b[31m\u202eevil` {
		t.Errorf("timeline shows %q", tl.StreamText)
	}
}

// Pages read the index while the listener's hook adds to it: under -race
// this shows the lock-free reads are safe, and every read is consistent
// (a held record is its entry's, never a newer one's from a reused slot),
// across dropped chunks and a wrapping window.
func TestReadsWhileAdding(t *testing.T) {
	in, err := NewLive(LiveOptions{MaxEntries: 2 * chunkSize, WindowRecords: 64, WindowBytes: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	const n = 5 * chunkSize
	bodies := map[event.Kind][]byte{}
	for _, k := range []event.Kind{event.PublishStarted, event.Snapshot, event.PublishDone} {
		bodies[k] = body(t, k)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		kinds := []event.Kind{event.PublishStarted, event.Snapshot, event.PublishDone}
		for i := 0; i < n; i++ {
			k := kinds[i%3]
			ev, fs := event.Check(bodies[k], event.Options{})
			rec := &capture.Record{Seq: uint64(i + 1), Method: "POST", Target: "/" + string(k), Kind: k, Findings: fs, Answer: capture.Answer{Status: 200}}
			rec.SetBody(bodies[k])
			in.Add(&listen.Request{Record: rec, Event: ev, Callback: true})
		}
	}()
	key := StreamKey{"push.example.com", "live", "cam1"}
	reads := 0
	for busy := true; busy; reads++ {
		select {
		case <-done:
			busy = false
		default:
		}
		p := in.ix.Query(Filter{Kind: "snapshot"}, -1, 20, in.files)
		for _, r := range p.Rows {
			if r.Kind != "snapshot" || r.Seq != uint64(r.ID+1) {
				t.Fatalf("row %+v", r)
			}
			d, err := in.Detail(r.ID, "")
			if _, ok := err.(*NotHeldError); ok {
				continue // dropped meanwhile
			} else if err != nil {
				t.Fatalf("detail of %d: %v", r.ID, err)
			}
			if d.Seq != r.Seq || *d.Body.Text != string(bodies[event.Snapshot]) {
				t.Fatalf("detail of %d: seq %d kind %s", r.ID, d.Seq, d.Kind)
			}
		}
		in.Timeline(key)
		in.ix.Streams(10)
	}
	if in.Len() != n || in.ix.first() == 0 || in.ix.Len()-in.ix.first() > 2*chunkSize {
		t.Errorf("%d seen, %d held from %d", in.Len(), in.Len()-in.ix.first(), in.ix.first())
	}
	t.Logf("%d reads while adding", reads)
}

// TestSeqOfReadsEitherFormat: a log appended to by an older livecb and
// this one holds records of both formats, each found by its seq.
func TestSeqOfReadsEitherFormat(t *testing.T) {
	for head, want := range map[string]uint64{
		`{"format":"` + capture.Format + `","seq":42,"time"`:    42,
		`{"format":"` + capture.FormatV1 + `","seq":7,"time"`:   7,
		`{"format":"livecb.capture.v9","seq":5,"time"`:          0,
		`{"format":"` + capture.Format + `","time":"x","seq":1`: 0,
	} {
		got, ok := seqOf([]byte(head))
		if got != want || ok != (want != 0) {
			t.Errorf("seqOf(%s) = %d, %v; want %d", head, got, ok, want)
		}
	}
}
