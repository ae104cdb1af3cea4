package send

import (
	"bytes"
	"math"
	"slices"
	"strconv"

	"github.com/livecb/livecb/internal/event"
)

// Load mode sends each round about its own stream, and a stream's times
// are part of what makes it its own: a receiver that keys on streamName and
// eventTime, or that sorts records by beginTime, must not see round r and
// round r+P (P the pool's size) carry the same times. Generating a body per
// request costs too much, so the times are moved instead: round r is pool
// group r % P with every time moved back by (r / P) * P ms, written in
// place over the pooled digits (same width, no JSON work).
//
// For that to give every round its own value of every time field, each
// group's times must fall in a residue class of their own modulo P:
// group g's streams end at now - g ms, but their other times (start, spans,
// snapshot...) sit a random number of seconds before the end, so two
// groups' beginTimes could meet after a few shifts. prepareGroup therefore
// moves each of group g's times down to the nearest value ≡ now - g
// (mod P), less than P ms earlier: ends stay as generated, order within a
// body and across the kinds of a round is kept (rounding down to one class
// never swaps two values), and then round r's value of a field is
// ≡ now - r (mod P) and distinct from every other round's.
//
// What is derived from the times and is not a timestamp field stays as
// generated: the dates inside downloadUrl, and duration, which may differ
// from endTime - beginTime by up to P ms after the rounding (the spec ties
// neither to the times, and the validator checks neither against them).

// stamp is one millisecond timestamp of a pooled body: its digits are
// parts[part][off:off+width], ms is their value as pooled (the first
// cycle of the pool).
type stamp struct {
	part, off, width int
	ms               int64
}

// pooled is one prepared body of the pool.
type pooled struct {
	// parts is the body cut at the marker: parts[0] name parts[1] ...
	parts [][]byte
	// times are the timestamps moved per cycle, in body order.
	times []stamp
	// room is how far back the times of this body's group may move while
	// every one keeps its width (13 digits: not before 2001-09-09). A
	// round whose shift is larger keeps the pooled times: a repeat, but a
	// valid body, rather than a number one digit short (or negative).
	room int64
}

// putDigits writes v in decimal over b, which is exactly as wide as v.
func putDigits(b []byte, v int64) { strconv.AppendInt(b[:0], v, 10) }

// timesOf finds the millisecond timestamps of body, a body of kind k, as
// offsets into body. sample is the body before the user's overrides.
//
// It returns none when the body's times must stay as pooled: when the user set
// one of them (--set eventTime=..., or anything on the way to one, such as
// group: his value is sent as given, as a --set streamName is, and moving
// the others could put them out of order with it), or when one is not a
// plain integer (a fraction or exponent only a --set can bring) or cannot
// be located.
func timesOf(k event.Kind, sample, body []byte, overrides []event.Override) []stamp {
	var stamps []stamp
	generated := map[string]string{}
	for _, v := range event.TimeValues(k, sample) {
		generated[v.Path] = string(v.Raw)
	}
	for _, v := range event.TimeValues(k, body) {
		// The value alone cannot tell: a user may set the very value
		// generated (the time of --now), which must then stay put too.
		if raw, ok := generated[v.Path]; !ok || raw != string(v.Raw) || overridden(v.Path, overrides) {
			return nil
		}
		// Both forms are handled: a number (eventTime) and a string of
		// digits (group[].beginTime).
		digits := []byte(v.Raw)
		if v.IsString() {
			digits = digits[1 : len(digits)-1]
		}
		if len(digits) < 2 || len(digits) > 18 || digits[0] == '0' || !allDigits(digits) {
			return nil
		}
		off, ok := locate(body, v.Path, v.IsString(), digits)
		if !ok {
			return nil
		}
		ms, err := strconv.ParseInt(string(digits), 10, 64)
		if err != nil {
			return nil
		}
		stamps = append(stamps, stamp{off: off, width: len(digits), ms: ms})
	}
	return stamps
}

// overridden reports whether an override's path leads to path or into it
// ("group" and "group.0" lead to "group.0.beginTime").
func overridden(path string, overrides []event.Override) bool {
	toks, _ := event.ParsePath(path)
	for _, o := range overrides {
		ot, err := event.ParsePath(o.Path)
		if err != nil {
			return true
		}
		n := min(len(ot), len(toks))
		if slices.Equal(ot[:n], toks[:n]) {
			return true
		}
	}
	return false
}

// locate returns the offset in body of the digits of the value at path.
// Digits found once in the whole body can only be that value. Otherwise
// it asks the event model to replace every digit and takes the span that
// changed: no second JSON scanner here, and a value is only used when the
// bytes around it came back untouched.
func locate(body []byte, path string, isString bool, digits []byte) (int, bool) {
	if i := bytes.Index(body, digits); i >= 0 && !bytes.Contains(body[i+1:], digits) {
		return i, true
	}
	probe := make([]byte, len(digits))
	for i, c := range digits {
		probe[i] = '1'
		if c == '1' {
			probe[i] = '2'
		}
	}
	value := probe
	if isString {
		value = event.StringValue(string(probe))
	}
	changed, err := event.Set(body, path, value)
	if err != nil || len(changed) != len(body) {
		return 0, false
	}
	first := 0
	for first < len(body) && body[first] == changed[first] {
		first++
	}
	last := len(body) - 1
	for last >= first && body[last] == changed[last] {
		last--
	}
	if last-first+1 != len(digits) || !bytes.Equal(body[first:last+1], digits) {
		return 0, false
	}
	return first, true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// alignTimes rounds the times of one group's bodies down to class
// (mod size), writing them into the bodies, and returns the group's room
// (see pooled.room). When a value would lose a digit by the rounding, the
// group's times are left alone and nothing may move them (room -1).
func alignTimes(bodies [][]byte, stamps [][]stamp, class, size int64) (room int64) {
	room = math.MaxInt64
	for _, ss := range stamps {
		for _, s := range ss {
			low := pow10(s.width - 1)
			v := s.ms - mod(s.ms-class, size)
			if v < low {
				return -1
			}
			room = min(room, v-low)
		}
	}
	for b, ss := range stamps {
		for i := range ss {
			s := &ss[i]
			s.ms -= mod(s.ms-class, size)
			putDigits(bodies[b][s.off:s.off+s.width], s.ms)
		}
	}
	return room
}

// mod is x modulo m in [0, m).
func mod(x, m int64) int64 {
	r := x % m
	if r < 0 {
		r += m
	}
	return r
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}
