// Package contract is livecb's contract-test suite for callback receivers:
// named cases, each in a family and stating the spec rule it checks, that
// deliver realistic callbacks (and the variations the live-video service
// really sends) to a running receiver and check its answers, optionally its
// side effects through a user's command, and report in JUnit XML for CI.
//
// Bodies come from internal/event (samples, edits that keep every untouched
// byte) and the cases that vary a value come from its kind table (the
// documented values, forms and bounds of each field): the package knows no
// callback field names, and a value added to the table adds its cases.
//
// Each case is a baseline a correct receiver accepts (a kind's sample about
// a fresh stream) changed in one respect, so that a failure names the rule
// that was broken. Every case has identities of its own (stream names,
// taskExternalIds), unique by construction across the run, unless identity
// is the point of the case (a repeated callback, a stream published again).
package contract

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
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
	// Stream is the stream the callback is about.
	Stream event.Stream
	Body   []byte
	// ContentType is application/json unless set.
	ContentType string
	// TaskExternalID is the value of the body's id field (taskExternalId),
	// "" when it has none.
	TaskExternalID string
}

// Case is one named check of a receiver.
type Case struct {
	// Name is the family, a slash, and what the case is within it.
	Name   string
	Family Family
	// Rule is what the spec (or the service's behaviour) says the receiver
	// must survive, in one sentence.
	Rule string
	// Negative cases send bodies the service never sends; they are opt-in
	// and expect a 4xx by default.
	Negative bool
	// Burst cases send all their callbacks at once; the others send them
	// one after the other, in order.
	Burst bool
	// Stream is the stream of the case's first callback.
	Stream    event.Stream
	Callbacks []Callback
	// TaskExternalID is the taskExternalId the case's task records carry
	// when they all carry the same one ("" otherwise): a --verify-cmd checks
	// it was stored intact.
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

// Streams returns the streams the case's callbacks are about, each once, in
// the order they first appear.
func (c *Case) Streams() []event.Stream {
	var out []event.Stream
	seen := map[event.Identity]bool{}
	for _, cb := range c.Callbacks {
		id := identity(cb.Stream)
		if !seen[id] {
			seen[id] = true
			out = append(out, cb.Stream)
		}
	}
	return out
}

// TaskExternalIDs returns the distinct taskExternalIds the case's callbacks
// carry, in order.
func (c *Case) TaskExternalIDs() []string {
	var out []string
	for _, cb := range c.Callbacks {
		if cb.TaskExternalID != "" && !slices.Contains(out, cb.TaskExternalID) {
			out = append(out, cb.TaskExternalID)
		}
	}
	return out
}

func identity(s event.Stream) event.Identity {
	return event.Identity{Domain: s.Domain, App: s.App, Stream: s.Name}
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
	// Burst is how many callbacks a burst case sends at once: 0 is
	// DefaultBurst, a negative value leaves the burst cases out.
	Burst int
}

// DefaultBurst is the size of a burst unless SuiteOptions say otherwise.
const DefaultBurst = 50

// int64Offset moves millisecond times beyond 2^53 while keeping them inside
// int64 and keeping their order.
const int64Offset = 9_000_000_000_000_000_000

// bigID is 2^53 + 1: a float64 turns it into ...992. Cases that need an id
// beyond 2^53 take bigID, bigID+2, ... (all odd, all lost by a float64).
const bigID = 1<<53 + 1

type builder struct {
	opts SuiteOptions
	rnd  *rand.Rand
	// tag and digits are the run's own prefix of identities (letters and
	// digits, and digits only), from the seed; serial counts the streams
	// handed out. A stream's name holds its serial, which no other stream
	// of the run has: unique by construction.
	tag, digits string
	serial      int
	// idBase is odd and beyond 2^57: stream n's taskExternalId is
	// idBase+2n, odd too, hence not representable in a float64.
	idBase uint64
	bigIDs int
	cases  []Case
	err    error
}

func newBuilder(opts SuiteOptions) *builder {
	rnd := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = alphabet[rnd.IntN(len(alphabet))]
	}
	return &builder{opts: opts, rnd: rnd, tag: string(tag), digits: fmt.Sprintf("%06d", rnd.IntN(1000000)),
		idBase: (1<<57 + rnd.Uint64N(1<<56)) | 1}
}

// stream returns a fresh stream: a name and a taskExternalId no other
// stream of the run has, its own times and client address.
func (b *builder) stream() event.Stream {
	b.serial++
	s := event.NewStream(b.opts.Now, b.rnd)
	s.Name = "livecb-" + b.unique()
	s.TaskExternalID = strconv.FormatUint(b.idBase+2*uint64(b.serial), 10)
	if b.opts.Domain != "" {
		s.Domain = b.opts.Domain
	}
	if b.opts.App != "" {
		s.App = b.opts.App
	}
	return s
}

// unique is the current stream's part of a name: the run's tag and the
// serial ("k3x9q2-0042"); uniqueDigits is the same in digits only.
func (b *builder) unique() string       { return fmt.Sprintf("%s-%04d", b.tag, b.serial) }
func (b *builder) uniqueDigits() string { return fmt.Sprintf("%s%04d", b.digits, b.serial) }

func (b *builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *builder) sample(k event.Kind, s event.Stream) []byte {
	body, err := event.Sample(k, s)
	if err != nil {
		b.fail(fmt.Errorf("sample %s: %w", k, err))
	}
	return body
}

func (b *builder) set(body []byte, path string, v json.RawMessage) []byte {
	out, err := event.Set(body, path, v)
	if err != nil {
		b.fail(fmt.Errorf("edit %s: %w", path, err))
		return body
	}
	return out
}

// cb is a callback of kind k about s with body (the sample when nil).
func (b *builder) cb(k event.Kind, s event.Stream, body []byte) Callback {
	if body == nil {
		body = b.sample(k, s)
	}
	return Callback{Kind: k, Stream: s, Body: body}
}

// add appends a case of family f named f/name. The case's stream is its
// first callback's; each callback's id field is noted for --verify-cmd.
func (b *builder) add(f Family, name, rule string, c Case, cbs ...Callback) {
	c.Name, c.Family, c.Rule = string(f)+"/"+name, f, rule
	if fi, ok := FamilyOf(f); ok && fi.Negative {
		c.Negative = true
	}
	c.Callbacks = append(c.Callbacks, cbs...)
	if len(c.Callbacks) > 0 {
		c.Stream = c.Callbacks[0].Stream
	}
	for i := range c.Callbacks {
		c.Callbacks[i].TaskExternalID = idOf(c.Callbacks[i])
	}
	if ids := c.TaskExternalIDs(); len(ids) == 1 {
		c.TaskExternalID = ids[0]
	}
	b.cases = append(b.cases, c)
}

// idOf is the value of the body's id field (the table's ID fields).
func idOf(cb Callback) string {
	info, ok := event.Info(cb.Kind)
	if !ok {
		return ""
	}
	ev, err := event.Decode(cb.Body)
	if err != nil {
		return ""
	}
	for _, f := range info.Fields {
		if f.ID {
			if v := ev.Number(f.Name); v != "" {
				return v
			}
		}
	}
	return ""
}

// kindList names kinds in a rule: "publish_started, snapshot".
func kindList(kinds []event.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// Suite returns every case, negative ones included, in a stable order:
// family by family, in the order of Families.
func Suite(opts SuiteOptions) ([]Case, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Burst == 0 {
		opts.Burst = DefaultBurst
	}
	b := newBuilder(opts)
	kinds := event.Kinds()
	b.samples(kinds)
	b.drift(kinds)
	b.enums(kinds)
	b.boundaries(kinds)
	b.optional(kinds)
	b.unknownFields(kinds)
	b.pushParams()
	b.duplicates(kinds)
	b.order()
	b.reconnects()
	b.names()
	b.bigNumbers(kinds)
	b.negatives()
	b.bursts(kinds, opts.Burst)
	if b.err != nil {
		return nil, b.err
	}
	return b.cases, nil
}

// Every kind, as the service sends it.
func (b *builder) samples(kinds []event.KindInfo) {
	for _, info := range kinds {
		k := info.Kind
		what, _, _ := strings.Cut(info.Description, " (")
		rule := fmt.Sprintf("every kind: a realistic %s callback (%s) must get 200", k, what)
		if info.Event == "" {
			rule = fmt.Sprintf("%s callbacks (%s) carry no \"event\" field: a receiver must not require one", k, what)
		}
		b.add(FamilySample, string(k), rule, Case{}, b.cb(k, b.stream(), nil))
	}
}

// The documented type drift, one variation at a time.
func (b *builder) drift(kinds []event.KindInfo) {
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
			if changed {
				b.add(FamilyDrift, string(k)+"/"+d.name, d.rule, Case{}, b.cb(k, s, body))
			}
		}
	}
}

// enumerated is a field with documented values, at a concrete path of the
// sample (an array's fields at its first item).
type enumerated struct {
	path  string
	field event.Field
}

func enumeratedFields(fields []event.Field, prefix string) []enumerated {
	var out []enumerated
	for _, f := range fields {
		if len(f.Enum) > 0 || len(f.Expected) > 0 || len(f.Older) > 0 {
			out = append(out, enumerated{prefix + f.Name, f})
		}
		if f.Type == event.TArray {
			out = append(out, enumeratedFields(f.Items, prefix+f.Name+".0.")...)
		}
	}
	return out
}

// Every documented value of every enumerated field: the only values
// allowed (Enum), the expected ones (Expected) and those only an older
// revision documents (Older), which the service may still send.
func (b *builder) enums(kinds []event.KindInfo) {
	for _, info := range kinds {
		k := info.Kind
		for _, e := range enumeratedFields(info.Fields, "") {
			f := e.field
			documented := slices.Concat(f.Enum, f.Expected)
			list := strings.Join(quoteAll(documented), ", ")
			for _, v := range documented {
				rule := fmt.Sprintf("%s %s takes the documented values %s: the service sends each, so %q must get 200", k, e.path, list, v)
				if len(f.Enum) > 0 {
					rule = fmt.Sprintf("%s %s is one of %s: the service sends each, so %q must get 200", k, e.path, list, v)
				}
				b.enumCase(k, e.path, v, rule)
			}
			for _, v := range f.Older {
				if slices.Contains(documented, v) {
					continue
				}
				rule := fmt.Sprintf("%s %s %q is documented only by an older revision of the spec (the current one documents %s): the service may still send it, so it must get 200 (record the value; do not reject the callback)", k, e.path, v, list)
				b.enumCase(k, e.path, v, rule)
			}
		}
	}
}

func (b *builder) enumCase(k event.Kind, path, v, rule string) {
	s := b.stream()
	body := b.set(b.sample(k, s), path, event.StringValue(v))
	b.add(FamilyEnum, string(k)+"/"+path+"/"+v, rule, Case{}, b.cb(k, s, body))
}

func quoteAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strconv.Quote(v)
	}
	return out
}

// Every documented bound: each numeric field at its Min and Max in each of
// its forms, every field at its minimum at once (a zero-length recording),
// the times at the top of their type, and each array of intervals (a
// record task's group) at its documented edges.
func (b *builder) boundaries(kinds []event.KindInfo) {
	for _, info := range kinds {
		k := info.Kind
		b.fieldBounds(k)
		b.allAtMin(info)
		b.timesAtMax(k)
		for _, iv := range info.Intervals {
			if iv.In != "" {
				b.intervalBounds(info, iv)
			}
		}
	}
}

// valueIn is digits as a JSON value of form: a number, or a string (with
// the ".0" the sample writes when its value had a fraction).
func valueIn(digits string, form event.JSONType, nv event.NumericValue) json.RawMessage {
	if form == event.TNumber {
		return json.RawMessage(digits)
	}
	if nv.Field.Decimal && strings.Contains(nv.Digits(), ".") && !strings.Contains(digits, ".") {
		digits += ".0"
	}
	return event.StringValue(digits)
}

func (b *builder) fieldBounds(k event.Kind) {
	for _, nv := range event.NumericValues(k, b.sample(k, b.baseStream())) {
		f := nv.Field
		if f.Millis {
			continue // times move together (timesAtMax): one alone would break their order
		}
		for _, bound := range []struct{ name, digits, what string }{
			{"min", f.Min, "the smallest value the spec allows"},
			{"max", f.Max, "the largest value its type allows"},
		} {
			if bound.digits == "" {
				continue
			}
			for _, form := range f.Forms {
				s := b.stream()
				body := b.sample(k, s)
				v := valueIn(bound.digits, form, nv)
				body = b.set(body, nv.Path, v)
				rule := fmt.Sprintf("%s %s may be %s, %s, sent as a JSON %s (%s): it must get 200", k, nv.Path, bound.digits, bound.what, form, v)
				b.add(FamilyBoundary, fmt.Sprintf("%s/%s/%s/%s", k, nv.Path, bound.name, form), rule, Case{}, b.cb(k, s, body))
			}
		}
	}
}

// baseStream is a stream for reading a sample's shape (not a case's).
func (b *builder) baseStream() event.Stream {
	return event.Stream{Domain: "push.yourdomain.com", App: "live", Name: "livecb-shape", TaskExternalID: "1",
		Start: b.opts.Now.Add(-time.Minute), End: b.opts.Now}
}

// allAtMin sets every numeric field with a Min to it and gives each
// interval of the body (not of its arrays) zero length: a recording of
// nothing, as the service reports one (duration and fileSize 0).
func (b *builder) allAtMin(info event.KindInfo) {
	k := info.Kind
	if !slices.ContainsFunc(event.NumericValues(k, b.sample(k, b.baseStream())), func(nv event.NumericValue) bool {
		return nv.Field.Min != "" && !nv.Field.Millis
	}) {
		return
	}
	s := b.stream()
	body := b.sample(k, s)
	var set []string
	for _, nv := range event.NumericValues(k, body) {
		if nv.Field.Min != "" && !nv.Field.Millis {
			body = b.set(body, nv.Path, valueIn(nv.Field.Min, nv.Field.Type, nv))
			set = append(set, nv.Path+" "+nv.Field.Min)
		}
	}
	name := "all-min"
	rule := fmt.Sprintf("every field of %s at its smallest documented value at once (%s): it must get 200", k, strings.Join(set, ", "))
	times := map[string]json.RawMessage{}
	for _, nv := range event.TimeValues(k, body) {
		times[nv.Path] = nv.Raw
	}
	for _, iv := range info.Intervals {
		if iv.In != "" {
			continue
		}
		if begin, ok := times[iv.Begin]; ok {
			body = b.set(body, iv.End, begin)
			name = "zero-length"
			rule = fmt.Sprintf("a zero-length %s: %s, and %s equal to %s; the service reports empty recordings, so it must get 200", k, strings.Join(set, ", "), iv.End, iv.Begin)
		}
	}
	b.add(FamilyBoundary, string(k)+"/"+name, rule, Case{}, b.cb(k, s, body))
}

// timesAtMax moves every time of a body by the same amount so that the
// latest is the largest value the fields' type allows, in each form the
// fields take (variant j puts each field in its j-th form, or its first).
func (b *builder) timesAtMax(k event.Kind) {
	shape := event.TimeValues(k, b.sample(k, b.baseStream()))
	var top int64 = math.MaxInt64
	forms := 0
	for _, nv := range shape {
		if nv.Field.Max == "" {
			return // no documented top: nothing to test
		}
		m, err := strconv.ParseInt(nv.Field.Max, 10, 64)
		if err != nil {
			b.fail(fmt.Errorf("%s %s: Max %q is not an int64", k, nv.Path, nv.Field.Max))
			return
		}
		top = min(top, m)
		forms = max(forms, len(nv.Field.Forms))
	}
	if len(shape) == 0 {
		return
	}
	label := func(j int) string {
		for _, nv := range shape {
			if len(nv.Field.Forms) > j {
				return string(nv.Field.Forms[j])
			}
		}
		return string(shape[0].Field.Forms[0])
	}
	for j := 0; j < forms; j++ {
		s := b.stream()
		body := b.sample(k, s)
		values := event.TimeValues(k, body)
		var latest int64
		for _, nv := range values {
			ms, err := strconv.ParseInt(nv.Digits(), 10, 64)
			if err != nil {
				b.fail(fmt.Errorf("%s %s: sample time %q is not whole milliseconds", k, nv.Path, nv.Digits()))
				return
			}
			latest = max(latest, ms)
		}
		for _, nv := range values {
			ms, _ := strconv.ParseInt(nv.Digits(), 10, 64)
			form := nv.Field.Forms[0]
			if j < len(nv.Field.Forms) {
				form = nv.Field.Forms[j]
			}
			body = b.set(body, nv.Path, valueIn(strconv.FormatInt(ms+(top-latest), 10), form, nv))
		}
		rule := fmt.Sprintf("times are int64 milliseconds: %s with its latest time at %d, the largest an int64 holds (times as JSON %s), must get 200", k, top, label(j))
		b.add(FamilyBoundary, fmt.Sprintf("%s/times/max/%s", k, label(j)), rule, Case{}, b.cb(k, s, body))
	}
}

// intervalBounds sends an array of intervals (a record task's group) with
// the fewest and the most items it may have, each at the shortest length
// and together at the longest total the table documents, in each form of
// the times.
func (b *builder) intervalBounds(info event.KindInfo, iv event.Interval) {
	k := info.Kind
	var arr, beginField *event.Field
	for i := range info.Fields {
		if info.Fields[i].Name == iv.In {
			arr = &info.Fields[i]
		}
	}
	for i := 0; arr != nil && i < len(arr.Items); i++ {
		if arr.Items[i].Name == iv.Begin {
			beginField = &arr.Items[i]
		}
	}
	if arr == nil || beginField == nil {
		b.fail(fmt.Errorf("%s: interval in %q: no such array or field", k, iv.In))
		return
	}
	item := arr.ItemName
	if item == "" {
		item = "item"
	}
	counts := []int{max(arr.MinItems, 1)}
	if arr.MaxItems > counts[0] {
		counts = append(counts, arr.MaxItems)
	}
	type shape struct {
		name, what string
		each       func(n int) time.Duration
	}
	var shapes []shape
	if iv.MinLength > 0 {
		shapes = append(shapes, shape{"each-" + short(iv.MinLength), "each " + short(iv.MinLength) + " long, the shortest allowed",
			func(int) time.Duration { return iv.MinLength }})
	}
	if iv.MaxTotal > 0 {
		shapes = append(shapes, shape{short(iv.MaxTotal) + "-in-all", short(iv.MaxTotal) + " in all, the longest allowed",
			func(n int) time.Duration { return iv.MaxTotal / time.Duration(n) }})
	}
	if len(shapes) == 0 {
		shapes = append(shapes, shape{"each-1m", "each 1 minute long", func(int) time.Duration { return time.Minute }})
	}
	const gap = time.Second
	for _, n := range counts {
		for _, sh := range shapes {
			for _, form := range beginField.Forms {
				s := b.stream()
				span := sh.each(n).Truncate(time.Millisecond)
				// The stream lasts as long as the spans and the gaps around them.
				s.Start = s.End.Add(-time.Duration(n)*span - time.Duration(n+1)*gap)
				body := b.sample(k, s)
				template, err := rawAt(body, iv.In+".0")
				if err != nil {
					b.fail(fmt.Errorf("%s: %w", k, err))
					return
				}
				items := make([]json.RawMessage, n)
				at := s.Start.Add(gap)
				for i := range items {
					it := b.set(template, iv.Begin, timeIn(at, form))
					items[i] = b.set(it, iv.End, timeIn(at.Add(span), form))
					at = at.Add(span + gap)
				}
				list, _ := json.Marshal(items)
				body = b.set(body, iv.In, list)
				noun := item
				if n != 1 {
					noun += "s"
				}
				rule := fmt.Sprintf("%s %s holds %d to %d %ss, each at least %s, %s in all (docs/spec.md, \"Record tasks\"): %d %s %s (times as JSON %s) must get 200",
					k, iv.In, max(arr.MinItems, 1), arr.MaxItems, item, short(iv.MinLength), short(iv.MaxTotal), n, noun, sh.what, form)
				b.add(FamilyBoundary, fmt.Sprintf("%s/%s/%d-%s-%s/%s", k, iv.In, n, noun, sh.name, form), rule, Case{}, b.cb(k, s, body))
			}
		}
	}
}

// timeIn is t in milliseconds as a JSON value of form.
func timeIn(t time.Time, form event.JSONType) json.RawMessage {
	ms := strconv.FormatInt(t.UnixMilli(), 10)
	if form == event.TNumber {
		return json.RawMessage(ms)
	}
	return event.StringValue(ms)
}

// short writes a duration as people do: 10s, 8h, 1h30m.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// rawAt returns the JSON value at a dotted path of body.
func rawAt(body []byte, path string) (json.RawMessage, error) {
	cur := json.RawMessage(body)
	for _, tok := range strings.Split(path, ".") {
		if i, err := strconv.Atoi(tok); err == nil {
			var items []json.RawMessage
			if json.Unmarshal(cur, &items) != nil || i >= len(items) {
				return nil, fmt.Errorf("no item %s in %s", tok, path)
			}
			cur = items[i]
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(cur, &obj) != nil || obj[tok] == nil {
			return nil, fmt.Errorf("no field %s in %s", tok, path)
		}
		cur = obj[tok]
	}
	return cur, nil
}

// Optional fields left out, one at a time and all at once.
func (b *builder) optional(kinds []event.KindInfo) {
	for _, info := range kinds {
		k := info.Kind
		optional := event.OptionalFields(k)
		for _, name := range optional {
			if _, err := event.Unset(b.sample(k, b.baseStream()), name); err != nil {
				continue // not in the sample: absent already
			}
			s := b.stream()
			body, err := event.Unset(b.sample(k, s), name)
			if err != nil {
				b.fail(fmt.Errorf("%s: unset %s: %w", k, name, err))
				continue
			}
			b.add(FamilyOptional, string(k)+"/"+name+"-absent",
				fmt.Sprintf("%s %s is optional (the spec does not require it): a body without it must get 200", k, name),
				Case{}, b.cb(k, s, body))
		}
		if len(optional) < 2 {
			continue
		}
		s := b.stream()
		body := b.sample(k, s)
		for _, name := range optional {
			if out, err := event.Unset(body, name); err == nil {
				body = out
			}
		}
		b.add(FamilyOptional, string(k)+"/all-absent",
			fmt.Sprintf("fields the spec does not require (%s) may all be absent: the body must get 200", strings.Join(optional, ", ")),
			Case{}, b.cb(k, s, body))
	}
}

// Fields the receiver does not know.
func (b *builder) unknownFields(kinds []event.KindInfo) {
	for _, info := range kinds {
		k := info.Kind
		s := b.stream()
		body := b.sample(k, s)
		body = b.set(body, "livecbUnknownString", event.StringValue("added by a newer revision"))
		body = b.set(body, "livecbUnknownNumber", json.RawMessage("163594946396839937"))
		body = b.set(body, "livecbUnknownObject", json.RawMessage(`{"nested":[1,"two",null,true,{"deep":{}}]}`))
		body = b.set(body, "livecbUnknownNull", json.RawMessage("null"))
		b.add(FamilyUnknownFields, string(k),
			"receivers must ignore fields they do not know: revisions add fields (snapshots gained an id) and a strict decoder breaks on them",
			Case{}, b.cb(k, s, body))
	}
}

// Push parameters: none at all, and unusual ones.
func (b *builder) pushParams() {
	for _, p := range []struct {
		name, rule string
		params     [][2]string
	}{
		{"empty", "a stream pushed without query parameters has empty pushParams ({})", [][2]string{}},
		{"unusual", "pushParams are the push URL's query parameters: non-ASCII names and values, empty values, numbers kept as strings",
			[][2]string{{"token", "a1b2c3"}, {"名前", "ライブ配信"}, {"empty", ""}, {"expire", "1553741853"}, {"url", "http://x.example/?a=b&c=d"}}},
	} {
		// The stream's push parameters are in the callbacks of its start.
		k := event.InPhase(event.PhaseStart)[0]
		s := b.stream()
		s.PushParams = p.params
		b.add(FamilyPushParams, p.name, p.rule, Case{}, b.cb(k, s, nil))
	}
}

// The same callback twice: the service may repeat itself.
func (b *builder) duplicates(kinds []event.KindInfo) {
	for _, info := range kinds {
		k := info.Kind
		s := b.stream()
		body := b.sample(k, s)
		b.add(FamilyDuplicate, string(k), "the same callback delivered twice must get 200 both times (receivers must be idempotent)",
			Case{}, b.cb(k, s, body), b.cb(k, s, body))
	}
}

// Lifecycles: every kind, in the order of a stream's life and out of it
// (event.StreamOrder and the kinds' phases).
func (b *builder) order() {
	order := event.StreamOrder()
	for _, lc := range []struct {
		name, rule string
		kinds      []event.Kind
	}{
		{"in-order", "a stream's callbacks in the order the service sends them: " + kindList(order), order},
		{"done-before-started", "callbacks may arrive out of order: " + kindList(event.InPhase(event.PhaseEnd)) + " before " + kindList(event.InPhase(event.PhaseStart)),
			event.InPhase(event.PhaseEnd, event.PhaseStart)},
		{"record-after-done", "recordings are reported after the stream ended, and callbacks of its life may come late: " + kindList(event.InPhase(event.PhaseAfter)) + " after " + kindList(event.InPhase(event.PhaseEnd)) + " must still be accepted",
			event.InPhase(event.PhaseStart, event.PhaseEnd, event.PhaseAfter, event.PhaseDuring)},
		{"unknown-stream", "a recording, snapshot or detection (" + kindList(event.InPhase(event.PhaseAfter, event.PhaseDuring)) + ") may concern a stream the receiver never saw start (lost or earlier callback)",
			event.InPhase(event.PhaseAfter, event.PhaseDuring)},
	} {
		s := b.stream()
		var cbs []Callback
		for _, k := range lc.kinds {
			cbs = append(cbs, b.cb(k, s, nil))
		}
		b.add(FamilyOrder, lc.name, lc.rule, Case{}, cbs...)
	}
}

// session is one publishing of a stream: the same identity, its own times.
func session(s event.Stream, start, end time.Time) event.Stream {
	s.Start, s.End = start.Truncate(time.Millisecond), end.Truncate(time.Millisecond)
	return s
}

// timed is a callback and when the service sends it.
type timed struct {
	cb Callback
	at time.Time
}

// inTimeOrder returns the callbacks in the order the service sends them.
func inTimeOrder(ts []timed) []Callback {
	slices.SortStableFunc(ts, func(a, b timed) int { return a.at.Compare(b.at) })
	out := make([]Callback, len(ts))
	for i, t := range ts {
		out[i] = t.cb
	}
	return out
}

// Reconnects: a stream name used by more than one session.
func (b *builder) reconnects() {
	start, end := event.InPhase(event.PhaseStart), event.InPhase(event.PhaseEnd)
	var records []event.Kind
	for _, k := range event.InPhase(event.PhaseAfter) {
		if info, _ := event.Info(k); !info.Life.Optional {
			records = append(records, k)
		}
	}
	callbacks := func(s event.Stream, kinds ...[]event.Kind) []timed {
		var out []timed
		for _, ks := range kinds {
			for _, k := range ks {
				out = append(out, timed{b.cb(k, s, nil), event.SentAt(k, s)})
			}
		}
		return out
	}

	// Published, stopped, published again: two sessions, a gap between.
	s := b.stream()
	life := s.End.Sub(s.Start)
	first := session(s, s.Start, s.Start.Add(life*2/5))
	second := session(s, s.Start.Add(life*3/5), s.End)
	b.add(FamilyReconnect, "republish",
		fmt.Sprintf("a stream name is used again: published, stopped and published again with new times (%s, %s, then both again) is a new session, and every callback must get 200", kindList(start), kindList(end)),
		Case{}, inTimeOrder(slices.Concat(callbacks(first, start, end), callbacks(second, start, end)))...)

	// Started twice without a done: the encoder crashed and reconnected.
	s = b.stream()
	life = s.End.Sub(s.Start)
	crashed := session(s, s.Start, s.End) // its done never comes
	again := session(s, s.Start.Add(life/2), s.End)
	b.add(FamilyReconnect, "restart-without-done",
		fmt.Sprintf("an encoder that crashed and reconnected starts the stream again without a %s: the second %s (new times) must get 200, and so must what follows", kindList(end), kindList(start)),
		Case{}, inTimeOrder(slices.Concat(callbacks(crashed, start), callbacks(again, start, end)))...)

	// Both sessions' recordings.
	if len(records) == 0 {
		return
	}
	s = b.stream()
	life = s.End.Sub(s.Start)
	first = session(s, s.Start, s.Start.Add(life*2/5))
	second = session(s, s.Start.Add(life*3/5), s.End)
	b.add(FamilyReconnect, "records-of-both-sessions",
		fmt.Sprintf("a stream published twice is recorded twice: each session's %s (same stream name, other times) must get 200; key recordings by more than the stream name", kindList(records)),
		Case{}, inTimeOrder(slices.Concat(callbacks(first, start, end, records), callbacks(second, start, end, records)))...)
}

// Bursts: many callbacks at once, of every kind in turn, each about its own
// stream.
func (b *builder) bursts(kinds []event.KindInfo, n int) {
	if n <= 0 || len(kinds) == 0 {
		return
	}
	var cbs []Callback
	for i := 0; i < n; i++ {
		k := kinds[i%len(kinds)].Kind
		cbs = append(cbs, b.cb(k, b.stream(), nil))
	}
	b.add(FamilyBurst, "mixed",
		fmt.Sprintf("%d callbacks at once, of every kind in turn, each about its own stream: each must get its answer within the per-attempt timeout (a receiver must not serialise requests behind one lock)", n),
		Case{Burst: true}, cbs...)
}

// Stream names, each made unique by the stream's own part.
func (b *builder) names() {
	var kinds []event.Kind
	for _, k := range event.InPhase(event.PhaseStart, event.PhaseEnd, event.PhaseAfter) {
		if info, _ := event.Info(k); !info.Life.Optional {
			kinds = append(kinds, k)
		}
	}
	for _, n := range []struct {
		name, rule string
		stream     func() string
	}{
		{"non-ascii", "stream names may hold any UTF-8: CJK, accents, emoji", func() string { return "直播间-Ünïcödé-🎥-" + b.unique() }},
		{"long", "stream names may be long (200 characters)", func() string {
			u := "-" + b.unique()
			return strings.Repeat("long-stream-name-", 12)[:200-len(u)] + u
		}},
		{"unusual", "a stream name is the rest of the push URL's path: dots, slashes, tildes, plus signs, percent signs", func() string { return "sub/path.stream-01~hd+low%20x@2_" + b.unique() }},
		{"leading-zeros", "a stream name of digits is a string: leading zeros must survive", func() string { return "000" + b.uniqueDigits() }},
	} {
		s := b.stream()
		s.Name = n.stream()
		var cbs []Callback
		for _, k := range kinds {
			cbs = append(cbs, b.cb(k, s, nil))
		}
		b.add(FamilyNames, n.name, n.rule, Case{}, cbs...)
	}
}

// int64-sized values, and ids beyond 2^53.
func (b *builder) bigNumbers(kinds []event.KindInfo) {
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
			case !nv.Field.Decimal && nv.Field.Max != "":
				digits = nv.Field.Max
			default:
				continue
			}
			v := json.RawMessage(digits)
			if nv.IsString() {
				v = event.StringValue(digits)
			}
			body = b.set(body, nv.Path, v)
		}
		b.add(FamilyBigNumbers, "int64/"+string(k),
			"times and sizes are int64-sized: values beyond 2^31 and 2^53 must not overflow or lose digits", Case{}, b.cb(k, s, body))
	}
	for _, info := range kinds {
		for _, f := range info.Fields {
			if !f.ID {
				continue
			}
			k := info.Kind
			s := b.stream()
			s.TaskExternalID = strconv.FormatUint(bigID+2*uint64(b.bigIDs), 10)
			b.bigIDs++
			body := b.set(b.sample(k, s), f.Name, event.StringValue(s.TaskExternalID))
			b.add(FamilyBigNumbers, "big-id/"+string(k),
				fmt.Sprintf("%s may exceed 2^53 (the spec's sample does): store it as a string or int64, never through a float64", f.Name),
				Case{}, b.cb(k, s, body))
		}
	}
}

// Negative cases: bodies the service never sends.
func (b *builder) negatives() {
	k := event.InPhase(event.PhaseStart)[0]
	for _, n := range []struct {
		name, rule string
		cb         func(good Callback) Callback
	}{
		{"malformed-json", "a body that is not JSON must be rejected with a 4xx, never a 5xx or a dropped connection",
			func(g Callback) Callback { return Callback{Stream: g.Stream, Body: g.Body[:len(g.Body)/2]} }},
		{"empty-body", "an empty body must be rejected with a 4xx, never a 5xx or a dropped connection",
			func(g Callback) Callback { return Callback{Stream: g.Stream, Body: []byte{}} }},
		{"not-an-object", "a JSON body that is not an object must be rejected with a 4xx, never a 5xx",
			func(g Callback) Callback { return Callback{Stream: g.Stream, Body: []byte(`["publish_started"]`)} }},
		{"wrong-content-type", "a body sent as text/plain must be rejected with a 4xx (or accepted, if so asked), never a 5xx",
			func(g Callback) Callback { g.ContentType = "text/plain; charset=utf-8"; return g }},
	} {
		b.add(FamilyNegative, n.name, n.rule, Case{}, n.cb(b.cb(k, b.stream(), nil)))
	}
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
