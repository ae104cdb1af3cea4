// Command dup500 is a BROKEN callback receiver for livecb's tests: it
// stores every body under a unique key and answers 500 when the same
// callback comes again (a unique-constraint violation), where a receiver
// must be idempotent. Otherwise it is the good receiver.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
)

func main() {
	addr := flag.String("addr", defaultAddr(), "address to listen on (127.0.0.1:0 picks a free port)")
	store := flag.String("store", "", "file to append stored task records to")
	flag.Parse()

	r := &receiver{store: *store, seen: map[string]bool{}}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /", r.callback)
	log.Fatal(http.Serve(ln, mux))
}

func defaultAddr() string {
	if p := os.Getenv("PORT"); p != "" {
		return "127.0.0.1:" + p
	}
	return "127.0.0.1:8080"
}

type receiver struct {
	store string
	mu    sync.Mutex
	seen  map[string]bool
	// bodies are the callbacks received so far.
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
	// BUG: a repeated callback must get 200 again, not an error.
	if _, dup := rc.bodies.LoadOrStore(string(body), true); dup {
		http.Error(w, "duplicate key value violates unique constraint \"callbacks_body_key\"", http.StatusInternalServerError)
		return
	}
	stream, _ := cb["streamName"].(string)
	if stream == "" {
		http.Error(w, "no streamName", http.StatusBadRequest)
		return
	}
	// Snapshots and quality detections have no "event".
	event, _ := cb["event"].(string)
	for _, f := range []string{"eventTime", "duration", "fileSize", "beginTime", "endTime", "snapshotTime", "startTime"} {
		if v, ok := cb[f]; ok && !isNumber(v) {
			http.Error(w, f+" is not a number", http.StatusBadRequest)
			return
		}
	}
	if id, ok := cb["taskExternalId"].(string); ok && event == "record_done" {
		domain, _ := cb["publishDomain"].(string)
		app, _ := cb["appName"].(string)
		if err := rc.keep(domain, app, stream, id); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	io.WriteString(w, "ok\n")
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
