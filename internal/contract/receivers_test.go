package contract

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/deliver"
)

// receiverBin is the receiver of testdata/receivers, built once by TestMain
// and run by every test, correct or with one of its -bug values.
var receiverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "livecb-receivers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	receiverBin = filepath.Join(dir, "receiver")
	build := exec.Command("go", "build", "-o", receiverBin, "./testdata/receivers")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test receiver: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startReceiver runs the receiver of testdata/receivers with -bug bug
// ("none" for the correct one) as a process on a free loopback port and
// returns its callback URL once it listens.
func startReceiver(t *testing.T, bug string, args ...string) string {
	t.Helper()
	name := "-bug " + bug
	cmd := exec.Command(receiverBin, append([]string{"-addr", "127.0.0.1:0", "-bug", bug}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Broken receivers log their panics: keep them for a failing test only.
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("receiver %s stderr:\n%s", name, excerpt(stderr.Bytes(), 2000))
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		base, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("receiver %s did not start: first line %q", name, line)
		}
		return base + "/callback"
	case <-time.After(10 * time.Second):
		t.Fatalf("receiver %s did not report its address within 10s", name)
	}
	return ""
}

func TestProbeReportsUnreachableReceiver(t *testing.T) {
	url := startReceiver(t, "none")
	if err := Probe(context.Background(), []string{url}, deliver.Policy{Timeout: time.Second}); err != nil {
		t.Fatalf("probe of a running receiver: %v", err)
	}
	// Port 1 (tcpmux) is closed on any machine that runs these tests.
	err := Probe(context.Background(), []string{"http://127.0.0.1:1/cb"}, deliver.Policy{Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("probe of a closed port: got %v, want an unreachable error", err)
	}
}
