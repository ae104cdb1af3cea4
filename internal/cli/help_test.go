package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandTeaches walks the command tree: every command a user can
// run has a long description and examples, and every example line runs
// livecb (so it can be pasted).
func TestEveryCommandTeaches(t *testing.T) {
	app := &App{Streams: Streams{Getenv: func(string) string { return "" }}}
	root := newRootCmd(app)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == cobra.ShellCompRequestCmd || sub.Name() == cobra.ShellCompNoDescRequestCmd {
				continue
			}
			walk(sub)
		}
		if c.Hidden || (c.Parent() != nil && c.Parent().Name() == "completion") {
			return // cobra's per-shell commands explain their use in Long
		}
		path := c.CommandPath()
		if strings.TrimSpace(c.Long) == "" {
			t.Errorf("%s has no long description", path)
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no examples", path)
		}
		continued := false
		for _, l := range strings.Split(c.Example, "\n") {
			l = strings.TrimSpace(l)
			wasContinued := continued
			continued = strings.HasSuffix(l, "\\")
			if l == "" || strings.HasPrefix(l, "#") || wasContinued {
				continue
			}
			if !strings.Contains(l, "livecb") {
				t.Errorf("%s: example %q does not run livecb", path, l)
			}
		}
		if c.Short == "" {
			t.Errorf("%s has no short description", path)
		}
	}
	walk(root)
}
