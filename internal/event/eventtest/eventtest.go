// Package eventtest registers a kind and a family of its own with the event
// model for the duration of a test, to show that everything derived from
// the kind table (classification, samples, schemas, validation, the stream
// order, the contract suite, `livecb events`) picks a new kind up without
// an edit anywhere else. For tests only.
package eventtest

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
)

// The test-only family and kind: a content-moderation verdict about a
// recorded stream, sent after the recordings.
const (
	Family event.Family = "moderation"
	Kind   event.Kind   = "moderation_done"
)

// Fixture is the kind's sample body.
const Fixture = `{
  "version": "v1.1",
  "publishDomain": "push.yourdomain.com",
  "appName": "live",
  "streamName": "350802",
  "event": "moderation_done",
  "status": "success",
  "verdict": "pass",
  "score": "0.97",
  "beginTime": 1553741853968,
  "endTime": 1553741935867
}
`

// Delay is how long after the stream ends the kind is sent.
const Delay = 6 * time.Second

// FamilyInfo is the family's table entry.
func FamilyInfo() event.FamilyInfo {
	return event.FamilyInfo{Family: Family, Path: "/moderation", Description: "moderation verdicts about a stream",
		Console: "moderation callback address"}
}

// KindInfo is the kind's table entry.
func KindInfo() event.KindInfo {
	millis := func(name string) event.Field {
		return event.Field{Name: name, Type: event.TNumber, Forms: []event.JSONType{event.TNumber}, Numeric: true, Millis: true,
			NonNegative: true, Unit: "ms since epoch", Required: true, Doc: name}
	}
	str := func(name string) event.Field {
		return event.Field{Name: name, Type: event.TString, Required: true, Doc: name}
	}
	return event.KindInfo{
		Kind: Kind, Family: Family,
		Description: "a moderation verdict about a stream is ready (test-only kind)",
		Event:       "moderation_done",
		Fields: []event.Field{
			{Name: "version", Type: event.TString, Required: true, Doc: "message body version number", Expected: []string{"v1.1"}, Unexpected: event.CodeVersion},
			str("publishDomain"), str("appName"), str("streamName"),
			{Name: "event", Type: event.TString, Required: true, Doc: `the event: "moderation_done"`},
			{Name: "status", Type: event.TString, Required: true, Doc: "status", Expected: []string{"success"}, Unexpected: event.CodeStatus},
			{Name: "verdict", Type: event.TString, Required: true, Enum: []string{"pass", "block"}, Doc: "the verdict"},
			{Name: "score", Type: event.TString, Forms: []event.JSONType{event.TString, event.TNumber}, Numeric: true, Decimal: true,
				NonNegative: true, Required: true, Doc: "confidence"},
			millis("beginTime"), millis("endTime"),
		},
		KeyFields: []string{"verdict", "score"},
		Intervals: []event.Interval{{Begin: "beginTime", End: "endTime"}},
		Aliases:   []string{"moderation"},
		Life:      event.Life{Phase: event.PhaseAfter, At: func(s event.Stream) time.Time { return s.End.Add(Delay) }},
		Values: func(s event.Stream, _ time.Time) map[string]json.RawMessage {
			return map[string]json.RawMessage{
				"beginTime": json.RawMessage(strconv.FormatInt(s.Start.UnixMilli(), 10)),
				"endTime":   json.RawMessage(strconv.FormatInt(s.End.UnixMilli(), 10)),
			}
		},
		Fixture: []byte(Fixture),
	}
}

// Register adds the family and the kind until the test ends. Tests that
// call it must not run in parallel with other tests of the process.
func Register(t testing.TB) {
	t.Helper()
	unregisterFamily := event.RegisterFamily(FamilyInfo())
	unregisterKind := event.Register(KindInfo())
	t.Cleanup(func() {
		unregisterKind()
		unregisterFamily()
	})
}
