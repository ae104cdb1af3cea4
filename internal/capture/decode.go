package capture

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/jsonx"
)

// The decoder of records, without reflection: a replay decodes every line
// of a capture, and encoding/json's Unmarshal (a scan to validate, then a
// reflective walk, a string per field) was a quarter of an unpaced
// replay's CPU, as much as sending the callbacks. It reads the records
// the encoder writes, and whatever else it is sure of: exact field names,
// each at most once, the types Record declares, null only for a nil
// header or header value, valid UTF-8.
// Anything else (a hand-edited line, another tool's JSON, a syntax error)
// it declines, and Parse runs encoding/json, which then says what is
// wrong. FuzzDecode asserts that whatever it accepts, encoding/json
// accepts too and decodes to the same Record. (A JSON library was tried:
// see bench/README.md.)
//
// Strings are substrings of one copy of the line, so that a record costs
// a few allocations instead of one per field.

// decodeRecord decodes line as json.Unmarshal would into a Record, or
// reports false.
func decodeRecord(line []byte) (*Record, bool) {
	if !utf8.Valid(line) {
		return nil, false // (encoding/json replaces invalid bytes: left to it)
	}
	r, ok, guessed := decodeLine(line, true)
	if !ok && guessed {
		// A body held as a JSON object did not end where it was taken
		// to (jsonBody): read it.
		r, ok, _ = decodeLine(line, false)
	}
	return r, ok
}

// decodeLine is decodeRecord of a line of valid UTF-8. With guess, a body
// held as a JSON object is taken to end where the encoder writes its end
// (jsonBody); guessed reports that one was.
func decodeLine(line []byte, guess bool) (r *Record, ok, guessed bool) {
	// One allocation for the record and the first header values, and one
	// for the copy of the line with room after it for the body unescaped
	// (at most as long as the rest of the line): a callback's record in two
	// pieces, not six. (Only for a short line: a replay holds a body until
	// its outcome is reported, and with it the whole piece.)
	held := &recordMemory{}
	room := 0
	if len(line) <= shortLine {
		room = len(line)
	}
	buf := make([]byte, len(line), len(line)+room)
	copy(buf, line)
	d := decoder{b: buf, s: unsafe.String(unsafe.SliceData(buf), len(buf)), vals: held.vals[:0], guess: guess}
	if room > 0 {
		d.room = buf[len(buf):]
	}
	r = &held.r
	d.ws()
	ok = d.record(r)
	d.ws()
	guessed = d.objEnd > 0
	if !ok || d.i != len(d.b) {
		return nil, false, guessed
	}
	// What UnmarshalJSON refuses, it says why.
	if r.BodyJSON && r.Encoding != "" || d.hasTail && !r.BodyJSON {
		return nil, false, guessed
	}
	if d.hasTail {
		// The object and its tail, in the room after the line's copy
		// if it is free.
		n := len(r.Body) + len(d.tail)
		if cap(d.room) >= n {
			b := append(append(d.room[:0], r.Body...), d.tail...)
			r.Body = unsafe.String(unsafe.SliceData(b), n)
			d.room = nil
		} else {
			r.Body += d.tail
		}
	}
	if d.objEnd > 0 {
		// A body held as a JSON object whose end was found where the
		// encoder writes it, not by reading it (jsonBody). Its seal holds
		// only for the bytes the listener wrote, as it decoded them: a
		// JSON object. Any other is read as encoding/json reads it, and
		// must end there.
		if _, sealed := r.SealedKind(); !sealed {
			if end, ok := event.SkipValue(d.s, d.objStart); !ok || end != d.objEnd {
				return nil, false, true
			}
		}
	}
	return r, true, guessed
}

// jsonBody reads a body held as a JSON object at d.i. The listener wrote
// the body's size before it, and its tail (if any) right after it: the
// object is taken to end where that says, without being read, and
// decodeRecord reads it as encoding/json would only when its seal does not
// hold, which is for any body but the one the listener sealed (a
// hand-edited line, a body with no kind). Reading the object cost more
// than unescaping a string; this costs nothing per byte.
func (d *decoder) jsonBody(r *Record) bool {
	start := d.i
	end := -1
	if n := int(r.Size); d.guess && d.sized && n >= 2 && n <= len(d.s)-start {
		// The object's last '}' is the last one before the size's end:
		// its tail, white space, is written after it as "body_tail", at
		// most maxTail bytes later. The encoder's next field follows it.
		lo := max(start+1, start+n-maxTail)
		if k := strings.LastIndexByte(d.s[lo:start+n], '}'); k >= 0 {
			p := lo + k + 1
			if p == start+n && p < len(d.s) && (d.s[p] == ',' || d.s[p] == '}') ||
				p < start+n && strings.HasPrefix(d.s[p:], `,"body_tail":"`) {
				end = p
				d.objStart, d.objEnd = start, end
			}
		}
	}
	if end < 0 {
		var ok bool
		if end, ok = event.SkipValue(d.s, start); !ok {
			return false
		}
	}
	r.Body, r.BodyJSON, d.i = d.s[start:end], true, end
	return true
}

// maxTail is the longest tail after a body's object that a reader finds
// the object's end before without reading it (jsonBody).
const maxTail = 16

// shortLine is the longest line whose body is unescaped into the room after
// its copy (a callback's line is about a kilobyte).
const shortLine = 4 << 10

// recordMemory is a record and room for its header values (three or four
// a callback carries), in one allocation.
type recordMemory struct {
	r    Record
	vals [4]string
}

type decoder struct {
	b    []byte
	s    string // b as a string, for substrings (b is never written)
	i    int
	vals []string // the header values read so far
	body bool     // reading the body
	// tail is the "body_tail" read (hasTail: there is one), which follows
	// a body held as a JSON object.
	tail    string
	hasTail bool
	// objStart and objEnd are where a body held as a JSON object was taken
	// to start and end without reading it (jsonBody; objEnd 0: read).
	objStart, objEnd int
	guess            bool // (see decodeLine)
	sized            bool // "size" was read
	// room is the free capacity after a short line's copy, where its body
	// is unescaped (the first escaped string read with body set takes it).
	room []byte
}

func (d *decoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return // (the encoder writes none: the one look most calls need)
	}
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether c follows, consuming it.
func (d *decoder) next(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// fields are the names of an object's keys, in the order the encoder
// writes them, and each as it writes it: quoted, with its colon.
type fields struct {
	names  []string
	quoted []string
}

func newFields(names ...string) fields {
	f := fields{names: names}
	for _, n := range names {
		f.quoted = append(f.quoted, `"`+n+`":`)
	}
	return f
}

// object reads an object whose keys are among f's names (each at most
// once), calling field with each key's index; field reads the value.
func (d *decoder) object(f fields, field func(int) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	names := f.names
	var seen uint64
	last := -1
	for {
		d.ws()
		// The encoder writes the names in order, quoted as they are, each
		// right before its colon: one of those after the last found is
		// compared as it stands (most keys), before the key is read as a
		// string and looked for among all the names.
		k := -1
		for n := last + 1; n < len(names); n++ {
			if q := f.quoted[n]; len(d.s)-d.i >= len(q) && d.s[d.i:d.i+len(q)] == q {
				k = n
				d.i += len(q)
				break
			}
		}
		if k < 0 {
			key, ok := d.str()
			if !ok || !d.next(':') {
				return false
			}
			for n := range names {
				if names[n] == key {
					k = n
					break
				}
			}
		}
		last = k
		if k < 0 || seen&(1<<k) != 0 {
			return false // unknown (perhaps another case of a name) or twice
		}
		seen |= 1 << k
		d.ws()
		if !field(k) {
			return false
		}
		if d.next(',') {
			continue
		}
		return d.next('}')
	}
}

var recordFields = newFields("format", "seq", "time", "remote", "method", "target", "target_raw", "host", "host_raw",
	"header", "header_raw", "trailer", "trailer_raw", "size", "body", "body_tail", "encoding", "truncated", "redacted", "kind",
	"kind_seal", "findings", "answer")

func (d *decoder) record(r *Record) bool {
	return d.object(recordFields, func(k int) bool {
		var ok bool
		switch recordFields.names[k] {
		case "format":
			r.Format, ok = d.str()
		case "seq":
			r.Seq, ok = d.unsigned(math.MaxInt64)
		case "time":
			ok = d.time(r)
		case "remote":
			r.Remote, ok = d.str()
		case "method":
			r.Method, ok = d.str()
		case "target":
			r.Target, ok = d.str()
		case "target_raw":
			r.TargetRaw, ok = d.str()
		case "host":
			r.Host, ok = d.str()
		case "host_raw":
			r.HostRaw, ok = d.str()
		case "header":
			r.Header, ok = d.header()
		case "header_raw":
			r.HeaderRaw, ok = d.header()
		case "trailer":
			r.Trailer, ok = d.header()
		case "trailer_raw":
			r.TrailerRaw, ok = d.header()
		case "body":
			if d.i < len(d.b) && d.b[d.i] == '{' {
				ok = d.jsonBody(r)
				break
			}
			d.body = true
			r.Body, ok = d.str()
			d.body = false
		case "body_tail":
			d.tail, ok = d.str()
			d.hasTail = true
		case "encoding":
			r.Encoding, ok = d.str()
		case "size":
			r.Size, ok = d.integer()
			d.sized = true
		case "truncated":
			r.Truncated, ok = d.boolean()
		case "redacted":
			r.Redacted, ok = d.boolean()
		case "kind":
			var s string
			s, ok = d.str()
			r.Kind = event.Kind(s)
		case "kind_seal":
			var n uint64
			n, ok = d.unsigned(math.MaxUint32)
			r.KindSeal = uint32(n)
		case "findings":
			r.Findings, ok = d.findings()
		case "answer":
			ok = d.answer(&r.Answer)
		}
		return ok
	})
}

// time reads the time as encoding/json does: the raw string, quotes
// included, to time.Time's UnmarshalJSON.
func (d *decoder) time(r *Record) bool {
	start := d.i
	if _, ok := d.str(); !ok {
		return false
	}
	return r.Time.UnmarshalJSON(d.b[start:d.i]) == nil
}

// header reads an object of arrays of strings (an http.Header, or the raw
// values beside one), or null (a nil header, as the encoder writes it);
// a name's values may be null too.
func (d *decoder) header() (http.Header, bool) {
	if len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "null" {
		d.i += 4
		return nil, true
	}
	if !d.next('{') {
		return nil, false
	}
	h := http.Header{}
	if d.next('}') {
		return h, true
	}
	for {
		d.ws()
		key, ok := d.str()
		if !ok || !d.next(':') {
			return nil, false
		}
		d.ws()
		if len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "null" {
			// A nil value, as the encoder writes one.
			d.i += 4
			h[key] = nil
			if d.next(',') {
				continue
			}
			return h, d.next('}')
		}
		if !d.next('[') {
			return nil, false
		}
		// The values of every name in one slice (cut so that each name's
		// stay its own), not a slice per name.
		if d.vals == nil {
			d.vals = make([]string, 0, 8)
		}
		from := len(d.vals)
		if !d.next(']') {
			for {
				d.ws()
				v, ok := d.str()
				if !ok {
					return nil, false
				}
				d.vals = append(d.vals, v)
				if d.next(',') {
					continue
				}
				if !d.next(']') {
					return nil, false
				}
				break
			}
		}
		vs := d.vals[from:len(d.vals):len(d.vals)]
		if len(vs) == 0 {
			vs = []string{}
		}
		h[key] = vs // (a name given twice: the last, as encoding/json)
		if d.next(',') {
			continue
		}
		return h, d.next('}')
	}
}

var findingFields = newFields("path", "severity", "code", "message", "line", "column")

func (d *decoder) findings() (event.Findings, bool) {
	if !d.next('[') {
		return nil, false
	}
	fs := event.Findings{}
	if d.next(']') {
		return fs, true
	}
	for {
		var f event.Finding
		ok := d.object(findingFields, func(k int) bool {
			var ok bool
			var s string
			var n int64
			switch findingFields.names[k] {
			case "path":
				f.Path, ok = d.str()
			case "severity":
				s, ok = d.str()
				f.Severity = event.Severity(s)
			case "code":
				s, ok = d.str()
				f.Code = event.Code(s)
			case "message":
				f.Message, ok = d.str()
			case "line":
				n, ok = d.integer()
				f.Line = int(n)
			case "column":
				n, ok = d.integer()
				f.Column = int(n)
			}
			return ok
		})
		if !ok {
			return nil, false
		}
		fs = append(fs, f)
		if d.next(',') {
			continue
		}
		return fs, d.next(']')
	}
}

var answerFields = newFields("status", "body", "forwarded")

func (d *decoder) answer(a *Answer) bool {
	return d.object(answerFields, func(k int) bool {
		var ok bool
		var n int64
		switch answerFields.names[k] {
		case "status":
			n, ok = d.integer()
			a.Status = int(n)
		case "body":
			a.Body, ok = d.str()
		case "forwarded":
			a.Forwarded = &Forward{}
			ok = d.forward(a.Forwarded)
		}
		return ok
	})
}

var forwardFields = newFields("url", "status", "latency_ms", "error")

func (d *decoder) forward(f *Forward) bool {
	return d.object(forwardFields, func(k int) bool {
		var ok bool
		var n int64
		switch forwardFields.names[k] {
		case "url":
			f.URL, ok = d.str()
		case "status":
			n, ok = d.integer()
			f.Status = int(n)
		case "latency_ms":
			f.LatencyMS, ok = d.float()
		case "error":
			f.Error, ok = d.str()
		}
		return ok
	})
}

func (d *decoder) boolean() (bool, bool) {
	switch {
	case len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "true":
		d.i += 4
		return true, true
	case len(d.s)-d.i >= 5 && d.s[d.i:d.i+5] == "false":
		d.i += 5
		return false, true
	}
	return false, false
}

// unsigned reads an integer for an unsigned field, up to limit (which
// integer's int64 bounds): no sign, not even -0, which encoding/json
// refuses for one.
func (d *decoder) unsigned(limit uint64) (uint64, bool) {
	neg := d.i < len(d.b) && d.b[d.i] == '-'
	n, ok := d.integer()
	return uint64(n), ok && !neg && uint64(n) <= limit
}

// integer reads an integer as JSON writes one (-?(0|[1-9][0-9]*)), within
// int64; a fraction or an exponent is declined (encoding/json refuses
// them for an integer field).
func (d *decoder) integer() (int64, bool) {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits || d.b[digits] == '0' && d.i > digits+1 || d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, false
	}
	if d.i-digits < 19 {
		// Fewer than 19 digits cannot overflow: summed here, not parsed
		// again by strconv.
		var n int64
		for _, c := range d.b[digits:d.i] {
			n = n*10 + int64(c-'0')
		}
		if digits > start {
			n = -n
		}
		return n, true
	}
	n, err := strconv.ParseInt(d.s[start:d.i], 10, 64)
	return n, err == nil
}

// float reads a JSON number into a float64, as encoding/json does.
func (d *decoder) float() (float64, bool) {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		from := d.i
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
		return d.i - from
	}
	first := d.i
	if n := digits(); n == 0 || d.b[first] == '0' && n > 1 {
		return 0, false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return 0, false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(d.s[start:d.i], 64)
	return f, err == nil
}

// str reads a string at d.i, which must be its opening quote. A string
// without escapes is a substring of the line; escapes are decoded as
// encoding/json decodes them (a lone surrogate becomes U+FFFD).
func (d *decoder) str() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	d.i++
	start := d.i
	d.i += jsonx.PlainRun(d.b[d.i:])
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '"':
			d.i++
			return d.s[start : d.i-1], true
		case '\\':
			return d.escaped(start)
		}
	}
	return "", false // (a control byte, or the end)
}

func (d *decoder) escaped(start int) (string, bool) {
	// d.b[start:d.i] is plain; d.i is at the first escape. A body goes to
	// the room left after a short line's copy, or is made room for at
	// once: it is at most as long as the rest of the line, which it mostly
	// is. Another string gets its own.
	var buf []byte
	switch {
	case d.body && d.room != nil:
		buf, d.room = d.room, nil
	case d.body:
		buf = make([]byte, 0, min(len(d.b)-start, 64<<10)+8)
	default:
		buf = make([]byte, 0, d.i-start+32)
	}
	buf = append(buf, d.b[start:d.i]...)
	out, n, ok := jsonx.AppendUnescapedString(buf, d.b[d.i:])
	if !ok {
		return "", false
	}
	d.i += n
	// (out is this string's own memory, never written again: no copy.)
	return unsafe.String(unsafe.SliceData(out), len(out)), true
}
