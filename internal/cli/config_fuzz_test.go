package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile loads arbitrary bytes as the config file, through the
// root command's own loading (--config FILE), for a command that reads
// every key (config show) and one that applies them to its flags (send
// --dry-run, which sends nothing whatever the file says). livecb must
// never panic, and a file it cannot use is a usage error (exit 2) that
// names the file.
func FuzzConfigFile(f *testing.F) {
	var starter bytes.Buffer
	if code := Main([]string{"config", "init", "-"}, Streams{In: strings.NewReader(""), Out: &starter, Err: &bytes.Buffer{}, Getenv: noEnvFuzz}, BuildInfo{Version: "fuzz"}); code == 0 {
		f.Add(starter.String())
	}
	for _, seed := range []string{
		"",
		"send:\n  timeout: 2s\n  retries: 3\n",
		"send:\n  timeout: soon\n",
		"send:\n  header: [\"X-A: 1\", \"X-B: 2\"]\n",
		"output: json\nno-color: true\n",
		"routes:\n  - domain: \"*\"\n    stream: {url: http://127.0.0.1:1/s, enabled: true}\n",
		"routes:\n  - domain: a.example\n    stream: {url: ftp://x, enabled: maybe}\n",
		"routes: {}\n",
		"routes:\n  - 1\n  - [2]\n",
		"a: &a [*a]\n",
		"x: &x {y: *x}\n",
		"listen:\n  port: 99999\n",
		"send: [1, 2]\n",
		"\t- :\n",
		"? [a, b]\n: c\n",
		"send:\n  timeout: !!binary AAAA\n",
		"a: !!float .inf\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, config string) {
		path := filepath.Join(t.TempDir(), "livecb.yaml")
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"--config", path, "config", "show"},
			{"--config", path, "send", "publish_done", "--dry-run", "--to", "http://127.0.0.1:9/cb"},
		} {
			var out, errOut bytes.Buffer
			code := Main(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: noEnvFuzz}, BuildInfo{Version: "fuzz"})
			switch code {
			case ExitOK:
			case ExitUsage:
				if !strings.HasPrefix(errOut.String(), "Error: ") {
					t.Fatalf("%v: exit 2 without an error message:\n%s", args[2:], errOut.String())
				}
			default:
				t.Fatalf("%v with config %q: exit %d, want 0 or 2 (usage)\n%s", args[2:], config, code, errOut.String())
			}
		}
	})
}

func noEnvFuzz(string) string { return "" }
