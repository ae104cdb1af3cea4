package event

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The orders derived from the table are today's: Kinds by family, the
// stream order phase by phase.
func TestTableOrders(t *testing.T) {
	if got := strings.Join(KindNames(), " "); got != "publish_started publish_done record_done task_record_done snapshot quality" {
		t.Errorf("Kinds: %s", got)
	}
	order := StreamOrder()
	if got := strings.Join(kindStrings(order), " "); got != "publish_started snapshot quality publish_done record_done task_record_done" {
		t.Errorf("StreamOrder: %s", got)
	}
	if got := kindStrings(InPhase(PhaseEnd, PhaseStart)); !slices.Equal(got, []string{"publish_done", "publish_started"}) {
		t.Errorf("InPhase(end, start) = %v", got)
	}
	if got := strings.Join(familyStrings(), " "); got != "stream record snapshot quality" {
		t.Errorf("Families: %s", got)
	}
	if got := FamilyPaths(); len(got) != 4 || got[FamilyRecord] != "/record" {
		t.Errorf("FamilyPaths: %v", got)
	}
}

func kindStrings(ks []Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func familyStrings() []string {
	var out []string
	for _, f := range Families {
		out = append(out, string(f))
	}
	return out
}

// What the contract suite will read from the table: the documented values
// and bounds.
func TestTableCarriesDocumentedValues(t *testing.T) {
	field := func(k Kind, path ...string) Field {
		t.Helper()
		f := fieldAt(table().index[k].Fields, path)
		if f == nil {
			t.Fatalf("%s has no field %v", k, path)
		}
		return *f
	}
	if f := field(RecordDone, "format"); !slices.Equal(f.Enum, []string{"ts", "flv", "mp4"}) {
		t.Errorf("format %v", f.Enum)
	}
	if f := field(PublishDone, "status"); !slices.Equal(f.Expected, []string{"success"}) || !slices.Equal(f.Older, []string{"fail"}) {
		t.Errorf("status %v %v", f.Expected, f.Older)
	}
	if info, _ := Info(Quality); !slices.Equal(info.Versions, []string{"v1.0", "v1.1"}) {
		t.Errorf("quality versions %v", info.Versions)
	}
	if info, _ := Info(Snapshot); !slices.Equal(info.Versions, []string{"v1.1"}) {
		t.Errorf("snapshot versions %v", info.Versions)
	}
	if g := field(TaskRecordDone, "group"); g.MinItems != 1 || g.MaxItems != 10 {
		t.Errorf("group %d..%d", g.MinItems, g.MaxItems)
	}
	if iv := table().index[TaskRecordDone].Intervals[0]; iv.MinLength.Seconds() != 10 || iv.MaxTotal.Hours() != 8 || iv.In != "group" {
		t.Errorf("spans %+v", iv)
	}
	for _, name := range []string{"duration", "fileSize"} {
		if f := field(RecordDone, name); f.Min != "0" || !slices.Equal(f.Forms, []JSONType{TString, TNumber}) {
			t.Errorf("%s: min %q forms %v", name, f.Min, f.Forms)
		}
	}
	if f := field(TaskRecordDone, "group", "0", "beginTime"); f.Max != "9223372036854775807" || !slices.Equal(f.Forms, []JSONType{TString, TNumber}) {
		t.Errorf("span time: max %q forms %v", f.Max, f.Forms)
	}
	if f := field(PublishStarted, "eventTime"); f.Max != "9223372036854775807" || f.Required != true {
		t.Errorf("eventTime %+v", f)
	}
	if got := OptionalFields(PublishStarted); !slices.Equal(got, []string{"clientIp", "pushParams"}) {
		t.Errorf("optional %v", got)
	}
}

// The combined schema document accepts every fixture and nothing that is
// no callback, and says anyOf, as it is.
func TestSchemaDocument(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaDocumentJSON()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("callback.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("callback.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range KindNames() {
		ev, _ := Decode(Fixture(Kind(k)))
		if err := sch.Validate(ev.Fields()); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	ev, _ := Decode([]byte(`{"event":"publish_done"}`))
	if sch.Validate(ev.Fields()) == nil {
		t.Error("a body with nothing but an event passed")
	}
	m := SchemaDocument()
	if _, ok := m["anyOf"]; !ok || m["oneOf"] != nil || !strings.Contains(m["description"].(string), "anyOf") {
		t.Errorf("document keys: %v", m["description"])
	}
	if s := Schema(RecordDone); s["properties"].(map[string]any)["event"].(map[string]any)["pattern"] != `^\s*record_done\s*$` {
		t.Errorf("event pattern of record_done: %v", s["properties"])
	}
}
