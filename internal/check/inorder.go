package check

import (
	"context"
	"errors"
	"runtime"
	"sync"

	"golang.org/x/sync/semaphore"
)

// batchSize is the most values one hand-off to a worker carries.
const batchSize = 256

// inOrder calls work on every value read yields, on all cores, and hands the
// results to emit in the order read yielded them, from the calling
// goroutine.
//
// Values travel to the workers in batches, so that hand-offs cost little
// next to the work: a batch is what has been read since the last one left,
// up to batchSize, so a fast input makes full batches and a slow one (a
// pipe, a line without end) gets each value through at once instead of
// waiting for a batch to fill. Memory is bounded twice: at most 2 batches
// per core are in flight, and the values in flight weigh at most budget
// (one heavier value waits until it is alone).
//
// emit's error stops the reading and is returned; otherwise read's.
func inOrder[T, R any](read func(yield func(T) error) error, weight func(T) int64, budget int64,
	work func(T) R, emit func(R) error) error {
	type weighed struct {
		v T
		w int64
	}
	type batch struct {
		in     []weighed
		out    []R
		weight int64
		done   chan struct{}
	}
	workers := runtime.GOMAXPROCS(0)
	values := make(chan weighed, batchSize)
	jobs := make(chan *batch)
	order := make(chan *batch, 2*workers)
	sem := semaphore.NewWeighted(budget)
	ctx, stop := context.WithCancel(context.Background()) // stopped when emit fails
	defer stop()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				b.out = make([]R, len(b.in))
				for i, v := range b.in {
					b.out[i] = work(v.v)
				}
				close(b.done)
			}
		}()
	}

	readErr := make(chan error, 1)
	go func() {
		defer close(values)
		err := read(func(v T) error {
			w := min(weight(v), budget)
			if sem.Acquire(ctx, w) != nil {
				return errStopped
			}
			select {
			case values <- weighed{v, w}:
				return nil
			case <-ctx.Done():
				sem.Release(w)
				return errStopped
			}
		})
		if errors.Is(err, errStopped) {
			err = nil
		}
		readErr <- err
	}()

	go func() {
		defer close(order)
		defer close(jobs)
		for {
			v, ok := <-values
			if !ok {
				return
			}
			b := &batch{in: []weighed{v}, weight: v.w, done: make(chan struct{})}
		fill:
			for len(b.in) < batchSize {
				select {
				case v, ok = <-values:
					if !ok {
						break fill
					}
					b.in = append(b.in, v)
					b.weight += v.w
				default:
					break fill
				}
			}
			select {
			case order <- b:
			case <-ctx.Done():
				return
			}
			jobs <- b
			if !ok {
				return
			}
		}
	}()

	var emitErr error
	for b := range order {
		<-b.done
		for _, r := range b.out {
			if emitErr == nil {
				if emitErr = emit(r); emitErr != nil {
					stop()
				}
			}
		}
		sem.Release(b.weight)
	}
	wg.Wait()
	if err := <-readErr; err != nil {
		return err
	}
	return emitErr
}

var errStopped = errors.New("stopped")
