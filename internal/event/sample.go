package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/livecb/livecb/fixtures"
)

// Stream is one broadcast: the identity and times that every callback about
// it shares, so that samples of different kinds are coherent with each other.
type Stream struct {
	Domain string
	App    string
	Name   string
	// PushParams are the query parameters of the push URL, in order; nil
	// keeps the fixture's.
	PushParams [][2]string
	ClientIP   string
	Start      time.Time
	End        time.Time
	// TaskExternalID is the record task's external id (18 digits, beyond 2^53).
	TaskExternalID string
}

// NewStream returns a fresh stream that ended at now: a new stream name, a
// plausible client IP, a lifetime of a few minutes. rnd makes it
// reproducible in tests; nil uses a random source.
func NewStream(now time.Time, rnd *rand.Rand) Stream {
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	length := time.Duration(60+rnd.IntN(540)) * time.Second
	return Stream{
		Domain: "push.yourdomain.com",
		App:    "live",
		Name:   fmt.Sprintf("livecb-%06d", rnd.IntN(1000000)),
		// 203.0.113.0/24 is TEST-NET-3 (RFC 5737): plausible, never routed.
		ClientIP:       fmt.Sprintf("203.0.113.%d", 1+rnd.IntN(254)),
		Start:          now.Add(-length).Truncate(time.Millisecond),
		End:            now.Truncate(time.Millisecond),
		TaskExternalID: strconv.FormatUint(1<<57+rnd.Uint64N(1<<58), 10),
	}
}

// ApplyPushURL sets the domain, app, stream name and push parameters from a
// push URL such as rtmp://push.example.com/live/350802?a=aaa&b=bbb, the way
// the service derives them: host, first path segment, the rest of the path,
// and the query.
func (s *Stream) ApplyPushURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("push URL %q: %v", raw, err)
	}
	if u.Host == "" {
		return fmt.Errorf("push URL %q has no host: write it as rtmp://DOMAIN/APP/STREAM?params", raw)
	}
	parts := strings.SplitN(strings.Trim(u.Path, "/"), "/", 2)
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("push URL %q needs an app and a stream name: rtmp://%s/APP/STREAM", raw, u.Host)
	}
	s.Domain = u.Hostname()
	s.App = parts[0]
	s.Name = parts[1]
	s.PushParams = [][2]string{}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		ku, err1 := url.QueryUnescape(k)
		vu, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("push URL %q: bad escape in query parameter %q", raw, kv)
		}
		s.PushParams = append(s.PushParams, [2]string{ku, vu})
	}
	return nil
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Fixture returns the embedded sample body of k, compacted.
func Fixture(k Kind) []byte {
	b, ok := fixtures.Body(string(k))
	if !ok {
		return nil
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		panic(fmt.Sprintf("fixture %s is not JSON: %v", k, err)) // the fixtures test forbids this
	}
	return out.Bytes()
}

// Sample returns a realistic body of kind k about stream s: the kind's
// fixture with the identity, times and links of s. Times are coherent: a
// snapshot and a quality problem fall inside the stream's lifetime, a
// record spans it.
func Sample(k Kind, s Stream) ([]byte, error) {
	body := Fixture(k)
	if body == nil {
		return nil, fmt.Errorf("unknown kind %q", k)
	}
	set := map[string]json.RawMessage{
		"publishDomain": StringValue(s.Domain),
		"appName":       StringValue(s.App),
		"streamName":    StringValue(s.Name),
	}
	life := s.End.Sub(s.Start)
	num := func(v string) json.RawMessage { return json.RawMessage(v) }
	day := s.Start.UTC().Format("20060102")
	// base is itself a format: the escapes of a non-ASCII name ("%E7...")
	// must not be read as verbs.
	base := fmt.Sprintf("http://s3.cn-north-1.jcloudcs.com/livecb-demo/%%s/%s/%s/%s/%s/", day, s.Domain, s.App,
		strings.ReplaceAll(url.PathEscape(s.Name), "%", "%%"))
	stamp := func(t time.Time) string { return t.UTC().Format("20060102150405") }
	// A plausible size: 2.5 Mbit/s of video, in bytes.
	size := func(d time.Duration) string { return strconv.FormatInt(int64(d.Seconds()*2.5e6/8), 10) }
	switch k {
	case PublishStarted:
		set["eventTime"] = num(ms(s.Start))
		set["clientIp"] = StringValue(s.ClientIP)
		if s.PushParams != nil {
			set["pushParams"] = pushParamsJSON(s.PushParams)
		}
	case PublishDone:
		set["eventTime"] = num(ms(s.End))
	case RecordDone:
		set["beginTime"] = num(ms(s.Start))
		set["endTime"] = num(ms(s.End))
		set["duration"] = StringValue(strconv.FormatInt(life.Milliseconds(), 10) + ".0")
		set["fileSize"] = StringValue(size(life))
		set["downloadUrl"] = StringValue(fmt.Sprintf(base, "record") + stamp(s.Start) + "_" + stamp(s.End) + ".flv")
	case TaskRecordDone:
		// Two spans inside the stream, each a third of it, with a gap.
		third := life / 3
		b1, e1 := s.Start, s.Start.Add(third)
		b2, e2 := s.End.Add(-third), s.End
		group := fmt.Sprintf(`[{"beginTime":"%s","endTime":"%s"},{"beginTime":"%s","endTime":"%s"}]`, ms(b1), ms(e1), ms(b2), ms(e2))
		set["group"] = json.RawMessage(group)
		set["duration"] = StringValue(strconv.FormatInt((2*third).Milliseconds(), 10) + ".0")
		set["fileSize"] = StringValue(size(2 * third))
		set["format"] = StringValue("mp4")
		set["downloadUrl"] = StringValue(fmt.Sprintf(base, "record") + stamp(b1) + "_" + stamp(e2) + ".mp4")
		if s.TaskExternalID != "" {
			set["taskExternalId"] = StringValue(s.TaskExternalID)
		}
	case Snapshot:
		at := s.Start.Add(life / 2)
		set["snapshotTime"] = num(ms(at))
		set["downloadUrl"] = StringValue(fmt.Sprintf(base, "snapshot") + stamp(at) + ".jpg")
	case Quality:
		set["startTime"] = num(ms(s.Start.Add(life / 4)))
		set["endTime"] = num(ms(s.Start.Add(life/4 + min(10*time.Second, life/4))))
	}
	// Apply in the fixture's field order so the output is stable.
	var err error
	for _, f := range kindIndex[k].Fields {
		if v, ok := set[f.Name]; ok {
			if body, err = Set(body, f.Name, v); err != nil {
				return nil, err
			}
		}
	}
	return body, nil
}

func pushParamsJSON(params [][2]string) json.RawMessage {
	ms := make([]member, len(params))
	for i, kv := range params {
		ms[i] = member{kv[0], StringValue(kv[1])}
	}
	return encodeObject(ms)
}
