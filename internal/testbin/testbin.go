// Package testbin builds the livecb binary for tests that run it as a
// process (crash durability, peak memory, resource limits), once per test
// binary.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	once     sync.Once
	path     string
	buildErr error
)

// Livecb returns the path of a livecb built from this module, building it
// on the first call. It skips the test under -short.
func Livecb(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the livecb binary")
	}
	once.Do(func() {
		dir, err := os.MkdirTemp("", "livecb-bin-")
		if err != nil {
			buildErr = err
			return
		}
		path = filepath.Join(dir, "livecb")
		out, err := exec.Command("go", "build", "-o", path, "github.com/livecb/livecb/cmd/livecb").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return path
}

// Main runs the tests and removes the binary: call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if path != "" {
		os.RemoveAll(filepath.Dir(path))
	}
	os.Exit(code)
}

// Env is the environment for a livecb process a test starts: the test's
// own, without the LIVECB_* settings and colour variables of the shell that
// runs the tests (LIVECB_OUTPUT=json go test ./... must pass), and without
// colour.
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIVECB_") && !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "CLICOLOR") {
			env = append(env, kv)
		}
	}
	return append(append(env, "NO_COLOR=1"), extra...)
}
