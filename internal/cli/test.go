package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/contract"
	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
	"github.com/livecb/livecb/internal/term"
)

// TestOptions are the flags of `livecb test`.
type TestOptions struct {
	Dest           destFlags
	List           bool
	Run            string
	Skip           string
	Delivery       deliveryFlags
	Negative       bool
	NegativeExpect string
	Concurrency    int
	VerifyCmd      string
	VerifyTimeout  time.Duration
	JUnit          string
	HTML           string
	Burst          int
	Seed           uint64
	Domain         string
	App            string
}

func newTestCmd(app *App) *cobra.Command {
	opts := &TestOptions{}
	cmd := &cobra.Command{
		Use:   "test [--to URL]",
		Short: "Run the contract-test suite against your callback receiver",
		Long: `Run named contract cases against a running callback receiver, in
families, each case stating the rule it checks:

  sample          every kind as the service sends it (snapshot and quality
                  carry no "event")
  drift           numeric fields in each JSON form the revisions send
  enum            every documented value of every enumerated field (format,
                  quality module and type, status, version), the older
                  revision's status "fail" included
  boundary        the documented edges in each form: zero-length
                  recordings, int64 maxima, 1 and 10 spans, 10 s spans, 8 h
  optional        optional fields absent
  unknown-fields  fields the receiver does not know
  push-params     empty and unusual pushParams
  duplicate       the same callback twice
  order           a stream's callbacks in order and out of it
  reconnect       a stream published again, restarted without a done, and
                  the recordings of both sessions
  names           non-ASCII, long, unusual and all-digit stream names
  big-numbers     int64 times and sizes, a taskExternalId beyond 2^53
  burst           --burst callbacks at once, each about its own stream
                  (run last, alone)
  negative        (--negative) bodies the service never sends: want a 4xx

Values and bounds come from the event model's kind table, so every case
differs from a realistic sample in one respect, about a stream of its own
(names unique across the run): a failure names the rule that was broken.
A case passes when every callback gets the expected status (200) within
--timeout (2s, the vendor's timeout for its other callbacks). --list shows
the families and their cases; --run and --skip select cases by regular
expression on their names, whose first segment is the family
(--run '^enum/').

--verify-cmd runs a shell command after each case to check what the
receiver did (rows stored, ids intact, one row for a repeated callback).
It gets LIVECB_CASE, LIVECB_FAMILY, LIVECB_KIND (of the last callback),
LIVECB_KINDS, LIVECB_CALLBACKS, LIVECB_DOMAIN, LIVECB_APP, LIVECB_STREAM,
LIVECB_STREAMS (one per line, for cases about several streams),
LIVECB_BODY_FILE (the last body sent), LIVECB_BODIES_DIR (1.json, 2.json,
... in order) and, when its task records carry one id,
LIVECB_TASK_EXTERNAL_ID (LIVECB_TASK_EXTERNAL_IDS lists them all); a
non-zero exit fails the case. It runs in a process group of its own,
killed whole after --verify-timeout, on an interrupt and when it ends.

Without --to, callbacks go to the family URLs of the config file's routes
(cases of a family switched off there are skipped). --junit writes a JUnit
XML report for CI (classname livecb.FAMILY, the counts per family as
properties), --html a single-file HTML report (every case with its rule,
requests, answers and reason, grouped by rule family; it opens from file://
with no network); --output json prints one object per case and a last one
with the summary by family.

SIGINT or SIGTERM stops the run: the case in flight and the cases not run
are reported as skipped ("interrupted", "not run: interrupted"), never as
failures, the report is written, and the exit status is 130.

Exit status: 0 when every selected case passes, 1 when one fails, 2 for a
usage error, 3 when the receiver cannot be reached at the start, 4 when a
report cannot be written, 130 when interrupted.`,
		Example: `  livecb test --list
  livecb test --to http://127.0.0.1:8080/callback
  livecb test --to http://127.0.0.1:8080/callback --junit report.xml
  livecb test --to http://127.0.0.1:8080/callback --html report.html
  livecb test --to http://127.0.0.1:8080/cb --run '^(enum|boundary)/' --skip quality
  livecb test --to http://127.0.0.1:8080/cb -H 'Authorization: Bearer s3cret' --negative
  livecb test --to http://127.0.0.1:8080/cb \
    --verify-cmd 'test -z "$LIVECB_TASK_EXTERNAL_ID" || grep -q "$LIVECB_TASK_EXTERNAL_ID" records.tsv'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return testRun(app, opts)
		},
	}
	f := cmd.Flags()
	opts.Dest.register(f, "receiver `URL` for every case (default: the family URLs of the config file's routes)")
	f.BoolVar(&opts.List, "list", false, "list the cases and their rules, run nothing")
	f.StringVar(&opts.Run, "run", "", "run only cases whose names match this `REGEXP`")
	f.StringVar(&opts.Skip, "skip", "", "skip cases whose names match this `REGEXP`")
	opts.Delivery.register(f, "", deliverySet{timeout: 2 * time.Second, retries: true, expect: "200"})
	f.BoolVar(&opts.Negative, "negative", false, "also run the negative cases (malformed JSON, empty body, wrong content type)")
	f.StringVar(&opts.NegativeExpect, "negative-expect", "4xx", "`STATUS` the negative cases must get")
	f.IntVar(&opts.Concurrency, "concurrency", 1, "cases run at once (the callbacks of one case are always sent in order)")
	f.StringVar(&opts.VerifyCmd, "verify-cmd", "", "shell `COMMAND` run after each case (sh -c); a non-zero exit fails the case")
	f.DurationVar(&opts.VerifyTimeout, "verify-timeout", 30*time.Second, "time limit for each --verify-cmd")
	f.StringVar(&opts.JUnit, "junit", "", "write a JUnit XML report to `FILE`")
	f.StringVar(&opts.HTML, "html", "", "write a single-file HTML report to `FILE`")
	f.IntVar(&opts.Burst, "burst", contract.DefaultBurst, "callbacks the burst cases send at once, `N` (0 leaves them out)")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed for stream names and times, to reproduce a run (default: random)")
	f.StringVar(&opts.Domain, "domain", "", "publish `DOMAIN` of the callbacks (default push.yourdomain.com)")
	f.StringVar(&opts.App, "app", "", "`APP` name of the callbacks (default live)")
	return cmd
}

// testCaseJSON is one case in --output json (--list and results).
type testCaseJSON struct {
	Name     string           `json:"name"`
	Family   contract.Family  `json:"family"`
	Rule     string           `json:"rule"`
	Negative bool             `json:"negative,omitempty"`
	Kinds    []event.Kind     `json:"kinds"`
	Outcome  string           `json:"outcome,omitempty"`
	TimeMS   *float64         `json:"time_ms,omitempty"`
	Reason   string           `json:"reason,omitempty"`
	Stream   string           `json:"stream,omitempty"`
	Requests []testExchange   `json:"requests,omitempty"`
	Verify   *contract.Verify `json:"verify,omitempty"`
}

// testFamilyJSON is one family in --list --output json.
type testFamilyJSON struct {
	Family   contract.Family `json:"family"`
	Title    string          `json:"title"`
	Rules    string          `json:"rules"`
	Negative bool            `json:"negative,omitempty"`
	Cases    []testCaseJSON  `json:"cases"`
}

// testSummaryJSON is the last record of a run in --output json.
type testSummaryJSON struct {
	Summary struct {
		Cases       int              `json:"cases"`
		Passed      int              `json:"passed"`
		Failed      int              `json:"failed"`
		Skipped     int              `json:"skipped"`
		NotRun      int              `json:"not_run"`
		Interrupted bool             `json:"interrupted"`
		Seed        uint64           `json:"seed"`
		TimeMS      float64          `json:"time_ms"`
		Families    []contract.Tally `json:"families"`
	} `json:"summary"`
}

type testExchange struct {
	contract.Exchange
	LatencyMS     float64 `json:"latency_ms"`
	BodyExcerpt   string  `json:"body_excerpt"`
	AnswerExcerpt string  `json:"answer_excerpt,omitempty"`
}

func testRun(app *App, opts *TestOptions) error {
	var run, skip *regexp.Regexp
	var err error
	if opts.Run != "" {
		if run, err = regexp.Compile(opts.Run); err != nil {
			return usageErrorf("--run %q: %v", opts.Run, err)
		}
	}
	if opts.Skip != "" {
		if skip, err = regexp.Compile(opts.Skip); err != nil {
			return usageErrorf("--skip %q: %v", opts.Skip, err)
		}
	}
	seed := opts.Seed
	if seed == 0 {
		seed = uint64(app.Now().UnixNano())
	}
	if opts.Burst < 0 {
		return usageErrorf("--burst %d: give the number of callbacks a burst sends at once (0 leaves the burst cases out)", opts.Burst)
	}
	burst := opts.Burst
	if burst == 0 {
		burst = -1 // none
	}
	all, err := contract.Suite(contract.SuiteOptions{Now: app.Now(), Seed: seed, Domain: opts.Domain, App: opts.App, Burst: burst})
	if err != nil {
		return err
	}
	if opts.List {
		return testList(app, contract.Select(all, run, skip, true))
	}

	dl, err := opts.Delivery.check(app)
	if err != nil {
		return err
	}
	negExpect, err := deliver.ParseExpect(opts.NegativeExpect)
	if err != nil {
		return flagError("--negative-expect", err)
	}
	if opts.Concurrency < 1 {
		return usageErrorf("--concurrency %d: run at least 1 case at a time", opts.Concurrency)
	}
	to, routes, err := opts.Dest.check(app)
	if err != nil {
		return err
	}
	cases := contract.Select(all, run, skip, opts.Negative)
	if len(cases) == 0 {
		sel := fmt.Sprintf("--run %q", opts.Run)
		switch {
		case opts.Run == "":
			sel = fmt.Sprintf("--skip %q", opts.Skip)
		case opts.Skip != "":
			sel += fmt.Sprintf(" --skip %q", opts.Skip)
		}
		return usageErrorf("no case matches %s: see livecb test --list", sel)
	}

	target := func(domain string, f event.Family) (string, error) {
		if to != "" {
			return to, nil
		}
		u, err := routes.Resolve(domain, f)
		var off *route.SkippedError
		if errors.As(err, &off) {
			return "", &contract.SkipError{Reason: off.Error()}
		}
		return u, err
	}
	urls, err := contract.URLs(cases, target)
	if err != nil {
		return routeError(err)
	}

	// An unwritable report path is an error now, not after the last case.
	for flag, path := range map[string]string{"--junit": opts.JUnit, "--html": opts.HTML} {
		if path == "" {
			continue
		}
		if err := checkWritable(path); err != nil {
			return ioError(fmt.Errorf("%s: %w", flag, err))
		}
	}
	ctx, stop := interruptible(context.Background())
	defer stop()
	if err := contract.Probe(ctx, urls, dl); err != nil {
		msg := err.Error()
		var ue *contract.UnreachableError
		if errors.As(err, &ue) {
			msg += causeHint(ue.Cause, "--timeout")
			if ue.Cause == deliver.CauseRefused {
				msg += " Start it first, and wait until it listens (see docs/ci.md)"
			}
		}
		return &ExitError{Code: ExitNetwork, Err: errors.New(display(msg))}
	}
	where := strings.Join(urls, ", ")
	if !app.Output.Structured() {
		fmt.Fprintf(app.Err, "livecb test: %s against %s (seed %d)\n", plural(len(cases), "case"), display(where), seed)
	}

	width := 0
	for _, c := range cases {
		width = max(width, len(c.Name))
	}
	var writeErr error
	start := time.Now()
	results := contract.Run(ctx, cases, contract.Options{
		Target: target, Policy: dl, NegativeExpect: negExpect, Concurrency: opts.Concurrency,
		VerifyCmd: opts.VerifyCmd, VerifyTimeout: opts.VerifyTimeout, Environ: app.environ(),
	}, func(r contract.Result) {
		if app.Output.Structured() {
			if err := app.Output.Write(testResultJSON(r)); err != nil && writeErr == nil {
				writeErr = err
			}
			return
		}
		printTestResult(app.Out, app.Color, r, width)
	})
	elapsed := time.Since(start)
	if writeErr != nil {
		return ioError(writeErr)
	}

	sum := contract.Summarize(results)
	if opts.JUnit != "" {
		doc := contract.JUnit(results, start, elapsed, map[string]string{
			"target": where, "seed": strconv.FormatUint(seed, 10), "timeout": dl.Timeout.String(), "expect-status": dl.Expect.String(),
			"burst": strconv.Itoa(opts.Burst)})
		if err := contract.WriteJUnitFile(opts.JUnit, doc); err != nil {
			return ioError(fmt.Errorf("--junit: %w", err))
		}
	}
	if opts.HTML != "" {
		if err := writeTestReport(opts.HTML, testReport(results, where, seed, start, elapsed)); err != nil {
			return err
		}
	}
	if app.Output.Structured() {
		var rec testSummaryJSON
		s := &rec.Summary
		s.Cases, s.Passed, s.Failed, s.Skipped, s.NotRun = sum.All.Total(), sum.All.Passed, sum.All.Failed, sum.All.Skipped, sum.All.NotRun
		s.Interrupted, s.Seed, s.TimeMS, s.Families = ctx.Err() != nil, seed, float64(elapsed.Microseconds())/1000, sum.Families
		if err := app.Output.Write(rec); err != nil {
			return ioError(err)
		}
	} else {
		printFamilySummary(app.Out, app.Color, sum)
	}
	summary := fmt.Sprintf("%s: %d passed, %d failed", plural(len(cases), "case"), sum.All.Passed, sum.All.Failed)
	if n := sum.All.Skipped - sum.All.NotRun; n > 0 {
		summary += fmt.Sprintf(", %d skipped", n)
	}
	if sum.All.NotRun > 0 {
		summary += fmt.Sprintf(", %d not run", sum.All.NotRun)
	}
	summary += fmt.Sprintf(" in %s", elapsed.Round(time.Millisecond))
	switch {
	case sum.All.Failed > 0:
		summary = app.ErrColor.Bad("FAIL") + " " + summary
	case ctx.Err() != nil:
		summary = app.ErrColor.Warn("INTERRUPTED") + " " + summary
	default:
		summary = app.ErrColor.OK("PASS") + " " + summary
	}
	fmt.Fprintln(app.Err, summary)
	if opts.JUnit != "" {
		fmt.Fprintf(app.Err, "JUnit report: %s\n", opts.JUnit)
	}
	if opts.HTML != "" {
		fmt.Fprintf(app.Err, "HTML report: %s\n", opts.HTML)
	}
	if ctx.Err() != nil {
		return &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted: the case in flight and the cases not run are reported as skipped")}
	}
	if sum.All.Failed > 0 {
		if !app.Output.Structured() {
			if sum.All.Passed == 0 && sum.All.Skipped == 0 {
				// Every case: a pattern of all their names says nothing.
				fmt.Fprintf(app.Err, "to rerun them, add: --seed %d\n", seed)
			} else {
				fmt.Fprintf(app.Err, "to rerun the failures, add: --seed %d --run '%s'\n", seed, failedPattern(results))
			}
		}
		return checkFailed
	}
	return nil
}

// printFamilySummary prints the outcome by family of cases, as a table.
func printFamilySummary(w io.Writer, p *term.Palette, sum contract.Summary) {
	width := len("family")
	for _, t := range sum.Families {
		width = max(width, len(t.Family))
	}
	fmt.Fprintf(w, "\n%-*s  passed  failed  skipped\n", width, "family")
	row := func(name string, t contract.Tally) {
		failed := fmt.Sprintf("%6d", t.Failed)
		if t.Failed > 0 {
			failed = p.Bad(failed)
		}
		fmt.Fprintf(w, "%-*s  %6d  %s  %7d\n", width, name, t.Passed, failed, t.Skipped)
	}
	for _, t := range sum.Families {
		row(string(t.Family), t)
	}
	row("all", sum.All)
}

func failedPattern(results []contract.Result) string {
	var names []string
	for _, r := range results {
		if r.Case != nil && r.Outcome == contract.Fail {
			names = append(names, regexp.QuoteMeta(r.Case.Name))
		}
	}
	return "^(" + strings.Join(names, "|") + ")$"
}

// testList describes the families of the selected cases and lists their
// cases with their rules.
func testList(app *App, cases []contract.Case) error {
	byFamily := map[contract.Family][]contract.Case{}
	for _, c := range cases {
		byFamily[c.Family] = append(byFamily[c.Family], c)
	}
	var fams []contract.FamilyInfo
	for _, fi := range contract.Families() {
		if len(byFamily[fi.Family]) > 0 {
			fams = append(fams, fi)
		}
	}
	if app.Output.Structured() {
		for _, fi := range fams {
			rec := testFamilyJSON{Family: fi.Family, Title: fi.Title, Rules: fi.Rules, Negative: fi.Negative, Cases: []testCaseJSON{}}
			for _, c := range byFamily[fi.Family] {
				rec.Cases = append(rec.Cases, testCaseJSON{Name: c.Name, Family: c.Family, Rule: c.Rule, Negative: c.Negative, Kinds: c.Kinds()})
			}
			if err := app.Output.Write(rec); err != nil {
				return ioError(err)
			}
		}
		return nil
	}
	width := 0
	for _, c := range cases {
		width = max(width, len(c.Name))
	}
	for i, fi := range fams {
		if i > 0 {
			fmt.Fprintln(app.Out)
		}
		fmt.Fprintf(app.Out, "# %s (%s, %s): %s\n", fi.Family, fi.Title, plural(len(byFamily[fi.Family]), "case"), fi.Rules)
		for _, c := range byFamily[fi.Family] {
			rule := c.Rule
			if c.Negative {
				rule = "(--negative) " + rule
			}
			fmt.Fprintf(app.Out, "%-*s  %s\n", width, c.Name, rule)
		}
	}
	fmt.Fprintf(app.Err, "%s in %s\n", plural(len(cases), "case"), familyCount(len(fams)))
	return nil
}

func printTestResult(w io.Writer, p *term.Palette, r contract.Result, width int) {
	var status string
	switch r.Outcome {
	case contract.Pass:
		status = p.OK("PASS")
	case contract.Fail:
		status = p.Bad("FAIL")
	default:
		status = p.Warn("SKIP")
	}
	fmt.Fprintf(w, "%s  %-*s  %s\n", status, width, r.Case.Name, p.Dim(caseTime(r.Duration)))
	switch r.Outcome {
	case contract.Fail:
		fmt.Fprintf(w, "      %s %s\n", p.Bad("reason: "), display(r.Reason))
		for _, line := range strings.Split(strings.TrimRight(contract.Details(r), "\n"), "\n") {
			fmt.Fprintf(w, "      %s\n", display(line))
		}
	case contract.Skip:
		fmt.Fprintf(w, "      %s\n", display(r.Reason))
	}
}

func testResultJSON(r contract.Result) testCaseJSON {
	ms := float64(r.Duration.Microseconds()) / 1000
	out := testCaseJSON{Name: r.Case.Name, Family: r.Case.Family, Rule: r.Case.Rule, Negative: r.Case.Negative, Kinds: r.Case.Kinds(),
		Outcome: string(r.Outcome), TimeMS: &ms, Reason: r.Reason, Stream: r.Case.Stream.Name, Verify: r.Verify}
	for _, ex := range r.Exchanges {
		out.Requests = append(out.Requests, testExchange{Exchange: ex,
			LatencyMS:     float64(ex.Latency.Microseconds()) / 1000,
			BodyExcerpt:   contract.Excerpt(ex.Body, 512),
			AnswerExcerpt: contract.Excerpt(ex.Answer, 512)})
	}
	return out
}

// caseTime shows a case's time in milliseconds, to a tenth below a second.
func caseTime(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return d.Round(time.Millisecond).String()
}

func familyCount(n int) string {
	if n == 1 {
		return "1 family"
	}
	return fmt.Sprintf("%d families", n)
}
