// Package route resolves where a callback goes when no URL is given on the
// command line, the way the live-video service's console configures it: one
// URL per callback family and publish domain, each switched on or off.
//
// The families are those of the event model's family table: a route names
// them as keys (stream, record, ...), so a new family needs no change here.
package route

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/jsonx"
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
	Domain string
	// Endpoints holds the domain's endpoint of each family it configures.
	Endpoints map[event.Family]Endpoint
}

// Endpoint returns the domain's endpoint for a family (the zero Endpoint
// when it has none).
func (d Domain) Endpoint(f event.Family) Endpoint { return d.Endpoints[f] }

// MarshalJSON writes the domain as the config file holds it: "domain",
// then one member per family in the family table's order.
func (d Domain) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"domain":`)
	b.Write(jsonx.String(d.Domain))
	fams := append([]event.Family(nil), event.Families...)
	var extra []event.Family
	for f := range d.Endpoints {
		if !contains(fams, f) {
			extra = append(extra, f)
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
	for _, f := range append(fams, extra...) {
		ep, err := jsonx.Marshal(d.Endpoints[f])
		if err != nil {
			return nil, err
		}
		b.WriteByte(',')
		b.Write(jsonx.String(string(f)))
		b.WriteByte(':')
		b.Write(ep)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func contains(fs []event.Family, f event.Family) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// Table is the configured routes.
type Table []Domain

// Decode reads the routes: section of a config file, as a YAML or JSON
// decoder produced it (a list of maps):
//
//	routes:
//	  - domain: "*"
//	    stream: {url: http://..., enabled: true}
//
// Every key is checked: a route holds "domain" and family names, a
// family holds "url" and "enabled"; a misspelt key is an error with the
// key that was probably meant (a misspelt "enabled" must not leave a
// family switched on). nil (no routes: section) is an empty table.
func Decode(raw any) (Table, error) {
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("routes is %s; write a list of domains, each `- domain: NAME` with one entry per family (%s)", describe(raw), familyList())
	}
	var t Table
	var problems []string
	for i, item := range list {
		d, errs := decodeDomain(item, fmt.Sprintf("[%d]", i))
		problems = append(problems, errs...)
		t = append(t, d)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return t, nil
}

func decodeDomain(item any, at string) (Domain, []string) {
	m, ok := stringMap(item)
	if !ok {
		return Domain{}, []string{fmt.Sprintf("%s is %s; each route is a map: domain: NAME, then one entry per family (%s)", at, describe(item), familyList())}
	}
	d := Domain{Endpoints: map[event.Family]Endpoint{}}
	var problems []string
	keys := known(append([]string{"domain"}, familyNames()...))
	for _, k := range sortedKeys(m) {
		v := m[k]
		name := strings.ToLower(k)
		switch {
		case name == "domain":
			s, ok := v.(string)
			if !ok && v != nil {
				problems = append(problems, fmt.Sprintf("%s.domain is %s; write the publish domain as a string, or \"*\"", at, describe(v)))
			}
			d.Domain = s
		case contains(event.Families, event.Family(name)):
			ep, errs := decodeEndpoint(v, at+"."+name)
			problems = append(problems, errs...)
			d.Endpoints[event.Family(name)] = ep
		default:
			problems = append(problems, fmt.Sprintf("%s: unknown key %q%s; a route holds %s", at, k, keys.hint(name), keys.list()))
		}
	}
	return d, problems
}

// endpointKeys are the keys of an Endpoint, from its mapstructure tags.
var endpointKeys = func() []string {
	var out []string
	t := reflect.TypeOf(Endpoint{})
	for i := 0; i < t.NumField(); i++ {
		out = append(out, strings.Split(t.Field(i).Tag.Get("mapstructure"), ",")[0])
	}
	return out
}()

func decodeEndpoint(v any, at string) (Endpoint, []string) {
	var ep Endpoint
	if v == nil {
		return ep, nil // "stream:" with nothing under it
	}
	if _, ok := stringMap(v); !ok {
		return ep, []string{fmt.Sprintf("%s is %s; write {url: http://..., enabled: true}", at, describe(v))}
	}
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		// As viper decodes the rest of the file: "true" and 1 are true.
		WeaklyTypedInput: true,
		Metadata:         &md,
		Result:           &ep,
	})
	if err != nil {
		return ep, []string{fmt.Sprintf("%s: %v", at, err)}
	}
	var problems []string
	if err := dec.Decode(v); err != nil {
		for _, l := range strings.Split(err.Error(), "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "* "))
			if l != "" && !strings.HasPrefix(l, "decoding failed due to") {
				problems = append(problems, at+": "+l)
			}
		}
	}
	keys := known(endpointKeys)
	sort.Strings(md.Unused)
	for _, k := range md.Unused {
		problems = append(problems, fmt.Sprintf("%s: unknown key %q%s; a family's entry holds %s", at, k, keys.hint(strings.ToLower(k)), keys.list()))
	}
	return ep, problems
}

// known is a set of keys that can say which one a misspelt key meant.
type known []string

func (k known) hint(name string) string {
	if s := event.Suggest(name, k); len(s) > 0 {
		return fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return ""
}

func (k known) list() string { return strings.Join(k, ", ") }

func stringMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "empty"
	case string:
		return fmt.Sprintf("the string %q", v)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a map"
	}
	return fmt.Sprintf("the %T %v", v, v)
}

func familyNames() []string {
	out := make([]string, len(event.Families))
	for i, f := range event.Families {
		out[i] = string(f)
	}
	return out
}

func familyList() string { return strings.Join(familyNames(), ", ") }

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
		return "", fmt.Errorf("%w for domain %q", ErrNoRoute, domain)
	}
	ep := match.Endpoint(f)
	if ep.URL == "" {
		return "", fmt.Errorf("%w for %s callbacks of domain %q (routes[domain=%s].%s.url)", ErrNoRoute, f, domain, match.Domain, f)
	}
	if !ep.On() {
		return "", &SkippedError{Domain: domain, Family: f}
	}
	return ep.URL, nil
}

// Check reports configuration mistakes: missing domains, URLs that are not
// absolute http(s) (the console only accepts http://), families that are
// not in the family table.
func (t Table) Check() error {
	var problems []string
	for i, d := range t {
		if d.Domain == "" {
			problems = append(problems, fmt.Sprintf("routes[%d]: domain is empty (use \"*\" for every domain)", i))
		}
		for _, f := range sortedFamilies(d.Endpoints) {
			if !contains(event.Families, f) {
				problems = append(problems, fmt.Sprintf("routes[%d]: %q is not a family%s (families: %s)", i, f, known(familyNames()).hint(string(f)), familyList()))
				continue
			}
			ep := d.Endpoints[f]
			if ep.URL == "" {
				continue
			}
			if err := deliver.CheckURL(ep.URL); err != nil {
				problems = append(problems, fmt.Sprintf("routes[%d].%s.url %v", i, f, err))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// sortedFamilies returns the families of eps in the family table's order,
// then any others by name.
func sortedFamilies(eps map[event.Family]Endpoint) []event.Family {
	var out, extra []event.Family
	for _, f := range event.Families {
		if _, ok := eps[f]; ok {
			out = append(out, f)
		}
	}
	for f := range eps {
		if !contains(event.Families, f) {
			extra = append(extra, f)
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
	return append(out, extra...)
}
