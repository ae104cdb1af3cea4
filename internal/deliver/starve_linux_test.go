package deliver

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// starve makes 64 goroutines wait about 5 ms to run, on one processor
// kept busy.
func starve() {
	procs := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(procs)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
		}()
	}
	time.Sleep(10 * time.Millisecond) // (all of them waiting)
	close(start)                      // all runnable, and this goroutine keeps the processor:
	for t0 := time.Now(); time.Since(t0) < 5*time.Millisecond; {
	}
	wg.Wait()
}

// TestStarvationStopsHolding: the loops may hold their processors while no
// goroutine waits long to run; once goroutines waited milliseconds, not
// for a short pause, then again.
func TestStarvationStopsHolding(t *testing.T) {
	var s starvation
	now := monoNow()
	if !s.allows(now) {
		t.Fatal("not allowed at the first look")
	}
	starve()
	now += holdCheck
	if s.allows(now) {
		t.Fatal("allowed after 64 goroutines waited 5 ms to run")
	}
	if s.allows(now + holdPauseMin/2) {
		t.Fatal("allowed during the pause")
	}
	if !s.allows(now + holdPauseMin + holdCheck) {
		t.Fatal("not allowed after the pause, nothing having starved since")
	}
}

// TestStarvationAgainPausesLonger: goroutines that starve again soon after
// a pause get a pause twice as long each time, up to holdPauseMax; a
// starvation long after the last gets the short pause again.
func TestStarvationAgainPausesLonger(t *testing.T) {
	var s starvation
	now := monoNow()
	s.allows(now)
	pause := holdPauseMin
	for i := range 7 {
		starve()
		now += holdCheck
		if s.allows(now) {
			t.Fatalf("starvation %d: allowed", i+1)
		}
		if s.allows(now + pause - holdCheck) {
			t.Fatalf("starvation %d: allowed before its pause of %v", i+1, time.Duration(pause))
		}
		now += pause
		if !s.allows(now) {
			t.Fatalf("starvation %d: not allowed after its pause of %v", i+1, time.Duration(pause))
		}
		pause = min(2*pause, holdPauseMax)
	}
	if pause != holdPauseMax {
		t.Fatalf("the pause grew to %v, not to its most, %v", time.Duration(pause), time.Duration(holdPauseMax))
	}
	starve()
	now += holdPauseMax + holdRecur + holdCheck
	if s.allows(now) {
		t.Fatal("allowed after a starvation")
	}
	if !s.allows(now + holdPauseMin + holdCheck) {
		t.Fatal("a starvation long after the last paused for longer than the short pause")
	}
}
