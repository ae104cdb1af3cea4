// Package redact decides, by name alone, which headers, query parameters and
// JSON fields hold secrets (Authorization, Cookie, auth_key, txSecret,
// access_token, signature, password...), and masks their values; in free
// text it also masks what is a secret by its form (a URL's password,
// credentials after "Authorization:" or "Bearer"). The listener uses it
// twice: to mask what it prints on a terminal (always), and to remove
// secrets from the capture log (listen --redact); every text renderer masks
// what it prints through Show. One place decides what looks secret so that
// all agree.
package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/livecb/livecb/internal/jsonx"
)

// Masks put in place of a secret value.
const (
	// Display is shown on a terminal instead of a secret.
	Display = "[masked]"
	// Stored replaces a secret in a capture log written with --redact.
	Stored = "[redacted]"
)

// secretWords are the words of a name (split at case changes, digits and
// punctuation) that make it secret. Whole words only: "keyframe", "design"
// and "monkey" are not secret; "auth_key", "txSecret", "X-Api-Key" are.
var secretWords = map[string]bool{
	"key": true, "apikey": true, "authkey": true, "accesskey": true, "secretkey": true, "privatekey": true,
	"token": true, "accesstoken": true, "secret": true, "secrets": true,
	"password": true, "passwd": true, "pwd": true, "passphrase": true,
	"auth": true, "authorization": true, "authentication": true,
	"credential": true, "credentials": true, "cookie": true, "cookies": true,
	"sign": true, "signature": true, "sig": true, "hmac": true,
	"session": true, "sessionid": true, "jwt": true, "bearer": true,
}

// secretSuffixes make a word secret when it ends with one of them: names
// written in one case have no word boundary to split at (TXSECRET,
// clientsecret, REFRESHTOKEN). Only suffixes no ordinary word ends with;
// "key" is not one (monkey, hockey).
var secretSuffixes = []string{"secret", "token", "password", "passwd", "signature", "credential", "credentials"}

// IsSecretName reports whether a header, query parameter or JSON field of
// this name holds a secret. It does not allocate for ASCII names.
func IsSecretName(name string) bool {
	return !eachWord(name, func(w string) bool { return !secretWord(w) })
}

// secretWord reports whether a word (as eachWord gives it, not lowered) is
// secret.
func secretWord(w string) bool {
	var buf [32]byte
	if len(w) > len(buf) {
		lw := strings.ToLower(w)
		return secretWords[lw] || hasSecretSuffix(lw)
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= utf8.RuneSelf {
			lw := strings.ToLower(w)
			return secretWords[lw] || hasSecretSuffix(lw)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lw := buf[:len(w)]
	return secretWords[string(lw)] || hasSecretSuffix(string(lw))
}

func hasSecretSuffix(w string) bool {
	for _, s := range secretSuffixes {
		if strings.HasSuffix(w, s) {
			return true
		}
	}
	return false
}

// words splits a name into lower-case words: "txSecret" -> tx secret,
// "auth_key" -> auth key, "X-Api-Key" -> x api key, "HMACSig" -> hmac sig.
func words(name string) []string {
	var out []string
	eachWord(name, func(w string) bool {
		out = append(out, strings.ToLower(w))
		return true
	})
	return out
}

// eachWord calls f with each word of name (split at case changes, digits
// and punctuation), as written, until f returns false; it reports whether
// every call returned true.
func eachWord(name string, f func(string) bool) bool {
	start := -1
	var prev rune
	for i, r := range name {
		if !unicode.IsLetter(r) {
			if start >= 0 && !f(name[start:i]) {
				return false
			}
			start = -1
			prev = r
			continue
		}
		if start < 0 {
			start = i
			prev = r
			continue
		}
		// A new word starts at an upper-case letter after a lower-case one
		// (txSecret), or at the last upper-case letter of a run followed by
		// a lower-case one (HMACSig).
		if unicode.IsUpper(r) {
			next, _ := utf8.DecodeRuneInString(name[i+utf8.RuneLen(r):])
			if unicode.IsLower(prev) || (unicode.IsUpper(prev) && unicode.IsLower(next)) {
				if !f(name[start:i]) {
					return false
				}
				start = i
			}
		}
		prev = r
	}
	return start < 0 || f(name[start:])
}

// Header returns a copy of h with the values of secret headers replaced by
// mask. h itself is not changed.
func Header(h http.Header, mask string) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		if IsSecretName(k) {
			m := make([]string, len(vs))
			for i := range m {
				m[i] = mask
			}
			out[k] = m
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// HeaderValue is v, or mask when the header name is secret.
func HeaderValue(name, v, mask string) string {
	if IsSecretName(name) {
		return mask
	}
	return v
}

// Target masks the values of secret query parameters in a request target
// (path and query, as received); everything else keeps its exact bytes.
func Target(target, mask string) string {
	path, query, ok := strings.Cut(target, "?")
	if !ok {
		return target
	}
	return path + "?" + Query(query, mask)
}

// Query masks the values of secret parameters of a raw query string
// (a=1&auth_key=...), keeping every other byte. Pairs are separated by "&"
// or ";" (some servers still split at ";"); an empty value is left empty:
// it holds no secret, and showing it empty says what was sent. Secrets
// inside other values are masked too (redirect=http://h/?token=...).
func Query(query, mask string) string {
	f := finder{s: query, m: masksFor(mask)}
	for start := 0; start <= len(query); {
		end := start + strings.IndexAny(query[start:], "&;")
		if end < start {
			end = len(query)
		}
		if k, _, ok := strings.Cut(query[start:end], "="); ok && secretParam(k) {
			f.add(start+len(k)+1, end, f.m.query)
		}
		start = end + 1
	}
	f.pairs()
	f.userinfo()
	return f.apply()
}

// secretParam reports whether a query parameter, as written (perhaps
// percent-encoded: auth%5Fkey), has a secret name.
func secretParam(k string) bool {
	if name, err := url.QueryUnescape(k); err == nil {
		k = name
	}
	return IsSecretName(k)
}

// JSON masks the values of secret fields, at any depth, of a JSON body:
// each becomes the JSON string mask; every other byte is kept (big numbers,
// escapes, order, spacing). A body that is not valid JSON is returned as it
// is, with changed false.
func JSON(body []byte, mask string) (out []byte, changed bool) {
	spans, ok := secretSpans(body)
	if !ok || len(spans) == 0 {
		return body, false
	}
	m := jsonx.String(mask)
	var b bytes.Buffer
	b.Grow(len(body))
	last := 0
	for _, s := range spans {
		b.Write(body[last:s[0]])
		b.Write(m)
		last = s[1]
	}
	b.Write(body[last:])
	return b.Bytes(), true
}

// secretSpans finds the byte spans of the values of secret fields, in order.
func secretSpans(body []byte) (spans [][2]int, ok bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct{ obj, wantKey bool }
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return spans, true
		}
		if err != nil {
			return nil, false
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if d, isDelim := tok.(json.Delim); isDelim {
			switch d {
			case '{':
				stack = append(stack, frame{obj: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].obj {
					stack[len(stack)-1].wantKey = true
				}
			}
			continue
		}
		if top == nil || !top.obj {
			continue // a scalar at the top or in an array
		}
		if !top.wantKey {
			top.wantKey = true // a scalar member value
			continue
		}
		key, _ := tok.(string)
		if !IsSecretName(key) {
			top.wantKey = false
			continue
		}
		keyEnd := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		end := int(dec.InputOffset())
		start := keyEnd
		for start < end && (body[start] == ':' || body[start] == ' ' || body[start] == '\t' || body[start] == '\n' || body[start] == '\r') {
			start++
		}
		spans = append(spans, [2]int{start, end})
		// top stays wantKey: the member is consumed.
	}
}

// Body masks secrets in a request body: field by field when it is JSON
// (JSON), else by pattern (Text), for bodies that are almost JSON or are
// form-encoded. In both, secrets written inside values are masked too
// (see String): a downloadUrl signed with auth_key=..., a pushParams string
// "auth_key=...&a=1". changed says whether anything was masked.
func Body(body []byte, mask string) (out []byte, changed bool) {
	if json.Valid(body) {
		out, changed = JSON(body, mask)
		out, inline := maskBytes(out, masksFor(mask), noMembers)
		return out, changed || inline
	}
	return Text(body, mask)
}

// Text masks, by pattern, the secrets in a body that is not valid JSON:
// the values of secret-named "name": value members, where a value may be a
// bare word or cut short, and everything String masks.
func Text(body []byte, mask string) (out []byte, changed bool) {
	return maskBytes(body, masksFor(mask), looseMembers)
}

// String masks the secrets in free text (a URL, an error message quoting
// one, a finding's message, an excerpt of an answer) and leaves the rest
// byte for byte, prose included:
//
//   - the value of a secret-named name=value pair, in a query or in prose
//     ("?token=abc&sig=def", "auth%5Fkey=abc", " auth_key=abc ");
//   - the value of a secret-named "name": value JSON member when it is a
//     JSON value (a string, perhaps cut short, a number, an object...): in
//     `unknown field "password": not in the spec`, "not" is prose and kept;
//   - the password of a URL's user:password@;
//   - credentials after "Authorization:" and "Bearer", and the value of a
//     secret-named header on a line of its own ("X-Api-Key: abc").
//
// Text with nothing to mask is returned as it is, without allocating.
func String(s, mask string) string {
	return maskString(s, masksFor(mask), strictMembers)
}
