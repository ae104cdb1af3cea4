package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeStd is what fastDecode must agree with: encoding/json with
// UseNumber, one value, nothing but white space after it.
func decodeStd(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	if _, err := dec.Token(); err == nil || err.Error() != "EOF" {
		return nil, false
	}
	return v, true
}

func TestFastDecodeAgreesWithEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, `[]`, `{"a":1}`, ` {"a" : [1, -0.5e+3, true, false, null, "x"]} `,
		`{"a":"\u00e9\n\t\"\\\/\b\f\r"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud83d"}`, `{"a":"\ude00x"}`,
		`{"a":"\ud83d\u0041"}`, `{"a":"\ud83d\u00zz"}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`,
		`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":1E+}`, `{"a":+1}`,
		`{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`, `{"a":1}{}`, `{"a":1} x`, `"s"`, `12345678901234567890`,
		`{"a":tru}`, `{"a":nul}`, `{"a":1,"a":{"b":2}}`, `{"a":[{"b":[{}]}]}`, "", " ", `{"a":"é"}`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"a":` + strings.Repeat(`{"a":`, 9998) + `1` + strings.Repeat("}", 9999),
		// More members at once than the parser keeps in its own array
		// (32), nested, a name given twice across the boundary.
		manyMembers(30, manyMembers(40, `{"x":1}`)), manyMembers(70, `1`), `{"a":1,` + manyMembers(40, `2`)[1:],
	}
	for _, c := range cases {
		got, _, _, gotOK := fastDecode([]byte(c), c)
		want, wantOK := decodeStd([]byte(c))
		if gotOK != wantOK || !reflect.DeepEqual(got, want) {
			name := c
			if len(name) > 40 {
				name = name[:40] + "..."
			}
			t.Errorf("%q: fast %v %#v, encoding/json %v %#v", name, gotOK, got, wantOK, want)
		}
	}
}

// manyMembers is an object of n members named m0..m(n-1), each of value
// v, and a member "a" of value v at the end.
func manyMembers(n int, v string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `"m%d":%s,`, i, v)
	}
	b.WriteString(`"a":` + v + "}")
	return b.String()
}

// FuzzDecode: for any valid UTF-8 input, fastDecode accepts exactly what
// encoding/json accepts and builds the same values.
func FuzzDecode(f *testing.F) {
	for _, k := range KindNames() {
		f.Add(Fixture(Kind(k)))
	}
	f.Add([]byte(`{"a":"\ud83d\ude00\u00e9","b":[1e5,-0.0,{"c":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return // Decode rejects it before parsing
		}
		got, _, _, gotOK := fastDecode(b, string(b))
		want, wantOK := decodeStd(b)
		if gotOK != wantOK || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast %v %#v, encoding/json %v %#v", b, gotOK, got, wantOK, want)
		}
		// SkipValue accepts the same values, and ends each where it ends.
		s := string(b)
		start := len(s) - len(strings.TrimLeft(s, " \t\r\n"))
		end, ok := SkipValue(s, start)
		if ok && !json.Valid(b[start:end]) {
			t.Fatalf("%q: SkipValue took %q, which is not JSON", b, s[start:end])
		}
		if whole := ok && strings.Trim(s[end:], " \t\r\n") == ""; whole != wantOK {
			t.Fatalf("%q: SkipValue %v to %d, encoding/json %v", b, ok, end, wantOK)
		}
	})
}

// TestBoxedValuesOutliveTheParse: the values a body decodes to share one
// slab of string headers (parser.box); a value kept alone, its map and
// event dropped, collected and the memory reused, still holds its string.
func TestBoxedValuesOutliveTheParse(t *testing.T) {
	const n = 2000
	kept := make([]any, 0, 2*n)
	for i := range n {
		body := fmt.Sprintf(`{"a":"value %d","b":%d,"c":["x%d",%d.5],"d":{"e":"deep %d"}}`, i, i, i, i, i)
		v, _, _, ok := fastDecode([]byte(body), body)
		if !ok {
			t.Fatalf("%s did not decode", body)
		}
		m := v.(map[string]any)
		// Keep one string and one number of every body, nothing else.
		kept = append(kept, m["a"], m["c"].([]any)[1])
	}
	for range 3 {
		runtime.GC()
		garbage := make([][]byte, 0, 1000)
		for j := range 1000 {
			garbage = append(garbage, bytes.Repeat([]byte{byte(j)}, 64))
		}
		runtime.KeepAlive(garbage)
	}
	for i := range n {
		if s, ok := kept[2*i].(string); !ok || s != fmt.Sprintf("value %d", i) {
			t.Fatalf("body %d: the kept string is %#v", i, kept[2*i])
		}
		if num, ok := kept[2*i+1].(json.Number); !ok || num != json.Number(fmt.Sprintf("%d.5", i)) {
			t.Fatalf("body %d: the kept number is %#v", i, kept[2*i+1])
		}
	}
}
