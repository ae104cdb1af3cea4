package send

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
)

// LifecycleOptions shape one whole broadcast.
type LifecycleOptions struct {
	// Length of the stream; 0 picks 1 to 10 minutes at random.
	Length time.Duration
	// SnapshotInterval is the time between snapshots (the service takes
	// them at a configured interval), and between the callbacks of any
	// other kind the service repeats during a stream; 0 means none.
	SnapshotInterval time.Duration
	// MaxSnapshots bounds the snapshots (and other repeated callbacks) of
	// a long stream.
	MaxSnapshots int
	// TaskRecord adds a record task's record_done after the automatic one.
	TaskRecord bool
	// Quality adds a quality detection during the stream.
	Quality bool
	// With adds optional kinds (event.Life.Optional) by name, as
	// TaskRecord and Quality do for theirs.
	With []event.Kind
	// Live puts the stream in the future: it starts now, so that played
	// in real time (--speed 1) every timestamp is the wall-clock time of
	// its delivery. Otherwise the stream ends now.
	Live bool
}

// DefaultMaxSnapshots bounds snapshots when LifecycleOptions leaves it 0.
const DefaultMaxSnapshots = 100

// ErrLifecycleFromSamples is returned when a lifecycle is asked of a
// verbatim or custom body: its bodies are samples (overrides change them).
var ErrLifecycleFromSamples = errors.New("a lifecycle is built from samples, not from a verbatim or custom body")

// Lifecycle plans one broadcast about one stream: every kind of
// event.StreamOrder (publish_started, publish_done, record_done...), the
// repeated ones (snapshots) every SnapshotInterval, the optional ones
// (quality detection, task record) when asked for, ordered by when the
// service sends them, each Item's At counted from publish_started.
func Lifecycle(o BodyOptions, lc LifecycleOptions) ([]Item, error) {
	if o.Data != nil || o.Verbatim {
		return nil, ErrLifecycleFromSamples
	}
	if lc.Length < 0 || lc.SnapshotInterval < 0 {
		return nil, errors.New("lifecycle length and snapshot interval cannot be negative")
	}
	s, err := NewStream(o)
	if err != nil {
		return nil, err
	}
	if lc.Length > 0 {
		s.Start = s.End.Add(-lc.Length)
	}
	if lc.Live {
		life := s.End.Sub(s.Start)
		s.Start = s.End
		s.End = s.Start.Add(life)
	}
	maxSnaps := lc.MaxSnapshots
	if maxSnaps <= 0 {
		maxSnaps = DefaultMaxSnapshots
	}

	type planned struct {
		kind event.Kind
		at   time.Time
		body []byte
	}
	var ps []planned
	add := func(k event.Kind) error {
		b, err := event.Sample(k, s)
		ps = append(ps, planned{k, event.SentAt(k, s), b})
		return err
	}
	for _, k := range event.StreamOrder() {
		info, _ := event.Info(k)
		switch {
		case info.Life.Repeats:
			if lc.SnapshotInterval <= 0 {
				continue
			}
			for t, n := s.Start.Add(lc.SnapshotInterval), 0; t.Before(s.End) && n < maxSnaps; t, n = t.Add(lc.SnapshotInterval), n+1 {
				b, err := event.SampleAt(k, s, t)
				if err != nil {
					return nil, err
				}
				ps = append(ps, planned{k, t, b})
			}
		case info.Life.Optional && !lc.wants(k):
		default:
			if err := add(k); err != nil {
				return nil, err
			}
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].at.Before(ps[j].at) })

	items := make([]Item, 0, len(ps))
	for i, p := range ps {
		it, err := finish(Item{Seq: i + 1, Kind: p.kind, Body: p.body, At: p.at.Sub(s.Start)}, o)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// wants reports whether the optional kind k was asked for.
func (lc LifecycleOptions) wants(k event.Kind) bool {
	return lc.TaskRecord && k == event.TaskRecordDone || lc.Quality && k == event.Quality || slices.Contains(lc.With, k)
}

// Arrange returns the delivery order: with duplicate every callback is
// delivered twice (the copy right after the original, as an at-least-once
// sender retrying would), with shuffle in a random order. The time line
// stays: the moments of delivery are the plan's, only what is delivered at
// each moment changes.
func Arrange(items []Item, duplicate, shuffle bool, rnd *rand.Rand) []Item {
	out := make([]Item, 0, 2*len(items))
	for _, it := range items {
		out = append(out, it)
		if duplicate {
			dup := it
			dup.Copy = 1
			out = append(out, dup)
		}
	}
	if !shuffle || len(out) < 2 {
		return out
	}
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	moments := make([]time.Duration, len(out))
	for i := range out {
		moments[i] = out[i].At
	}
	// A shuffle that leaves the order as it was tests nothing: try again
	// (bounded; two equal items can make every order look the same).
	orig := append([]Item(nil), out...)
	for try := 0; try < 10; try++ {
		rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		if !sameOrder(orig, out) {
			break
		}
	}
	for i := range out {
		out[i].At = moments[i]
	}
	return out
}

func sameOrder(a, b []Item) bool {
	for i := range a {
		if a[i].Seq != b[i].Seq || a[i].Copy != b[i].Copy {
			return false
		}
	}
	return true
}

// NoRouteError is returned by Route when a callback has nowhere to go.
type NoRouteError struct {
	Item Item
	Err  error
}

func (e *NoRouteError) Error() string { return fmt.Sprintf("%s: %v", e.Item.Kind, e.Err) }
func (e *NoRouteError) Unwrap() error { return e.Err }

// Route sets each Item's URL: to when given, else the configured URL for
// the callback's family and publish domain. A family switched off is not an
// error: the Item gets Skip, as the service would not send it.
func Route(items []Item, to string, table route.Table) error {
	for i := range items {
		it := &items[i]
		if to != "" {
			it.URL = to
			continue
		}
		ev, _ := event.Check(it.Body, event.Options{})
		kind := it.Kind
		if kind == "" && ev != nil {
			kind = ev.Kind
		}
		if kind == "" {
			return &NoRouteError{*it, fmt.Errorf("%w: the body's family is unknown (it is no kind livecb knows)", route.ErrNoRoute)}
		}
		domain := ""
		if ev != nil {
			domain = ev.Identity().Domain
		}
		url, err := table.Resolve(domain, kind.Family())
		var skipped *route.SkippedError
		switch {
		case errors.As(err, &skipped):
			it.Skip = skipped.Error()
		case err != nil:
			return &NoRouteError{*it, err}
		default:
			it.URL = url
		}
	}
	return nil
}
