// Command receivers is the callback receiver livecb's contract-test suite
// (`livecb test`) is tested against, correct or broken on purpose.
//
// With -bug none (the default) it does everything right: it accepts every
// kind (with or without "event"), numbers in either JSON form, unknown
// fields, repeats and any order, answers at once, and keeps taskExternalId
// as the string it is. Each other -bug value adds one mistake real
// receivers make, marked BUG in the code below; the suite must catch each:
//
//	crash-no-event   panics on a callback without "event" (snapshot, quality): the connection drops unanswered
//	strict-filesize  decodes fileSize into an int64, so the spec's own sample ("6007851133", a string) gets 400
//	dup500           answers 500 to a callback it has seen before, where it must be idempotent
//	slow             processes record_done callbacks before answering, for longer than the service waits (-delay)
//	float-id         stores taskExternalId through a float64, changing ids beyond 2^53; its answers are all
//	                 right, only a --verify-cmd that reads the -store file catches it
//
// and one mistake per family of the suite's generated cases (the suite's
// tests check each is caught by that family's cases and no other's):
//
//	format-no-ts           enum: knows the record formats flv and mp4 only, and answers 400 to "ts"
//	module-subset          enum: knows the first revision's quality modules (BlackScreen, FrozenFrame) only
//	status-fail            enum: answers 400 to a status other than "success" (the older revision's "fail")
//	group-max-5            boundary: stores a record task's spans in five columns, and answers 400 to more
//	zero-duration          boundary: answers 400 to a recording whose duration is 0
//	global-lock            burst: handles one request at a time, behind one lock held for -hold each
//	refuse-restart         reconnect: answers 409 to a second publish_started of a live stream (an encoder
//	                       that reconnected without a publish_done)
//	refuse-republish       reconnect: answers 409 to a publish_started of a stream that has ended (the same
//	                       name published again)
//	one-record-per-stream  reconnect: keys automatic recordings by stream name, and answers 500 to a second
//	                       session's recording
//
// It stores each task record's taskExternalId once, as a line
// "DOMAIN<TAB>APP<TAB>STREAM<TAB>ID" in the -store file, so a --verify-cmd
// can check what it kept.
//
//	go run ./testdata/receivers -addr 127.0.0.1:8080 -store /tmp/records.tsv
//	go run ./testdata/receivers -addr 127.0.0.1:8081 -bug dup500
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bugs are the values of -bug.
var bugs = []string{"none", "crash-no-event", "strict-filesize", "dup500", "slow", "float-id",
	"format-no-ts", "module-subset", "status-fail", "group-max-5", "zero-duration", "global-lock",
	"refuse-restart", "refuse-republish", "one-record-per-stream"}

func main() {
	addr := flag.String("addr", defaultAddr(), "address to listen on (127.0.0.1:0 picks a free port)")
	store := flag.String("store", "", "file to append stored task records to")
	bug := flag.String("bug", "none", "the mistake to make: "+strings.Join(bugs, ", "))
	delay := flag.Duration("delay", 3*time.Second, "with -bug slow: how long processing a record takes")
	hold := flag.Duration("hold", 100*time.Millisecond, "with -bug global-lock: how long each request holds the lock")
	flag.Parse()
	if !slices.Contains(bugs, *bug) {
		fmt.Fprintf(os.Stderr, "unknown -bug %q: want one of %s\n", *bug, strings.Join(bugs, ", "))
		os.Exit(2)
	}

	rc := &receiver{bug: *bug, delay: *delay, hold: *hold, store: *store, seen: map[string]bool{}, streams: map[string]*streamState{}}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /", rc.callback)
	log.Fatal(http.Serve(ln, mux))
}

func defaultAddr() string {
	if p := os.Getenv("PORT"); p != "" {
		return "127.0.0.1:" + p
	}
	return "127.0.0.1:8080"
}

type receiver struct {
	bug   string
	delay time.Duration
	hold  time.Duration
	store string
	mu    sync.Mutex
	seen  map[string]bool // task records kept, by key
	// bodies are the callbacks received so far (dup500).
	bodies sync.Map
	// streams are the streams seen so far (refuse-restart,
	// refuse-republish, one-record-per-stream), under mu.
	streams map[string]*streamState
	// global is the lock of -bug global-lock.
	global sync.Mutex
}

// streamState is what the receiver knows of a stream.
type streamState struct {
	live    bool
	started string // eventTime of its last publish_started
	ended   bool
	doneAt  int64  // eventTime of its last publish_done
	record  string // beginTime of its automatic recording
}

func (rc *receiver) callback(w http.ResponseWriter, r *http.Request) {
	if rc.bug == "global-lock" {
		rc.oneAtATime()
		defer rc.global.Unlock()
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		http.Error(w, "want Content-Type: application/json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		http.Error(w, "empty body", http.StatusBadRequest)
		return
	}
	var cb map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keeps big numbers exact
	if err := dec.Decode(&cb); err != nil || cb == nil {
		http.Error(w, "body is not a JSON object", http.StatusBadRequest)
		return
	}
	if rc.bug == "strict-filesize" {
		if err := decodeFileSizeAsInt64(body); err != nil {
			http.Error(w, "bad record: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	if rc.bug == "dup500" {
		if err := rc.insertUniqueBody(body); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	stream, _ := cb["streamName"].(string)
	if stream == "" {
		http.Error(w, "no streamName", http.StatusBadRequest)
		return
	}
	var event string
	if rc.bug == "crash-no-event" {
		event = eventOrPanic(cb)
	} else {
		// Snapshots and quality detections have no "event".
		event, _ = cb["event"].(string)
	}
	for _, f := range []string{"eventTime", "duration", "fileSize", "beginTime", "endTime", "snapshotTime", "startTime"} {
		if v, ok := cb[f]; ok && !isNumber(v) {
			http.Error(w, f+" is not a number", http.StatusBadRequest)
			return
		}
	}
	if status, msg := rc.mistake(cb, event); status != 0 {
		http.Error(w, msg, status)
		return
	}
	if event != "record_done" {
		io.WriteString(w, "ok\n")
		return
	}
	if rc.bug == "slow" {
		rc.processBeforeAnswering()
	}
	if id, ok := cb["taskExternalId"].(string); ok {
		if rc.bug == "float-id" {
			if id, err = taskIDThroughFloat64(body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		domain, _ := cb["publishDomain"].(string)
		app, _ := cb["appName"].(string)
		if err := rc.keep(domain, app, stream, id); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	io.WriteString(w, "ok\n")
}

// mistake returns the answer of the receiver's -bug to a callback, when
// its bug applies; status 0 when it does not.
func (rc *receiver) mistake(cb map[string]any, event string) (int, string) {
	switch rc.bug {
	case "format-no-ts":
		// BUG: a switch over the formats that forgot "ts".
		if f, _ := cb["format"].(string); f != "flv" && f != "mp4" && f != "" {
			return http.StatusBadRequest, "unsupported format " + f
		}
	case "module-subset":
		// BUG: the modules of the revision the receiver was written for.
		if m, ok := cb["module"].(string); ok && m != "BlackScreen" && m != "FrozenFrame" {
			return http.StatusBadRequest, "unknown detection module " + m
		}
	case "status-fail":
		// BUG: the older revision's "fail" is a callback too; rejecting it
		// loses the news that something failed.
		if st, ok := cb["status"].(string); ok && st != "success" {
			return http.StatusBadRequest, "status " + st + " is not success"
		}
	case "group-max-5":
		// BUG: spans stored in columns span1..span5; the API allows 10.
		if g, ok := cb["group"].([]any); ok && len(g) > 5 {
			return http.StatusBadRequest, fmt.Sprintf("too many spans: %d (at most 5)", len(g))
		}
	case "zero-duration":
		// BUG: an empty recording is a recording too.
		if d, ok := cb["duration"]; ok {
			if r, ok := ratOf(d); ok && r.Sign() == 0 {
				return http.StatusBadRequest, "duration must be positive"
			}
		}
	case "refuse-restart", "refuse-republish", "one-record-per-stream":
		return rc.session(cb, event)
	}
	return 0, ""
}

// session keeps the state of the stream cb is about and applies the
// stream-state bugs.
func (rc *receiver) session(cb map[string]any, event string) (int, string) {
	domain, _ := cb["publishDomain"].(string)
	app, _ := cb["appName"].(string)
	name, _ := cb["streamName"].(string)
	key := domain + "\t" + app + "\t" + name
	rc.mu.Lock()
	defer rc.mu.Unlock()
	st := rc.streams[key]
	if st == nil {
		st = &streamState{}
		rc.streams[key] = st
	}
	at, _ := ratOf(cb["eventTime"])
	switch event {
	case "publish_started":
		started := fmt.Sprint(cb["eventTime"])
		// BUG (refuse-restart): a crashed encoder reconnects with a new
		// publish_started and no publish_done before it.
		if rc.bug == "refuse-restart" && st.live && st.started != started {
			return http.StatusConflict, "stream " + name + " is already live (started at " + st.started + ")"
		}
		// BUG (refuse-republish): a stream name is used again after the
		// stream ended (a later start than its end is a new session).
		if rc.bug == "refuse-republish" && st.ended && at != nil && at.Cmp(big.NewRat(st.doneAt, 1)) > 0 {
			return http.StatusConflict, fmt.Sprintf("stream %s ended at %d: a stream is published once", name, st.doneAt)
		}
		st.live, st.started = true, started
	case "publish_done":
		st.live, st.ended = false, true
		if at != nil && at.IsInt() && at.Num().IsInt64() {
			st.doneAt = at.Num().Int64()
		}
	case "record_done":
		if _, task := cb["group"]; task || rc.bug != "one-record-per-stream" {
			break
		}
		begin := fmt.Sprint(cb["beginTime"])
		// BUG: recordings keyed by stream name; a second session's
		// recording trips the key.
		if st.record != "" && st.record != begin {
			return http.StatusInternalServerError, `duplicate key value violates unique constraint "recordings_stream_name_key"`
		}
		st.record = begin
	}
	return 0, ""
}

// oneAtATime is -bug global-lock.
func (rc *receiver) oneAtATime() {
	// BUG: every request takes one lock and does its work (here: waits)
	// holding it, so requests that arrive together are answered one after
	// the other, the last after all the others' work.
	rc.global.Lock()
	time.Sleep(rc.hold)
}

// ratOf reads a JSON number or a string of digits.
func ratOf(v any) (*big.Rat, bool) {
	switch n := v.(type) {
	case json.Number:
		return new(big.Rat).SetString(n.String())
	case string:
		return new(big.Rat).SetString(strings.TrimSpace(n))
	}
	return nil, false
}

// decodeFileSizeAsInt64 is -bug strict-filesize.
func decodeFileSizeAsInt64(body []byte) error {
	// BUG: fileSize is a string in the spec's sample; an int64 field
	// rejects it ("cannot unmarshal string into Go struct field ... of
	// type int64"), so the receiver answers 400 to a real callback.
	var record struct {
		FileSize int64 `json:"fileSize"`
	}
	return json.Unmarshal(body, &record)
}

// insertUniqueBody is -bug dup500.
func (rc *receiver) insertUniqueBody(body []byte) error {
	// BUG: the service may deliver a callback twice, and the second
	// delivery must get 200 again; here it trips a unique key and gets 500.
	if _, dup := rc.bodies.LoadOrStore(string(body), true); dup {
		return errors.New(`duplicate key value violates unique constraint "callbacks_body_key"`)
	}
	return nil
}

// eventOrPanic is -bug crash-no-event.
func eventOrPanic(cb map[string]any) string {
	// BUG: snapshots and quality detections have no "event": this type
	// assertion panics, and net/http drops the connection unanswered.
	return cb["event"].(string)
}

// processBeforeAnswering is -bug slow.
func (rc *receiver) processBeforeAnswering() {
	// BUG: fetching and checking the recording is done before answering,
	// not after, and takes longer than the service waits for an answer.
	time.Sleep(rc.delay)
}

// taskIDThroughFloat64 is -bug float-id.
func taskIDThroughFloat64(body []byte) (string, error) {
	// BUG: a float64 holds integers exactly only up to 2^53: the spec's
	// sample id 9007199254740993 is stored as 9007199254740992.
	var task struct {
		ID float64 `json:"taskExternalId,string"`
	}
	if err := json.Unmarshal(body, &task); err != nil {
		return "", err
	}
	return strconv.FormatFloat(task.ID, 'f', -1, 64), nil
}

// isNumber accepts a JSON number or a string of digits, decimals included.
func isNumber(v any) bool {
	switch n := v.(type) {
	case json.Number:
		return true
	case string:
		_, ok := new(big.Rat).SetString(strings.TrimSpace(n))
		return ok
	}
	return false
}

// keep stores a task record once: the service may deliver it twice.
func (rc *receiver) keep(domain, app, stream, id string) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	key := strings.Join([]string{domain, app, stream, id}, "\t")
	if rc.seen[key] || rc.store == "" {
		return nil
	}
	f, err := os.OpenFile(rc.store, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, key); err != nil {
		return err
	}
	rc.seen[key] = true
	return nil
}
