package send

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
)

// DefaultPoolSize is how many distinct streams a load run generates ahead.
// Generating a realistic body costs far more than sending it, so bodies are
// built before the clock starts: a pool of streams, each with its own times
// and client IP, whose stream names and times are then made unique per
// round by splicing a sequence number in and moving the times back by
// whole cycles of the pool (a copy and a few fixed-width digit writes, no
// JSON work on the hot path; see stamp.go).
const DefaultPoolSize = 512

// marker is put at the end of every pooled stream's name and replaced by
// the round's number when a body is rendered. It is letters only, so URL
// path escaping (the name appears in downloadUrl) leaves it alone.
const marker = "ZQXLIVECBSEQXQZ"

// LoadBodies are the prepared bodies of a load run. Request i is kind
// Kinds[i % len(Kinds)] of round i / len(Kinds); each round is about its
// own stream (a new name and new times), so a run of `publish_started
// publish_done` is a series of short broadcasts.
type LoadBodies struct {
	Kinds []event.Kind
	// Same is true when every request carries the same bytes (--same-body,
	// --verbatim or --data).
	Same bool
	// Base is the stream name every round's name starts with; round r's
	// stream is Base-<r+1>, zero-padded to 7 digits.
	Base  string
	urls  []string   // per kind
	pool  [][]pooled // [group][kind]
	items [][]Item   // [group][kind], with Findings after Validate
	same  [][]byte   // per kind, when Same
	sizes []int      // per kind, the largest body
}

// LoadBodyOptions say how load bodies are prepared.
type LoadBodyOptions struct {
	// Same sends one body (the first) for every request.
	Same bool
	// Pool is the number of distinct streams generated ahead (default
	// DefaultPoolSize; fewer when the run has fewer rounds).
	Pool int
	// Rounds bounds the pool when the run is short (0: unknown).
	Rounds int
}

// PrepareLoad builds the pool of bodies for kinds (or --data / --verbatim,
// which send one body every time). Overrides apply to every body.
func PrepareLoad(kinds []event.Kind, o BodyOptions, lo LoadBodyOptions) (*LoadBodies, error) {
	if o.Data != nil || o.Verbatim {
		items, err := Bodies(kinds, o)
		if err != nil {
			return nil, err
		}
		lb := &LoadBodies{Same: true}
		for _, it := range items {
			lb.Kinds = append(lb.Kinds, it.Kind)
			lb.same = append(lb.same, it.Body)
			lb.sizes = append(lb.sizes, len(it.Body))
		}
		lb.items = [][]Item{items}
		return lb, nil
	}
	if len(kinds) == 0 {
		return nil, errors.New("no kind to send")
	}
	if o.PushURL != "" && o.Stream == "" {
		// The push URL's stream name is the base of every round's name.
		s, err := NewStream(BodyOptions{PushURL: o.PushURL, Now: o.Now})
		if err != nil {
			return nil, err
		}
		o.Stream = s.Name
	}
	rnd := o.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	lb := &LoadBodies{Kinds: kinds, Same: lo.Same, Base: o.Stream}
	if lb.Base == "" {
		lb.Base = fmt.Sprintf("livecb-load-%04x", rnd.IntN(1<<16))
	}
	n := lo.Pool
	if n <= 0 {
		n = DefaultPoolSize
	}
	if lo.Rounds > 0 && lo.Rounds < n {
		n = lo.Rounds
	}
	if lo.Same {
		n = 1
	}
	// Each group gets its own random source seeded from rnd, so that the
	// pool is reproducible with --seed however the work is spread.
	seeds := make([][2]uint64, n)
	for g := range seeds {
		seeds[g] = [2]uint64{rnd.Uint64(), rnd.Uint64()}
	}
	lb.pool = make([][]pooled, n)
	lb.items = make([][]Item, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < min(n, runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range work {
				errs[g] = lb.prepareGroup(g, kinds, o, now, seeds[g])
			}
		}()
	}
	for g := 0; g < n; g++ {
		work <- g
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	lb.sizes = make([]int, len(kinds))
	for _, group := range lb.pool {
		for k, p := range group {
			size := 0
			for _, b := range p.parts {
				size += len(b)
			}
			lb.sizes[k] = max(lb.sizes[k], size+(len(p.parts)-1)*(len(lb.Base)+8))
		}
	}
	if lo.Same {
		lb.same = make([][]byte, len(kinds))
		for k := range kinds {
			lb.same[k] = lb.render(nil, k, 0)
			lb.items[0][k].Body = lb.same[k]
		}
	}
	return lb, nil
}

// prepareGroup builds group g: one stream, every kind about it.
func (lb *LoadBodies) prepareGroup(g int, kinds []event.Kind, o BodyOptions, now time.Time, seed [2]uint64) error {
	o.Rand = rand.New(rand.NewPCG(seed[0], seed[1]))
	// Streams of the pool end a millisecond apart, so that no two share
	// their times; later cycles of the pool move them back (stamp.go).
	o.Now = now.Add(-time.Duration(g) * time.Millisecond)
	o.Stream = lb.Base + marker
	o.PushURL = ""
	s, err := NewStream(o)
	if err != nil {
		return err
	}
	items := make([]Item, len(kinds))
	bodies := make([][]byte, len(kinds))
	stamps := make([][]stamp, len(kinds))
	for k, kind := range kinds {
		body, err := event.Sample(kind, s)
		if err != nil {
			return err
		}
		it, err := finish(Item{Seq: k + 1, Kind: kind, Body: body}, o)
		if err != nil {
			return err
		}
		items[k], bodies[k] = it, it.Body
		stamps[k] = timesOf(kind, body, it.Body, o.Overrides)
	}
	size := int64(len(lb.pool))
	room := alignTimes(bodies, stamps, mod(now.UnixMilli()-int64(g), size), size)
	group := make([]pooled, len(kinds))
	for k, body := range bodies {
		group[k] = cut(body, stamps[k], room)
	}
	lb.pool[g], lb.items[g] = group, items
	return nil
}

// cut splits body at the marker and places its times in the parts.
func cut(body []byte, stamps []stamp, room int64) pooled {
	p := pooled{parts: bytes.Split(body, []byte(marker)), room: room}
	if room < 0 {
		return p
	}
	slices.SortFunc(stamps, func(a, b stamp) int { return a.off - b.off })
	start := 0 // of parts[j] in body
	j := 0
	for _, s := range stamps {
		for s.off >= start+len(p.parts[j]) {
			start += len(p.parts[j]) + len(marker)
			j++
		}
		// The digits cannot straddle a marker: it is letters only.
		s.part, s.off = j, s.off-start
		p.times = append(p.times, s)
	}
	return p
}

// Templates returns the pooled bodies of the first stream (with the
// marker replaced as for round 0), for warnings, validation messages and
// routing.
func (lb *LoadBodies) Templates() []Item {
	out := make([]Item, len(lb.items[0]))
	copy(out, lb.items[0])
	if !lb.Same {
		for k := range out {
			out[k].Body = lb.render(nil, k, 0)
		}
	}
	return out
}

// Validate checks every pooled body as it will be sent and returns the
// first one with errors, if any. Group g is checked as round g sends it
// and, when its times move, as round g + P (one cycle later) does: later
// rounds differ from those only by the number in the name and by moving
// every time of the round back by the same amount, digits for digits,
// which keeps the times' order and width.
func (lb *LoadBodies) Validate() (bad *Item) {
	size := int64(len(lb.pool))
	for g := range lb.items {
		for k := range lb.items[g] {
			it := &lb.items[g][k]
			body := it.Body
			if !lb.Same {
				body = lb.render(nil, k, int64(g))
			}
			_, it.Findings = event.Check(body, event.Options{})
			if !lb.Same && !it.Findings.HasErrors() && len(lb.pool[g][k].times) > 0 {
				shifted := lb.render(nil, k, int64(g)+size)
				if _, fs := event.Check(shifted, event.Options{}); fs.HasErrors() {
					body, it.Findings = shifted, fs
				}
			}
			if it.Findings.HasErrors() && bad == nil {
				b := *it
				b.Body = body
				bad = &b
			}
		}
	}
	return bad
}

// Route sets the URL of each kind: to, or the config's route for the
// kind's family and the stream's domain. In load mode a family switched off
// is an error: the run would send nothing of that kind.
func (lb *LoadBodies) Route(to string, table route.Table) error {
	items := lb.Templates()
	if err := Route(items, to, table); err != nil {
		return err
	}
	lb.urls = make([]string, len(items))
	for k, it := range items {
		if it.Skip != "" {
			return &SwitchedOffError{Kind: it.Kind, Reason: it.Skip}
		}
		lb.urls[k] = it.URL
	}
	return nil
}

// SwitchedOffError is returned by LoadBodies.Route when a kind's family is
// switched off: a load run would send nothing of it.
type SwitchedOffError struct {
	Kind   event.Kind
	Reason string
}

func (e *SwitchedOffError) Error() string { return fmt.Sprintf("%s: %s", e.Kind, e.Reason) }

// URL returns where kind k goes (after Route).
func (lb *LoadBodies) URL(k int) string { return lb.urls[k] }

// Request returns request i: its kind's index and its body, appended to
// dst (which may be nil). The returned body is dst's new contents.
func (lb *LoadBodies) Request(i int64, dst []byte) (k int, body []byte) {
	nk := int64(len(lb.Kinds))
	k = int(i % nk)
	if lb.Same {
		return k, append(dst, lb.same[k]...)
	}
	return k, lb.render(dst, k, i/nk)
}

// MaxSize is the largest body of kind k (for buffers).
func (lb *LoadBodies) MaxSize(k int) int { return lb.sizes[k] }

// render appends kind k's body of round to dst: the pooled body of group
// round % P with the marker replaced by -<round+1> (7 digits at least; the
// base name is already in front of the marker) and, past the pool's first
// cycle, its times moved back by round - round % P ms.
func (lb *LoadBodies) render(dst []byte, k int, round int64) []byte {
	size := int64(len(lb.pool))
	g := round % size
	p := &lb.pool[g][k]
	shift := round - g
	if shift > p.room {
		shift = 0
	}
	var num, sfx [24]byte
	suffix := append(sfx[:0], '-')
	digits := strconv.AppendInt(num[:0], round+1, 10)
	for pad := len(digits); pad < 7; pad++ {
		suffix = append(suffix, '0')
	}
	suffix = append(suffix, digits...)
	times := p.times
	for j, b := range p.parts {
		if j > 0 {
			dst = append(dst, suffix...)
		}
		at := len(dst)
		dst = append(dst, b...)
		for ; len(times) > 0 && times[0].part == j; times = times[1:] {
			if shift != 0 {
				s := times[0]
				putDigits(dst[at+s.off:at+s.off+s.width], s.ms-shift)
			}
		}
	}
	return dst
}
