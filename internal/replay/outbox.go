package replay

import "sync"

// outbox keeps each record's outcome until its turn to be reported: every
// record takes a place in replay order (reserve), whose outcome is set
// once known, in any order (put), and one goroutine reports them in order
// (run). It holds at most len(slots) places, so that reading never runs
// further ahead of the answers than that: reserve waits for the reporter.
//
// One lock and two conditions for every record, instead of the channels a
// record went through before (a slot channel, an order channel, a job
// channel, a semaphore): those were a tenth of an unpaced replay's CPU.
type outbox struct {
	mu      sync.Mutex
	room    sync.Cond // signalled when places are reported
	ready   sync.Cond // signalled when the next place to report is set
	slots   []slot
	next    int64 // the next place to reserve
	head    int64 // the next place to report
	closed  bool  // no more places will be reserved
	waiting bool  // the reporter waits for ready
	full    bool  // reserve waits for room
	// beforeWait, when set, is called before reserve waits for room (the
	// places it waits for may need it to be filled).
	beforeWait func()
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

func newOutbox(size int) *outbox {
	b := &outbox{slots: make([]slot, size)}
	b.room.L, b.ready.L = &b.mu, &b.mu
	return b
}

// reserve takes the next place.
func (b *outbox) reserve() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next-b.head >= int64(len(b.slots)) && b.beforeWait != nil {
		b.mu.Unlock()
		b.beforeWait()
		b.mu.Lock()
	}
	for b.next-b.head >= int64(len(b.slots)) {
		b.full = true
		b.room.Wait()
	}
	id := b.next
	b.next++
	return id
}

// put sets place id's outcome.
func (b *outbox) put(id int64, o Outcome) {
	b.mu.Lock()
	s := &b.slots[id%int64(len(b.slots))]
	s.o, s.state = o, slotSet
	b.wake(id)
	b.mu.Unlock()
}

// update sets place id's outcome from what it holds, as f makes it.
func (b *outbox) update(id int64, f func(*Outcome)) {
	b.mu.Lock()
	s := &b.slots[id%int64(len(b.slots))]
	f(&s.o)
	s.state = slotSet
	b.wake(id)
	b.mu.Unlock()
}

// hold keeps o in place id until update completes it (o is not reported
// before that).
func (b *outbox) hold(id int64, o Outcome) {
	b.mu.Lock()
	b.slots[id%int64(len(b.slots))].o = o
	b.mu.Unlock()
}

// withdraw marks place id as never to be reported.
func (b *outbox) withdraw(id int64) {
	b.mu.Lock()
	s := &b.slots[id%int64(len(b.slots))]
	s.o, s.state = Outcome{}, slotWithdrawn
	b.wake(id)
	b.mu.Unlock()
}

func (b *outbox) wake(id int64) {
	if b.waiting && id == b.head {
		b.waiting = false
		b.ready.Signal()
	}
}

// close says that no place will be reserved any more; run returns once
// every place is reported.
func (b *outbox) close() {
	b.mu.Lock()
	b.closed = true
	if b.waiting {
		b.waiting = false
		b.ready.Signal()
	}
	b.mu.Unlock()
}

// run reports the places in order, as they become known: report gets each
// set outcome, withdrawn once per withdrawn place.
func (b *outbox) run(report func(Outcome), withdrawn func()) {
	batch := make([]slot, 0, 64)
	b.mu.Lock()
	for {
		for b.head < b.next && len(batch) < cap(batch) {
			s := &b.slots[b.head%int64(len(b.slots))]
			if s.state == slotEmpty {
				break
			}
			batch = append(batch, *s)
			*s = slot{}
			b.head++
		}
		if len(batch) > 0 {
			if b.full {
				b.full = false
				b.room.Broadcast()
			}
			b.mu.Unlock()
			for i := range batch {
				if batch[i].state == slotSet {
					report(batch[i].o)
				} else {
					withdrawn()
				}
				batch[i] = slot{}
			}
			batch = batch[:0]
			b.mu.Lock()
			continue
		}
		if b.closed && b.head == b.next {
			b.mu.Unlock()
			return
		}
		b.waiting = true
		b.ready.Wait()
	}
}
