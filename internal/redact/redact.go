// Package redact decides, by name alone, which headers, query parameters and
// JSON fields hold secrets (Authorization, Cookie, auth_key, txSecret,
// access_token, signature, password...), and masks their values. The
// listener uses it twice: to mask what it prints on a terminal (always), and
// to remove secrets from the capture log (listen --redact). One place decides
// what looks secret so that both agree.
package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"
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

// IsSecretName reports whether a header, query parameter or JSON field of
// this name holds a secret.
func IsSecretName(name string) bool {
	for _, w := range words(name) {
		if secretWords[w] {
			return true
		}
	}
	return false
}

// words splits a name into lower-case words: "txSecret" -> tx secret,
// "auth_key" -> auth key, "X-Api-Key" -> x api key, "HMACSig" -> hmac sig.
func words(name string) []string {
	var out []string
	rs := []rune(name)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			out = append(out, strings.ToLower(string(rs[start:end])))
		}
		start = -1
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		// A new word starts at an upper-case letter after a lower-case one
		// (txSecret), or at the last upper-case letter of a run followed by
		// a lower-case one (HMACSig).
		prev := rs[i-1]
		if unicode.IsUpper(r) && (unicode.IsLower(prev) ||
			(unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return out
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
// (a=1&auth_key=...), keeping every other byte.
func Query(query, mask string) string {
	parts := strings.Split(query, "&")
	changed := false
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		if !hasValue {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if IsSecretName(name) {
			parts[i] = k + "=" + url.QueryEscape(mask)
			changed = true
		}
	}
	if !changed {
		return query
	}
	return strings.Join(parts, "&")
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
	m, _ := json.Marshal(mask)
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
// form-encoded. In both, secret query parameters of URLs inside values
// (a downloadUrl signed with auth_key=...) are masked too. changed says
// whether anything was masked.
func Body(body []byte, mask string) (out []byte, changed bool) {
	if json.Valid(body) {
		out, changed = JSON(body, mask)
		out, pairs := maskPairs(out, mask)
		return out, changed || pairs
	}
	return Text(body, mask)
}

var (
	// "name" : value, where value is a string (perhaps cut short) or a bare
	// word; for JSON that does not parse (raw control characters, a cut body).
	jsonMember = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s{\["]+)`)
	// name=value, as in a form body or a query string quoted in text.
	// The value stops at a quote or backslash, so that masking inside a
	// JSON string keeps it valid JSON.
	formPair = regexp.MustCompile(`(^|[?&\s;,{(])([A-Za-z0-9_.\-]+)=([^&\s"'\\;,)}]*)`)
)

// Text masks, by pattern, the values of secret-named "name": value members
// and name=value pairs in a body that is not valid JSON.
func Text(body []byte, mask string) (out []byte, changed bool) {
	m, _ := json.Marshal(mask)
	out = jsonMember.ReplaceAllFunc(body, func(match []byte) []byte {
		sub := jsonMember.FindSubmatch(match)
		if !IsSecretName(string(sub[1])) {
			return match
		}
		changed = true
		return bytes.Join([][]byte{[]byte(`"`), sub[1], []byte(`"`), sub[2], m}, nil)
	})
	out, pairs := maskPairs(out, mask)
	if !changed && !pairs {
		return body, false
	}
	return out, true
}

// maskPairs masks the values of secret-named name=value pairs.
func maskPairs(body []byte, mask string) (out []byte, changed bool) {
	qmask := []byte(url.QueryEscape(mask))
	out = formPair.ReplaceAllFunc(body, func(match []byte) []byte {
		sub := formPair.FindSubmatch(match)
		if len(sub[3]) == 0 || !IsSecretName(string(sub[2])) {
			return match
		}
		changed = true
		return bytes.Join([][]byte{sub[1], sub[2], []byte("="), qmask}, nil)
	})
	if !changed {
		return body, false
	}
	return out, true
}

// String masks secret name=value pairs and "name": value members in free
// text: a URL, an error message quoting one, a finding's message.
func String(s, mask string) string {
	out, changed := Text([]byte(s), mask)
	if !changed {
		return s
	}
	return string(out)
}
