package jsonx

import "testing"

// benchBody is a callback's body as a listener captures it: a JSON object
// whose quotes, every few bytes, are what a capture line escapes.
const benchBody = `{"version":"v1.1","publishDomain":"push.yourdomain.com","appName":"live","streamName":"livecb-102495","format":"flv","duration":"598000.0","fileSize":"186875000","beginTime":1796637220112,"endTime":1796637818112,"event":"record_done","downloadUrl":"http://s3.cn-north-1.jcloudcs.com/livecb-demo/record/20261207/push.yourdomain.com/live/livecb-102495/20261207095340_20261207100338.flv","status":"success"}` + "\n"

// BenchmarkAppendStringBody is the escaping of a body into a capture
// record, the listener's largest string.
func BenchmarkAppendStringBody(b *testing.B) {
	b.SetBytes(int64(len(benchBody)))
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = AppendString(buf[:0], benchBody)
	}
}

// BenchmarkAppendUnescapedStringBody is the reverse, a replay's reading
// of the body from the capture line.
func BenchmarkAppendUnescapedStringBody(b *testing.B) {
	enc := String(benchBody)[1:] // (after the opening quote)
	b.SetBytes(int64(len(enc)))
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		var ok bool
		if buf, _, ok = AppendUnescapedString(buf[:0], enc); !ok {
			b.Fatal("refused")
		}
	}
}
