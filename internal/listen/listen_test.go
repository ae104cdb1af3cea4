package listen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
)

// start runs a listener on a free loopback port with a capture log in a
// temporary directory, and stops it when the test ends.
func start(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() }) // (after serve's clean-up: last in, first out)
	opts.Capture = w
	return serve(t, opts), path
}

// serve runs a listener on a free loopback port and shuts it down when the
// test ends.
func serve(t testing.TB, opts Options) *Server {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	s, err := Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func records(t *testing.T, path string) []*capture.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var out []*capture.Record
	for sc.Scan() {
		r, err := capture.Parse(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", len(out)+1, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func post(t *testing.T, url, contentType string, body []byte) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func sample(t testing.TB, k event.Kind) []byte {
	t.Helper()
	b, err := event.Sample(k, event.NewStream(time.Now(), nil))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func codes(fs event.Findings) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Severity)+":"+string(f.Code))
	}
	return out
}

func TestCapturesBodiesExactlyBeforeAnswering(t *testing.T) {
	s, path := start(t, Options{})
	bodies := [][]byte{
		sample(t, event.RecordDone),
		[]byte("{\"streamName\":\"caf\xe9\xff\"}"), // not UTF-8: stored as base64
		{},
		[]byte("\xef\xbb\xbf{\"a\":1}\r\n"),
	}
	for i, body := range bodies {
		resp, _ := post(t, s.URL()+"/cb?n=1", "application/json", body)
		if resp.StatusCode != 200 {
			t.Fatalf("body %d: status %d", i, resp.StatusCode)
		}
		// The record is written before the answer: it is there already.
		recs := records(t, path)
		if len(recs) != i+1 {
			t.Fatalf("after answer %d the capture has %d records", i+1, len(recs))
		}
		rec := recs[i]
		got, err := rec.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body) {
			t.Errorf("body %d: captured %q, sent %q", i, got, body)
		}
		if rec.Size != int64(len(body)) || rec.Seq != uint64(i+1) || rec.Method != "POST" || rec.Target != "/cb?n=1" {
			t.Errorf("body %d: record %+v", i, rec)
		}
		if rec.Header.Get("Content-Type") != "application/json" || rec.Answer.Status != 200 {
			t.Errorf("body %d: header %v answer %+v", i, rec.Header, rec.Answer)
		}
		if !strings.HasPrefix(rec.Remote, "127.0.0.1:") || rec.Time.IsZero() {
			t.Errorf("body %d: remote %q time %v", i, rec.Remote, rec.Time)
		}
	}
	recs := records(t, path)
	if recs[0].Kind != event.RecordDone || len(recs[0].Findings) != 0 {
		t.Errorf("valid record_done: kind %q findings %v", recs[0].Kind, recs[0].Findings)
	}
	// Its kind is sealed to its body, for a replay (event.Seal); the
	// others have no kind to seal.
	if k, ok := recs[0].SealedKind(); !ok || k != event.RecordDone {
		t.Errorf("record_done: sealed kind %q (%v), seal %d", k, ok, recs[0].KindSeal)
	}
	for _, r := range recs[1:] {
		if r.KindSeal != 0 {
			t.Errorf("record %d (kind %q): sealed (%d)", r.Seq, r.Kind, r.KindSeal)
		}
	}
	if recs[1].Encoding != "base64" || strings.Join(codes(recs[1].Findings), ",") != "error:invalid_utf8" {
		t.Errorf("invalid UTF-8: encoding %q findings %v", recs[1].Encoding, codes(recs[1].Findings))
	}
	if strings.Join(codes(recs[2].Findings), ",") != "error:empty_body" {
		t.Errorf("empty body: %v", codes(recs[2].Findings))
	}
	if strings.Join(codes(recs[3].Findings), ",") != "error:byte_order_mark" {
		t.Errorf("BOM: %v", codes(recs[3].Findings))
	}
	st := s.Stats()
	if st.Callbacks != 4 || st.Valid != 1 || st.Invalid != 3 || st.Kinds[event.RecordDone] != 1 || st.Unknown != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestOversizedBodyIs413AndCapturedTruncated(t *testing.T) {
	s, path := start(t, Options{})
	big := bytes.Repeat([]byte("0123456789"), 500_000) // 5 MB
	resp, answer := post(t, s.URL(), "application/json", big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if !strings.Contains(answer, "larger than 1048576 bytes") {
		t.Errorf("answer %q", answer)
	}
	recs := records(t, path)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	rec := recs[0]
	got, _ := rec.Bytes()
	if !rec.Truncated || rec.Size != int64(len(big)) || !bytes.Equal(got, big[:DefaultMaxBody]) {
		t.Errorf("truncated=%v size=%d len(body)=%d", rec.Truncated, rec.Size, len(got))
	}
	if c := codes(rec.Findings); len(c) != 1 || c[0] != "error:body_too_large" || rec.Answer.Status != 413 {
		t.Errorf("findings %v answer %+v", c, rec.Answer)
	}
	if !strings.Contains(rec.Findings[0].Message, "5000000 bytes") {
		t.Errorf("message %q does not give the size", rec.Findings[0].Message)
	}

	// A body of exactly the limit is accepted.
	s2, _ := start(t, Options{MaxBody: 10})
	if resp, _ := post(t, s2.URL(), "application/json", []byte(`{"a":1234}`)); resp.StatusCode != 200 {
		t.Errorf("body at the limit: status %d", resp.StatusCode)
	}
	if resp, _ := post(t, s2.URL(), "application/json", []byte(`{"a":12345}`)); resp.StatusCode != 413 {
		t.Errorf("body one byte over: status %d", resp.StatusCode)
	}
}

func TestOtherMethodsAre405AndCaptured(t *testing.T) {
	s, path := start(t, Options{})
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		req, _ := http.NewRequest(m, s.URL()+"/favicon.ico", strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s: status %d Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	recs := records(t, path)
	if len(recs) != 3 || recs[1].Method != "PUT" || codes(recs[1].Findings)[0] != "error:method_not_allowed" {
		t.Fatalf("records %+v", recs)
	}
	if b, _ := recs[1].Bytes(); string(b) != "x" {
		t.Errorf("PUT body %q not captured", b)
	}
	if st := s.Stats(); st.Requests != 3 || st.Other != 3 || st.Callbacks != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestAnswerStatusBodyDelay(t *testing.T) {
	s, path := start(t, Options{Status: 503, Body: []byte("busy"), Delay: 100 * time.Millisecond})
	begin := time.Now()
	resp, body := post(t, s.URL(), "application/json", sample(t, event.Snapshot))
	if resp.StatusCode != 503 || body != "busy" {
		t.Errorf("answer %d %q", resp.StatusCode, body)
	}
	if d := time.Since(begin); d < 100*time.Millisecond {
		t.Errorf("answered after %v, before --delay", d)
	}
	if rec := records(t, path)[0]; rec.Answer.Status != 503 || rec.Answer.Body != "busy" {
		t.Errorf("captured answer %+v", rec.Answer)
	}
}

// TestAnswer405WithoutBody: --status 405 with no --body (to see how a
// sender takes it) is answered, with the Allow header a 405 carries.
func TestAnswer405WithoutBody(t *testing.T) {
	s, _ := start(t, Options{Status: 405})
	resp, body := post(t, s.URL(), "application/json", sample(t, event.Snapshot))
	if resp.StatusCode != 405 || body != "" || resp.Header.Get("Allow") != "POST" {
		t.Errorf("answer %d %q, Allow %q", resp.StatusCode, body, resp.Header.Get("Allow"))
	}
}

func TestContentTypeWarnings(t *testing.T) {
	s, path := start(t, Options{})
	body := sample(t, event.PublishDone)
	post(t, s.URL(), "application/json; charset=utf-8", body)
	post(t, s.URL(), "text/plain", body)
	req, _ := http.NewRequest("POST", s.URL(), bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	recs := records(t, path)
	want := [][]string{nil, {"warning:content_type"}, {"warning:content_type"}}
	for i, rec := range recs {
		if fmt.Sprint(codes(rec.Findings)) != fmt.Sprint(want[i]) {
			t.Errorf("request %d: findings %v, want %v", i, codes(rec.Findings), want[i])
		}
	}
}

// TestContentHeadersFoundWhateverTheirCase: Content-Type and
// Content-Encoding are read however the sender spelt their names.
func TestContentHeadersFoundWhateverTheirCase(t *testing.T) {
	s, path := start(t, Options{})
	body := string(sample(t, event.PublishDone))
	for _, h := range []string{"content-type: text/plain\r\n", "CONTENT-TYPE: application/json\r\ncontent-encoding: gzip\r\n"} {
		rawExchange(t, s.Addr().String(), "POST /cb HTTP/1.1\r\nHost: x\r\n"+h+"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	}
	recs := records(t, path)
	want := [][]string{{"warning:content_type"}, {"error:content_encoding"}}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, rec := range recs {
		if fmt.Sprint(codes(rec.Findings)) != fmt.Sprint(want[i]) {
			t.Errorf("request %d: findings %v, want %v", i, codes(rec.Findings), want[i])
		}
	}
}

func TestFamilyPaths(t *testing.T) {
	s, path := start(t, Options{Paths: DefaultPaths})
	rec := sample(t, event.RecordDone)
	post(t, s.URL()+"/record", "application/json", rec)
	post(t, s.URL()+"/snapshot", "application/json", rec)
	post(t, s.URL()+"/elsewhere", "application/json", rec)
	post(t, s.URL()+"/stream?x=1", "application/json", sample(t, event.PublishStarted))
	recs := records(t, path)
	want := []string{"[]", "[error:wrong_family_path]", "[warning:unexpected_path]", "[]"}
	for i, r := range recs {
		if got := fmt.Sprint(codes(r.Findings)); got != want[i] {
			t.Errorf("request %d (%s): findings %s, want %s", i, r.Target, got, want[i])
		}
	}
	if !strings.Contains(recs[1].Findings[0].Message, "record callback") && !strings.Contains(recs[1].Findings[0].Message, "record family") {
		t.Errorf("message %q", recs[1].Findings[0].Message)
	}
}

func TestForwardPassesBytesAndHeaders(t *testing.T) {
	type got struct {
		body   []byte
		header http.Header
		uri    string
	}
	seen := make(chan got, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- got{b, r.Header.Clone(), r.RequestURI}
		w.Header().Set("X-Receiver", "yes")
		w.WriteHeader(201)
		io.WriteString(w, "created")
	}))
	defer receiver.Close()

	s, path := start(t, Options{ForwardTo: receiver.URL})
	body := []byte(`{"event":"publish_done","taskExternalId":163594946396839936,  "x":"caf` + "\xe9" + `"}`)
	req, _ := http.NewRequest("POST", s.URL()+"/cb/live?sig=abc", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", "s1")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "drop me")
	req.Header.Set("User-Agent", "the-service/1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(answer) != "created" || resp.Header.Get("X-Receiver") != "yes" {
		t.Errorf("caller got %d %q %v, want the receiver's answer", resp.StatusCode, answer, resp.Header)
	}
	g := <-seen
	if !bytes.Equal(g.body, body) {
		t.Errorf("receiver got %q, want %q", g.body, body)
	}
	if g.uri != "/cb/live?sig=abc" {
		t.Errorf("receiver got target %q", g.uri)
	}
	if g.header.Get("X-Signature") != "s1" || g.header.Get("User-Agent") != "the-service/1.0" || g.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers not forwarded: %v", g.header)
	}
	if g.header.Get("X-Hop") != "" {
		t.Errorf("hop-by-hop header forwarded: %v", g.header)
	}
	rec := records(t, path)[0]
	if rec.Answer.Status != 201 || rec.Answer.Forwarded == nil || rec.Answer.Forwarded.Status != 201 ||
		rec.Answer.Forwarded.URL != receiver.URL+"/cb/live?sig=abc" || rec.Answer.Forwarded.LatencyMS <= 0 {
		t.Errorf("captured answer %+v forwarded %+v", rec.Answer, rec.Answer.Forwarded)
	}
}

// The receiver's answer reaches the sender whole, however long (within the
// policy's limit): a forwarder that cut it would alter what the sender
// sees. The record keeps its first maxAnswerExcerpt bytes.
func TestForwardPassesTheWholeAnswer(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 1024) // 16 KiB
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, long)
	}))
	defer receiver.Close()
	s, path := start(t, Options{ForwardTo: receiver.URL})
	resp, err := http.Post(s.URL()+"/cb", "application/json", strings.NewReader(`{"event":"publish_done"}`))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(answer) != long {
		t.Errorf("caller got %d and %d bytes, want the receiver's %d", resp.StatusCode, len(answer), len(long))
	}
	if rec := records(t, path)[0]; rec.Answer.Body != long[:maxAnswerExcerpt-3]+"..." {
		t.Errorf("the record keeps %d bytes of the answer, want its first %d", len(rec.Answer.Body), maxAnswerExcerpt)
	}
}

func TestForwardToURLWithPathKeepsIt(t *testing.T) {
	uris := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uris <- r.RequestURI
	}))
	defer receiver.Close()
	s, _ := start(t, Options{ForwardTo: receiver.URL + "/hooks/live"})
	post(t, s.URL()+"/anything", "application/json", sample(t, event.Snapshot))
	if u := <-uris; u != "/hooks/live" {
		t.Errorf("forwarded to %q", u)
	}
}

func TestForwardFailureIs502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	s, path := start(t, Options{ForwardTo: dead})
	resp, body := post(t, s.URL(), "application/json", sample(t, event.Snapshot))
	// The sender and the finding get words; the record keeps Go's error
	// whole, for whoever debugs the network.
	if resp.StatusCode != 502 || body != "livecb listen: forwarding failed: connection refused: is the receiver running, and on this port?\n" {
		t.Errorf("answer %d %q", resp.StatusCode, body)
	}
	rec := records(t, path)[0]
	if rec.Answer.Forwarded == nil || !strings.Contains(rec.Answer.Forwarded.Error, "dial tcp") {
		t.Errorf("forwarded %+v", rec.Answer.Forwarded)
	}
	if fmt.Sprint(codes(rec.Findings)) != "[warning:forward_failed]" ||
		rec.Findings[0].Message != "forwarding to "+dead+"/ failed: connection refused: is the receiver running, and on this port?; answered 502" {
		t.Errorf("findings %v", rec.Findings)
	}
}

func TestHundredsOfConcurrentConnectionsAllCaptured(t *testing.T) {
	const n = 320
	s, path := start(t, Options{})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	begin := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-begin
			body := fmt.Sprintf(`{"n":%d}`, i)
			resp, err := client.Post(s.URL(), "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("request %d: status %d", i, resp.StatusCode)
			}
		}(i)
	}
	close(begin)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	recs := records(t, path)
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	seen := map[string]bool{}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d has seq %d", i, r.Seq)
		}
		seen[r.Body] = true
	}
	for i := 0; i < n; i++ {
		if !seen[fmt.Sprintf(`{"n":%d}`, i)] {
			t.Errorf("body %d missing", i)
		}
	}
	if st := s.Stats(); st.Callbacks != n || st.Invalid != n {
		t.Errorf("stats %+v", st)
	}
}

func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	entered := make(chan struct{}, 1)
	path := filepath.Join(t.TempDir(), "c.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(Options{Addr: "127.0.0.1:0", Capture: w, Delay: 300 * time.Millisecond,
		OnRequest: func(*Request, *Stats) { entered <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Post(s.URL(), "application/json", strings.NewReader(`{"event":"publish_done"}`))
		if err != nil {
			done <- result{0, err}
			return
		}
		resp.Body.Close()
		done <- result{resp.StatusCode, nil}
	}()
	<-entered // the request is in flight, held by --delay
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	r := <-done
	if r.err != nil || r.status != 200 {
		t.Fatalf("in-flight request: status %d, err %v", r.status, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v after Shutdown", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if recs := records(t, path); len(recs) != 1 || recs[0].Body != `{"event":"publish_done"}` {
		t.Errorf("records %+v", recs)
	}
	// No new connections once shut down.
	if _, err := http.Post(s.URL(), "application/json", strings.NewReader("{}")); err == nil {
		t.Error("the listener still accepts connections after Shutdown")
	}
}

func TestBindErrorWhenPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Listen(Options{Addr: ln.Addr().String()})
	var be *BindError
	if !errors.As(err, &be) {
		t.Fatalf("error %v, want *BindError", err)
	}
	if !be.InUse() || !strings.Contains(err.Error(), "another program uses this port") {
		t.Errorf("message %q does not say why", err)
	}
}

func TestBadForwardURL(t *testing.T) {
	if _, err := Listen(Options{Addr: "127.0.0.1:0", ForwardTo: "localhost:3000"}); err == nil {
		t.Error("a forward URL without scheme was accepted")
	}
}

func TestSlowHeadersAreCutOff(t *testing.T) {
	s, path := start(t, Options{ReadHeaderTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\n") // and never finish the headers
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the listener kept a client that never sent its headers")
	}
	if recs := records(t, path); len(recs) != 0 {
		t.Errorf("a request without headers was captured: %+v", recs)
	}
}

// TestExpectContinue: a sender that waits for 100 Continue before its body
// (curl does for large bodies) gets it, and the callback is captured.
func TestExpectContinue(t *testing.T) {
	s, path := start(t, Options{})
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	const body = `{"event":"publish_done"}`
	fmt.Fprintf(conn, "POST /cb HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", len(body))
	br := bufio.NewReader(conn)
	interim, err := http.ReadResponse(br, nil)
	if err != nil || interim.StatusCode != http.StatusContinue {
		t.Fatalf("before the body: %v, %v; want 100 Continue", interim, err)
	}
	io.WriteString(conn, body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the body: %v, %v", resp, err)
	}
	if recs := records(t, path); len(recs) != 1 || recs[0].Body != body || recs[0].Header.Get("Expect") != "100-continue" {
		t.Errorf("records %+v", recs)
	}
}

// TestBareLFHeadersTimeOut pins a documented limit of fasthttp's parser
// (README, listen): header lines ending in a bare LF never end the header
// block, so the request waits for the header timeout, gets 408 and is not
// captured (net/http accepted them; no HTTP client sends them).
func TestBareLFHeadersTimeOut(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s, path := start(t, Options{ReadHeaderTimeout: timeout})
	begin := time.Now()
	resp, _ := rawExchange(t, s.Addr().String(), "POST /cb HTTP/1.1\nHost: a\nContent-Length: 2\n\n{}")
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(begin) < timeout {
		t.Errorf("bare-LF request: status %d after %v, want 408 after %v", resp.StatusCode, time.Since(begin), timeout)
	}
	if recs := records(t, path); len(recs) != 0 {
		t.Errorf("%d records, want none", len(recs))
	}
}

// TestIdleConnectionsAreClosed: a kept-alive connection with no request for
// IdleTimeout is closed; one that keeps sending is not, however long it
// lives.
func TestIdleConnectionsAreClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	s, _ := start(t, Options{IdleTimeout: idle, ReadHeaderTimeout: time.Second, ReadTimeout: time.Second})
	request := "POST /cb HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{\"event\":\"publish_done\"}"
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	// Busy for 3x the idle timeout: one request every idle/3.
	for i := 0; i < 10; i++ {
		if i > 0 {
			time.Sleep(idle / 3)
		}
		io.WriteString(conn, request)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("a busy connection was cut at request %d: %v", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Then idle: the listener hangs up within a tick of the timeout.
	begin := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read %v, want EOF", err)
	}
	if d := time.Since(begin); d < idle/2 || d > 3*idle { // (generous: the machine may be loaded)
		t.Errorf("idle connection closed after %v, want about %v", d, idle)
	}
}

// TestHandlingTimeIsNotReadTime: a request held longer than every timeout
// (by Delay) is answered, and its connection serves the next one.
func TestHandlingTimeIsNotReadTime(t *testing.T) {
	const timeout = 150 * time.Millisecond
	s, _ := start(t, Options{Delay: 3 * timeout, ReadHeaderTimeout: timeout, ReadTimeout: timeout, IdleTimeout: timeout})
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < 2; i++ {
		resp, err := client.Post(s.URL(), "application/json", strings.NewReader(`{"event":"publish_done"}`))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("request %d: status %d", i, resp.StatusCode)
		}
	}
}

func TestParseExpectation(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{"record_done", "record_done=1", false},
		{"record_done=3", "record_done=3", false},
		{"snapshot=0", "snapshot=0", false},
		{"record-done=2", "record_done=2", false},
		{"recrd_done", "", true},
		{"record_done=x", "", true},
		{"record_done=-1", "", true},
	} {
		e, err := ParseExpectation(tc.in)
		if (err != nil) != tc.err || (err == nil && e.String() != tc.want) {
			t.Errorf("ParseExpectation(%q) = %v, %v; want %s (error %v)", tc.in, e, err, tc.want, tc.err)
		}
	}
}

func TestGoal(t *testing.T) {
	st := Stats{Callbacks: 3, Invalid: 1, Kinds: map[event.Kind]int{event.RecordDone: 2, event.Snapshot: 1}}
	for _, tc := range []struct {
		name     string
		goal     Goal
		reached  bool
		failures string
	}{
		{"nothing", Goal{}, false, ""},
		{"count met", Goal{Count: 3}, true, ""},
		{"count missed", Goal{Count: 4}, false, "expected 4 callbacks, 3 arrived"},
		{"expect met", Goal{Expect: []Expectation{{event.RecordDone, 2}}}, true, ""},
		{"expect missed", Goal{Expect: []Expectation{{event.RecordDone, 2}, {event.Quality, 1}}}, false, "expected at least 1 quality, 0 arrived"},
		{"count rules stopping", Goal{Count: 5, Expect: []Expectation{{event.Snapshot, 1}}}, false, "expected 5 callbacks, 3 arrived"},
		{"fail on invalid", Goal{FailOnInvalid: true}, false, "1 invalid callback(s) arrived, and invalid callbacks fail the run"},
	} {
		if got := tc.goal.Reached(st); got != tc.reached {
			t.Errorf("%s: Reached = %v", tc.name, got)
		}
		if got := strings.Join(tc.goal.Failures(st), "; "); got != tc.failures {
			t.Errorf("%s: Failures = %q, want %q", tc.name, got, tc.failures)
		}
	}
}

// TestShutdownWithoutServeFreesThePort: a listener shut down before it
// served (livecb listen failing to write --ready-file) releases its port.
func TestShutdownWithoutServeFreesThePort(t *testing.T) {
	s, err := Listen(Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, err := Listen(Options{Addr: addr})
	if err != nil {
		t.Fatalf("the port is still taken after Shutdown: %v", err)
	}
	again.Shutdown(context.Background())
}

// A listener on every address (--host 0.0.0.0) says a URL a client can
// open, and that URL reaches it.
func TestWildcardAddressGivesAUsableURL(t *testing.T) {
	s, err := Listen(Options{Addr: "0.0.0.0:0"})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Shutdown(context.Background())
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL())
	}
	resp, _ := post(t, s.URL()+"/cb", "application/json", sample(t, event.Snapshot))
	if resp.StatusCode != 200 {
		t.Errorf("POST to %s: %d", s.URL(), resp.StatusCode)
	}
}
