package cli

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/replay"
	"github.com/livecb/livecb/internal/term"
)

// fmtReplayLine is a replay record's line as fmt made it before
// appendLine: the reference appendLine must match.
func fmtReplayLine(r *replayRenderer, o replay.Outcome, src string, showURL bool) string {
	p := r.app.Color
	kind := string(o.Kind)
	if kind == "" {
		kind = "-"
	}
	line := fmt.Sprintf("%s  %-16s  ", src, kind)
	switch o.State {
	case replay.DryRun:
		dest := display(o.URL)
		if dest == "" {
			dest = "no URL (pass --to)"
		}
		line += fmt.Sprintf("-> %s  %s, %s", dest, plural(o.Size, "byte"), term.Sanitize(o.ContentType))
		if r.opts.Speed > 0 {
			line += p.Dim(fmt.Sprintf("  at +%s", roundLatency(o.Offset)))
		}
		showURL = false
	case replay.Skipped:
		line += p.Bad("NOT SENT: " + display(o.Reason))
		showURL = false
	case replay.Unreachable:
		line += p.Bad("FAILED: "+string(o.Cause)) + "  " + p.Dim(roundLatency(o.Latency).String())
	case replay.Failed:
		line += p.Bad("FAILED: "+string(o.Cause)+": "+display(o.Reason)) + "  " + p.Dim(roundLatency(o.Latency).String())
		showURL = true
	case replay.Interrupted:
		line += p.Warn("INTERRUPTED: no answer yet") + "  " + p.Dim(roundLatency(o.Latency).String())
	case replay.Answered:
		status := fmt.Sprintf("%d %s", o.Status, http.StatusText(o.Status))
		if o.OK {
			status = p.OK(status)
		} else {
			status = p.Bad(status) + " " + p.Bad("(expected "+r.expect.String()+")")
		}
		line += status + "  " + p.Dim(roundLatency(o.Latency).String())
	}
	if o.Paced {
		line += p.Dim(fmt.Sprintf("  late %s", roundLatency(o.Lateness)))
	}
	if showURL {
		line += "  -> " + display(o.URL)
	}
	return line + "\n"
}

// TestReplayLineMatchesFmt: every state, in colour and without, with
// hostile sources, reasons and URLs, gives the line fmt gave.
func TestReplayLineMatchesFmt(t *testing.T) {
	hostile := "a\x1b[2J\u202e\xff é 直播 \t"
	expect, err := deliver.ParseExpect("2xx")
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []replay.Outcome
	for _, st := range []replay.State{replay.Answered, replay.Unreachable, replay.Failed, replay.Interrupted, replay.DryRun, replay.Skipped} {
		for _, ok := range []bool{true, false} {
			for _, paced := range []bool{false, true} {
				for _, kind := range []string{"", "record_done", "task_record_done"} {
					for _, url := range []string{"", "http://h/cb?token=s3cret&x=" + hostile} {
						outcomes = append(outcomes, replay.Outcome{State: st, OK: ok, Paced: paced, Kind: event.Kind(kind), URL: url,
							Status: map[bool]int{true: 200, false: 503}[ok], Latency: 1234567 * time.Nanosecond, Lateness: 42 * time.Microsecond,
							Offset: 3 * time.Second, Cause: deliver.CauseReset, Reason: "the answer said " + hostile + " token=s3cret",
							Size: 405, ContentType: "application/json; " + hostile})
					}
				}
			}
		}
	}
	for _, on := range []bool{false, true} {
		for _, opts := range []ReplayOptions{{}, {Speed: 2}, {PreservePath: true}} {
			opts.Dest.To = "http://h/"
			for _, src := range []string{"cap.ndjson:12", "caf\xe9 " + hostile + ":3"} {
				app := &App{Color: term.NewPalette(on)}
				r := &replayRenderer{app: app, opts: &opts, expect: expect}
				for i, o := range outcomes {
					for _, showURL := range []bool{false, true} {
						want := fmtReplayLine(r, o, src, showURL)
						if got := string(r.appendLine([]byte("x"), o, src, showURL)); got != "x"+want {
							t.Fatalf("colour %v, outcome %d (%s), source %q:\n got %q\nwant %q", on, i, o.State, src, got, "x"+want)
						}
					}
				}
			}
		}
	}
	if strings.Contains(fmtReplayLine(&replayRenderer{app: &App{Color: term.NewPalette(false)}, opts: &ReplayOptions{}}, outcomes[0], "s", true), "s3cret") {
		t.Error("the reference shows a secret")
	}
}
