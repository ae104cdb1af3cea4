package event

import (
	"reflect"
	"testing"
)

func TestNumericValuesExpandsSpansAndKeepsForms(t *testing.T) {
	body := []byte(`{"duration":"18439.0","fileSize":6007851133,"group":[{"beginTime":"1553228747000","endTime":1553228747100}],"downloadUrl":"http://x/y","taskExternalId":"163594946396839936"}`)
	var got []string
	for _, nv := range NumericValues(TaskRecordDone, body) {
		got = append(got, nv.Path+"="+nv.Digits()+map[bool]string{true: " (string)", false: ""}[nv.IsString()])
	}
	want := []string{"duration=18439.0 (string)", "fileSize=6007851133", "group.0.beginTime=1553228747000 (string)", "group.0.endTime=1553228747100"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NumericValues = %q, want %q", got, want)
	}
	if nv := NumericValues(Snapshot, []byte(`[1]`)); nv != nil {
		t.Errorf("a non-object has numeric values: %v", nv)
	}
	if got := OptionalFields(PublishStarted); !reflect.DeepEqual(got, []string{"clientIp", "pushParams"}) {
		t.Errorf("OptionalFields(publish_started) = %q", got)
	}
}
