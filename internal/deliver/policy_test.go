package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/wiretest"
)

// ok answers 200 (the wire receiver's usual answer).
var ok = wiretest.OK

// both delivers body to url once with a Client and once with a Poster
// under p, and returns their results.
func both(t *testing.T, p Policy, url string, body []byte) (client, poster Result) {
	t.Helper()
	client = NewClient(p).Do(context.Background(), Request{URL: url, Body: body}, nil)
	ps, err := NewPoster(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.CloseIdle()
	tgt, err := ps.Target(url)
	if err != nil {
		t.Fatal(err)
	}
	return client, ps.Post(context.Background(), tgt, body)
}

// posterDo delivers r once with a Poster's Do under p.
func posterDo(t *testing.T, p Policy, r Request) Result {
	t.Helper()
	ps, err := NewPoster(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.CloseIdle()
	return ps.Do(context.Background(), r)
}

// TestClientAndPosterWriteTheSameRequest: the same header, in the same
// order, and nothing else: no Accept-Encoding, no Go User-Agent. The
// Poster's Do, with a request's own content type and header, writes what
// the Client writes for the same request.
func TestClientAndPosterWriteTheSameRequest(t *testing.T) {
	s := wiretest.New(t, ok)
	host := strings.TrimPrefix(s.URL, "http://")
	for _, tc := range []struct {
		name   string
		policy Policy
		url    string
		want   string
		// A request's own content type and header: only Do takes them.
		ct     string
		header http.Header
	}{
		{"defaults", Policy{}, s.URL + "/cb?a=1&b=%2F",
			"POST /cb?a=1&b=%2F HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 7\r\nContent-Type: application/json\r\n\r\n{\"a\":1}", "", nil},
		{"agent and headers", Policy{UserAgent: "livecb/1.0", Header: http.Header{"X-Token": {"t"}, "Authorization": {"Bearer s"}, "X-A": {"1", "2"}}},
			s.URL + "/cb",
			"POST /cb HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: livecb/1.0\r\nContent-Length: 7\r\nAuthorization: Bearer s\r\nContent-Type: application/json\r\nX-A: 1\r\nX-A: 2\r\nX-Token: t\r\n\r\n{\"a\":1}", "", nil},
		{"overrides", Policy{UserAgent: "livecb/1.0", Header: http.Header{"Host": {"cb.example.com"}, "User-Agent": {"custom/2"}, "Content-Type": {"text/plain"}}},
			s.URL + "/x",
			"POST /x HTTP/1.1\r\nHost: cb.example.com\r\nUser-Agent: custom/2\r\nContent-Length: 7\r\nContent-Type: text/plain\r\n\r\n{\"a\":1}", "", nil},
		{"credentials in the URL", Policy{}, "http://user:pw@" + host + "/cb",
			"POST /cb HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 7\r\nAuthorization: Basic dXNlcjpwdw==\r\nContent-Type: application/json\r\n\r\n{\"a\":1}", "", nil},
		{"a record's content type", Policy{UserAgent: "livecb/1.0"}, s.URL + "/cb",
			"POST /cb HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: livecb/1.0\r\nContent-Length: 7\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{\"a\":1}",
			"application/json; charset=utf-8", nil},
		{"a policy's Content-Type over a record's", Policy{Header: http.Header{"Content-Type": {"text/plain"}}}, s.URL + "/cb",
			"POST /cb HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 7\r\nContent-Type: text/plain\r\n\r\n{\"a\":1}",
			"text/x-other", nil},
		{"a request's own header", Policy{UserAgent: "livecb/1.0", Header: http.Header{"X-A": {"policy"}, "X-B": {"b"}}}, s.URL + "/cb?q=1",
			"POST /cb?q=1 HTTP/1.1\r\nHost: own.example\r\nUser-Agent: own/1\r\nContent-Length: 7\r\nContent-Type: application/x-www-form-urlencoded\r\nX-A: mine\r\nX-B: b\r\nX-C: 1\r\nX-C: 2\r\n\r\n{\"a\":1}",
			"application/x-www-form-urlencoded", http.Header{"X-A": {"mine"}, "x-c": {"1", "2"}, "Host": {"own.example"}, "User-Agent": {"own/1"}, "Connection": {"close"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{URL: tc.url, Body: []byte(`{"a":1}`), ContentType: tc.ct, Header: tc.header}
			names, results := []string{"client", "poster", "poster's Do"}, []Result{}
			if tc.ct == "" && tc.header == nil {
				c, p := both(t, tc.policy, tc.url, req.Body)
				results = append(results, c, p)
			} else {
				names = []string{"client", "poster's Do"}
				results = append(results, NewClient(tc.policy).Do(context.Background(), req, nil))
			}
			results = append(results, posterDo(t, tc.policy, req))
			got := s.Take()
			if len(got) != len(results) {
				t.Fatalf("%d requests, want %d", len(got), len(results))
			}
			for i, r := range results {
				name := names[i]
				if r.Err != nil || !r.Matched || r.Status != 200 {
					t.Errorf("%s: status %d matched %v: %v", name, r.Status, r.Matched, r.Err)
				}
				if got[i] != tc.want {
					t.Errorf("%s wrote\n%q\nwant\n%q", name, got[i], tc.want)
				}
			}
		})
	}
}

// TestRedirectsAreFollowedAlikeByClientAndPoster: a 307 to the same host
// is followed by both (body and header again), a redirect to another host
// only with FollowRedirects, a 303 becomes a GET without the body.
func TestRedirectsAreFollowedAlikeByClientAndPoster(t *testing.T) {
	s, other := redirectingReceivers(t)
	host := strings.TrimPrefix(s.URL, "http://")
	policy := Policy{UserAgent: "livecb/1.0", Header: http.Header{"Authorization": {"Bearer s"}}}
	body := []byte(`{"a":1}`)
	second := func(t *testing.T, srv *wiretest.Receiver) []string {
		got := srv.Take()
		if len(got) != 2 {
			t.Fatalf("%d requests arrived, want 2 (one per path)", len(got))
		}
		return got
	}

	c, p := both(t, policy, s.URL+"/same", body)
	if c.Err != nil || p.Err != nil || c.Status != 200 || p.Status != 200 || !c.Matched || !p.Matched {
		t.Fatalf("307 to the same host: client %d %v, poster %d %v", c.Status, c.Err, p.Status, p.Err)
	}
	got := s.Take()
	want := "POST /final HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: livecb/1.0\r\nContent-Length: 7\r\nAuthorization: Bearer s\r\nContent-Type: application/json\r\n\r\n{\"a\":1}"
	if len(got) != 4 || got[1] != want || got[3] != want {
		t.Errorf("the redirected requests:\n%q\nwant twice\n%q", got, want)
	}

	c, p = both(t, policy, s.URL+"/see-other", body)
	if c.Err != nil || p.Err != nil || c.Status != 200 || p.Status != 200 {
		t.Fatalf("303: client %d %v, poster %d %v", c.Status, c.Err, p.Status, p.Err)
	}
	got = s.Take()
	want = "GET /final HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: livecb/1.0\r\nAuthorization: Bearer s\r\n\r\n"
	if len(got) != 4 || got[1] != want || got[3] != want {
		t.Errorf("after a 303:\n%q\nwant twice\n%q", got, want)
	}

	c, p = both(t, policy, s.URL+"/away", body)
	for name, r := range map[string]Result{"client": c, "poster": p} {
		var re *RedirectError
		if r.Cause != CauseRedirect || !errors.As(r.Err, &re) || re.Reason != errOtherHost || r.Status != 307 || r.Matched {
			t.Errorf("%s: a redirect to another host: status %d cause %q %v", name, r.Status, r.Cause, r.Err)
		}
	}
	if n := len(other.Take()); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	s.Take()

	follow := policy
	follow.FollowRedirects = true
	c, p = both(t, follow, s.URL+"/away", body)
	if c.Err != nil || p.Err != nil || !c.Matched || !p.Matched {
		t.Fatalf("followed to another host: client %v, poster %v", c.Err, p.Err)
	}
	// The credentials stay with the first host (127.0.0.1 either way here:
	// only the port differs, as net/http decides).
	otherHost := strings.TrimPrefix(other.URL, "http://")
	want = "POST /moved HTTP/1.1\r\nHost: " + otherHost + "\r\nUser-Agent: livecb/1.0\r\nContent-Length: 7\r\nAuthorization: Bearer s\r\nContent-Type: application/json\r\n\r\n{\"a\":1}"
	if got := second(t, other); got[0] != want || got[1] != want {
		t.Errorf("at the other host:\n%q\nwant twice\n%q", got, want)
	}
	s.Take()

	c, p = both(t, policy, s.URL+"/loop", body)
	for name, r := range map[string]Result{"client": c, "poster": p} {
		if r.Cause != CauseRedirect || !strings.Contains(r.Err.Error(), "stopped after 10 redirects") {
			t.Errorf("%s: a redirect loop: cause %q %v", name, r.Cause, r.Err)
		}
	}
	if n := len(s.Take()); n != 22 {
		t.Errorf("%d requests for two redirect loops, want 22", n)
	}

	c, p = both(t, policy, s.URL+"/nowhere", body)
	if c.Err != nil || p.Err != nil || c.Status != 307 || p.Status != 307 || c.Matched || p.Matched {
		t.Errorf("a 307 without Location is the answer: client %d %v, poster %d %v", c.Status, c.Err, p.Status, p.Err)
	}
}

// TestMaxResponse: the same bound on both paths, announced or counted.
func TestMaxResponse(t *testing.T) {
	s := sizedReceiver(t)
	p := Policy{MaxResponse: 1000}
	for _, tc := range []struct {
		path    string
		tooMuch bool
	}{{"/1000", false}, {"/1001", true}, {"/-1000", false}, {"/-1001", true}, {"/0", false}} {
		c, ps := both(t, p, s.URL+tc.path, nil)
		for name, r := range map[string]Result{"client": c, "poster": ps} {
			var tl *TooLargeError
			if tc.tooMuch != (r.Cause == CauseTooLarge && errors.As(r.Err, &tl)) || tc.tooMuch == r.Matched {
				t.Errorf("%s %s: cause %q matched %v %v", name, tc.path, r.Cause, r.Matched, r.Err)
			}
		}
		if !tc.tooMuch && len(c.Excerpt) != min(ExcerptSize, 1000) && tc.path != "/0" {
			t.Errorf("%s: excerpt of %d bytes", tc.path, len(c.Excerpt))
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, good := range []string{"http://127.0.0.1:8080/cb", "https://cb.example.com/x?y=1", "http://[::1]:9/", "http://h"} {
		if err := CheckURL(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for bad, reason := range map[string]string{
		"ftp://x/y": "scheme ftp", "localhost:3000/cb": "scheme localhost", "/cb": "no scheme", "http://": "no host",
		"http://:8080/cb": "no host", "http://h:0/": "port 0", "http://h:70000/": "port 70000",
		"http://h/cb?x=\x01": "invalid control character", "http://exämple.com/": "ASCII", "http:opaque": "no host",
	} {
		err := CheckURL(bad)
		var ue *URLError
		if !errors.As(err, &ue) || ue.URL != bad || !strings.Contains(ue.Reason, reason) ||
			!strings.Contains(err.Error(), "write it as http://host:port/path") {
			t.Errorf("%q: %v, want a URLError saying %q", bad, err, reason)
		}
	}
}

func TestPolicyCheckNamesTheSetting(t *testing.T) {
	for _, tc := range []struct {
		p       Policy
		setting string
	}{
		{Policy{Timeout: -time.Second}, SettingTimeout},
		{Policy{Retries: -1}, SettingRetries},
		{Policy{Retries: MaxRetries + 1}, SettingRetries},
		{Policy{Backoff: -1}, SettingBackoff},
		{Policy{MaxResponse: -1}, SettingMaxResponse},
		{Policy{UserAgent: "a\r\nX-Evil: 1"}, SettingUserAgent},
		{Policy{Header: http.Header{"Content-Length": {"5"}}}, SettingHeader},
		{Policy{Header: http.Header{"Transfer-Encoding": {"chunked"}}}, SettingHeader},
		{Policy{Header: http.Header{"Bad Name": {"x"}}}, SettingHeader},
		{Policy{Header: http.Header{"X-A": {"a\nb"}}}, SettingHeader},
		{Policy{Header: http.Header{"Host": {"a", "b"}}}, SettingHeader},
		{Policy{Header: http.Header{"Host": {"not a host"}}}, SettingHeader},
	} {
		err := tc.p.Check()
		var se *SettingError
		if !errors.As(err, &se) || se.Setting != tc.setting || se.Reason == "" {
			t.Errorf("%+v: %v, want a SettingError for %s", tc.p, err, tc.setting)
		}
		// A Client under it refuses to send, naming it, rather than ignoring it.
		res := NewClient(tc.p).Do(context.Background(), Request{URL: "http://127.0.0.1:1/"}, nil)
		if res.Cause != CauseSetting || !errors.As(res.Err, &se) || se.Setting != tc.setting {
			t.Errorf("%+v: client sent anyway: %v", tc.p, res.Err)
		}
		if _, err := NewPoster(tc.p, 1); !errors.As(err, &se) || se.Setting != tc.setting {
			t.Errorf("%+v: NewPoster: %v", tc.p, err)
		}
	}
	if err := (Policy{Header: http.Header{"Host": {"cb.example.com:8080"}, "X-A": {""}}}).Check(); err != nil {
		t.Errorf("a valid policy: %v", err)
	}
}

// TestPosterRefusesWhatItCannotHonour: retries and proxies.
func TestPosterRefusesWhatItCannotHonour(t *testing.T) {
	var se *SettingError
	if _, err := NewPoster(Policy{Retries: 2}, 1); !errors.As(err, &se) || se.Setting != SettingRetries || !strings.Contains(se.Reason, "does not retry") {
		t.Errorf("retries: %v", err)
	}
	proxy, _ := url.Parse("http://proxy.example:3128")
	p, err := NewPoster(Policy{Proxy: http.ProxyURL(proxy)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Target("http://cb.example.com/cb"); !errors.As(err, &se) || se.Setting != SettingProxy || se.Value != "http://proxy.example:3128" {
		t.Errorf("a proxy: %v", err)
	}
}

// TestClientGoesThroughThePolicysProxy, and only through it: the process
// environment is not read.
func TestClientGoesThroughThePolicysProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String())
		mu.Unlock()
		io.WriteString(w, "via proxy")
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1") // must not be used
	env := map[string]string{"HTTP_PROXY": proxy.URL}
	p := Policy{Proxy: EnvProxy(func(k string) string { return env[k] })}
	res := NewClient(p).Do(context.Background(), Request{URL: "http://receiver.invalid/cb", Body: []byte("{}")}, nil)
	if res.Err != nil || string(res.Excerpt) != "via proxy" {
		t.Fatalf("%v %q", res.Err, res.Excerpt)
	}
	if len(seen) != 1 || seen[0] != "POST http://receiver.invalid/cb" {
		t.Errorf("the proxy saw %q", seen)
	}
	// No proxy in the given environment: direct, whatever the process has.
	res = NewClient(Policy{Proxy: EnvProxy(func(string) string { return "" })}).Do(context.Background(), Request{URL: proxy.URL + "/direct"}, nil)
	if res.Err != nil || len(seen) != 2 || seen[1] != "POST /direct" {
		t.Errorf("direct: %v, the server saw %q", res.Err, seen)
	}
}

func TestEnvProxy(t *testing.T) {
	env := map[string]string{"https_proxy": "http://p:1", "NO_PROXY": "skip.example"}
	proxy := EnvProxy(func(k string) string { return env[k] })
	for target, want := range map[string]string{
		"https://cb.example.com/": "http://p:1", "http://cb.example.com/": "", "https://skip.example/": "",
		"https://127.0.0.1:8443/": "", "https://localhost/": "",
	} {
		u, _ := url.Parse(target)
		got, err := proxy(&http.Request{URL: u})
		if err != nil || (got == nil) != (want == "") || got != nil && got.String() != want {
			t.Errorf("%s: %v %v, want %q", target, got, err, want)
		}
	}
	if EnvProxy(func(string) string { return "" }) != nil {
		t.Error("a proxy without any proxy variable")
	}
}

// redirectingReceivers are the redirect cases' receivers: s answers /same
// (307 on the same host), /see-other (303), /away (307 to other), /loop
// (a redirect to itself) and /nowhere (307 without a Location); other,
// and s on any other path, answer 200.
func redirectingReceivers(t *testing.T) (s, other *wiretest.Receiver) {
	other = wiretest.New(t, ok)
	s = wiretest.New(t, func(path string) string {
		switch path {
		case "/same":
			return "HTTP/1.1 307 Temporary Redirect\r\nLocation: /final\r\nContent-Length: 0\r\n\r\n"
		case "/see-other":
			return "HTTP/1.1 303 See Other\r\nLocation: /final\r\nContent-Length: 0\r\n\r\n"
		case "/away":
			return "HTTP/1.1 307 Temporary Redirect\r\nLocation: " + other.URL + "/moved\r\nContent-Length: 0\r\n\r\n"
		case "/loop":
			return "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"
		case "/nowhere":
			return "HTTP/1.1 307 Temporary Redirect\r\nContent-Length: 0\r\n\r\n"
		}
		return ok(path)
	})
	return s, other
}

// movedReceiver answers /moved with a 307 to /cb, and 200 to the rest.
func movedReceiver(t *testing.T) *wiretest.Receiver {
	return wiretest.New(t, func(path string) string {
		if path == "/moved" {
			return "HTTP/1.1 307 Temporary Redirect\r\nLocation: /cb\r\nContent-Length: 0\r\n\r\n"
		}
		return ok(path)
	})
}

// sizedReceiver answers /N with a body of N bytes and a Content-Length,
// and /-N with one of N bytes in one chunk.
func sizedReceiver(t *testing.T) *wiretest.Receiver {
	return wiretest.New(t, func(path string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(path, "/"))
		if n < 0 {
			return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", -n, strings.Repeat("x", -n))
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n" + strings.Repeat("x", n)
	})
}
