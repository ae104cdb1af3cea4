package event

import (
	"encoding/json"
	"time"
)

// PublishDone: a stream stopped publishing.
const PublishDone Kind = "publish_done"

func init() {
	define(KindInfo{
		Kind: PublishDone, Family: FamilyStream,
		Description: "a stream stopped publishing (pushing streaming ended)",
		Event:       "publish_done",
		Fields: []Field{
			versionField(v11), fPublishDomain, fAppName, fStreamName, eventField("publish_done"), fStatus,
			millis("eventTime", "triggering time", true, TNumber),
		},
		KeyFields: []string{"eventTime"},
		Life:      Life{Phase: PhaseEnd, At: func(s Stream) time.Time { return s.End }},
		Values: func(s Stream, at time.Time) map[string]json.RawMessage {
			return map[string]json.RawMessage{"eventTime": msValue(at)}
		},
	})
}
