package event

import (
	"encoding/json"
	"time"
)

// RecordDone: an automatic recording of a stream is ready.
const RecordDone Kind = "record_done"

// recordDelay is how long after a stream ends the service reports its
// automatic recording: the file is closed and uploaded first. A plausible
// value; the spec gives none.
const recordDelay = 2 * time.Second

func init() {
	define(KindInfo{
		Kind: RecordDone, Family: FamilyRecord,
		Description: "an automatic recording of a stream is ready for download",
		Event:       "record_done",
		Fields: []Field{
			versionField(v11), fPublishDomain, fAppName, fStreamName, fFormat, fDuration, fFileSize,
			millis("beginTime", "recording start time (the spec's table calls it startTime)", true, TNumber),
			millis("endTime", "recording end time (the spec's table calls it stopTime)", true, TNumber),
			eventField("record_done"), fDownloadURL, fStatus,
		},
		KeyFields: []string{"format", "duration", "fileSize", "beginTime", "endTime"},
		Intervals: []Interval{{Begin: "beginTime", End: "endTime"}},
		// The spec's table names them so; its sample and the service do not
		// (docs/spec.md, "Defects and contradictions", 2).
		Legacy:  map[string]string{"startTime": "beginTime", "stopTime": "endTime"},
		Aliases: []string{"record", "auto_record_done"},
		Life:    Life{Phase: PhaseAfter, At: func(s Stream) time.Time { return s.End.Add(recordDelay) }},
		// The recording spans the whole stream.
		Values: func(s Stream, _ time.Time) map[string]json.RawMessage {
			life := s.End.Sub(s.Start)
			return map[string]json.RawMessage{
				"beginTime":   msValue(s.Start),
				"endTime":     msValue(s.End),
				"duration":    durationValue(life),
				"fileSize":    StringValue(recordedSize(life)),
				"downloadUrl": StringValue(s.link("record", stamp(s.Start)+"_"+stamp(s.End)+".flv")),
			}
		},
	})
}
