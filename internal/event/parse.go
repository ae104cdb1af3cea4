package event

import (
	"encoding/json"
	"strconv"
	"unsafe"

	"github.com/livecb/livecb/internal/jsonx"
)

// fastDecode parses b, which must be valid UTF-8, as exactly one JSON value
// surrounded by optional white space, into the tree encoding/json builds
// with UseNumber (map[string]any, []any, string, json.Number, bool, nil).
// ok is false for anything encoding/json would reject; Decode then runs
// encoding/json to describe the error.
//
// Why not only encoding/json: its Decoder scans every body twice (once to
// find the value's end, once to build it) and decoding was half of
// `livecb validate`'s time. This single pass is about twice as fast; FuzzDecode
// asserts that it accepts exactly what encoding/json accepts and builds the
// same values.
//
// Strings and numbers are substrings of one copy of b, made once: a body's
// dozen fields then cost one allocation instead of one each (the listener
// checks every request it receives). An escaped string is built apart.
//
// dups are the keys an object holds more than once, as reference tokens
// from the root (at most maxDuplicates of them; more counts the rest). The
// tree keeps a duplicated key's last value, as encoding/json does.
func fastDecode(b []byte, s string) (v any, dups [][]string, more int, ok bool) {
	if ms, isObject, dups, more, ok := fastDecodeBody(b, s); isObject {
		if !ok {
			return nil, nil, 0, false
		}
		return ms.toMap(), dups, more, true
	}
	p := parser{b: b, s: s, reg: table()}
	p.ws()
	v, ok = p.value(0)
	if !ok {
		return nil, nil, 0, false
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, nil, 0, false
	}
	return v, p.dups, p.moreDups, true
}

// fastDecodeBody is fastDecode of a body, whose object's top level it
// keeps as members (see members); isObject says whether b starts with an
// object (ok is false when it holds anything else: Decode's fallback says
// what).
func fastDecodeBody(b []byte, s string) (ms members, isObject bool, dups [][]string, more int, ok bool) {
	p := parser{b: b, s: s, reg: table()}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, false, nil, 0, false
	}
	if ms, ok = p.topObject(); !ok {
		return nil, true, nil, 0, false
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, true, nil, 0, false
	}
	return ms, true, p.dups, p.moreDups, true
}

// maxDuplicates bounds the duplicated keys one body records: a hostile body
// can repeat a key as often as its size allows.
const maxDuplicates = 100

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

type parser struct {
	b []byte
	s string // b as a string, for substrings
	i int
	// pairs holds the members of the objects being read (a stack: an
	// inner object's above its parent's), so that each object's map is
	// made once at its size: the first in an array of the parser's own
	// (on the caller's stack), the rest in more.
	pairs [32]pair
	more  []pair
	// slab holds the string headers of the values boxed so far (box).
	slab []string
	top  int
	// reg boxes the string values the kinds document once (intern): a
	// body's version, event, status and format cost no allocation.
	reg *registry
	// dups collects duplicated keys. A duplicate is found inside its
	// object, which knows only its own key; each enclosing object or array
	// prepends its token as the value returns (nothing is tracked for the
	// bodies that have none).
	dups     [][]string
	moreDups int
}

type pair struct {
	key string
	val any
}

// within prepends token to the duplicates found since mark.
func (p *parser) within(mark int, token string) {
	for i := mark; i < len(p.dups); i++ {
		p.dups[i] = append([]string{token}, p.dups[i]...)
	}
}

func (p *parser) ws() {
	if p.i < len(p.b) && p.b[p.i] > ' ' {
		return // (most bodies are compact: the one look most calls need)
	}
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, ok := p.str()
		if v := p.reg.intern(s); v != nil {
			return v, ok
		}
		return p.box(stringType, s), ok
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	}
	return nil, false
}

func (p *parser) lit(word string) bool {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

func (p *parser) object(depth int) (any, bool) {
	if depth > maxDepth {
		return nil, false
	}
	base, ok := p.members(depth)
	if !ok {
		return nil, false
	}
	// Made at its size: a map grown member by member (a body has 7 to 13)
	// is made twice and rehashed, and a size hint of a guess (16 was)
	// makes a table of 32 slots.
	m := make(map[string]any, p.top-base)
	for i := base; i < p.top; i++ {
		kv := p.pair(i)
		m[kv.key] = kv.val // (a name twice: the last, as encoding/json)
	}
	if len(m) < p.top-base {
		p.duplicated(base)
	}
	p.pop(base)
	return m, true
}

// members reads the members of the object at p.i onto the stack of pairs,
// from base on (values at depth), for object and topObject to make the
// object of; false when it is no JSON object.
func (p *parser) members(depth int) (base int, ok bool) {
	base = p.top
	if p.open('}') {
		return base, true
	}
	for {
		key, ok := p.member()
		if !ok {
			return base, false
		}
		mark := len(p.dups)
		v, ok := p.value(depth)
		if !ok {
			return base, false
		}
		if len(p.dups) > mark {
			p.within(mark, key)
		}
		if p.top < len(p.pairs) {
			p.pairs[p.top] = pair{key, v}
		} else {
			p.more = append(p.more, pair{key, v})
		}
		p.top++
		switch p.next('}') {
		case afterMore:
		case afterEnd:
			return base, true
		default:
			return base, false
		}
	}
}

// pop takes the members from base on off the stack.
func (p *parser) pop(base int) {
	p.top = base
	p.more = p.more[:max(base-len(p.pairs), 0)]
}

// duplicated records the keys of the object whose members start at base
// that it holds more than once, once per repetition (the rare path: the map
// came out smaller than the members).
func (p *parser) duplicated(base int) {
	seen := make(map[string]struct{}, p.top-base)
	for i := base; i < p.top; i++ {
		key := p.pair(i).key
		if _, ok := seen[key]; !ok {
			seen[key] = struct{}{}
			continue
		}
		if len(p.dups) < maxDuplicates {
			p.dups = append(p.dups, []string{key})
		} else {
			p.moreDups++
		}
	}
}

func (p *parser) pair(i int) pair {
	if i < len(p.pairs) {
		return p.pairs[i]
	}
	return p.more[i-len(p.pairs)]
}

func (p *parser) array(depth int) (any, bool) {
	if depth > maxDepth {
		return nil, false
	}
	a := []any{}
	if p.open(']') {
		return a, true
	}
	for {
		mark := len(p.dups)
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		if len(p.dups) > mark {
			p.within(mark, strconv.Itoa(len(a)))
		}
		a = append(a, v)
		switch p.next(']') {
		case afterMore:
		case afterEnd:
			return a, true
		default:
			return nil, false
		}
	}
}

// glanceObject reads a top-level object (at p.i) as object does, keeping
// in g only its members named in keep (their strings; whether the others
// are there), without building anything else.
func (p *parser) glanceObject(keep *nameSet, g *glanced) bool {
	if p.open('}') {
		return true
	}
	for {
		key, ok := p.member()
		if !ok {
			return false
		}
		name, kept := keep.find(key)
		switch {
		case kept && p.i < len(p.b) && p.b[p.i] == '"':
			s, ok := p.str()
			if !ok || !g.put(glancedMember{name: name, s: s, isString: true}) {
				return false
			}
		case kept:
			if !p.skip(1) || !g.put(glancedMember{name: name}) {
				return false
			}
		default:
			if !p.skip(1) {
				return false
			}
		}
		switch p.next('}') {
		case afterMore:
		case afterEnd:
			return true
		default:
			return false
		}
	}
}

// open reads the bracket at p.i and the white space after it, and
// reports whether end closes the object or array at once (read too).
func (p *parser) open(end byte) bool {
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == end {
		p.i++
		return true
	}
	return false
}

// member reads an object member's name and its colon, and the white space
// after each: its value starts at p.i.
func (p *parser) member() (string, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	key, ok := p.str()
	if !ok {
		return "", false
	}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != ':' {
		return "", false
	}
	p.i++
	p.ws()
	return key, true
}

// after is what follows a value in an object or an array (next).
type after int

const (
	afterBad  after = iota // anything but a comma or the end
	afterMore              // a comma: another value comes
	afterEnd               // the object's or array's end
)

// next reads what follows a value in an object or array that end closes,
// and the white space after a comma.
func (p *parser) next(end byte) after {
	p.ws()
	if p.i >= len(p.b) {
		return afterBad
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		p.ws()
		return afterMore
	case end:
		p.i++
		return afterEnd
	}
	return afterBad
}

// SkipValue returns where the JSON value that starts at s[i] ends, checked
// as Decode checks a body (what encoding/json accepts, nested at most as
// deep), without building it; ok is false for anything else. A capture
// line holds a body that is a JSON object as that object: its reader
// finds the object's end so.
func SkipValue(s string, i int) (end int, ok bool) {
	p := parser{b: unsafe.Slice(unsafe.StringData(s), len(s)), s: s, i: i}
	ok = p.skip(0)
	return p.i, ok
}

// skip reads a value as value does, and checks it, without building it.
func (p *parser) skip(depth int) bool {
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{', c == '[':
		if depth+1 > maxDepth {
			return false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if p.open(end) {
			return true
		}
		for {
			if c == '{' {
				if _, ok := p.member(); !ok {
					return false
				}
			}
			if !p.skip(depth + 1) {
				return false
			}
			switch p.next(end) {
			case afterMore:
			case afterEnd:
				return true
			default:
				return false
			}
		}
	case c == '"':
		_, ok := p.str()
		return ok
	case c == '-' || (c >= '0' && c <= '9'):
		return p.scanNumber()
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) number() (any, bool) {
	start := p.i
	if !p.scanNumber() {
		return nil, false
	}
	return p.box(numberType, p.s[start:p.i]), true
}

// box returns s in an interface of type typ (string or json.Number) whose
// string header is in the parser's slab: one allocation for a body's
// values instead of one for each (converting a string to any allocates its
// header, and a body has a dozen). A slab is never written again once a
// header is in it, and outlives the parse for as long as one of its values
// is kept (an interface's pointer into it keeps it all).
func (p *parser) box(typ unsafe.Pointer, s string) any {
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]string, 0, slabSize)
	}
	p.slab = append(p.slab, s)
	var v any
	*(*eface)(unsafe.Pointer(&v)) = eface{typ, unsafe.Pointer(&p.slab[len(p.slab)-1])}
	return v
}

// slabSize is how many values a slab holds: those of a typical callback.
const slabSize = 16

// eface is the layout of an interface{} (runtime.eface): its type, and a
// pointer to its value.
type eface struct{ typ, data unsafe.Pointer }

// typeOf is the type word of an interface holding v.
func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// stringType and numberType are the type words of a string and of a
// json.Number in an interface.
var (
	stringType = typeOf("")
	numberType = typeOf(json.Number(""))
)

// scanNumber reads a number as encoding/json's grammar has it.
func (p *parser) scanNumber() bool {
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		for p.i < len(p.b) && isDigit(p.b[p.i]) {
			p.i++
		}
	default:
		return false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if p.i >= len(p.b) || !isDigit(p.b[p.i]) {
			return false
		}
		for p.i < len(p.b) && isDigit(p.b[p.i]) {
			p.i++
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if p.i >= len(p.b) || !isDigit(p.b[p.i]) {
			return false
		}
		for p.i < len(p.b) && isDigit(p.b[p.i]) {
			p.i++
		}
	}
	return true
}

// str reads a string at p.i (which holds the opening quote).
func (p *parser) str() (string, bool) {
	p.i++
	start := p.i
	// Fast path: no escapes. Bytes that need no look are skipped eight at
	// a time (URLs make strings long).
	p.i += jsonx.PlainRun(p.b[p.i:])
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			return s, true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
}

// escaped finishes a string with escapes the way encoding/json's unquote
// does, including its handling of lone surrogates (U+FFFD).
func (p *parser) escaped(start int) (string, bool) {
	buf := make([]byte, 0, p.i-start+32)
	buf = append(buf, p.b[start:p.i]...)
	out, n, ok := jsonx.AppendUnescapedString(buf, p.b[p.i:])
	if !ok {
		return "", false
	}
	p.i += n
	// (out is this string's own memory, never written again: no copy.)
	return unsafe.String(unsafe.SliceData(out), len(out)), true
}
