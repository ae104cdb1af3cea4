package event

import (
	"encoding/json"
	"time"
)

// Snapshot: a snapshot of a stream was taken. Its body has no "event".
const Snapshot Kind = "snapshot"

func init() {
	define(KindInfo{
		Kind: Snapshot, Family: FamilySnapshot,
		Description: "a snapshot of a stream was taken (no \"event\" field)",
		Markers:     []string{"snapshotTime"},
		Fields: []Field{
			versionField(v11), fPublishDomain, fAppName, fStreamName,
			millis("snapshotTime", "snapshot file generating time", true, TNumber),
			fDownloadURL, fStatus,
		},
		KeyFields: []string{"snapshotTime"},
		Aliases:   []string{"snapshot_done"},
		// Sample's snapshot is taken half-way through the stream; a planned
		// stream has one at each interval instead.
		Life: Life{Phase: PhaseDuring, Repeats: true, At: func(s Stream) time.Time { return s.Start.Add(s.End.Sub(s.Start) / 2) }},
		Values: func(s Stream, at time.Time) map[string]json.RawMessage {
			return map[string]json.RawMessage{
				"snapshotTime": msValue(at),
				"downloadUrl":  StringValue(s.link("snapshot", stamp(at)+".jpg")),
			}
		},
	})
}
