package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
	"github.com/livecb/livecb/internal/send"
	"github.com/livecb/livecb/internal/term"
)

// lifecycleArg is the pseudo-kind that plays a whole broadcast.
const lifecycleArg = "lifecycle"

// SendOptions are the flags of `livecb send`.
type SendOptions struct {
	Args []string // kinds, or "lifecycle"
	To   string

	Verbatim                     bool
	Domain, App, Stream, PushURL string
	// Overrides are --set, --set-string and --unset in command-line order.
	Overrides overrideList
	Data      string // file name or "-"

	NoValidate bool
	DeliveryOptions
	DryRun bool

	Speed            float64
	Duplicate        bool
	Shuffle          bool
	Length           time.Duration
	SnapshotInterval time.Duration
	TaskRecord       bool
	Quality          bool
	Seed             uint64

	// Load holds the load-mode flags (--count, --duration, --emit...).
	Load LoadOptions
}

func newSendCmd(app *App) *cobra.Command {
	opts := &SendOptions{}
	cmd := &cobra.Command{
		Use:   "send {KIND [KIND...] | lifecycle}",
		Short: "POST spec-conformant callbacks to a receiver",
		Long: `Send callbacks to a receiver the way the live-video service does: one HTTP
POST per KIND, in the order given, all about the same stream, with
Content-Type application/json and a User-Agent naming livecb.

Bodies are the kind's sample with realistic values: times around now in
milliseconds and coherent with each other, a plausible client IP, a fresh
stream name. --verbatim sends the spec's sample unchanged; --data sends your
own body. --domain, --app, --stream and --push-url set the stream's identity;
--set, --set-string and --unset change any field (numbers keep every digit).
Every body is validated before it leaves: one with errors is refused, unless
--no-validate (for deliberately broken callbacks).

'livecb send lifecycle' plays one whole broadcast: publish_started,
snapshots every --snapshot-interval, publish_done, record_done, and with
--task-record and --quality a record task's record and a quality detection.
--speed 1 plays it in real time (faster with more); by default it does not
wait. --duplicate delivers each callback twice and --shuffle out of order,
so receivers are tested against at-least-once and unordered delivery.

Without --to, each callback goes to the URL the config file routes its family
(stream, record, snapshot, quality) and publish domain to; a family switched
off there is skipped with a notice, as the service would not send it.

Each answer is printed with its status, latency and the start of its body.
Exit status: 0 when every answer has an --expect-status, 1 when one does not
or a body is invalid, 2 for a usage error, 3 when the receiver cannot be
reached (refused, DNS, timeout, TLS).

Load mode: --count N (or --duration D) sends N callbacks, --concurrency at a
time over kept-alive connections, or at a steady --rate per second (open
loop: a slow receiver shows as latency, counted from when each request was
due, not as a lower rate). The KINDs take turns; each round is about a new
stream, with its own name and times (--same-body sends one body every time;
--verbatim and --data do too). Bodies are generated and validated before the
clock starts. A progress bar shows on a terminal; the report gives requests,
answers by status, errors by cause, throughput and latency min, p50, p90,
p99, p99.9 and max (text, or --output json). The run fails (exit 1) when
more than --max-error-rate of the requests fail or miss --expect-status
(default 0: any), and exits 3 when no request got an answer.
--emit FILE writes the requests instead of sending them, as vegeta JSON
targets or (--emit-format k6) a k6 script, to drive the same callbacks from
many machines.`,
		Example: `  livecb send record_done --to http://localhost:3000/cb
  livecb send publish_started publish_done --push-url 'rtmp://push.example.com/live/cam1?token=x' --to http://localhost:3000/cb
  livecb send task_record_done --set taskExternalId=163594946396839937 --to http://localhost:3000/cb
  livecb send record_done --unset downloadUrl --no-validate --to http://localhost:3000/cb
  livecb send lifecycle --snapshot-interval 10s --duplicate --shuffle --to http://localhost:3000/cb
  livecb send snapshot --dry-run | livecb validate
  livecb send record_done --data body.json --retries 3 --expect-status 2xx --to http://localhost:3000/cb
  livecb send publish_started publish_done --count 10000 --concurrency 50 --to http://localhost:3000/cb
  livecb send record_done --rate 500 --duration 1m --max-error-rate 0.1% --to http://localhost:3000/cb
  livecb send snapshot --count 100000 --emit targets.json --to http://receiver.internal:3000/cb`,
		ValidArgsFunction: completeSendArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			return sendRun(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.To, "to", "", "receiver URL (default: the config file's routes)")
	f.BoolVar(&opts.Verbatim, "verbatim", false, "send the spec's sample body unchanged")
	f.StringVar(&opts.Domain, "domain", "", "publishDomain of the stream")
	f.StringVar(&opts.App, "app", "", "appName of the stream")
	f.StringVar(&opts.Stream, "stream", "", "streamName (default: a fresh name)")
	f.StringVar(&opts.PushURL, "push-url", "", "push URL to derive domain, app, stream and pushParams from (rtmp://DOMAIN/APP/STREAM?a=b)")
	f.Var(opts.Overrides.flag("set"), "set", "set a field: PATH=VALUE, JSON when it parses as JSON, else a string (repeatable)")
	f.Var(opts.Overrides.flag("set-string"), "set-string", "set a field to a string: PATH=VALUE (repeatable)")
	f.Var(opts.Overrides.flag("unset"), "unset", "remove a field: PATH (repeatable)")
	f.StringVar(&opts.Data, "data", "", "send this body instead of a sample: FILE, or - for standard input")
	f.BoolVar(&opts.NoValidate, "no-validate", false, "send bodies even when they break the spec")
	opts.DeliveryOptions.addFlags(f, "extra request header 'Name: value' (repeatable)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the bodies instead of sending them")
	f.Float64Var(&opts.Speed, "speed", 0, "pace by the stream's time line: 1 real time, 10 ten times faster, 0 no waiting")
	f.BoolVar(&opts.Duplicate, "duplicate", false, "deliver each callback twice")
	f.BoolVar(&opts.Shuffle, "shuffle", false, "deliver the callbacks in a random order")
	f.DurationVar(&opts.Length, "length", 0, "lifecycle: length of the stream (default: 1 to 10 minutes at random)")
	f.DurationVar(&opts.SnapshotInterval, "snapshot-interval", 30*time.Second, "lifecycle: time between snapshots (0: none)")
	f.BoolVar(&opts.TaskRecord, "task-record", false, "lifecycle: add a record task's record_done")
	f.BoolVar(&opts.Quality, "quality", false, "lifecycle: add a quality detection")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed for stream names, IPs and --shuffle (0: random)")
	f.Int64Var(&opts.Load.Count, "count", 0, "load mode: send this many callbacks (the KINDs take turns)")
	f.IntVarP(&opts.Load.Concurrency, "concurrency", "c", 10, "load mode: requests under way at once (and kept-alive connections)")
	f.DurationVar(&opts.Load.Duration, "duration", 0, "load mode: send for this long (with --count, whichever ends first)")
	f.Float64Var(&opts.Load.Rate, "rate", 0, "load mode: requests per second, scheduled whatever the receiver does (0: as fast as answered)")
	f.BoolVar(&opts.Load.SameBody, "same-body", false, "load mode: send one body every time instead of a new stream per round")
	f.StringVar(&opts.Load.MaxErrorRate, "max-error-rate", "0", "load mode: fail when more requests than this fail or miss --expect-status (0.01 or 1%)")
	f.StringVar(&opts.Load.Emit, "emit", "", "load mode: write the requests to FILE (- for stdout) instead of sending them")
	f.StringVar(&opts.Load.EmitFormat, "emit-format", send.EmitVegeta, "format of --emit: vegeta (JSON targets) or k6 (a script)")
	return cmd
}

// completeSendArgs completes kinds and "lifecycle".
func completeSendArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	out, dir := completeKinds(cmd, args, toComplete)
	if len(args) == 0 && strings.HasPrefix(lifecycleArg, toComplete) {
		out = append(out, lifecycleArg+"\tone whole broadcast: publish_started, snapshots, publish_done, record_done")
	}
	return out, dir
}

// overrideList keeps --set, --set-string and --unset in the order they were
// given, since a later one may change what an earlier one did.
type overrideList struct {
	entries []overrideEntry
}

type overrideEntry struct {
	flag, arg string
}

func (l *overrideList) flag(name string) *overrideFlag { return &overrideFlag{l, name} }

// Overrides parses the entries.
func (l *overrideList) Overrides() ([]event.Override, error) {
	var out []event.Override
	for _, e := range l.entries {
		var o event.Override
		var err error
		switch e.flag {
		case "unset":
			o, err = event.ParseUnset(e.arg)
		default:
			o, err = event.ParseSet(e.arg, e.flag == "set-string")
		}
		if err != nil {
			return nil, usageErrorf("--%s %s", e.flag, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// overrideFlag is one of the three flags writing into a shared list. It is
// a pflag.SliceValue so that config files can set it too.
type overrideFlag struct {
	list *overrideList
	name string
}

func (f *overrideFlag) String() string { return "[" + strings.Join(f.GetSlice(), ",") + "]" }
func (f *overrideFlag) Type() string   { return "stringArray" }
func (f *overrideFlag) Set(v string) error {
	f.list.entries = append(f.list.entries, overrideEntry{f.name, v})
	return nil
}
func (f *overrideFlag) Append(v string) error { return f.Set(v) }
func (f *overrideFlag) Replace(vs []string) error {
	kept := f.list.entries[:0:0]
	for _, e := range f.list.entries {
		if e.flag != f.name {
			kept = append(kept, e)
		}
	}
	f.list.entries = kept
	for _, v := range vs {
		f.list.entries = append(f.list.entries, overrideEntry{f.name, v})
	}
	return nil
}
func (f *overrideFlag) GetSlice() []string {
	var out []string
	for _, e := range f.list.entries {
		if e.flag == f.name {
			out = append(out, e.arg)
		}
	}
	return out
}

// parseSendArgs turns the arguments into kinds, or reports a lifecycle.
func parseSendArgs(args []string, withData bool) (kinds []event.Kind, lifecycle bool, err error) {
	if len(args) == 0 && !withData {
		return nil, false, usageErrorf("name at least one KIND to send (%s), or %s", strings.Join(event.KindNames(), ", "), lifecycleArg)
	}
	for _, a := range args {
		if strings.EqualFold(a, lifecycleArg) {
			if len(args) > 1 {
				return nil, false, usageErrorf("%s plays a whole broadcast on its own: do not add kinds to it", lifecycleArg)
			}
			return nil, true, nil
		}
		k, err := parseKind(a)
		if err != nil {
			if levenshtein.ComputeDistance(strings.ToLower(a), lifecycleArg) <= 3 {
				return nil, false, usageErrorf("unknown kind %q; did you mean %s?\nkinds: %s, or %s", a, lifecycleArg, strings.Join(event.KindNames(), ", "), lifecycleArg)
			}
			return nil, false, err
		}
		kinds = append(kinds, k)
	}
	return kinds, false, nil
}

// parseHeaders reads repeated -H 'Name: value' flags (send, replay, test).
func parseHeaders(lines []string) (http.Header, error) {
	h := http.Header{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
			return nil, usageErrorf("-H %q: write 'Name: value', e.g. -H 'Authorization: Bearer x'", l)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

func sendRun(ctx context.Context, app *App, opts *SendOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	kinds, lifecycle, err := parseSendArgs(opts.Args, opts.Data != "")
	if err != nil {
		return err
	}
	overrides, err := opts.Overrides.Overrides()
	if err != nil {
		return err
	}
	header, expect, err := opts.DeliveryOptions.check(app)
	if err != nil {
		return err
	}
	if opts.Speed < 0 {
		return usageErrorf("--speed %v: give 0 (no waiting), 1 (real time) or more", opts.Speed)
	}
	if opts.To != "" {
		if err := deliver.CheckURL(opts.To); err != nil {
			return usageErrorf("--to %v", err)
		}
	}

	var rnd *rand.Rand
	if opts.Seed != 0 {
		rnd = rand.New(rand.NewPCG(opts.Seed, opts.Seed))
	} else {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	bo := send.BodyOptions{
		Verbatim: opts.Verbatim, Domain: opts.Domain, App: opts.App, Stream: opts.Stream, PushURL: opts.PushURL,
		Overrides: overrides, Now: app.Now(), Rand: rnd,
	}
	if opts.Data != "" {
		if bo.Data, err = readData(app, opts.Data); err != nil {
			return err
		}
	}
	if !opts.Load.active() && (opts.Load.Rate > 0 || opts.Load.SameBody) {
		return usageErrorf("--rate and --same-body shape load mode: add --count N or --duration D")
	}
	if opts.Load.active() {
		return sendLoadRun(ctx, app, opts, kinds, lifecycle, bo, header, expect)
	}
	var items []send.Item
	if lifecycle {
		items, err = send.Lifecycle(bo, send.LifecycleOptions{
			Length: opts.Length, SnapshotInterval: opts.SnapshotInterval,
			TaskRecord: opts.TaskRecord, Quality: opts.Quality, Live: opts.Speed > 0,
		})
	} else {
		items, err = send.Bodies(kinds, bo)
	}
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}

	for _, it := range items {
		for _, w := range it.Warnings {
			fmt.Fprintf(app.Err, "%s %s\n", app.ErrColor.Warn("warning:"), w)
		}
	}
	if bad := send.Validate(items); bad || hasWarnings(items) {
		for _, it := range items {
			if len(it.Findings) == 0 {
				continue
			}
			fmt.Fprintf(app.Err, "%s #%d %s\n", it.Kind, it.Seq, verdict(app.ErrColor, it.Findings))
			printFindings(app.Err, app.ErrColor, it.Findings, "    ")
		}
		if bad && !opts.NoValidate {
			for _, hint := range setStringHints(items, overrides) {
				fmt.Fprintln(app.Err, hint)
			}
			fmt.Fprintln(app.Err, "Refused: nothing sent, the body breaks the spec. Fix it, or pass --no-validate to send it anyway.")
			return checkFailed
		}
	}

	items = send.Arrange(items, opts.Duplicate, opts.Shuffle, rnd)
	if err := send.Route(items, opts.To, app.Routes); err != nil {
		if opts.DryRun && errors.Is(err, route.ErrNoRoute) {
			err = nil // the bodies are what a dry run is for
		} else {
			return usageErrorf("%v", err)
		}
	}
	if opts.DryRun {
		return sendDryRun(app, items)
	}

	client := deliver.NewClient(opts.DeliveryOptions.policy(app, header, expect))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	r := &send.Runner{Client: client, Speed: opts.Speed}
	sr := newSendRenderer(app, expect, items)
	if opts.Retries > 0 {
		r.OnAttempt = func(it send.Item, n int, a deliver.Attempt) { sr.attempt(it, n, opts.Retries+1, a) }
	}
	r.OnOutcome = sr.outcome
	sum := r.Run(ctx, items)

	if ctx.Err() != nil {
		fmt.Fprintln(app.Err, "interrupted")
		return &ExitError{Code: ExitInterrupted}
	}
	line := fmt.Sprintf("%s: %d answered %s", plural(sum.Sent, "callback")+" sent", sum.Matched, expect)
	if sum.Missed > 0 {
		line += fmt.Sprintf(", %d answered otherwise", sum.Missed)
	}
	if sum.Failed > 0 {
		line += fmt.Sprintf(", %d could not be delivered", sum.Failed)
	}
	if sum.Skipped > 0 {
		line += fmt.Sprintf(", %d skipped", sum.Skipped)
	}
	fmt.Fprintln(app.Err, line)
	if f := sum.FirstFailure; f != nil {
		msg := fmt.Sprintf("could not deliver %s to %s: %s", f.Kind, f.URL, f.Result.Cause)
		switch f.Result.Cause {
		case deliver.CauseRefused:
			msg += ": is the receiver running, and on this port?"
		case deliver.CauseTimeout:
			msg += fmt.Sprintf(" after %s: the receiver did not answer in time (--timeout)", opts.Timeout)
		default:
			msg += fmt.Sprintf(" (%v)", f.Result.Err)
		}
		return &ExitError{Code: ExitNetwork, Err: errors.New(term.Sanitize(msg))}
	}
	if sum.Missed > 0 {
		return checkFailed
	}
	return nil
}

// setStringHints suggests --set-string where a --set value was taken as
// JSON (a number, true, null) and the spec wants a string there.
func setStringHints(items []send.Item, overrides []event.Override) []string {
	var hints []string
	seen := map[string]bool{}
	for _, o := range overrides {
		toks, err := event.ParsePath(o.Path)
		if err != nil || o.Unset || len(o.Value) == 0 || o.Value[0] == '"' || seen[o.Path] {
			continue
		}
		ptr := "/" + strings.Join(toks, "/")
	items:
		for _, it := range items {
			for _, f := range it.Findings {
				if f.Path == ptr && f.Severity == event.Error && strings.Contains(f.Message, "expected string") {
					hints = append(hints, fmt.Sprintf("hint: %s is a string in the spec; --set-string %s=%s sends it as one, --no-validate sends it as a JSON number", o.Path, o.Path, o.Value))
					seen[o.Path] = true
					break items
				}
			}
		}
	}
	return hints
}

func hasWarnings(items []send.Item) bool {
	for _, it := range items {
		if len(it.Findings) > 0 {
			return true
		}
	}
	return false
}

func readData(app *App, name string) ([]byte, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(app.In, 64<<20))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, ioError(fmt.Errorf("--data: %w", err))
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// sendDryRun prints the bodies: pretty on a terminal, one compact body per
// line when piped (ready for `livecb validate`), or one JSON object per
// request with --output json. Where each would go goes to stderr.
func sendDryRun(app *App, items []send.Item) error {
	enc := json.NewEncoder(app.Out)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if app.JSON {
			rec := newSendRecord(send.Outcome{Item: it, Skipped: it.Skip})
			rec.DryRun = true
			if err := enc.Encode(rec); err != nil {
				return err
			}
			continue
		}
		dest := it.URL
		switch {
		case it.Skip != "":
			dest = "skipped: " + it.Skip
		case dest == "":
			dest = "no URL (pass --to)"
		}
		fmt.Fprintf(app.Err, "%s %s -> %s\n", app.ErrColor.Dim("#"+fmt.Sprint(it.Seq)), it.Kind, dest)
		body := it.Body
		var buf bytes.Buffer
		if app.OutTTY && json.Indent(&buf, body, "", "  ") == nil {
			body = buf.Bytes()
		} else if !app.OutTTY && json.Compact(&buf, body) == nil {
			body = buf.Bytes()
		}
		if _, err := fmt.Fprintf(app.Out, "%s\n", body); err != nil {
			return err
		}
	}
	return nil
}

// sendRecord is one line of --output json.
type sendRecord struct {
	Seq         int               `json:"seq"`
	Kind        event.Kind        `json:"kind,omitempty"`
	Copy        int               `json:"copy,omitempty"`
	URL         string            `json:"url,omitempty"`
	Request     json.RawMessage   `json:"request,omitempty"`
	RequestText string            `json:"request_text,omitempty"` // a body that is not JSON (--no-validate)
	Status      int               `json:"status,omitempty"`
	LatencyMS   float64           `json:"latency_ms"`
	Response    string            `json:"response,omitempty"`
	OK          bool              `json:"ok"`
	Error       string            `json:"error,omitempty"`
	Cause       deliver.Cause     `json:"cause,omitempty"`
	Skipped     string            `json:"skipped,omitempty"`
	Attempts    []deliver.Attempt `json:"attempts,omitempty"`
	DryRun      bool              `json:"dry_run,omitempty"`
}

func newSendRecord(o send.Outcome) sendRecord {
	rec := sendRecord{Seq: o.Seq, Kind: o.Kind, Copy: o.Copy, URL: o.URL, Skipped: o.Skipped,
		Status: o.Result.Status, Response: string(o.Result.Excerpt), OK: o.Matched, Cause: o.Result.Cause,
		LatencyMS: float64(o.Result.Latency.Microseconds()) / 1000}
	if json.Valid(o.Body) {
		rec.Request = o.Body
	} else {
		rec.RequestText = string(o.Body)
	}
	if o.Result.Err != nil {
		rec.Error = o.Result.Err.Error()
	}
	if len(o.Result.Attempts) > 1 {
		rec.Attempts = o.Result.Attempts
	}
	return rec
}

// sendRenderer prints outcomes: one line each on stdout (or a JSON object),
// retries and notices on stderr.
type sendRenderer struct {
	app    *App
	expect deliver.Expect
	enc    *json.Encoder
	width  int // of the kind column
}

func newSendRenderer(app *App, expect deliver.Expect, items []send.Item) *sendRenderer {
	enc := json.NewEncoder(app.Out)
	enc.SetEscapeHTML(false)
	width := 0
	for _, it := range items {
		width = max(width, len(itemName(it)))
	}
	return &sendRenderer{app: app, expect: expect, enc: enc, width: width}
}

func itemName(it send.Item) string {
	name := string(it.Kind)
	if name == "" {
		name = "(custom)"
	}
	if it.Copy > 0 {
		name += " (again)"
	}
	return name
}

func (r *sendRenderer) attempt(it send.Item, n, of int, a deliver.Attempt) {
	p := r.app.ErrColor
	what := fmt.Sprintf("%d %s", a.Status, http.StatusText(a.Status))
	if a.Err != "" {
		what = p.Bad(string(a.Cause))
	} else if a.Status >= 500 {
		what = p.Bad(what)
	}
	fmt.Fprintf(r.app.Err, "  %s attempt %d/%d: %s (%s)\n", it.Kind, n, of, what, roundLatency(a.Latency))
}

func (r *sendRenderer) outcome(o send.Outcome) {
	if r.app.JSON {
		r.enc.Encode(newSendRecord(o)) //nolint:errcheck // a closed stdout shows in the summary's exit
		return
	}
	p := r.app.Color
	name := fmt.Sprintf("%-*s", r.width, itemName(o.Item))
	if o.Skipped != "" {
		fmt.Fprintf(r.app.Err, "%s %s  %s\n", r.app.ErrColor.Warn("skipped"), name, o.Skipped)
		return
	}
	res := o.Result
	if res.Err != nil {
		fmt.Fprintf(r.app.Out, "%s  %s  %s  %s\n", name, o.URL, p.Bad("FAILED: "+string(res.Cause)), p.Dim(roundLatency(res.Latency).String()))
		return
	}
	status := fmt.Sprintf("%d %s", res.Status, http.StatusText(res.Status))
	if o.Matched {
		status = p.OK(status)
	} else {
		status = p.Bad(status) + " " + p.Bad("(expected "+r.expect.String()+")")
	}
	excerpt := strings.TrimSpace(string(res.Excerpt))
	if len(excerpt) > 80 {
		excerpt = excerpt[:80] + "..."
	}
	line := fmt.Sprintf("%s  %s  %s  %s", name, o.URL, status, p.Dim(roundLatency(res.Latency).String()))
	if excerpt != "" {
		line += "  " + term.Sanitize(excerpt)
	}
	fmt.Fprintln(r.app.Out, line)
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
