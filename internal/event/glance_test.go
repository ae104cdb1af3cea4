package event

import "testing"

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
		if k, err := Classify(want.Fields); (err == nil && k != got.Kind) || (err != nil && got.Kind != "") {
			t.Fatalf("%q: kind %q, Classify of Decode's %q (%v)", raw, got.Kind, k, err)
		}
		if got.Identity != want.Identity() {
			t.Fatalf("%q: identity %v, Decode's %v", raw, got.Identity, want.Identity())
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
		if k, err := Classify(ev.Fields); err != nil || k != RecordDone {
			b.Fatal(err)
		}
	}
}
