package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
	"github.com/livecb/livecb/internal/send"
)

// LoadOptions are the load-mode flags of `livecb send`.
type LoadOptions struct {
	Count        int
	Concurrency  int
	Duration     time.Duration
	Rate         float64
	SameBody     bool
	MaxErrorRate string
	Emit         string
	EmitFormat   string
}

// active reports whether the flags ask for load mode (a negative count or
// duration too: it is refused there, not taken for a single send).
func (o LoadOptions) active() bool { return o.Count != 0 || o.Duration != 0 || o.Emit != "" }

// parseErrorRate reads --max-error-rate: a fraction (0.01) or a percentage
// (1%).
func parseErrorRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || v < 0 || v > 1 || math.IsNaN(v) {
		return 0, usageErrorf("--max-error-rate %q: give a fraction (0.01) or a percentage (1%%) between 0 and 1", s)
	}
	return v, nil
}

// loadConflicts are the single-send flags that mean nothing in load mode.
func loadConflicts(opts *SendOptions, lifecycle bool) error {
	lo := opts.Load
	switch {
	case lifecycle:
		return usageErrorf("%s plays one broadcast; load mode (--count, --duration, --emit) sends KINDs: name them instead", lifecycleArg)
	case opts.DryRun:
		return usageErrorf("--dry-run prints single callbacks; in load mode use --emit FILE to write the requests")
	case opts.Speed != 0 || opts.Duplicate || opts.Shuffle:
		return usageErrorf("--speed, --duplicate and --shuffle shape single sends and lifecycles; load mode takes --rate")
	case opts.Delivery.Retries != 0:
		return usageErrorf("--retries: load mode does not retry, each answer is measured as it came: drop --retries")
	case lo.Count < 0:
		return usageErrorf("--count %d: give a positive number of requests", lo.Count)
	case lo.Concurrency < 1 || lo.Concurrency > 100000:
		return usageErrorf("--concurrency %d: give 1 to 100000", lo.Concurrency)
	case lo.Duration < 0:
		return usageErrorf("--duration %s: give a positive duration such as 30s", lo.Duration)
	case lo.Emit != "" && !slices.Contains(send.EmitFormats, lo.EmitFormat):
		return usageErrorf("--emit-format %q: give one of %s", lo.EmitFormat, strings.Join(send.EmitFormats, ", "))
	case lo.Emit != "" && lo.Count == 0 && !(lo.Duration > 0 && lo.Rate > 0):
		return usageErrorf("--emit writes a fixed number of requests: give --count N (or --rate with --duration)")
	}
	return nil
}

// sendLoadRun is load mode: many callbacks, prepared ahead, sent
// --concurrency at a time (or at --rate), reported as counts and latency
// percentiles; or written to a file with --emit.
func sendLoadRun(ctx context.Context, app *App, opts *SendOptions, kinds []event.Kind, lifecycle bool, bo send.BodyOptions, dl deliver.Policy, to string, routes route.Table) error {
	expect := dl.Expect
	if err := loadConflicts(opts, lifecycle); err != nil {
		return err
	}
	lo := opts.Load
	maxErr, err := parseErrorRate(lo.MaxErrorRate)
	if err != nil {
		return err
	}
	count := int64(lo.Count)
	if lo.Emit != "" && count == 0 {
		count = int64(math.Round(lo.Rate * lo.Duration.Seconds()))
	}
	var rounds int
	if count > 0 && len(kinds) > 0 {
		rounds = int(min((count+int64(len(kinds))-1)/int64(len(kinds)), math.MaxInt32))
	}
	bodies, err := send.PrepareLoad(kinds, bo, send.LoadBodyOptions{Same: lo.SameBody, Rounds: rounds})
	if err != nil {
		return bodyError(err)
	}
	for _, it := range bodies.Templates() {
		for _, w := range it.Warnings {
			fmt.Fprintf(app.Err, "%s %s\n", app.ErrColor.Warn("warning:"), w)
		}
	}
	if bad := bodies.Validate(); bad != nil {
		fmt.Fprintf(app.Err, "%s %s\n", bad.Kind, verdict(app.ErrColor, bad.Findings))
		printFindings(app.Err, app.ErrColor, bad.Findings, "    ")
		if !opts.NoValidate {
			refuse(app, bad.Findings)
			return checkFailed
		}
	}
	if err := bodies.Route(to, routes); err != nil {
		return routeError(err)
	}
	poster, err := deliver.NewPoster(dl, lo.Concurrency)
	if err != nil {
		return opts.Delivery.settingError(err)
	}

	if lo.Emit != "" {
		return emitLoad(app, lo, bodies, poster.Header(), count, expect)
	}

	ctx, stop := interruptible(ctx)
	defer stop()
	defer tuneGC(app)()
	l := &send.Load{Poster: poster, Bodies: bodies, Count: count,
		Duration: lo.Duration, Concurrency: lo.Concurrency, Rate: lo.Rate}
	total := count
	if total == 0 {
		total = -1
	}
	bar := newProgress(app, total, "sending", "req")
	var barDone chan struct{}
	var barWG sync.WaitGroup
	if bar != nil {
		barDone = make(chan struct{})
		barWG.Add(1)
		go func() {
			defer barWG.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-barDone:
					return
				case <-tick.C:
					done, errs := l.Progress()
					bar.Describe(fmt.Sprintf("sending, %s", plural(int(errs), "error")))
					bar.Set64(done) //nolint:errcheck // a progress bar that cannot draw is no failure
				}
			}
		}()
	}
	rep, err := l.Run(ctx)
	if err != nil {
		return loadError(opts, err)
	}
	if bar != nil {
		close(barDone)
		barWG.Wait()
		clearProgress(app, bar)
	}
	poster.CloseIdle()

	failed := rep.Requests > 0 && rep.ErrorRate() > maxErr
	if app.Output.Structured() {
		if err := app.Output.Write(loadRecord(bodies, rep, maxErr, !failed && !rep.Interrupted && rep.Requests > 0)); err != nil {
			return ioError(err)
		}
	} else {
		writeLoadText(app, bodies, rep, expect, maxErr)
	}
	switch {
	case rep.Interrupted:
		fmt.Fprintf(app.Err, "interrupted after %d requests (%d answered)\n", rep.Requests, rep.Answered)
		return interrupted
	case rep.Requests == 0 && rep.FirstFailure != nil:
		return usageErrorf("%v", rep.FirstFailure.Err)
	case rep.Requests == 0:
		return &ExitError{Code: ExitCheckFailed, Err: errors.New("no request was sent: give a longer --duration")}
	case failed && rep.Answered == 0:
		f := rep.FirstFailure
		return unreachable("callbacks", f.URL, f.Cause, f.Err, opts.Delivery.Timeout, "--timeout")
	case failed:
		return &ExitError{Code: ExitCheckFailed, Err: fmt.Errorf("error rate %s is above --max-error-rate %s: %d of %d requests failed, were not answered %s or were never sent",
			percent(rep.ErrorRate()), percent(maxErr), rep.Failed+rep.Missed+rep.Unsent, rep.Requests+rep.Unsent, expect)}
	}
	return nil
}

func percent(f float64) string {
	s := strconv.FormatFloat(f*100, 'f', 2, 64)
	s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// loadURLs lists the distinct URLs of a run.
func loadURLs(b *send.LoadBodies) []string {
	var urls []string
	for k := range b.Kinds {
		if u := b.URL(k); !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	return urls
}

func writeLoadText(app *App, b *send.LoadBodies, rep send.LoadReport, expect deliver.Expect, maxErr float64) {
	p := app.Color
	w := app.Out
	kinds := make([]string, len(b.Kinds))
	for i, k := range b.Kinds {
		kinds[i] = string(k)
	}
	if len(kinds) == 0 {
		kinds = []string{"(custom)"}
	}
	what := "a new stream (name and times) each round of the KINDs"
	if b.Same {
		what = "the same body every time"
	}
	fmt.Fprintf(w, "%s %s to %s\n", p.Bold("load:"), strings.Join(kinds, ", "), strings.Join(loadURLs(b), ", "))
	mode := fmt.Sprintf("concurrency %d, as fast as answered", rep.Concurrency)
	if rep.Rate > 0 {
		mode = fmt.Sprintf("concurrency %d, %s/s scheduled (latency counted from each request's due time)", rep.Concurrency, strconv.FormatFloat(rep.Rate, 'f', -1, 64))
	}
	fmt.Fprintf(w, "  %-11s %s; %s\n", "mode", mode, what)
	fmt.Fprintf(w, "  %-11s %d in %s\n", "requests", rep.Requests, rep.Elapsed.Round(time.Millisecond))
	if rep.Unsent > 0 {
		fmt.Fprintf(w, "  %-11s %s\n", "unsent", p.Bad(fmt.Sprintf("%d scheduled by --rate but never sent: every sender was waiting for an answer (raise --concurrency)", rep.Unsent)))
	}
	if rep.Answered > 0 {
		fmt.Fprintf(w, "  %-11s %.1f requests/s\n", "throughput", rep.Throughput)
	} else {
		fmt.Fprintf(w, "  %-11s none: no request was answered\n", "throughput")
	}
	var answers []string
	for _, sc := range rep.StatusCounts() {
		s := fmt.Sprintf("%d %s: %d", sc.Status, http.StatusText(sc.Status), sc.Count)
		if expect.Match(sc.Status) {
			s = p.OK(s)
		} else {
			s = p.Bad(s)
		}
		answers = append(answers, s)
	}
	if len(answers) == 0 {
		answers = []string{"none"}
	}
	fmt.Fprintf(w, "  %-11s %s\n", "answers", strings.Join(answers, ", "))
	var errs []string
	for _, cc := range rep.CauseCounts() {
		errs = append(errs, p.Bad(fmt.Sprintf("%s: %d", cc.Cause, cc.Count)))
	}
	if len(errs) == 0 {
		errs = []string{"none"}
	}
	fmt.Fprintf(w, "  %-11s %s\n", "no answer", strings.Join(errs, ", "))
	if rep.Answered > 0 {
		l := rep.Latency
		fmt.Fprintf(w, "  %-11s min %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", "latency",
			roundLatency(l.Min), roundLatency(l.P50), roundLatency(l.P90), roundLatency(l.P99), roundLatency(l.P999), roundLatency(l.Max))
	}
	verdict := p.OK("ok")
	switch {
	case rep.ErrorRate() > maxErr:
		verdict = p.Bad("failed")
	case rep.Interrupted:
		verdict = p.Warn("interrupted") // no verdict on a run cut short
	}
	fmt.Fprintf(w, "  %-11s %s: error rate %s (no answer, or not %s; limit %s)\n", "result", verdict, percent(rep.ErrorRate()), expect, percent(maxErr))
}

// loadJSON is the data record of a load run.
type loadJSON struct {
	Kinds        []event.Kind       `json:"kinds"`
	URLs         []string           `json:"urls"`
	SameBody     bool               `json:"same_body"`
	Concurrency  int                `json:"concurrency"`
	Rate         float64            `json:"rate,omitempty"`
	Requests     int64              `json:"requests"`
	Answered     int64              `json:"answered"`
	Matched      int64              `json:"matched"`
	Missed       int64              `json:"missed"`
	Failed       int64              `json:"failed"`
	Unsent       int64              `json:"unsent,omitempty"`
	Statuses     map[string]int64   `json:"statuses"`
	Errors       map[string]int64   `json:"errors"`
	ElapsedS     float64            `json:"elapsed_s"`
	Throughput   float64            `json:"throughput"`
	LatencyMS    map[string]float64 `json:"latency_ms,omitempty"`
	ErrorRate    float64            `json:"error_rate"`
	MaxErrorRate float64            `json:"max_error_rate"`
	Interrupted  bool               `json:"interrupted,omitempty"`
	OK           bool               `json:"ok"`
}

func loadRecord(b *send.LoadBodies, rep send.LoadReport, maxErr float64, ok bool) loadJSON {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	j := loadJSON{Kinds: b.Kinds, URLs: loadURLs(b), SameBody: b.Same, Concurrency: rep.Concurrency, Rate: rep.Rate,
		Requests: rep.Requests, Answered: rep.Answered, Matched: rep.Matched, Missed: rep.Missed, Failed: rep.Failed, Unsent: rep.Unsent,
		Statuses: map[string]int64{}, Errors: map[string]int64{}, ElapsedS: rep.Elapsed.Seconds(),
		Throughput: rep.Throughput, ErrorRate: rep.ErrorRate(), MaxErrorRate: maxErr, Interrupted: rep.Interrupted, OK: ok,
		LatencyMS: map[string]float64{"min": ms(rep.Latency.Min), "p50": ms(rep.Latency.P50), "p90": ms(rep.Latency.P90),
			"p99": ms(rep.Latency.P99), "p99.9": ms(rep.Latency.P999), "max": ms(rep.Latency.Max), "mean": ms(rep.Latency.Mean)}}
	if j.Kinds == nil {
		j.Kinds = []event.Kind{}
	}
	for s, n := range rep.Statuses {
		j.Statuses[strconv.Itoa(s)] = n
	}
	for c, n := range rep.Causes {
		j.Errors[string(c)] = n
	}
	if rep.Answered == 0 {
		// No answer, no rate of answers and no latency to speak of.
		j.Throughput, j.LatencyMS = 0, nil
	}
	return j
}

// emitLoad writes the requests to --emit's file instead of sending them.
func emitLoad(app *App, lo LoadOptions, b *send.LoadBodies, header http.Header, count int64, expect deliver.Expect) error {
	var w io.Writer = app.Out
	var f *os.File
	if lo.Emit != "-" {
		var err error
		if f, err = os.Create(lo.Emit); err != nil {
			return writeError("--emit", err)
		}
		w = f
	}
	e := &send.Emit{Bodies: b, Header: header, Count: count, Concurrency: lo.Concurrency, Rate: lo.Rate, Expect: expect}
	var err error
	if lo.EmitFormat == send.EmitK6 {
		err = e.K6(w)
	} else {
		err = e.Vegeta(w)
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return ioError(fmt.Errorf("--emit: %w", err))
	}
	name := lo.Emit
	if name == "-" {
		name = "standard output"
	}
	rate := "-rate=0 -max-workers=" + strconv.Itoa(lo.Concurrency)
	if lo.Rate > 0 {
		rate = "-rate=" + strconv.FormatFloat(lo.Rate, 'f', -1, 64)
	}
	switch lo.EmitFormat {
	case send.EmitK6:
		fmt.Fprintf(app.Err, "wrote a k6 script with %d callbacks to %s; run it with: k6 run %s\n", count, name, lo.Emit)
	default:
		fmt.Fprintf(app.Err, "wrote %d vegeta targets to %s; send them with:\n  vegeta attack -format=json -lazy -targets=%s %s | vegeta report\n", count, name, lo.Emit, rate)
	}
	return nil
}

// loadError names the flag of what the load engine refused: its schedule
// (--rate, --count, --duration), or a setting of the delivery policy.
func loadError(opts *SendOptions, err error) error {
	var se *deliver.SettingError
	if !errors.As(err, &se) {
		return usageErrorf("%v", err)
	}
	switch se.Setting {
	case send.SettingRate, "count", "duration":
		return usageErrorf("--%s %s: %s", se.Setting, se.Value, se.Reason)
	}
	return opts.Delivery.settingError(err)
}
