// Package event is livecb's one model of the live-video service's callbacks:
// the kinds, their fields, decoding that loses nothing, classification,
// validation (JSON Schema plus the rules a schema cannot express), editing of
// bodies without re-encoding what was not touched, and realistic samples.
//
// Every command (send, listen, replay, validate, the contract suite) goes
// through this package; nothing else in livecb knows field names.
package event

import (
	"fmt"

	"github.com/agnivade/levenshtein"
	"sort"
	"strings"
)

// Kind names one kind of callback. Its value is the shell-friendly name
// users type (`livecb send record_done`).
type Kind string

const (
	PublishStarted Kind = "publish_started"
	PublishDone    Kind = "publish_done"
	RecordDone     Kind = "record_done"      // automatic record
	TaskRecordDone Kind = "task_record_done" // the spec's "point print" record: group + taskExternalId
	Snapshot       Kind = "snapshot"
	Quality        Kind = "quality" // quality detection, newer revision
)

// Family is the callback family a kind belongs to. The service's console
// configures one URL per family and publish domain, each switched on or off.
type Family string

const (
	FamilyStream   Family = "stream"
	FamilyRecord   Family = "record"
	FamilySnapshot Family = "snapshot"
	FamilyQuality  Family = "quality"
)

// Families lists every family in the console's order.
var Families = []Family{FamilyStream, FamilyRecord, FamilySnapshot, FamilyQuality}

// KindInfo describes one kind: its family, a one-line description and its fields.
type KindInfo struct {
	Kind        Kind
	Family      Family
	Description string
	Fields      []Field
	// Versions are the message versions seen for this kind; the first is the
	// expected one.
	Versions []string
}

// JSONType is the JSON form a field's value takes in the spec's sample.
type JSONType string

const (
	TString JSONType = "string"
	TNumber JSONType = "number"
	TObject JSONType = "object"
	TArray  JSONType = "array"
)

// Field documents one field of a kind and drives the schema, the
// `events show` table and the rules in validate.go.
type Field struct {
	Name string
	// Type is the JSON type of the value in the spec's sample.
	Type JSONType
	// Numeric fields hold a number, either as a JSON number or as a string of
	// digits: the spec's revisions disagree (NOTES.md, defect 6). The form
	// that differs from the sample is accepted and reported as drift.
	Numeric bool
	// Decimal allows a fraction in the canonical form ("18439.0").
	Decimal bool
	// Millis marks a millisecond Unix timestamp.
	Millis bool
	// NonNegative values below zero are errors.
	NonNegative bool
	Unit        string
	Required    bool
	Doc         string
	Enum        []string
	// ID fields are identifiers: a string in the sample, sometimes a JSON
	// number from other producers (drift). Receivers must keep them as text:
	// ids beyond 2^53 lose digits in a float64.
	ID bool
	// URL fields must be absolute http(s) URLs.
	URL bool
	// Items describes the objects of an array field.
	Items []Field
}

// TypeName is the type as people read it in `events show`.
func (f Field) TypeName() string {
	switch {
	case f.ID:
		return "string (id)"
	case f.Numeric && f.Type == TString:
		if f.Decimal {
			return "decimal string"
		}
		return "integer string"
	case f.Numeric && f.Millis:
		return "integer"
	case f.Numeric:
		return "number"
	case f.Type == TObject:
		return "object of strings"
	case f.Type == TArray:
		return "array of objects"
	case len(f.Enum) > 0:
		return "string, one of " + strings.Join(f.Enum, "|")
	}
	return string(f.Type)
}

func str(name, doc string, required bool) Field {
	return Field{Name: name, Type: TString, Required: required, Doc: doc}
}

func millis(name, doc string, t JSONType, required bool) Field {
	return Field{Name: name, Type: t, Numeric: true, Millis: true, NonNegative: true, Unit: "ms since epoch", Required: required, Doc: doc}
}

var (
	fVersion       = str("version", "message body version number", true)
	fPublishDomain = str("publishDomain", "pushing streaming domain", true)
	fAppName       = str("appName", "application name", true)
	fStreamName    = str("streamName", "stream name", true)
	fEvent         = str("event", "event: publish_started, publish_done or record_done", true)
	fStatus        = str("status", "status; the spec documents only \"success\"", true)
	fDownloadURL   = Field{Name: "downloadUrl", Type: TString, URL: true, Required: true, Doc: "download link of the file"}
	fFormat        = Field{Name: "format", Type: TString, Required: true, Enum: []string{"ts", "flv", "mp4"}, Doc: "recording format"}
	fDuration      = Field{Name: "duration", Type: TString, Numeric: true, Decimal: true, NonNegative: true, Unit: "ms (the spec says so; its sample disagrees)", Required: true, Doc: "record file duration"}
	fFileSize      = Field{Name: "fileSize", Type: TString, Numeric: true, NonNegative: true, Unit: "kb or bytes (revisions disagree)", Required: true, Doc: "file size"}
)

var kinds = []KindInfo{
	{
		Kind: PublishStarted, Family: FamilyStream, Versions: []string{"v1.1"},
		Description: "a stream started publishing (pushing streaming began)",
		Fields: []Field{
			fVersion, fPublishDomain, fAppName, fStreamName, fEvent, fStatus,
			str("clientIp", "IP address of the pushing client", false),
			millis("eventTime", "triggering time", TNumber, true),
			{Name: "pushParams", Type: TObject, Doc: "query parameters of the push URL (?a=aaa&b=bbb)"},
		},
	},
	{
		Kind: PublishDone, Family: FamilyStream, Versions: []string{"v1.1"},
		Description: "a stream stopped publishing (pushing streaming ended)",
		Fields: []Field{
			fVersion, fPublishDomain, fAppName, fStreamName, fEvent, fStatus,
			millis("eventTime", "triggering time", TNumber, true),
		},
	},
	{
		Kind: RecordDone, Family: FamilyRecord, Versions: []string{"v1.1"},
		Description: "an automatic recording of a stream is ready for download",
		Fields: []Field{
			fVersion, fPublishDomain, fAppName, fStreamName, fFormat, fDuration, fFileSize,
			millis("beginTime", "recording start time (the spec's table calls it startTime)", TNumber, true),
			millis("endTime", "recording end time (the spec's table calls it stopTime)", TNumber, true),
			fEvent, fDownloadURL, fStatus,
		},
	},
	{
		Kind: TaskRecordDone, Family: FamilyRecord, Versions: []string{"v1.1"},
		Description: "a record task's recording (the spec's \"point print\" record) is ready",
		Fields: []Field{
			fVersion, fPublishDomain, fAppName, fStreamName, fDuration, fEvent, fFileSize, fFormat, fStatus,
			{Name: "group", Type: TArray, Required: true, Doc: "recorded time spans, 1 to 10", Items: []Field{
				millis("beginTime", "span start", TString, true),
				millis("endTime", "span end", TString, true),
			}},
			fDownloadURL,
			{Name: "taskExternalId", Type: TString, ID: true, Doc: "the caller's own id given to the record task (the spec's table calls it vodTaskId); may exceed 2^53"},
		},
	},
	{
		Kind: Snapshot, Family: FamilySnapshot, Versions: []string{"v1.1"},
		Description: "a snapshot of a stream was taken (no \"event\" field)",
		Fields: []Field{
			fVersion, fPublishDomain, fAppName, fStreamName,
			millis("snapshotTime", "snapshot file generating time", TNumber, true),
			fDownloadURL, fStatus,
		},
	},
	{
		Kind: Quality, Family: FamilyQuality, Versions: []string{"v1.0", "v1.1"},
		Description: "a quality problem was detected in a stream (newer revision, no \"event\" field)",
		Fields: []Field{
			fPublishDomain, fAppName, fStreamName,
			{Name: "module", Type: TString, Required: true, Enum: []string{"BlackScreen", "PureColor", "ColorCast", "FrozenFrame", "Brightness", "Contrast"}, Doc: "detection module"},
			{Name: "type", Type: TString, Required: true, Enum: []string{"video", "audio"}, Doc: "media type"},
			millis("startTime", "problem start time", TNumber, true),
			millis("endTime", "problem end time", TNumber, true),
			fVersion,
		},
	},
}

// legacyNames maps names from the spec's tables (which its samples contradict,
// NOTES.md defects 2 and 3) to the names the samples use.
var legacyNames = map[Kind]map[string]string{
	RecordDone:     {"startTime": "beginTime", "stopTime": "endTime"},
	TaskRecordDone: {"startTime": "beginTime", "stopTime": "endTime", "vodTaskId": "taskExternalId"},
}

var kindIndex = func() map[Kind]*KindInfo {
	m := make(map[Kind]*KindInfo, len(kinds))
	for i := range kinds {
		m[kinds[i].Kind] = &kinds[i]
	}
	return m
}()

// Kinds returns every kind in a stable order: stream, record, snapshot, quality.
func Kinds() []KindInfo { return append([]KindInfo(nil), kinds...) }

// KindNames returns the names of every kind.
func KindNames() []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k.Kind)
	}
	return names
}

// Info returns the description of k, or false when k is not a kind.
func Info(k Kind) (KindInfo, bool) {
	info, ok := kindIndex[k]
	if !ok {
		return KindInfo{}, false
	}
	return *info, true
}

// Family returns the family of k ("" for an unknown kind).
func (k Kind) Family() Family {
	if info, ok := kindIndex[k]; ok {
		return info.Family
	}
	return ""
}

// UnknownKindError is returned by ParseKind; it carries the closest names.
type UnknownKindError struct {
	Name        string
	Suggestions []string
}

func (e *UnknownKindError) Error() string {
	msg := fmt.Sprintf("unknown kind %q", e.Name)
	if len(e.Suggestions) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(e.Suggestions, " or "))
	}
	return msg + "\nkinds: " + strings.Join(KindNames(), ", ")
}

// aliases are other names people use for kinds (the spec's wording, the
// event value, the family name).
var aliases = map[string]Kind{
	"record":            RecordDone,
	"auto_record_done":  RecordDone,
	"task_record":       TaskRecordDone,
	"point_print":       TaskRecordDone,
	"snapshot_done":     Snapshot,
	"quality_detect":    Quality,
	"quality_detection": Quality,
}

// ParseKind turns a name typed by a user into a Kind. Dashes count as
// underscores and case is ignored; an unknown name yields an
// *UnknownKindError with suggestions.
func ParseKind(name string) (Kind, error) {
	norm := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "-", "_"))
	if _, ok := kindIndex[Kind(norm)]; ok {
		return Kind(norm), nil
	}
	if k, ok := aliases[norm]; ok {
		return k, nil
	}
	return "", &UnknownKindError{Name: name, Suggestions: suggest(norm)}
}

// suggest returns the kind names within a small edit distance of name, or
// that contain it.
func suggest(name string) []string {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	for _, k := range KindNames() {
		d := levenshtein.ComputeDistance(name, k)
		if d <= 3 || (len(name) >= 3 && strings.Contains(k, name)) {
			cs = append(cs, cand{k, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].dist < cs[j].dist })
	out := make([]string, 0, 2)
	for i := 0; i < len(cs) && i < 2; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// LegacyNames returns the spec table's names accepted for k's fields, mapped
// to the names the service sends.
func LegacyNames(k Kind) map[string]string {
	out := map[string]string{}
	for old, now := range legacyNames[k] {
		out[old] = now
	}
	return out
}
