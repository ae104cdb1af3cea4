package docs

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/cli"
)

// TestReferenceCurrent fails when a committed page differs from what the
// command tree generates now, or a page is missing or left over.
func TestReferenceCurrent(t *testing.T) {
	tmp := t.TempDir()
	if err := Generate(tmp); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{MarkdownDir, ManDir} {
		want := files(t, filepath.Join(tmp, sub))
		got := files(t, sub)
		for name, w := range want {
			g, ok := got[name]
			switch {
			case !ok:
				t.Errorf("%s/%s is missing: run go generate ./docs", sub, name)
			case !bytes.Equal(g, w):
				t.Errorf("%s/%s is out of date: run go generate ./docs", sub, name)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s/%s is no command's page: run go generate ./docs", sub, name)
			}
		}
	}
}

// Every command a user can run has a page of each kind.
func TestEveryCommandHasItsPages(t *testing.T) {
	md := files(t, MarkdownDir)
	man := files(t, ManDir)
	var names []string
	for _, c := range cli.Command().Commands() {
		if !c.IsAvailableCommand() {
			continue
		}
		names = append(names, "livecb_"+c.Name())
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, "livecb_"+c.Name()+"_"+sub.Name())
			}
		}
	}
	sort.Strings(names)
	for _, n := range append(names, "livecb") {
		if _, ok := md[n+".md"]; !ok {
			t.Errorf("no %s.md", n)
		}
		if _, ok := man[strings.ReplaceAll(n, "_", "-")+".1"]; !ok {
			t.Errorf("no man page for %s", n)
		}
	}
	send := string(md["livecb_send.md"])
	for _, want := range []string{"## livecb send", "--to-base", "--max-response"} {
		if !strings.Contains(send, want) {
			t.Errorf("livecb_send.md lacks %q", want)
		}
	}
	if strings.Contains(send, "[=true|false]") {
		t.Error("livecb_send.md shows --flag[=true|false]")
	}
}

func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[filepath.Base(path)] = b
		return err
	})
	if err != nil {
		t.Fatalf("%v: run go generate ./docs", err)
	}
	return out
}

// TestConfigurationKeysCurrent fails when configuration.md's table of keys
// is out of date.
func TestConfigurationKeysCurrent(t *testing.T) {
	text, err := os.ReadFile("configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := UpdateKeys(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if want != string(text) {
		t.Error("configuration.md's table of keys is out of date: run go generate ./docs")
	}
	if !strings.Contains(want, "| `send.timeout` | `3s` |") {
		t.Error("the table lacks send.timeout")
	}
}

// TestREADMEFrontDoor keeps the README a front door: the two set-up
// commands on its first screen, short, every link into the repository
// alive, and the exit-code table the one the commands use.
func TestREADMEFrontDoor(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	lines := strings.Split(readme, "\n")
	if len(lines) > 450 {
		t.Errorf("README.md has %d lines; the front door holds at most 450 (move the rest to docs/)", len(lines))
	}
	first := strings.Join(lines[:min(80, len(lines))], "\n")
	for _, cmd := range []string{"go run ./cmd/livecb demo", "go test ./..."} {
		if !strings.Contains(first, cmd) {
			t.Errorf("the first 80 lines of README.md lack the set-up command %q", cmd)
		}
	}
	for _, m := range regexp.MustCompile(`\]\(((?:docs/|bench/|CONTRIBUTING|LICENSE)[^)#]*)`).FindAllStringSubmatch(readme, -1) {
		if _, err := os.Stat(filepath.Join("..", m[1])); err != nil {
			t.Errorf("README.md links %s, which does not exist", m[1])
		}
	}
	codes := map[string]int{"0": cli.ExitOK, "1": cli.ExitCheckFailed, "2": cli.ExitUsage, "3": cli.ExitNetwork,
		"4": cli.ExitIO, "5": cli.ExitInternal, "130": cli.ExitInterrupted}
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| `).FindAllStringSubmatch(readme, -1)
	if len(rows) != len(codes) {
		t.Errorf("README.md's exit-code table has %d rows; the commands use %d codes", len(rows), len(codes))
	}
	for _, r := range rows {
		if _, ok := codes[r[1]]; !ok {
			t.Errorf("README.md documents exit code %s, which no command uses", r[1])
		}
	}
}
