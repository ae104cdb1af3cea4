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
var bugs = []string{"none", "crash-no-event", "strict-filesize", "dup500", "slow", "float-id"}

func main() {
	addr := flag.String("addr", defaultAddr(), "address to listen on (127.0.0.1:0 picks a free port)")
	store := flag.String("store", "", "file to append stored task records to")
	bug := flag.String("bug", "none", "the mistake to make: "+strings.Join(bugs, ", "))
	delay := flag.Duration("delay", 3*time.Second, "with -bug slow: how long processing a record takes")
	flag.Parse()
	if !slices.Contains(bugs, *bug) {
		fmt.Fprintf(os.Stderr, "unknown -bug %q: want one of %s\n", *bug, strings.Join(bugs, ", "))
		os.Exit(2)
	}

	rc := &receiver{bug: *bug, delay: *delay, store: *store, seen: map[string]bool{}}
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
	store string
	mu    sync.Mutex
	seen  map[string]bool // task records kept, by key
	// bodies are the callbacks received so far (dup500).
	bodies sync.Map
}

func (rc *receiver) callback(w http.ResponseWriter, r *http.Request) {
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
