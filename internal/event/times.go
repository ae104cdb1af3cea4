package event

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// TimeValues returns the millisecond timestamps of kind k present in body
// (eventTime, beginTime/endTime, snapshotTime, startTime, group[].beginTime
// and endTime...), at concrete paths, in the kind's field order.
func TimeValues(k Kind, body []byte) []NumericValue {
	var out []NumericValue
	for _, v := range NumericValues(k, body) {
		if v.Field.Millis {
			out = append(out, v)
		}
	}
	return out
}

// LatestTime returns the latest millisecond timestamp body holds: about when
// the service sent it. False when it holds none that parses.
func LatestTime(k Kind, body []byte) (time.Time, bool) {
	var latest int64
	found := false
	for _, v := range TimeValues(k, body) {
		ms, _, ok := splitMillis(v.Digits())
		if ok && (!found || ms > latest) {
			latest, found = ms, true
		}
	}
	return time.UnixMilli(latest), found
}

// ShiftTimes returns body with every millisecond timestamp moved by delta
// (rounded to the millisecond), each value keeping its JSON form: a number
// stays a number, a string of digits a string (with its fraction, if any).
// Every other byte of body is kept (see Set). It returns the paths changed;
// values that are not numbers are left alone.
func ShiftTimes(k Kind, body []byte, delta time.Duration) ([]byte, []string, error) {
	d := delta.Round(time.Millisecond).Milliseconds()
	var changed []string
	for _, v := range TimeValues(k, body) {
		ms, frac, ok := splitMillis(v.Digits())
		if !ok {
			continue
		}
		digits := strconv.FormatInt(ms+d, 10) + frac
		value := json.RawMessage(digits)
		if v.IsString() {
			value = StringValue(digits)
		}
		var err error
		if body, err = Set(body, v.Path, value); err != nil {
			return nil, changed, err
		}
		changed = append(changed, v.Path)
	}
	return body, changed, nil
}

// splitMillis splits "1553228747000" or "1553228747000.0" into the integer
// milliseconds and the fraction as written (".0").
func splitMillis(s string) (int64, string, bool) {
	s = strings.TrimSpace(s)
	whole, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		whole, frac = s[:i], s[i:]
		for _, c := range frac[1:] {
			if c < '0' || c > '9' {
				return 0, "", false
			}
		}
	}
	ms, ok := parseInt(whole)
	if !ok {
		return 0, "", false
	}
	return ms, frac, true
}
