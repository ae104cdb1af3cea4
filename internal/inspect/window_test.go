package inspect

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/listen"
)

// The live window keeps records as bytes and decodes them again for a
// page: what it gives back must be the record the listener captured,
// whatever arrived. The window holds exactly the bytes the listener's own
// record encodes to (with a capture log, its line there), and a record
// read from it is that line's, field for field, with the body's exact
// bytes.
func TestWindowGivesBackWhatTheListenerCaptured(t *testing.T) {
	for _, save := range []bool{true, false} {
		t.Run(fmt.Sprintf("save=%v", save), func(t *testing.T) {
			in, err := NewLive(LiveOptions{WindowBytes: 8 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var mu sync.Mutex
			want := map[uint64][]byte{} // seq: the listener's record, encoded
			opts := listen.Options{Addr: "127.0.0.1:0", MaxBody: 1 << 20, Prepare: in.Prepare,
				OnRequest: func(r *listen.Request, _ *listen.Stats) {
					in.Add(r)
					enc, err := capture.Encode(r.Record, nil)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					want[r.Record.Seq] = capture.AppendLine(nil, r.Record.Seq, enc)
					mu.Unlock()
				}}
			var path string
			if save {
				path = filepath.Join(t.TempDir(), "c.ndjson")
				w, err := capture.Create(path, false)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				opts.Capture = w
			}
			srv, err := listen.Listen(opts)
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve()
			defer srv.Shutdown(context.Background())

			pad := strings.Repeat("0123456789abcdef", 600<<10/16)
			huge := body(t, event.Snapshot, "padding", `"`+pad+`"`)         // 600 KiB: a segment of its own
			tooLarge := body(t, event.Snapshot, "padding", `"`+pad+pad+`"`) // over MaxBody: 413, its first MiB kept
			notUTF8 := []byte("{\"streamName\":\"caf\xe9\xff\",\"x\":\"\x00\u202e\"}")
			sent := [][]byte{body(t, event.RecordDone), notUTF8, huge, tooLarge, []byte(`{"cut":`), body(t, event.Snapshot)}
			for _, b := range sent {
				post(t, srv.URL()+"/cb?q=1", b, "Content-Encoding", "gzip", "X-Note", "\u202eevil\tx")
			}
			// A target and a header that are not UTF-8, and a GET.
			raw := string(body(t, event.PublishDone))
			rawRequest(t, srv.Addr().String(), "POST /\xff\xfe?a=\x80 HTTP/1.1\r\nHost: h\xe9.example\r\nX-Bin: a\xffb\r\n"+
				fmt.Sprintf("Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(raw), raw))
			sent = append(sent, []byte(raw))
			rawRequest(t, srv.Addr().String(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
			sent = append(sent, []byte{})
			waitFor(t, "every request", func() bool { return in.Len() == int64(len(sent)) })

			var lines [][]byte
			if save {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				lines = bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
			}
			for id := int64(0); id < in.Len(); id++ {
				e := in.ix.get(id)
				got, ok := in.ix.held(e)
				if !ok {
					t.Fatalf("request %d is not in the window", id)
				}
				line := want[e.seq]
				if !bytes.Equal(got, line) {
					t.Errorf("request %d: the window holds\n%.300s\nthe listener's record is\n%.300s", id, got, line)
				}
				if save && !bytes.Equal(append(lines[id], '\n'), line) {
					t.Errorf("request %d: the capture log has\n%.300s\nthe listener's record is\n%.300s", id, lines[id], line)
				}
				rec, _, err := in.record(e)
				if err != nil {
					t.Fatalf("request %d: %v", id, err)
				}
				parsed, err := capture.Parse(line[:len(line)-1])
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(rec, parsed) {
					t.Errorf("request %d from the window\n%+v\nthe line's\n%+v", id, rec, parsed)
				}
				b, err := rec.Bytes()
				if exp := sent[id][:min(len(sent[id]), 1<<20)]; err != nil || !bytes.Equal(b, exp) {
					t.Errorf("request %d: body of %d bytes (%v), want the %d sent", id, len(b), err, len(exp))
				}
			}
			e := in.ix.get(int64(len(sent) - 2))
			rec, _, _ := in.record(e)
			h, _ := rec.ExactHeader()
			if target, _ := rec.ExactTarget(); target != "/\xff\xfe?a=\x80" || h.Get("X-Bin") != "a\xffb" {
				t.Errorf("exact target %q, X-Bin %q", target, h.Get("X-Bin"))
			}
			if rec := mustRecord(t, in, 3); !rec.Truncated || rec.Answer.Status != http.StatusRequestEntityTooLarge || rec.Size != int64(len(tooLarge)) {
				t.Errorf("the body over the limit: truncated %v, status %d, size %d", rec.Truncated, rec.Answer.Status, rec.Size)
			}
		})
	}
}

func mustRecord(t *testing.T, in *Inspector, id int64) *capture.Record {
	t.Helper()
	rec, _, err := in.record(in.ix.get(id))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// rawRequest writes a request as bytes and reads the answer's status line.
func rawRequest(t *testing.T, addr, req string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

// liveRecord is a request as a listener reports it, number seq, with a
// body of about size bytes.
func liveRecord(t testing.TB, seq int, size int) *listen.Request {
	t.Helper()
	b := body(t, event.Snapshot, "streamName", fmt.Sprintf(`"cam%d"`, seq%5), "padding", `"`+strings.Repeat("x", size)+`"`)
	ev, fs := event.Check(b, event.Options{})
	rec := &capture.Record{Format: capture.Format, Seq: uint64(seq), Time: time.Unix(1700000000, int64(seq)).UTC(), Method: "POST",
		Target: "/snapshot", Kind: ev.Kind, Findings: fs, Answer: capture.Answer{Status: 200}}
	rec.SetBody(b)
	rec.Size = int64(len(b))
	return &listen.Request{Record: rec, Event: ev, Callback: true}
}

// The window's bounds: at most WindowRecords records and WindowBytes
// bytes, the newest always (even alone over the budget); the records it
// dropped are no longer held, those it holds are whole; the segments it
// keeps are about what it holds.
func TestWindowBounds(t *testing.T) {
	in, err := NewLive(LiveOptions{WindowBytes: 64 << 10, WindowRecords: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	w := in.ix.win
	sizes := map[int64]int{}
	lines := map[int64][]byte{}
	add := func(size int) {
		id := in.Len()
		r := liveRecord(t, int(id)+1, size)
		enc, _ := capture.Encode(r.Record, nil)
		sizes[id], lines[id] = len(enc), capture.AppendLine(nil, r.Record.Seq, enc)
		in.Add(r)
	}
	check := func(what string, wantHeld int) {
		t.Helper()
		held, size := 0, 0
		for id := in.Len() - 1; id >= 0; id-- {
			e := in.ix.get(id)
			line, ok := in.ix.held(e)
			if !ok {
				// Everything older is dropped too.
				for older := id - 1; older >= 0; older-- {
					if _, ok := in.ix.held(in.ix.get(older)); ok {
						t.Fatalf("%s: %d is held but %d, newer, is not", what, older, id)
					}
				}
				if _, err := in.Detail(id, ""); err == nil {
					t.Errorf("%s: the detail of dropped %d has no error", what, id)
				}
				break
			}
			held++
			size += int(e.length)
			if !bytes.Equal(line, lines[id]) {
				t.Fatalf("%s: %d held as\n%.200s\nwant\n%.200s", what, id, line, lines[id])
			}
		}
		if held != wantHeld {
			t.Errorf("%s: %d held, want %d", what, held, wantHeld)
		}
		if held > 1 && int64(size) > w.budget {
			t.Errorf("%s: %d bytes held, budget %d", what, size, w.budget)
		}
		if int64(size) != w.heldBytes() {
			t.Errorf("%s: %d bytes held, the window counts %d", what, size, w.heldBytes())
		}
		var inSegs int64
		for _, s := range *w.tab.Load() {
			inSegs += int64(len(s.buf))
		}
		if limit := max(int64(size), w.budget) + 2*int64(w.segSize); inSegs > limit {
			t.Errorf("%s: segments of %d bytes kept for %d held", what, inSegs, size)
		}
	}
	for i := 0; i < 100; i++ {
		add(100) // about 700 bytes each: the record bound first
	}
	check("small records", 32)
	add(200 << 10) // over the budget alone
	check("one record over the budget", 1)
	add(100)
	check("a small one after it", 1)
	for i := 0; i < 200; i++ {
		add(3 << 10)
	}
	n := int(w.budget) / sizes[in.Len()-1]
	check("records of 3 KiB", n)
}

// A live index that drops its oldest summaries drops their records too.
func TestWindowFollowsDroppedEntries(t *testing.T) {
	in, err := NewLive(LiveOptions{MaxEntries: chunkSize, WindowRecords: 4 * chunkSize, WindowBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r := liveRecord(t, 1, 0)
	for i := 0; i < 3*chunkSize; i++ {
		r.Record.Seq = uint64(i + 1)
		in.Add(r)
	}
	first := in.ix.first()
	if first == 0 || in.ix.win.first != first {
		t.Errorf("the index holds entries from %d, the window records from %d", first, in.ix.win.first)
	}
	if got := mustRecord(t, in, first); got.Seq != uint64(first+1) {
		t.Errorf("record %d has seq %d", first, got.Seq)
	}
}

// Preparing requests on their own goroutines, at once, and adding them in
// order summarises them as adding each alone does.
func TestPrepareConcurrentlyAsAddAlone(t *testing.T) {
	var reqs []*listen.Request
	kinds := []event.Kind{event.PublishStarted, event.Snapshot, event.RecordDone, event.Quality, event.PublishDone}
	for i := 0; i < 600; i++ {
		b := body(t, kinds[i%len(kinds)], "streamName", fmt.Sprintf(`"cam%d"`, i%7))
		if i%3 == 0 {
			b = body(t, kinds[i%len(kinds)], "streamName", fmt.Sprintf(`"cam%d"`, i%7), "appName", "12")
		}
		ev, fs := event.Check(b, event.Options{})
		rec := &capture.Record{Time: time.Now(), Method: []string{"POST", "POST", "PUT"}[i%3], Target: fmt.Sprintf("/p%d?x=%d", i%4, i),
			Findings: fs, Answer: capture.Answer{Status: 200 + i%3}}
		if ev != nil {
			rec.Kind = ev.Kind
		}
		if i%11 == 0 {
			rec.Answer.Forwarded = &capture.Forward{URL: "http://127.0.0.1:1/", Status: 202}
		}
		rec.SetBody(b)
		reqs = append(reqs, &listen.Request{Record: rec, Event: ev, Callback: rec.Method == "POST"})
	}
	alone, err := NewLive(LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close()
	prepared, err := NewLive(LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prepared.Close()
	for i, r := range reqs {
		r.Record.Seq = uint64(i + 1)
		alone.Add(r)
	}
	// In batches, as a listener's requests come: what Prepare made is
	// used again for later requests (its memo with it).
	const batch = 40
	for from := 0; from < len(reqs); from += batch {
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := from + g; i < from+batch; i += 8 {
					reqs[i].Prepared = prepared.Prepare(reqs[i])
				}
			}()
		}
		wg.Wait()
		for _, r := range reqs[from : from+batch] {
			prepared.Add(r)
		}
	}
	a := alone.ix.Query(Filter{}, -1, len(reqs), nil)
	p := prepared.ix.Query(Filter{}, -1, len(reqs), nil)
	if len(a.Rows) != len(reqs) || len(p.Rows) != len(reqs) {
		t.Fatalf("%d rows prepared at once, %d added alone, want %d", len(p.Rows), len(a.Rows), len(reqs))
	}
	for i := range a.Rows {
		if !reflect.DeepEqual(a.Rows[i], p.Rows[i]) {
			t.Fatalf("prepared at once\n%+v\nadded alone\n%+v", p.Rows[i], a.Rows[i])
		}
	}
	if sa, sp := alone.ix.Streams(100), prepared.ix.Streams(100); !reflect.DeepEqual(sa, sp) || len(sa) != 14 {
		t.Errorf("%d streams prepared at once, %d added alone, or not the same", len(sp), len(sa))
	}
	for id := int64(0); id < int64(len(reqs)); id += 37 {
		da, err1 := alone.Detail(id, "")
		dp, err2 := prepared.Detail(id, "")
		if err1 != nil || err2 != nil || !reflect.DeepEqual(da, dp) {
			t.Errorf("detail %d: %v %v", id, err1, err2)
		}
	}
}

// Readers copy records out of segments the writer drops and writes again
// for newer records: a reader gets the record it asked for, whole, or
// nothing, never bytes of another (under -race: never while they are
// written).
func TestWindowReadsWhileSegmentsAreReused(t *testing.T) {
	w := newWindow(16<<10, 1<<10) // segments of 4 KiB
	recordOf := func(id int64) []byte {
		return fmt.Appendf(nil, `,"id":%d,"pad":"%s"}`, id, strings.Repeat(string(rune('a'+id%26)), int(id%300)))
	}
	const n = 50_000
	var pos [n]atomic.Int64
	var added atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := int64(0); id < n; id++ {
			pos[id].Store(w.hold(id, recordOf(id)))
			added.Store(id + 1)
		}
	}()
	var wg sync.WaitGroup
	var got, missed atomic.Int64
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				last := added.Load() - 1
				if last < 0 {
					continue
				}
				// The oldest records held are the likeliest to be in a
				// segment about to be written again.
				for id := max(0, w.oldest.Load()-2); id <= last; id += 7 {
					want := recordOf(id)
					line, ok := w.appendHeld(nil, id, uint64(id+1), pos[id].Load(), int64(len(want)))
					if !ok {
						missed.Add(1)
						continue
					}
					got.Add(1)
					if exp := capture.AppendLine(nil, uint64(id+1), want); !bytes.Equal(line, exp) {
						t.Errorf("record %d read as\n%s\nwant\n%s", id, line, exp)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	<-done
	t.Logf("%d records read whole, %d no longer held", got.Load(), missed.Load())
	if got.Load() == 0 {
		t.Error("no record read while adding")
	}
}
