//go:build !linux

package deliver

import "context"

// loopAvailable: the event loop is Linux's (epoll); elsewhere a Pump runs
// a goroutine per connection.
const loopAvailable = false

func (pu *Pump) runLoops(ctx context.Context) { pu.runGoroutines(ctx) }

// starvation is the event loop's (pump_linux.go).
type starvation struct{}
