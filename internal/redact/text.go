package redact

import (
	"net/url"
	"slices"
	"strings"

	"github.com/livecb/livecb/internal/jsonx"
	"github.com/livecb/livecb/internal/term"
)

// Show is what a text renderer prints for anything that may hold a secret
// or bytes from the network (a finding's message, a URL or target, an
// excerpt of an answer, an error message): secrets masked as String masks
// them, with the Display mask, then made safe for a terminal
// (term.Sanitize). It is one line: a newline is shown as \n.
func Show(s string) string { return term.Sanitize(String(s, Display)) }

// masks are the spellings of one mask: as it is (prose, Authorization
// credentials), percent-encoded (in a query or a URL, which stays a URL)
// and as a JSON string (a member's value, which stays JSON).
type masks struct{ raw, query, json string }

var displayMasks, storedMasks = newMasks(Display), newMasks(Stored)

func newMasks(mask string) masks {
	return masks{raw: mask, query: url.QueryEscape(mask), json: string(jsonx.String(mask))}
}

func masksFor(mask string) masks {
	switch mask {
	case Display:
		return displayMasks
	case Stored:
		return storedMasks
	}
	return newMasks(mask)
}

// memberMode says which "name": value members are masked.
type memberMode int

const (
	noMembers     memberMode = iota // the JSON is valid and JSON masked them
	strictMembers                   // free text: only when the value is a JSON value
	looseMembers                    // almost-JSON bodies: a bare word is a value too
)

// span is text to replace.
type span struct {
	start, end int
	with       string
}

func maskString(s string, m masks, mode memberMode) string {
	f := finder{s: s, m: m}
	f.all(mode)
	return f.apply()
}

func maskBytes(body []byte, m masks, mode memberMode) ([]byte, bool) {
	f := finder{s: string(body), m: m}
	f.all(mode)
	spans := f.merged()
	if spans == nil {
		return body, false
	}
	out := make([]byte, 0, len(body))
	last := 0
	for _, sp := range spans {
		out = append(out, body[last:sp.start]...)
		out = append(out, sp.with...)
		last = sp.end
	}
	return append(out, body[last:]...), true
}

// finder collects the spans of s to mask. Every finder is one pass over
// s, so masking is linear in the length of the text, hostile text included.
type finder struct {
	s     string
	m     masks
	spans []span
}

// all runs every finder.
func (f *finder) all(mode memberMode) {
	if mode != noMembers {
		f.members(mode)
	}
	f.pairs()
	f.userinfo()
	f.headerLines()
	f.authorization()
	f.bearer()
}

// add masks s[start:end] with with, unless it is empty or masked already.
func (f *finder) add(start, end int, with string) {
	if end > start && f.s[start:end] != with {
		f.spans = append(f.spans, span{start, end, with})
	}
}

// merged returns the spans in order and without overlaps, or nil. Finders
// may overlap (a pair inside a masked member, a URL's password that looks
// like a pair): the union is masked once, with the mask of the span that
// starts first.
func (f *finder) merged() []span {
	if f.spans == nil {
		return nil
	}
	slices.SortStableFunc(f.spans, func(a, b span) int { return a.start - b.start })
	out := f.spans[:1]
	for _, sp := range f.spans[1:] {
		last := &out[len(out)-1]
		if sp.start < last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// apply returns s with its spans masked.
func (f *finder) apply() string {
	spans := f.merged()
	if spans == nil {
		return f.s
	}
	var b strings.Builder
	b.Grow(len(f.s))
	last := 0
	for _, sp := range spans {
		b.WriteString(f.s[last:sp.start])
		b.WriteString(sp.with)
		last = sp.end
	}
	b.WriteString(f.s[last:])
	return b.String()
}

// pairNameByte is a byte of a name in name=value: letters, digits, _ . -
// and % (percent-encoded names: auth%5Fkey).
func pairNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '%'
}

// pairValueEnd ends a value in name=value: a pair separator, white space,
// a quote or a backslash (so that masking inside a JSON string keeps it
// JSON), or a closing bracket of the text around it.
func pairValueEnd(c byte) bool {
	switch c {
	case '&', ';', ' ', '\t', '\n', '\r', '\f', '\v', '"', '\'', '\\', ',', ')', '}', ']', '<', '>':
		return true
	}
	return false
}

// pairs masks the value of every secret-named name=value pair: the name
// runs back from "=" to the first byte that cannot be in one, so a pair
// is found wherever it starts (the first of a query, inside a JSON
// string, after a space). The value of a pair that is not secret is read
// on: it may hold one (redirect=http://h/?token=abc), percent-encoded too
// (redirect=http%3A%2F%2Fh%2F%3Ftoken%3Dabc%26x%3D1).
func (f *finder) pairs() {
	s := f.s
	for i := 0; i < len(s); i++ {
		eq := 1
		switch {
		case s[i] == '=':
		case s[i] == '%' && i+2 < len(s) && s[i+1] == '3' && s[i+2]|0x20 == 'd':
			eq = 3
		default:
			continue
		}
		j := i
		for j > 0 && pairNameByte(s[j-1]) {
			if s[j-1] == '%' && j+1 < i && !pairNameByte(unhex(s[j], s[j+1])) {
				j += 2 // an encoded separator (%26, %3F) ends the name
				break
			}
			j--
		}
		if j == i || !secretParam(s[j:i]) {
			continue
		}
		k := i + eq
		for k < len(s) && !pairValueEnd(s[k]) {
			if eq == 3 && s[k] == '%' && k+2 < len(s) && pairValueEnd(unhex(s[k+1], s[k+2])) {
				break
			}
			k++
		}
		f.add(i+eq, k, f.m.query)
		i = max(k-1, i)
	}
}

// unhex decodes the hex digits of a %XX escape, or returns 'x' (a name
// byte, not a separator) when they are not hex.
func unhex(a, b byte) byte {
	h := func(c byte) (byte, bool) {
		switch {
		case '0' <= c && c <= '9':
			return c - '0', true
		case 'a' <= c|0x20 && c|0x20 <= 'f':
			return c | 0x20 - 'a' + 10, true
		}
		return 0, false
	}
	x, ok1 := h(a)
	y, ok2 := h(b)
	if !ok1 || !ok2 {
		return 'x'
	}
	return x<<4 | y
}

// userinfo masks the password of scheme://user:password@host.
func (f *finder) userinfo() {
	s, m := f.s, f.m
	for i := 0; ; {
		k := strings.Index(s[i:], "://")
		if k < 0 {
			return
		}
		start := i + k + 3
		end := start
		for end < len(s) && !strings.ContainsRune("/?#\"'\\<> \t\r\n", rune(s[end])) {
			end++
		}
		i = end
		// As net/url: the host follows the last "@", the password the first ":".
		at := strings.LastIndexByte(s[start:end], '@')
		if at < 0 {
			continue
		}
		if c := strings.IndexByte(s[start:start+at], ':'); c >= 0 {
			f.add(start+c+1, start+at, m.query)
		}
	}
}

// headerLines masks the value of a secret-named header written on a line
// of its own ("X-Api-Key: abc", "Cookie: a=b; c=d"), as an answer or a
// verify command's output may echo them; an authorization scheme is kept.
func (f *finder) headerLines() {
	s, m := f.s, f.m
	for line := 0; line < len(s); {
		end := strings.IndexByte(s[line:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += line
		}
		i := line
		for i < end && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		n := i
		for n < end && (pairNameByte(s[n]) && s[n] != '%' && s[n] != '.') {
			n++
		}
		if n > i && n < end && s[n] == ':' && IsSecretName(s[i:n]) {
			v := n + 1
			for v < end && (s[v] == ' ' || s[v] == '\t') {
				v++
			}
			e := v + len(strings.TrimRight(s[v:end], " \t\r"))
			c := v
			if !eachWord(s[i:n], func(w string) bool { return !strings.EqualFold(w, "authorization") }) {
				// Keep the scheme: "Authorization: Bearer [masked]".
				for c < e && credByte(s[c]) {
					c++
				}
				scheme := c
				for c < e && (s[c] == ' ' || s[c] == '\t') {
					c++
				}
				if c == scheme || c == e {
					c = v
				}
			}
			f.add(c, e, m.raw)
		}
		line = end + 1
	}
}

// authorization masks credentials after "Authorization:" anywhere in a
// line ("-H 'Authorization: Basic dXNlcjpwYXNz'"): the word after the
// scheme, or the one word of a value without one ("Authorization: abc").
func (f *finder) authorization() {
	s := f.s
	const word = "authorization:"
	for i := 0; i+len(word) <= len(s); i++ {
		if s[i]|0x20 != 'a' || !strings.EqualFold(s[i:i+len(word)], word) || (i > 0 && alnum(s[i-1])) {
			continue
		}
		v := i + len(word)
		for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
			v++
		}
		scheme := v
		for scheme < len(s) && credByte(s[scheme]) {
			scheme++
		}
		c := scheme
		for c < len(s) && (s[c] == ' ' || s[c] == '\t') {
			c++
		}
		end := c
		for end < len(s) && credByte(s[end]) {
			end++
		}
		switch {
		case c == scheme:
			f.add(v, scheme, f.m.raw) // one word: no scheme
		case end > c:
			f.add(c, end, f.m.raw)
		}
		i = max(end, i+len(word)) - 1
	}
}

// credByte is a byte of a credential (token68 and then some, as long as it
// ends at a quote, a backslash or white space).
func credByte(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '\\', ',', ';', '<', '>', '(', ')', '[', ']', '{', '}':
		return false
	}
	return c > ' ' && c != 0x7f
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// bearer masks the token after "Bearer ". A short word of lower-case
// letters is prose ("a bearer token is missing") and kept: no token is one.
func (f *finder) bearer() {
	s, m := f.s, f.m
	const word = "bearer"
	for i := 0; i+len(word) < len(s); i++ {
		if s[i]|0x20 != 'b' || !strings.EqualFold(s[i:i+len(word)], word) || (i > 0 && alnum(s[i-1])) {
			continue
		}
		c := i + len(word)
		for c < len(s) && (s[c] == ' ' || s[c] == '\t') {
			c++
		}
		if c == i+len(word) {
			continue
		}
		end := c
		prose := true
		for end < len(s) && credByte(s[end]) {
			prose = prose && 'a' <= s[end] && s[end] <= 'z'
			end++
		}
		if !prose || end-c >= 16 {
			f.add(c, end, m.raw)
		}
		i = end - 1
	}
}

// members masks the values of secret-named "name": value members. It
// reads each string once: after a string that is not a member's name it
// goes on from that string's closing quote, which may open the next one.
func (f *finder) members(mode memberMode) {
	s, m := f.s, f.m
	for i := 0; i < len(s); {
		q := strings.IndexByte(s[i:], '"')
		if q < 0 {
			return
		}
		q += i
		end, closed := stringEnd(s, q)
		if !closed {
			return
		}
		v := end
		for v < len(s) && jsonx.IsSpace(s[v]) {
			v++
		}
		if v == len(s) || s[v] != ':' {
			i = end - 1
			continue
		}
		v++
		for v < len(s) && jsonx.IsSpace(s[v]) {
			v++
		}
		if v == len(s) {
			return
		}
		secret := IsSecretName(s[q+1 : end-1])
		switch c := s[v]; {
		case c == '"':
			e, _ := stringEnd(s, v)
			if secret {
				f.add(v, e, m.json)
			}
			i = e
		case c == '{' || c == '[':
			if !secret {
				i = v + 1 // its members are looked at one by one
				continue
			}
			e := bracketEnd(s, v)
			f.add(v, e, m.json)
			i = e
		default:
			e := v
			for e < len(s) && !strings.ContainsRune(",}] \t\r\n{[\"", rune(s[e])) {
				e++
			}
			if secret && (mode == looseMembers || jsonScalar(s[v:e])) {
				f.add(v, e, m.json)
			}
			i = max(e, v+1)
		}
	}
}

// stringEnd is the index after the JSON string starting at s[q] == '"',
// or len(s) when it is not closed (text cut short).
func stringEnd(s string, q int) (end int, closed bool) {
	for i := q + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return len(s), false
}

// bracketEnd is the index after the JSON object or array starting at s[v],
// or len(s) when it is not closed: what follows is still the secret's.
func bracketEnd(s string, v int) int {
	depth := 0
	for i := v; i < len(s); i++ {
		switch s[i] {
		case '"':
			e, closed := stringEnd(s, i)
			if !closed {
				return len(s)
			}
			i = e - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// jsonScalar reports whether a bare word is a JSON number or literal.
func jsonScalar(w string) bool {
	switch w {
	case "true", "false", "null":
		return true
	}
	i := 0
	if i < len(w) && w[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(w) && '0' <= w[i] && w[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() == 0 {
		return false
	}
	if i < len(w) && w[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(w) && (w[i] == 'e' || w[i] == 'E') {
		i++
		if i < len(w) && (w[i] == '+' || w[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(w)
}
