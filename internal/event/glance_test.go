package event

import (
	"strconv"
	"testing"
)

// FuzzGlance: whatever the bytes, Glance fails where Decode fails, with
// the same words, and otherwise finds the kind Classify finds in Decode's
// tree and the same identity.
func FuzzGlance(f *testing.F) {
	for _, k := range KindNames() {
		f.Add(Fixture(Kind(k)))
	}
	for _, s := range []string{`{}`, `[]`, `{"event":1}`, `{"event":"record_done","event":"publish_done"}`,
		`{"a":{"event":"x"},"streamName":"s","b":[1,{"c":"\u00e9"}],"publishDomain":"d\"q"}`, `{"a":1e5,"b":-0.5E-3,"c":[true,false,null]}`,
		`{"a":01}`, `{"a":[1,]}`, `{"a":"\x"}`, `{"a":1} x`, "\xef\xbb\xbf{}", `{"a":[[[[[]]]]],"event":"publish_done"}`, ` { "event" : "snapshot" } `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, wantErr := Decode(raw)
		got, err := Glance(raw)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: Glance %v, Decode %v", raw, err, wantErr)
		}
		if err != nil {
			if err.Error() != wantErr.Error() {
				t.Fatalf("%q: Glance says %q, Decode %q", raw, err, wantErr)
			}
			return
		}
		if k, err := Classify(want.Fields()); (err == nil && k != got.Kind) || (err != nil && got.Kind != "") {
			t.Fatalf("%q: kind %q, Classify of Decode's %q (%v)", raw, got.Kind, k, err)
		}
		if got.Identity != want.Identity() {
			t.Fatalf("%q: identity %v, Decode's %v", raw, got.Identity, want.Identity())
		}
		if gs, err := GlanceString(string(raw)); err != nil || gs != got {
			t.Fatalf("%q: GlanceString %v (%v), Glance %v", raw, gs, err, got)
		}
	})
}

// BenchmarkGlance against BenchmarkDecodeClassify: a replay's look at each
// body, and what it did before.
func BenchmarkGlance(b *testing.B) {
	body := Fixture(RecordDone)
	b.ReportAllocs()
	for b.Loop() {
		if g, err := Glance(body); err != nil || g.Kind != RecordDone {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeClassify(b *testing.B) {
	body := Fixture(RecordDone)
	b.ReportAllocs()
	for b.Loop() {
		ev, err := Decode(body)
		if err != nil {
			b.Fatal(err)
		}
		if k, err := Classify(ev.Fields()); err != nil || k != RecordDone {
			b.Fatal(err)
		}
	}
}

// FuzzParseInt: parseInt reads what strconv.ParseInt reads, as it reads it.
func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "+7", "1796122411815", "999999999999999999", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "", "-", "+", "1.5", "1e3", " 1", "٣", "0x10", "1_000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := parseInt(s)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("%q: %d %v, strconv %d %v", s, got, ok, want, err)
		}
	})
}
