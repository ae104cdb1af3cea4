package event

import (
	"encoding/json"
	"time"
)

// Quality: a quality problem was detected in a stream (a newer revision of
// the spec). Its body has no "event".
const Quality Kind = "quality"

// qualityProblem is how long the sample's quality problem lasts in s: 10 s,
// or a quarter of a short stream.
func qualityProblem(s Stream) time.Duration { return min(10*time.Second, s.End.Sub(s.Start)/4) }

func init() {
	define(KindInfo{
		Kind: Quality, Family: FamilyQuality, Title: "quality detection",
		Description: "a quality problem was detected in a stream (newer revision, no \"event\" field)",
		Markers:     []string{"module"},
		Fields: []Field{
			fPublishDomain, fAppName, fStreamName,
			{Name: "module", Type: TString, Required: true, Enum: []string{"BlackScreen", "PureColor", "ColorCast", "FrozenFrame", "Brightness", "Contrast"}, Doc: "detection module"},
			{Name: "type", Type: TString, Required: true, Enum: []string{"video", "audio"}, Doc: "media type"},
			millis("startTime", "problem start time", true, TNumber),
			millis("endTime", "problem end time", true, TNumber),
			// The sample says v1.0 although the table says v1.1 (docs/spec.md,
			// "Defects and contradictions").
			versionField("v1.0", v11),
		},
		KeyFields: []string{"module", "type", "startTime", "endTime"},
		Intervals: []Interval{{Begin: "startTime", End: "endTime"}},
		Aliases:   []string{"quality_detect", "quality_detection"},
		// Sent when the problem ends: a quarter into the stream it starts.
		Life: Life{Phase: PhaseDuring, Optional: true, At: func(s Stream) time.Time {
			return s.Start.Add(s.End.Sub(s.Start)/4 + qualityProblem(s))
		}},
		Values: func(s Stream, at time.Time) map[string]json.RawMessage {
			return map[string]json.RawMessage{
				"startTime": msValue(at.Add(-qualityProblem(s))),
				"endTime":   msValue(at),
			}
		},
	})
}
