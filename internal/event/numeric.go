package event

import (
	"encoding/json"
	"strconv"
)

// NumericValue is one numeric field present in a body, at a concrete path
// (group spans expanded: "group.1.endTime"), with its raw JSON value and its
// documentation. The contract suite derives the spec's type drift from it
// without knowing field names.
type NumericValue struct {
	Path  string
	Raw   json.RawMessage
	Field Field
}

// IsString reports whether the value is held as a JSON string.
func (n NumericValue) IsString() bool { return len(n.Raw) > 0 && n.Raw[0] == '"' }

// Digits returns the value's digits, whichever JSON form holds them.
func (n NumericValue) Digits() string {
	if n.IsString() {
		var s string
		if json.Unmarshal(n.Raw, &s) == nil {
			return s
		}
	}
	return string(n.Raw)
}

// NumericValues returns the numeric fields of kind k present in body, in
// the kind's field order. A body that is not a JSON object has none.
func NumericValues(k Kind, body []byte) []NumericValue {
	info, ok := table().index[k]
	if !ok {
		return nil
	}
	return numericIn(body, info.Fields, "")
}

func numericIn(obj []byte, fields []Field, prefix string) []NumericValue {
	members, err := parseObject(obj)
	if err != nil {
		return nil
	}
	byName := make(map[string]json.RawMessage, len(members))
	for _, m := range members {
		byName[m.key] = m.val
	}
	var out []NumericValue
	for _, f := range fields {
		raw, ok := byName[f.Name]
		if !ok {
			continue
		}
		switch {
		case f.Numeric:
			out = append(out, NumericValue{Path: prefix + f.Name, Raw: raw, Field: f})
		case f.Type == TArray && len(f.Items) > 0:
			var items []json.RawMessage
			if json.Unmarshal(raw, &items) != nil {
				continue
			}
			for i, it := range items {
				out = append(out, numericIn(it, f.Items, prefix+f.Name+"."+strconv.Itoa(i)+".")...)
			}
		}
	}
	return out
}

// OptionalFields returns the names of kind k's fields the spec does not
// require (a receiver must cope with their absence).
func OptionalFields(k Kind) []string {
	info, ok := table().index[k]
	if !ok {
		return nil
	}
	var out []string
	for _, f := range info.Fields {
		if !f.Required {
			out = append(out, f.Name)
		}
	}
	return out
}
