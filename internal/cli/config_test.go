package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runIn runs livecb in-process in dir with no environment.
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, ".no-config"))
	var out, errOut bytes.Buffer
	s := Streams{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(string) string { return "" }}
	code = Main(args, s, BuildInfo{Version: "test"})
	return out.String(), errOut.String(), code
}

var commentedKey = regexp.MustCompile(`^(\s*)# (\s*(?:- )?[a-z][a-z0-9-]*:(?: .*)?)$`)

// TestStarterConfigCoversEveryKey uncomments every key config init writes
// and checks that livecb accepts the file and reads every key from it, with
// the default value: so the file documents every key, and documents it right.
func TestStarterConfigCoversEveryKey(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runIn(t, dir, "config", "init", "-")
	if code != 0 {
		t.Fatalf("config init: exit %d: %s", code, errOut)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if m := commentedKey.FindStringSubmatch(l); m != nil {
			l = m[1] + m[2]
		}
		lines = append(lines, l)
	}
	full := filepath.Join(dir, "full.yaml")
	if err := os.WriteFile(full, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, file := range []string{"", full} {
		args := []string{"config", "show", "--output", "json"}
		if file != "" {
			args = append(args, "--config", file)
		} else if err := os.WriteFile(filepath.Join(dir, "livecb.yaml"), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		shown, errOut, code := runIn(t, dir, args...)
		if code != 0 {
			t.Fatalf("config show %v: exit %d: %s", args, code, errOut)
		}
		n := 0
		for _, l := range strings.Split(strings.TrimSpace(shown), "\n") {
			var v ConfigValue
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			n++
			switch {
			case v.Key == "routes":
				rs, _ := json.Marshal(v.Value)
				if !strings.Contains(string(rs), `"domain":"*"`) {
					t.Errorf("routes = %s, want the \"*\" entry", rs)
				}
				if file == full && !strings.Contains(string(rs), `"domain":"push.example.com"`) {
					t.Errorf("routes = %s, want the push.example.com example too", rs)
				}
			case v.Key == "output":
				// --output json on the command line.
			case file == full && v.Source != "file "+full:
				t.Errorf("%s: source %q, want the file: config init does not document it", v.Key, v.Source)
			}
		}
		if n < 10 {
			t.Errorf("config show printed %d keys", n)
		}
	}

	// Values read back from the full file are the defaults.
	def, _, _ := runIn(t, t.TempDir(), "config", "show", "--output", "json")
	fromFile, _, _ := runIn(t, dir, "config", "show", "--output", "json", "--config", full)
	values := func(s string) map[string]string {
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			var v ConfigValue
			_ = json.Unmarshal([]byte(l), &v)
			if str, ok := v.Value.(string); ok {
				m[v.Key] = str
			}
		}
		return m
	}
	d, f := values(def), values(fromFile)
	for k, want := range d {
		if got := f[k]; got != want {
			t.Errorf("%s = %q from the file, default %q", k, got, want)
		}
	}
}

func TestConfigInitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "livecb.yaml")
	if err := os.WriteFile(file, []byte("mine: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runIn(t, dir, "config", "init")
	if code != ExitIO || !strings.Contains(errOut, "already exists: pass --force") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if b, _ := os.ReadFile(file); string(b) != "mine: 1\n" {
		t.Fatalf("file changed: %q", b)
	}
	if _, errOut, code := runIn(t, dir, "config", "init", "--force"); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(file); !strings.HasPrefix(string(b), "# livecb configuration") {
		t.Fatalf("--force did not write the file: %q", b)
	}
}

func TestNearestKey(t *testing.T) {
	names := []string{"send.timeout", "listen.timeout", "listen.port", "output"}
	for in, want := range map[string]string{
		"send.timeot": "send.timeout",
		"ouptut":      "output",
		"timeout":     "send.timeout or listen.timeout",
		"zzz":         "",
	} {
		if got := nearestKey(in, names); got != want {
			t.Errorf("nearestKey(%q) = %q, want %q", in, got, want)
		}
	}
}
