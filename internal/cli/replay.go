package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/replay"
	"github.com/livecb/livecb/internal/source"
	"github.com/livecb/livecb/internal/term"
)

// ReplayOptions are the flags of `livecb replay`.
type ReplayOptions struct {
	Files        []string
	Dest         destFlags
	PreservePath bool
	Delivery     deliveryFlags
	Speed        float64
	Concurrency  int

	Kinds               []string
	Domain, App, Stream string
	Since, Until        string
	Limit               int
	Seqs, Lines         string
	MaxRecord           int64
	ValidOnly           bool
	InvalidOnly         bool

	Overrides    overrideList
	RefreshTimes bool
	DryRun       bool
	As           string
	StopOnError  bool
}

func newReplayCmd(app *App) *cobra.Command {
	opts := &ReplayOptions{}
	cmd := &cobra.Command{
		Use:   "replay FILE... [--to URL]",
		Short: "Re-send captured callbacks byte for byte, in order, at their pace",
		Long: `Re-send captured callbacks to a receiver: capture logs written by
'livecb listen --save', HAR files exported from browser developer tools,
mitmproxy or Charles (each POST with a body is one callback), and plain JSON or
NDJSON files of bodies ('-' reads standard input). Several files are merged in
time order; files are read as streams, so memory stays flat.

Each body leaves exactly as captured (the same bytes, never decoded and
re-encoded) with its original Content-Type; -H adds or overrides headers.
--preserve-path appends each record's original path and query to --to.
Without --to, callbacks go where the config file routes their family and
publish domain (a family switched off there is skipped with a notice).

Order is always the captured order. By default callbacks leave without
waiting; --speed 1 keeps the original gaps, --speed 10 plays ten times faster.

Filters: --kind, --domain/--app/--stream (shell patterns: cam-*),
--since/--until (an RFC 3339 time, or a duration after the first captured
callback: 90s), --limit, --valid-only/--invalid-only.

Bodies change only when asked: --set/--set-string/--unset as in 'livecb
send' (numbers keep every digit), --refresh-times shifts every timestamp so
that the first callback happens now, keeping all gaps. Changed bodies are
validated again and their findings reported.

A truncated last line (a capture cut by a crash) is skipped with a warning;
another broken record is reported with file:line and skipped, or stops the
replay with --stop-on-error.

Exit status: 0 when every answer has an --expect-status, 1 when one does not
(or a callback could not be sent, or --stop-on-error stopped the replay), 2
for a usage error, 3 when the receiver cannot be reached (the replay stops
there), 4 when a file cannot be read.`,
		Example: `  livecb replay capture.ndjson --to http://localhost:3000/cb
  livecb replay capture.ndjson --to http://localhost:3000 --preserve-path --speed 1
  livecb replay staging.har --kind record_done --stream 'cam-*' --dry-run
  livecb replay a.ndjson b.ndjson --refresh-times --set streamName=test-1 --to http://localhost:3000/cb
  livecb replay capture.ndjson --since 2m --until 5m --speed 10 --output json --to http://localhost:3000/cb`,
		Args: cobra.MinimumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"ndjson", "json", "har", "jsonl"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			return replayRun(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	opts.Dest.register(f, "receiver `URL` (default: the config file's routes)")
	f.BoolVar(&opts.PreservePath, "preserve-path", false, "append each record's original path and query to the target URL")
	opts.Delivery.register(f, "", deliverySet{timeout: 3 * time.Second, retries: true, expect: "200"})
	f.Float64Var(&opts.Speed, "speed", 0, "keep the captured gaps: 1 real time, 10 ten times faster, 0 no waiting")
	f.IntVarP(&opts.Concurrency, "concurrency", "c", 1, "deliveries under way at once; above 1 a slow receiver does not delay the schedule, but arrival order is no longer guaranteed")
	deprecatedAlias(f, "parallel", "concurrency")
	f.StringSliceVar(&opts.Kinds, "kind", nil, "replay only these `KIND`s, shell patterns allowed (repeatable, or comma-separated)")
	f.StringVar(&opts.Domain, "domain", "", "replay only this publishDomain, a shell `PATTERN`")
	f.StringVar(&opts.App, "app", "", "replay only this appName, a shell `PATTERN`")
	f.StringVar(&opts.Stream, "stream", "", "replay only this streamName, a shell `PATTERN` (cam-*)")
	f.StringVar(&opts.Since, "since", "", "replay only callbacks captured at or after `TIME`: RFC 3339, or a duration after the first callback")
	f.StringVar(&opts.Until, "until", "", "replay only callbacks captured before `TIME`: RFC 3339, or a duration after the first callback")
	f.IntVar(&opts.Limit, "limit", 0, "stop after this many callbacks (0: all)")
	f.StringVar(&opts.Seqs, "seq", "", "replay only the capture records numbered so (their seq): `RANGES` such as 3,7-9,12-")
	f.StringVar(&opts.Lines, "line", "", "replay only the records starting on these lines of their file: `RANGES` such as 3,7-9")
	maxRecordVar(f, &opts.MaxRecord)
	f.BoolVar(&opts.ValidOnly, "valid-only", false, "replay only callbacks without validation errors")
	f.BoolVar(&opts.InvalidOnly, "invalid-only", false, "replay only callbacks with validation errors")
	opts.Overrides.register(f)
	f.BoolVar(&opts.RefreshTimes, "refresh-times", false, "shift every timestamp so the first callback happens now, keeping all gaps")
	f.BoolVar(&opts.DryRun, "dry-run", false, "list what would be sent, without sending")
	f.StringVar(&opts.As, "as", "list", "with --dry-run, list the callbacks (list) or print each request as a curl command (curl): a `FORMAT`")
	f.BoolVar(&opts.StopOnError, "stop-on-error", false, "stop at the first broken record instead of skipping it")
	return cmd
}

func (o *ReplayOptions) engineOptions(app *App) (replay.Options, error) {
	var ro replay.Options
	to, routes, err := o.Dest.check(app)
	if err != nil {
		return ro, err
	}
	if to == "" && len(routes) == 0 && !o.DryRun {
		return ro, usageErrorf("no receiver: pass --to URL (or --to-base URL), or configure routes in the config file (see 'livecb config init')")
	}
	if o.Speed < 0 {
		return ro, usageErrorf("--speed %v: give 0 (no waiting), 1 (real time) or more", o.Speed)
	}
	if o.Concurrency < 1 || o.Concurrency > 1000 {
		return ro, usageErrorf("--concurrency %d: give 1 to 1000", o.Concurrency)
	}
	if o.Limit < 0 {
		return ro, usageErrorf("--limit %d: give 0 (all) or more", o.Limit)
	}
	if o.ValidOnly && o.InvalidOnly {
		return ro, usageErrorf("--valid-only and --invalid-only exclude each other: pass one")
	}
	dl, err := o.Delivery.check(app)
	if err != nil {
		return ro, err
	}
	overrides, err := o.Overrides.Overrides()
	if err != nil {
		return ro, err
	}
	filter := replay.Filter{Domain: o.Domain, App: o.App, Stream: o.Stream, Limit: o.Limit,
		ValidOnly: o.ValidOnly, InvalidOnly: o.InvalidOnly}
	for _, name := range o.Kinds {
		pattern, err := kindPattern(name)
		if err != nil {
			return ro, err
		}
		filter.Kinds = append(filter.Kinds, pattern)
	}
	if o.Seqs != "" {
		if filter.Seqs, err = replay.ParseRanges(o.Seqs); err != nil {
			return ro, flagError("--seq", err)
		}
	}
	if o.Lines != "" {
		if filter.Lines, err = replay.ParseRanges(o.Lines); err != nil {
			return ro, flagError("--line", err)
		}
	}
	if o.As != "list" && o.As != "curl" {
		return ro, usageErrorf("--as %q: give list or curl", o.As)
	}
	if o.As == "curl" && !o.DryRun {
		return ro, usageErrorf("--as curl prints requests instead of sending them: add --dry-run")
	}
	if filter.Since, err = replay.ParseBound(o.Since); err != nil {
		return ro, usageErrorf("--since %v", err)
	}
	if filter.Until, err = replay.ParseBound(o.Until); err != nil {
		return ro, usageErrorf("--until %v", err)
	}
	if ro.Inputs, err = inputs(app, o.Files); err != nil {
		return ro, err
	}
	ro.Read = source.Options{MaxRecord: o.MaxRecord}
	ro.Filter = filter
	ro.Speed = o.Speed
	ro.Overrides = overrides
	ro.RefreshTimes = o.RefreshTimes
	ro.Now = app.Now
	ro.DryRun = o.DryRun
	ro.StopOnError = o.StopOnError
	ro.To = to
	ro.PreservePath = o.PreservePath
	ro.Routes = routes
	ro.MaxInFlight = o.Concurrency
	ro.Client = deliver.NewClient(dl)
	return ro, nil
}

func replayRun(ctx context.Context, app *App, opts *ReplayOptions) error {
	ro, err := opts.engineOptions(app)
	if err != nil {
		return err
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	defer tuneGC(app)()

	var tb *timedBuffer
	if !app.OutTTY {
		// Piped or redirected: a write(2) per callback line costs more than
		// reading and checking the callback; a terminal keeps line-by-line
		// output.
		tb = newTimedBuffer(app.Out, stdoutFlushEvery)
		defer tb.Close()
		app.Output.SetWriter(tb)
	}
	// Outcomes reported to files (or a terminal's stderr, for warnings and
	// the progress bar) are reported by the goroutines that complete them.
	ro.ReportNeverWaits = app.OutNeverWaits && (app.ErrTTY || app.ErrNeverWaits)
	r := &replayRenderer{app: app, out: app.Output, opts: opts, policy: ro.Client.Policy(), expect: ro.Client.Policy().Expect}
	if !opts.DryRun {
		r.bar = newProgress(app, -1, "replaying", "callbacks")
	}
	sum, err := replay.Run(ctx, ro, r.outcome)
	if r.bar != nil {
		r.bar.Finish() //nolint:errcheck // cosmetic
	}
	if tb != nil {
		tb.Close() // every result before the summary, also on a shared pipe
	}
	if err != nil {
		return ioError(err)
	}
	r.summary(sum)

	switch {
	case sum.Stopped == "interrupted":
		return interrupted
	case sum.Read == 0 && sum.Broken == 0 && sum.Truncated == 0:
		return &ExitError{Code: ExitCheckFailed, Err: fmt.Errorf("no callbacks to replay in %s: empty, or only blank lines", strings.Join(opts.Files, ", "))}
	case sum.Selected == 0 && sum.Read > 0:
		return &ExitError{Code: ExitCheckFailed, Err: fmt.Errorf("nothing to replay: the filters left out all %s read", plural(sum.Read, "callback"))}
	case sum.Unreachable > 0 && r.firstUnreachable != nil:
		f := r.firstUnreachable
		return unreachable(f.Source, f.URL, f.Cause, errors.New(f.Reason), opts.Delivery.Timeout, "--timeout")
	case sum.StoppedOnError:
		return &ExitError{Code: ExitCheckFailed, Err: errors.New(term.Sanitize("stopped: " + sum.Stopped + " (--stop-on-error)"))}
	case sum.Failed():
		return checkFailed
	}
	return nil
}

// replayRenderer prints outcomes: one line per callback on stdout (or a JSON
// object), warnings and notices on stderr, a progress bar on a terminal.
type replayRenderer struct {
	app              *App
	out              *Output // buffered when stdout is not a terminal
	opts             *ReplayOptions
	policy           deliver.Policy
	expect           deliver.Expect
	bar              *progressbar.ProgressBar
	firstUnreachable *replay.Outcome
	pt               *paints // the palette's, made once
	buf              []byte  // a line's
}

// replayRecord is one line of --output json.
type replayRecord struct {
	Source      string        `json:"source"`
	File        string        `json:"file"`
	Line        int           `json:"line"`
	Captured    *time.Time    `json:"captured,omitempty"`
	Kind        event.Kind    `json:"kind,omitempty"`
	State       replay.State  `json:"state"`
	OK          bool          `json:"ok"`
	URL         string        `json:"url,omitempty"`
	ContentType string        `json:"content_type,omitempty"`
	Size        int           `json:"size"`
	Status      int           `json:"status,omitempty"`
	LatencyMS   float64       `json:"latency_ms"`
	OffsetMS    *float64      `json:"offset_ms,omitempty"`
	LatenessMS  *float64      `json:"lateness_ms,omitempty"`
	Attempts    int           `json:"attempts,omitempty"`
	Cause       deliver.Cause `json:"cause,omitempty"`
	Reason      string        `json:"reason,omitempty"`
	Changes     []string      `json:"changes,omitempty"`
	Warnings    []string      `json:"warnings,omitempty"`
	// Findings are those of a changed body, validated again ([] when clean).
	Findings *event.Findings `json:"findings,omitempty"`
}

func millisOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func newReplayRecord(o replay.Outcome) replayRecord {
	rec := replayRecord{Source: o.Source, File: o.File, Line: o.Line, Kind: o.Kind, State: o.State, OK: o.OK,
		URL: o.URL, ContentType: o.ContentType, Size: o.Size, Status: o.Status, LatencyMS: millisOf(o.Latency),
		Attempts: o.Attempts, Cause: o.Cause, Reason: o.Reason, Changes: o.Changes, Warnings: o.Warnings}
	if len(o.Changes) > 0 {
		fs := o.Findings
		if fs == nil {
			fs = event.Findings{}
		}
		rec.Findings = &fs
	}
	if !o.Time.IsZero() {
		t := o.Time
		rec.Captured = &t
	}
	if o.Paced || (o.State == replay.DryRun && o.Offset > 0) {
		off := millisOf(o.Offset)
		rec.OffsetMS = &off
	}
	if o.Paced {
		late := millisOf(o.Lateness)
		rec.LatenessMS = &late
	}
	return rec
}

func (r *replayRenderer) outcome(o replay.Outcome) {
	if r.bar != nil {
		r.bar.Clear()      //nolint:errcheck // cosmetic
		defer r.bar.Add(1) //nolint:errcheck // cosmetic
	}
	if o.State == replay.Unreachable && r.firstUnreachable == nil {
		oc := o
		r.firstUnreachable = &oc
	}
	ep := r.app.ErrColor
	src := term.Sanitize(o.Source)
	switch o.State {
	case replay.Truncated:
		fmt.Fprintf(r.app.Err, "%s %s: %s\n", ep.Warn("warning:"), src, o.Reason)
	case replay.Broken:
		reason := display(o.Reason)
		var tl *source.TooLargeError
		if errors.As(o.Broken, &tl) {
			reason += ": raise --max-record to read it"
		}
		fmt.Fprintf(r.app.Err, "%s %s: broken record: %s; skipped\n", ep.Bad("error:"), src, reason)
	case replay.Off:
		fmt.Fprintf(r.app.Err, "%s %s %s: %s\n", ep.Warn("skipped"), src, o.Kind, o.Reason)
	}
	for _, w := range o.Warnings {
		fmt.Fprintf(r.app.Err, "%s %s: %s\n", ep.Warn("warning:"), src, display(w))
	}
	if r.out.Structured() {
		r.out.Write(newReplayRecord(o)) //nolint:errcheck // a closed stdout shows in the exit
		return
	}
	switch o.State {
	case replay.Truncated, replay.Broken, replay.Off:
		return
	}
	showURL := r.opts.Dest.To == "" || r.opts.PreservePath || o.State == replay.DryRun
	if o.State == replay.DryRun && r.opts.As == "curl" {
		url := o.URL
		if url == "" {
			url = "http://127.0.0.1:8080/"
			fmt.Fprintf(r.app.Err, "# %s has no URL (pass --to): shown with %s\n", src, url)
		}
		pol := r.policy
		h := requestHeaders(r.app, pol)
		h[0][1] = o.ContentType
		fmt.Fprintln(r.out.Writer(), curlCommand(url, h, o.Body, pol))
		return
	}
	w := r.out.Writer()
	r.buf = r.appendLine(r.buf[:0], o, src, showURL)
	w.Write(r.buf) //nolint:errcheck // a closed stdout shows in the exit
	if len(o.Changes) > 0 {
		p := r.app.Color
		fmt.Fprintf(w, "    changed: %s; now %s\n", display(strings.Join(o.Changes, "; ")), verdict(p, o.Findings))
		printFindings(w, p, o.Findings, "    ")
	}
}

// appendLine appends o's line to b. It is built by appending, not
// formatted: it runs once per record, and fmt was a fifth of reporting
// one (TestReplayLineMatchesFmt keeps the formatted form as the
// reference).
func (r *replayRenderer) appendLine(b []byte, o replay.Outcome, src string, showURL bool) []byte {
	if r.pt == nil {
		r.pt = paintsOf(r.app.Color)
	}
	pt := r.pt
	kind := string(o.Kind)
	if kind == "" {
		kind = "-"
	}
	b = append(append(b, src...), "  "...)
	b = append(appendPadded(b, kindWidth, kind), "  "...)
	latency := func(b []byte, d time.Duration) []byte {
		return pt.dim.append(append(b, "  "...), roundLatency(d).String())
	}
	switch o.State {
	case replay.DryRun:
		dest := display(o.URL)
		if dest == "" {
			dest = "no URL (pass --to)"
		}
		b = append(append(append(b, "-> "...), dest...), "  "...)
		b = append(appendPlural(b, o.Size, "byte"), ", "...)
		b = append(b, term.Sanitize(o.ContentType)...)
		if r.opts.Speed > 0 {
			b = pt.dim.append(b, "  at +", roundLatency(o.Offset).String())
		}
		showURL = false
	case replay.Skipped:
		b = pt.bad.append(b, "NOT SENT: ", display(o.Reason))
		showURL = false
	case replay.Unreachable:
		b = pt.bad.append(b, "FAILED: ", string(o.Cause))
		b = latency(b, o.Latency)
	case replay.Failed:
		b = pt.bad.append(b, "FAILED: ", string(o.Cause), ": ", display(o.Reason))
		b = latency(b, o.Latency)
		showURL = true
	case replay.Interrupted:
		b = pt.warn.append(b, "INTERRUPTED: no answer yet")
		b = latency(b, o.Latency)
	case replay.Answered:
		paint := pt.ok
		if !o.OK {
			paint = pt.bad
		}
		b = append(b, paint.open...)
		b = strconv.AppendInt(b, int64(o.Status), 10)
		b = append(append(b, ' '), http.StatusText(o.Status)...)
		b = append(b, paint.close...)
		if !o.OK {
			b = pt.bad.append(append(b, ' '), "(expected ", r.expect.String(), ")")
		}
		b = latency(b, o.Latency)
	}
	if o.Paced {
		b = pt.dim.append(b, "  late ", roundLatency(o.Lateness).String())
	}
	if showURL {
		b = append(append(b, "  -> "...), display(o.URL)...)
	}
	return append(b, '\n')
}

func (r *replayRenderer) summary(s replay.Summary) {
	w := r.app.Err
	if s.NoSeq > 0 {
		fmt.Fprintf(w, "%s --seq picks capture records by their seq: %s had none (lines of NDJSON or JSON, HAR entries); --line picks those by the line they start on\n",
			r.app.ErrColor.Warn("warning:"), plural(s.NoSeq, "record"))
	}
	interrupted := s.Stopped == "interrupted"
	var parts []string
	add := func(n int, format string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf(format, n))
		}
	}
	var head string
	if r.opts.DryRun {
		head = fmt.Sprintf("%s would be sent (dry run)", plural(s.DryRun, "callback"))
	} else {
		head = fmt.Sprintf("%s replayed in %s: %d answered %s", plural(s.Answered+s.Unreachable+s.Failures+s.Interrupted, "callback"),
			s.Elapsed.Round(time.Millisecond), s.Answered-s.Missed, r.expect)
		if interrupted {
			head = "interrupted: " + head + " before the end of the input"
		}
		add(s.Missed, "%d answered otherwise")
		add(s.Failures, "%d failed")
		add(s.Unreachable, "%d unreachable")
		add(s.Interrupted, "%d cut short by the interruption")
	}
	add(s.Skipped, "%d not sent")
	add(s.SwitchedOff, "%d switched off")
	add(s.Filtered, "%d filtered out")
	addN := func(n int, what string) {
		if n > 0 {
			parts = append(parts, plural(n, what)+" skipped")
		}
	}
	addN(s.Truncated, "truncated line")
	addN(s.Broken, "broken record")
	add(s.Changed, "%d changed")
	add(s.ChangedInvalid, "%d invalid after changes")
	if len(parts) > 0 {
		head += ", " + strings.Join(parts, ", ")
	}
	fmt.Fprintln(w, head)
	if s.Latency.Count > 0 {
		line := fmt.Sprintf("latency p50 %s, p99 %s", roundLatency(s.Latency.P50), roundLatency(s.Latency.P99))
		if s.Paced && s.Lateness.Count > 0 {
			line += fmt.Sprintf("; schedule lateness p50 %s, p99 %s", roundLatency(s.Lateness.P50), roundLatency(s.Lateness.P99))
		}
		fmt.Fprintln(w, r.app.ErrColor.Dim(line))
	}
}

// kindPattern checks a --kind value: a kind's name (with "did you mean"
// for a typo), or a shell pattern that matches at least one kind.
func kindPattern(name string) (string, error) {
	if !strings.ContainsAny(name, "*?[") {
		k, err := parseKind(name)
		return string(k), err
	}
	matched := false
	for _, k := range event.KindNames() {
		m, err := path.Match(name, k)
		if err != nil {
			return "", usageErrorf("--kind %q is not a shell pattern: %v", name, err)
		}
		matched = matched || m
	}
	if !matched {
		return "", usageErrorf("--kind %q matches no kind; kinds: %s", name, strings.Join(event.KindNames(), ", "))
	}
	return name, nil
}
