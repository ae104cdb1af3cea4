package event

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// withUnknown returns the fixture of k with n unknown fields u00000, u00001, ...
// added at its end, in reverse order (so that the first ones by name come
// last in the body).
func withUnknown(k Kind, n int) []byte {
	body := Fixture(k)
	var b bytes.Buffer
	b.Write(body[:len(body)-1])
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, `,"u%05d":0`, i)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func TestFindingsAreCapped(t *testing.T) {
	body := withUnknown(PublishDone, 5000)
	// One error among the warnings: it must be kept whatever the cap.
	body, _ = Set(body, "eventTime", StringValue("soon"))
	_, fs := Check(body, Options{})
	if len(fs) != DefaultMaxFindings+1 {
		t.Fatalf("%d findings, want %d", len(fs), DefaultMaxFindings+1)
	}
	if fs[0].Path != "/eventTime" || fs[0].Code != CodeNotNumber {
		t.Errorf("first finding %v, want the error at /eventTime", fs[0])
	}
	for i, f := range fs[1:DefaultMaxFindings] {
		if want := fmt.Sprintf("/u%05d", i); f.Path != want || f.Code != CodeUnknownField {
			t.Fatalf("finding %d is %v, want the unknown field %s (the first ones by name)", i+1, f, want)
		}
	}
	last := fs[len(fs)-1]
	want := "4901 more findings not shown: 4901 unknown_field (at most 100 are reported per callback)"
	if last.Code != CodeFindingsTruncated || last.Severity != Warning || last.Path != "" || last.Message != want {
		t.Errorf("last finding %+v, want a warning %q", last, want)
	}

	// A smaller cap, and strict mode.
	_, fs = Check(body, Options{MaxFindings: 3, Strict: true})
	if len(fs) != 4 || fs[0].Code != CodeNotNumber || fs[1].Path != "/u00000" || fs[2].Path != "/u00001" {
		t.Fatalf("MaxFindings 3: %v", fs)
	}
	if fs[3].Severity != Error || fs[3].Message != "4998 more findings not shown: 4998 unknown_field (at most 3 are reported per callback)" {
		t.Errorf("truncation under --strict: %+v", fs[3])
	}

	// Within the cap, nothing is truncated.
	_, fs = Check(withUnknown(PublishDone, 100), Options{})
	if len(fs) != 100 || fs[99].Code != CodeUnknownField {
		t.Errorf("100 unknown fields: %d findings, last %v", len(fs), fs[len(fs)-1])
	}
}

// Errors found last (the time order is checked after every field) are
// kept before warnings found first; the truncation counts dropped errors
// as errors.
func TestFindingsCapKeepsErrors(t *testing.T) {
	body := withUnknown(RecordDone, 300)
	body, _ = Set(body, "endTime", []byte("1553741853000"))
	_, fs := Check(body, Options{MaxFindings: 5})
	var codes []string
	for _, f := range fs {
		codes = append(codes, string(f.Code))
	}
	if got := strings.Join(codes, " "); got != "time_order unknown_field unknown_field unknown_field unknown_field findings_truncated" {
		t.Fatalf("codes %s", got)
	}

	// More errors than the cap: the truncation finding is an error.
	many := Fixture(TaskRecordDone)
	many, _ = Set(many, "group", []byte("["+strings.Repeat(`{"beginTime":"x","endTime":"y"},`, 20)+`{"beginTime":"x","endTime":"y"}]`))
	_, fs = Check(many, Options{MaxFindings: 4})
	last := fs[len(fs)-1]
	if len(fs) != 5 || last.Code != CodeFindingsTruncated || last.Severity != Error || !strings.Contains(last.Message, "not_a_number") {
		t.Fatalf("findings %v", fs)
	}
}

// BenchmarkCheckManyUnknownFields is the hostile body of the hardening
// issue: a valid 1 MiB publish_done with about 95,000 unknown fields.
func BenchmarkCheckManyUnknownFields(b *testing.B) {
	body := withUnknown(PublishDone, 95_000)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, fs := Check(body, Options{}); len(fs) != DefaultMaxFindings+1 {
			b.Fatal(len(fs))
		}
	}
}
