package contract

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
)

func suite(t *testing.T) []Case {
	t.Helper()
	cases, err := Suite(SuiteOptions{Now: time.Date(2025, 3, 22, 12, 0, 0, 0, time.UTC), Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// Every case the service could send is a valid callback (drift and unknown
// fields are warnings, not errors), names are unique, each states its rule,
// and the list of cases is there.
func TestSuiteCasesAreValidCallbacks(t *testing.T) {
	cases := suite(t)
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.Name] {
			t.Errorf("case name %s is used twice", c.Name)
		}
		names[c.Name] = true
		if c.Rule == "" || len(c.Callbacks) == 0 {
			t.Errorf("case %s has no rule or no callbacks", c.Name)
		}
		if c.Negative {
			continue
		}
		for i, cb := range c.Callbacks {
			ev, fs := event.Check(cb.Body, event.Options{})
			if fs.HasErrors() || ev == nil || ev.Kind != cb.Kind {
				t.Errorf("case %s callback %d is not a valid %s: %v\n%s", c.Name, i+1, cb.Kind, fs, cb.Body)
			}
		}
	}
	for _, want := range []string{
		"sample/publish_started", "sample/publish_done", "sample/record_done", "sample/task_record_done", "sample/snapshot", "sample/quality",
		"drift/record_done/numbers-as-strings", "drift/record_done/strings-as-numbers", "drift/record_done/decimal-strings",
		"drift/task_record_done/strings-as-numbers", "drift/task_record_done/decimal-strings", "drift/publish_started/numbers-as-strings",
		"unknown-fields/snapshot", "duplicate/record_done", "order/in-order", "order/done-before-started", "order/record-after-done",
		"names/non-ascii", "names/long", "names/unusual", "push-params/empty", "optional/publish_started/all-absent",
		"big-numbers/int64/record_done", "big-numbers/big-id/task_record_done", "burst/mixed",
		"reconnect/republish", "reconnect/restart-without-done", "reconnect/records-of-both-sessions",
		"negative/malformed-json", "negative/empty-body", "negative/wrong-content-type",
	} {
		if !names[want] {
			t.Errorf("the suite has no case %s", want)
		}
	}
}

// The variations are made by editing the sample: the drifted value changes
// form and keeps its digits, everything else keeps its bytes.
func TestDriftEditsOnlyTheDriftingValues(t *testing.T) {
	byName := map[string]Case{}
	for _, c := range suite(t) {
		byName[c.Name] = c
	}
	body := string(byName["drift/record_done/strings-as-numbers"].Callbacks[0].Body)
	if !regexp.MustCompile(`"duration":\d+\.0,"fileSize":\d+,`).MatchString(body) {
		t.Errorf("strings-as-numbers: duration and fileSize are not JSON numbers: %s", body)
	}
	body = string(byName["drift/task_record_done/decimal-strings"].Callbacks[0].Body)
	if !regexp.MustCompile(`"fileSize":"\d+\.0".*"group":\[\{"beginTime":"\d{13}\.0","endTime":"\d{13}\.0"\}`).MatchString(body) {
		t.Errorf("decimal-strings: %s", body)
	}
	body = string(byName["big-numbers/big-id/task_record_done"].Callbacks[0].Body)
	if !strings.Contains(body, `"taskExternalId":"9007199254740993"`) {
		t.Errorf("big-id: %s", body)
	}
	body = string(byName["big-numbers/int64/record_done"].Callbacks[0].Body)
	if !strings.Contains(body, `"fileSize":"9223372036854775807"`) || !regexp.MustCompile(`"beginTime":9\d{18},`).MatchString(body) {
		t.Errorf("int64: %s", body)
	}
	c := byName["duplicate/snapshot"]
	if len(c.Callbacks) != 2 || string(c.Callbacks[0].Body) != string(c.Callbacks[1].Body) {
		t.Errorf("duplicate/snapshot does not send the same body twice")
	}
	if got := byName["optional/publish_started/all-absent"].Callbacks[0].Body; strings.Contains(string(got), "pushParams") || strings.Contains(string(got), "clientIp") {
		t.Errorf("optional-absent still has pushParams: %s", got)
	}
}

func TestSelect(t *testing.T) {
	cases := suite(t)
	got := Select(cases, regexp.MustCompile(`^duplicate/`), regexp.MustCompile(`quality`), false)
	var names []string
	for _, c := range got {
		names = append(names, c.Name)
	}
	want := "duplicate/publish_started duplicate/publish_done duplicate/record_done duplicate/task_record_done duplicate/snapshot"
	if strings.Join(names, " ") != want {
		t.Errorf("Select = %v, want %s", names, want)
	}
	if n := len(Select(cases, regexp.MustCompile(`^negative/`), nil, false)); n != 0 {
		t.Errorf("negative cases selected without opting in: %d", n)
	}
	if n := len(Select(cases, regexp.MustCompile(`^negative/`), nil, true)); n != 4 {
		t.Errorf("negative cases with opt-in: %d, want 4", n)
	}
}

// verifyStored is the --verify-cmd of the tests: a case whose task record
// carries an id must find exactly one row with that exact id for its
// stream in the receiver's store.
const verifyStored = `[ -z "$LIVECB_TASK_EXTERNAL_ID" ] && exit 0
n=$(grep -cxF "$LIVECB_DOMAIN	$LIVECB_APP	$LIVECB_STREAM	$LIVECB_TASK_EXTERNAL_ID" "$STORE")
[ "$n" = 1 ] || { echo "want 1 row with taskExternalId $LIVECB_TASK_EXTERNAL_ID for $LIVECB_STREAM, found $n:" >&2; grep -F "$LIVECB_STREAM	" "$STORE" >&2; exit 1; }`

func run(t *testing.T, url string, cases []Case, mod func(*Options)) []Result {
	t.Helper()
	opts := Options{
		Target: func(string, event.Family) (string, error) { return url, nil },
		Policy: deliver.Policy{Timeout: 2 * time.Second},
	}
	if mod != nil {
		mod(&opts)
	}
	if err := Probe(context.Background(), []string{url}, deliver.Policy{Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), cases, opts, nil)
}

func TestGoodReceiverPassesEveryCase(t *testing.T) {
	store := filepath.Join(t.TempDir(), "records.tsv")
	url := startReceiver(t, "none", "-store", store)
	cases := Select(suite(t), nil, nil, true)
	// The verify command gets the environment it is given, with STORE.
	results := run(t, url, cases, func(o *Options) {
		o.VerifyCmd, o.Concurrency, o.Environ = verifyStored, 2, append(os.Environ(), "STORE="+store)
	})
	if len(results) != len(cases) {
		t.Fatalf("%d results for %d cases", len(results), len(cases))
	}
	verified := 0
	for _, r := range results {
		if r.Outcome != Pass {
			t.Errorf("%s: %s: %s\n%s", r.Case.Name, r.Outcome, r.Reason, Details(r))
		}
		if r.Verify == nil {
			t.Errorf("%s: --verify-cmd did not run", r.Case.Name)
		}
		if r.Duration <= 0 || r.Duration < r.Exchanges[len(r.Exchanges)-1].Latency {
			t.Errorf("%s: took %s, its last request %s", r.Case.Name, r.Duration, r.Exchanges[len(r.Exchanges)-1].Latency)
		}
		if r.Case.TaskExternalID != "" {
			verified++
		}
	}
	if verified < 8 {
		t.Errorf("only %d cases carry a taskExternalId to verify", verified)
	}
}

// Each broken receiver fails exactly the cases that exercise its bug, with
// a reason that names the cause.
func TestBrokenReceiversFailTheirCases(t *testing.T) {
	hasKind := func(ks ...event.Kind) func(Case) bool {
		return func(c Case) bool {
			for _, cb := range c.Callbacks {
				for _, k := range ks {
					if cb.Kind == k {
						return true
					}
				}
			}
			return false
		}
	}
	stringFileSize := func(c Case) bool {
		for _, cb := range c.Callbacks {
			var m map[string]any
			if json.Unmarshal(cb.Body, &m) == nil {
				if _, ok := m["fileSize"].(string); ok {
					return true
				}
			}
		}
		return false
	}
	tests := []struct {
		bug     string // the receiver's -bug
		args    []string
		opts    func(*Options)
		fails   func(Case) bool
		reason  string // in every failing case's reason
		details string // in every failing case's details
	}{
		{bug: "crash-no-event", fails: hasKind(event.Snapshot, event.Quality),
			reason: "dropped the connection", details: "answer:  none"},
		{bug: "strict-filesize", fails: stringFileSize,
			reason: "answered 400 Bad Request, want 200: the receiver rejected a body the service sends", details: "fileSize of type int64"},
		{bug: "dup500", fails: func(c Case) bool { return strings.HasPrefix(c.Name, "duplicate/") },
			reason: "the repeated", details: "duplicate key value"},
		{bug: "slow", args: []string{"-delay", "3s"}, opts: func(o *Options) { o.Policy.Timeout = 400 * time.Millisecond; o.Concurrency = 4 },
			fails: hasKind(event.RecordDone, event.TaskRecordDone), reason: "no answer within 400ms (timeout)", details: "answer:  none"},
		{bug: "float-id", args: []string{"-store", "STORE"}, opts: func(o *Options) { o.VerifyCmd = verifyStored },
			fails: func(c Case) bool { return c.TaskExternalID != "" }, reason: "the verify command failed (exit 1)", details: "want 1 row with taskExternalId"},
	}
	cases := suite(t)
	for _, tt := range tests {
		t.Run(tt.bug, func(t *testing.T) {
			t.Parallel()
			store := filepath.Join(t.TempDir(), "records.tsv")
			args := append([]string(nil), tt.args...)
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "STORE", store)
			}
			url := startReceiver(t, tt.bug, args...)
			results := run(t, url, Select(cases, nil, nil, false), func(o *Options) {
				if tt.opts != nil {
					tt.opts(o)
				}
				if o.VerifyCmd != "" {
					o.VerifyCmd = "STORE=" + store + "; " + o.VerifyCmd
				}
			})
			var failed, want []string
			for _, r := range results {
				if tt.fails(*r.Case) {
					want = append(want, r.Case.Name)
				}
				if r.Outcome != Fail {
					continue
				}
				failed = append(failed, r.Case.Name)
				if !strings.Contains(r.Reason, tt.reason) {
					t.Errorf("%s: reason %q does not contain %q", r.Case.Name, r.Reason, tt.reason)
				}
				if d := Details(r); !strings.Contains(d, tt.details) {
					t.Errorf("%s: details do not contain %q:\n%s", r.Case.Name, tt.details, d)
				}
			}
			sort.Strings(failed)
			sort.Strings(want)
			if len(want) == 0 || strings.Join(failed, " ") != strings.Join(want, " ") {
				t.Errorf("failed cases:\n  %s\nwant:\n  %s", strings.Join(failed, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestNegativeCasesAgainstACrashingReceiver(t *testing.T) {
	// crash-no-event checks content type and JSON before it looks for
	// "event": every negative case still gets its 4xx.
	url := startReceiver(t, "crash-no-event")
	results := run(t, url, Select(suite(t), regexp.MustCompile(`^negative/`), nil, true), nil)
	got := map[string]Outcome{}
	for _, r := range results {
		got[r.Case.Name] = r.Outcome
	}
	want := map[string]Outcome{"negative/malformed-json": Pass, "negative/empty-body": Pass,
		"negative/not-an-object": Pass, "negative/wrong-content-type": Pass}
	for name, o := range want {
		if got[name] != o {
			t.Errorf("%s: %s, want %s", name, got[name], o)
		}
	}
	// Configurable: a receiver that accepts text/plain is fine with 200 allowed.
	accept, _ := deliver.ParseExpect("4xx,200")
	results = run(t, url, Select(suite(t), regexp.MustCompile(`wrong-content-type`), nil, true), func(o *Options) { o.NegativeExpect = accept })
	if results[0].Outcome != Pass {
		t.Errorf("with 4xx,200 allowed: %s %s", results[0].Outcome, results[0].Reason)
	}
	strict, _ := deliver.ParseExpect("400")
	results = run(t, url, Select(suite(t), regexp.MustCompile(`wrong-content-type`), nil, true), func(o *Options) { o.NegativeExpect = strict })
	if results[0].Outcome != Fail || !strings.Contains(results[0].Reason, "answered 415 Unsupported Media Type, want 400") {
		t.Errorf("with 400 required: %s %s", results[0].Outcome, results[0].Reason)
	}
}

func TestVerifyCmdEnvironment(t *testing.T) {
	url := startReceiver(t, "none")
	out := filepath.Join(t.TempDir(), "env")
	cases := Select(suite(t), regexp.MustCompile(`^(big-numbers/big-id/|order/done-before-started)`), nil, false)
	results := run(t, url, cases, func(o *Options) {
		o.VerifyCmd = `env | grep '^LIVECB_' | grep -v 'BODY_FILE\|BODIES_DIR' | sort >> ` + out + `; cat "$LIVECB_BODY_FILE" >> ` + out + `; echo >> ` + out +
			`; cat "$LIVECB_BODIES_DIR"/1.json >> ` + out + `; echo >> ` + out + `; echo checked >&2; test "$LIVECB_KIND" != publish_started`
	})
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if len(cases) != 2 || cases[0].Name != "order/done-before-started" || cases[1].Name != "big-numbers/big-id/task_record_done" {
		t.Fatalf("selected %d cases", len(cases))
	}
	s := cases[1].Stream
	first := cases[0].Callbacks
	for _, want := range []string{
		"LIVECB_CASE=big-numbers/big-id/task_record_done\nLIVECB_DOMAIN=push.yourdomain.com\nLIVECB_FAMILY=big-numbers\nLIVECB_KIND=task_record_done\nLIVECB_KINDS=task_record_done\n",
		"LIVECB_STREAM=" + s.Name + "\nLIVECB_STREAMS=" + s.Name + "\nLIVECB_TASK_EXTERNAL_ID=9007199254740993\nLIVECB_TASK_EXTERNAL_IDS=9007199254740993\n" +
			string(cases[1].Callbacks[0].Body) + "\n" + string(cases[1].Callbacks[0].Body) + "\n",
		"LIVECB_CALLBACKS=2\nLIVECB_CASE=order/done-before-started\nLIVECB_DOMAIN=push.yourdomain.com\nLIVECB_FAMILY=order\n",
		"LIVECB_KIND=publish_started\nLIVECB_KINDS=publish_done,publish_started\n",
		string(first[1].Body) + "\n" + string(first[0].Body) + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("verify-cmd environment lacks %q:\n%s", want, got)
		}
	}
	if results[1].Outcome != Pass {
		t.Errorf("big-id: %s %s", results[1].Outcome, results[1].Reason)
	}
	if results[0].Outcome != Fail || results[0].Reason != "the verify command failed (exit 1): the receiver answered as expected but did not do what it should: checked" {
		t.Errorf("lifecycle/done-before-started: %s %q", results[0].Outcome, results[0].Reason)
	}
}

func TestJUnitReport(t *testing.T) {
	url := startReceiver(t, "dup500")
	cases := Select(suite(t), regexp.MustCompile(`^(sample|duplicate)/`), nil, false)
	start := time.Now()
	results := run(t, url, cases, nil)
	// An answer with bytes XML cannot hold still makes a valid report.
	for i := range results {
		if results[i].Failed >= 0 {
			results[i].Exchanges[results[i].Failed].Answer = append(results[i].Exchanges[results[i].Failed].Answer, "\x00\x1b[31m]]>"...)
		}
	}
	file := filepath.Join(t.TempDir(), "report.xml")
	if err := WriteJUnitFile(file, JUnit(results, start, time.Since(start), map[string]string{"target": url})); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the report is not XML: %v\n%s", err, b)
	}
	if doc.Tests != 12 || doc.Failures != 6 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 12 || doc.Suites[0].Failures != 6 {
		t.Fatalf("counts: tests=%d failures=%d suites=%d\n%s", doc.Tests, doc.Failures, len(doc.Suites), b)
	}
	props := map[string]string{}
	for _, p := range doc.Suites[0].Properties {
		props[p.Name] = p.Value
	}
	if want := map[string]string{"target": url, "family.sample.passed": "6", "family.sample.failed": "0", "family.sample.skipped": "0",
		"family.duplicate.passed": "0", "family.duplicate.failed": "6", "family.duplicate.skipped": "0"}; !maps.Equal(props, want) {
		t.Errorf("properties: %v, want %v", props, want)
	}
	for _, c := range doc.Suites[0].Cases {
		dup := strings.HasPrefix(c.Name, "duplicate/")
		if dup != (c.Failure != nil) {
			t.Errorf("%s: failure %v", c.Name, c.Failure)
			continue
		}
		if c.Classname != "livecb."+strings.Split(c.Name, "/")[0] {
			t.Errorf("%s: classname %s", c.Name, c.Classname)
		}
		if dup && (!strings.Contains(c.Failure.Message, "answered 500 Internal Server Error, want 200") ||
			!strings.Contains(c.Failure.Text, "duplicate key value violates unique constraint") || !strings.Contains(c.Failure.Text, `\x00\x1b[31m]]>`) || c.Failure.Type != "status") {
			t.Errorf("%s: failure %+v", c.Name, c.Failure)
		}
	}
}
