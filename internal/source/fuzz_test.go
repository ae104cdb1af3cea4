package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The seed corpora are in testdata/fuzz (captures, NDJSON, pretty JSON and
// HAR files, with limits below and above their records' sizes).

type fuzzRun struct {
	st    Stats
	items []Item
}

func fuzzRead(t *testing.T, in string, limit int64) fuzzRun {
	var r fuzzRun
	var err error
	r.st, err = Read("fuzz", strings.NewReader(in), Options{MaxRecord: limit}, func(it Item) error {
		r.items = append(r.items, it)
		return nil
	})
	if err != nil {
		t.Fatalf("Read of a string reader failed: %v", err)
	}
	return r
}

// checkItems holds for every input and limit: items come in file order with
// a positive line, nothing kept is over the limit, and an oversized record is
// located and keeps no body.
func checkItems(t *testing.T, r fuzzRun, limit int64) {
	t.Helper()
	if r.st.Items != len(r.items) {
		t.Fatalf("Stats.Items %d, %d items", r.st.Items, len(r.items))
	}
	last := 0
	for i, it := range r.items {
		if it.Line < 1 || it.Line < last {
			t.Fatalf("item %d at line %d after line %d", i, it.Line, last)
		}
		last = it.Line
		if int64(len(it.Body)) > limit {
			t.Fatalf("item %d: body of %d bytes kept with a limit of %d", i, len(it.Body), limit)
		}
		var tl *TooLargeError
		if errors.As(it.Broken, &tl) {
			if tl.Read <= limit || tl.Limit != limit || tl.Line != it.Line || it.Body != nil {
				t.Fatalf("item %d: %+v with body %q", i, tl, it.Body)
			}
		}
	}
}

// FuzzRead feeds arbitrary bytes to the reader with an arbitrary limit: it
// must never panic, and in line mode a limit changes nothing but the
// records over it.
func FuzzRead(f *testing.F) {
	f.Add("{\"a\":1}\n{\"b\":2", uint16(4))
	f.Add("{\n  \"a\": 1\n}\n", uint16(8))
	f.Add("{\"format\":\"livecb.capture.v1\",\"body\":\"/w==\",\"encoding\":\"base64\"}\n", uint16(100))
	f.Fuzz(func(t *testing.T, in string, limit uint16) {
		lim := int64(limit) + 1
		limited := fuzzRead(t, in, lim)
		checkItems(t, limited, lim)
		if limited.st.Format == FormatHAR {
			return
		}
		whole := fuzzRead(t, in, int64(len(in))+1)
		checkItems(t, whole, int64(len(in))+1)
		for _, it := range whole.items {
			if it.Broken != nil && errors.As(it.Broken, new(*TooLargeError)) {
				t.Fatalf("record over a limit larger than the input: %+v", it)
			}
		}
		if whole.st.Format == FormatJSON || limited.st.Format == FormatJSON {
			return // a document: a limit may turn it into one oversized record
		}
		// One item per non-blank line either way; those within the limit,
		// read the same way, are the same.
		if len(limited.items) != len(whole.items) {
			t.Fatalf("%d items with a limit of %d, %d without", len(limited.items), lim, len(whole.items))
		}
		for i, it := range limited.items {
			w := whole.items[i]
			if it.Line != w.Line {
				t.Fatalf("item %d at line %d with the limit, %d without", i, it.Line, w.Line)
			}
			if it.Broken == nil && it.Format == w.Format && (!bytes.Equal(it.Body, w.Body) || it.Truncated != w.Truncated) {
				t.Fatalf("item %d changed by the limit: %+v, without: %+v", i, it, w)
			}
		}
	})
}

// FuzzReadHAR feeds HAR-shaped input to the reader: besides never panicking,
// on a valid HAR within the limit it finds exactly the callbacks that
// encoding/json finds in the entries.
func FuzzReadHAR(f *testing.F) {
	f.Add(`{"log": {"entries": [{"request": {"method": "POST", "postData": {"text": "{}"}}}]}}`, uint16(1000))
	f.Add(`{"log": {"comment": "\"\\", "entries": [{"request": {"method": "POST", "postData": {"text": "/w==", "encoding": "base64"}}}, 1]}}`, uint16(20))
	f.Fuzz(func(t *testing.T, in string, limit uint16) {
		if !strings.HasPrefix(in, `{"log"`) {
			in = `{"log": {"entries": [` + in + `]}}`
		}
		lim := int64(limit) + 1
		r := fuzzRead(t, in, lim)
		checkItems(t, r, lim)
		if r.st.Format != FormatHAR {
			return
		}
		// The reference: encoding/json on the whole file, when it is valid
		// and holds each key once (a map keeps the last of duplicates;
		// the reader reads every one).
		if !json.Valid([]byte(in)) || strings.Count(in, `"log"`) != 1 || strings.Count(in, `"entries"`) != 1 || strings.Contains(in, `\u`) {
			return
		}
		var top map[string]json.RawMessage
		var log map[string]json.RawMessage
		var entries []json.RawMessage
		if json.Unmarshal([]byte(in), &top) != nil || json.Unmarshal(top["log"], &log) != nil || json.Unmarshal(log["entries"], &entries) != nil {
			return
		}
		var want []Item
		var undecodable []bool // the entry itself does not decode
		for _, raw := range entries {
			if int64(len(raw)) > lim {
				return // a limit that bites: not what is compared here
			}
			var e harEntry
			if err := json.Unmarshal(raw, &e); err != nil {
				want, undecodable = append(want, Item{Broken: err}), append(undecodable, true)
				continue
			}
			if it, ok := harItem("fuzz", 0, &e); ok {
				want, undecodable = append(want, it), append(undecodable, false)
			}
		}
		if len(r.items) != len(want) {
			t.Fatalf("%d items, encoding/json finds %d: %+v", len(r.items), len(want), r.items)
		}
		for i, w := range want {
			got := r.items[i]
			if (got.Broken == nil) != (w.Broken == nil) {
				t.Fatalf("item %d: %+v, encoding/json: %+v", i, got, w)
			}
			if !undecodable[i] && (!bytes.Equal(got.Body, w.Body) || got.ContentType != w.ContentType || got.Target != w.Target || !got.Time.Equal(w.Time)) {
				t.Fatalf("item %d: %+v, encoding/json: %+v", i, got, w)
			}
		}
	})
}
