package deliver

import (
	"net/http"
	"net/url"

	"golang.org/x/net/http/httpproxy"
)

// EnvProxy is the proxy the environment getenv describes, by the rules of
// net/http's ProxyFromEnvironment (HTTP_PROXY, HTTPS_PROXY and NO_PROXY,
// or their lower-case forms; never for localhost and loopback addresses),
// for Policy.Proxy. It reads getenv, not the process's environment, so
// that a command's environment is the one it was given. nil when no proxy
// is set.
func EnvProxy(getenv func(string) string) func(*http.Request) (*url.URL, error) {
	get := func(upper, lower string) string {
		if v := getenv(upper); v != "" {
			return v
		}
		return getenv(lower)
	}
	cfg := httpproxy.Config{
		HTTPProxy:  get("HTTP_PROXY", "http_proxy"),
		HTTPSProxy: get("HTTPS_PROXY", "https_proxy"),
		NoProxy:    get("NO_PROXY", "no_proxy"),
		CGI:        getenv("REQUEST_METHOD") != "",
	}
	if cfg.HTTPProxy == "" && cfg.HTTPSProxy == "" {
		return nil
	}
	proxy := cfg.ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
}
