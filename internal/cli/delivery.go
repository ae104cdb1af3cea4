package cli

import (
	"errors"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/send"
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
func (d *DeliveryOptions) check(app *App) (http.Header, deliver.Expect, error) {
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
	if err := d.policy(app, header, expect).Check(); err != nil {
		return nil, deliver.Expect{}, policyError(err)
	}
	return header, expect, nil
}

// policy is the delivery policy of these flags.
func (d *DeliveryOptions) policy(app *App, header http.Header, expect deliver.Expect) deliver.Policy {
	return deliver.Policy{
		Header: header, UserAgent: app.UserAgent(), Timeout: d.Timeout, Retries: d.Retries, Backoff: d.Backoff,
		Insecure: d.Insecure, FollowRedirects: d.Follow, Expect: expect, Proxy: deliver.EnvProxy(app.Getenv),
	}
}

// policyError is a usage error naming the flag of a setting an engine
// refused, or err as it is.
func policyError(err error) error {
	var se *deliver.SettingError
	if !errors.As(err, &se) {
		return err
	}
	flag, ok := map[string]string{deliver.SettingHeader: "-H", deliver.SettingTimeout: "--timeout",
		deliver.SettingRetries: "--retries", deliver.SettingBackoff: "--backoff", send.SettingRate: "--rate",
		"count": "--count", "duration": "--duration"}[se.Setting]
	switch {
	case se.Setting == deliver.SettingProxy:
		return usageErrorf("%v (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)", err)
	case !ok:
		return usageErrorf("%v", err)
	case se.Value == "":
		return usageErrorf("%s: %s", flag, se.Reason)
	}
	return usageErrorf("%s %s: %s", flag, se.Value, se.Reason)
}
