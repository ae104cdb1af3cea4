package replay

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/livecb/livecb/internal/source"
)

// Input is one file to replay.
type Input = source.Input

// entry is one item of one input, with the time it sorts by.
type entry struct {
	item source.Item
	// key is the item's time, or for an item without one the time of the
	// item before it in the same file (zero at the start): inputs without
	// timing keep their file order.
	key   time.Time
	input int
	err   error
}

// readInput streams one input's items into out, then closes it.
func readInput(ctx context.Context, idx int, in Input, opts source.Options, idle func(), out chan<- entry) {
	defer close(out)
	send := func(e entry) error {
		select {
		case out <- e:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	rc, err := in.Open()
	if err != nil {
		send(entry{input: idx, err: err})
		return
	}
	defer rc.Close()
	var last time.Time
	_, err = source.Read(in.Name, idleReader{rc, idle}, opts, func(it source.Item) error {
		if !it.Time.IsZero() {
			last = it.Time
		}
		return send(entry{item: it, key: last, input: idx})
	})
	if err != nil && ctx.Err() == nil {
		send(entry{input: idx, err: err}) // a *source.FileError, which names the file
	}
}

// merge reads every input at once, each as a stream, and yields their items
// in time order (ties: the earlier input on the command line first), one
// at a time: memory holds one pending item per input. It stops when ctx is
// done or next returns false. idle is called before reading more of an
// input, which may wait for it (from the inputs' goroutines).
func merge(ctx context.Context, inputs []Input, opts source.Options, idle func(), next func(entry) bool) error {
	if len(inputs) == 1 {
		return readOne(inputs[0], opts, idle, next)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chans := make([]chan entry, len(inputs))
	for i, in := range inputs {
		chans[i] = make(chan entry, 16)
		go readInput(ctx, i, in, opts, idle, chans[i])
	}
	// heads[i] is input i's pending item while has[i] (values, not
	// pointers: a pointer to each item read made one more allocation per
	// record).
	heads := make([]entry, len(inputs))
	has := make([]bool, len(inputs))
	pull := func(i int) error {
		e, ok := <-chans[i]
		if !ok {
			heads[i], has[i] = entry{}, false
			chans[i] = nil
			return nil
		}
		if e.err != nil {
			return e.err
		}
		heads[i], has[i] = e, true
		return nil
	}
	for i := range inputs {
		if err := pull(i); err != nil {
			return err
		}
	}
	for {
		best := -1
		for i := range heads {
			if has[i] && (best < 0 || heads[i].key.Before(heads[best].key)) {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		if !next(heads[best]) {
			return nil
		}
		if err := pull(best); err != nil {
			return err
		}
	}
}

// errStopped ends the reading of one input when next returns false.
var errStopped = errors.New("replay: stopped")

// readOne yields the items of a single input as merge does, read on the
// caller's goroutine: nothing to merge, so no goroutine and channel
// between the reading and the replay (one hand-off per record less).
func readOne(in Input, opts source.Options, idle func(), next func(entry) bool) error {
	rc, err := in.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	var last time.Time
	_, err = source.Read(in.Name, idleReader{rc, idle}, opts, func(it source.Item) error {
		if !it.Time.IsZero() {
			last = it.Time
		}
		if !next(entry{item: it, key: last}) {
			return errStopped
		}
		return nil
	})
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// idleReader calls idle before each read of r: the reading's buffer is
// empty then, and the read may wait (a pipe, a terminal).
type idleReader struct {
	r    io.Reader
	idle func()
}

func (r idleReader) Read(p []byte) (int, error) {
	if r.idle != nil {
		r.idle()
	}
	return r.r.Read(p)
}
