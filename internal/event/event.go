package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Event is one decoded callback body.
//
// Raw holds the bytes exactly as received, never to be written (they may
// be a string's: DecodeString); nothing in livecb re-encodes an
// Event unless it means to change it (see Set). Its top-level members
// (Field, and Fields for them as a map) are the decoded object with every
// field, known or not; numbers are json.Number so they keep their exact
// digits (ids beyond 2^53 survive).
type Event struct {
	Raw  []byte
	Kind Kind
	// info is Kind's table entry, as Check classified it (see kindInfo).
	info *KindInfo
	// top is the body's object: its members by name (see members).
	top members
	// Duplicates are the JSON Pointers of the keys an object of Raw holds
	// more than once (Field has the last value, as encoding/json keeps),
	// each once, at most maxDuplicates; MoreDuplicates counts the rest.
	Duplicates     []string
	MoreDuplicates int
}

// Fields returns the body's object as encoding/json decodes it (numbers as
// json.Number): a new map each call, which the caller may keep or change.
func (e *Event) Fields() map[string]any {
	if e == nil {
		return nil
	}
	return e.top.toMap()
}

// Field returns the value of a top-level field, as Fields has it.
func (e *Event) Field(name string) (any, bool) {
	if e == nil {
		return nil, false
	}
	return e.top.get(name)
}

// String returns the string value of a top-level field, or "".
func (e *Event) String(name string) string {
	v, _ := e.Field(name)
	s, _ := v.(string)
	return s
}

// Number returns the digits of a numeric field, whether the body holds it as
// a JSON number or as a string, or "".
func (e *Event) Number(name string) string {
	v, _ := e.Field(name)
	switch v := v.(type) {
	case json.Number:
		return v.String()
	case string:
		return strings.TrimSpace(v)
	}
	return ""
}

// Identity is what every kind says about the stream it concerns.
type Identity struct {
	Domain string `json:"publishDomain,omitempty"`
	App    string `json:"appName,omitempty"`
	Stream string `json:"streamName,omitempty"`
}

// Identity returns the publishDomain, appName and streamName of the event.
func (e *Event) Identity() Identity {
	if e == nil {
		return Identity{}
	}
	// (Looked up in turn, each from where the last was found: a body
	// names them one after the other.)
	var id Identity
	at := 0
	for i, s := range [...]*string{&id.Domain, &id.App, &id.Stream} {
		var v any
		var ok bool
		if v, ok, at = e.top.from(at, identityFields[i]); ok {
			*s, _ = v.(string)
		}
	}
	return id
}

// identityFields name a stream: its domain, app and stream name.
var identityFields = [3]string{"publishDomain", "appName", "streamName"}

func (id Identity) String() string {
	return id.Domain + "/" + id.App + "/" + id.Stream
}

// DecodeError says why a body could not be decoded as a JSON object. It is
// also reported as a Finding by Check.
type DecodeError struct{ Finding Finding }

func (e *DecodeError) Error() string { return e.Finding.Message }

// Decode parses raw as one JSON object without losing information. It never
// modifies raw; the returned Event keeps it. Problems of the bytes themselves
// (empty, BOM, invalid UTF-8, syntax, not an object) are returned as a
// *DecodeError.
func Decode(raw []byte) (*Event, error) { return decode(raw, "") }

// DecodeString is Decode of a body held in a string: the event's strings
// are the body's own (Decode copies raw once to make them), and its Raw
// is the string's bytes, which nothing may write. A listener, which keeps
// each body as a string in its capture record, decodes it so.
func DecodeString(raw string) (*Event, error) {
	return decode(unsafe.Slice(unsafe.StringData(raw), len(raw)), raw)
}

// decode is Decode of raw, whose bytes s holds as a string when it is not
// "" (else they are copied into one).
func decode(raw []byte, s string) (*Event, error) {
	if f, bad := checkBytes(raw); bad {
		return nil, &DecodeError{f}
	}
	if s == "" {
		s = string(raw)
	}
	if ms, _, dups, more, ok := fastDecodeBody(raw, s); ok {
		ev := &Event{Raw: raw, top: ms, MoreDuplicates: more}
		if len(dups) > 0 {
			ev.Duplicates = duplicatePointers(dups)
		}
		return ev, nil
	}
	// Not one JSON object: encoding/json says exactly what is wrong.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &DecodeError{syntaxFinding(raw, err)}
	}
	// Anything but white space after the value is an error: two bodies glued
	// together, or a stray character a receiver's parser may reject.
	off := int(dec.InputOffset())
	if _, err := dec.Token(); err != io.EOF {
		// Point at the first byte after the value that is not white space.
		for off < len(raw) && (raw[off] == ' ' || raw[off] == '\t' || raw[off] == '\r' || raw[off] == '\n') {
			off++
		}
		line, col := lineCol(raw, off)
		return nil, &DecodeError{Finding{Severity: Error, Code: CodeTrailingData, Line: line, Column: col,
			Message: fmt.Sprintf("unexpected data after the JSON object at line %d, column %d: a body holds exactly one object", line, col)}}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &DecodeError{Finding{Severity: Error, Code: CodeNotObject,
			Message: fmt.Sprintf("the body is a JSON %s, not an object: each callback is one JSON object {...}", jsonTypeOf(v))}}
	}
	return &Event{Raw: raw, top: membersOf(obj)}, nil
}

// A Glimpse is what Glance sees of a body: its kind ("" for a body
// Classify refuses) and its stream.
type Glimpse struct {
	Kind     Kind
	Identity Identity
}

// Glance decodes raw as Decode does and finds its kind and stream, reading
// only what Classify and Identity read ("event", the kinds' markers, the
// stream's identity): the rest of the body is checked as JSON, not built.
// It fails where Decode fails, with Decode's error. A replay needs nothing
// more of a body to route, filter and report it, and building the whole
// tree (a map, a value boxed per member) was a seventh of an unpaced
// replay's CPU.
func Glance(raw []byte) (Glimpse, error) { return glance(raw, "") }

// GlanceString is Glance of a body held in a string: its stream's strings
// are the body's own, not a copy's.
func GlanceString(raw string) (Glimpse, error) {
	return glance(unsafe.Slice(unsafe.StringData(raw), len(raw)), raw)
}

// glance is Glance of raw, whose bytes s holds as a string when it is not
// "" (else they are copied into one).
func glance(raw []byte, s string) (Glimpse, error) {
	if f, bad := checkBytes(raw); bad {
		return Glimpse{}, &DecodeError{f}
	}
	if s == "" {
		s = string(raw)
	}
	r := table()
	p := parser{b: raw, s: s, reg: r}
	var g glanced
	p.ws()
	ok := p.i < len(p.b) && p.b[p.i] == '{' && p.glanceObject(&r.glanced, &g)
	if ok {
		p.ws()
	}
	if !ok || p.i != len(p.b) {
		// Not one JSON object: Decode says what is wrong.
		ev, err := Decode(raw)
		if err != nil {
			return Glimpse{}, err
		}
		k, _ := ev.classify()
		return Glimpse{Kind: k, Identity: ev.Identity()}, nil
	}
	k, _ := classify(func(name string) (any, bool) {
		m := g.get(name)
		switch {
		case m == nil:
			return nil, false
		case m.isString:
			if v := r.intern(m.s); v != nil {
				return v, true // (a kind's event name: boxed once, with the table)
			}
			return m.s, true
		}
		return glancedOther{}, true
	})
	id := Identity{}
	for i, s := range []*string{&id.Domain, &id.App, &id.Stream} {
		if m := g.get(identityFields[i]); m != nil && m.isString {
			*s = m.s
		}
	}
	return Glimpse{Kind: k, Identity: id}, nil
}

// glanced are the members Glance kept, by name (the last of a name given
// twice, as Decode's map keeps it).
type glanced struct {
	n       int
	members [16]glancedMember
}

type glancedMember struct {
	name     string
	s        string // when isString
	isString bool
}

// glancedOther stands for a kept member that is not a string.
type glancedOther struct{}

func (g *glanced) get(name string) *glancedMember {
	for i := range g.members[:g.n] {
		if g.members[i].name == name {
			return &g.members[i]
		}
	}
	return nil
}

func (g *glanced) put(m glancedMember) bool {
	if old := g.get(m.name); old != nil {
		*old = m
		return true
	}
	if g.n == len(g.members) {
		return false
	}
	g.members[g.n] = m
	g.n++
	return true
}

func checkBytes(raw []byte) (Finding, bool) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return Finding{Severity: Error, Code: CodeEmpty, Message: "the body is empty: a callback is one JSON object"}, true
	}
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		return Finding{Severity: Error, Code: CodeBOM, Line: 1, Column: 1,
			Message: "the body starts with a UTF-8 byte-order mark (EF BB BF), which JSON forbids (RFC 8259 §8.1): remove it"}, true
	}
	if !utf8.Valid(raw) {
		off := invalidUTF8Offset(raw)
		line, col := lineCol(raw, off)
		return Finding{Severity: Error, Code: CodeInvalidUTF8, Line: line, Column: col,
			Message: fmt.Sprintf("invalid UTF-8 at byte %d (line %d, column %d): JSON text must be UTF-8", off, line, col)}, true
	}
	return Finding{}, false
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func syntaxFinding(raw []byte, err error) Finding {
	off := len(raw)
	msg := err.Error()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = int(se.Offset)
		if off > 0 {
			off-- // Offset counts the offending byte as read
		}
	} else if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		msg = "unexpected end of JSON input: the body is cut short"
	}
	line, col := lineCol(raw, off)
	return Finding{Severity: Error, Code: CodeNotJSON, Line: line, Column: col,
		Message: fmt.Sprintf("not valid JSON at line %d, column %d: %s", line, col, strings.TrimPrefix(msg, "json: "))}
}

// lineCol converts a byte offset into a 1-based line and column (in bytes).
func lineCol(raw []byte, off int) (line, col int) {
	if off > len(raw) {
		off = len(raw)
	}
	before := raw[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = off - bytes.LastIndexByte(before, '\n')
	return line, col
}

func jsonTypeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// ClassifyError says why an object is none of the known kinds.
type ClassifyError struct {
	Path    string
	Message string
}

func (e *ClassifyError) Error() string { return e.Message }

// Classify tells which kind an object is, from the kinds' table entries
// (KindInfo.Event and Markers; docs/spec.md, "How a callback is
// recognised"): the "event" field names stream and record callbacks, and
// among the kinds with the same event a marker field picks one (a
// record_done with "group" or "taskExternalId" is a task record); a body
// with no "event" is the kind whose marker it has (snapshotTime: a
// snapshot; module: a quality detection), the first in Kinds' order when
// it has markers of two.
func Classify(fields map[string]any) (Kind, error) {
	return classify(func(name string) (any, bool) {
		v, ok := fields[name]
		return v, ok
	})
}

// kindInfo is the table entry of e's Kind: the one Check found, unless
// Kind was changed since.
func (e *Event) kindInfo() (*KindInfo, bool) {
	if e.info != nil && e.info.Kind == e.Kind {
		return e.info, true
	}
	info, ok := table().index[e.Kind]
	return info, ok
}

// classify is Classify of the event's body.
func (e *Event) classify() (Kind, error) { return classify(e.top.get) }

// classify is Classify of the members get finds by name.
func classify(get func(name string) (any, bool)) (Kind, error) {
	info, err := classifyInfo(get)
	if info == nil {
		return "", err
	}
	return info.Kind, nil
}

// classifyInfo is classify's table entry of the kind it finds (nil: none,
// and err says why).
func classifyInfo(get func(name string) (any, bool)) (*KindInfo, error) {
	r := table()
	hasAny := func(names []string) bool {
		for _, n := range names {
			if _, ok := get(n); ok {
				return true
			}
		}
		return false
	}
	ev, present := get("event")
	if present {
		s, ok := ev.(string)
		if !ok {
			return nil, &ClassifyError{Path: "/event", Message: fmt.Sprintf("\"event\" is a JSON %s; expected one of the strings %s", jsonTypeOf(ev), strings.Join(eventValues(r), ", "))}
		}
		s = strings.TrimSpace(s)
		var plain, marked *KindInfo
		for _, k := range r.kinds {
			if k.Event != s || k.Event == "" {
				continue
			}
			if len(k.Markers) == 0 {
				plain = k
			} else if marked == nil && hasAny(k.Markers) {
				marked = k
			}
		}
		switch {
		case marked != nil:
			return marked, nil
		case plain != nil:
			return plain, nil
		}
		for _, k := range r.kinds {
			if k.Event == s {
				return nil, &ClassifyError{Message: fmt.Sprintf("a %q body without %s is none of the kinds livecb knows", s, orList(quoted(k.Markers)))}
			}
		}
		return nil, &ClassifyError{Path: "/event", Message: fmt.Sprintf("unknown event %q: expected %s (%s callbacks carry no \"event\")", s, orList(eventValues(r)), andList(noEventKinds(r)))}
	}
	for _, k := range r.kinds {
		if k.Event == "" && hasAny(k.Markers) {
			return k, nil
		}
	}
	clues := []string{fmt.Sprintf("no \"event\" (%s)", strings.Join(eventValues(r), ", "))}
	for _, k := range r.kinds {
		if k.Event == "" {
			clues = append(clues, fmt.Sprintf("no %s (%s)", orList(quoted(k.Markers)), k.Name()))
		}
	}
	return nil, &ClassifyError{Message: "cannot tell which callback this is: " + andList(clues)}
}

// eventValues are the "event" values of the table, each once, in Kinds'
// order.
func eventValues(r *registry) []string {
	var out []string
	for _, k := range r.kinds {
		if k.Event != "" && !slices.Contains(out, k.Event) {
			out = append(out, k.Event)
		}
	}
	return out
}

func noEventKinds(r *registry) []string {
	var out []string
	for _, k := range r.kinds {
		if k.Event == "" {
			out = append(out, string(k.Kind))
		}
	}
	return out
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}

// orList and andList join words the way a sentence does: "a, b or c".
func orList(words []string) string  { return joinWords(words, " or ") }
func andList(words []string) string { return joinWords(words, " and ") }

func joinWords(words []string, last string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + last + words[len(words)-1]
}

// duplicatePointers turns the parser's duplicated keys into JSON Pointers,
// each once however often its key repeats.
func duplicatePointers(dups [][]string) []string {
	out := make([]string, 0, len(dups))
	seen := make(map[string]bool, len(dups))
	for _, tokens := range dups {
		ptr := pointer(tokens...)
		if !seen[ptr] {
			seen[ptr] = true
			out = append(out, ptr)
		}
	}
	return out
}
