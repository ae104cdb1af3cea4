package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
	"github.com/livecb/livecb/internal/send"
)

// lifecycleArg is the pseudo-kind that plays a whole broadcast.
const lifecycleArg = "lifecycle"

// SendOptions are the flags of `livecb send`.
type SendOptions struct {
	Args []string // kinds, or "lifecycle"
	Dest destFlags

	Verbatim                     bool
	Domain, App, Stream, PushURL string
	// Overrides are --set, --set-string and --unset in command-line order.
	Overrides overrideList
	Data      string // file name or "-"

	NoValidate bool
	Delivery   deliveryFlags
	DryRun     bool
	// As is the format of --dry-run: body (the bodies) or curl.
	As string

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

// newSendCmd builds `livecb send`; runF, when not nil, gets the options
// instead of running them (tests check that flags map to options).
func newSendCmd(app *App, runF func(context.Context, *SendOptions) error) *cobra.Command {
	opts := &SendOptions{}
	cmd := &cobra.Command{
		Use:   "send {KIND [KIND...] | lifecycle | --data FILE}",
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
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return sendRun(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	opts.Dest.register(f, "receiver `URL` (default: the config file's routes)")
	f.BoolVar(&opts.Verbatim, "verbatim", false, "send the spec's sample body unchanged")
	f.StringVar(&opts.Domain, "domain", "", "publishDomain of the stream, a `DOMAIN`")
	f.StringVar(&opts.App, "app", "", "appName of the stream, an `APP`")
	f.StringVar(&opts.Stream, "stream", "", "streamName, a `NAME` (default: a fresh name)")
	f.StringVar(&opts.PushURL, "push-url", "", "push `URL` to derive domain, app, stream and pushParams from (rtmp://DOMAIN/APP/STREAM?a=b)")
	opts.Overrides.register(f)
	f.StringVar(&opts.Data, "data", "", "send this body instead of a sample: `FILE`, or - for standard input (its kind is read from it when no KIND is given)")
	f.BoolVar(&opts.NoValidate, "no-validate", false, "send bodies even when they break the spec")
	opts.Delivery.register(f, "", deliverySet{timeout: 3 * time.Second, retries: true, expect: "200"})
	f.BoolVar(&opts.DryRun, "dry-run", false, "print what would be sent instead of sending it")
	f.StringVar(&opts.As, "as", "body", "with --dry-run, print the bodies (body) or each request as a curl command (curl): a `FORMAT`")
	f.Float64Var(&opts.Speed, "speed", 0, "pace by the stream's time line: 1 real time, 10 ten times faster, 0 no waiting")
	f.BoolVar(&opts.Duplicate, "duplicate", false, "deliver each callback twice")
	f.BoolVar(&opts.Shuffle, "shuffle", false, "deliver the callbacks in a random order")
	f.DurationVar(&opts.Length, "length", 0, "lifecycle: length of the stream (default: 1 to 10 minutes at random)")
	f.DurationVar(&opts.SnapshotInterval, "snapshot-interval", 30*time.Second, "lifecycle: time between snapshots (0: none)")
	f.BoolVar(&opts.TaskRecord, "task-record", false, "lifecycle: add a record task's record_done")
	f.BoolVar(&opts.Quality, "quality", false, "lifecycle: add a quality detection")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed for stream names, IPs and --shuffle (0: random)")
	f.IntVar(&opts.Load.Count, "count", 0, "load mode: send this many callbacks (the KINDs take turns)")
	f.IntVarP(&opts.Load.Concurrency, "concurrency", "c", 10, "load mode: requests under way at once (and kept-alive connections)")
	f.DurationVar(&opts.Load.Duration, "duration", 0, "load mode: send for this long (with --count, whichever ends first)")
	f.Float64Var(&opts.Load.Rate, "rate", 0, "load mode: requests per second, scheduled whatever the receiver does (0: as fast as answered)")
	f.BoolVar(&opts.Load.SameBody, "same-body", false, "load mode: send one body every time instead of a new stream per round")
	f.StringVar(&opts.Load.MaxErrorRate, "max-error-rate", "0", "load mode: fail when more requests than this `RATE` (0.01 or 1%) fail or miss --expect-status")
	f.StringVar(&opts.Load.Emit, "emit", "", "load mode: write the requests to `FILE` (- for stdout) instead of sending them")
	f.StringVar(&opts.Load.EmitFormat, "emit-format", send.EmitVegeta, "`FORMAT` of --emit: vegeta (JSON targets) or k6 (a script)")
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

func sendRun(ctx context.Context, app *App, opts *SendOptions) error {
	kinds, lifecycle, err := parseSendArgs(opts.Args, opts.Data != "")
	if err != nil {
		return err
	}
	overrides, err := opts.Overrides.Overrides()
	if err != nil {
		return err
	}
	dl, err := opts.Delivery.check(app)
	if err != nil {
		return err
	}
	if opts.Speed < 0 {
		return usageErrorf("--speed %v: give 0 (no waiting), 1 (real time) or more", opts.Speed)
	}
	to, routes, err := opts.Dest.check(app)
	if err != nil {
		return err
	}
	if opts.As != "body" && opts.As != "curl" {
		return usageErrorf("--as %q: give body or curl", opts.As)
	}
	if opts.As == "curl" && !opts.DryRun {
		return usageErrorf("--as curl prints requests instead of sending them: add --dry-run")
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
	if !opts.Load.active() && (opts.Load.Rate != 0 || opts.Load.SameBody) {
		return usageErrorf("--rate and --same-body shape load mode: add --count N or --duration D")
	}
	if opts.Load.active() {
		return sendLoadRun(ctx, app, opts, kinds, lifecycle, bo, dl, to, routes)
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
		return bodyError(err)
	}

	for _, it := range items {
		for _, w := range it.Warnings {
			fmt.Fprintf(app.Err, "%s %s\n", app.ErrColor.Warn("warning:"), w)
		}
	}
	if bad := send.Validate(items); bad || hasFindings(items) {
		for _, it := range items {
			if len(it.Findings) == 0 {
				continue
			}
			fmt.Fprintf(app.Err, "%s #%d %s\n", itemName(it), it.Seq, verdict(app.ErrColor, it.Findings))
			printFindings(app.Err, app.ErrColor, it.Findings, "    ")
		}
		if bad && !opts.NoValidate {
			for _, hint := range setStringHints(items, overrides) {
				fmt.Fprintln(app.Err, hint)
			}
			var fss []event.Findings
			for _, it := range items {
				fss = append(fss, it.Findings)
			}
			refuse(app, fss...)
			return checkFailed
		}
	}

	items = send.Arrange(items, opts.Duplicate, opts.Shuffle, rnd)
	if err := send.Route(items, to, routes); err != nil {
		if opts.DryRun && errors.Is(err, route.ErrNoRoute) {
			err = nil // the bodies are what a dry run is for
		} else {
			return routeError(err)
		}
	}
	if opts.DryRun {
		if opts.As == "curl" {
			return sendCurl(app, items, dl)
		}
		return sendDryRun(app, items)
	}

	client := deliver.NewClient(dl)
	ctx, stop := interruptible(ctx)
	defer stop()
	r := &send.Runner{Client: client, Speed: opts.Speed}
	sr := newSendRenderer(app, dl.Expect, items)
	if opts.Delivery.Retries > 0 {
		r.OnAttempt = func(it send.Item, n int, a deliver.Attempt) { sr.attempt(it, n, opts.Delivery.Retries+1, a) }
	}
	r.OnOutcome = sr.outcome
	sum := r.Run(ctx, items)

	line := fmt.Sprintf("%s: %d answered %s", plural(sum.Sent, "callback")+" sent", sum.Matched, dl.Expect)
	if sum.Missed > 0 {
		line += fmt.Sprintf(", %d answered otherwise", sum.Missed)
	}
	if sum.Failed > 0 {
		line += fmt.Sprintf(", %d could not be delivered", sum.Failed)
	}
	if sum.Interrupted > 0 {
		line += fmt.Sprintf(", %d cut short by the interruption", sum.Interrupted)
	}
	if sum.Skipped > 0 {
		line += fmt.Sprintf(", %d skipped", sum.Skipped)
	}
	if ctx.Err() != nil {
		if notSent := len(items) - sum.Sent - sum.Skipped; notSent > 0 {
			line += fmt.Sprintf(", %d not sent", notSent)
		}
		fmt.Fprintf(app.Err, "interrupted: %s\n", line)
		return interrupted
	}
	fmt.Fprintln(app.Err, line)
	if f := sum.FirstFailure; f != nil {
		return unreachable(string(f.Kind), f.URL, f.Result.Cause, f.Result.Err, opts.Delivery.Timeout, "--timeout")
	}
	if sum.Missed > 0 {
		return checkFailed
	}
	return nil
}

// bodyError says what the body engine refused in the flags' words.
func bodyError(err error) error {
	switch {
	case errors.Is(err, send.ErrIdentityConflict):
		return usageErrorf("--domain, --app, --stream and --push-url shape generated samples; with --verbatim or --data change the body with --set instead")
	case errors.Is(err, send.ErrOneCustomBody):
		return usageErrorf("--data is one body: give at most one KIND with it")
	case errors.Is(err, send.ErrLifecycleFromSamples):
		return usageErrorf("lifecycle plays samples: --data and --verbatim do not apply (use --set to change its bodies)")
	}
	return &ExitError{Code: ExitUsage, Err: err}
}

// routeError adds where routes come from to a routing failure.
func routeError(err error) error {
	var off *send.SwitchedOffError
	switch {
	case errors.As(err, &off):
		return usageErrorf("%v: drop that kind, switch the family on in the config file, or pass --to URL", err)
	case errors.Is(err, route.ErrNoRoute):
		return usageErrorf("%v: pass --to URL (or --to-base URL), or add a route to the config file (see 'livecb config init')", err)
	}
	return usageErrorf("%v", err)
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

// hasFindings reports whether any body has a finding, error or warning.
func hasFindings(items []send.Item) bool {
	for _, it := range items {
		if len(it.Findings) > 0 {
			return true
		}
	}
	return false
}

// maxData bounds a --data body: far above any callback, and a file or a
// pipe that never ends must not fill the memory.
const maxData = 64 << 20

func readData(app *App, name string) ([]byte, error) {
	var r io.Reader = app.In
	display := "standard input"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, ioError(fmt.Errorf("--data: %w", err))
		}
		defer f.Close()
		r, display = f, name
	}
	b, err := io.ReadAll(io.LimitReader(r, maxData+1))
	if err != nil {
		return nil, ioError(fmt.Errorf("--data %s: %w", display, err))
	}
	if len(b) > maxData {
		return nil, usageErrorf("--data %s: the body is larger than %s; a callback is a few hundred bytes", display, humanize.IBytes(maxData))
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// sendDryRun prints the bodies: pretty on a terminal, one compact body per
// line when piped (ready for `livecb validate`), or one data record per
// request with --output json. Where each would go goes to stderr.
func sendDryRun(app *App, items []send.Item) error {
	for _, it := range items {
		if app.Output.Structured() {
			rec := newSendRecord(send.Outcome{Item: it, Skipped: it.Skip})
			rec.DryRun = true
			if err := app.Output.Write(rec); err != nil {
				return ioError(err)
			}
			continue
		}
		fmt.Fprintf(app.Err, "%s %s -> %s\n", app.ErrColor.Dim("#"+fmt.Sprint(it.Seq)), itemName(it), dryRunDest(it))
		body := it.Body
		var buf bytes.Buffer
		if app.OutTTY && json.Indent(&buf, body, "", "  ") == nil {
			body = buf.Bytes()
		} else if !app.OutTTY && json.Compact(&buf, body) == nil {
			body = buf.Bytes()
		}
		if _, err := fmt.Fprintf(app.Out, "%s\n", body); err != nil {
			return ioError(err)
		}
	}
	return nil
}

func dryRunDest(it send.Item) string {
	switch {
	case it.Skip != "":
		return "skipped: " + it.Skip
	case it.URL == "":
		return "no URL (pass --to)"
	}
	return display(it.URL)
}

// sendCurl prints each request as a curl command that sends exactly the
// same bytes and headers (--dry-run --as curl).
func sendCurl(app *App, items []send.Item, dl deliver.Policy) error {
	for _, it := range items {
		if it.Skip != "" {
			fmt.Fprintf(app.Err, "# %s skipped: %s\n", itemName(it), it.Skip)
			continue
		}
		url := it.URL
		if url == "" {
			url = "http://127.0.0.1:8080/"
			fmt.Fprintf(app.Err, "# %s has no URL (pass --to): shown with %s\n", itemName(it), url)
		}
		line := curlCommand(url, requestHeaders(app, dl), it.Body, dl)
		if app.Output.Structured() {
			if err := app.Output.Write(map[string]any{"seq": it.Seq, "kind": it.Kind, "curl": line}); err != nil {
				return ioError(err)
			}
			continue
		}
		if _, err := fmt.Fprintln(app.Out, line); err != nil {
			return ioError(err)
		}
	}
	return nil
}

// requestHeaders are the headers every request of the policy carries, in
// the order they leave.
func requestHeaders(app *App, dl deliver.Policy) [][2]string {
	h := [][2]string{{"Content-Type", "application/json"}, {"User-Agent", app.UserAgent()}}
	for _, name := range slices.Sorted(maps.Keys(dl.Header)) {
		for i := range h {
			if strings.EqualFold(h[i][0], name) {
				h = append(h[:i], h[i+1:]...)
				break
			}
		}
		for _, v := range dl.Header[name] {
			h = append(h, [2]string{name, v})
		}
	}
	return h
}

// curlCommand is a shell-safe curl command line that sends body exactly:
// every argument single-quoted, the body as an argument when it is
// printable text, else piped in from printf with octal escapes (an argument
// cannot hold a NUL byte).
func curlCommand(url string, header [][2]string, body []byte, dl deliver.Policy) string {
	args := []string{"curl", "-sS", "-X", "POST", "--max-time", strconv.FormatFloat(dl.Timeout.Seconds(), 'f', -1, 64)}
	if dl.Insecure {
		args = append(args, "--insecure")
	}
	if dl.FollowRedirects {
		args = append(args, "--location")
	}
	for _, kv := range header {
		args = append(args, "-H", shellQuote(kv[0]+": "+kv[1]))
	}
	if printableText(body) {
		args = append(args, "--data-binary", shellQuote(string(body)), shellQuote(url))
		return strings.Join(args, " ")
	}
	args = append(args, "--data-binary", "@-", shellQuote(url))
	return "printf " + printfQuote(body) + " | " + strings.Join(args, " ")
}

// printableText reports whether b can be a shell argument as it is:
// valid UTF-8 without control bytes (tabs aside).
func printableText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printfQuote is a printf format that prints b exactly: printable ASCII as
// it is, every other byte as an octal escape (POSIX printf), in single
// quotes.
func printfQuote(b []byte) string {
	var q strings.Builder
	q.WriteByte('\'')
	for _, c := range b {
		switch {
		case c == '\'':
			q.WriteString(`'\''`)
		case c == '\\':
			q.WriteString(`\\`)
		case c == '%':
			q.WriteString("%%")
		case c >= 0x20 && c < 0x7f:
			q.WriteByte(c)
		default:
			fmt.Fprintf(&q, `\%03o`, c)
		}
	}
	q.WriteByte('\'')
	return q.String()
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

// sendRenderer prints outcomes: one line each on stdout (or a data record),
// retries and notices on stderr.
type sendRenderer struct {
	app    *App
	expect deliver.Expect
	width  int // of the kind column
	urlW   int // of the URL column
}

func newSendRenderer(app *App, expect deliver.Expect, items []send.Item) *sendRenderer {
	r := &sendRenderer{app: app, expect: expect}
	for _, it := range items {
		r.width = max(r.width, len(itemName(it)))
		r.urlW = max(r.urlW, utf8.RuneCountInString(display(it.URL)))
	}
	return r
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
	if r.app.Output.Structured() {
		r.app.Output.Write(newSendRecord(o)) //nolint:errcheck // a closed stdout shows in the summary's exit
		return
	}
	p := r.app.Color
	name := fmt.Sprintf("%-*s", r.width, itemName(o.Item))
	if o.Skipped != "" {
		fmt.Fprintf(r.app.Err, "%s %s: %s\n", r.app.ErrColor.Warn("skipped"), itemName(o.Item), o.Skipped)
		return
	}
	url := display(o.URL)
	url += strings.Repeat(" ", max(0, r.urlW-utf8.RuneCountInString(url)))
	res := o.Result
	if res.Err != nil {
		fmt.Fprintf(r.app.Out, "%s  %s  %s  %s\n", name, url, p.Bad("FAILED: "+string(res.Cause)), p.Dim(roundLatency(res.Latency).String()))
		return
	}
	status := fmt.Sprintf("%d %s", res.Status, http.StatusText(res.Status))
	if o.Matched {
		status = p.OK(status)
	} else {
		status = p.Bad(status) + " " + p.Bad("(expected "+r.expect.String()+")")
	}
	line := fmt.Sprintf("%s  %s  %s  %s", name, url, status, p.Dim(roundLatency(res.Latency).String()))
	if ex := excerpt(res.Excerpt, 80); ex != "" {
		line += "  " + ex
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

// refuse says that nothing was sent because a body breaks the spec, and
// how to go on; a --data file of several callbacks (one after the other)
// is pointed at replay, which sends each.
func refuse(app *App, fss ...event.Findings) {
	for _, fs := range fss {
		if slices.ContainsFunc(fs, func(f event.Finding) bool { return f.Code == event.CodeTrailingData }) {
			fmt.Fprintln(app.Err, "--data sends one body: to send each callback of a file of several (NDJSON, a capture log), use 'livecb replay FILE'.")
			break
		}
	}
	fmt.Fprintln(app.Err, "Refused: nothing sent, the body breaks the spec. Fix it, or pass --no-validate to send it anyway.")
}
