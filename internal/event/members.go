package event

import (
	"maps"
	"slices"
)

// members are the members of a body's top-level object, as Decode keeps
// them: each name once (a name given twice has its last value, as
// encoding/json's map has), in the order the body first gives them.
//
// A body is read for a dozen or so of its fields, each by name, once or
// twice (Classify, Validate, KeyFields, Identity); making a map of its
// members for that (a table, an insert each, a hash for each look) cost
// the listener more than finding each name among a dozen: see
// bench/README.md. Objects within a body stay maps.
type members []pair

// get is a member's value by name (from, looking from the first).
func (ms members) get(name string) (any, bool) {
	for i := range ms {
		if ms[i].key == name {
			return ms[i].val, true
		}
	}
	return nil, false
}

// from is get, looking from member at on (round to it), and where to look
// from for the next name: a kind's fields, looked up in its table's order,
// are mostly found at the first look, the service writing them in that
// order.
func (ms members) from(at int, name string) (v any, ok bool, next int) {
	for k, j := 0, at; k < len(ms); k++ {
		if ms[j].key == name {
			next := j + 1
			if next == len(ms) {
				next = 0
			}
			return ms[j].val, true, next
		}
		if j++; j == len(ms) {
			j = 0
		}
	}
	return nil, false, at
}

// toMap makes the map encoding/json would have decoded the object to.
func (ms members) toMap() map[string]any {
	m := make(map[string]any, len(ms))
	for _, kv := range ms {
		m[kv.key] = kv.val
	}
	return m
}

// membersOf are a map's members, by name (the order Decode's fallback,
// encoding/json, cannot give).
func membersOf(m map[string]any) members {
	ms := make(members, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ms = append(ms, pair{k, m[k]})
	}
	return ms
}

// fieldsOf is an object the validator reads: a body's top level (its
// members) or an object within it (a map).
type fieldsOf struct {
	top members
	m   map[string]any
}

func (o fieldsOf) get(name string) (any, bool) {
	if o.m != nil {
		v, ok := o.m[name]
		return v, ok
	}
	return o.top.get(name)
}

// len is how many names the object has.
func (o fieldsOf) len() int {
	if o.m != nil {
		return len(o.m)
	}
	return len(o.top)
}

// each calls f with each of the object's names.
func (o fieldsOf) each(f func(name string)) {
	if o.m != nil {
		for k := range o.m {
			f(k)
		}
		return
	}
	for _, kv := range o.top {
		f(kv.key)
	}
}

// signature is what a name is first compared by, when the parser looks
// for a name given twice: its length and first and last bytes (a body's
// names rarely share all three, and then the names are compared).
func signature(name string) uint32 {
	if name == "" {
		return 0
	}
	return uint32(len(name))<<16 | uint32(name[0])<<8 | uint32(name[len(name)-1])
}

// topObject reads the body's object (at p.i) as object does, into
// members instead of a map.
func (p *parser) topObject() (members, bool) {
	base, ok := p.members(1)
	if !ok {
		return nil, false
	}
	var ms members
	if p.twice(base) {
		ms = p.unique(base)
	} else {
		ms = make(members, p.top-base)
		for i := range ms {
			ms[i] = p.pair(base + i)
		}
	}
	p.pop(base)
	return ms, true
}

// twice reports whether the object whose members start at base may give a
// name twice (unique then says for sure), without a map: the names'
// signatures are compared, a body's dozen names costing a few dozen
// comparisons of two numbers, and fewer with seen, a bit a signature,
// which tells most new names from the ones before without comparing any.
// (Past maxSigs names, maybe: a hostile body may hold thousands.)
func (p *parser) twice(base int) bool {
	n := p.top - base
	if n > maxSigs {
		return true
	}
	var sigs [maxSigs]uint32
	var seen uint64
	for i := range n {
		key := p.pair(base + i).key
		sig := signature(key)
		bit := uint64(1) << (sig * 0x9e3779b1 >> 26)
		if seen&bit != 0 {
			for j, s := range sigs[:i] {
				if s == sig && p.pair(base+j).key == key {
					return true
				}
			}
		}
		seen |= bit
		sigs[i] = sig
	}
	return false
}

// maxSigs is how many names twice compares without a map.
const maxSigs = 64

// unique makes the members of the object whose members start at base,
// each name once with its last value, and records the names given twice
// (duplicated), if any.
func (p *parser) unique(base int) members {
	at := make(map[string]int, p.top-base)
	ms := make(members, 0, p.top-base)
	for i := base; i < p.top; i++ {
		kv := p.pair(i)
		if j, ok := at[kv.key]; ok {
			ms[j].val = kv.val
			continue
		}
		at[kv.key] = len(ms)
		ms = append(ms, kv)
	}
	if len(ms) < p.top-base {
		p.duplicated(base)
	}
	return ms
}
