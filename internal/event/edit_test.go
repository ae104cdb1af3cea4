package event

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSetKeepsOtherBytes(t *testing.T) {
	body := []byte(`{"a":1.50,"taskExternalId":"163594946396839936","group":[{"beginTime":"1","endTime":"2"}],"z":"\u00e9"}`)
	tests := []struct {
		path, value, want string
	}{
		{"taskExternalId", "163594946396839937", `{"a":1.50,"taskExternalId":163594946396839937,"group":[{"beginTime":"1","endTime":"2"}],"z":"\u00e9"}`},
		{"group.0.endTime", `"3"`, `{"a":1.50,"taskExternalId":"163594946396839936","group":[{"beginTime":"1","endTime":"3"}],"z":"\u00e9"}`},
		{"/group/0/beginTime", `0`, `{"a":1.50,"taskExternalId":"163594946396839936","group":[{"beginTime":0,"endTime":"2"}],"z":"\u00e9"}`},
		{"group.1.beginTime", `"9"`, `{"a":1.50,"taskExternalId":"163594946396839936","group":[{"beginTime":"1","endTime":"2"},{"beginTime":"9"}],"z":"\u00e9"}`},
		{"new.field", `12345678901234567890`, `{"a":1.50,"taskExternalId":"163594946396839936","group":[{"beginTime":"1","endTime":"2"}],"z":"\u00e9","new":{"field":12345678901234567890}}`},
	}
	for _, tt := range tests {
		got, err := Set(body, tt.path, ParseValue(tt.value))
		if err != nil {
			t.Fatalf("Set(%s): %v", tt.path, err)
		}
		if string(got) != tt.want {
			t.Errorf("Set(%s):\n got %s\nwant %s", tt.path, got, tt.want)
		}
	}
}

func TestSetErrors(t *testing.T) {
	body := []byte(`{"a":"x","g":[1]}`)
	for path, want := range map[string]string{
		"a.b":   `path "a.b": "b" is inside a string, which has no fields`,
		"g.5":   `path "g.5": index "5" out of range: the array has 1 items (0 to 0)`,
		"a..b":  `path "a..b": empty segment: separate names with single dots, e.g. group.0.beginTime`,
		"g.x.y": `path "g.x.y": index "x" out of range: the array has 1 items (0 to 0)`,
		"":      `path "": empty path: name a field, e.g. streamName or group.0.beginTime`,
	} {
		_, err := Set(body, path, json.RawMessage(`1`))
		if err == nil || err.Error() != want {
			t.Errorf("Set(%q) error = %v, want %s", path, err, want)
		}
	}
	if _, err := Unset(body, "missing"); err == nil || err.Error() != `path "missing": no field "missing" to remove` {
		t.Errorf("Unset(missing) = %v", err)
	}
}

func TestParseValue(t *testing.T) {
	for in, want := range map[string]string{
		"163594946396839937": "163594946396839937",
		"cam-1":              `"cam-1"`,
		`{"a":"b"}`:          `{"a":"b"}`,
		"true":               "true",
		"":                   `""`,
		`"quoted"`:           `"quoted"`,
		"12 34":              `"12 34"`,
	} {
		if got := string(ParseValue(in)); got != want {
			t.Errorf("ParseValue(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestApplyOverrides(t *testing.T) {
	set, _ := ParseSet("taskExternalId=163594946396839937", false)
	str, _ := ParseSet("fileSize=6007851133", true)
	odd, _ := ParseSet("extra.flag=true", false)
	del, _ := ParseUnset("format")
	body, warnings, err := Apply(TaskRecordDone, Fixture(TaskRecordDone), []Override{set, str, odd, del})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := Decode(body)
	if ev.Number("taskExternalId") != "163594946396839937" || ev.Fields()["fileSize"] != "6007851133" || ev.Fields()["format"] != nil {
		t.Errorf("body %s", body)
	}
	if len(warnings) != 1 || warnings[0] != `--set extra.flag=true: "extra.flag" is not a field of task_record_done in the spec; sent anyway` {
		t.Errorf("warnings %q", warnings)
	}
	if _, err := ParseSet("noequals", false); err == nil {
		t.Error("ParseSet without = accepted")
	}
}

// A value typed on the command line reaches the body as typed: no HTML
// escaping of &, < and > (encoding/json would write \u0026), while what a
// terminal could be fooled by is still escaped.
func TestSetStringIsNotHTMLEscaped(t *testing.T) {
	o, err := ParseSet("downloadUrl=http://h/x.flv?x=1&y=2", true)
	if err != nil {
		t.Fatal(err)
	}
	if string(o.Value) != `"http://h/x.flv?x=1&y=2"` {
		t.Errorf("--set-string value %s", o.Value)
	}
	body, _, err := Apply(RecordDone, Fixture(RecordDone), []Override{o})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"downloadUrl":"http://h/x.flv?x=1&y=2"`) {
		t.Errorf("body %s", body)
	}
	for in, want := range map[string]string{"<b>&amp;": `"<b>&amp;"`, "a\u202eb": `"a\u202eb"`, "\x1b[2J": `"\u001b[2J"`} {
		if got := string(StringValue(in)); got != want {
			t.Errorf("StringValue(%q) = %s, want %s", in, got, want)
		}
	}
	// A new key is written the same way.
	body, err = Set([]byte(`{}`), "a&b", StringValue("<"))
	if err != nil || string(body) != `{"a&b":"<"}` {
		t.Errorf("Set new key: %s %v", body, err)
	}
}

// Members an edit does not touch keep their bytes, keys included: escapes
// in a key are not rewritten.
func TestSetKeepsKeysByteForByte(t *testing.T) {
	body := []byte(`{ "\u0061pp" : "x", "a\u0026b":1, "k\"q":[1, 2], "z":"\u00e9" }`)
	got, err := Set(body, "z", StringValue("y"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"\u0061pp":"x","a\u0026b":1,"k\"q":[1, 2],"z":"y"}`; string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The decoded key still finds its member.
	got, err = Set(body, "app", StringValue("live"))
	if err != nil || !strings.HasPrefix(string(got), `{"\u0061pp":"live",`) {
		t.Errorf("Set(app): %s %v", got, err)
	}
}
