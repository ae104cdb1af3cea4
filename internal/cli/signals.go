package cli

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
)

// interruptible returns a context that SIGINT or SIGTERM cancels, for every
// long-running command: what is in flight finishes (bounded), the summary
// and reports are written, and the command exits 130. The signals stay
// caught until stop, so that one arriving during the shutdown does not kill
// the process before its summary; a second one cancels hurry(ctx): stop
// waiting for what is in flight.
func interruptible(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	hurryCtx, hurryNow := context.WithCancel(context.Background())
	ctx, cancel := context.WithCancel(context.WithValue(parent, hurryKey{}, hurryCtx))
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-ch:
				if n++; n == 1 {
					cancel()
				} else {
					hurryNow()
				}
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
			hurryNow()
		})
	}
}

type hurryKey struct{}

// hurry is cancelled by a second signal (see interruptible).
func hurry(ctx context.Context) context.Context {
	if h, ok := ctx.Value(hurryKey{}).(context.Context); ok {
		return h
	}
	return context.Background()
}

// tuneGC makes the collector run at 4x heap growth instead of 2x for the
// commands that allocate for every callback but keep little alive (listen,
// replay, load mode): it halves the collector's CPU under load, for a few
// MB more at most (bench/README.md). A GOGC set by the user wins. The
// returned function restores the setting.
func tuneGC(app *App) func() {
	if app.env("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(400)
	return func() { debug.SetGCPercent(old) }
}
