package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Cause classifies a failure to get a complete answer.
type Cause string

const (
	CauseRefused    Cause = "connection refused"
	CauseDNS        Cause = "DNS lookup failed"
	CauseTimeout    Cause = "timeout"
	CauseTLS        Cause = "TLS"
	CauseReset      Cause = "connection reset"
	CauseRedirect   Cause = "redirect refused"
	CauseURL        Cause = "bad URL"
	CauseTooLarge   Cause = "answer too large"
	CauseIncomplete Cause = "answer cut short"
	CauseMalformed  Cause = "malformed answer"
	CauseSetting    Cause = "setting refused"
	CauseOther      Cause = "network error"
	// CauseInterrupted is a request the caller's context ended (Ctrl-C):
	// nothing is known of the receiver.
	CauseInterrupted Cause = "interrupted"
)

// Explain says a failure in a user's words: its cause, then what to check
// (refused, DNS, a timeout, a reset) or, for the other causes, the error,
// which for a bad answer is livecb's own account of it. Go's wording of a
// network error ("Post ...: dial tcp ...: connect: connection refused")
// stays out; a record that wants it keeps the error whole.
func Explain(cause Cause, err error, timeout time.Duration) string {
	switch cause {
	case CauseRefused:
		return "connection refused: is the receiver running, and on this port?"
	case CauseDNS:
		return "DNS lookup failed: check the host name"
	case CauseTimeout:
		return fmt.Sprintf("timeout after %s: the receiver did not answer in time", timeout)
	case CauseReset:
		return "connection reset: the receiver closed the connection before it answered"
	}
	if err == nil {
		return string(cause)
	}
	return fmt.Sprintf("%s (%v)", cause, err)
}

// ConnectCause is the cause of a failure to connect (and, for https, to
// complete the TLS handshake), for those that dial on their own.
func ConnectCause(err error) Cause { return classify(err, stageConnect) }

// TooLargeError is an answer beyond the bounds of every reader: a head
// longer than MaxHeaderBytes, or a body longer than Policy.MaxResponse.
type TooLargeError struct {
	Head      bool  // the head, not the body
	Announced int64 // the Content-Length, when that is what was too large; else -1
	Limit     int64
}

func (e *TooLargeError) Error() string {
	switch {
	case e.Head:
		return fmt.Sprintf("the answer's status line and headers are longer than %d bytes", e.Limit)
	case e.Announced >= 0:
		return fmt.Sprintf("the answer announces a body of %d bytes, more than the %d read", e.Announced, e.Limit)
	}
	return fmt.Sprintf("the answer's body is longer than the %d bytes read", e.Limit)
}

// readBody reads an answer's body to its end, keeping its first keep
// bytes, through a fixed buffer: announced is its Content-Length (-1 when
// unknown). More than limit bytes, announced or read, fails with a
// *TooLargeError before anything of that size is allocated; a body that
// ends early fails with the reader's error.
func readBody(r io.Reader, announced, limit int64, keep int) ([]byte, error) {
	if announced > limit {
		return nil, &TooLargeError{Announced: announced, Limit: limit}
	}
	var head []byte
	if n := int64(keep); announced < 0 || announced > 0 && n > 0 {
		if announced >= 0 && announced < n {
			n = announced
		}
		head = make([]byte, 0, n)
		for len(head) < cap(head) {
			n, err := r.Read(head[len(head):cap(head)])
			head = head[:len(head)+n]
			if err == io.EOF {
				return head, short(int64(len(head)), announced)
			}
			if err != nil {
				return head, err
			}
		}
	}
	rest, err := io.Copy(io.Discard, io.LimitReader(r, limit-int64(len(head))+1))
	if err != nil {
		return head, err
	}
	n := int64(len(head)) + rest
	if n > limit {
		return head, &TooLargeError{Announced: -1, Limit: limit}
	}
	return head, short(n, announced)
}

// short is io.ErrUnexpectedEOF when a body ended before the length it
// announced (a reader may report that as a plain end).
func short(n, announced int64) error {
	if announced >= 0 && n < announced {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// stage is how far an attempt got when it failed.
type stage int

const (
	stageConnect stage = iota // no connection to the receiver (or its proxy)
	stageHead                 // connected; the answer's head is not complete
	stageBody                 // the head arrived; reading the body
)

// stageError is a Poster's failure, with the stage it happened at.
type stageError struct {
	stage stage
	err   error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// classify names the cause of err, a failure at stage st. It is the same
// for the Client (net/http) and the Poster (fasthttp): the network's
// errors are the same, and each library's own are recognised here.
func classify(err error, st stage) Cause {
	var (
		redirect    *RedirectError
		tooLarge    *TooLargeError
		setting     *SettingError
		badURL      *URLError
		dnsErr      *net.DNSError
		certErr     *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
		alertErr    tls.AlertError
		netErr      net.Error
	)
	msg := err.Error()
	switch {
	case errors.As(err, &redirect):
		return CauseRedirect
	case errors.As(err, &tooLarge), strings.Contains(msg, "server response headers exceeded"):
		return CauseTooLarge
	case errors.As(err, &setting):
		return CauseSetting
	case errors.As(err, &badURL):
		return CauseURL
	case errors.Is(err, context.Canceled):
		return CauseInterrupted
	case errors.As(err, &dnsErr):
		return CauseDNS
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalidErr),
		errors.As(err, &recordErr), errors.As(err, &alertErr),
		// https:// to a plain HTTP receiver; net/http has no typed error for it.
		strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return CauseTLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrNoFreeConns), errors.Is(err, fasthttp.ErrTLSHandshakeTimeout),
		errors.As(err, &netErr) && netErr.Timeout():
		return CauseTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, fasthttp.ErrConnectionClosed):
		if st == stageBody {
			return CauseIncomplete
		}
		return CauseReset
	case st == stageConnect:
		return CauseOther
	}
	// Connected, and what came back is not HTTP as it must be: a bad status
	// line, Content-Length or chunk.
	return CauseMalformed
}
