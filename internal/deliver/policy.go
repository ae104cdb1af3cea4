package deliver

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Policy is how callbacks are delivered: the one set of rules that every
// path that sends honours (single sends, load mode, replay, the contract
// suite, the listener's forwarding). A path that cannot honour a setting
// refuses it with a *SettingError; none ignores one.
//
// The zero value of each field is its default.
type Policy struct {
	// Header is added to every request, after Content-Type and User-Agent
	// so that it can override them. "Host" sets the Host header. Headers
	// that describe the connection or the body's framing (Connection,
	// Content-Length, Transfer-Encoding...) are set by the sender and
	// refused here. Nothing else leaves: no Accept-Encoding, no Referer.
	Header http.Header
	// UserAgent is the User-Agent of every request unless Header sets one;
	// empty sends none.
	UserAgent string
	// Timeout bounds each attempt, from dialling (and the TLS handshake) to
	// the last byte of the answer, headers and body, redirects included.
	// Default DefaultTimeout.
	Timeout time.Duration
	// Retries is how many more attempts follow a failure to get a complete
	// answer or a 5xx answer (0 to MaxRetries).
	Retries int
	// Backoff is the wait before the first retry; it doubles each time.
	// Default DefaultBackoff.
	Backoff time.Duration
	// Insecure skips the verification of the receiver's TLS certificate.
	Insecure bool
	// FollowRedirects follows redirects to other hosts too. Redirects to the
	// same host (and port) are always followed, up to MaxRedirects, as the
	// service's HTTP client would.
	FollowRedirects bool
	// Expect is the set of acceptable answer statuses. Default 200.
	Expect Expect
	// MaxResponse is the largest answer body read, in bytes. An answer
	// that announces or sends more fails with CauseTooLarge; nothing of the
	// announced size is ever allocated. Default DefaultMaxResponse.
	MaxResponse int64
	// Proxy returns the proxy for a request (nil URL: none). nil connects
	// to every receiver directly. It is the caller's to build (from the
	// environment it was given), never read from the process.
	Proxy func(*http.Request) (*url.URL, error)
}

// Defaults and bounds of a Policy.
const (
	DefaultTimeout     = 3 * time.Second
	DefaultBackoff     = 200 * time.Millisecond
	DefaultMaxResponse = 1 << 20
	MaxRetries         = 20
	// MaxRedirects is how many redirects one attempt follows.
	MaxRedirects = 10
	// MaxHeaderBytes bounds the head of an answer (status line and
	// headers); a longer one fails with CauseTooLarge.
	MaxHeaderBytes = 64 << 10
	// ExcerptSize is how much of an answer's body a Result keeps.
	ExcerptSize = 512
)

// Names of the settings, as a *SettingError gives them.
const (
	SettingHeader      = "header"
	SettingUserAgent   = "user-agent"
	SettingTimeout     = "timeout"
	SettingRetries     = "retries"
	SettingBackoff     = "backoff"
	SettingMaxResponse = "max-response"
	SettingProxy       = "proxy"
)

// SettingError is a setting of a Policy (or of an engine built on one)
// that is invalid or that a path cannot honour.
type SettingError struct {
	Setting string // one of the Setting* names, or an engine's own
	Value   string // the value as given
	Reason  string // what is wrong, and how to fix it
}

func (e *SettingError) Error() string {
	if e.Value == "" {
		return e.Setting + ": " + e.Reason
	}
	return e.Setting + " " + e.Value + ": " + e.Reason
}

// URLError is a receiver URL that cannot be delivered to.
type URLError struct {
	URL    string
	Reason string // what is wrong with it
}

func (e *URLError) Error() string {
	return fmt.Sprintf("%q is not an absolute http(s) URL (%s): write it as http://host:port/path", e.URL, e.Reason)
}

// CheckURL is the one rule for receiver URLs: absolute, http or https, a
// host name, a valid port, nothing url.Parse objects to (such as a control
// character).
func CheckURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		reason := err.Error()
		if ue, ok := errors.AsType[*url.Error](err); ok {
			reason = ue.Err.Error()
		}
		return nil, &URLError{URL: raw, Reason: reason}
	}
	switch {
	case u.Scheme == "":
		return nil, &URLError{URL: raw, Reason: "no scheme"}
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, &URLError{URL: raw, Reason: "scheme " + u.Scheme}
	case u.Opaque != "" || u.Hostname() == "":
		return nil, &URLError{URL: raw, Reason: "no host"}
	}
	for _, c := range []byte(u.Hostname()) {
		if c <= ' ' || c >= 0x7f {
			return nil, &URLError{URL: raw, Reason: "the host name must be ASCII (punycode)"}
		}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, &URLError{URL: raw, Reason: "port " + p + " out of range"}
		}
	}
	return u, nil
}

// hopByHop are headers that concern one connection or the framing of the
// body: the sender sets them, a policy cannot (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Content-Length", "Keep-Alive", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// Check reports the first invalid setting.
func (p Policy) Check() error {
	switch {
	case p.Timeout < 0:
		return &SettingError{SettingTimeout, p.Timeout.String(), "give a positive duration such as 3s"}
	case p.Retries < 0 || p.Retries > MaxRetries:
		return &SettingError{SettingRetries, strconv.Itoa(p.Retries), fmt.Sprintf("give 0 to %d", MaxRetries)}
	case p.Backoff < 0:
		return &SettingError{SettingBackoff, p.Backoff.String(), "give a positive duration such as 200ms"}
	case p.MaxResponse < 0:
		return &SettingError{SettingMaxResponse, strconv.FormatInt(p.MaxResponse, 10), "give a size in bytes, such as 1048576"}
	case !httpguts.ValidHeaderFieldValue(p.UserAgent):
		return &SettingError{SettingUserAgent, strconv.Quote(p.UserAgent), "a header value cannot hold control characters"}
	}
	for k, vs := range p.Header {
		ck := http.CanonicalHeaderKey(k)
		switch {
		case !httpguts.ValidHeaderFieldName(k):
			return &SettingError{SettingHeader, strconv.Quote(k), "not a header name: use letters, digits and -"}
		case slices.Contains(hopByHop, ck):
			return &SettingError{SettingHeader, ck, "set by the sender for each connection and body; it cannot be given"}
		case (ck == "Host" || ck == "User-Agent") && len(vs) > 1:
			return &SettingError{SettingHeader, ck, "given more than once: give one"}
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return &SettingError{SettingHeader, ck + ": " + strconv.Quote(v), "a header value cannot hold control characters"}
			}
			if ck == "Host" {
				if u, err := url.Parse("http://" + v); err != nil || u.Host != v || v == "" {
					return &SettingError{SettingHeader, "Host: " + v, "write a host name, with a port if needed: example.com:8080"}
				}
			}
		}
	}
	return nil
}

// withDefaults fills in the defaults.
func (p Policy) withDefaults() Policy {
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Backoff == 0 {
		p.Backoff = DefaultBackoff
	}
	if p.MaxResponse == 0 {
		p.MaxResponse = DefaultMaxResponse
	}
	if p.Expect.String() == "" {
		p.Expect, _ = ParseExpect("200")
	}
	return p
}

// hop is one request of an attempt: the first, or one a redirect led to.
type hop struct {
	url *url.URL
	// body is whether the request carries the body (a 301, 302 or 303
	// turns the POST into a GET without one).
	body bool
	// host is a Host override; it survives only redirects to a relative
	// Location.
	host string
	// strip drops credentials: the redirect left the first host's domain.
	strip bool
}

// RedirectError is a redirect that was not followed.
type RedirectError struct {
	Status   int
	Location string
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%d redirect to %q not followed: %s", e.Status, e.Location, e.Reason)
}

// errOtherHost is the Reason of a redirect to another host, not followed
// unless Policy.FollowRedirects.
const errOtherHost = "it leads to another host, and following those is not allowed"

// next is the request after an answer with status and Location loc to
// cur, the n-th request of an attempt (from 1), on the way from first. It
// reports false when the answer stands (not a redirect, or one without a
// Location), as net/http's client decides; the rules are the same for the
// Client and the Poster.
func (p *Policy) next(first, cur hop, status int, loc string, n int) (hop, bool, error) {
	switch status {
	case 301, 302, 303, 307, 308:
	default:
		return hop{}, false, nil
	}
	if loc == "" {
		return hop{}, false, nil
	}
	refuse := func(reason string) (hop, bool, error) {
		return hop{}, false, &RedirectError{Status: status, Location: loc, Reason: reason}
	}
	u, err := cur.url.Parse(loc)
	if err != nil {
		return refuse("the Location is not a URL")
	}
	if n > MaxRedirects {
		return refuse(fmt.Sprintf("stopped after %d redirects", MaxRedirects))
	}
	u, err = parseURL(u.String())
	if err != nil {
		return refuse(err.(*URLError).Reason)
	}
	if !p.FollowRedirects && u.Host != first.url.Host {
		return refuse(errOtherHost)
	}
	nh := hop{url: u, body: cur.body && (status == 307 || status == 308), strip: cur.strip}
	if rel, err := url.Parse(loc); err == nil && !rel.IsAbs() {
		nh.host = cur.host
	}
	if !nh.strip && !domainOrSubdomain(u.Hostname(), first.url.Hostname()) {
		nh.strip = true
	}
	return nh, true, nil
}

func domainOrSubdomain(sub, parent string) bool {
	sub, parent = strings.ToLower(sub), strings.ToLower(parent)
	if sub == parent {
		return true
	}
	if strings.ContainsAny(sub, ":%") {
		return false
	}
	return strings.HasSuffix(sub, "."+parent)
}

var (
	sensitiveHeaders = []string{"Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization", "Proxy-Authenticate"}
	bodyHeaders      = []string{"Content-Encoding", "Content-Language", "Content-Location", "Content-Type"}
)

// header is the header of the request h with content type ct and the
// request's own header extra (over the policy's); "Host" holds h's
// override. It is the one definition of what a request carries; wireOf
// orders it as sent.
func (p *Policy) header(h hop, ct string, extra http.Header) http.Header {
	out := http.Header{"Content-Type": {ct}}
	if p.UserAgent != "" {
		out["User-Agent"] = []string{p.UserAgent}
	}
	for _, src := range []http.Header{p.Header, extra} {
		for k, vs := range src {
			ck := http.CanonicalHeaderKey(k)
			if slices.Contains(hopByHop, ck) {
				continue
			}
			out[ck] = slices.Clone(vs)
		}
	}
	if h.url.User != nil && out.Get("Authorization") == "" {
		pw, _ := h.url.User.Password()
		out.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(h.url.User.Username()+":"+pw)))
	}
	if !h.body {
		for _, k := range bodyHeaders {
			delete(out, k)
		}
	}
	if h.strip {
		for _, k := range sensitiveHeaders {
			delete(out, k)
		}
	}
	delete(out, "Host")
	if h.host != "" {
		out["Host"] = []string{h.host}
	}
	return out
}

// firstHop is the first request of an attempt to u: with the body, and
// the Host override of the request's header or else of the policy's.
func (p *Policy) firstHop(u *url.URL, extra http.Header) hop {
	h := hop{url: u, body: true}
	for _, src := range []http.Header{p.Header, extra} {
		for k, vs := range src {
			if strings.EqualFold(k, "Host") && len(vs) > 0 {
				h.host = vs[len(vs)-1]
			}
		}
	}
	return h
}

// wire is a request's header in the order net/http writes it: Host,
// User-Agent, Content-Length, then the other headers by name, each value
// trimmed. The Poster writes exactly this; the Client lets net/http do it.
type wire struct {
	host string
	ua   string
	rest [][2]string
}

func wireOf(h http.Header, u *url.URL) wire {
	w := wire{host: removeZone(u.Host)}
	if v := h.Get("Host"); v != "" {
		w.host = v
	}
	w.ua = textproto.TrimString(h.Get("User-Agent"))
	keys := make([]string, 0, len(h))
	for k := range h {
		if k != "Host" && k != "User-Agent" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			w.rest = append(w.rest, [2]string{k, textproto.TrimString(v)})
		}
	}
	return w
}

// removeZone drops an IPv6 zone from a host, as net/http does for the
// Host header.
func removeZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	i := strings.LastIndex(host, "]")
	if i < 0 {
		return host
	}
	j := strings.LastIndex(host[:i], "%")
	if j < 0 {
		return host
	}
	return host[:j] + host[i:]
}
