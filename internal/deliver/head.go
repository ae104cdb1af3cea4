package deliver

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"
)

// rawHead is the head of the first request of an attempt to a Target, as
// fasthttp writes it for the Poster (build, then Request.Write), split
// around the digits of its Content-Length: the event loop writes prefix,
// the body's length, suffix and the body, the bytes a Sender writes.
type rawHead struct{ prefix, suffix []byte }

const lengthLine = "\r\nContent-Length: 0\r\n"

// rawHead makes t's head once (the loop keeps it per target).
func (t *Target) rawHead() (rawHead, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	build(req, t.uri, t.wire, t.first.body, nil, nil)
	req.URI() // parsed, as the HostClient parses it before writing: the request line then holds the request target, not the URL
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	if err := req.Write(w); err != nil {
		return rawHead{}, err
	}
	if err := w.Flush(); err != nil {
		return rawHead{}, err
	}
	head := b.Bytes()
	// A policy cannot set Content-Length (hopByHop), and no header value
	// holds a line break: the line is there once.
	i := bytes.Index(head, []byte(lengthLine))
	if i < 0 || bytes.Count(head, []byte(lengthLine)) != 1 {
		return rawHead{}, fmt.Errorf("deliver: no single Content-Length in the request head %q", head)
	}
	cut := i + len(lengthLine) - len("0\r\n")
	return rawHead{prefix: bytes.Clone(head[:cut]), suffix: bytes.Clone(head[cut+1:])}, nil
}

// appendRequest appends the request with body to dst.
func (h rawHead) appendRequest(dst, body []byte) []byte {
	dst = append(dst, h.prefix...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, h.suffix...)
	return append(dst, body...)
}
