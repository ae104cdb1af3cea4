// Package contract is livecb's contract-test suite for callback receivers:
// named cases, each stating the spec rule it checks, that deliver realistic
// callbacks (and the variations the live-video service really sends) to a
// running receiver and check its answers, optionally its side effects
// through a user's command, and report in JUnit XML for CI.
//
// Bodies come from internal/event (samples, edits that keep every untouched
// byte); the package knows no callback field names.
package contract

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/livecb/livecb/internal/event"
)

// Callback is one request a case sends.
type Callback struct {
	// Kind of the body; "" for the negative cases' bodies, which are not
	// callbacks (they are routed as stream callbacks).
	Kind event.Kind
	Body []byte
	// ContentType is application/json unless set.
	ContentType string
}

// Case is one named check of a receiver.
type Case struct {
	Name string
	// Rule is what the spec (or the service's behaviour) says the receiver
	// must survive, in one sentence.
	Rule string
	// Negative cases send bodies the service never sends; they are opt-in
	// and expect a 4xx by default.
	Negative  bool
	Stream    event.Stream
	Callbacks []Callback
	// TaskExternalID is the taskExternalId the case's task record carries
	// ("" when it sends none): a --verify-cmd checks it was stored intact.
	TaskExternalID string
}

// Kinds returns the kinds of the case's callbacks, in order.
func (c *Case) Kinds() []event.Kind {
	out := make([]event.Kind, len(c.Callbacks))
	for i, cb := range c.Callbacks {
		out[i] = cb.Kind
	}
	return out
}

// SuiteOptions shape the bodies of the suite.
type SuiteOptions struct {
	// Now is when the streams end.
	Now time.Time
	// Seed makes stream names and times reproducible.
	Seed uint64
	// Domain and App, when set, replace the samples' publish domain and app
	// (so that routes in the config file apply).
	Domain string
	App    string
}

// int64Offset moves millisecond times beyond 2^53 while keeping them inside
// int64 and keeping their order.
const int64Offset = 9_000_000_000_000_000_000

// maxInt64 is the largest size a receiver storing sizes in an int64 must
// take.
const maxInt64 = "9223372036854775807"

type builder struct {
	opts  SuiteOptions
	rnd   *rand.Rand
	names map[string]bool
	cases []Case
	err   error
}

// stream returns a fresh stream with a name no other case uses, so that a
// --verify-cmd can look a case's rows up by stream name. Its taskExternalId
// is odd, hence not representable in a float64 (it is beyond 2^53): a
// receiver that parses it as a number loses its last digits.
func (b *builder) stream() event.Stream {
	for i := 0; ; i++ {
		s := event.NewStream(b.opts.Now, b.rnd)
		if b.opts.Domain != "" {
			s.Domain = b.opts.Domain
		}
		if b.opts.App != "" {
			s.App = b.opts.App
		}
		id, _ := strconv.ParseUint(s.TaskExternalID, 10, 64)
		s.TaskExternalID = strconv.FormatUint(id|1, 10)
		if !b.names[s.Name] || i > 100 {
			b.names[s.Name] = true
			return s
		}
	}
}

func (b *builder) sample(k event.Kind, s event.Stream) []byte {
	body, err := event.Sample(k, s)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("sample %s: %w", k, err)
	}
	return body
}

func (b *builder) set(body []byte, path string, v json.RawMessage) []byte {
	out, err := event.Set(body, path, v)
	if err != nil {
		if b.err == nil {
			b.err = fmt.Errorf("edit %s: %w", path, err)
		}
		return body
	}
	return out
}

// add appends a case; the task record's id is noted for --verify-cmd.
func (b *builder) add(c Case) {
	for _, cb := range c.Callbacks {
		if cb.Kind == event.TaskRecordDone && c.Stream.TaskExternalID != "" {
			c.TaskExternalID = c.Stream.TaskExternalID
		}
	}
	b.cases = append(b.cases, c)
}

// kindList names kinds in a rule: "publish_started, snapshot".
func kindList(kinds []event.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// Suite returns every case, negative ones included, in a stable order.
func Suite(opts SuiteOptions) ([]Case, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	b := &builder{opts: opts, rnd: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), names: map[string]bool{}}
	kinds := event.Kinds()

	// Every kind, as the service sends it.
	for _, info := range kinds {
		k := info.Kind
		s := b.stream()
		what, _, _ := strings.Cut(info.Description, " (")
		rule := fmt.Sprintf("every kind: a realistic %s callback (%s) must get 200", k, what)
		if info.Event == "" {
			rule = fmt.Sprintf("%s callbacks (%s) carry no \"event\" field: a receiver must not require one", k, what)
		}
		b.add(Case{Name: "sample/" + string(k), Rule: rule, Stream: s,
			Callbacks: []Callback{{Kind: k, Body: b.sample(k, s)}}})
	}

	// The documented type drift, one variation at a time.
	for _, info := range kinds {
		k := info.Kind
		for _, d := range drifts {
			s := b.stream()
			body := b.sample(k, s)
			changed := false
			for _, nv := range event.NumericValues(k, body) {
				if v, ok := d.apply(nv); ok {
					body = b.set(body, nv.Path, v)
					changed = true
				}
			}
			if !changed {
				continue
			}
			b.add(Case{Name: "drift/" + string(k) + "/" + d.name, Rule: d.rule, Stream: s,
				Callbacks: []Callback{{Kind: k, Body: body}}})
		}
	}

	// Fields the receiver does not know.
	for _, info := range kinds {
		k := info.Kind
		s := b.stream()
		body := b.sample(k, s)
		body = b.set(body, "livecbUnknownString", event.StringValue("added by a newer revision"))
		body = b.set(body, "livecbUnknownNumber", json.RawMessage("163594946396839937"))
		body = b.set(body, "livecbUnknownObject", json.RawMessage(`{"nested":[1,"two",null,true,{"deep":{}}]}`))
		body = b.set(body, "livecbUnknownNull", json.RawMessage("null"))
		b.add(Case{Name: "unknown-fields/" + string(k), Stream: s,
			Rule:      "receivers must ignore fields they do not know: revisions add fields (snapshots gained an id) and a strict decoder breaks on them",
			Callbacks: []Callback{{Kind: k, Body: body}}})
	}

	// Optional fields left out.
	for _, info := range kinds {
		k := info.Kind
		optional := event.OptionalFields(k)
		if len(optional) == 0 {
			continue
		}
		s := b.stream()
		body := b.sample(k, s)
		for _, name := range optional {
			if out, err := event.Unset(body, name); err == nil {
				body = out
			}
		}
		c := Case{Name: "optional-absent/" + string(k), Stream: s,
			Rule:      fmt.Sprintf("fields the spec does not require (%s) may be absent", strings.Join(optional, ", ")),
			Callbacks: []Callback{{Kind: k, Body: body}}}
		b.add(c)
		if k == event.TaskRecordDone {
			// The id is gone from the body: nothing to verify.
			b.cases[len(b.cases)-1].TaskExternalID = ""
		}
	}

	// Push parameters: none at all.
	{
		s := b.stream()
		s.PushParams = [][2]string{}
		b.add(Case{Name: "push-params/empty", Stream: s,
			Rule:      "a stream pushed without query parameters has empty pushParams ({})",
			Callbacks: []Callback{{Kind: event.PublishStarted, Body: b.sample(event.PublishStarted, s)}}})
		s = b.stream()
		s.PushParams = [][2]string{{"token", "a1b2c3"}, {"名前", "ライブ配信"}, {"empty", ""}, {"expire", "1553741853"}, {"url", "http://x.example/?a=b&c=d"}}
		b.add(Case{Name: "push-params/unusual", Stream: s,
			Rule:      "pushParams are the push URL's query parameters: non-ASCII names and values, empty values, numbers kept as strings",
			Callbacks: []Callback{{Kind: event.PublishStarted, Body: b.sample(event.PublishStarted, s)}}})
	}

	// The same callback twice: the service may repeat itself.
	for _, info := range kinds {
		k := info.Kind
		s := b.stream()
		body := b.sample(k, s)
		b.add(Case{Name: "duplicate/" + string(k), Stream: s,
			Rule:      "the same callback delivered twice must get 200 both times (receivers must be idempotent)",
			Callbacks: []Callback{{Kind: k, Body: body}, {Kind: k, Body: body}}})
	}

	// Lifecycles: every kind, in the order of a stream's life and out of
	// it (event.StreamOrder and the kinds' phases).
	order := event.StreamOrder()
	lifecycles := []struct {
		name, rule string
		kinds      []event.Kind
	}{
		{"lifecycle/in-order", "a stream's callbacks in the order the service sends them: " + kindList(order), order},
		{"lifecycle/done-before-started", "callbacks may arrive out of order: " + kindList(event.InPhase(event.PhaseEnd)) + " before " + kindList(event.InPhase(event.PhaseStart)),
			event.InPhase(event.PhaseEnd, event.PhaseStart)},
		{"lifecycle/record-after-done", "recordings are reported after the stream ended, and callbacks of its life may come late: " + kindList(event.InPhase(event.PhaseAfter)) + " after " + kindList(event.InPhase(event.PhaseEnd)) + " must still be accepted",
			event.InPhase(event.PhaseStart, event.PhaseEnd, event.PhaseAfter, event.PhaseDuring)},
		{"lifecycle/unknown-stream", "a recording, snapshot or detection (" + kindList(event.InPhase(event.PhaseAfter, event.PhaseDuring)) + ") may concern a stream the receiver never saw start (lost or earlier callback)",
			event.InPhase(event.PhaseAfter, event.PhaseDuring)},
	}
	for _, lc := range lifecycles {
		s := b.stream()
		c := Case{Name: lc.name, Rule: lc.rule, Stream: s}
		for _, k := range lc.kinds {
			c.Callbacks = append(c.Callbacks, Callback{Kind: k, Body: b.sample(k, s)})
		}
		b.add(c)
	}

	// Stream names.
	names := []struct{ name, rule, stream string }{
		{"names/non-ascii", "stream names may hold any UTF-8: CJK, accents, emoji", "直播间-Ünïcödé-🎥"},
		{"names/long", "stream names may be long (200 characters)", strings.Repeat("long-stream-name-", 12) + "0123456789abcdef"},
		{"names/unusual", "a stream name is the rest of the push URL's path: dots, slashes, tildes, plus signs, percent signs", "sub/path.stream-01~hd+low%20x@2_"},
		{"names/leading-zeros", "a stream name of digits is a string: leading zeros must survive", "000350802"},
	}
	for _, n := range names {
		s := b.stream()
		s.Name = n.stream
		c := Case{Name: n.name, Rule: n.rule, Stream: s}
		for _, k := range []event.Kind{event.PublishStarted, event.PublishDone, event.RecordDone} {
			c.Callbacks = append(c.Callbacks, Callback{Kind: k, Body: b.sample(k, s)})
		}
		b.add(c)
	}

	// int64-sized values.
	for _, info := range kinds {
		k := info.Kind
		s := b.stream()
		body := b.sample(k, s)
		for _, nv := range event.NumericValues(k, body) {
			var digits string
			switch {
			case nv.Field.Millis:
				ms, err := strconv.ParseInt(strings.TrimSuffix(nv.Digits(), ".0"), 10, 64)
				if err != nil {
					continue
				}
				digits = strconv.FormatInt(ms+int64Offset, 10)
			case !nv.Field.Decimal:
				digits = maxInt64
			default:
				continue
			}
			v := json.RawMessage(digits)
			if nv.IsString() {
				v = event.StringValue(digits)
			}
			body = b.set(body, nv.Path, v)
		}
		b.add(Case{Name: "int64/" + string(k), Stream: s,
			Rule:      "times and sizes are int64-sized: values beyond 2^31 and 2^53 must not overflow or lose digits",
			Callbacks: []Callback{{Kind: k, Body: body}}})
	}

	// A taskExternalId beyond 2^53.
	{
		s := b.stream()
		s.TaskExternalID = "9007199254740993" // 2^53 + 1: a float64 turns it into ...992
		b.add(Case{Name: "big-id/task_record_done", Stream: s,
			Rule:      "taskExternalId may exceed 2^53 (the spec's sample does): store it as a string or int64, never through a float64",
			Callbacks: []Callback{{Kind: event.TaskRecordDone, Body: b.sample(event.TaskRecordDone, s)}}})
	}

	// Negative cases: bodies the service never sends.
	{
		s := b.stream()
		good := b.sample(event.PublishStarted, s)
		negatives := []struct {
			name, rule string
			cb         Callback
		}{
			{"negative/malformed-json", "a body that is not JSON must be rejected with a 4xx, never a 5xx or a dropped connection",
				Callback{Body: good[:len(good)/2]}},
			{"negative/empty-body", "an empty body must be rejected with a 4xx, never a 5xx or a dropped connection",
				Callback{Body: []byte{}}},
			{"negative/not-an-object", "a JSON body that is not an object must be rejected with a 4xx, never a 5xx",
				Callback{Body: []byte(`["publish_started"]`)}},
			{"negative/wrong-content-type", "a body sent as text/plain must be rejected with a 4xx (or accepted: see --negative-expect), never a 5xx",
				Callback{Kind: event.PublishStarted, Body: good, ContentType: "text/plain; charset=utf-8"}},
		}
		for _, n := range negatives {
			b.add(Case{Name: n.name, Rule: n.rule, Negative: true, Stream: s, Callbacks: []Callback{n.cb}})
		}
	}
	if b.err != nil {
		return nil, b.err
	}
	return b.cases, nil
}

// drift is one documented change of a numeric field's JSON form between
// revisions of the spec (docs/spec.md, "Type drift").
type drift struct {
	name, rule string
	apply      func(event.NumericValue) (json.RawMessage, bool)
}

var drifts = []drift{
	{"numbers-as-strings", "numeric fields arrive as strings of digits in some revisions: receivers must accept both forms",
		func(nv event.NumericValue) (json.RawMessage, bool) {
			if nv.IsString() {
				return nil, false
			}
			return event.StringValue(nv.Digits()), true
		}},
	{"strings-as-numbers", "numeric fields the sample holds as strings (duration, sizes, spans) arrive as JSON numbers in other revisions",
		func(nv event.NumericValue) (json.RawMessage, bool) {
			if !nv.IsString() || !json.Valid([]byte(nv.Digits())) {
				return nil, false
			}
			return json.RawMessage(nv.Digits()), true
		}},
	{"decimal-strings", "numeric strings may carry a decimal part, as duration does (\"18439.0\"): parse them as decimals, not integers",
		func(nv event.NumericValue) (json.RawMessage, bool) {
			if !nv.IsString() || nv.Field.Type != event.TString || strings.Contains(nv.Digits(), ".") {
				return nil, false
			}
			return event.StringValue(nv.Digits() + ".0"), true
		}},
}

// Select returns the cases whose names match run (all when nil) and do not
// match skip, leaving out negative cases unless negative is set.
func Select(cases []Case, run, skip *regexp.Regexp, negative bool) []Case {
	var out []Case
	for _, c := range cases {
		if c.Negative && !negative {
			continue
		}
		if run != nil && !run.MatchString(c.Name) {
			continue
		}
		if skip != nil && skip.MatchString(c.Name) {
			continue
		}
		out = append(out, c)
	}
	return out
}
