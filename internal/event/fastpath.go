package event

import "encoding/json"

// conforms reports whether obj satisfies every constraint of the kind's JSON
// Schema (Schema(k)): required fields, types, the numeric-string pattern,
// enums, an array's size and its items. It is the same field table read a
// second way: when it says yes, running the schema library cannot find
// anything, so Validate skips it; when it says no, the library runs and its
// errors become the findings. The schema library alone costs more than the
// JSON decode itself; this keeps validation within 2x of a plain decode (see
// bench/README.md). FuzzCheck asserts that conforms and the schema library
// always agree.
func conforms(k Kind, obj map[string]any) bool {
	info, ok := table().index[k]
	if !ok {
		return false
	}
	var vals [maxLooked]any
	var present [maxLooked]bool
	return bodyConforms(info, lookup(fieldsOf{m: obj}, info.Fields, vals[:0], present[:0]))
}

// bodyConforms is conforms for a body whose top-level fields were looked
// up (Validate looks each up once, for this and for its own checks).
func bodyConforms(info *KindInfo, vals fieldValues) bool {
	for i := range info.Fields {
		f := &info.Fields[i]
		val, present := vals.get(i)
		if !present {
			if f.Required {
				return false
			}
			continue
		}
		if !valueConforms(f, val) {
			return false
		}
		if f.Name == "event" && info.Event != "" {
			// The schema's pattern for "event" (see Schema); valueConforms
			// has checked it is a string.
			if ev, _ := val.(string); trimSpaceASCII(ev) != info.Event {
				return false
			}
		}
	}
	return true
}

// fieldValues are the values of a kind's fields in one object, in the
// order of its Fields: looked up in the object's map once.
type fieldValues struct {
	vals    []any
	present []bool
	n       int // how many are present
}

func (fv fieldValues) get(i int) (any, bool) { return fv.vals[i], fv.present[i] }

// maxLooked is the room callers of lookup give it on their stack; a kind
// with more fields makes lookup allocate.
const maxLooked = 32

// lookup looks fields up in obj, appending to vals and present. (In a
// body's members, each is looked for from the member after the last found:
// see members.from.)
func lookup(obj fieldsOf, fields []Field, vals []any, present []bool) fieldValues {
	fv := fieldValues{vals: vals, present: present}
	at := 0
	for i := range fields {
		var v any
		var ok bool
		if obj.m != nil {
			v, ok = obj.m[fields[i].Name]
		} else {
			v, ok, at = obj.top.from(at, fields[i].Name)
		}
		fv.vals, fv.present = append(fv.vals, v), append(fv.present, ok)
		if ok {
			fv.n++
		}
	}
	return fv
}

func objectConforms(obj map[string]any, fields []Field) bool {
	for i := range fields {
		f := &fields[i]
		val, present := obj[f.Name]
		if !present {
			if f.Required {
				return false
			}
			continue
		}
		if !valueConforms(f, val) {
			return false
		}
	}
	return true
}

func valueConforms(f *Field, val any) bool {
	switch {
	case f.Numeric:
		return isNumeric(val)
	case f.ID:
		switch val.(type) {
		case string, json.Number:
			return true
		}
		return false
	case f.Type == TObject:
		m, ok := val.(map[string]any)
		if !ok {
			return false
		}
		for _, v := range m {
			if _, ok := v.(string); !ok {
				return false
			}
		}
		return true
	case f.Type == TArray:
		items, ok := val.([]any)
		if !ok || len(items) < f.MinItems || (f.MaxItems > 0 && len(items) > f.MaxItems) {
			return false
		}
		for _, it := range items {
			m, ok := it.(map[string]any)
			if !ok || !objectConforms(m, f.Items) {
				return false
			}
		}
		return true
	}
	s, ok := val.(string)
	if !ok {
		return false
	}
	if len(f.Enum) > 0 {
		for _, e := range f.Enum {
			if s == e {
				return true
			}
		}
		return false
	}
	return true
}

// isNumericString matches numericString (`^\s*-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\s*$`,
// with RE2's ASCII \s) without a regexp.
func isNumericString(s string) bool {
	i, n := 0, len(s)
	for i < n && isSpace(s[i]) {
		i++
	}
	if i < n && s[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if !digits() {
		return false
	}
	if i < n && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	for i < n && isSpace(s[i]) {
		i++
	}
	return i == n
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func trimSpaceASCII(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
