package inspect

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/livecb/livecb/internal/deliver"
)

// resender sends one request again. Its one use of internal/deliver is
// here, so that the delivery policy it follows is set in one place: a
// single attempt (a resend is a person's click, who clicks again), the
// answer's body cut to deliver's excerpt and the rest drained within a
// bound, redirects to other hosts refused.
type resender func(ctx context.Context, url string, header http.Header, body []byte) deliver.Result

func newResender(timeout time.Duration, proxy func(*http.Request) (*url.URL, error)) resender {
	c := deliver.NewClient(deliver.Policy{Timeout: timeout, Proxy: proxy})
	return func(ctx context.Context, url string, header http.Header, body []byte) deliver.Result {
		h := header.Clone()
		ct := h.Get("Content-Type")
		h.Del("Content-Type")
		return c.Do(ctx, deliver.Request{URL: url, Body: body, ContentType: ct, Header: h}, nil)
	}
}
