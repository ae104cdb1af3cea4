package replay

import "sync"

// outbox keeps each record's outcome until its turn to be reported: every
// record takes a place in replay order (reserve), whose outcome is set
// once known, in any order (put), and the outcomes are reported in order,
// one call at a time. It holds at most len(slots) places, so that reading
// never runs further ahead of the answers than that: reserve waits for
// the reporting.
//
// Who reports depends on the report function:
//   - one that may wait (its output a pipe or a terminal, whose reader
//     takes its time) is called by run, on a goroutine of its own, so that
//     the goroutines that set the outcomes (a Pump's event loops) never
//     wait for a reader;
//   - one that never waits (its output a file) is called by whichever
//     goroutine sets the outcome at the head (inline): no goroutine to
//     wake every few records, which, with the Pump's loops holding both
//     processors of a small machine, also had to wait for one.
//
// One lock and two conditions for every record, instead of the channels a
// record went through before (a slot channel, an order channel, a job
// channel, a semaphore): those were a tenth of an unpaced replay's CPU.
type outbox struct {
	mu      sync.Mutex
	room    sync.Cond // signalled when places are reported
	ready   sync.Cond // signalled when the next place to report is set (run)
	slots   []slot
	next    int64 // the next place to reserve
	head    int64 // the next place to report
	closed  bool  // no more places will be reserved
	waiting bool  // run waits for ready
	full    bool  // reserve waits for room
	// beforeWait, when set, is called before reserve waits for room (the
	// places it waits for may need it to be filled).
	beforeWait func()
	// onRoom, when set, is called once places are reported after hasRoom
	// said there were none (roomWanted).
	onRoom     func()
	roomWanted bool

	// report gets each set outcome in order, withdrawn is called once per
	// withdrawn place; never two calls at once.
	report    func(Outcome)
	withdrawn func()
	inline    bool
	// reporting is held by whoever reports; batch is theirs.
	reporting sync.Mutex
	batch     []slot
}

type slot struct {
	o     Outcome
	state slotState
}

type slotState uint8

const (
	slotEmpty     slotState = iota // reserved, not yet known
	slotSet                        // known: to report
	slotWithdrawn                  // never sent (the replay stopped first): not reported
)

// newOutbox returns an outbox of size places. When inline is false, run
// must be running for outcomes to be reported.
func newOutbox(size int, report func(Outcome), withdrawn func(), inline bool) *outbox {
	b := &outbox{slots: make([]slot, size), report: report, withdrawn: withdrawn, inline: inline, batch: make([]slot, 0, 64)}
	b.room.L, b.ready.L = &b.mu, &b.mu
	return b
}

// reserve takes the next place.
func (b *outbox) reserve() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.roomLeft() && b.beforeWait != nil {
		b.mu.Unlock()
		b.beforeWait()
		b.mu.Lock()
	}
	for !b.roomLeft() {
		b.full = true
		b.room.Wait()
	}
	id := b.next
	b.next++
	return id
}

// hasRoom reports whether reserve would take a place without waiting;
// when not, onRoom is called once there is room.
func (b *outbox) hasRoom() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.roomLeft() {
		return true
	}
	b.roomWanted = true
	return false
}

// roomLeft says whether a place is free (b.mu held).
func (b *outbox) roomLeft() bool { return b.next-b.head < int64(len(b.slots)) }

// put sets place id's outcome.
func (b *outbox) put(id int64, o Outcome) {
	b.set(id, func(s *slot) { s.o, s.state = o, slotSet })
}

// update sets place id's outcome from what it holds, as f makes it.
func (b *outbox) update(id int64, f func(*Outcome)) {
	b.set(id, func(s *slot) {
		f(&s.o)
		s.state = slotSet
	})
}

// withdraw marks place id as never to be reported.
func (b *outbox) withdraw(id int64) {
	b.set(id, func(s *slot) { s.o, s.state = Outcome{}, slotWithdrawn })
}

// set changes place id as f does, then has the head reported when it is
// ready: by run, or here (inline).
func (b *outbox) set(id int64, f func(*slot)) {
	b.mu.Lock()
	f(&b.slots[id%int64(len(b.slots))])
	atHead := id == b.head
	if atHead && b.waiting {
		b.waiting = false
		b.ready.Signal()
	}
	b.mu.Unlock()
	if atHead && b.inline {
		b.drain()
	}
}

// hold keeps o in place id until update completes it (o is not reported
// before that).
func (b *outbox) hold(id int64, o Outcome) {
	b.mu.Lock()
	b.slots[id%int64(len(b.slots))].o = o
	b.mu.Unlock()
}

// headSet says whether the place at the head is set (b.mu held).
func (b *outbox) headSet() bool {
	return b.head < b.next && b.slots[b.head%int64(len(b.slots))].state != slotEmpty
}

// drain reports what is ready, unless another goroutine is reporting (it
// reports this too).
func (b *outbox) drain() {
	for b.reporting.TryLock() {
		b.reportReady()
		b.reporting.Unlock()
		// A head set after reportReady's last look, by a goroutine whose
		// TryLock failed before the Unlock, is this one's to report.
		b.mu.Lock()
		more := b.headSet()
		b.mu.Unlock()
		if !more {
			return
		}
	}
}

// reportReady reports the places from the head for as long as they are
// set (b.reporting held).
func (b *outbox) reportReady() {
	for {
		b.mu.Lock()
		for b.headSet() && len(b.batch) < cap(b.batch) {
			s := &b.slots[b.head%int64(len(b.slots))]
			b.batch = append(b.batch, *s)
			*s = slot{}
			b.head++
		}
		if len(b.batch) == 0 {
			b.mu.Unlock()
			return
		}
		if b.full {
			b.full = false
			b.room.Broadcast()
		}
		onRoom := b.roomWanted && b.onRoom != nil
		b.roomWanted = false
		b.mu.Unlock()
		if onRoom {
			b.onRoom()
		}
		for i := range b.batch {
			if b.batch[i].state == slotSet {
				b.report(b.batch[i].o)
			} else {
				b.withdrawn()
			}
			b.batch[i] = slot{}
		}
		b.batch = b.batch[:0]
	}
}

// close says that no place will be reserved any more; run returns once
// every place is reported. Inline, close reports what is left itself,
// which is everything once every place is set.
func (b *outbox) close() {
	b.mu.Lock()
	b.closed = true
	if b.waiting {
		b.waiting = false
		b.ready.Signal()
	}
	b.mu.Unlock()
	if b.inline {
		b.reporting.Lock()
		b.reportReady()
		b.reporting.Unlock()
	}
}

// run reports the places in order, as they become known, until close and
// the last is reported (not inline).
func (b *outbox) run() {
	for {
		b.mu.Lock()
		for !b.headSet() && !(b.closed && b.head == b.next) {
			b.waiting = true
			b.ready.Wait()
		}
		done := !b.headSet()
		b.mu.Unlock()
		if done {
			return
		}
		b.reporting.Lock()
		b.reportReady()
		b.reporting.Unlock()
	}
}
