package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// scanner walks JSON read from a stream, keeping nothing but what its keeper
// asks for, up to the keeper's limit: strings are read in chunks of the
// reader's buffer, so a value of any size (a 1 GB base64 body in a HAR) is
// walked in constant memory. encoding/json's Decoder cannot do this: Token
// and Decode hold a whole string, or a whole value, before returning it.
//
// The walk checks the structure (brackets, colons, commas, literals) but not
// what is inside strings; what is kept is decoded with encoding/json
// afterwards, which checks the rest.
type scanner struct {
	r     *bufio.Reader
	off   int64 // offset of the next byte
	line  int   // line of the next byte, 1-based
	keep  *keeper
	depth int
	one   [1]byte
}

// maxDepth is encoding/json's nesting limit: deeper input is refused rather
// than walked by an ever deeper recursion.
const maxDepth = 10000

// keeper holds the bytes the scanner consumes while it is set, until they
// pass limit; then it drops them, calls over once, and counts the rest.
type keeper struct {
	buf    []byte
	n      int64
	limit  int64
	passed bool
	over   func(read int64) error
}

func (k *keeper) write(p []byte) error {
	k.n += int64(len(p))
	if k.passed {
		return nil
	}
	if k.n > k.limit {
		k.passed, k.buf = true, nil
		if k.over != nil {
			return k.over(k.n)
		}
		return nil
	}
	k.buf = append(k.buf, p...)
	return nil
}

// syntaxError is malformed JSON, in the scanner's words.
type syntaxError struct {
	msg  string
	line int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s (line %d)", e.msg, e.line) }

func (s *scanner) syntaxf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), line: s.line}
}

// consumed accounts for bytes taken from the reader.
func (s *scanner) consumed(p []byte) error {
	s.off += int64(len(p))
	s.line += bytes.Count(p, []byte{'\n'})
	if s.keep != nil {
		return s.keep.write(p)
	}
	return nil
}

// fail turns a reader error into the scanner's: the input ending before the
// value does is io.ErrUnexpectedEOF; others are the reader's own.
func fail(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return &readError{err}
}

func (s *scanner) byte() (byte, error) {
	c, err := s.r.ReadByte()
	if err != nil {
		return 0, fail(err)
	}
	s.one[0] = c
	return c, s.consumed(s.one[:])
}

// next consumes white space and returns the byte after it, consumed too.
func (s *scanner) next() (byte, error) {
	for {
		c, err := s.byte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c, nil
	}
}

// value walks the value whose first byte, c, was just consumed.
func (s *scanner) value(c byte) error {
	switch {
	case c == '{':
		return s.object(c, nil)
	case c == '[':
		return s.array()
	case c == '"':
		return s.str(nil)
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
		return s.literal(c)
	}
	return s.syntaxf("invalid character %q where a value should be", c)
}

func (s *scanner) enter() error {
	if s.depth++; s.depth > maxDepth {
		return s.syntaxf("nested more than %d levels deep", maxDepth)
	}
	return nil
}

// object walks the object whose '{' (c) was just consumed, calling member
// for the value of each key, whose first byte is consumed; a nil member
// walks every value.
func (s *scanner) object(c byte, member func(key string, c byte) error) error {
	if c != '{' {
		return s.syntaxf("want an object, found %q", c)
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	c, err := s.next()
	if err != nil || c == '}' {
		return err
	}
	for {
		if c != '"' {
			return s.syntaxf("want an object key, found %q", c)
		}
		var key []byte
		if member != nil {
			key = []byte{'"'}
		}
		if err := s.str(&key); err != nil {
			return err
		}
		if c, err = s.next(); err != nil {
			return err
		}
		if c != ':' {
			return s.syntaxf("want : after an object key, found %q", c)
		}
		if c, err = s.next(); err != nil {
			return err
		}
		if member != nil {
			var k string
			json.Unmarshal(key, &k) // a key too long to keep matches none
			err = member(k, c)
		} else {
			err = s.value(c)
		}
		if err != nil {
			return err
		}
		var done bool
		if c, done, err = s.after('}', "an object member"); done || err != nil {
			return err
		}
	}
}

// array walks the array whose '[' was just consumed.
func (s *scanner) array() error {
	if err := s.enter(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	c, err := s.next()
	if err != nil || c == ']' {
		return err
	}
	for {
		if err := s.value(c); err != nil {
			return err
		}
		var done bool
		if c, done, err = s.after(']', "an array element"); done || err != nil {
			return err
		}
	}
}

// after reads what follows an element of an object or array: its closing
// byte (done), or a comma and the first byte of the next element (c).
func (s *scanner) after(closing byte, element string) (c byte, done bool, err error) {
	if c, err = s.next(); err != nil {
		return 0, false, err
	}
	switch c {
	case closing:
		return 0, true, nil
	case ',':
		c, err = s.next()
		return c, false, err
	}
	return 0, false, s.syntaxf("want , or %c after %s, found %q", closing, element, c)
}

// maxKey is the longest object key str keeps for matching.
const maxKey = 256

// str walks the string whose opening quote was just consumed. When key is
// not nil, the string (quotes and escapes included) is appended to it if it
// fits in maxKey bytes; a longer one leaves it nil.
func (s *scanner) str(key *[]byte) error {
	run := 0 // backslashes right before the next byte
	for {
		chunk, err := s.r.ReadSlice('"')
		if e := s.consumed(chunk); e != nil {
			return e
		}
		if key != nil {
			if len(*key)+len(chunk) <= maxKey {
				*key = append(*key, chunk...)
			} else {
				*key, key = nil, nil
			}
		}
		switch {
		case err == nil: // chunk ends with a quote
			body := chunk[:len(chunk)-1]
			t := trailingBackslashes(body)
			if t == len(body) {
				t += run
			}
			if t%2 == 0 {
				return nil
			}
			run = 0 // an escaped quote
		case errors.Is(err, bufio.ErrBufferFull):
			if t := trailingBackslashes(chunk); t == len(chunk) {
				run += t
			} else {
				run = t
			}
		default:
			return fail(err)
		}
	}
}

func trailingBackslashes(b []byte) int {
	n := 0
	for n < len(b) && b[len(b)-1-n] == '\\' {
		n++
	}
	return n
}

// maxLiteral is how much of a number or literal is kept to be checked;
// longer ones (numbers of hundreds of digits) are walked unchecked.
const maxLiteral = 64

// literal walks the number, true, false or null whose first byte, c, was
// just consumed.
func (s *scanner) literal(c byte) error {
	lit := []byte{c}
	long := false
	for {
		c, err := s.r.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '-' || c == '.') {
			s.r.UnreadByte()
			break
		}
		s.one[0] = c
		if err := s.consumed(s.one[:]); err != nil {
			return err
		}
		if len(lit) < maxLiteral {
			lit = append(lit, c)
		} else {
			long = true
		}
	}
	if !long && !json.Valid(lit) {
		return s.syntaxf("%q is not a JSON value", lit)
	}
	return nil
}
