// Package event is livecb's one model of the live-video service's callbacks:
// the kinds, their fields, decoding that loses nothing, classification,
// validation (JSON Schema plus the rules a schema cannot express), editing of
// bodies without re-encoding what was not touched, and realistic samples.
//
// Every command (send, listen, replay, validate, the contract suite) goes
// through this package; nothing else in livecb knows field names.
//
// Per-kind behaviour is data: each kind is one table entry, in its own file
// (kind_record_done.go, ...), holding its fields, how it is recognised, its
// sample values, when the service sends it in a stream's life, its key
// fields and its time-order rules; each family is one entry of the family
// table (family.go). Classification, samples, schemas, validation, the
// stream order and the contract suite's cases are all derived from these
// entries. CONTRIBUTING.md lists what adding a kind or a family touches.
package event

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
)

// Kind names one kind of callback. Its value is the shell-friendly name
// users type (`livecb send record_done`). The constants are declared with
// each kind's table entry (kind_*.go).
type Kind string

// Family is the callback family a kind belongs to. The service's console
// configures one URL per family and publish domain, each switched on or off.
// The constants are declared with the family table (family.go).
type Family string

// KindInfo is one kind's table entry: everything livecb does differently
// for it. Each kind_*.go file registers one; see CONTRIBUTING.md.
type KindInfo struct {
	Kind   Kind
	Family Family
	// Title is what people call one callback of the kind in a sentence
	// ("quality detection"); "" is the name with spaces for underscores.
	Title       string
	Description string
	Fields      []Field

	// Event is the value of the body's "event" field that names this kind;
	// "" for kinds whose bodies carry no "event" (snapshot, quality).
	Event string
	// Markers are the fields whose presence recognises the kind. With
	// Event: a body with that event and any marker is this kind rather
	// than the event's kind without markers (task_record_done: group or
	// taskExternalId). Without Event: a body with no "event" and any
	// marker is this kind (snapshot: snapshotTime). See docs/spec.md,
	// "How a callback is recognised".
	Markers []string

	// Life says when the service sends this kind in a stream's life.
	Life Life
	// Values returns the fields of the kind's sample about stream s, sent
	// at the moment at (Life.At(s) for Sample), as JSON values; Sample
	// puts them into the fixture, along with the stream's identity. The
	// one place a kind's sample times are written.
	Values func(s Stream, at time.Time) map[string]json.RawMessage

	// KeyFields tell one callback of the kind from another, in the order
	// a one-line summary shows them (the identity is shown apart).
	KeyFields []string
	// Intervals are the pairs of times that must be in order.
	Intervals []Interval
	// Legacy maps names from the spec's tables (which its samples
	// contradict) to the names the service sends; they are accepted with a
	// warning and checked as the fields they stand for. See docs/spec.md,
	// "Defects and contradictions".
	Legacy map[string]string
	// Aliases are other names people use for the kind (the spec's wording).
	Aliases []string

	// Versions are the message versions documented for this kind; the
	// first is the one the current revision sends. The table derives them
	// from the kind's version field (its Expected values).
	Versions []string
	// legacyIntervals are Intervals under their legacy names (both
	// legacy, "" when not), filled in with the table.
	legacyIntervals [][2]string
	// Fixture is the kind's sample body when it has no file in fixtures/
	// (a kind registered by a test); built-in kinds leave it nil.
	Fixture []byte
}

// Name is the kind's Title, or its name in words.
func (k KindInfo) Name() string {
	if k.Title != "" {
		return k.Title
	}
	return strings.ReplaceAll(string(k.Kind), "_", " ")
}

// Phase is the part of a stream's life in which the service sends a kind.
// The stream order (StreamOrder) goes phase by phase.
type Phase int

const (
	PhaseStart  Phase = iota // when the stream starts (publish_started)
	PhaseDuring              // while it lives (snapshots, quality detections)
	PhaseEnd                 // when it ends (publish_done)
	PhaseAfter               // after it ended (recordings, once the files are closed)
)

func (p Phase) String() string {
	switch p {
	case PhaseStart:
		return "start"
	case PhaseDuring:
		return "during"
	case PhaseEnd:
		return "end"
	case PhaseAfter:
		return "after"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Life says when the service sends a kind's callback about a stream.
type Life struct {
	Phase Phase
	// At is when the service sends the callback about s (SentAt).
	At func(s Stream) time.Time
	// Optional kinds are sent only for some streams: a record task's
	// recording, a quality problem. A planned stream has them when asked.
	Optional bool
	// Repeats: the service sends the kind again and again while the stream
	// lives, at an interval it is configured with (snapshots).
	Repeats bool
}

// Interval is a pair of millisecond times of a kind, the first not after
// the second: a later begin than end is a time_order error.
type Interval struct {
	Begin, End string
	// In names the array field whose objects hold the pair (a record
	// task's group); "" is the body itself, where the pair is also checked
	// under its legacy names.
	In string
	// MinLength and MaxTotal are documented limits of the record-task API
	// (each span at least 10 s, 8 h in all). They are data for the contract
	// suite and the docs, not checked: the spec's own sample has 100 ms
	// spans (docs/spec.md, "Record tasks").
	MinLength, MaxTotal time.Duration
}

// JSONType is the JSON form a field's value takes in the spec's sample.
type JSONType string

const (
	TString JSONType = "string"
	TNumber JSONType = "number"
	TObject JSONType = "object"
	TArray  JSONType = "array"
)

// Field documents one field of a kind and drives the schema, the
// `events show` table, the fast path and the rules in validate.go.
type Field struct {
	Name string
	// Type is the JSON type of the value in the spec's sample.
	Type JSONType
	// Forms are the JSON forms a numeric field arrives in across the
	// spec's revisions, the sample's (Type) first. livecb accepts either
	// form for every numeric field and reports the one that differs from
	// the sample as drift (docs/spec.md, "Type drift").
	Forms []JSONType
	// Numeric fields hold a number, either as a JSON number or as a string of
	// digits: the spec's revisions disagree (docs/spec.md, "Type drift"). The
	// form that differs from the sample is accepted and reported as drift.
	Numeric bool
	// Decimal allows a fraction in the canonical form ("18439.0").
	Decimal bool
	// Millis marks a millisecond Unix timestamp.
	Millis bool
	// NonNegative values below zero are errors.
	NonNegative bool
	// Min and Max are the documented bounds of a numeric field as digits:
	// the smallest value a receiver must accept ("0": duration and fileSize
	// may be zero) and the largest its type allows ("9223372036854775807",
	// int64, for times and sizes). Data for the contract suite; only the
	// sign is checked (NonNegative).
	Min, Max string
	Unit     string
	Required bool
	Doc      string
	// Enum lists the only values the schema accepts; others are errors.
	Enum []string
	// Expected are the values the spec documents for a field whose other
	// values are warnings, not errors (status, version): receivers must
	// still accept them. Unexpected is the code of that warning.
	Expected   []string
	Unexpected Code
	// Older are values only an older revision of the spec documents
	// (status "fail"); warned about like any value outside Expected.
	Older []string
	// ID fields are identifiers: a string in the sample, sometimes a JSON
	// number from other producers (drift). Receivers must keep them as text:
	// ids beyond 2^53 lose digits in a float64.
	ID bool
	// URL fields must be absolute http(s) URLs.
	URL bool
	// Items describes the objects of an array field; MinItems and MaxItems
	// bound its length (0: no upper bound); ItemName is what one item is
	// called in a summary ("span").
	Items              []Field
	MinItems, MaxItems int
	ItemName           string
}

// TypeName is the type as people read it in `events show`.
func (f Field) TypeName() string {
	switch {
	case f.ID:
		return "string (id)"
	case f.Numeric && f.Type == TString:
		if f.Decimal {
			return "decimal string"
		}
		return "integer string"
	case f.Numeric && f.Millis:
		return "integer"
	case f.Numeric:
		return "number"
	case f.Type == TObject:
		return "object of strings"
	case f.Type == TArray:
		return "array of objects"
	case len(f.Enum) > 0:
		return "string, one of " + strings.Join(f.Enum, "|")
	}
	return string(f.Type)
}

// Kinds returns every kind in a stable order: by family in the family
// table's order (stream, record, snapshot, quality), then by phase, then by
// name.
func Kinds() []KindInfo {
	r := table()
	out := make([]KindInfo, len(r.kinds))
	for i, k := range r.kinds {
		out[i] = *k
	}
	return out
}

// KindNames returns the names of every kind, in Kinds' order.
func KindNames() []string {
	r := table()
	names := make([]string, len(r.kinds))
	for i, k := range r.kinds {
		names[i] = string(k.Kind)
	}
	return names
}

// Info returns the table entry of k, or false when k is not a kind.
func Info(k Kind) (KindInfo, bool) {
	info, ok := table().index[k]
	if !ok {
		return KindInfo{}, false
	}
	return *info, true
}

// Family returns the family of k ("" for an unknown kind).
func (k Kind) Family() Family {
	if info, ok := table().index[k]; ok {
		return info.Family
	}
	return ""
}

// UnknownKindError is returned by ParseKind; it carries the closest names.
type UnknownKindError struct {
	Name        string
	Suggestions []string
}

func (e *UnknownKindError) Error() string {
	msg := fmt.Sprintf("unknown kind %q", e.Name)
	if len(e.Suggestions) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(e.Suggestions, " or "))
	}
	return msg + "\nkinds: " + strings.Join(KindNames(), ", ")
}

// ParseKind turns a name typed by a user into a Kind. Dashes count as
// underscores and case is ignored; the kinds' aliases are accepted; an
// unknown name yields an *UnknownKindError with suggestions.
func ParseKind(name string) (Kind, error) {
	norm := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "-", "_"))
	r := table()
	if _, ok := r.index[Kind(norm)]; ok {
		return Kind(norm), nil
	}
	if k, ok := r.aliases[norm]; ok {
		return k, nil
	}
	return "", &UnknownKindError{Name: name, Suggestions: Suggest(norm, KindNames())}
}

// Suggest returns up to two of names within a small edit distance of name,
// or that contain it, the closest first: the "did you mean" of a misspelt
// name.
func Suggest(name string, names []string) []string {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	for _, n := range names {
		d := levenshtein.ComputeDistance(name, n)
		if d <= 3 && d < len(n) || (len(name) >= 3 && strings.Contains(n, name)) {
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].dist < cs[j].dist })
	out := make([]string, 0, 2)
	for i := 0; i < len(cs) && i < 2; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// LegacyNames returns the spec table's names accepted for k's fields, mapped
// to the names the service sends.
func LegacyNames(k Kind) map[string]string {
	out := map[string]string{}
	if info, ok := table().index[k]; ok {
		for old, now := range info.Legacy {
			out[old] = now
		}
	}
	return out
}
