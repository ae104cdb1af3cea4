package source

import (
	"os"
	"strings"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the reader: it must never panic, and
// every item must have a positive line number.
func FuzzRead(f *testing.F) {
	f.Add("{\"a\":1}\n{\"b\":2")
	f.Add("{\n \"log\": {\"entries\": [{\"request\": {\"method\": \"POST\", \"postData\": {\"text\": \"x\"}}}]}}")
	f.Add("{\"format\":\"livecb.capture.v1\",\"body\":\"/w==\",\"encoding\":\"base64\"}\n")
	if har, err := os.ReadFile("../../testdata/har/chrome-devtools.har"); err == nil {
		f.Add(string(har))
	}
	f.Fuzz(func(t *testing.T, in string) {
		Read("fuzz", strings.NewReader(in), func(it Item) error {
			if it.Line < 1 {
				t.Fatalf("line %d", it.Line)
			}
			return nil
		})
	})
}
