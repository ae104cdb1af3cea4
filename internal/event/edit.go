package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/livecb/livecb/internal/jsonx"
)

// Edits of a body work on its raw bytes: only the value that changes is
// written anew; every other value keeps its exact bytes (digits of big
// numbers, escapes, order of fields).

// PathError says which part of an edit path could not be followed.
type PathError struct {
	Path   string
	Reason string
}

func (e *PathError) Error() string { return fmt.Sprintf("path %q: %s", e.Path, e.Reason) }

// ParsePath splits a path such as "group.1.endTime" or the JSON Pointer
// "/group/1/endTime" into its tokens.
func ParsePath(path string) ([]string, error) {
	if path == "" {
		return nil, &PathError{path, "empty path: name a field, e.g. streamName or group.0.beginTime"}
	}
	var toks []string
	if strings.HasPrefix(path, "/") {
		for _, t := range strings.Split(path[1:], "/") {
			toks = append(toks, strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~"))
		}
	} else {
		toks = strings.Split(path, ".")
	}
	for _, t := range toks {
		if t == "" {
			return nil, &PathError{path, "empty segment: separate names with single dots, e.g. group.0.beginTime"}
		}
	}
	return toks, nil
}

// ParseValue turns a command-line value into JSON: the value itself when it
// is valid JSON (so 163594946396839937 stays a number with every digit, and
// {"a":"b"} an object), else a JSON string.
func ParseValue(s string) json.RawMessage {
	if t := bytes.TrimSpace([]byte(s)); len(t) > 0 && json.Valid(t) {
		return json.RawMessage(t)
	}
	return StringValue(s)
}

// StringValue encodes s as a JSON string, the way every JSON livecb
// writes is encoded (internal/jsonx): "&", "<" and ">" as they are, so a
// value typed on the command line reaches the wire as typed.
func StringValue(s string) json.RawMessage { return jsonx.String(s) }

// Set returns body with the value at path replaced by value (created, with
// any missing objects or arrays on the way, when absent). An index equal to
// an array's length appends.
func Set(body []byte, path string, value json.RawMessage) ([]byte, error) {
	toks, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	if !json.Valid(value) {
		return nil, &PathError{path, "the new value is not valid JSON"}
	}
	return edit(body, toks, value, false, path)
}

// Unset returns body without the value at path.
func Unset(body []byte, path string) ([]byte, error) {
	toks, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	return edit(body, toks, nil, true, path)
}

// member is one member of a JSON object: its key, the key's bytes as they
// were in the body (nil for a member livecb adds), and its value's bytes.
type member struct {
	key    string
	rawKey []byte
	val    json.RawMessage
}

func edit(raw []byte, toks []string, value json.RawMessage, del bool, path string) ([]byte, error) {
	if len(toks) == 0 {
		return value, nil
	}
	t := bytes.TrimSpace(raw)
	tok := toks[0]
	if len(t) == 0 { // creating
		if _, err := strconv.Atoi(tok); err == nil {
			t = []byte("[]")
		} else {
			t = []byte("{}")
		}
	}
	switch t[0] {
	case '{':
		members, err := parseObject(t)
		if err != nil {
			return nil, &PathError{path, "not an object at " + tok + ": " + err.Error()}
		}
		for i, m := range members {
			if m.key != tok {
				continue
			}
			if del && len(toks) == 1 {
				members = append(members[:i], members[i+1:]...)
				return encodeObject(members), nil
			}
			v, err := edit(m.val, toks[1:], value, del, path)
			if err != nil {
				return nil, err
			}
			members[i].val = v
			return encodeObject(members), nil
		}
		if del {
			return nil, &PathError{path, fmt.Sprintf("no field %q to remove", tok)}
		}
		v, err := edit(nil, toks[1:], value, del, path)
		if err != nil {
			return nil, err
		}
		return encodeObject(append(members, member{key: tok, val: v})), nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return nil, &PathError{path, "not an array at " + tok + ": " + err.Error()}
		}
		i, err := strconv.Atoi(tok)
		if err != nil || i < 0 || i > len(items) || (del && i == len(items)) {
			return nil, &PathError{path, fmt.Sprintf("index %q out of range: the array has %d items (0 to %d)", tok, len(items), len(items)-1)}
		}
		if del && len(toks) == 1 {
			items = append(items[:i], items[i+1:]...)
			return encodeArray(items), nil
		}
		var cur json.RawMessage
		if i < len(items) {
			cur = items[i]
		}
		v, err := edit(cur, toks[1:], value, del, path)
		if err != nil {
			return nil, err
		}
		if i == len(items) {
			items = append(items, v)
		} else {
			items[i] = v
		}
		return encodeArray(items), nil
	}
	return nil, &PathError{path, fmt.Sprintf("%q is inside a %s, which has no fields", tok, jsonKindOfRaw(t))}
}

func jsonKindOfRaw(t []byte) string {
	switch {
	case t[0] == '"':
		return "string"
	case t[0] == 't' || t[0] == 'f':
		return "boolean"
	case t[0] == 'n':
		return "null"
	}
	return "number"
}

// parseObject reads the members of a JSON object in order, keeping each
// key's and each value's exact bytes.
func parseObject(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var ms []member
	for dec.More() {
		// The key's bytes lie between the end of the previous member (or
		// the brace) and where the decoder stands after reading the key,
		// behind white space and the comma.
		before := dec.InputOffset()
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		rawKey := bytes.TrimLeft(b[before:dec.InputOffset()], " \t\r\n,")
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{key: kt.(string), rawKey: rawKey, val: v})
	}
	return ms, nil
}

// encodeObject writes members as an object; a member read from a body
// keeps its key's bytes (escapes and all), so untouched members come out
// byte for byte as they went in.
func encodeObject(ms []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		if m.rawKey != nil {
			b.Write(m.rawKey)
		} else {
			b.Write(StringValue(m.key))
		}
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func encodeArray(items []json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// KnownPath reports whether path names a field of kind k's spec (legacy
// names included). Edits elsewhere are allowed but worth a warning.
func KnownPath(k Kind, path string) bool {
	toks, err := ParsePath(path)
	if err != nil {
		return false
	}
	info, ok := table().index[k]
	if !ok {
		return false
	}
	if f := fieldAt(info.Fields, toks); f != nil {
		return true
	}
	// Any member of an object field (pushParams' parameters).
	if f := fieldAt(info.Fields, toks[:1]); f != nil && f.Type == TObject && len(toks) >= 2 {
		return true
	}
	_, legacy := info.Legacy[toks[0]]
	return legacy && len(toks) == 1
}
