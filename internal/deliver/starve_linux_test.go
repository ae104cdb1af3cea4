package deliver

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestStarvationStopsHolding: the loops may hold their processors while no
// goroutine waits long to run; once goroutines waited milliseconds (here,
// on one processor kept busy), not for holdPause, then again.
func TestStarvationStopsHolding(t *testing.T) {
	var s starvation
	now := monoNow()
	if !s.allows(now) {
		t.Fatal("not allowed at the first look")
	}
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
	runtime.GOMAXPROCS(procs)
	now += holdCheck
	if s.allows(now) {
		t.Fatal("allowed after 64 goroutines waited 5 ms to run")
	}
	if s.allows(now + holdPause/2) {
		t.Fatal("allowed during the pause")
	}
	if !s.allows(now + holdPause + holdCheck) {
		t.Fatal("not allowed after the pause, nothing having starved since")
	}
}
