package event

import (
	"testing"
	"time"
)

func TestShiftTimes(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		body  string
		delta time.Duration
		want  string
		paths []string
	}{
		{"number stays a number, other bytes kept", PublishStarted,
			`{"event":"publish_started","eventTime":1553741853968,"clientIp":"1.2.3.4","x":163594946396839936}`, 1000 * time.Millisecond,
			`{"event":"publish_started","eventTime":1553741854968,"clientIp":"1.2.3.4","x":163594946396839936}`, []string{"eventTime"}},
		{"string stays a string", PublishDone,
			`{"event":"publish_done","eventTime":"1553741853968"}`, -968 * time.Millisecond,
			`{"event":"publish_done","eventTime":"1553741853000"}`, []string{"eventTime"}},
		{"group spans and fractions", TaskRecordDone,
			`{"event":"record_done","group":[{"beginTime":"1553228747000","endTime":1553228747100.0}],"taskExternalId":"163594946396839936","fileSize":"96483721000000000000"}`,
			time.Hour,
			`{"event":"record_done","group":[{"beginTime":"1553232347000","endTime":1553232347100.0}],"taskExternalId":"163594946396839936","fileSize":"96483721000000000000"}`,
			[]string{"group.0.beginTime", "group.0.endTime"}},
		{"record times", RecordDone, `{"beginTime":10,"endTime":"20","duration":"18439.0"}`, 5 * time.Millisecond,
			`{"beginTime":15,"endTime":"25","duration":"18439.0"}`, []string{"beginTime", "endTime"}},
		{"not a number left alone", Snapshot, `{"snapshotTime":"soon"}`, time.Second, `{"snapshotTime":"soon"}`, nil},
		{"quality", Quality, `{"startTime":1000,"endTime":2000}`, time.Second, `{"startTime":2000,"endTime":3000}`, []string{"startTime", "endTime"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, paths, err := ShiftTimes(tt.kind, []byte(tt.body), tt.delta)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if len(paths) != len(tt.paths) {
				t.Fatalf("paths %v, want %v", paths, tt.paths)
			}
			for i := range paths {
				if paths[i] != tt.paths[i] {
					t.Errorf("paths %v, want %v", paths, tt.paths)
				}
			}
		})
	}
}

func TestShiftTimesKeepsUntouchedBodies(t *testing.T) {
	body := "{\n  \"event\": \"publish_done\",\n  \"streamName\": \"caf\u00e9\"\n}"
	got, paths, err := ShiftTimes(PublishDone, []byte(body), time.Hour)
	if err != nil || len(paths) != 0 || string(got) != body {
		t.Fatalf("body without times changed: %q %v %v", got, paths, err)
	}
}

func TestLatestTime(t *testing.T) {
	at, ok := LatestTime(TaskRecordDone, []byte(`{"group":[{"beginTime":"100","endTime":"300"},{"beginTime":"200","endTime":250}]}`))
	if !ok || at.UnixMilli() != 300 {
		t.Fatalf("LatestTime = %v %v", at.UnixMilli(), ok)
	}
	if _, ok := LatestTime(Snapshot, []byte(`{"streamName":"x"}`)); ok {
		t.Fatal("a body without times has no latest time")
	}
}
