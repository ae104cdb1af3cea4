package cli

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The exit codes are one table for every command (the README's): each row
// of this test is one command reaching one code the way users reach it.
func TestExitCodeTableHoldsForEveryCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer bad.Close()
	down := closedURL(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	invalid := filepath.Join(t.TempDir(), "bad.ndjson")
	os.WriteFile(invalid, []byte("{\"event\":\"publish_done\"}\n"), 0o644)
	capture := filepath.Join(t.TempDir(), "cap.ndjson")
	os.WriteFile(capture, []byte(`{"format":"livecb.capture.v1","seq":1,"time":"2024-05-14T08:21:03.5Z","remote":"x","method":"POST","target":"/","header":{},"body":"{}","size":2,"answer":{"status":200}}`+"\n"), 0o644)
	missing := filepath.Join(t.TempDir(), "missing.ndjson")

	for _, c := range []struct {
		code int
		args []string
	}{
		{ExitOK, []string{"send", "snapshot", "--to", ok.URL}},
		{ExitOK, []string{"events"}},
		{ExitOK, []string{"schema", "snapshot"}},
		{ExitOK, []string{"version"}},
		{ExitCheckFailed, []string{"send", "snapshot", "--to", bad.URL}},
		{ExitCheckFailed, []string{"send", "snapshot", "--count", "3", "--to", bad.URL}},
		{ExitCheckFailed, []string{"validate", invalid}},
		{ExitCheckFailed, []string{"replay", capture, "--to", bad.URL}},
		{ExitCheckFailed, []string{"test", "--to", bad.URL + "/cb", "--run", "^sample/snapshot$"}},
		{ExitCheckFailed, []string{"listen", "--port", "0", "--expect", "snapshot", "--duration", "50ms"}},
		{ExitUsage, []string{"send", "nosuchkind"}},
		{ExitUsage, []string{"send", "snapshot", "--to", "ftp://x"}},
		{ExitUsage, []string{"replay", capture, "--to", "ftp://x"}},
		{ExitUsage, []string{"test", "--to", "ftp://x"}},
		{ExitUsage, []string{"listen", "--forward-to", "ftp://x"}},
		{ExitUsage, []string{"send", "snapshot", "--count", "-5", "--to", ok.URL}},
		{ExitUsage, []string{"send", "snapshot", "--count", "5", "--rate", "1e-300", "--to", ok.URL}},
		{ExitUsage, []string{"validate", "--nosuchflag"}},
		{ExitUsage, []string{"events", "show"}},
		{ExitUsage, []string{"schema", "nosuchkind"}},
		{ExitUsage, []string{"config", "show", "nosuch.key"}},
		{ExitUsage, []string{"help", "nosuch"}},
		{ExitUsage, []string{"nosuch"}},
		{ExitNetwork, []string{"send", "snapshot", "--to", down}},
		{ExitNetwork, []string{"send", "snapshot", "--count", "3", "--to", down}},
		{ExitNetwork, []string{"replay", capture, "--to", down}},
		{ExitNetwork, []string{"test", "--to", down}},
		{ExitIO, []string{"validate", missing}},
		{ExitIO, []string{"replay", missing, "--to", ok.URL}},
		{ExitIO, []string{"send", "snapshot", "--data", missing, "--to", ok.URL}},
		{ExitIO, []string{"listen", "--port", port}},
		{ExitIO, []string{"listen", "--port", "0", "--save", filepath.Join(missing, "x")}},
		{ExitIO, []string{"events", "--config", missing}},
		{ExitIO, []string{"test", "--to", ok.URL, "--junit", filepath.Join(missing, "r.xml")}},
	} {
		if r := runWith(t, envOf(), c.args...); r.code != c.code {
			t.Errorf("livecb %v: exit %d, want %d\n%s", c.args, r.code, c.code, r.err)
		}
	}
}

// closedURL is the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/cb"
}
