package capture

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/jsonx"
	"github.com/livecb/livecb/internal/memo"
)

// The encoder of records, without reflection: a listener encodes one per
// request, and encoding/json's reflection cost more than the system call
// that writes the line. It writes the same bytes as jsonx.Marshal of a
// Record (encode_test.go compares them): strings through jsonx, so that no
// control or bidi character of a request reaches a capture raw. Findings
// are encoded by hand too: real traffic drifts, so most records have some,
// and their reflection cost more than all the rest of the record
// (FuzzEncodeFindings compares the bytes with jsonx.Marshal's). The rare
// part, a forwarded request, goes through jsonx.Marshal.

// Encoded is a record encoded without its sequence number, so that the
// (costly) encoding can run before the record's place in the log is known.
// AppendLine makes it a line once the number is.
type Encoded []byte

// linePrefix is how every record's line starts.
const linePrefix = `{"format":"` + Format + `","seq":`

// Encode encodes r (its Format set, its Seq ignored) for AppendLine,
// appending to buf[:0] (nil allocates). It does not change r.
func Encode(r *Record, buf []byte) (Encoded, error) {
	// Grown once for a large body, rather than doubling up to its size.
	if need := len(r.Body) + len(r.Body)/8 + 1024; cap(buf) < need && len(r.Body) > 4<<10 {
		buf = make([]byte, 0, need)
	}
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

// appendRecord appends r's JSON from the field after "seq" on (starting
// with its comma) to dst.
func appendRecord(dst []byte, r *Record) ([]byte, error) {
	dst = append(dst, `,"time":`...)
	dst = appendTime(dst, r.Time)
	dst = append(dst, `,"remote":`...)
	dst = appendString(dst, r.Remote)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, r.Method)
	dst = append(dst, `,"target":`...)
	dst = appendString(dst, r.Target)
	if r.TargetRaw != "" {
		dst = append(dst, `,"target_raw":`...)
		dst = appendString(dst, r.TargetRaw)
	}
	if r.Host != "" {
		dst = append(dst, `,"host":`...)
		dst = appendString(dst, r.Host)
	}
	if r.HostRaw != "" {
		dst = append(dst, `,"host_raw":`...)
		dst = appendString(dst, r.HostRaw)
	}
	dst = append(dst, `,"header":`...)
	dst = appendHeader(dst, r.Header)
	if len(r.HeaderRaw) > 0 {
		dst = append(dst, `,"header_raw":`...)
		dst = appendHeader(dst, r.HeaderRaw)
	}
	if len(r.Trailer) > 0 {
		dst = append(dst, `,"trailer":`...)
		dst = appendHeader(dst, r.Trailer)
	}
	if len(r.TrailerRaw) > 0 {
		dst = append(dst, `,"trailer_raw":`...)
		dst = appendHeader(dst, r.TrailerRaw)
	}
	dst = append(dst, `,"size":`...)
	dst = strconv.AppendInt(dst, r.Size, 10)
	dst = append(dst, `,"body":`...)
	if obj, tail, ok := r.jsonBody(); ok {
		// The object as it came: escaping it into a string was the most
		// costly part of the listener's record.
		dst = append(dst, obj...)
		if tail != "" {
			dst = append(dst, `,"body_tail":`...)
			dst = appendString(dst, tail)
		}
	} else {
		dst = appendString(dst, r.Body)
	}
	if r.Encoding != "" {
		dst = append(dst, `,"encoding":`...)
		dst = appendString(dst, r.Encoding)
	}
	if r.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	if r.Redacted {
		dst = append(dst, `,"redacted":true`...)
	}
	if r.Kind != "" {
		dst = append(dst, `,"kind":`...)
		dst = appendString(dst, string(r.Kind))
	}
	if r.KindSeal != 0 {
		dst = append(dst, `,"kind_seal":`...)
		dst = strconv.AppendUint(dst, uint64(r.KindSeal), 10)
	}
	if len(r.Findings) > 0 {
		dst = append(dst, `,"findings":`...)
		dst = append(dst, lastFindings.Get(r.Findings)...)
	}
	dst = append(dst, `,"answer":{"status":`...)
	dst = strconv.AppendInt(dst, int64(r.Answer.Status), 10)
	if r.Answer.Body != "" {
		dst = append(dst, `,"body":`...)
		dst = appendString(dst, r.Answer.Body)
	}
	if r.Answer.Forwarded != nil {
		b, err := jsonx.Marshal(r.Answer.Forwarded)
		if err != nil {
			return dst, err
		}
		dst = append(dst, `,"forwarded":`...)
		dst = append(dst, b...)
	}
	return append(dst, "}}"...), nil
}

// appendFindings appends fs as jsonx.Marshal encodes them: a JSON array
// of objects, Line and Column only when set.
func appendFindings(dst []byte, fs event.Findings) []byte {
	if fs == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i := range fs {
		f := &fs[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"path":`...)
		dst = appendString(dst, f.Path)
		dst = append(dst, `,"severity":`...)
		dst = appendString(dst, string(f.Severity))
		dst = append(dst, `,"code":`...)
		dst = appendString(dst, string(f.Code))
		dst = append(dst, `,"message":`...)
		dst = append(dst, quotedMessages.Get(f.Message)...)
		if f.Line != 0 {
			dst = append(dst, `,"line":`...)
			dst = strconv.AppendInt(dst, int64(f.Line), 10)
		}
		if f.Column != 0 {
			dst = append(dst, `,"column":`...)
			dst = strconv.AppendInt(dst, int64(f.Column), 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// quotedMessages are finding messages as JSON strings. Most are the same
// few texts on every drifting body, and each has quotes to escape: escaped
// again for every record they cost a record's body.
var quotedMessages = memo.New(func(s string) string { return string(appendString(nil, s)) })

// lastFindings are the findings encoded last, as JSON: most records of a
// sender have the same ones.
var lastFindings = memo.NewLast(func(fs event.Findings) string { return string(appendFindings(nil, fs)) },
	slices.Equal[event.Findings], slices.Clone[event.Findings])

// rfc3339Seconds is the text RFC3339Nano makes of a second in its location,
// before and after the fraction: the date, clock and zone of a listener's
// records change once a second.
var rfc3339Seconds = memo.NewSeconds(func(t time.Time) (string, string) {
	b := t.AppendFormat(nil, time.RFC3339) // with no fraction the same as Nano
	const zoneless = len("2006-01-02T15:04:05")
	return string(b[:zoneless]), string(b[zoneless:])
})

// appendTime is time.Time's MarshalJSON (RFC 3339 with nanoseconds) for
// the years it accepts.
func appendTime(dst []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		b, _ := json.Marshal(t) // encoding/json's error, as json.Marshal
		return append(dst, b...)
	}
	prefix, zone := rfc3339Seconds.Get(t)
	dst = append(dst, '"')
	dst = append(dst, prefix...)
	dst = appendFraction(dst, t.Nanosecond())
	dst = append(dst, zone...)
	return append(dst, '"')
}

// appendFraction appends ns as RFC3339Nano writes it: a dot and nine
// digits without their trailing zeros, nothing for zero.
func appendFraction(dst []byte, ns int) []byte {
	if ns == 0 {
		return dst
	}
	var buf [10]byte
	buf[0] = '.'
	for i := 9; i > 0; i-- {
		buf[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for buf[n-1] == '0' {
		n--
	}
	return append(dst, buf[:n]...)
}

// appendHeader encodes a header as encoding/json encodes a map of string
// slices: keys sorted, nil as null.
func appendHeader(dst []byte, h map[string][]string) []byte {
	if h == nil {
		return append(dst, "null"...)
	}
	var small [32]string
	keys := small[:0]
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		vs := h[k]
		if vs == nil {
			dst = append(dst, "null"...)
			continue
		}
		dst = append(dst, '[')
		for j, v := range vs {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, v)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendString quotes s as jsonx does (no HTML escaping; controls, bidi
// controls and U+2028/9 escaped; invalid UTF-8 becomes U+FFFD).
func appendString(dst []byte, s string) []byte { return jsonx.AppendString(dst, s) }
