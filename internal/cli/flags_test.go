package cli

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// send's flags map to its options: the runF seam runs nothing.
func TestSendFlagsMapToOptions(t *testing.T) {
	cases := []struct {
		args  []string
		check func(*SendOptions) string
	}{
		{[]string{"record_done", "--to", "http://h/cb"}, func(o *SendOptions) string {
			return want(o.Args, []string{"record_done"}, "args") + want(o.Dest.To, "http://h/cb", "to") +
				want(o.Delivery.Timeout, 3*time.Second, "timeout") + want(o.Delivery.ExpectStatus, "200", "expect-status") +
				want(o.Delivery.MaxResponse, int64(1<<20), "max-response")
		}},
		{[]string{"snapshot", "-H", "A: 1", "--header", "B: 2", "--retries", "3", "--backoff", "1s", "--insecure", "--follow-redirects", "--timeout", "250ms"}, func(o *SendOptions) string {
			return want(o.Delivery.Headers, []string{"A: 1", "B: 2"}, "headers") + want(o.Delivery.Retries, 3, "retries") +
				want(o.Delivery.Backoff, time.Second, "backoff") + want(o.Delivery.Insecure, true, "insecure") +
				want(o.Delivery.Follow, true, "follow") + want(o.Delivery.Timeout, 250*time.Millisecond, "timeout")
		}},
		{[]string{"snapshot", "--set", "a=1", "--unset", "b", "--set-string", "c=2"}, func(o *SendOptions) string {
			return want(o.Overrides.entries, []overrideEntry{{"set", "a=1"}, {"unset", "b"}, {"set-string", "c=2"}}, "overrides in order")
		}},
		{[]string{"publish_done", "--count", "100", "-c", "4", "--rate", "50", "--same-body", "--max-error-rate", "1%"}, func(o *SendOptions) string {
			return want(o.Load, LoadOptions{Count: 100, Concurrency: 4, Rate: 50, SameBody: true, MaxErrorRate: "1%", EmitFormat: "vegeta"}, "load")
		}},
		{[]string{"lifecycle", "--speed", "10", "--duplicate", "--shuffle", "--length", "2m", "--snapshot-interval", "5s", "--task-record", "--quality", "--seed", "7"}, func(o *SendOptions) string {
			return want(o.Speed, 10.0, "speed") + want(o.Duplicate && o.Shuffle && o.TaskRecord && o.Quality, true, "bools") +
				want(o.Length, 2*time.Minute, "length") + want(o.SnapshotInterval, 5*time.Second, "interval") + want(o.Seed, uint64(7), "seed")
		}},
		{[]string{"--data", "-", "--dry-run", "--as", "curl", "--to-base", "http://h"}, func(o *SendOptions) string {
			return want(o.Data, "-", "data") + want(o.DryRun, true, "dry-run") + want(o.As, "curl", "as") + want(o.Dest.ToBase, "http://h", "to-base")
		}},
	}
	for _, c := range cases {
		var got *SendOptions
		cmd := newSendCmd(&App{}, func(_ context.Context, o *SendOptions) error { got = o; return nil })
		cmd.SetArgs(c.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if msg := c.check(got); msg != "" {
			t.Errorf("%v:%s", c.args, msg)
		}
	}
}

func want[T any](got, want T, what string) string {
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("\n\t%s: got %+v, want %+v", what, got, want)
	}
	return ""
}

// The delivery policy's flags have one meaning in every command that
// registers them: the same names, the same types, the same help.
func TestDeliveryFlagsAreTheSameEverywhere(t *testing.T) {
	root := newRootCmd(&App{})
	var ref map[string]string
	for _, path := range []string{"send", "replay", "test"} {
		cmd, _, err := root.Find([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, name := range []string{"header", "timeout", "retries", "backoff", "insecure", "follow-redirects", "expect-status", "max-response"} {
			f := cmd.Flags().Lookup(name)
			if f == nil {
				t.Errorf("%s has no --%s", path, name)
				continue
			}
			got[name] = f.Value.Type() + " " + f.Usage
		}
		if ref == nil {
			ref = got
		} else if !reflect.DeepEqual(got, ref) {
			t.Errorf("%s's delivery flags differ from send's:\n%v\n%v", path, got, ref)
		}
	}
	// listen's forwarding: the same policy, prefixed, without the settings
	// it cannot honour (it never retries and passes any answer on).
	listen, _, _ := root.Find([]string{"listen"})
	for _, name := range []string{"forward-header", "forward-timeout", "forward-insecure", "forward-follow-redirects", "forward-max-response"} {
		if f := listen.Flags().Lookup(name); f == nil {
			t.Errorf("listen has no --%s", name)
		} else if base := strings.TrimPrefix(name, "forward-"); ref[base] != f.Value.Type()+" "+f.Usage && base != "header" {
			t.Errorf("--%s: %s %s; --%s: %s", name, f.Value.Type(), f.Usage, base, ref[base])
		}
	}
	for _, name := range []string{"forward-retries", "forward-expect-status"} {
		if listen.Flags().Lookup(name) != nil {
			t.Errorf("listen has --%s, which forwarding cannot honour", name)
		}
	}
}

// --timeout is the time limit of one attempt wherever it is a flag; listen's
// old --timeout (the whole run) and replay's --parallel are deprecated
// aliases of --duration and --concurrency.
func TestOneMeaningPerFlagName(t *testing.T) {
	root := newRootCmd(&App{})
	meaning := map[string]map[string]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Deprecated != "" || f.Name == "help" {
				return
			}
			if meaning[f.Name] == nil {
				meaning[f.Name] = map[string]string{}
			}
			meaning[f.Name][c.CommandPath()] = f.Value.Type()
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for name, by := range meaning {
		types := map[string]bool{}
		for _, typ := range by {
			types[typ] = true
		}
		if len(types) > 1 {
			t.Errorf("--%s has several types: %v", name, by)
		}
	}
	listen, _, _ := root.Find([]string{"listen"})
	if f := listen.Flags().Lookup("timeout"); f == nil || f.Deprecated == "" || !strings.Contains(f.Deprecated, "--duration") {
		t.Errorf("listen --timeout is not a deprecated alias of --duration")
	}
	replay, _, _ := root.Find([]string{"replay"})
	if f := replay.Flags().Lookup("parallel"); f == nil || f.Deprecated == "" || !strings.Contains(f.Deprecated, "--concurrency") {
		t.Errorf("replay --parallel is not a deprecated alias of --concurrency")
	}
}

// Only flags that take a FILE complete file names: a URL never does.
func TestFlagCompletionFollowsTheArgument(t *testing.T) {
	root := newRootCmd(&App{})
	for _, c := range []struct {
		cmd, flag string
		files     bool
	}{
		{"listen", "forward-to", false}, {"send", "to", false}, {"listen", "save", true},
		{"send", "data", true}, {"test", "junit", true}, {"listen", "expect", false},
		{"send", "timeout", false}, {"replay", "to", false}, {"listen", "ready-file", true},
	} {
		cmd, _, _ := root.Find([]string{c.cmd})
		fn, ok := cmd.GetFlagCompletionFunc(c.flag)
		if c.files && ok {
			t.Errorf("%s --%s has a completion function; it should complete files", c.cmd, c.flag)
		}
		if !c.files {
			if !ok {
				t.Errorf("%s --%s completes file names", c.cmd, c.flag)
				continue
			}
			if _, dir := fn(cmd, nil, ""); dir&cobra.ShellCompDirectiveNoFileComp == 0 {
				t.Errorf("%s --%s completes file names", c.cmd, c.flag)
			}
		}
	}
}

// Help lists flags without pflag's noise and says which repeat.
func TestHelpWithoutNoise(t *testing.T) {
	r := runWith(t, envOf(), "send", "--help")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	for _, noise := range []string{"[=true|false]", "(default [])", "stringArray"} {
		if strings.Contains(r.out, noise) {
			t.Errorf("help shows %q", noise)
		}
	}
	lines := strings.Split(r.out, "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[2], "Usage:") {
		t.Errorf("usage is not first:\n%s", strings.Join(lines[:min(6, len(lines))], "\n"))
	}
	for _, want := range []string{`(?m)^      --dry-run +print what`, `(?m)^  -H, --header 'Name: value' +header 'Name: value' on every request, replacing one of the same name \(repeatable\)$`,
		`(?m)^      --set PATH=VALUE +set a field`, `(?m)^      --timeout duration +time limit of each attempt.*\(default 3s\)$`} {
		if !regexp.MustCompile(want).MatchString(r.out) {
			t.Errorf("help lacks %s", want)
		}
	}
}
