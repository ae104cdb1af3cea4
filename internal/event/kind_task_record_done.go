package event

import (
	"encoding/json"
	"fmt"
	"time"
)

// TaskRecordDone: a record task's recording is ready; the spec's "point
// print" record, recognised by its group (or taskExternalId).
const TaskRecordDone Kind = "task_record_done"

// taskRecordDelay is how long after a stream ends the service reports a
// record task's recording (after the automatic one). Plausible; the spec
// gives none.
const taskRecordDelay = 4 * time.Second

func init() {
	define(KindInfo{
		Kind: TaskRecordDone, Family: FamilyRecord,
		Description: "a record task's recording (the spec's \"point print\" record) is ready",
		Event:       "record_done",
		Markers:     []string{"group", "taskExternalId"},
		Fields: []Field{
			versionField(v11), fPublishDomain, fAppName, fStreamName, fDuration, eventField("record_done"), fFileSize, fFormat, fStatus,
			// The record-task API takes 1 to 10 spans (docs/spec.md, "Record tasks").
			{Name: "group", Type: TArray, Required: true, Doc: "recorded time spans", MinItems: 1, MaxItems: 10, ItemName: "span",
				Items: []Field{
					millis("beginTime", "span start", true, TString, TNumber),
					millis("endTime", "span end", true, TString, TNumber),
				}},
			fDownloadURL,
			// Optional in the record-task API; beyond 2^53 in the spec's sample.
			{Name: "taskExternalId", Type: TString, ID: true, Doc: "the caller's own id given to the record task (the spec's table calls it vodTaskId); may exceed 2^53"},
		},
		KeyFields: []string{"format", "duration", "fileSize", "group", "taskExternalId"},
		Intervals: []Interval{{Begin: "beginTime", End: "endTime", In: "group", MinLength: 10 * time.Second, MaxTotal: 8 * time.Hour}},
		// docs/spec.md, "Defects and contradictions", 2 and 3.
		Legacy:  map[string]string{"startTime": "beginTime", "stopTime": "endTime", "vodTaskId": "taskExternalId"},
		Aliases: []string{"task_record", "point_print"},
		Life:    Life{Phase: PhaseAfter, Optional: true, At: func(s Stream) time.Time { return s.End.Add(taskRecordDelay) }},
		// Two spans inside the stream, each a third of it, with a gap.
		Values: func(s Stream, _ time.Time) map[string]json.RawMessage {
			third := s.End.Sub(s.Start) / 3
			b1, e1 := s.Start, s.Start.Add(third)
			b2, e2 := s.End.Add(-third), s.End
			v := map[string]json.RawMessage{
				"group":       json.RawMessage(fmt.Sprintf(`[{"beginTime":"%s","endTime":"%s"},{"beginTime":"%s","endTime":"%s"}]`, ms(b1), ms(e1), ms(b2), ms(e2))),
				"duration":    durationValue(2 * third),
				"fileSize":    StringValue(recordedSize(2 * third)),
				"format":      StringValue("mp4"),
				"downloadUrl": StringValue(s.link("record", stamp(b1)+"_"+stamp(e2)+".mp4")),
			}
			if s.TaskExternalID != "" {
				v["taskExternalId"] = StringValue(s.TaskExternalID)
			}
			return v
		},
	})
}
