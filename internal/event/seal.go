package event

import (
	"hash/crc32"
	"unsafe"
)

// Seal binds a kind to the body Classify found it in: a CRC-32C of the
// kind, the body and what classifying reads of the kinds' table (their
// events and markers, in order, and classifySum's version). A capture
// record carries it beside its kind (capture.Record.KindSeal), so that a
// replay, which shows and routes each callback by its kind, takes the
// kind from the record instead of reading the body again, as long as the
// seal still holds: a body or a kind edited since, or a record made by a
// livecb that classified otherwise, no longer matches its seal, and is
// read again. (Reading each body again was a quarter of an unpaced
// replay's own work: bench/README.md.) A seal is never 0: 0 is none.
//
// A CRC is no signature: a record made up to match its seal on purpose
// could claim another kind for a body, which whoever made it could have
// had by writing that body.
func Seal(k Kind, body string) uint32 {
	c := crc32.Update(table().classifier, castagnoli, unsafe.Slice(unsafe.StringData(string(k)), len(k)))
	c = crc32.Update(c, castagnoli, []byte{0})
	c = crc32.Update(c, castagnoli, unsafe.Slice(unsafe.StringData(body), len(body)))
	return max(c, 1)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// classifySum is the version of classify's rules that Seal sums up with
// the table: change it whenever classify reads a body otherwise, so that
// the seals of records made before no longer hold.
const classifySum = "livecb classify 1"

// classifierSum sums up what classify reads of kinds (see Seal).
func classifierSum(kinds []*KindInfo) uint32 {
	h := crc32.New(castagnoli)
	h.Write([]byte(classifySum))
	for _, k := range kinds {
		h.Write([]byte{0})
		h.Write([]byte(k.Kind))
		h.Write([]byte{1})
		h.Write([]byte(k.Event))
		for _, m := range k.Markers {
			h.Write([]byte{2})
			h.Write([]byte(m))
		}
	}
	return h.Sum32()
}
