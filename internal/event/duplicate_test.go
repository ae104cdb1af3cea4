package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// duplicatesStd finds the duplicated keys of b with encoding/json's
// tokenizer, independently of the parser: the JSON Pointers, sorted, each
// once.
func duplicatesStd(t *testing.T, b []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		obj   bool
		keys  map[string]bool
		key   string // the current key of an object
		index int    // the next index of an array
		want  bool   // an object expects a key next
	}
	var stack []*frame
	seen := map[string]bool{}
	path := func() []string {
		var toks []string
		for _, f := range stack[:len(stack)-1] {
			if f.obj {
				toks = append(toks, f.key)
			} else {
				toks = append(toks, strconv.Itoa(f.index-1))
			}
		}
		return toks
	}
	// valueStarts advances the parent when a value begins.
	valueStarts := func() {
		if len(stack) == 0 {
			return
		}
		if p := stack[len(stack)-1]; !p.obj {
			p.index++
		} else {
			p.want = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.want {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				k := tok.(string)
				top.key, top.want = k, false
				if top.keys[k] {
					stack = append(stack, &frame{}) // path() drops the last frame
					seen[pointer(path()...)] = true
					stack = stack[:len(stack)-1]
				}
				top.keys[k] = true
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			valueStarts()
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, want: true})
		case json.Delim('['):
			valueStarts()
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].want = true
			}
		default:
			valueStarts()
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func decodedDuplicates(t *testing.T, b []byte) []string {
	ev, err := Decode(b)
	if err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	got := slices.Clone(ev.Duplicates)
	slices.Sort(got)
	return got
}

func TestDuplicateKeysAreFound(t *testing.T) {
	cases := map[string][]string{
		`{"a":1,"b":2}`:                                   nil,
		`{"a":1,"a":2}`:                                   {"/a"},
		`{"a":1,"a":2,"a":3}`:                             {"/a"},
		`{"a":{"b":1,"b":2},"c":[{"d":1,"d":1}]}`:         {"/a/b", "/c/0/d"},
		`{"x":[1,2,{"y":{"a/b":1,"a/b":2,"~":1,"~":2}}]}`: {"/x/2/y/a~1b", "/x/2/y/~0"},
		`{"a":{"b":1},"a":{"b":2,"b":3}}`:                 {"/a", "/a/b"},
		`{"k":"\u0061","\u006b":1}`:                       {"/k"},
	}
	for body, want := range cases {
		got := decodedDuplicates(t, []byte(body))
		if !slices.Equal(got, want) {
			t.Errorf("%s: duplicates %q, want %q", body, got, want)
		}
		if std := duplicatesStd(t, []byte(body)); !slices.Equal(std, want) {
			t.Errorf("%s: the reference finds %q, want %q (the test's reference is wrong)", body, std, want)
		}
	}
}

func TestDuplicateFieldIsAWarningAtItsPath(t *testing.T) {
	body := bytes.Replace(Fixture(RecordDone), []byte(`{`), []byte(`{"streamName":"other",`), 1)
	ev, fs := Check(body, Options{})
	if ev == nil {
		t.Fatalf("not decoded: %v", fs)
	}
	var dup []Finding
	for _, f := range fs {
		if f.Code == CodeDuplicateField {
			dup = append(dup, f)
		}
	}
	if len(dup) != 1 || dup[0].Path != "/streamName" || dup[0].Severity != Warning {
		t.Fatalf("findings %v: want one duplicate_field warning at /streamName", fs)
	}
	if fs.HasErrors() {
		t.Errorf("a duplicate alone is a warning, not an error: %v", fs)
	}
	// The last value is the one read, as encoding/json reads it.
	var std map[string]any
	if err := json.Unmarshal(body, &std); err != nil {
		t.Fatal(err)
	}
	if ev.String("streamName") != std["streamName"] {
		t.Errorf("streamName %q, encoding/json reads %q", ev.String("streamName"), std["streamName"])
	}
	if _, fs := Check(body, Options{Strict: true}); !fs.HasErrors() {
		t.Errorf("--strict makes the duplicate an error: %v", fs)
	}
}

// A body that repeats keys as often as its size allows costs bounded
// memory and findings: the duplicates beyond the cap are counted.
func TestDuplicatesAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"event":"record_done"`)
	const n = 5000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `,"k%d":1,"k%d":2`, i, i)
	}
	b.WriteString("}")
	ev, err := Decode([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Duplicates) != maxDuplicates || ev.MoreDuplicates != n-maxDuplicates {
		t.Fatalf("%d duplicates kept and %d counted, want %d and %d", len(ev.Duplicates), ev.MoreDuplicates, maxDuplicates, n-maxDuplicates)
	}
}

// FuzzDuplicates: the parser finds exactly the duplicated keys
// encoding/json's tokenizer finds.
func FuzzDuplicates(f *testing.F) {
	f.Add([]byte(`{"a":1,"a":{"b":[{"c":1,"c":2}]}}`))
	f.Add([]byte(`[{"a":1},{"a":1,"a":1}]`))
	for _, k := range KindNames() {
		f.Add(Fixture(Kind(k)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return
		}
		_, dups, more, ok := fastDecode(b, string(b))
		if !ok || more > 0 {
			return
		}
		got := duplicatePointers(dups)
		slices.Sort(got)
		if _, stdOK := decodeStd(b); !stdOK {
			t.Fatalf("%q: fast accepts what encoding/json refuses", b)
		}
		if want := duplicatesStd(t, b); !slices.Equal(got, want) {
			t.Fatalf("%q: duplicates %q, encoding/json's tokens say %q", b, got, want)
		}
	})
}

// TestTopLevelNamesTwiceAnywhere: a body's top-level names are kept
// without a map, compared by a signature first (length, first and last
// byte) and, past maxSigs names, with a map. Names given twice are found
// wherever they are (among the first, past the window, one in it and one
// past it), names that share a signature are not taken for one another,
// and each name's value is its last, as encoding/json reads the body.
func TestTopLevelNamesTwiceAnywhere(t *testing.T) {
	names := func(n int) []string {
		var ns []string
		for i := range n {
			ns = append(ns, fmt.Sprintf("a%03dz", i)) // (one signature for all)
		}
		return ns
	}
	for _, c := range []struct {
		name  string
		keys  []string
		twice []string
	}{
		{"a dozen, none twice", names(12), nil},
		{"a dozen, the first twice", append(names(12), "a000z"), []string{"/a000z"}},
		{"a dozen, one next to itself", append(names(3), "a002z", "x"), []string{"/a002z"}},
		{"past the window, none twice", names(maxSigs + 40), nil},
		{"past the window, one twice past it", append(names(maxSigs+40), fmt.Sprintf("a%03dz", maxSigs+10)), []string{fmt.Sprintf("/a%03dz", maxSigs+10)}},
		{"one in the window, again past it", append(names(maxSigs+5), "a001z"), []string{"/a001z"}},
		{"the empty name twice", []string{"", "b", ""}, []string{"/"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("{")
			for i, k := range c.keys {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%q:%d", k, i)
			}
			b.WriteString("}")
			body := []byte(b.String())
			ev, err := Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			var std map[string]any
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&std); err != nil {
				t.Fatal(err)
			}
			got := ev.Fields()
			if len(got) != len(std) || len(ev.top) != len(std) {
				t.Fatalf("%d names kept (%d members), encoding/json reads %d", len(got), len(ev.top), len(std))
			}
			for k, v := range std {
				if fv, ok := ev.Field(k); !ok || fv != v || got[k] != v {
					t.Errorf("%q is %v (%v), encoding/json reads %v", k, fv, ok, v)
				}
			}
			if !slices.Equal(ev.Duplicates, c.twice) {
				t.Errorf("duplicates %v, want %v", ev.Duplicates, c.twice)
			}
		})
	}
}
