package event

import (
	"encoding/json"
	"time"
)

// PublishStarted: a stream started publishing.
const PublishStarted Kind = "publish_started"

func init() {
	define(KindInfo{
		Kind: PublishStarted, Family: FamilyStream,
		Description: "a stream started publishing (pushing streaming began)",
		Event:       "publish_started",
		Fields: []Field{
			versionField(v11), fPublishDomain, fAppName, fStreamName, eventField("publish_started"), fStatus,
			// Optional: the record-task API and other revisions leave it out.
			str("clientIp", "IP address of the pushing client", false),
			millis("eventTime", "triggering time", true, TNumber),
			// Optional: empty and absent pushParams both happen.
			{Name: "pushParams", Type: TObject, Doc: "query parameters of the push URL (?a=aaa&b=bbb)"},
		},
		KeyFields: []string{"eventTime", "clientIp"},
		Life:      Life{Phase: PhaseStart, At: func(s Stream) time.Time { return s.Start }},
		Values: func(s Stream, at time.Time) map[string]json.RawMessage {
			v := map[string]json.RawMessage{"eventTime": msValue(at), "clientIp": StringValue(s.ClientIP)}
			if s.PushParams != nil {
				v["pushParams"] = pushParamsJSON(s.PushParams)
			}
			return v
		},
	})
}
