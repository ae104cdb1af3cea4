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
	if !objectConforms(obj, info.Fields) {
		return false
	}
	if info.Event != "" {
		// The schema's pattern for "event" (see Schema); the field is
		// required, so objectConforms has checked it is a string.
		if ev, _ := obj["event"].(string); trimSpaceASCII(ev) != info.Event {
			return false
		}
	}
	return true
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
