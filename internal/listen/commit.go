package listen

import (
	"net/http"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
)

// Group commit. Requests that arrive together share one write(2) (and one
// fsync with --sync) of the capture log: each handler encodes its record on
// its own, then, under a lock held only to number it, appends its line to
// the group being formed. One handler at a time is the group's leader: it
// writes the whole group, reports every request of it in order (counts,
// OnRequest), then releases them all; meanwhile the next group forms. So a
// request is still answered only after its record reached the file, records
// are whole lines in seq order, and OnRequest calls never overlap and come
// in capture order; concurrent requests just share the system calls.

// group is the requests committed together.
type group struct {
	lines []byte     // their capture lines, in seq order
	reqs  []*Request // in seq order
	ends  []int      // where each request's line ends in lines (-1: none)
	// done is closed once the group is written and reported; lead is sent
	// one token when the previous leader hands this group over: the waiter
	// that takes it becomes the leader. Both are made by the first waiter:
	// most groups under load are one request, its own leader, which waits
	// for nobody.
	done chan struct{}
	lead chan struct{}
}

// maxSpare is the largest group buffer kept for the next group.
const maxSpare = 1 << 20

func (s *Server) newGroup() *group {
	// Reuse a group already committed, with its buffers: nobody holds it
	// once its leader has reported it (its waiters kept its channels,
	// not the group).
	if g := s.spare; g != nil {
		s.spare = nil
		g.lines, g.reqs, g.ends = g.lines[:0], g.reqs[:0], g.ends[:0]
		g.done, g.lead = nil, nil
		return g
	}
	return &group{}
}

// commit numbers req, writes its line (enc, nil when it has none) with the
// group it joins, and returns once that group is written and reported.
func (s *Server) commit(req *Request, enc capture.Encoded) {
	s.cmu.Lock()
	s.seq++
	req.Record.Seq = s.seq
	req.Record.Format = capture.Format
	if s.cur == nil {
		s.cur = s.newGroup()
	}
	g := s.cur
	end := -1
	if enc != nil {
		g.lines = capture.AppendLine(g.lines, s.seq, enc)
		end = len(g.lines)
	}
	g.reqs = append(g.reqs, req)
	g.ends = append(g.ends, end)
	if s.leading {
		if g.done == nil {
			g.done, g.lead = make(chan struct{}), make(chan struct{}, 1)
		}
		done, lead := g.done, g.lead
		s.cmu.Unlock()
		select {
		case <-done:
			return
		case <-lead:
		}
		s.cmu.Lock()
	}
	// This handler leads: g is the group being formed (nobody else takes
	// it while s.leading is set). Close it and let the next one form.
	s.leading = true
	s.cur = s.newGroup()
	s.cmu.Unlock()

	s.flush(g)

	s.cmu.Lock()
	if len(s.cur.reqs) > 0 {
		s.cur.lead <- struct{}{} // a waiter of the next group leads it
	} else {
		s.leading = false
	}
	g.lines, g.reqs, g.ends = g.lines[:0], g.reqs[:0], g.ends[:0]
	if cap(g.lines) > maxSpare {
		g.lines = nil // (grown by large records: not kept for the next group)
	}
	s.spare = g
	s.cmu.Unlock()
}

// flush writes a group's lines, reports its requests in order and releases
// their handlers.
func (s *Server) flush(g *group) {
	var n int
	var err error
	if len(g.lines) > 0 {
		n, err = s.opts.Capture.WriteLines(g.lines)
	}
	s.mu.Lock()
	for i, req := range g.reqs {
		switch {
		case req.CaptureErr != nil:
		case err != nil && g.ends[i] > n:
			// Not in the file (or not whole, or not synced).
			req.CaptureErr = err
		}
		if req.CaptureErr != nil {
			failCapture(req)
			// The record changed: what was made of it before is remade.
			req.Encoded = nil
			if s.opts.Render != nil {
				req.Line = s.opts.Render(req.Line[:0], req)
			}
			if s.opts.Prepare != nil {
				req.Prepared = s.opts.Prepare(req)
			}
		}
		s.stats.add(req)
		if s.opts.OnRequest != nil {
			s.opts.OnRequest(req, &s.stats)
		}
	}
	s.mu.Unlock()
	// The handlers read their requests again once released; the reports
	// above happen before (the channel close orders them).
	for i := range g.reqs {
		g.reqs[i] = nil
	}
	if g.done != nil { // (set before this leader took the group)
		close(g.done)
	}
}

// failCapture makes the answer of a request whose record could not be
// written a 500, so that the sender retries.
func failCapture(req *Request) {
	rec := req.Record
	rec.Answer = capture.Answer{Status: http.StatusInternalServerError,
		Body: "livecb listen: could not save the callback: " + req.CaptureErr.Error() + "\n"}
	rec.Findings = append(rec.Findings, event.Finding{Severity: event.Error, Code: CodeCaptureFailed,
		Message: "could not write the capture log: " + req.CaptureErr.Error() + "; answered 500 so that the sender retries"})
	req.errs++
}
