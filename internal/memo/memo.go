// Package memo holds the small caches the per-request paths share: what a
// pure function of a string made of the strings it was given lately, and
// the part of a time's text that only changes once a second.
//
// Both are bounded and safe for concurrent use without a lock: a listener
// renders and encodes requests on many goroutines at once.
package memo

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// MaxLen is the longest string a Strings keeps; longer ones are given to
// the function every time.
const MaxLen = 512

// sets is how many sets a Strings has; each holds two entries.
const sets = 128

// Strings remembers what a pure function of a string made of the strings
// it was given lately: requests repeat the same few targets, paths and
// finding messages, and masking, escaping and encoding them is the
// costliest part of a request's line and record.
//
// Two-way set associative: two strings that hash to the same set are both
// kept (a direct-mapped cache, which this replaced, missed on every request
// whose two finding messages shared a slot, one process in 256).
type Strings struct {
	f    func(string) string
	seed maphash.Seed
	sets [sets][2]atomic.Pointer[entry]
}

type entry struct{ in, out string }

// New returns a Strings over f, which must be pure.
func New(f func(string) string) *Strings {
	return &Strings{f: f, seed: maphash.MakeSeed()}
}

// Get returns f(s), from the cache when s was seen lately.
func (m *Strings) Get(s string) string {
	if len(s) > MaxLen {
		return m.f(s)
	}
	set := &m.sets[m.setOf(s)]
	if e := set[0].Load(); e != nil && e.in == s {
		return e.out
	}
	if e := set[1].Load(); e != nil && e.in == s {
		// Most recent first: promoted, so the one evicted next is the
		// one used least lately.
		set[1].Store(set[0].Swap(e))
		return e.out
	}
	out := m.f(s)
	set[1].Store(set[0].Swap(&entry{s, out}))
	return out
}

func (m *Strings) setOf(s string) uint64 { return maphash.String(m.seed, s) % sets }

// Seconds remembers the text a time's second makes in one format: a time
// is written as that text and the part below the second, which its caller
// appends. The text is made once a second instead of once a request.
type Seconds struct {
	f    func(t time.Time) (prefix, suffix string)
	last atomic.Pointer[second]
}

type second struct {
	unix           int64
	loc            *time.Location
	prefix, suffix string
}

// NewSeconds returns a Seconds over f, which gives what comes before and
// after the fraction of a second of a time whose fraction is zero; f must
// depend on nothing but the second and the location of the time.
func NewSeconds(f func(t time.Time) (prefix, suffix string)) *Seconds {
	return &Seconds{f: f}
}

// Get returns f's prefix and suffix for t's second in t's location.
func (s *Seconds) Get(t time.Time) (prefix, suffix string) {
	unix, loc := t.Unix(), t.Location()
	if e := s.last.Load(); e != nil && e.unix == unix && e.loc == loc {
		return e.prefix, e.suffix
	}
	p, x := s.f(t.Truncate(time.Second))
	s.last.Store(&second{unix, loc, p, x})
	return p, x
}

// Last remembers what a pure function made of the value it was given last:
// consecutive requests from one sender mostly carry the same findings, and
// rendering and encoding them is a drifting request's extra work. One
// entry: bounded whatever the values; a value unlike the last one costs a
// copy of it besides the function.
type Last[K, V any] struct {
	f     func(K) V
	equal func(a, b K) bool
	clone func(K) K
	last  atomic.Pointer[lastEntry[K, V]]
}

type lastEntry[K, V any] struct {
	in  K
	out V
}

// NewLast returns a Last over f, which must be pure; equal compares two
// values, and clone copies one so that the caller may change its own.
func NewLast[K, V any](f func(K) V, equal func(a, b K) bool, clone func(K) K) *Last[K, V] {
	return &Last[K, V]{f: f, equal: equal, clone: clone}
}

// Get returns f(k), remembered when k equals the value given last.
func (l *Last[K, V]) Get(k K) V {
	if e := l.last.Load(); e != nil && l.equal(e.in, k) {
		return e.out
	}
	out := l.f(k)
	l.last.Store(&lastEntry[K, V]{l.clone(k), out})
	return out
}
