package cli

import (
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/livecb/livecb/internal/deliver"
)

// DeliveryOptions are the flags send and replay share: how a callback is
// delivered (headers, time limit, retries, TLS, redirects) and which answer
// counts as right.
type DeliveryOptions struct {
	Headers      []string
	Timeout      time.Duration
	Retries      int
	Backoff      time.Duration
	Insecure     bool
	Follow       bool
	ExpectStatus string
}

func (d *DeliveryOptions) addFlags(f *pflag.FlagSet, headerHelp string) {
	f.StringArrayVarP(&d.Headers, "header", "H", nil, headerHelp)
	f.DurationVar(&d.Timeout, "timeout", 3*time.Second, "time limit of each attempt")
	f.IntVar(&d.Retries, "retries", 0, "retries after a connection error or a 5xx, with exponential backoff")
	f.DurationVar(&d.Backoff, "backoff", 200*time.Millisecond, "wait before the first retry; it doubles each time")
	f.BoolVar(&d.Insecure, "insecure", false, "do not verify the receiver's TLS certificate")
	f.BoolVar(&d.Follow, "follow-redirects", false, "follow redirects to other hosts too (redirects on the same host are always followed)")
	f.StringVar(&d.ExpectStatus, "expect-status", "200", "expected answer: a status (200), a class (2xx) or a list (200,204)")
}

// check validates the flags and returns the parsed headers and expectation.
func (d *DeliveryOptions) check() (http.Header, deliver.Expect, error) {
	header, err := parseHeaders(d.Headers)
	if err != nil {
		return nil, deliver.Expect{}, err
	}
	expect, err := deliver.ParseExpect(d.ExpectStatus)
	if err != nil {
		return nil, deliver.Expect{}, usageErrorf("--expect-status: %v", err)
	}
	if d.Timeout <= 0 {
		return nil, deliver.Expect{}, usageErrorf("--timeout %s: give a positive duration such as 3s", d.Timeout)
	}
	if d.Retries < 0 || d.Retries > 20 {
		return nil, deliver.Expect{}, usageErrorf("--retries %d: give 0 to 20", d.Retries)
	}
	return header, expect, nil
}

// client returns a delivery client for these flags.
func (d *DeliveryOptions) client(app *App, header http.Header, maxConns int) *deliver.Client {
	return deliver.New(deliver.Options{
		Timeout: d.Timeout, Retries: d.Retries, Backoff: d.Backoff,
		Insecure: d.Insecure, FollowRedirects: d.Follow, UserAgent: app.UserAgent(), Header: header, MaxConns: maxConns,
	})
}
