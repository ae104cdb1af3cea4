package event

import (
	"slices"
	"testing"
)

// TestSealBindsKindBodyAndTable: a seal changes with the kind, with any
// byte of the body, and with what classifying reads of the table (an
// event or a marker more, kinds in another order), so that a record
// edited since, or made by a livecb that classified otherwise, no longer
// matches its seal; and it is never 0 (none).
func TestSealBindsKindBodyAndTable(t *testing.T) {
	body := string(Fixture(RecordDone))
	s := Seal(RecordDone, body)
	if s == 0 || s != Seal(RecordDone, body) {
		t.Fatalf("seal %d, then %d", s, Seal(RecordDone, body))
	}
	if Seal(PublishDone, body) == s {
		t.Error("another kind, the same seal")
	}
	for i := range body {
		b := []byte(body)
		b[i] ^= 0x20
		if Seal(RecordDone, string(b)) == s {
			t.Fatalf("byte %d changed, the same seal", i)
		}
	}
	kinds := table().kinds
	sum := classifierSum(kinds)
	if sum != table().classifier {
		t.Fatalf("the table's sum %d, summed again %d", table().classifier, sum)
	}
	marked := make([]*KindInfo, len(kinds))
	for i, k := range kinds {
		c := *k
		marked[i] = &c
	}
	marked[0].Markers = append(slices.Clone(marked[0].Markers), "newMarker")
	if classifierSum(marked) == sum {
		t.Error("a marker more, the same sum")
	}
	swapped := slices.Clone(kinds)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	if classifierSum(swapped) == sum {
		t.Error("kinds in another order, the same sum")
	}
}

// TestClassifyRulesArePinnedToTheirSum: what classify makes of bodies that
// exercise each of its rules (an event with and without a kind's markers,
// white space around it, markers without an event, none of them, an event
// of another type). A change to classify that fails this test changes how
// bodies are read: bump classifySum (seal.go), so that the seals of
// records written before no longer hold, then update the kinds here.
func TestClassifyRulesArePinnedToTheirSum(t *testing.T) {
	if classifySum != "livecb classify 1" {
		t.Fatalf("classifySum is %q: update this test's expectations to what classify now does, and its name here", classifySum)
	}
	for _, c := range []struct {
		body string
		want Kind
	}{
		{`{"event":"record_done"}`, RecordDone},
		{`{"event":" record_done\n"}`, RecordDone},
		{`{"event":"record_done","taskExternalId":"1"}`, TaskRecordDone},
		{`{"event":"record_done","group":[]}`, TaskRecordDone},
		{`{"event":"publish_started","snapshotTime":1}`, PublishStarted},
		{`{"event":"publish_done"}`, PublishDone},
		{`{"snapshotTime":1}`, Snapshot},
		{`{"module":"x"}`, Quality},
		{`{"module":"x","snapshotTime":1}`, Snapshot}, // (the first kind in the table's order)
		{`{"snapshotTime":1,"module":"x"}`, Snapshot},
		{`{"event":"snapshot","snapshotTime":1}`, ""},
		{`{"event":1,"snapshotTime":1}`, ""},
		{`{"streamName":"a"}`, ""},
	} {
		ev, err := Decode([]byte(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ev.classify(); got != c.want {
			t.Errorf("%s: classify says %q, pinned %q: classify reads bodies otherwise; bump classifySum in seal.go", c.body, got, c.want)
		}
	}
}
