package event

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"time"
)

// Fields that several kinds share, and helpers for the kinds' sample
// values. A kind's own fields are written in its kind_*.go file.

// maxInt64 is the largest value a receiver storing times and sizes in an
// int64 must take (docs/spec.md, "What a receiver must survive").
var maxInt64 = strconv.FormatInt(math.MaxInt64, 10)

// v1.1 is the message version of the spec livecb implements.
const v11 = "v1.1"

func str(name, doc string, required bool) Field {
	return Field{Name: name, Type: TString, Required: required, Doc: doc}
}

// millis is a millisecond timestamp. forms are the JSON forms it arrives
// in, the sample's first.
func millis(name, doc string, required bool, forms ...JSONType) Field {
	return Field{Name: name, Type: forms[0], Forms: forms, Numeric: true, Millis: true, NonNegative: true, Max: maxInt64,
		Unit: "ms since epoch", Required: required, Doc: doc}
}

// versionField is the message version; versions are the ones documented
// for the kind, the current revision's first.
func versionField(versions ...string) Field {
	return Field{Name: "version", Type: TString, Required: true, Doc: "message body version number",
		Expected: versions, Unexpected: CodeVersion}
}

// eventField names the kind (KindInfo.Event holds the same value).
func eventField(value string) Field {
	return Field{Name: "event", Type: TString, Required: true, Doc: "the event: " + strconv.Quote(value)}
}

var (
	fPublishDomain = str("publishDomain", "pushing streaming domain", true)
	fAppName       = str("appName", "application name", true)
	fStreamName    = str("streamName", "stream name", true)
	// status: the spec documents only "success"; an older revision also
	// had "fail" (docs/spec.md, "Defects and contradictions").
	fStatus = Field{Name: "status", Type: TString, Required: true, Doc: "status",
		Expected: []string{"success"}, Older: []string{"fail"}, Unexpected: CodeStatus}
	fDownloadURL = Field{Name: "downloadUrl", Type: TString, URL: true, Required: true, Doc: "download link of the file"}
	fFormat      = Field{Name: "format", Type: TString, Required: true, Enum: []string{"ts", "flv", "mp4"}, Doc: "recording format"}
	fDuration    = Field{Name: "duration", Type: TString, Forms: []JSONType{TString, TNumber}, Numeric: true, Decimal: true,
		NonNegative: true, Min: "0", Unit: "ms (the spec says so; its sample disagrees)", Required: true, Doc: "record file duration"}
	fFileSize = Field{Name: "fileSize", Type: TString, Forms: []JSONType{TString, TNumber}, Numeric: true, NonNegative: true,
		Min: "0", Max: maxInt64, Unit: "kb or bytes (revisions disagree)", Required: true, Doc: "file size"}
)

// msValue is t as a JSON number of milliseconds.
func msValue(t time.Time) json.RawMessage { return json.RawMessage(ms(t)) }

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// link is a plausible download URL of a file about s: the service's
// storage, then dir (record, snapshot), the stream's day, domain, app and
// name, and file.
func (s Stream) link(dir, file string) string {
	return "http://s3.cn-north-1.jcloudcs.com/livecb-demo/" + dir + "/" + s.Start.UTC().Format("20060102") + "/" +
		s.Domain + "/" + s.App + "/" + url.PathEscape(s.Name) + "/" + file
}

// stamp is t as the service writes it in file names.
func stamp(t time.Time) string { return t.UTC().Format("20060102150405") }

// recordedSize is a plausible file size of d of video at 2.5 Mbit/s, in bytes.
func recordedSize(d time.Duration) string { return strconv.FormatInt(int64(d.Seconds()*2.5e6/8), 10) }

// durationValue is d in milliseconds as the sample writes it ("18439.0").
func durationValue(d time.Duration) json.RawMessage {
	return StringValue(strconv.FormatInt(d.Milliseconds(), 10) + ".0")
}
