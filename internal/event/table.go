package event

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/livecb/livecb/fixtures"
)

// The kind table. Each kind_*.go file adds its entry to builtin in an
// init function; the table is built from them on first use, checked, and
// indexed. It is immutable once built: Register (for tests) builds a new
// one and swaps it in, so readers (the listener checks every request) pay
// one atomic load and no lock.

var builtin []KindInfo

// define adds a built-in kind's entry; kind_*.go files call it from init.
func define(info KindInfo) { builtin = append(builtin, info) }

type registry struct {
	kinds    []*KindInfo // Kinds' order
	index    map[Kind]*KindInfo
	aliases  map[string]Kind
	families []FamilyInfo
	order    []Kind // StreamOrder
	fixtures map[Kind][]byte
	// pointers are the JSON Pointers of the kinds' top-level field and
	// legacy names ("/duration"), made once: findings name them.
	pointers map[string]string
	// boxed are the values the kinds document (event names, enums,
	// expected and older values), by length, each boxed once as the
	// decoded tree holds it (boxing a string allocates; see intern).
	boxed [maxBoxed + 1][]boxedString
	// glanced are the top-level names Classify and Identity read ("event",
	// the kinds' markers, the stream's identity): Glance decodes only them.
	glanced nameSet
	// classifier sums up what Classify reads of the table (see Seal).
	classifier uint32

	// The compiled schemas, built on first validation that needs them.
	compileOnce sync.Once
	compiled    map[Kind]*jsonschema.Schema
	compileErr  error
}

var (
	current   atomic.Pointer[registry]
	buildOnce sync.Once
	// regMu serialises Register and its unregister functions.
	regMu sync.Mutex
	// registered are the kinds and families Register added, in order.
	registeredKinds    []KindInfo
	registeredFamilies []FamilyInfo
)

func table() *registry {
	if r := current.Load(); r != nil {
		return r
	}
	buildOnce.Do(func() {
		r, err := build(builtin, families)
		if err != nil {
			panic(err) // a built-in entry is wrong: every test of the package fails, naming it
		}
		current.Store(r)
	})
	return current.Load()
}

// Register adds a kind to the table until the returned function is called,
// and returns that function. It is for tests: a test registers a kind
// (after RegisterFamily for a family of its own) to show that everything
// derived from the table (classification, samples, schemas, validation,
// the stream order, the contract suite, `livecb events`) picks it up. It
// panics when the entry is inconsistent with itself or the table (the
// message says what is wrong). Not for use while other goroutines use the
// package: tests that register must not run in parallel.
func Register(info KindInfo) (unregister func()) {
	return registerEntry(&registeredKinds, info, func(k KindInfo) bool { return k.Kind == info.Kind })
}

// RegisterFamily adds a family to the family table (after the built-in
// ones) until the returned function is called. Like Register, it is for
// tests, and panics on an inconsistent entry; unregister a family's kinds
// before the family.
func RegisterFamily(fi FamilyInfo) (unregister func()) {
	return registerEntry(&registeredFamilies, fi, func(f FamilyInfo) bool { return f.Family == fi.Family })
}

// registerEntry appends x to list and rebuilds the table, undoing the
// append when the table refuses it; the returned function removes the
// entries that are the same as x and rebuilds again.
func registerEntry[T any](list *[]T, x T, same func(T) bool) (unregister func()) {
	regMu.Lock()
	defer regMu.Unlock()
	table()
	*list = append(*list, x)
	if err := rebuild(); err != nil {
		*list = (*list)[:len(*list)-1]
		panic(err)
	}
	return func() {
		regMu.Lock()
		defer regMu.Unlock()
		*list = slices.DeleteFunc(*list, same)
		if err := rebuild(); err != nil {
			panic(err)
		}
	}
}

// rebuild builds the table of the built-in and registered entries and
// swaps it in; on an error the table stays as it was.
func rebuild() error {
	r, err := build(append(slices.Clone(builtin), registeredKinds...), append(slices.Clone(families), registeredFamilies...))
	if err != nil {
		return err
	}
	current.Store(r)
	Families = familyNames(r.families)
	return nil
}

// build checks the entries and indexes them. Every check is one a new
// entry could get wrong; the message names the entry and the fix.
func build(kinds []KindInfo, fams []FamilyInfo) (*registry, error) {
	r := &registry{index: map[Kind]*KindInfo{}, aliases: map[string]Kind{}, families: fams, fixtures: map[Kind][]byte{}, pointers: map[string]string{}}
	famRank := map[Family]int{}
	paths := map[string]Family{}
	for i, f := range fams {
		switch {
		case f.Family == "":
			return nil, fmt.Errorf("event: family table entry %d has no name", i)
		case !strings.HasPrefix(f.Path, "/"):
			return nil, fmt.Errorf("event: family %s: path %q must start with /", f.Family, f.Path)
		case f.Description == "":
			return nil, fmt.Errorf("event: family %s has no description", f.Family)
		}
		if _, dup := famRank[f.Family]; dup {
			return nil, fmt.Errorf("event: family %s is in the table twice", f.Family)
		}
		if other, dup := paths[f.Path]; dup {
			return nil, fmt.Errorf("event: families %s and %s share the path %s", other, f.Family, f.Path)
		}
		famRank[f.Family] = i
		paths[f.Path] = f.Family
	}
	for i := range kinds {
		info := kinds[i] // a copy: the table owns its entries
		if err := checkEntry(&info, famRank); err != nil {
			return nil, fmt.Errorf("event: kind %q: %w", info.Kind, err)
		}
		if _, dup := r.index[info.Kind]; dup {
			return nil, fmt.Errorf("event: kind %q is in the table twice", info.Kind)
		}
		fx := info.Fixture
		if fx == nil {
			var ok bool
			if fx, ok = fixtures.Body(string(info.Kind)); !ok {
				return nil, fmt.Errorf("event: kind %q has no fixture: add fixtures/%s.json", info.Kind, info.Kind)
			}
		}
		if !json.Valid(fx) {
			return nil, fmt.Errorf("event: the fixture of kind %q is not valid JSON", info.Kind)
		}
		r.fixtures[info.Kind] = fx
		for _, f := range info.Fields {
			r.pointers[f.Name] = pointer(f.Name)
		}
		for old := range info.Legacy {
			r.pointers[old] = pointer(old)
		}
		r.box(info.Event)
		r.boxFields(info.Fields)
		p := &info
		r.kinds = append(r.kinds, p)
		r.index[info.Kind] = p
	}
	for _, k := range r.kinds {
		for _, a := range k.Aliases {
			if _, clash := r.index[Kind(a)]; clash {
				return nil, fmt.Errorf("event: kind %q: alias %q is a kind's name", k.Kind, a)
			}
			if other, dup := r.aliases[a]; dup {
				return nil, fmt.Errorf("event: kinds %q and %q share the alias %q", other, k.Kind, a)
			}
			r.aliases[a] = k.Kind
		}
	}
	if err := checkRecognition(r.kinds); err != nil {
		return nil, err
	}
	r.glanced.add("event")
	for _, name := range identityFields {
		r.glanced.add(name)
	}
	for _, k := range r.kinds {
		for _, m := range k.Markers {
			r.glanced.add(m)
		}
	}
	sort.SliceStable(r.kinds, func(i, j int) bool {
		a, b := r.kinds[i], r.kinds[j]
		if famRank[a.Family] != famRank[b.Family] {
			return famRank[a.Family] < famRank[b.Family]
		}
		if a.Life.Phase != b.Life.Phase {
			return a.Life.Phase < b.Life.Phase
		}
		return a.Kind < b.Kind
	})
	ordered := slices.Clone(r.kinds)
	sort.SliceStable(ordered, func(i, j int) bool {
		a, b := ordered[i], ordered[j]
		if a.Life.Phase != b.Life.Phase {
			return a.Life.Phase < b.Life.Phase
		}
		if famRank[a.Family] != famRank[b.Family] {
			return famRank[a.Family] < famRank[b.Family]
		}
		return a.Kind < b.Kind
	})
	for _, k := range ordered {
		r.order = append(r.order, k.Kind)
	}
	r.classifier = classifierSum(r.kinds)
	return r, nil
}

// maxBoxed is the longest value boxed once.
const maxBoxed = 31

type boxedString struct {
	s string
	v any
}

func (r *registry) box(s string) {
	if s == "" || len(s) > maxBoxed {
		return
	}
	for _, b := range r.boxed[len(s)] {
		if b.s == s {
			return
		}
	}
	r.boxed[len(s)] = append(r.boxed[len(s)], boxedString{s, s})
}

func (r *registry) boxFields(fields []Field) {
	for _, f := range fields {
		for _, vs := range [][]string{f.Enum, f.Expected, f.Older} {
			for _, v := range vs {
				r.box(v)
			}
		}
		r.boxFields(f.Items)
	}
}

// intern returns s boxed: the table's box when it documents s, else nil.
func (r *registry) intern(s string) any {
	if len(s) <= maxBoxed {
		for _, b := range r.boxed[len(s)] {
			if b.s == s {
				return b.v
			}
		}
	}
	return nil
}

func checkEntry(info *KindInfo, famRank map[Family]int) error {
	switch {
	case info.Kind == "":
		return fmt.Errorf("no name")
	case strings.ToLower(string(info.Kind)) != string(info.Kind) || strings.ContainsAny(string(info.Kind), " -"):
		return fmt.Errorf("a kind's name is lower case with underscores (it is typed in shells)")
	case info.Description == "":
		return fmt.Errorf("no description")
	case len(info.Fields) == 0:
		return fmt.Errorf("no fields")
	case info.Life.At == nil:
		return fmt.Errorf("Life.At is nil: say when the service sends it")
	case info.Values == nil:
		return fmt.Errorf("Values is nil: say what its sample's stream-dependent fields are")
	}
	if _, ok := famRank[info.Family]; !ok {
		return fmt.Errorf("family %q is not in the family table", info.Family)
	}
	if err := checkFields(info.Fields, ""); err != nil {
		return err
	}
	if info.Event != "" {
		f := fieldAt(info.Fields, []string{"event"})
		if f == nil || f.Type != TString || !f.Required {
			return fmt.Errorf("Event is %q but the kind has no required string field \"event\"", info.Event)
		}
	} else if fieldAt(info.Fields, []string{"event"}) != nil {
		return fmt.Errorf("the kind has an \"event\" field but no Event value")
	}
	for _, m := range info.Markers {
		if fieldAt(info.Fields, []string{m}) == nil {
			return fmt.Errorf("marker %q is not one of its fields", m)
		}
	}
	if len(info.KeyFields) > MaxKeyFields {
		return fmt.Errorf("%d key fields: at most MaxKeyFields (%d), which a printer keeps on its stack", len(info.KeyFields), MaxKeyFields)
	}
	for _, name := range info.KeyFields {
		if fieldAt(info.Fields, []string{name}) == nil {
			return fmt.Errorf("key field %q is not one of its fields", name)
		}
	}
	for _, iv := range info.Intervals {
		fields := info.Fields
		if iv.In != "" {
			arr := fieldAt(info.Fields, []string{iv.In})
			if arr == nil || arr.Type != TArray {
				return fmt.Errorf("interval in %q: no such array field", iv.In)
			}
			fields = arr.Items
		}
		for _, name := range []string{iv.Begin, iv.End} {
			if f := fieldAt(fields, []string{name}); f == nil || !f.Millis {
				return fmt.Errorf("interval %s..%s: %q is not a millisecond time field", iv.Begin, iv.End, name)
			}
		}
	}
	for old, now := range info.Legacy {
		if !hasFieldAnywhere(info.Fields, now) {
			return fmt.Errorf("legacy name %q stands for %q, which is not one of its fields", old, now)
		}
		if fieldAt(info.Fields, []string{old}) != nil {
			return fmt.Errorf("legacy name %q is also a field", old)
		}
	}
	info.legacyIntervals = make([][2]string, len(info.Intervals))
	for i, iv := range info.Intervals {
		var lb, le string
		for old, now := range info.Legacy {
			switch now {
			case iv.Begin:
				lb = old
			case iv.End:
				le = old
			}
		}
		if iv.In == "" && lb != "" && le != "" {
			info.legacyIntervals[i] = [2]string{lb, le}
		}
	}
	info.Versions = nil
	for _, f := range info.Fields {
		if f.Unexpected == CodeVersion {
			info.Versions = slices.Clone(f.Expected)
		}
	}
	return nil
}

func checkFields(fields []Field, at string) error {
	seen := map[string]bool{}
	for _, f := range fields {
		name := at + f.Name
		switch {
		case f.Name == "":
			return fmt.Errorf("a field has no name")
		case seen[f.Name]:
			return fmt.Errorf("field %s is listed twice", name)
		case f.Type != TString && f.Type != TNumber && f.Type != TObject && f.Type != TArray:
			return fmt.Errorf("field %s: type %q is none of string, number, object, array", name, f.Type)
		case f.Numeric && f.Type != TString && f.Type != TNumber:
			return fmt.Errorf("numeric field %s is a %s in the sample", name, f.Type)
		case f.Numeric && (len(f.Forms) == 0 || f.Forms[0] != f.Type):
			return fmt.Errorf("numeric field %s: Forms must list the sample's form (%s) first", name, f.Type)
		case len(f.Expected) > 0 && f.Unexpected == "":
			return fmt.Errorf("field %s has Expected values but no Unexpected code", name)
		case f.Type == TArray && len(f.Items) == 0:
			return fmt.Errorf("array field %s: Items describes its objects", name)
		case f.MaxItems > 0 && f.MaxItems < f.MinItems:
			return fmt.Errorf("field %s: MaxItems %d < MinItems %d", name, f.MaxItems, f.MinItems)
		}
		seen[f.Name] = true
		if len(f.Items) > 0 {
			if err := checkFields(f.Items, name+"[]."); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRecognition makes sure Classify can tell every kind from the others.
func checkRecognition(kinds []*KindInfo) error {
	plain := map[string]Kind{}  // event value -> its kind without markers
	marker := map[string]Kind{} // "event\x00marker" -> kind
	for _, k := range kinds {
		if k.Event == "" && len(k.Markers) == 0 {
			return fmt.Errorf("event: kind %q has neither an Event value nor Markers: Classify could never pick it", k.Kind)
		}
		if len(k.Markers) == 0 {
			if other, dup := plain[k.Event]; dup {
				return fmt.Errorf("event: kinds %q and %q both have event %q and no markers: give one Markers", other, k.Kind, k.Event)
			}
			plain[k.Event] = k.Kind
		}
		for _, m := range k.Markers {
			key := k.Event + "\x00" + m
			if other, dup := marker[key]; dup {
				return fmt.Errorf("event: kinds %q and %q share the marker %q", other, k.Kind, m)
			}
			marker[key] = k.Kind
		}
	}
	return nil
}

// hasFieldAnywhere reports whether name is a field of fields or of their
// arrays' items.
func hasFieldAnywhere(fields []Field, name string) bool {
	for _, f := range fields {
		if f.Name == name || hasFieldAnywhere(f.Items, name) {
			return true
		}
	}
	return false
}

// nameSet is a few names, found by their length first: most names a body
// holds have no name of their length in the set, and comparing a few bytes
// is far cheaper than hashing the name for a map.
type nameSet struct{ byLen [64][]string }

func (s *nameSet) add(name string) {
	if len(name) < len(s.byLen) && !slices.Contains(s.byLen[len(name)], name) {
		s.byLen[len(name)] = append(s.byLen[len(name)], name)
	}
}

// has reports whether name is in the set.
func (s *nameSet) has(name string) bool {
	_, ok := s.find(name)
	return ok
}

// find returns the set's own copy of name, if it has it.
func (s *nameSet) find(name string) (string, bool) {
	if len(name) >= len(s.byLen) {
		return "", false
	}
	for _, n := range s.byLen[len(name)] {
		if n == name {
			return n, true
		}
	}
	return "", false
}

// names are the names of the set.
func (s *nameSet) names() []string {
	var out []string
	for _, ns := range s.byLen {
		out = append(out, ns...)
	}
	return out
}
