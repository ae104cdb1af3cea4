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
