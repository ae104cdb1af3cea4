package event

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheck feeds arbitrary bytes to decode + classify + validate. Check must
// never panic, never alter the bytes, always explain a rejection, and give
// the same answer twice. Seeds: every fixture plus the corpus committed in
// testdata/fuzz/FuzzCheck (crashers found earlier stay there for good).
func FuzzCheck(f *testing.F) {
	for _, k := range KindNames() {
		f.Add(Fixture(Kind(k)))
	}
	f.Add([]byte("\xef\xbb\xbf{}"))
	f.Add([]byte(`{"event":"record_done","group":[{"beginTime":"1e999","endTime":"-0"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		orig := bytes.Clone(raw)
		ev, fs := Check(raw, Options{})
		if !bytes.Equal(raw, orig) {
			t.Fatal("Check modified its input")
		}
		if ev == nil && len(fs) == 0 {
			t.Fatal("rejected without a finding")
		}
		if ev != nil && !bytes.Equal(ev.Raw, raw) {
			t.Fatal("Event.Raw differs from the input")
		}
		if ev != nil && !utf8.Valid(raw) {
			t.Fatal("an Event of invalid UTF-8: a listener keeps the body of any Event as text")
		}
		for _, f := range fs {
			if f.Code == "" || f.Message == "" || (f.Severity != Error && f.Severity != Warning) {
				t.Fatalf("incomplete finding %+v", f)
			}
			if f.Path != "" && !strings.HasPrefix(f.Path, "/") {
				t.Fatalf("path %q is not a JSON Pointer", f.Path)
			}
		}
		if ev != nil && ev.Kind != "" && !json.Valid(raw) {
			t.Fatal("classified invalid JSON")
		}
		if ev != nil && ev.Kind != "" {
			// The fast path and the schema library must agree.
			sch, err := compiledSchema(ev.Kind)
			if err != nil {
				t.Fatal(err)
			}
			if schemaOK := sch.Validate(ev.Fields()) == nil; schemaOK != conforms(ev.Kind, ev.Fields()) {
				t.Fatalf("schema says %v, fast path says %v for %s", schemaOK, !schemaOK, raw)
			}
		}
		_, again := Check(raw, Options{})
		if !reflect.DeepEqual(fs, again) {
			t.Fatalf("not deterministic:\n%v\n%v", fs, again)
		}
		// A body held in a string checks the same, sharing its bytes.
		sev, sfs := CheckString(string(raw), Options{})
		if !reflect.DeepEqual(sev, ev) || !reflect.DeepEqual(sfs, fs) {
			t.Fatalf("CheckString differs from Check:\n%#v %v\n%#v %v", sev, sfs, ev, fs)
		}
	})
}

// FuzzSet applies arbitrary --set paths and values to a fixture: no panic,
// and a successful edit yields valid JSON.
func FuzzSet(f *testing.F) {
	f.Add("group.1.endTime", `"1553228747300"`)
	f.Add("taskExternalId", "163594946396839937")
	f.Add("/a~1b/0", "{}")
	f.Add("group.10.x", "1")
	f.Fuzz(func(t *testing.T, path, value string) {
		o, err := ParseSet(path+"="+value, false)
		if err != nil {
			return
		}
		body, _, err := Apply(TaskRecordDone, Fixture(TaskRecordDone), []Override{o})
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("Set(%q, %q) produced invalid JSON: %s", path, value, body)
		}
	})
}

// FuzzPlainBytes: the word loop of plainBytes says what the table says of
// every byte.
func FuzzPlainBytes(f *testing.F) {
	f.Add("/jd-video-formal/record/x.flv?a=b#c")
	f.Add("/a b")
	f.Add("/\x7f\x80\xff%5B[]\\\x20\x21\x00/longer-than-eight")
	f.Fuzz(func(t *testing.T, s string) {
		// Every alignment of s within a word.
		for k := 0; k < len(s) && k < 8; k++ {
			if got, want := plainBytes(s[k:]), tablePlain(s[k:]); got != want {
				t.Fatalf("plainBytes(%q) = %v, the table says %v", s[k:], got, want)
			}
		}
	})
}

// TestPlainBytesEveryByteEverywhere: each byte value at each place of two
// words and a tail, among plain bytes, below and above it too.
func TestPlainBytesEveryByteEverywhere(t *testing.T) {
	for c := 0; c < 256; c++ {
		for at := 0; at < 19; at++ {
			for _, around := range []byte{'a', 0x80, 0xff, '~'} {
				b := bytes.Repeat([]byte{around}, 19)
				b[at] = byte(c)
				s := string(b)
				if got, want := plainBytes(s), tablePlain(s); got != want {
					t.Fatalf("plainBytes(%q) = %v, the table says %v", s, got, want)
				}
			}
		}
	}
}

func tablePlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !urlPlain[s[i]] {
			return false
		}
	}
	return true
}

// FuzzPlainHTTPURL: whatever the fast path accepts, url.Parse accepts as an
// absolute http(s) URL with a host, so skipping the parse changes no verdict.
func FuzzPlainHTTPURL(f *testing.F) {
	f.Add("http://s3.cn-north-1.jcloudcs.com/jd-video-formal/record/x.flv")
	f.Add("https://h/a?b=c#d")
	f.Add("http://h:80/x")
	f.Add("http://%zz/")
	f.Fuzz(func(t *testing.T, s string) {
		if !plainHTTPURL(s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("fast path accepted %q; url.Parse: %v %+v", s, err, u)
		}
	})
}
