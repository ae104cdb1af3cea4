package listen

import (
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"
)

// Accepting connections. No peer can make the listener stop: an accept
// that fails for want of file descriptors (EMFILE, ENFILE) or for a passing
// reason is retried after a pause, 5 ms doubling to 1 s, as net/http's
// server does, where fasthttp's would return the error and end Serve. And
// the connections served at once are bounded (Options.MaxConns): at the
// bound, a new connection takes the place of the connection idle the
// longest (between requests, or accepted and silent), and when every one is
// busy it is turned away at once with a 503.

// DefaultMaxConns is the default of Options.MaxConns: half the process's
// limit of open files, or all of it but 128 (for the capture log, the
// forwarding client's connections and the rest) when that is more, and at
// most 1024.
func DefaultMaxConns() int {
	n := openFilesLimit()
	return max(1, min(1024, max(n/2, n-128)))
}

// Accept returns the next connection to serve; it fails only once the
// listener is closed (or for an error no retry can mend).
func (l *trackingListener) Accept() (net.Conn, error) {
	var pause time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !retryable(err) {
				return nil, err
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				l.shedIdle() // (frees a descriptor, if one is idle)
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		pause = 0
		if tc := l.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// retryable reports whether an accept error may pass.
func retryable(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// admit tracks a new connection, making room for it at the bound; nil
// when it was turned away.
func (l *trackingListener) admit(c net.Conn) *trackedConn {
	// A new connection owes its first request's headers from now on.
	tc := &trackedConn{Conn: c, ln: l, remote: c.RemoteAddr().String()}
	tc.since.Store(time.Now().UnixNano())
	l.mu.Lock()
	if l.max > 0 && len(l.conns) >= l.max && !l.shedIdleLocked() {
		l.mu.Unlock()
		l.refuse(c)
		return nil
	}
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc
}

func (l *trackingListener) shedIdle() {
	l.mu.Lock()
	l.shedIdleLocked()
	l.mu.Unlock()
}

// shedIdleLocked gives up the connection idle the longest, if any: it no
// longer counts, and its pending read fails at once (as an idle timeout
// makes it fail: an answer being written still is), so that fasthttp
// closes it. l.mu is held.
func (l *trackingListener) shedIdleLocked() bool {
	var oldest *trackedConn
	for c := range l.conns {
		if ph := c.phase.Load(); (ph == phaseNew || ph == phaseIdle) && (oldest == nil || c.since.Load() < oldest.since.Load()) {
			oldest = c
		}
	}
	if oldest == nil || !oldest.cutIfIdle() {
		return false
	}
	delete(l.conns, oldest)
	l.shed.Add(1)
	return true
}

// cutIdle lets every idle connection go (at shutdown: none holds a
// request, and a silent one would hold the shutdown for its whole header
// timeout).
func (l *trackingListener) cutIdle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.cutIfIdle()
	}
}

// cutIfIdle makes the pending read of an idle connection fail, unless a
// request began meanwhile.
func (c *trackedConn) cutIfIdle() bool {
	for _, ph := range [...]int32{phaseNew, phaseIdle} {
		if c.phase.CompareAndSwap(ph, phaseCut) {
			c.Conn.SetReadDeadline(time.Unix(1, 0))
			return true
		}
	}
	return false
}

// maxRefusing bounds the refusals under way; beyond, a connection is
// closed without an answer.
const maxRefusing = 64

const refusal = "livecb listen: too many connections at once, every one busy; try again\n"

var refusalAnswer = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 1\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(refusal)) + "\r\n\r\n" + refusal)

// refuse answers a connection 503 and closes it, without holding Accept.
func (l *trackingListener) refuse(c net.Conn) {
	l.refused.Add(1)
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		c.SetDeadline(time.Now().Add(lingerTime))
		c.Write(refusalAnswer)
		// Closed at once, what the client sent meanwhile would make the
		// kernel reset the connection, and the 503 would likely be lost.
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
			io.Copy(io.Discard, io.LimitReader(tc, 64<<10))
		}
		c.Close()
	}()
}

// Close stops accepting, also during a pause between retries.
func (l *trackingListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}
