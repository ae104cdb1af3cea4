package redact

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestIsSecretName(t *testing.T) {
	secret := []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "auth_key",
		"txSecret", "access_token", "accessToken", "token", "password", "X-Signature", "sign", "HMACSig",
		"client_secret", "apikey", "SESSION_ID", "x-auth-token", "privateKey",
		// One case throughout: no word boundary to split at.
		"TXSECRET", "txsecret", "AUTH_KEY", "AuthKey", "AUTHKEY", "clientsecret", "REFRESHTOKEN", "dbpassword"}
	plain := []string{"streamName", "publishDomain", "appName", "eventTime", "downloadUrl", "taskExternalId",
		"keyframe", "monkey", "design", "signal", "Content-Type", "User-Agent", "a", "b", "txTime", "fileSize", "",
		"tokens_count", "HOCKEY", "turkey", "signals", "désign"}
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
		"/cb?auth%5Fkey=1-2-3&flag&sign=":      "/cb?auth%5Fkey=%5Bmasked%5D&flag&sign=",
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

// TestPairs: a secret-named name=value pair is masked wherever it starts,
// in a query, in a pushParams-style string inside JSON, in prose; by
// Query (a target), Body (valid JSON or not) and String alike.
func TestPairs(t *testing.T) {
	const m = "%5Bmasked%5D"
	for _, tc := range []struct{ name, query, want string }{
		{"first pair", "auth_key=abc&b=c", "auth_key=" + m + "&b=c"},
		{"last pair", "b=c&auth_key=abc", "b=c&auth_key=" + m},
		{"only pair", "auth_key=abc", "auth_key=" + m},
		{"repeated key", "auth_key=a&b=c&auth_key=b", "auth_key=" + m + "&b=c&auth_key=" + m},
		{"empty value kept empty", "auth_key=&b=c&token=", "auth_key=&b=c&token="},
		{"encoded name", "auth%5Fkey=abc&b=c", "auth%5Fkey=" + m + "&b=c"},
		{"encoded name, upper hex", "a=1&auth%5fkey=abc", "a=1&auth%5fkey=" + m},
		{"upper case", "AUTH_KEY=abc&TXSECRET=d&TxSecret=e&txsecret=f", "AUTH_KEY=" + m + "&TXSECRET=" + m + "&TxSecret=" + m + "&txsecret=" + m},
		{"semicolons", "a=1;token=2", "a=1;token=" + m},
		{"value with =", "sign=YWJj==&x=1", "sign=" + m + "&x=1"},
		{"pair in a value", "redirect=http://h/?token=abc&x=1", "redirect=http://h/?token=" + m + "&x=1"},
		{"pair in an encoded value", "redirect=http%3A%2F%2Fh%2F%3Ftoken%3Dabc%26x%3D1&y=2", "redirect=http%3A%2F%2Fh%2F%3Ftoken%3D" + m + "%26x%3D1&y=2"},
		{"encoded pairs, the secret second", "p=a%3D1%26sig%3Dabc", "p=a%3D1%26sig%3D" + m},
		{"encoded pairs, the secret first", "p=token%3Dx%26a%3Dy", "p=token%3D" + m + "%26a%3Dy"},
		{"already masked", "token=" + m, "token=" + m},
		{"no secret", "a=1&keyframe=2&b", "a=1&keyframe=2&b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Query(tc.query, Display); got != tc.want {
				t.Errorf("Query(%q) = %q, want %q", tc.query, got, tc.want)
			}
			if got := Target("/cb?"+tc.query, Display); got != "/cb?"+tc.want {
				t.Errorf("Target(/cb?%s) = %q, want /cb?%s", tc.query, got, tc.want)
			}
			if got := String("?"+tc.query, Display); got != "?"+tc.want {
				t.Errorf("String(?%s) = %q, want ?%s", tc.query, got, tc.want)
			}
			// A pushParams string: valid JSON, then cut short (not JSON).
			for _, body := range []string{`{"pushParams":"` + tc.query + `","n":1}`, `{"pushParams":"` + tc.query} {
				want := strings.Replace(body, tc.query, tc.want, 1)
				got, changed := Body([]byte(body), Display)
				if string(got) != want || changed != (tc.query != tc.want) {
					t.Errorf("Body(%s) = %s (changed %v), want %s", body, got, changed, want)
				}
			}
		})
	}
}

// TestString: free text keeps its prose and loses only its secrets.
func TestString(t *testing.T) {
	const m = "%5Bmasked%5D"
	for _, tc := range []struct{ name, in, want string }{
		{"unknown field named like a secret",
			`unknown field "password": not in the spec for publish_started (receivers must ignore fields they do not know)`,
			`unknown field "password": not in the spec for publish_started (receivers must ignore fields they do not know)`},
		{"padded value quoting a pair",
			`" auth_key=abc123 " is padded with white space; receivers comparing values exactly will miss it`,
			`" auth_key=` + m + ` " is padded with white space; receivers comparing values exactly will miss it`},
		{"padded value cut short",
			`" a=1&auth_key=1700000000-0-0-0123456789abcdef0123456789abc...`,
			`" a=1&auth_key=` + m},
		{"forwarding error",
			`forwarding to http://h/cb?token=abc&sig=def&x=1 failed: Post "http://h/cb?token=abc&sig=def&x=1": EOF; answered 502`,
			`forwarding to http://h/cb?token=` + m + `&sig=` + m + `&x=1 failed: Post "http://h/cb?token=` + m + `&sig=` + m + `&x=1": EOF; answered 502`},
		{"URL with a password",
			`Post "http://user:hunter2@127.0.0.1:8080/cb?a=1": connection refused`,
			`Post "http://user:` + m + `@127.0.0.1:8080/cb?a=1": connection refused`},
		{"URL with an @ in the password", `rtmp://u:p@ss@h/live`, `rtmp://u:` + m + `@h/live`},
		{"URL with a user only", `http://user@h/cb`, `http://user@h/cb`},
		{"JSON-escaped ampersand", `{"u":"http://h/r.mp4?a=1\u0026auth_key=abc\u0026b=2"}`, `{"u":"http://h/r.mp4?a=1\u0026auth_key=` + m + `\u0026b=2"}`},
		{"JSON member in an answer", `{"code":0,"token":"abc","n":1}`, `{"code":0,"token":"[masked]","n":1}`},
		{"JSON member, spaced", `answered {"secret" : "x y", "ok": true}`, `answered {"secret" : "[masked]", "ok": true}`},
		{"JSON member cut short", `{"code":1,"access_token":"eyJhbGciOi`, `{"code":1,"access_token":"[masked]"`},
		{"JSON member, number", `{"sign": 12345, "n": 2}`, `{"sign": "[masked]", "n": 2}`},
		{"JSON member, object", `{"secret": {"a": [1, {"b": "}"}]}, "n": 1}`, `{"secret": "[masked]", "n": 1}`},
		{"JSON member, name only", `field "token": required by the receiver`, `field "token": required by the receiver`},
		{"JSON member not secret", `{"keyframe":"abc","design":"x"}`, `{"keyframe":"abc","design":"x"}`},
		{"Bearer token", `401: invalid token for Bearer eyJhbGciOi.eyJzdWIi.sig`, `401: invalid token for Bearer [masked]`},
		{"bearer as a word", `a bearer token is required`, `a bearer token is required`},
		{"Authorization header inline", `-H 'Authorization: Basic dXNlcjpwYXNz'`, `-H 'Authorization: Basic [masked]'`},
		{"Authorization without a scheme", `Authorization: abc123`, `Authorization: [masked]`},
		{"secret header on its line", "HTTP/1.1 401\nX-Api-Key: abc def\r\nok: 1\n", "HTTP/1.1 401\nX-Api-Key: [masked]\r\nok: 1\n"},
		{"cookie header", "  Cookie: a=1; sid=2", "  Cookie: [masked]"},
		{"already masked", `Bearer [masked] and token=` + m + ` and {"token":"[masked]"}`, `Bearer [masked] and token=` + m + ` and {"token":"[masked]"}`},
		{"no secret", `publish_done answered 200 OK in 3ms (live/cam: a=1, "x": 2) http://h/p`, `publish_done answered 200 OK in 3ms (live/cam: a=1, "x": 2) http://h/p`},
		{"non-ASCII kept", `直播 "sign":"签名" é`, `直播 "sign":"[masked]" é`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := String(tc.in, Display); got != tc.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestStringDoesNotAllocateWithoutSecrets: most text printed has no
// secret; masking it costs no allocation.
func TestStringDoesNotAllocateWithoutSecrets(t *testing.T) {
	for _, s := range []string{
		`unknown field "password": not in the spec for publish_started (receivers must ignore fields they do not know)`,
		`publish_done answered 200 OK in 3ms -> http://127.0.0.1:8080/cb?a=1&b=&keyframe=2`,
		`{"streamName":"cam","n":1,"list":[{"a":"b"}]} Bearer abc`,
	} {
		if String(s, Display) != s {
			t.Fatalf("String(%q) changed it", s)
		}
		if n := testing.AllocsPerRun(100, func() { String(s, Display) }); n != 0 {
			t.Errorf("String(%q) allocates %v times", s, n)
		}
	}
}

func TestShow(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                           "plain",
		"http://h/cb?token=abc&x=\x1b[2J": `http://h/cb?token=%5Bmasked%5D&x=\x1b[2J`,
		// Masked before it is escaped: an escape inside a secret is masked
		// with it, not a place where the mask stops.
		"token=ab\x1bcd\u202eef x": `token=%5Bmasked%5D x`,
		"a\nb":                     `a\nb`,
	} {
		if got := Show(in); got != want {
			t.Errorf("Show(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzString: never panics; unchanged text is the same text; masking twice
// changes nothing more; a secret pair set apart by spaces never survives,
// whatever surrounds it.
func FuzzString(f *testing.F) {
	f.Add(`unknown field "password": not in the spec`, `x`)
	f.Add(`{"token":"a`, `"}`)
	f.Add(`http://u:p@h/?sig=1&`, "\nX-Api-Key: k")
	f.Add(`Authorization: Bearer `, `"\\`)
	f.Fuzz(func(t *testing.T, before, after string) {
		const secret = "S3CR3TVALUE"
		for _, s := range []string{before, after, before + after} {
			out := String(s, Stored)
			if again := String(out, Stored); again != out {
				t.Fatalf("masking %q twice differs: %q -> %q", s, out, again)
			}
		}
		if strings.Contains(before+after, secret) {
			return
		}
		s := before + " auth_key=" + secret + " " + after
		if out := String(s, Stored); strings.Contains(out, secret) {
			t.Fatalf("String(%q) = %q keeps the secret", s, out)
		}
	})
}

// TestHostileTextIsLinear: text built to make a naive scanner rescan what
// it read (unclosed strings and brackets, runs of "=", encoded separators,
// repeated keywords) is masked in one pass. Quadratic work on these 1 MiB
// would take hours, and the test would time out.
func TestHostileTextIsLinear(t *testing.T) {
	const n = 1 << 20
	for _, unit := range []string{
		`"\"`, `"token":[`, `"a": "b" `, `a=`, `a%3D`, `%5F`, `x://`, `://a:b@`, `Authorization:`, `Bearer  `, "Token:\n", `auth_key=`, `auth_keyauth_key`,
	} {
		s := strings.Repeat(unit, n/len(unit))
		String(s, Display)
		Text([]byte(s), Display)
		Query(s, Display)
	}
}
