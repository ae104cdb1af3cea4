// Package capture defines livecb's capture log: one JSON object per line, one
// line per HTTP request a listener received, written whole before the
// request is answered. `livecb listen --save` writes it; `livecb validate`
// and `livecb replay` read it.
package capture

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/jsonx"
)

// Format is the value of the "format" field of every record written. A
// reader refuses records of formats it does not know.
const Format = "livecb.capture.v2"

// FormatV1 is the format before v2 held a body that is a JSON object as one
// (with "body_tail") and put "size" before "body": its records are read as
// ever.
const FormatV1 = "livecb.capture.v1"

// KnownFormat reports whether a reader reads records of format f.
func KnownFormat(f string) bool { return f == Format || f == FormatV1 }

// CutFormat cuts the start every writer gives a record's line, its format
// field of a known format ({"format":"livecb.capture.v2"), off line: what
// follows, and whether it was there. A reader that sees only a line's
// start (a sniff, a seek) recognises a record so.
func CutFormat(line []byte) (rest []byte, ok bool) {
	rest, ok = bytes.CutPrefix(line, []byte(`{"format":"`))
	if !ok {
		return line, false
	}
	for _, f := range []string{Format, FormatV1} {
		if r, ok := bytes.CutPrefix(rest, []byte(f+`"`)); ok {
			return r, true
		}
	}
	return line, false
}

// Record is one received request.
type Record struct {
	Format string    `json:"format"`
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"` // arrival, RFC 3339 with nanoseconds
	Remote string    `json:"remote"`
	Method string    `json:"method"`
	Target string    `json:"target"` // path and query as received
	// TargetRaw is the target's exact bytes, base64-encoded, when they are
	// not valid UTF-8 (Target then shows them with U+FFFD). ExactTarget
	// gives the bytes either way.
	TargetRaw string `json:"target_raw,omitempty"`
	// Host is the Host header (Go keeps it out of Header).
	Host string `json:"host,omitempty"`
	// HostRaw is to Host what TargetRaw is to Target (ExactHost).
	HostRaw string      `json:"host_raw,omitempty"`
	Header  http.Header `json:"header"`
	// HeaderRaw holds, base64-encoded, every value of the headers that has
	// a value which is not valid UTF-8 (HTTP allows such bytes; a JSON string
	// cannot hold them, so Header shows them with U+FFFD). ExactHeader
	// puts them back.
	HeaderRaw map[string][]string `json:"header_raw,omitempty"`
	// Trailer holds the trailer fields of a chunked body, and TrailerRaw
	// their exact bytes as HeaderRaw does for Header (ExactTrailer).
	Trailer    http.Header         `json:"trailer,omitempty"`
	TrailerRaw map[string][]string `json:"trailer_raw,omitempty"`
	// Size is the number of bytes received; a reader of a line finds the
	// end of a body held as a JSON object by it (it comes first).
	Size int64 `json:"size"`
	// Body holds the body as text when it is valid UTF-8; else it is base64
	// and Encoding says so. Use Bytes to get the exact bytes back.
	Body string `json:"body"`
	// BodyJSON is set when Body is one JSON object (as event.Decode reads
	// it), perhaps followed by white space: a capture line then holds the
	// object as JSON rather than as a string (see jsonBody). Whoever sets
	// it vouches for it; a record read from such a line has it set.
	BodyJSON bool   `json:"-"`
	Encoding string `json:"encoding,omitempty"` // "" (text) or "base64"
	// Truncated is set when the body was longer than the listener's limit;
	// Body then holds its first bytes.
	Truncated bool `json:"truncated,omitempty"`
	// Redacted is set when secrets were masked (listen --redact): the
	// header, target and body are then not exactly what arrived.
	Redacted bool       `json:"redacted,omitempty"`
	Kind     event.Kind `json:"kind,omitempty"`
	// KindSeal binds Kind to Body (event.Seal; 0: none): a replay takes
	// Kind as it is while the seal holds (SealedKind). Set by SealKind.
	KindSeal uint32         `json:"kind_seal,omitempty"`
	Findings event.Findings `json:"findings,omitempty"`
	Answer   Answer         `json:"answer"`
}

// SealKind seals the record's kind to its body (KindSeal), or unseals it
// when there is nothing to seal: no kind, or a body that is not what
// arrived (cut short, or with secrets masked, which are not what was
// classified) or not held as text.
func (r *Record) SealKind() {
	r.KindSeal = 0
	if r.sealable() {
		r.KindSeal = event.Seal(r.Kind, r.Body)
	}
}

// SealedKind is the record's kind when its seal holds: Classify would find
// that kind in the body the record holds.
func (r *Record) SealedKind() (event.Kind, bool) {
	if r.KindSeal == 0 || !r.sealable() || event.Seal(r.Kind, r.Body) != r.KindSeal {
		return "", false
	}
	return r.Kind, true
}

// sealable says whether the record has a kind to seal to its body.
func (r *Record) sealable() bool {
	return r.Kind != "" && !r.Truncated && !r.Redacted && r.Encoding == ""
}

// jsonBody is Body split into the JSON object a capture line holds as it
// is, and the white space after it (held as the string "body_tail"), when
// the line can hold it so: BodyJSON, held as the text received, and an
// object with no control or other character jsonx escapes (a line break
// would split the line; the others must not reach a capture raw, as a
// string's never do). Anything else is held as a string.
func (r *Record) jsonBody() (obj, tail string, ok bool) {
	if !r.BodyJSON || r.Encoding != "" || r.Truncated || r.Redacted {
		return "", "", false
	}
	end := len(r.Body)
	for end > 0 && jsonx.IsSpace(r.Body[end-1]) {
		end--
	}
	if end == 0 || r.Body[0] != '{' || r.Body[end-1] != '}' || !jsonx.RawSafe(r.Body[:end]) {
		return "", "", false
	}
	return r.Body[:end], r.Body[end:], true
}

// UnmarshalJSON decodes a record as encoding/json decodes its fields, with
// the body held either way: a string (its text, or base64), or a JSON
// object followed by the string "body_tail" if there is one (BodyJSON).
func (r *Record) UnmarshalJSON(b []byte) error {
	type fields Record // (Record's fields, without this method)
	var w struct {
		*fields
		Body     json.RawMessage `json:"body"`
		BodyTail *string         `json:"body_tail"`
	}
	w.fields = (*fields)(r)
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	r.BodyJSON = false
	switch {
	case len(w.Body) == 0 || string(w.Body) == "null":
		// (left as it is, as a string field is by a null)
	case w.Body[0] == '{':
		r.Body, r.BodyJSON = string(w.Body), true
	default:
		if err := json.Unmarshal(w.Body, &r.Body); err != nil {
			return fmt.Errorf("body: a string or a JSON object: %w", err)
		}
	}
	if w.BodyTail != nil {
		if !r.BodyJSON {
			return errors.New(`"body_tail" follows a body held as a JSON object, and this one is not`)
		}
		r.Body += *w.BodyTail
	}
	if r.BodyJSON && r.Encoding != "" {
		return fmt.Errorf("a body held as a JSON object has no encoding (%q)", r.Encoding)
	}
	return nil
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
func (r *Record) SetBody(b []byte) { r.SetBodyString(string(b)) }

// SetBodyString is SetBody of a body held in a string, kept as it is
// (no copy) when it is UTF-8.
func (r *Record) SetBodyString(s string) {
	if utf8.ValidString(s) {
		r.Body, r.Encoding = s, ""
	} else {
		r.Body, r.Encoding = base64.StdEncoding.EncodeToString([]byte(s)), "base64"
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

// BytesShared is Bytes without a copy of a UTF-8 body: the string's own
// memory, which the caller must never write.
func (r *Record) BytesShared() ([]byte, error) {
	if r.Encoding == "" {
		return unsafe.Slice(unsafe.StringData(r.Body), len(r.Body)), nil
	}
	return r.Bytes()
}

// IsRecord reports whether line is a capture record (by its format field),
// without decoding all of it.
func IsRecord(line []byte) bool {
	var probe struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(line, &probe) == nil && KnownFormat(probe.Format)
}

// Parse decodes one line of a capture log.
func Parse(line []byte) (*Record, error) {
	r, ok := decodeRecord(line) // (decode.go: the lines the encoder writes, fast)
	if !ok {
		r = &Record{}
		if err := json.Unmarshal(line, r); err != nil {
			return nil, fmt.Errorf("not a capture record: %v", err)
		}
	}
	if !KnownFormat(r.Format) {
		return nil, fmt.Errorf("capture format %q, want %q (or the older %q)", r.Format, Format, FormatV1)
	}
	// The encoded forms must decode (a text body, and fields without a
	// raw form, have nothing to check: not copied for nothing).
	if r.Encoding != "" {
		if _, err := r.Bytes(); err != nil {
			return nil, err
		}
	}
	if _, err := r.ExactTarget(); err != nil {
		return nil, err
	}
	if _, err := r.ExactHost(); err != nil {
		return nil, err
	}
	if len(r.HeaderRaw) > 0 {
		if _, err := r.ExactHeader(); err != nil {
			return nil, err
		}
	}
	if len(r.TrailerRaw) > 0 {
		if _, err := r.ExactTrailer(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// SetTarget stores the request-target, keeping its exact bytes in
// TargetRaw when they are not valid UTF-8.
func (r *Record) SetTarget(target string) { r.Target, r.TargetRaw = target, rawOf(target) }

// SetHost stores the Host header as SetTarget stores the target.
func (r *Record) SetHost(host string) { r.Host, r.HostRaw = host, rawOf(host) }

// ExactTarget returns the request-target exactly as received.
func (r *Record) ExactTarget() (string, error) { return exact("target_raw", r.Target, r.TargetRaw) }

// ExactHost returns the Host header exactly as received.
func (r *Record) ExactHost() (string, error) { return exact("host_raw", r.Host, r.HostRaw) }

// rawOf is the base64 form of s when a JSON string cannot hold it exactly.
func rawOf(s string) string {
	if utf8.ValidString(s) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

func exact(field, readable, raw string) (string, error) {
	if raw == "" {
		return readable, nil
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return "", fmt.Errorf("%s: %v", field, err)
	}
	return string(b), nil
}

// SetHeader stores h itself, not a copy (the record owns it from then on),
// keeping the exact bytes of values that are not valid UTF-8 in HeaderRaw.
func (r *Record) SetHeader(h http.Header) { r.Header, r.HeaderRaw = h, rawValues(h) }

// SetHeaderUTF8 is SetHeader of a header its caller knows to be valid
// UTF-8 throughout (a listener checks the block it read it from at once):
// no value needs its raw bytes, so none is looked at again.
func (r *Record) SetHeaderUTF8(h http.Header) { r.Header, r.HeaderRaw = h, nil }

// SetTrailer stores a chunked body's trailer fields as SetHeader stores
// the header.
func (r *Record) SetTrailer(h http.Header) { r.Trailer, r.TrailerRaw = h, rawValues(h) }

// rawValues holds, base64-encoded, every value of the fields that have a
// value which is not valid UTF-8; nil when there is none.
func rawValues(h http.Header) map[string][]string {
	var raw map[string][]string
	for name, vs := range h {
		exact := true
		for _, v := range vs {
			exact = exact && utf8.ValidString(v)
		}
		if exact {
			continue
		}
		if raw == nil {
			raw = map[string][]string{}
		}
		enc := make([]string, len(vs))
		for i, v := range vs {
			enc[i] = base64.StdEncoding.EncodeToString([]byte(v))
		}
		raw[name] = enc
	}
	return raw
}

// ExactHeader returns the headers exactly as received.
func (r *Record) ExactHeader() (http.Header, error) {
	return exactValues("header_raw", r.Header, r.HeaderRaw)
}

// ExactTrailer returns the trailer fields exactly as received (nil when
// there were none).
func (r *Record) ExactTrailer() (http.Header, error) {
	return exactValues("trailer_raw", r.Trailer, r.TrailerRaw)
}

func exactValues(field string, h http.Header, raw map[string][]string) (http.Header, error) {
	if len(raw) == 0 {
		return h.Clone(), nil
	}
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	for name, vs := range raw {
		dec := make([]string, len(vs))
		for i, v := range vs {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %v", field, name, err)
			}
			dec[i] = string(b)
		}
		h[name] = dec
	}
	return h, nil
}
