package contract

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/event/eventtest"
)

func byName(cases []Case) map[string]Case {
	m := map[string]Case{}
	for _, c := range cases {
		m[c.Name] = c
	}
	return m
}

// field decodes a body and returns the value at a dotted path, numbers as
// json.Number.
func field(t *testing.T, body []byte, path string) any {
	t.Helper()
	raw, err := rawAt(body, path)
	if err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Every documented value of every enumerated field has its case, in which
// that one value differs from the sample, and the rule of a value only an
// older revision documents says the receiver must answer 200.
func TestEveryDocumentedValueHasItsCase(t *testing.T) {
	cases := byName(suite(t))
	want := map[string][]string{
		"enum/record_done/format":      {"ts", "flv", "mp4"},
		"enum/task_record_done/format": {"ts", "flv", "mp4"},
		"enum/quality/module":          {"BlackScreen", "PureColor", "ColorCast", "FrozenFrame", "Brightness", "Contrast"},
		"enum/quality/type":            {"video", "audio"},
		"enum/quality/version":         {"v1.0", "v1.1"},
		"enum/snapshot/version":        {"v1.1"},
	}
	for _, k := range []event.Kind{event.PublishStarted, event.PublishDone, event.RecordDone, event.TaskRecordDone, event.Snapshot} {
		want["enum/"+string(k)+"/status"] = []string{"success", "fail"}
	}
	for prefix, values := range want {
		path := prefix[strings.LastIndex(prefix, "/")+1:]
		for _, v := range values {
			c, ok := cases[prefix+"/"+v]
			if !ok {
				t.Errorf("no case %s/%s", prefix, v)
				continue
			}
			if c.Family != FamilyEnum || len(c.Callbacks) != 1 {
				t.Errorf("%s: family %s, %d callbacks", c.Name, c.Family, len(c.Callbacks))
			}
			if got := field(t, c.Callbacks[0].Body, path); got != v {
				t.Errorf("%s: %s is %v", c.Name, path, got)
			}
			// The rest is the sample about the case's own stream.
			sample, _ := event.Sample(c.Callbacks[0].Kind, c.Stream)
			if edited, _ := event.Set(sample, path, event.StringValue(v)); string(edited) != string(c.Callbacks[0].Body) {
				t.Errorf("%s differs from its sample in more than %s:\n%s\n%s", c.Name, path, c.Callbacks[0].Body, sample)
			}
		}
	}
	var enums []string
	for name := range cases {
		if strings.HasPrefix(name, "enum/") {
			enums = append(enums, name)
		}
	}
	n := 4 // version v1.1 of the four kinds without a list of their own above
	for _, vs := range want {
		n += len(vs)
	}
	if len(enums) != n {
		slices.Sort(enums)
		t.Errorf("%d enum cases, want %d:\n%s", len(enums), n, strings.Join(enums, "\n"))
	}
	rule := cases["enum/publish_done/status/fail"].Rule
	for _, part := range []string{`status "fail" is documented only by an older revision`, "may still send it", "must get 200"} {
		if !strings.Contains(rule, part) {
			t.Errorf("the rule of status fail lacks %q: %s", part, rule)
		}
	}
}

// The documented bounds: each numeric field at its Min and Max in each
// form, a zero-length recording, times at the top of int64, and a record
// task's group at 1 and 10 spans of 10 s each and 8 h in all.
func TestEveryDocumentedBoundHasItsCase(t *testing.T) {
	cases := byName(suite(t))
	body := func(name string) []byte {
		t.Helper()
		c, ok := cases[name]
		if !ok {
			t.Fatalf("no case %s", name)
		}
		if c.Family != FamilyBoundary {
			t.Errorf("%s: family %s", name, c.Family)
		}
		return c.Callbacks[0].Body
	}
	for _, tc := range []struct {
		name, path string
		want       any
	}{
		{"boundary/record_done/duration/min/string", "duration", "0.0"},
		{"boundary/record_done/duration/min/number", "duration", json.Number("0")},
		{"boundary/record_done/fileSize/min/string", "fileSize", "0"},
		{"boundary/record_done/fileSize/min/number", "fileSize", json.Number("0")},
		{"boundary/record_done/fileSize/max/string", "fileSize", "9223372036854775807"},
		{"boundary/record_done/fileSize/max/number", "fileSize", json.Number("9223372036854775807")},
		{"boundary/task_record_done/fileSize/max/number", "fileSize", json.Number("9223372036854775807")},
		{"boundary/task_record_done/duration/min/number", "duration", json.Number("0")},
		{"boundary/record_done/zero-length", "duration", "0.0"},
		{"boundary/record_done/zero-length", "fileSize", "0"},
		{"boundary/task_record_done/all-min", "fileSize", "0"},
		{"boundary/publish_done/times/max/number", "eventTime", json.Number("9223372036854775807")},
		{"boundary/record_done/times/max/number", "endTime", json.Number("9223372036854775807")},
		{"boundary/task_record_done/times/max/string", "group.1.endTime", "9223372036854775807"},
		{"boundary/task_record_done/times/max/number", "group.1.endTime", json.Number("9223372036854775807")},
	} {
		if got := field(t, body(tc.name), tc.path); got != tc.want {
			t.Errorf("%s: %s = %#v, want %#v", tc.name, tc.path, got, tc.want)
		}
	}
	zero := body("boundary/record_done/zero-length")
	if b, e := field(t, zero, "beginTime"), field(t, zero, "endTime"); b != e {
		t.Errorf("zero-length: beginTime %v, endTime %v", b, e)
	}
	// Times at the top keep their order and their distances.
	top := body("boundary/record_done/times/max/number")
	b, _ := strconv.ParseInt(string(field(t, top, "beginTime").(json.Number)), 10, 64)
	c := cases["boundary/record_done/times/max/number"]
	if want := int64(9223372036854775807) - c.Stream.End.Sub(c.Stream.Start).Milliseconds(); b != want {
		t.Errorf("times at max: beginTime %d, want %d", b, want)
	}

	for _, tc := range []struct {
		name  string
		spans int
		each  time.Duration
		form  string
	}{
		{"boundary/task_record_done/group/1-span-each-10s/string", 1, 10 * time.Second, "string"},
		{"boundary/task_record_done/group/1-span-each-10s/number", 1, 10 * time.Second, "number"},
		{"boundary/task_record_done/group/10-spans-each-10s/string", 10, 10 * time.Second, "string"},
		{"boundary/task_record_done/group/10-spans-each-10s/number", 10, 10 * time.Second, "number"},
		{"boundary/task_record_done/group/1-span-8h-in-all/string", 1, 8 * time.Hour, "string"},
		{"boundary/task_record_done/group/10-spans-8h-in-all/number", 10, 48 * time.Minute, "number"},
	} {
		group, _ := field(t, body(tc.name), "group").([]any)
		if len(group) != tc.spans {
			t.Errorf("%s: %d spans", tc.name, len(group))
			continue
		}
		var total time.Duration
		last := int64(0)
		for i, it := range group {
			span := it.(map[string]any)
			var ms [2]int64
			for j, name := range []string{"beginTime", "endTime"} {
				v := span[name]
				digits, isString := v.(string)
				if !isString {
					digits = string(v.(json.Number))
				}
				if isString != (tc.form == "string") {
					t.Errorf("%s: span %d %s is %#v, want a JSON %s", tc.name, i, name, v, tc.form)
				}
				ms[j], _ = strconv.ParseInt(digits, 10, 64)
			}
			if d := time.Duration(ms[1]-ms[0]) * time.Millisecond; d != tc.each {
				t.Errorf("%s: span %d lasts %s, want %s", tc.name, i, d, tc.each)
			}
			if ms[0] < last {
				t.Errorf("%s: span %d starts before the one before it ends", tc.name, i)
			}
			last = ms[1]
			total += time.Duration(ms[1]-ms[0]) * time.Millisecond
		}
		if tc.each != 10*time.Second && total != 8*time.Hour {
			t.Errorf("%s: %s in all", tc.name, total)
		}
	}
}

// Identities are unique by construction: whatever the seed, no two cases
// share a stream (domain, app, name) or a taskExternalId, and every body a
// case sends is about the stream it says. Every body of a positive case is
// a valid callback of its kind.
func TestIdentitiesAreUniqueWhateverTheSeed(t *testing.T) {
	seeds := []uint64{0, 1, 7}
	for range 20 {
		seeds = append(seeds, rand.Uint64())
	}
	for _, seed := range seeds {
		cases, err := Suite(SuiteOptions{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		streams := map[event.Identity]string{}
		ids := map[string]string{}
		for _, c := range cases {
			for _, s := range c.Streams() {
				id := identity(s)
				if other, dup := streams[id]; dup {
					t.Errorf("seed %d: cases %s and %s share the stream %s", seed, other, c.Name, id)
				}
				streams[id] = c.Name
			}
			for _, id := range c.TaskExternalIDs() {
				if other, dup := ids[id]; dup {
					t.Errorf("seed %d: cases %s and %s share the taskExternalId %s", seed, other, c.Name, id)
				}
				ids[id] = c.Name
			}
			for i, cb := range c.Callbacks {
				if c.Negative && cb.Kind == "" {
					continue
				}
				ev, fs := event.Check(cb.Body, event.Options{})
				if fs.HasErrors() || ev == nil || ev.Kind != cb.Kind {
					t.Errorf("seed %d: case %s callback %d is not a valid %s: %v\n%s", seed, c.Name, i+1, cb.Kind, fs, cb.Body)
					continue
				}
				if got := ev.Identity(); got != identity(cb.Stream) {
					t.Errorf("seed %d: case %s callback %d is about %s, not %s", seed, c.Name, i+1, got, identity(cb.Stream))
				}
			}
		}
		if t.Failed() {
			return
		}
	}
}

// A family is data on the case, and the first segment of its name, for
// every case; every family is described.
func TestEveryCaseHasADescribedFamily(t *testing.T) {
	seen := map[Family]int{}
	for _, c := range suite(t) {
		fi, ok := FamilyOf(c.Family)
		if !ok || fi.Title == "" || fi.Rules == "" {
			t.Errorf("%s: family %q is not described", c.Name, c.Family)
		}
		if !strings.HasPrefix(c.Name, string(c.Family)+"/") {
			t.Errorf("%s: family %s", c.Name, c.Family)
		}
		if c.Negative != fi.Negative {
			t.Errorf("%s: negative %v in family %s", c.Name, c.Negative, c.Family)
		}
		seen[c.Family]++
	}
	for _, fi := range Families() {
		if seen[fi.Family] == 0 {
			t.Errorf("family %s has no case", fi.Family)
		}
	}
	cases := suite(t)
	if last := cases[len(cases)-1]; !last.Burst || len(last.Callbacks) != DefaultBurst {
		t.Errorf("the last case is %s with %d callbacks, want the burst of %d", last.Name, len(last.Callbacks), DefaultBurst)
	}
	noBurst, _ := Suite(SuiteOptions{Seed: 7, Burst: -1})
	if len(noBurst) != len(cases)-1 || slices.ContainsFunc(noBurst, func(c Case) bool { return c.Burst }) {
		t.Errorf("Burst -1 leaves %d of %d cases", len(noBurst), len(cases))
	}
	seven, _ := Suite(SuiteOptions{Seed: 7, Burst: 7})
	burst := seven[len(seven)-1]
	kinds := map[event.Kind]bool{}
	for _, cb := range burst.Callbacks {
		kinds[cb.Kind] = true
	}
	if len(burst.Callbacks) != 7 || len(burst.Streams()) != 7 || len(kinds) != len(event.Kinds()) {
		t.Errorf("a burst of 7: %d callbacks, %d streams, %d kinds", len(burst.Callbacks), len(burst.Streams()), len(kinds))
	}
}

// The reconnect cases use one stream name for two sessions, the second
// after the first (or, restarted, before the first one's end).
func TestReconnectCasesReuseTheirStream(t *testing.T) {
	cases := byName(suite(t))
	kindsOf := func(name string) string {
		c := cases[name]
		if c.Family != FamilyReconnect || len(c.Streams()) != 1 {
			t.Errorf("%s: family %s, %d streams", name, c.Family, len(c.Streams()))
		}
		return kindList(c.Kinds())
	}
	for name, want := range map[string]string{
		"reconnect/republish":                "publish_started, publish_done, publish_started, publish_done",
		"reconnect/restart-without-done":     "publish_started, publish_started, publish_done",
		"reconnect/records-of-both-sessions": "publish_started, publish_done, record_done, publish_started, publish_done, record_done",
	} {
		if got := kindsOf(name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	c := cases["reconnect/republish"]
	times := make([]int64, len(c.Callbacks))
	for i, cb := range c.Callbacks {
		ms, _ := strconv.ParseInt(string(field(t, cb.Body, "eventTime").(json.Number)), 10, 64)
		times[i] = ms
	}
	if !slices.IsSorted(times) || times[1] >= times[2] {
		t.Errorf("republish: event times %v are not two sessions one after the other", times)
	}
}

// A kind registered in the table brings its cases, and a value added to a
// field brings its own: nothing in this package names them.
func TestTableEntriesBringTheirCases(t *testing.T) {
	names := func() []string {
		cases, err := Suite(SuiteOptions{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cases {
			if strings.Contains(c.Name, string(eventtest.Kind)) {
				out = append(out, c.Name)
			}
		}
		return out
	}
	if got := names(); len(got) != 0 {
		t.Fatalf("before registering: %v", got)
	}
	want := []string{
		"sample/moderation_done", "drift/moderation_done/numbers-as-strings", "drift/moderation_done/strings-as-numbers",
		"enum/moderation_done/version/v1.1", "enum/moderation_done/status/success",
		"enum/moderation_done/verdict/pass", "enum/moderation_done/verdict/block",
		"boundary/moderation_done/score/min/string", "boundary/moderation_done/score/min/number",
		"boundary/moderation_done/zero-length",
		"unknown-fields/moderation_done", "duplicate/moderation_done", "big-numbers/int64/moderation_done",
	}
	t.Run("kind", func(t *testing.T) {
		// The test kind with a documented lower bound on its score.
		info := eventtest.KindInfo()
		info.Fields[7].Min = "0"
		defer event.RegisterFamily(eventtest.FamilyInfo())()
		defer event.Register(info)()
		got := names()
		for _, name := range want {
			if !slices.Contains(got, name) {
				t.Errorf("no case %s; the kind's cases:\n%s", name, strings.Join(got, "\n"))
			}
		}
	})
	t.Run("value", func(t *testing.T) {
		info := eventtest.KindInfo()
		if info.Fields[6].Name != "verdict" {
			t.Fatalf("field 6 of the test kind is %s", info.Fields[6].Name)
		}
		info.Fields[6].Enum = append(info.Fields[6].Enum, "review")
		info.Fields[5].Older = []string{"error"}
		defer event.RegisterFamily(eventtest.FamilyInfo())()
		defer event.Register(info)()
		got := names()
		for _, name := range []string{"enum/moderation_done/verdict/review", "enum/moderation_done/status/error"} {
			if !slices.Contains(got, name) {
				t.Errorf("no case %s", name)
			}
		}
		if slices.Contains(got, "boundary/moderation_done/score/min/string") {
			t.Error("the score has no Min here, yet its case is there")
		}
	})
	if got := names(); len(got) != 0 {
		t.Fatalf("after unregistering: %v", got)
	}
}

// Select by family prefix: the family is the first segment of the names.
func TestSelectAFamily(t *testing.T) {
	got := Select(suite(t), regexp.MustCompile(`^reconnect/`), nil, false)
	if len(got) != 3 {
		t.Errorf("%d reconnect cases", len(got))
	}
}
