// Package capture defines livecb's capture log: one JSON object per line, one
// line per HTTP request a listener received, written whole before the
// request is answered. `livecb listen --save` writes it; `livecb validate`
// and `livecb replay` read it.
package capture

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/livecb/livecb/internal/event"
)

// Format is the value of every record's "format" field. A reader refuses
// records of another format.
const Format = "livecb.capture.v1"

// Record is one received request.
type Record struct {
	Format string    `json:"format"`
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"` // arrival, RFC 3339 with nanoseconds
	Remote string    `json:"remote"`
	Method string    `json:"method"`
	Target string    `json:"target"` // path and query as received
	// Host is the Host header (Go keeps it out of Header).
	Host   string      `json:"host,omitempty"`
	Header http.Header `json:"header"`
	// HeaderRaw holds, base64-encoded, every value of the headers that has
	// a value which is not valid UTF-8 (HTTP allows such bytes; a JSON string
	// cannot hold them, so Header shows them with U+FFFD). ExactHeader
	// puts them back.
	HeaderRaw map[string][]string `json:"header_raw,omitempty"`
	// Body holds the body as text when it is valid UTF-8; else it is base64
	// and Encoding says so. Use Bytes to get the exact bytes back.
	Body     string `json:"body"`
	Encoding string `json:"encoding,omitempty"` // "" (text) or "base64"
	Size     int64  `json:"size"`               // bytes received
	// Truncated is set when the body was longer than the listener's limit;
	// Body then holds its first bytes.
	Truncated bool `json:"truncated,omitempty"`
	// Redacted is set when secrets were masked (listen --redact): the
	// header, target and body are then not exactly what arrived.
	Redacted bool           `json:"redacted,omitempty"`
	Kind     event.Kind     `json:"kind,omitempty"`
	Findings event.Findings `json:"findings,omitempty"`
	Answer   Answer         `json:"answer"`
}

// Answer is what the listener answered.
type Answer struct {
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"`
	// Forwarded is set when the answer came from --forward-to.
	Forwarded *Forward `json:"forwarded,omitempty"`
}

// Forward describes a request passed on to a real receiver.
type Forward struct {
	URL       string  `json:"url"`
	Status    int     `json:"status,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// SetBody stores b exactly: as text when it is valid UTF-8, else as base64.
func (r *Record) SetBody(b []byte) {
	if utf8.Valid(b) {
		r.Body, r.Encoding = string(b), ""
	} else {
		r.Body, r.Encoding = base64.StdEncoding.EncodeToString(b), "base64"
	}
}

// Bytes returns the body exactly as received.
func (r *Record) Bytes() ([]byte, error) {
	switch r.Encoding {
	case "":
		return []byte(r.Body), nil
	case "base64":
		return base64.StdEncoding.DecodeString(r.Body)
	}
	return nil, fmt.Errorf("unknown body encoding %q (want \"\" or \"base64\")", r.Encoding)
}

// IsRecord reports whether line is a capture record (by its format field),
// without decoding all of it.
func IsRecord(line []byte) bool {
	var probe struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(line, &probe) == nil && probe.Format == Format
}

// Parse decodes one line of a capture log.
func Parse(line []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, fmt.Errorf("not a capture record: %v", err)
	}
	if r.Format != Format {
		return nil, fmt.Errorf("capture format %q, want %q", r.Format, Format)
	}
	if _, err := r.Bytes(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Writer appends records to a file. Each record is written with a single
// write(2) of one whole line, so a crash leaves at most the last line cut.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	seq  uint64
	sync bool
}

// Create opens path for appending, creating it if needed. With syncEach,
// every record is fsynced before Write returns (durable across power loss,
// slower); without, records survive a crash of livecb but not of the machine.
func Create(path string, syncEach bool) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f, sync: syncEach}, nil
}

// Write assigns the record its sequence number and format and appends it.
func (w *Writer) Write(r *Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	r.Seq = w.seq
	r.Format = Format
	enc, err := Encode(r, nil)
	if err != nil {
		return err
	}
	if _, err := w.f.Write(AppendLine(nil, r.Seq, enc)); err != nil {
		return err
	}
	if w.sync {
		return w.f.Sync()
	}
	return nil
}

// WriteLines appends whole lines (records made by AppendLine) with a single
// write(2), then fsyncs once when the Writer syncs each record: a writer
// serving many requests at once commits them as a group. It returns how
// many bytes reached the file: on an error, the lines that ended within
// them were written whole. The caller numbers the records; Write's own
// numbering is not used.
func (w *Writer) WriteLines(lines []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.f.Write(lines)
	if err != nil {
		return n, err
	}
	if w.sync {
		if err := w.f.Sync(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Encoded is a record encoded without its sequence number, so that the
// (costly) encoding can run before the record's place in the log is known.
// AppendLine makes it a line once the number is.
type Encoded []byte

// linePrefix is how every record's line starts.
const (
	linePrefix = `{"format":"` + Format + `","seq":`
)

// Encode encodes r (its Format set, its Seq ignored) for AppendLine,
// appending to buf[:0] (nil allocates). It does not change r.
func Encode(r *Record, buf []byte) (Encoded, error) {
	b, err := appendRecord(buf[:0], r)
	if err != nil {
		return nil, err
	}
	return Encoded(b), nil
}

// AppendLine appends the line of record number seq, encoded by Encode, to
// dst: the same bytes as Write would write for it.
func AppendLine(dst []byte, seq uint64, e Encoded) []byte {
	dst = append(dst, linePrefix...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, e...)
	return append(dst, '\n')
}

// Close flushes the file to disk and closes it.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

// SetHeader stores h itself, not a copy (the record owns it from then on),
// keeping the exact bytes of values that are not valid UTF-8 in HeaderRaw.
func (r *Record) SetHeader(h http.Header) {
	r.Header = h
	r.HeaderRaw = nil
	for name, vs := range h {
		exact := true
		for _, v := range vs {
			exact = exact && utf8.ValidString(v)
		}
		if exact {
			continue
		}
		if r.HeaderRaw == nil {
			r.HeaderRaw = map[string][]string{}
		}
		enc := make([]string, len(vs))
		for i, v := range vs {
			enc[i] = base64.StdEncoding.EncodeToString([]byte(v))
		}
		r.HeaderRaw[name] = enc
	}
}

// ExactHeader returns the headers exactly as received.
func (r *Record) ExactHeader() (http.Header, error) {
	h := r.Header.Clone()
	for name, vs := range r.HeaderRaw {
		dec := make([]string, len(vs))
		for i, v := range vs {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, fmt.Errorf("header_raw %q: %v", name, err)
			}
			dec[i] = string(b)
		}
		h[name] = dec
	}
	return h, nil
}
