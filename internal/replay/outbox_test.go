package replay

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestOutboxReportsEachInOrderOnce: whoever reports (run's goroutine, or
// inline the goroutines that set the outcomes), every place is reported
// once, in the order reserved, one report at a time, whatever the order
// the outcomes are set in; withdrawn places are counted, not reported;
// and reserve never runs more than the outbox's size ahead.
func TestOutboxReportsEachInOrderOnce(t *testing.T) {
	for _, inline := range []bool{false, true} {
		const n, size = 20000, 16
		var (
			got       []int
			withdrawn int
			inReport  bool
			mu        sync.Mutex // (the test's: reports must not overlap)
		)
		b := newOutbox(size, func(o Outcome) {
			mu.Lock()
			if inReport {
				t.Error("two reports at once")
			}
			inReport = true
			mu.Unlock()
			got = append(got, o.Line)
			mu.Lock()
			inReport = false
			mu.Unlock()
		}, func() { withdrawn++ }, inline)
		var reporter sync.WaitGroup
		if !inline {
			reporter.Go(b.run)
		}
		ids := make(chan int64, size)
		var setters sync.WaitGroup
		for range 4 {
			setters.Go(func() {
				for id := range ids {
					if rand.IntN(8) == 0 {
						time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
					}
					switch {
					case id%7 == 3:
						b.withdraw(id)
					case id%2 == 0:
						b.hold(id, Outcome{Line: int(id)})
						b.update(id, func(o *Outcome) { o.OK = true })
					default:
						b.put(id, Outcome{Line: int(id), OK: true})
					}
				}
			})
		}
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			defer close(ids)
			for i := range n {
				id := b.reserve()
				if id != int64(i) {
					t.Errorf("inline %v: place %d reserved as %d", inline, i, id)
					return
				}
				ids <- id
			}
		}()
		select {
		case <-finished:
		case <-time.After(20 * time.Second):
			t.Fatalf("inline %v: stalled: a place set was never reported, and reserve waits for room", inline)
		}
		setters.Wait()
		b.close()
		reporter.Wait()

		wantWithdrawn := 0
		var want []int
		for i := range n {
			if i%7 == 3 {
				wantWithdrawn++
			} else {
				want = append(want, i)
			}
		}
		if withdrawn != wantWithdrawn || len(got) != len(want) {
			t.Fatalf("inline %v: %d reported and %d withdrawn, want %d and %d", inline, len(got), withdrawn, len(want), wantWithdrawn)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("inline %v: report %d is place %d, want %d", inline, i, got[i], want[i])
			}
		}
	}
}

// TestOutboxHasRoomCallsOnRoom: hasRoom says whether a place is free
// without waiting; when none was, onRoom is called once places are
// reported.
func TestOutboxHasRoomCallsOnRoom(t *testing.T) {
	called := 0
	b := newOutbox(2, func(Outcome) {}, func() {}, true)
	b.onRoom = func() { called++ }
	a, c := b.reserve(), b.reserve()
	if b.hasRoom() {
		t.Fatal("room in a full outbox")
	}
	b.put(c, Outcome{}) // (not the head: nothing reported)
	if called != 0 || b.hasRoom() {
		t.Fatalf("room before the head was reported (onRoom called %d times)", called)
	}
	b.put(a, Outcome{})
	if called != 1 || !b.hasRoom() {
		t.Fatalf("onRoom called %d times, room %v, after both were reported", called, b.hasRoom())
	}
}
