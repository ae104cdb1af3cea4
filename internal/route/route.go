// Package route resolves where a callback goes when no URL is given on the
// command line, the way the live-video service's console configures it: one
// URL per callback family and publish domain, each switched on or off.
package route

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/livecb/livecb/internal/event"
)

// Endpoint is one family's callback URL for a domain.
type Endpoint struct {
	URL string `mapstructure:"url" json:"url,omitempty"`
	// Enabled is the console's switch; absent means on when a URL is set.
	Enabled *bool `mapstructure:"enabled" json:"enabled,omitempty"`
}

// On reports whether the endpoint is switched on.
func (e Endpoint) On() bool { return e.URL != "" && (e.Enabled == nil || *e.Enabled) }

// Domain is the callback configuration of one publish domain. Domain "*"
// applies to every domain without its own entry.
type Domain struct {
	Domain   string   `mapstructure:"domain" json:"domain"`
	Stream   Endpoint `mapstructure:"stream" json:"stream"`
	Record   Endpoint `mapstructure:"record" json:"record"`
	Snapshot Endpoint `mapstructure:"snapshot" json:"snapshot"`
	Quality  Endpoint `mapstructure:"quality" json:"quality"`
}

// Endpoint returns the domain's endpoint for a family.
func (d Domain) Endpoint(f event.Family) Endpoint {
	switch f {
	case event.FamilyStream:
		return d.Stream
	case event.FamilyRecord:
		return d.Record
	case event.FamilySnapshot:
		return d.Snapshot
	case event.FamilyQuality:
		return d.Quality
	}
	return Endpoint{}
}

// Table is the configured routes.
type Table []Domain

// ErrNoRoute is wrapped by Resolve when nothing is configured for a callback.
var ErrNoRoute = fmt.Errorf("no callback URL configured")

// SkippedError is returned by Resolve when the family is switched off for
// the domain: the service would not send the callback.
type SkippedError struct {
	Domain string
	Family event.Family
}

func (e *SkippedError) Error() string {
	return fmt.Sprintf("%s callbacks are switched off for %s in the config file", e.Family, e.Domain)
}

// Resolve returns the URL for a callback of family f about domain. An entry
// for the exact domain wins over "*".
func (t Table) Resolve(domain string, f event.Family) (string, error) {
	var match *Domain
	for i := range t {
		if t[i].Domain == domain {
			match = &t[i]
			break
		}
		if t[i].Domain == "*" && match == nil {
			match = &t[i]
		}
	}
	if match == nil {
		return "", fmt.Errorf("%w for domain %q: pass --to URL, or add it under routes: in the config file (see `livecb config init`)", ErrNoRoute, domain)
	}
	ep := match.Endpoint(f)
	if ep.URL == "" {
		return "", fmt.Errorf("%w for %s callbacks of domain %q: set routes[domain=%s].%s.url in the config file, or pass --to URL", ErrNoRoute, f, domain, match.Domain, f)
	}
	if !ep.On() {
		return "", &SkippedError{Domain: domain, Family: f}
	}
	return ep.URL, nil
}

// Check reports configuration mistakes: missing domains, URLs that are not
// absolute http(s) (the console only accepts http://).
func (t Table) Check() error {
	var problems []string
	for i, d := range t {
		if d.Domain == "" {
			problems = append(problems, fmt.Sprintf("routes[%d]: domain is empty (use \"*\" for every domain)", i))
		}
		for _, f := range event.Families {
			ep := d.Endpoint(f)
			if ep.URL == "" {
				continue
			}
			u, err := url.Parse(ep.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				problems = append(problems, fmt.Sprintf("routes[%d].%s.url %q is not an absolute http(s) URL", i, f, ep.URL))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return nil
}
