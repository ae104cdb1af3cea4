package event

import "time"

// SentAt returns when the service sends the callback of kind k that Sample
// builds for s (the kind's Life.At): publish_started when the stream
// starts, publish_done when it ends, records shortly after, a snapshot when
// it is taken, a quality detection when the problem ends. send's lifecycle
// orders and paces callbacks by it. An unknown kind is sent when s ends.
func SentAt(k Kind, s Stream) time.Time {
	if info, ok := table().index[k]; ok {
		return info.Life.At(s)
	}
	return s.End
}

// SnapshotAt returns a realistic snapshot of s taken at t (Sample takes it
// half-way through the stream).
func SnapshotAt(s Stream, t time.Time) ([]byte, error) { return SampleAt(Snapshot, s, t) }

// StreamOrder returns every kind in the order one stream's callbacks come:
// phase by phase (start, during, end, after), within a phase by family in
// the family table's order, then by name. Optional and repeating kinds are
// in it once. demo, the contract suite's lifecycle cases and send's
// lifecycle take their kinds from it, so a new kind is in all of them.
func StreamOrder() []Kind { return append([]Kind(nil), table().order...) }

// InPhase returns the kinds of the given phases: the kinds of the first
// phase in stream order, then those of the second, and so on (the contract
// suite's out-of-order lifecycles).
func InPhase(phases ...Phase) []Kind {
	r := table()
	var out []Kind
	for _, p := range phases {
		for _, k := range r.order {
			if r.index[k].Life.Phase == p {
				out = append(out, k)
			}
		}
	}
	return out
}
