package event

import (
	"fmt"
	"net/url"
	"time"
)

// Delays after a stream ends before the service reports its recordings: the
// files are closed and uploaded first. Plausible values; the spec gives none.
const (
	recordDelay     = 2 * time.Second
	taskRecordDelay = 4 * time.Second
)

// SentAt returns when the service sends the callback of kind k that Sample
// builds for s: publish_started when the stream starts, publish_done when it
// ends, records shortly after, a snapshot when it is taken, a quality
// detection when the problem ends. send's lifecycle orders and paces
// callbacks by it.
func SentAt(k Kind, s Stream) time.Time {
	life := s.End.Sub(s.Start)
	switch k {
	case PublishStarted:
		return s.Start
	case PublishDone:
		return s.End
	case RecordDone:
		return s.End.Add(recordDelay)
	case TaskRecordDone:
		return s.End.Add(taskRecordDelay)
	case Snapshot:
		return s.Start.Add(life / 2)
	case Quality:
		return s.Start.Add(life/4 + min(10*time.Second, life/4))
	}
	return s.End
}

// SnapshotAt returns a realistic snapshot of s taken at t (Sample takes it
// half-way through the stream).
func SnapshotAt(s Stream, t time.Time) ([]byte, error) {
	body, err := Sample(Snapshot, s)
	if err != nil {
		return nil, err
	}
	t = t.Truncate(time.Millisecond)
	link := fmt.Sprintf("http://s3.cn-north-1.jcloudcs.com/livecb-demo/snapshot/%s/%s/%s/%s/%s.jpg",
		s.Start.UTC().Format("20060102"), s.Domain, s.App, url.PathEscape(s.Name), t.UTC().Format("20060102150405"))
	if body, err = Set(body, "snapshotTime", []byte(ms(t))); err != nil {
		return nil, err
	}
	return Set(body, "downloadUrl", StringValue(link))
}
