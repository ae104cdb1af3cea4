package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/livecb/livecb/internal/deliver"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
	"github.com/livecb/livecb/internal/source"
)

// Flags that more than one command takes are defined here, once, with one
// meaning each.

// deliveryFlags are the flags of the delivery policy: how a callback leaves
// livecb (headers, the time limit of each attempt, retries, TLS, redirects,
// the largest answer read) and which answer counts as right. send (single
// and load mode), replay and test register them as they are; listen
// registers them with the prefix "forward-" for --forward-to.
type deliveryFlags struct {
	prefix       string
	Headers      []string
	Timeout      time.Duration
	Retries      int
	Backoff      time.Duration
	Insecure     bool
	Follow       bool
	ExpectStatus string
	MaxResponse  int64
	has          deliverySet
}

// deliverySet says which of the policy's flags a command registers and
// their defaults. A path that cannot honour a setting does not register
// its flag (listen's forwarding never retries: the sender retries on its
// own, and a retried callback would reach the receiver twice).
type deliverySet struct {
	timeout time.Duration
	retries bool
	expect  string // default of --expect-status; "" registers none
}

// name is the flag's name with the command's prefix.
func (d *deliveryFlags) name(flag string) string { return "--" + d.prefix + flag }

func (d *deliveryFlags) register(f *pflag.FlagSet, prefix string, set deliverySet) {
	d.prefix, d.has = prefix, set
	p := prefix
	const header = "header `'Name: value'` on every request, replacing one of the same name (repeatable)"
	if prefix != "" {
		f.StringArrayVar(&d.Headers, p+"header", nil, header)
	} else {
		f.StringArrayVarP(&d.Headers, "header", "H", nil, header)
	}
	f.DurationVar(&d.Timeout, p+"timeout", set.timeout, "time limit of each attempt, from connecting to the last byte of the answer")
	if set.retries {
		f.IntVar(&d.Retries, p+"retries", 0, "retries after a failure to get an answer or a 5xx, with exponential backoff")
		f.DurationVar(&d.Backoff, p+"backoff", 200*time.Millisecond, "wait before the first retry; it doubles each time")
	}
	f.BoolVar(&d.Insecure, p+"insecure", false, "do not verify the receiver's TLS certificate")
	f.BoolVar(&d.Follow, p+"follow-redirects", false, "follow redirects to other hosts too (redirects on the same host are always followed)")
	if set.expect != "" {
		f.StringVar(&d.ExpectStatus, p+"expect-status", set.expect, "expected answer: a `STATUS` (200), a class (2xx) or a list (200,204)")
	}
	sizeVar(f, &d.MaxResponse, p+"max-response", "1MiB", "largest answer body read, a `SIZE` (64KiB, 10MB); a larger answer is a failure")
}

// check turns the flags into the delivery policy, naming the flag of any
// value that is wrong.
func (d *deliveryFlags) check(app *App) (deliver.Policy, error) {
	header, err := parseHeaders(d.Headers)
	if err != nil {
		return deliver.Policy{}, flagError(d.name("header"), err)
	}
	var expect deliver.Expect
	if d.has.expect != "" {
		if expect, err = deliver.ParseExpect(d.ExpectStatus); err != nil {
			return deliver.Policy{}, flagError(d.name("expect-status"), err)
		}
	}
	if d.Timeout <= 0 {
		return deliver.Policy{}, usageErrorf("%s %s: give a positive duration such as 3s", d.name("timeout"), d.Timeout)
	}
	p := deliver.Policy{Header: header, UserAgent: app.UserAgent(), Timeout: d.Timeout, Retries: d.Retries,
		Backoff: d.Backoff, Insecure: d.Insecure, FollowRedirects: d.Follow, Expect: expect,
		MaxResponse: d.MaxResponse, Proxy: deliver.EnvProxy(app.env)}
	if err := p.Check(); err != nil {
		return deliver.Policy{}, d.settingError(err)
	}
	return p, nil
}

// settingError names the flag of a setting an engine refused.
func (d *deliveryFlags) settingError(err error) error {
	var se *deliver.SettingError
	if !errors.As(err, &se) {
		return usageErrorf("%v", err)
	}
	switch se.Setting {
	case deliver.SettingProxy:
		return usageErrorf("the proxy %s (from HTTP_PROXY or HTTPS_PROXY): %s, e.g. with NO_PROXY=<host>", se.Value, se.Reason)
	case deliver.SettingUserAgent:
		return usageErrorf("%v", err)
	}
	if se.Value != "" {
		return usageErrorf("%s %s: %s", d.name(se.Setting), se.Value, se.Reason)
	}
	return flagError(d.name(se.Setting), errors.New(se.Reason))
}

// checkURL applies the one rule for receiver URLs to a flag's value.
func checkURL(flag, raw string) error {
	if err := deliver.CheckURL(raw); err != nil {
		// The error starts with the quoted URL: "--to "ftp://x" is not...".
		return usageErrorf("%s %v", flag, err)
	}
	return nil
}

// parseHeaders reads repeated 'Name: value' flags.
func parseHeaders(lines []string) (http.Header, error) {
	h := http.Header{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
			return nil, fmt.Errorf("%q: write 'Name: value', e.g. -H 'X-Env: staging'", l)
		}
		if strings.ContainsAny(value, "\r\n") {
			return nil, fmt.Errorf("%q: a header value cannot hold a line break", l)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// overrideList keeps --set, --set-string and --unset in the order they were
// given, since a later one may change what an earlier one did.
type overrideList struct {
	entries []overrideEntry
}

type overrideEntry struct {
	flag, arg string
}

// register adds the three flags to f (send and replay).
func (l *overrideList) register(f *pflag.FlagSet) {
	f.Var(&overrideFlag{l, "set"}, "set", "set a field: `PATH=VALUE`, JSON when it parses as JSON, else a string (repeatable)")
	f.Var(&overrideFlag{l, "set-string"}, "set-string", "set a field to a string: `PATH=VALUE`, exactly as typed (repeatable)")
	f.Var(&overrideFlag{l, "unset"}, "unset", "remove a field: `PATH` (repeatable)")
}

// Overrides parses the entries.
func (l *overrideList) Overrides() ([]event.Override, error) {
	var out []event.Override
	for _, e := range l.entries {
		var o event.Override
		var err error
		switch e.flag {
		case "unset":
			o, err = event.ParseUnset(e.arg)
		default:
			o, err = event.ParseSet(e.arg, e.flag == "set-string")
		}
		if err != nil {
			return nil, flagError("--"+e.flag, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// overrideFlag is one of the three flags writing into a shared list. It is
// a pflag.SliceValue so that config files can set it too.
type overrideFlag struct {
	list *overrideList
	name string
}

func (f *overrideFlag) String() string { return "[" + strings.Join(f.GetSlice(), ",") + "]" }
func (f *overrideFlag) Type() string   { return "stringArray" }
func (f *overrideFlag) Set(v string) error {
	f.list.entries = append(f.list.entries, overrideEntry{f.name, v})
	return nil
}
func (f *overrideFlag) Append(v string) error { return f.Set(v) }
func (f *overrideFlag) Replace(vs []string) error {
	kept := f.list.entries[:0:0]
	for _, e := range f.list.entries {
		if e.flag != f.name {
			kept = append(kept, e)
		}
	}
	f.list.entries = kept
	for _, v := range vs {
		f.list.entries = append(f.list.entries, overrideEntry{f.name, v})
	}
	return nil
}
func (f *overrideFlag) GetSlice() []string {
	var out []string
	for _, e := range f.list.entries {
		if e.flag == f.name {
			out = append(out, e.arg)
		}
	}
	return out
}

// deprecatedAlias keeps an old flag name working as another name for a
// renamed flag: it shares the flag's value, is hidden from help, and using
// it prints what to use instead (on stderr).
func deprecatedAlias(f *pflag.FlagSet, old, current string) {
	nf := f.Lookup(current)
	f.Var(nf.Value, old, nf.Usage)
	f.MarkDeprecated(old, "use --"+current+" instead") //nolint:errcheck // the flag was just defined
}

// flagsToStderr sends pflag's own messages (a deprecated flag's notice) to
// stderr: cobra would print them on stdout, which carries data only.
func flagsToStderr(c *cobra.Command, app *App) {
	c.Flags().SetOutput(app.Err)
	for _, sub := range c.Commands() {
		flagsToStderr(sub, app)
	}
}

// sizeValue is a flag holding a size in bytes, written as 16MiB, 512KiB,
// 10MB or 1048576 (listen --max-body, validate and replay --max-record,
// --max-response).
type sizeValue struct {
	n    *int64
	text string
}

// sizeVar defines a size flag with its default.
func sizeVar(f *pflag.FlagSet, n *int64, name, def, usage string) {
	v := &sizeValue{n: n}
	if err := v.Set(def); err != nil {
		panic(err) // a default is a constant
	}
	f.Var(v, name, usage)
}

func (v *sizeValue) String() string { return v.text }
func (v *sizeValue) Type() string   { return "size" }
func (v *sizeValue) Set(s string) error {
	n, err := humanize.ParseBytes(s)
	switch {
	case err != nil:
		return errors.New("not a size: give one such as 16MiB, 512KiB or 1048576")
	case n == 0:
		return errors.New("a size of 0 bytes lets nothing through: give at least 1 (such as 16MiB or 512KiB)")
	case n > 1<<40:
		return errors.New("more than 1TiB: give a size up to 1TiB (such as 16MiB or 512KiB)")
	}
	*v.n, v.text = int64(n), s
	return nil
}

// maxRecordVar is the --max-record flag of the commands that read
// callbacks from files (validate, replay, inspect).
func maxRecordVar(f *pflag.FlagSet, n *int64) {
	sizeVar(f, n, "max-record", strings.ReplaceAll(humanize.IBytes(source.DefaultMaxRecord), " ", ""),
		"largest record read, a `SIZE`: a line, a JSON file, a HAR entry; larger ones are errors, skipped")
}

// destFlags say where callbacks go: --to one URL for all, --to-base a base
// URL under which each family has its path (the paths listen --family-paths
// checks), else the config file's routes (send, replay, test).
type destFlags struct {
	To     string
	ToBase string
}

func (d *destFlags) register(f *pflag.FlagSet, toHelp string) {
	f.StringVar(&d.To, "to", "", toHelp)
	f.StringVar(&d.ToBase, "to-base", "", "base `URL`: each family to its own path under it (/stream, /record, /snapshot, /quality), as listen --family-paths expects")
}

// check returns the URL every callback goes to ("" to route by family) and
// the routes that route them.
func (d *destFlags) check(app *App) (string, route.Table, error) {
	switch {
	case d.To != "" && d.ToBase != "":
		return "", nil, usageErrorf("--to and --to-base both say where callbacks go: give one")
	case d.To != "":
		return d.To, app.Routes, checkURL("--to", d.To)
	case d.ToBase != "":
		if err := checkURL("--to-base", d.ToBase); err != nil {
			return "", nil, err
		}
		return "", familyRoutes(d.ToBase), nil
	}
	return "", app.Routes, nil
}

// familyRoutes sends each family to its own path under base.
func familyRoutes(base string) route.Table {
	base = strings.TrimSuffix(base, "/")
	d := route.Domain{Domain: "*", Endpoints: map[event.Family]route.Endpoint{}}
	for f, p := range event.FamilyPaths() {
		d.Endpoints[f] = route.Endpoint{URL: base + p}
	}
	return route.Table{d}
}
