package event

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// fixture returns the fixture of k with edits applied (set path=JSON, or
// "-path" to remove).
func fixtureWith(t *testing.T, k Kind, edits ...string) []byte {
	t.Helper()
	b := Fixture(k)
	for _, e := range edits {
		var err error
		if strings.HasPrefix(e, "-") {
			b, err = Unset(b, e[1:])
		} else {
			path, val, _ := strings.Cut(e, "=")
			b, err = Set(b, path, json.RawMessage(val))
		}
		if err != nil {
			t.Fatalf("edit %s: %v", e, err)
		}
	}
	return b
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Kind
		err  string
	}{
		{"started", `{"event":"publish_started"}`, PublishStarted, ""},
		{"done", `{"event":"publish_done"}`, PublishDone, ""},
		{"padded event", `{"event":" publish_done "}`, PublishDone, ""},
		{"auto record", `{"event":"record_done","beginTime":1}`, RecordDone, ""},
		{"task record by group", `{"event":"record_done","group":[]}`, TaskRecordDone, ""},
		{"task record by id", `{"event":"record_done","taskExternalId":"1"}`, TaskRecordDone, ""},
		{"snapshot has no event", `{"snapshotTime":1}`, Snapshot, ""},
		{"quality has no event", `{"module":"BlackScreen","startTime":1}`, Quality, ""},
		{"markers of two kinds: the first in Kinds' order", `{"module":"BlackScreen","snapshotTime":1}`, Snapshot, ""},
		{"a task record with an event that is padded", `{"event":"record_done ","group":[]}`, TaskRecordDone, ""},
		{"unknown event", `{"event":"stream_paused"}`, "", `unknown event "stream_paused"`},
		{"event not a string", `{"event":3}`, "", `"event" is a JSON number`},
		{"nothing to go by", `{"streamName":"x"}`, "", `cannot tell which callback this is: no "event" (publish_started, publish_done, record_done), no "snapshotTime" (snapshot) and no "module" (quality detection)`},
		{"unknown event lists the table's", `{"event":"x"}`, "", `unknown event "x": expected publish_started, publish_done or record_done (snapshot and quality callbacks carry no "event")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Classify(ev.Fields())
			if got != tt.want {
				t.Errorf("kind = %q, want %q", got, tt.want)
			}
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("err = %v, want containing %q", err, tt.err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		code      Code
		line, col int
		msg       string
	}{
		{"empty", "", CodeEmpty, 0, 0, "empty"},
		{"white space only", " \n\t", CodeEmpty, 0, 0, "empty"},
		{"bom", "\xef\xbb\xbf{}", CodeBOM, 1, 1, "byte-order mark"},
		{"invalid utf8", "{\n \"a\": \"\xff\"}", CodeInvalidUTF8, 2, 8, "byte 9"},
		{"binary garbage", "\x00\x01\x02", CodeNotJSON, 1, 1, "invalid character"},
		{"trailing comma", "{\n  \"a\": 1,\n}", CodeNotJSON, 3, 1, "line 3, column 1"},
		{"truncated", `{"a": 1`, CodeNotJSON, 1, 8, "cut short"},
		{"array", `[{"event":"publish_done"}]`, CodeNotObject, 0, 0, "JSON array, not an object"},
		{"string", `"x"`, CodeNotObject, 0, 0, "JSON string"},
		{"two objects", "{}\n{}", CodeTrailingData, 2, 1, "after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, fs := Check([]byte(tt.body), Options{})
			if ev != nil {
				t.Fatalf("got an event for %q", tt.body)
			}
			if len(fs) != 1 {
				t.Fatalf("findings = %v, want one", fs)
			}
			f := fs[0]
			if f.Code != tt.code || f.Severity != Error || f.Line != tt.line || f.Column != tt.col || !strings.Contains(f.Message, tt.msg) {
				t.Errorf("got %+v, want code %s at %d:%d with %q", f, tt.code, tt.line, tt.col, tt.msg)
			}
		})
	}
}

// TestRules checks every validation rule: one edit of a valid fixture, and
// the exact finding it must produce (and no other).
func TestRules(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		edits []string
		want  []string // "severity path code"
	}{
		{"missing field", PublishDone, []string{"-eventTime"}, []string{"error /eventTime missing_field"}},
		{"eventTime not a number", PublishDone, []string{`eventTime="abc"`}, []string{"error /eventTime not_a_number"}},
		{"eventTime as string is drift", PublishDone, []string{`eventTime="1553741935867"`}, []string{"warning /eventTime type_drift"}},
		{"wrong type", PublishStarted, []string{`streamName=350802`}, []string{"error /streamName wrong_type"}},
		{"pushParams values are strings", PublishStarted, []string{`pushParams.a=1`}, []string{"error /pushParams/a wrong_type"}},
		{"empty pushParams is fine", PublishStarted, []string{`pushParams={}`}, nil},
		{"absent pushParams is fine", PublishStarted, []string{`-pushParams`}, nil},
		{"negative duration", RecordDone, []string{`duration="-5.0"`}, []string{"error /duration negative_value"}},
		{"negative size", RecordDone, []string{`fileSize="-1"`}, []string{"error /fileSize negative_value"}},
		{"size as number is drift", RecordDone, []string{`fileSize=6007851133`}, []string{"warning /fileSize type_drift"}},
		{"decimal size", RecordDone, []string{`fileSize="6007851133.0"`}, []string{"warning /fileSize decimal_string"}},
		{"duration as number is drift", RecordDone, []string{`duration=18439.0`}, []string{"warning /duration type_drift"}},
		{"end before begin", RecordDone, []string{`endTime=1553741853967`}, []string{"error /endTime time_order"}},
		{"relative url", RecordDone, []string{`downloadUrl="record/x.flv"`}, []string{"error /downloadUrl bad_url"}},
		{"ftp url", Snapshot, []string{`downloadUrl="ftp://h/x.jpg"`}, []string{"error /downloadUrl bad_url"}},
		{"url broken across lines", TaskRecordDone, []string{`downloadUrl="http://h/a\n    /b.mp4"`}, []string{"error /downloadUrl bad_url"}},
		{"padded url", RecordDone, []string{`downloadUrl="http://h/x.flv "`}, []string{"warning /downloadUrl padded_value"}},
		{"format outside values", RecordDone, []string{`format="avi"`}, []string{"error /format value_not_allowed"}},
		{"empty group", TaskRecordDone, []string{`group=[]`}, []string{"error /group group_empty"}},
		{"eleven spans", TaskRecordDone, []string{`group=` + spans(11)}, []string{"error /group group_too_long"}},
		{"ten spans", TaskRecordDone, []string{`group=` + spans(10)}, nil},
		{"span end before begin", TaskRecordDone, []string{`group.1.endTime="1553228747199"`}, []string{"error /group/1/endTime time_order"}},
		{"span times as numbers", TaskRecordDone, []string{`group.0.beginTime=1553228747000`}, []string{"warning /group/0/beginTime type_drift"}},
		{"span missing end", TaskRecordDone, []string{`-group.0.endTime`}, []string{"error /group/0/endTime missing_field"}},
		{"unknown field in span", TaskRecordDone, []string{`group.0.x=1`}, []string{"warning /group/0/x unknown_field"}},
		{"task id as number is drift", TaskRecordDone, []string{`taskExternalId=163594946396839937`}, []string{"warning /taskExternalId type_drift"}},
		{"task id as object", TaskRecordDone, []string{`taskExternalId={}`}, []string{"error /taskExternalId wrong_type"}},
		{"module outside values", Quality, []string{`module="Noise"`}, []string{"error /module value_not_allowed"}},
		{"type outside values", Quality, []string{`type="subtitle"`}, []string{"error /type value_not_allowed"}},
		{"quality end before start", Quality, []string{`endTime=1553741853000`}, []string{"error /endTime time_order"}},
		{"legacy record names", RecordDone, []string{`-beginTime`, `-endTime`, `startTime=1553741853968`, `stopTime=1553741935867`},
			[]string{"warning /startTime legacy_field", "warning /stopTime legacy_field"}},
		{"legacy names keep their checks", RecordDone, []string{`-beginTime`, `startTime="x"`},
			[]string{"error /startTime not_a_number", "warning /startTime legacy_field"}},
		{"vodTaskId", TaskRecordDone, []string{`-taskExternalId`, `vodTaskId="1"`}, []string{"warning /vodTaskId legacy_field"}},
		{"unknown field", Snapshot, []string{`snapshotId="abc"`}, []string{"warning /snapshotId unknown_field"}},
		{"padded stream name", PublishDone, []string{`streamName=" 350802"`}, []string{"warning /streamName padded_value"}},
		{"placeholder eventTime", PublishStarted, []string{`eventTime=12312312312`}, []string{"warning /eventTime implausible_timestamp"}},
		{"seconds not millis", PublishStarted, []string{`eventTime=1553741853`}, []string{"warning /eventTime implausible_timestamp"}},
		{"status fail", PublishDone, []string{`status="fail"`}, []string{"warning /status unexpected_status"}},
		{"version", Snapshot, []string{`version="v2.0"`}, []string{"warning /version unexpected_version"}},
		{"quality v1.1 is known too", Quality, []string{`version="v1.1"`}, nil},
		{"int64 sizes", RecordDone, []string{`fileSize="9223372036854775807"`}, nil},
		{"non-ASCII stream name", PublishStarted, []string{`streamName="直播-😀"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fixtureWith(t, tt.kind, tt.edits...)
			ev, fs := Check(body, Options{})
			if ev == nil || ev.Kind != tt.kind {
				t.Fatalf("classified as %v (%v), want %s", ev, fs, tt.kind)
			}
			var got []string
			for _, f := range fs {
				got = append(got, fmt.Sprintf("%s %s %s", f.Severity, f.Path, f.Code))
				if f.Message == "" {
					t.Errorf("finding %s has no message", f.Code)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s\nbody: %s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), body)
			}
		})
	}
}

func spans(n int) string {
	var s []string
	for i := 0; i < n; i++ {
		s = append(s, fmt.Sprintf(`{"beginTime":"%d","endTime":"%d"}`, 1553228747000+i*20000, 1553228757000+i*20000))
	}
	return "[" + strings.Join(s, ",") + "]"
}

func TestStrictMakesWarningsErrors(t *testing.T) {
	body := fixtureWith(t, Snapshot, `extra=1`)
	_, fs := Check(body, Options{})
	if fs.HasErrors() || len(fs) != 1 {
		t.Fatalf("lenient: %v", fs)
	}
	_, fs = Check(body, Options{Strict: true})
	if !fs.HasErrors() || fs[0].Code != CodeUnknownField {
		t.Fatalf("strict: %v", fs)
	}
}

func TestDecodeKeepsDigitsAndBytes(t *testing.T) {
	raw := []byte(`{"event":"record_done","taskExternalId":163594946396839937,"fileSize":12345678901234567890,"x":{"y":[1.50]}}`)
	ev, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.Number("taskExternalId"); got != "163594946396839937" {
		t.Errorf("taskExternalId = %s", got)
	}
	if got := ev.Number("fileSize"); got != "12345678901234567890" {
		t.Errorf("fileSize = %s", got)
	}
	if string(ev.Raw) != string(raw) {
		t.Error("raw bytes changed")
	}
	if _, ok := ev.Fields()["x"].(map[string]any); !ok {
		t.Error("unknown field x not kept")
	}
}

func TestSchemaIsValidJSONSchema(t *testing.T) {
	for _, k := range KindNames() {
		if _, err := compiledSchema(Kind(k)); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(SchemaJSON(Kind(k)), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["$id"] != SchemaBase+k+".json" {
			t.Errorf("%s: $schema/$id = %v %v", k, doc["$schema"], doc["$id"])
		}
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"record_done": RecordDone, "Record-Done": RecordDone, "task_record": TaskRecordDone, "quality_detection": Quality} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseKind("recrod_done")
	var uk *UnknownKindError
	if !errorsAs(err, &uk) || len(uk.Suggestions) == 0 || uk.Suggestions[0] != "record_done" {
		t.Fatalf("ParseKind(recrod_done) = %v", err)
	}
	if !strings.Contains(err.Error(), "did you mean record_done?") {
		t.Errorf("message %q", err)
	}
}
