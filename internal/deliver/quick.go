package deliver

// quickAnswer reads, from what arrived, the answer nearly every receiver
// gives: an HTTP/1.1 status line with a 2xx, 4xx or 5xx status, header
// lines of token names and printable values, at most one Content-Length
// (its digits, no larger than limit) and Connection (close or keep-alive),
// no Transfer-Encoding, and all of the body it announces. It returns the
// status, whether the receiver closes the connection after it, and the
// answer's length in b. Anything else, or an answer not all there yet, is
// not ok: readAnswer, the one reader of answers, reads it. FuzzQuickAnswer
// holds it to that: whatever quickAnswer accepts, readAnswer reads with the
// same status, the same close and the same length.
//
// Parsing each answer with fasthttp's header reader and the checks around
// it was a third of an event loop's own work per request (load mode
// against a bare receiver), this about a tenth of that.
func quickAnswer(b []byte, limit int64) (status int, close bool, n int, ok bool) {
	const proto = "HTTP/1.1 "
	if len(b) < len(proto)+4 || string(b[:len(proto)]) != proto {
		return 0, false, 0, false
	}
	i := len(proto)
	d0, d1, d2 := b[i], b[i+1], b[i+2]
	if d0 < '2' || d0 > '5' || d0 == '3' || !isDigit(d1) || !isDigit(d2) || b[i+3] != ' ' {
		return 0, false, 0, false
	}
	status = int(d0-'0')*100 + int(d1-'0')*10 + int(d2-'0')
	i += 4
	// The reason phrase.
	for ; i < len(b) && b[i] != '\r'; i++ {
		if c := b[i]; c < ' ' && c != '\t' || c == 0x7f {
			return 0, false, 0, false
		}
	}
	if i+1 >= len(b) || b[i+1] != '\n' {
		return 0, false, 0, false
	}
	i += 2
	length := int64(-1)
	sawConnection := false
	for {
		if i+1 >= len(b) {
			return 0, false, 0, false // (the head is not all there)
		}
		if b[i] == '\r' {
			if b[i+1] != '\n' {
				return 0, false, 0, false
			}
			i += 2
			break
		}
		// A name of token characters, then ':'.
		start := i
		for i < len(b) && tokenChar[b[i]] {
			i++
		}
		if i == start || i >= len(b) || b[i] != ':' {
			return 0, false, 0, false
		}
		name := b[start:i]
		i++
		for i < len(b) && b[i] == ' ' {
			i++
		}
		vstart := i
		for ; i < len(b) && b[i] != '\r'; i++ {
			if c := b[i]; c < ' ' || c == 0x7f {
				return 0, false, 0, false
			}
		}
		if i+1 >= len(b) || b[i+1] != '\n' {
			return 0, false, 0, false
		}
		value := b[vstart:i]
		i += 2
		switch {
		case equalLower(name, "content-length"):
			if length >= 0 || len(value) == 0 || len(value) > 18 || len(value) > 1 && value[0] == '0' {
				return 0, false, 0, false
			}
			length = 0
			for _, c := range value {
				if !isDigit(c) {
					return 0, false, 0, false
				}
				length = length*10 + int64(c-'0')
			}
		case equalLower(name, "transfer-encoding"):
			return 0, false, 0, false
		case equalLower(name, "connection"):
			switch {
			case sawConnection:
				return 0, false, 0, false
			case equalLower(value, "close"):
				close = true
			case !equalLower(value, "keep-alive"):
				return 0, false, 0, false
			}
			sawConnection = true
		}
	}
	switch {
	case status == 204:
		if length >= 0 {
			return 0, false, 0, false
		}
		return status, close, i, true
	case length < 0 || length > limit || int64(len(b)-i) < length:
		// Until the connection closes, too large, or not all there.
		return 0, false, 0, false
	}
	return status, close, i + int(length), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// equalLower reports whether b is lower, whatever the case of b's letters
// (lower is lower case).
func equalLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// tokenChar[c] is true for the characters of an HTTP token (RFC 9110 §5.6.2).
var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
