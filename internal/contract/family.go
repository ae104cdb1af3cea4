package contract

import (
	"fmt"
	"slices"
)

// Family is a family of cases: the kind of rule they check. It is the first
// segment of each of its cases' names (the builder writes both from the
// same value), so --run '^burst/' selects a family, and it is data on the
// case (Case.Family) for reports: nothing parses it out of a name.
type Family string

const (
	FamilySample        Family = "sample"
	FamilyDrift         Family = "drift"
	FamilyEnum          Family = "enum"
	FamilyBoundary      Family = "boundary"
	FamilyOptional      Family = "optional"
	FamilyUnknownFields Family = "unknown-fields"
	FamilyPushParams    Family = "push-params"
	FamilyDuplicate     Family = "duplicate"
	FamilyOrder         Family = "order"
	FamilyReconnect     Family = "reconnect"
	FamilyBurst         Family = "burst"
	FamilyNames         Family = "names"
	FamilyBigNumbers    Family = "big-numbers"
	FamilyNegative      Family = "negative"
)

// FamilyInfo describes a family of cases for --list, the reports and the
// docs.
type FamilyInfo struct {
	Family Family
	// Title names the family in a few words.
	Title string
	// Rules says what the family's cases check and what the receiver must
	// answer, in a sentence or two.
	Rules string
	// Negative families send bodies the service never sends; they are
	// opt-in.
	Negative bool
}

// families are every family, in the suite's order (a run sends the bursts
// last, after the others, whatever their order).
var families = []FamilyInfo{
	{FamilySample, "samples",
		"every kind as the service sends it, bodies without \"event\" included (snapshot, quality): each must get 200", false},
	{FamilyDrift, "type drift",
		"numeric fields in each JSON form the spec's revisions send (numbers as strings, strings as numbers, decimal strings): each form must get 200", false},
	{FamilyEnum, "enumerated values",
		"every documented value of every enumerated field (format, quality module and type, status, version), the values only an older revision documents included (status \"fail\"): the service sends each, so each must get 200", false},
	{FamilyBoundary, "boundaries",
		"the documented edges, in each JSON form: zero-length recordings (duration and fileSize 0), the largest values the types allow (int64), a record task's group of 1 and of 10 spans, spans of 10 s and 8 h in all: each must get 200", false},
	{FamilyOptional, "optional fields",
		"the fields the spec does not require, absent one at a time and all at once: each body must get 200", false},
	{FamilyUnknownFields, "unknown fields",
		"fields of every JSON type that the receiver does not know, as revisions add them: a receiver must ignore them and answer 200", false},
	{FamilyPushParams, "push parameters",
		"pushParams empty and with unusual names and values: each must get 200", false},
	{FamilyDuplicate, "duplicates",
		"the same callback delivered twice: both deliveries must get 200 (receivers must be idempotent)", false},
	{FamilyOrder, "order",
		"a stream's callbacks in the order the service sends them and out of it, and callbacks about a stream never seen starting: each must get 200", false},
	{FamilyReconnect, "reconnects and repeated sessions",
		"the same stream name published, stopped and published again with new times, started twice without a publish_done (an encoder that reconnected), and the recordings of both sessions: each callback must get 200", false},
	{FamilyNames, "stream names",
		"stream names with non-ASCII characters, 200 characters, URL punctuation and leading zeros: each callback must get 200", false},
	{FamilyBigNumbers, "big numbers",
		"times and sizes beyond 2^31 and 2^53, and a taskExternalId beyond 2^53: each must get 200, and a verify command can check the digits were kept", false},
	{FamilyNegative, "bodies the service never sends",
		"malformed JSON, an empty body, a body that is not an object, the wrong content type: each must be rejected with a 4xx (or the status asked for), never a 5xx or a dropped connection (opt-in)", true},
	{FamilyBurst, "bursts",
		"many callbacks at once, of mixed kinds, each about its own stream: each must get its answer within the per-attempt timeout, so a receiver must not serialise requests (bursts run last, alone, so that a slow receiver's backlog fails no other family)", false},
}

// Families returns every family, in the order the suite runs them.
func Families() []FamilyInfo { return slices.Clone(families) }

// FamilyOf returns the description of f.
func FamilyOf(f Family) (FamilyInfo, bool) {
	i := slices.IndexFunc(families, func(fi FamilyInfo) bool { return fi.Family == f })
	if i < 0 {
		return FamilyInfo{}, false
	}
	return families[i], true
}

// Tally counts the outcomes of one family's cases.
type Tally struct {
	Family  Family `json:"family"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	// NotRun counts the skipped cases an interruption never reached (they
	// are in Skipped too).
	NotRun int `json:"not_run,omitempty"`
}

// Total is the number of cases counted.
func (t Tally) Total() int { return t.Passed + t.Failed + t.Skipped }

func (t Tally) String() string {
	s := fmt.Sprintf("%d passed, %d failed, %d skipped", t.Passed, t.Failed, t.Skipped)
	if t.NotRun > 0 {
		s += fmt.Sprintf(" (%d not run)", t.NotRun)
	}
	return s
}

// Summary is the outcome of a run by family, in the families' order (only
// families with a case in results), and over all.
type Summary struct {
	Families []Tally `json:"families"`
	All      Tally   `json:"all"`
}

// Summarize counts results by family.
func Summarize(results []Result) Summary {
	byFamily := map[Family]*Tally{}
	var s Summary
	for _, r := range results {
		if r.Case == nil {
			continue
		}
		t := byFamily[r.Case.Family]
		if t == nil {
			t = &Tally{Family: r.Case.Family}
			byFamily[r.Case.Family] = t
		}
		for _, t := range []*Tally{t, &s.All} {
			switch r.Outcome {
			case Pass:
				t.Passed++
			case Fail:
				t.Failed++
			default:
				t.Skipped++
				if r.NotRun {
					t.NotRun++
				}
			}
		}
	}
	for _, fi := range families {
		if t := byFamily[fi.Family]; t != nil {
			s.Families = append(s.Families, *t)
			delete(byFamily, fi.Family)
		}
	}
	// A family not in the table (a case built by hand) comes last.
	var rest []Family
	for f := range byFamily {
		rest = append(rest, f)
	}
	slices.Sort(rest)
	for _, f := range rest {
		s.Families = append(s.Families, *byFamily[f])
	}
	s.All.Family = ""
	return s
}
