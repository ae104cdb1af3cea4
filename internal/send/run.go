package send

import (
	"context"
	"time"

	"github.com/livecb/livecb/internal/deliver"
)

// Runner delivers routed Items one after the other, through Client and
// under its policy (which also says which answers are expected).
type Runner struct {
	Client *deliver.Client
	// Speed paces delivery by the Items' At: 1 is real time, 10 ten times
	// faster; 0 delivers without waiting.
	Speed float64
	// OnAttempt, when set, is told of each attempt of a request as it
	// ends (so retries are reported as they happen).
	OnAttempt func(it Item, n int, a deliver.Attempt)
	// OnOutcome, when set, is told of each Item's outcome in order.
	OnOutcome func(Outcome)
}

// Outcome is how one Item went.
type Outcome struct {
	Item
	// Skipped says why it was not sent; Result is empty then.
	Skipped string
	Result  deliver.Result
	// Matched is true when a complete answer arrived with an expected
	// status.
	Matched bool
}

// Failed reports whether no complete answer arrived.
func (o Outcome) Failed() bool { return o.Skipped == "" && o.Result.Err != nil }

// Summary counts outcomes.
type Summary struct {
	Sent    int // requests that got an answer or failed trying
	Matched int // answers with an expected status
	Missed  int // answers with another status
	Failed  int // no complete answer: unreachable, cut short, too large...
	Skipped int // not sent: family switched off, or URL unreachable earlier
	// Interrupted counts the requests under way when ctx ended: sent, with
	// no answer yet (not failures of the receiver's).
	Interrupted int
	// FirstFailure is the first failure, for the error message.
	FirstFailure *Outcome
}

// Run delivers items in order, pacing them by Speed. After a failure to
// get a complete answer the remaining callbacks to the same URL are
// skipped: one refused connection says enough, and a hanging receiver
// would otherwise cost a timeout per callback. It stops early when ctx
// ends.
func (r *Runner) Run(ctx context.Context, items []Item) Summary {
	var sum Summary
	unreachable := map[string]string{}
	start := time.Now()
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		out := Outcome{Item: it}
		switch {
		case it.Skip != "":
			out.Skipped = it.Skip
		case unreachable[it.URL] != "":
			out.Skipped = "not sent: " + unreachable[it.URL] + " earlier"
		}
		if out.Skipped != "" {
			sum.Skipped++
			r.emit(out)
			continue
		}
		if r.Speed > 0 {
			due := start.Add(time.Duration(float64(it.At) / r.Speed))
			if !sleepUntil(ctx, due) {
				break
			}
		}
		var onAttempt func(int, deliver.Attempt)
		if r.OnAttempt != nil {
			onAttempt = func(n int, a deliver.Attempt) { r.OnAttempt(it, n, a) }
		}
		out.Result = r.Client.Do(ctx, deliver.Request{URL: it.URL, Body: it.Body}, onAttempt)
		sum.Sent++
		switch {
		case out.Result.Cause == deliver.CauseInterrupted:
			sum.Interrupted++
		case out.Result.Err != nil:
			sum.Failed++
			unreachable[it.URL] = string(out.Result.Cause)
			if sum.FirstFailure == nil {
				o := out
				sum.FirstFailure = &o
			}
		case out.Result.Matched:
			out.Matched = true
			sum.Matched++
		default:
			sum.Missed++
		}
		r.emit(out)
	}
	return sum
}

func (r *Runner) emit(o Outcome) {
	if r.OnOutcome != nil {
		r.OnOutcome(o)
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
