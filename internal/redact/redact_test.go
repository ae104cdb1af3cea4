package redact

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

func TestIsSecretName(t *testing.T) {
	secret := []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "auth_key",
		"txSecret", "access_token", "accessToken", "token", "password", "X-Signature", "sign", "HMACSig",
		"client_secret", "apikey", "SESSION_ID", "x-auth-token", "privateKey"}
	plain := []string{"streamName", "publishDomain", "appName", "eventTime", "downloadUrl", "taskExternalId",
		"keyframe", "monkey", "design", "signal", "Content-Type", "User-Agent", "a", "b", "txTime", "fileSize", ""}
	for _, n := range secret {
		if !IsSecretName(n) {
			t.Errorf("%q is not seen as secret", n)
		}
	}
	for _, n := range plain {
		if IsSecretName(n) {
			t.Errorf("%q is seen as secret", n)
		}
	}
}

func TestWords(t *testing.T) {
	for in, want := range map[string][]string{
		"txSecret":  {"tx", "secret"},
		"auth_key":  {"auth", "key"},
		"X-Api-Key": {"x", "api", "key"},
		"HMACSig":   {"hmac", "sig"},
		"a1b":       {"a", "b"},
		"":          nil,
	} {
		if got := words(in); !reflect.DeepEqual(got, want) {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeader(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer abc"}, "Cookie": {"a=1", "b=2"}, "Content-Type": {"application/json"}}
	got := Header(h, Display)
	want := http.Header{"Authorization": {Display}, "Cookie": {Display, Display}, "Content-Type": {"application/json"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Header = %v, want %v", got, want)
	}
	if h.Get("Authorization") != "Bearer abc" {
		t.Error("Header changed its argument")
	}
	if HeaderValue("X-Auth-Token", "t", "*") != "*" || HeaderValue("Accept", "t", "*") != "t" {
		t.Error("HeaderValue")
	}
}

func TestTarget(t *testing.T) {
	for in, want := range map[string]string{
		"/cb":                                  "/cb",
		"/cb?a=1&token=xyz&b=%20":              "/cb?a=1&token=%5Bmasked%5D&b=%20",
		"/cb?auth%5Fkey=1-2-3&flag&sign=":      "/cb?auth%5Fkey=%5Bmasked%5D&flag&sign=%5Bmasked%5D",
		"/live/cam?txSecret=s&txTime=5f&x=%zz": "/live/cam?txSecret=%5Bmasked%5D&txTime=5f&x=%zz",
		"/cb?":                                 "/cb?",
	} {
		if got := Target(in, Display); got != want {
			t.Errorf("Target(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"streamName":"cam","pushParams":{"a":"1","auth_key":"1700000000-0-0-abc"}}`,
			`{"streamName":"cam","pushParams":{"a":"1","auth_key":"[masked]"}}`},
		{"{\n  \"token\" :  12345678901234567890 ,\n  \"n\": 163594946396839936\n}",
			"{\n  \"token\" :  \"[masked]\" ,\n  \"n\": 163594946396839936\n}"},
		{`{"secret":{"a":[1,{"b":2}]},"list":[{"password":"p"},{"x":"y"}],"z":"\u0041"}`,
			`{"secret":"[masked]","list":[{"password":"[masked]"},{"x":"y"}],"z":"\u0041"}`},
		{`{"a":{"b":{"c":1}},"sig":null}`, `{"a":{"b":{"c":1}},"sig":"[masked]"}`},
		{`["token",{"token":"x"}]`, `["token",{"token":"[masked]"}]`},
	} {
		got, changed := JSON([]byte(tc.in), Display)
		if string(got) != tc.want || !changed {
			t.Errorf("JSON(%s) = %s (changed %v), want %s", tc.in, got, changed, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("JSON(%s) is not valid JSON: %s", tc.in, got)
		}
	}
	for _, in := range []string{`{"a":1}`, `not json {"token":"x"}`, `{"token":"x"`, ``} {
		got, changed := JSON([]byte(in), Display)
		if string(got) != in || changed {
			t.Errorf("JSON(%q) = %q, %v; want it unchanged", in, got, changed)
		}
	}
}

// FuzzJSON: masking never panics, keeps valid JSON valid, and leaves
// bodies without secret names byte for byte.
func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"pushParams":{"auth_key":"x","a":[1,2,{"token":null}]}}`))
	f.Add([]byte(`[{"secret":{}},"sign",{"k":{"password":[]}}]`))
	f.Add([]byte(`{"a":"b"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, changed := JSON(in, Stored)
		if !changed {
			if string(out) != string(in) {
				t.Fatalf("unchanged but different: %q -> %q", in, out)
			}
			return
		}
		if !json.Valid(in) || !json.Valid(out) {
			t.Fatalf("changed %q into invalid JSON %q", in, out)
		}
		// Masking is idempotent: masked values are the mask already.
		if again, _ := JSON(out, Stored); string(again) != string(out) {
			t.Fatalf("masking twice differs: %q -> %q", out, again)
		}
	})
}

func TestBody(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Valid JSON: field by field, and signed URLs inside values.
		{`{"downloadUrl":"http://cdn.example.com/r.mp4?auth_key=1-0-0-abc&x=1","n":1}`,
			`{"downloadUrl":"http://cdn.example.com/r.mp4?auth_key=%5Bmasked%5D&x=1","n":1}`},
		{`{"u":"a?token=ab\"cd"}`, `{"u":"a?token=%5Bmasked%5D\"cd"}`},
		// Not JSON: raw control characters, a cut body, a form.
		{"{\"streamName\":\"a\x1b\",\"pushParams\":{\"auth_key\":\"k\",\"a\":\"1\"}}",
			"{\"streamName\":\"a\x1b\",\"pushParams\":{\"auth_key\":\"[masked]\",\"a\":\"1\"}}"},
		{`{"token": "abc`, `{"token": "[masked]"`},
		{`{"secret": 12345, "b": 2`, `{"secret": "[masked]", "b": 2`},
		{"a=1&password=hunter2&b=2", "a=1&password=%5Bmasked%5D&b=2"},
	} {
		got, changed := Body([]byte(tc.in), Display)
		if string(got) != tc.want || !changed {
			t.Errorf("Body(%s) = %s (changed %v), want %s", tc.in, got, changed, tc.want)
		}
	}
	for _, in := range []string{`{"a":"b=c"}`, "plain text", "\xff\x00", `{"tokens_count":1,`} {
		if got, changed := Body([]byte(in), Display); string(got) != in || changed {
			t.Errorf("Body(%q) = %q, %v; want it unchanged", in, got, changed)
		}
	}
}

// FuzzBody: never panics; valid JSON stays valid JSON; unchanged means the
// same bytes; masking twice changes nothing more.
func FuzzBody(f *testing.F) {
	f.Add([]byte(`{"downloadUrl":"http://x/y?auth_key=1&a=2","token":"t"}`))
	f.Add([]byte("{\"auth_key\":\"k\x00\""))
	f.Add([]byte("a=1&sign=2"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, changed := Body(in, Stored)
		if !changed && string(out) != string(in) {
			t.Fatalf("unchanged but different: %q -> %q", in, out)
		}
		if json.Valid(in) && !json.Valid(out) {
			t.Fatalf("valid JSON %q masked into invalid %q", in, out)
		}
		if again, _ := Body(out, Stored); string(again) != string(out) {
			t.Fatalf("masking twice differs: %q -> %q", out, again)
		}
	})
}
