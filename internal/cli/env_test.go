package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// envOf is an environment for the streams: only these variables.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func runWith(t *testing.T, getenv func(string) string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: getenv}, BuildInfo{Version: "test"})
	return run{code, out.String(), errb.String()}
}

// The process's own environment never reaches a command: what a test (or
// an embedding program) passes in Streams is the whole environment. Before,
// viper's AutomaticEnv read LIVECB_* from the process, and
// `LIVECB_OUTPUT=json go test ./...` failed 14 tests.
func TestTheProcessEnvironmentDoesNotLeakIn(t *testing.T) {
	t.Setenv("LIVECB_OUTPUT", "json")
	t.Setenv("LIVECB_SEND_TIMEOUT", "1ms")
	t.Setenv("LIVECB_CONFIG", "/nonexistent.yaml")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Chdir(t.TempDir())
	r := runWith(t, envOf(), "config", "show", "send.timeout", "output")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	for _, want := range []string{"send.timeout  3s     default", "output        text   default"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("config show lacks %q:\n%s", want, r.out)
		}
	}
	if strings.HasPrefix(strings.TrimSpace(r.out), "{") {
		t.Errorf("the process's LIVECB_OUTPUT=json was used:\n%s", r.out)
	}
}

// config show and the command read one source: the injected environment.
func TestEnvironmentIsOneSourceOfTruth(t *testing.T) {
	t.Chdir(t.TempDir())
	env := envOf("LIVECB_SEND_TIMEOUT", "2500ms", "LIVECB_OUTPUT", "json")
	r := runWith(t, env, "config", "show", "send.timeout")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var v ConfigValue
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.out)), &v); err != nil {
		t.Fatalf("not one JSON record: %v\n%s", err, r.out)
	}
	if v.Key != "send.timeout" || v.Value != "2500ms" || v.Source != "environment LIVECB_SEND_TIMEOUT" || v.Env != "LIVECB_SEND_TIMEOUT" {
		t.Errorf("config show: %+v", v)
	}

	// The command uses the same value: a receiver slower than 2.5 s
	// times out, one faster does not.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	defer slow.Close()
	r = runWith(t, envOf("LIVECB_SEND_TIMEOUT", "50ms"), "send", "snapshot", "--to", slow.URL)
	if r.code != ExitNetwork || !strings.Contains(r.err, "after 50ms") {
		t.Errorf("LIVECB_SEND_TIMEOUT=50ms: exit %d\n%s", r.code, r.err)
	}
	r = runWith(t, env, "send", "snapshot", "--to", slow.URL)
	if r.code != 0 {
		t.Errorf("LIVECB_SEND_TIMEOUT=2500ms: exit %d\n%s", r.code, r.err)
	}
}

// A bad value from the environment names the variable, not a flag.
func TestBadEnvironmentValueNamesTheVariable(t *testing.T) {
	t.Chdir(t.TempDir())
	r := runWith(t, envOf("LIVECB_OUTPUT", "yaml"), "events")
	if r.code != ExitUsage || !strings.Contains(r.err, "LIVECB_OUTPUT") || !strings.Contains(r.err, `"yaml" is not a format: use text or json`) {
		t.Errorf("exit %d: %s", r.code, r.err)
	}
	r = runWith(t, envOf("LIVECB_SEND_TIMEOUT", "soon"), "send", "snapshot", "--dry-run")
	if r.code != ExitUsage || !strings.Contains(r.err, `LIVECB_SEND_TIMEOUT="soon"`) || !strings.Contains(r.err, "--timeout") {
		t.Errorf("exit %d: %s", r.code, r.err)
	}
}

// A repeatable flag takes one value per line of its variable.
func TestRepeatableFlagFromEnvironment(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	t.Chdir(t.TempDir())
	r := runWith(t, envOf("LIVECB_SEND_HEADER", "Authorization: Bearer a, b\nX-Trace: 1"), "send", "snapshot", "--to", srv.URL)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Get("Authorization") != "Bearer a, b" || got.Get("X-Trace") != "1" {
		t.Errorf("headers: %v", got)
	}
}

// The per-user config file is found through the injected environment
// (XDG_CONFIG_HOME), never through the process's.
func TestUserConfigDirComesFromTheStreams(t *testing.T) {
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "livecb"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "livecb", "livecb.yaml"), []byte("send:\n  timeout: 7s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the process's: empty
	r := runWith(t, envOf("XDG_CONFIG_HOME", dir), "config", "show", "send.timeout")
	if !strings.Contains(r.out, "send.timeout  7s     file "+filepath.Join(dir, "livecb", "livecb.yaml")) {
		t.Errorf("exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// SIGINT and SIGTERM cancel the context of every long-running command; a
// second signal cancels hurry.
func TestInterruptibleCatchesBothSignals(t *testing.T) {
	if !selfSignals {
		t.Skip("sends signals to the test's own process")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		ctx, stop := interruptible(context.Background())
		if ctx.Err() != nil || hurry(ctx).Err() != nil {
			t.Fatal("cancelled before any signal")
		}
		signalSelf(sig) // (kills the test if not caught)
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("%v did not cancel the context", sig)
		}
		if hurry(ctx).Err() != nil {
			t.Fatalf("one %v also hurried", sig)
		}
		signalSelf(sig)
		select {
		case <-hurry(ctx).Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("a second %v did not hurry", sig)
		}
		stop()
		stop() // idempotent
	}
}

// A bad value from the environment or a config file is said in the words a
// bad flag gets, with where it came from and the flag it sets.
func TestBadSettingValuesInWords(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "livecb.yaml")
	if err := os.WriteFile(cfg, []byte("listen:\n  port: abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  func(string) string
		args []string
		want string
	}{
		{envOf("LIVECB_SEND_TIMEOUT", "abc"), []string{"send", "publish_done", "--dry-run"},
			`Error: LIVECB_SEND_TIMEOUT="abc": not a duration: give one such as 3s, 500ms or 2m (it sets --timeout of 'livecb send')`},
		{envOf("LIVECB_SEND_COUNT", "x"), []string{"send", "publish_done", "--dry-run"},
			`Error: LIVECB_SEND_COUNT="x": not a whole number (it sets --count of 'livecb send')`},
		{envOf(), []string{"--config", cfg, "listen"},
			"Error: config file " + cfg + ": listen.port: not a whole number (it sets --port of 'livecb listen')"},
	} {
		r := runWith(t, c.env, c.args...)
		if r.code != ExitUsage || !strings.HasPrefix(r.err, c.want+"\n") {
			t.Errorf("%v: exit %d\n got %s\nwant %s", c.args, r.code, r.err, c.want)
		}
	}
}
