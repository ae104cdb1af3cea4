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

// Fixture returns the sample body of k (its file in fixtures/), compacted;
// nil for an unknown kind.
func Fixture(k Kind) []byte {
	b, ok := table().fixtures[k]
	if !ok {
		return nil
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		panic(fmt.Sprintf("fixture %s is not JSON: %v", k, err)) // the table refuses such fixtures
	}
	return out.Bytes()
}

// FixtureText returns the sample body of k as written in its file (for
// people to read); nil for an unknown kind.
func FixtureText(k Kind) []byte {
	b, ok := table().fixtures[k]
	if !ok {
		return nil
	}
	return bytes.Clone(b)
}

// Sample returns a realistic body of kind k about stream s: the kind's
// fixture with the identity, times and links of s, as the service sends it
// at SentAt(k, s). Times are coherent: a snapshot and a quality problem
// fall inside the stream's lifetime, a record spans it.
func Sample(k Kind, s Stream) ([]byte, error) {
	info, ok := table().index[k]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q", k)
	}
	return sampleAt(info, s, info.Life.At(s))
}

// SampleAt is Sample of a callback the service sends at t (a snapshot taken
// at t, a quality problem that ends at t): what the kind's values depend on
// t for comes from t.
func SampleAt(k Kind, s Stream, t time.Time) ([]byte, error) {
	info, ok := table().index[k]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q", k)
	}
	return sampleAt(info, s, t.Truncate(time.Millisecond))
}

func sampleAt(info *KindInfo, s Stream, at time.Time) ([]byte, error) {
	body := Fixture(info.Kind)
	set := info.Values(s, at)
	set["publishDomain"] = StringValue(s.Domain)
	set["appName"] = StringValue(s.App)
	set["streamName"] = StringValue(s.Name)
	// Apply in the fixture's field order so the output is stable.
	var err error
	for _, f := range info.Fields {
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
		ms[i] = member{key: kv[0], val: StringValue(kv[1])}
	}
	return encodeObject(ms)
}
