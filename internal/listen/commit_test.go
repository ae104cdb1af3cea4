package listen

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
)

// TestGroupCommitKeepsEveryGuarantee: many senders at once, so that
// requests share writes. Each sender, once answered, finds its record whole
// in the log; OnRequest calls never overlap and come in seq order; the log
// holds every request once, in seq order.
func TestGroupCommitKeepsEveryGuarantee(t *testing.T) {
	const senders, each = 12, 25
	var inCall atomic.Int32
	var mu sync.Mutex // only to read `last` from the test; OnRequest does not need it
	var last uint64
	var reports int
	s, path := start(t, Options{OnRequest: func(r *Request, st *Stats) {
		if inCall.Add(1) != 1 {
			t.Error("OnRequest calls overlap")
		}
		mu.Lock()
		if r.Record.Seq != last+1 {
			t.Errorf("OnRequest got seq %d after %d", r.Record.Seq, last)
		}
		last = r.Record.Seq
		reports++
		if st.Requests != reports {
			t.Errorf("stats count %d requests at report %d", st.Requests, reports)
		}
		mu.Unlock()
		inCall.Add(-1)
	}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			<-begin
			for i := 0; i < each; i++ {
				body := fmt.Sprintf(`{"sender":%d,"n":%d}`, g, i)
				resp, err := client.Post(s.URL(), "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s: status %d", body, resp.StatusCode)
				}
				data, err := os.ReadFile(path)
				if err != nil {
					t.Error(err)
					return
				}
				// (A JSON object: held as one, as it came.)
				want := []byte(`"body":` + body + `,`)
				i := bytes.Index(data, want)
				if i < 0 || bytes.IndexByte(data[i:], '\n') < 0 {
					t.Errorf("%s answered before its record was whole in the log", body)
				}
			}
		}(g)
	}
	close(begin)
	wg.Wait()
	recs := records(t, path)
	if len(recs) != senders*each {
		t.Fatalf("%d records, want %d", len(recs), senders*each)
	}
	seen := map[string]bool{}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i+1, r.Seq)
		}
		if seen[r.Body] {
			t.Errorf("%s captured twice", r.Body)
		}
		seen[r.Body] = true
	}
	mu.Lock()
	defer mu.Unlock()
	if reports != senders*each {
		t.Errorf("%d reports for %d requests", reports, senders*each)
	}
}

// TestCaptureFailureIs500: when the record cannot be written, the sender
// gets a 500 (so that it retries), and the report says why.
func TestCaptureFailureIs500(t *testing.T) {
	w, err := capture.Create(filepath.Join(t.TempDir(), "c.ndjson"), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Close() // every write now fails
	reported := make(chan *Request, 1)
	s, err := Listen(Options{Addr: "127.0.0.1:0", Capture: w, OnRequest: func(r *Request, _ *Stats) { reported <- r }})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Shutdown(context.Background())
	resp, body := post(t, s.URL(), "application/json", sample(t, event.Kind(event.KindNames()[0])))
	if resp.StatusCode != 500 || !strings.Contains(body, "could not save the callback") {
		t.Errorf("answer %d %q, want 500 saying the callback was not saved", resp.StatusCode, body)
	}
	got := <-reported
	if got.CaptureErr == nil || !strings.Contains(strings.Join(codes(got.Record.Findings), " "), string(CodeCaptureFailed)) {
		t.Errorf("the report does not carry the capture error: %+v", got)
	}
	if st := s.Stats(); st.Invalid != 1 {
		t.Errorf("stats %+v: the request is not counted invalid", st)
	}
	if st := s.Stats(); st.CaptureFailed != 1 || st.Saved() != 0 || len(st.Kinds) != 0 {
		t.Errorf("stats %+v: the capture failure is not counted, or the callback counts as saved", st)
	}
}

// TestRemovedCaptureDirectoryIs500: once the capture log's directory is
// removed, callbacks are answered 500 (capture_failed), not 200 into a
// file nobody can read; with the directory back, 200 again, into a new
// file at the path.
func TestRemovedCaptureDirectoryIs500(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	os.Mkdir(dir, 0o700)
	path := filepath.Join(dir, "c.ndjson")
	var mu sync.Mutex
	var notices []capture.Notice
	w, err := capture.Open(path, capture.Options{Notify: func(n capture.Notice) { mu.Lock(); notices = append(notices, n); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s := serve(t, Options{Capture: w})
	body := sample(t, event.PublishDone)
	if resp, _ := post(t, s.URL(), "application/json", body); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	os.RemoveAll(dir)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, answer := post(t, s.URL(), "application/json", body)
		if resp.StatusCode == 500 {
			if !strings.Contains(answer, "deleted with its directory") {
				t.Errorf("answer %q does not say why", answer)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still answered 200 10 s after the capture's directory was removed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the directory was created again")
	}
	mu.Lock()
	if len(notices) != 1 || notices[0].Kind != capture.Lost {
		t.Errorf("notices %v, want one Lost", notices)
	}
	mu.Unlock()
	os.Mkdir(dir, 0o700)
	for {
		if resp, _ := post(t, s.URL(), "application/json", body); resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("not answered 200 again with the directory back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if recs := records(t, path); len(recs) != 1 || recs[0].Body != string(body) {
		t.Errorf("%d records in the new file", len(recs))
	}
	if st := s.Stats(); st.CaptureFailed == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestPrepareAndEncodedReachOnRequest: Prepare runs for every request
// before its commit (no seq yet), concurrently, and what it returns is the
// request's Prepared in OnRequest; Encoded is, with the request's seq, the
// very line written to the capture log.
func TestPrepareAndEncodedReachOnRequest(t *testing.T) {
	const senders, each = 8, 20
	var mu sync.Mutex
	lines := map[uint64][]byte{}
	s, path := start(t, Options{
		Prepare: func(r *Request) any {
			if r.Record.Seq != 0 {
				t.Errorf("Prepare saw seq %d: it runs before the commit", r.Record.Seq)
			}
			if r.Encoded == nil {
				t.Error("Prepare has no Encoded record with a capture log")
			}
			return r.Record.Body
		},
		OnRequest: func(r *Request, _ *Stats) {
			if r.Prepared != r.Record.Body {
				t.Errorf("seq %d: Prepared %v, want what Prepare returned", r.Record.Seq, r.Prepared)
			}
			mu.Lock()
			lines[r.Record.Seq] = capture.AppendLine(nil, r.Record.Seq, r.Encoded)
			mu.Unlock()
		},
	})
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// (not UTF-8: a body stored as base64)
				body := []byte(fmt.Sprintf("{\"sender\":%d,\"n\":%d,\"x\":\"\xff\"}", g, i))
				resp, err := http.Post(s.URL(), "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		}(g)
	}
	wg.Wait()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := bytes.SplitAfter(data, []byte("\n"))
	got = got[:len(got)-1] // (after the last newline)
	if len(got) != senders*each || len(lines) != senders*each {
		t.Fatalf("%d lines in the log, %d reported; want %d", len(got), len(lines), senders*each)
	}
	for i, line := range got {
		if want := lines[uint64(i+1)]; !bytes.Equal(line, want) {
			t.Fatalf("line %d of the log\n%s\nbut OnRequest's Encoded makes\n%s", i+1, line, want)
		}
	}
}

// TestPrepareAgainWhenTheCaptureFails: a record changed under the commit
// (its capture failed: answered 500) is prepared again, and has no Encoded
// record: the one encoded before is not what the record now says.
func TestPrepareAgainWhenTheCaptureFails(t *testing.T) {
	w, err := capture.Create(filepath.Join(t.TempDir(), "c.ndjson"), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Close() // every write now fails
	reported := make(chan string, 1)
	s := serve(t, Options{Capture: w,
		Prepare: func(r *Request) any { return r.Record.Answer.Status },
		OnRequest: func(r *Request, _ *Stats) {
			reported <- fmt.Sprintf("prepared %v, encoded %v", r.Prepared, r.Encoded != nil)
		}})
	if resp, _ := post(t, s.URL(), "application/json", sample(t, event.RecordDone)); resp.StatusCode != 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got, want := <-reported, "prepared 500, encoded false"; got != want {
		t.Errorf("OnRequest got %s, want %s", got, want)
	}
}
