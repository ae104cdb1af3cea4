package listen_test

// What `livecb listen` prints of hostile bytes and secrets, and what it
// keeps: the terminal gets escaped, masked text; the capture the exact
// bytes (unless --redact). The command runs in-process through cli.Main.

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/cli"
)

type listenRun struct {
	url      string
	done     chan struct{}
	code     int
	out, err bytes.Buffer
}

// runListen starts `livecb listen --port 0 --ready-file F args...` and
// waits until it is ready.
func runListen(t *testing.T, args ...string) *listenRun {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "url")
	l := &listenRun{done: make(chan struct{})}
	all := append([]string{"listen", "--port", "0", "--ready-file", ready}, args...)
	go func() {
		defer close(l.done)
		l.code = cli.Main(all, cli.Streams{In: strings.NewReader(""), Out: &l.out, Err: &l.err,
			Getenv: func(string) string { return "" }}, cli.BuildInfo{Version: "test"})
	}()
	for i := 0; i < 2000; i++ {
		if b, err := os.ReadFile(ready); err == nil {
			l.url = strings.TrimSpace(string(b))
			return l
		}
		select {
		case <-l.done:
			t.Fatalf("listen exited %d: %s", l.code, l.err.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("listen never got ready")
	return nil
}

func (l *listenRun) wait(t *testing.T) {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(30 * time.Second):
		t.Fatal("listen did not stop")
	}
}

func send(t *testing.T, url string, body []byte, header http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header = header
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func readCapture(t *testing.T, path string) []*capture.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*capture.Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		r, err := capture.Parse(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// Secrets sent by the hostile sender, each of which must never reach the
// terminal.
const (
	secretAuth   = "Bearer s3cr3t-b34r3r"
	secretCookie = "session=c00k13"
	secretKey    = "1700000000-0-0-4uthk3y"
	secretQuery  = "qu3ryt0k3n"
	secretHeader = "4p1k3y"
)

func hostileRequests() (bodies [][]byte, header http.Header, target string) {
	// Raw control bytes and invalid UTF-8 (not valid JSON: shown as bytes),
	// and the same hidden in JSON escapes (decoded into field values).
	raw := []byte("{\"event\":\"publish_started\",\"streamName\":\"cam\x1b[2J\x1b]0;pwned\x07\x00\xff\xfe\",\"pushParams\":{\"auth_key\":\"" + secretKey + "\"}}")
	escaped := []byte(`{"version":"v1.1","publishDomain":"push.example.com","appName":"live","streamName":"cam\u001b[31mRED\u0000\u202e","event":"publish_started","status":"success","clientIp":"203.0.113.7","eventTime":1700000000000,"pushParams":{"a":"1","auth_key":"` + secretKey + `","txSecret":"` + secretKey + `"}}`)
	header = http.Header{
		"Content-Type":  {"application/json"},
		"Authorization": {secretAuth},
		"Cookie":        {secretCookie},
		"X-Api-Key":     {secretHeader},
		// Control bytes in headers are refused by net/http itself; a
		// bidirectional override is not.
		"X-Evil": {"ab\u202ec"},
	}
	return [][]byte{raw, escaped}, header, "/cb?a=1&token=" + secretQuery
}

// TestTerminalShowsHostileBytesEscapedAndSecretsMasked: listen -v prints
// control bytes, escape sequences and invalid UTF-8 escaped, and masks
// secrets; the capture keeps every byte and every secret.
func TestTerminalShowsHostileBytesEscapedAndSecretsMasked(t *testing.T) {
	save := filepath.Join(t.TempDir(), "cap.ndjson")
	l := runListen(t, "-v", "--count", "2", "--save", save)
	bodies, header, target := hostileRequests()
	for _, b := range bodies {
		send(t, l.url+target, b, header)
	}
	l.wait(t)
	out := l.out.String()
	for i := 0; i < len(out); i++ {
		if c := out[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			t.Fatalf("raw control byte %#x reached the terminal at %d: %q", c, i, out[max(0, i-40):min(len(out), i+40)])
		}
	}
	if !strings.Contains(out, `X-Evil: ab\u202ec`) || !strings.Contains(out, `\xfe`) || !strings.Contains(out, `\x1b[2J`) || !strings.Contains(out, `\u202e`) {
		t.Errorf("escapes not shown:\n%s", out)
	}
	for _, s := range []string{secretAuth, secretCookie, secretKey, secretQuery, secretHeader} {
		if strings.Contains(out, s) || strings.Contains(l.err.String(), s) {
			t.Errorf("secret %q reached the terminal:\n%s", s, out)
		}
	}
	for _, want := range []string{"Authorization: [masked]", "Cookie: [masked]", "X-Api-Key: [masked]",
		`"auth_key": "[masked]"`, `"txSecret": "[masked]"`, "token=%5Bmasked%5D", `"a": "1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	recs := readCapture(t, save)
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		got, _ := r.Bytes()
		if !bytes.Equal(got, bodies[i]) {
			t.Errorf("record %d: captured %q, sent %q", i, got, bodies[i])
		}
		if r.Header.Get("Authorization") != secretAuth || r.Header.Get("Cookie") != secretCookie || r.Target != target ||
			r.Header.Get("X-Evil") != "ab\u202ec" || r.Redacted {
			t.Errorf("record %d does not keep the request as it came: %s %v", i, r.Target, r.Header)
		}
	}
}

// TestRedactMasksSecretsInTheCaptureToo: with --redact no secret is written
// to disk, everything else is kept, and the record says it was redacted.
func TestRedactMasksSecretsInTheCaptureToo(t *testing.T) {
	save := filepath.Join(t.TempDir(), "cap.ndjson")
	l := runListen(t, "--redact", "--count", "2", "--save", save, "--output", "json")
	bodies, header, target := hostileRequests()
	for _, b := range bodies {
		send(t, l.url+target, b, header)
	}
	l.wait(t)
	file, _ := os.ReadFile(save)
	for _, s := range []string{secretAuth, secretCookie, secretKey, secretQuery, secretHeader} {
		if bytes.Contains(file, []byte(s)) || strings.Contains(l.out.String(), s) {
			t.Errorf("secret %q is in the redacted capture or output", s)
		}
	}
	recs := readCapture(t, save)
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		if !r.Redacted || r.Header.Get("Authorization") != "[redacted]" || r.Header.Get("Content-Type") != "application/json" ||
			r.Target != "/cb?a=1&token=%5Bredacted%5D" || r.Size != int64(len(bodies[i])) {
			t.Errorf("record %d: redacted %v target %s header %v size %d", i, r.Redacted, r.Target, r.Header, r.Size)
		}
	}
	// The JSON body is masked field by field; the rest keeps its bytes
	// (escapes included). Findings are those of the body as it arrived.
	want := strings.Replace(strings.Replace(string(bodies[1]), `"auth_key":"`+secretKey, `"auth_key":"[redacted]`, 1),
		`"txSecret":"`+secretKey, `"txSecret":"[redacted]`, 1)
	if got, _ := recs[1].Bytes(); string(got) != want {
		t.Errorf("redacted body\n%s\nwant\n%s", got, want)
	}
	if recs[1].Kind != "publish_started" {
		t.Errorf("kind %q", recs[1].Kind)
	}
	// The first body is not JSON (raw control bytes): its secret is found
	// by pattern; every other byte is kept.
	want = strings.Replace(string(bodies[0]), secretKey, "[redacted]", 1)
	if got, _ := recs[0].Bytes(); string(got) != want {
		t.Errorf("non-JSON body redacted into %q, want %q", got, want)
	}
}

// TestListenBindsLoopbackByDefault: without --host the listener is not
// reachable on the machine's other addresses; --host elsewhere warns.
func TestListenBindsLoopbackByDefault(t *testing.T) {
	l := runListen(t, "--count", "1")
	if !strings.HasPrefix(l.url, "http://127.0.0.1:") {
		t.Errorf("default URL %s, want 127.0.0.1", l.url)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(l.url, "http://"))
	if ip := nonLoopbackIP(); ip != "" {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), 2*time.Second)
		if err == nil {
			conn.Close()
			t.Errorf("the listener answers on %s, a non-loopback address", ip)
		}
	} else {
		t.Log("no non-loopback address on this machine: only the URL is checked")
	}
	send(t, l.url, []byte(`{}`), http.Header{"Content-Type": {"application/json"}})
	l.wait(t)
	if strings.Contains(l.err.String(), "not a loopback address") {
		t.Errorf("warning for the default host:\n%s", l.err.String())
	}

	w := runListen(t, "--host", "0.0.0.0", "--count", "1")
	send(t, w.url, []byte(`{}`), http.Header{"Content-Type": {"application/json"}})
	w.wait(t)
	if !strings.Contains(w.err.String(), "--host 0.0.0.0 is not a loopback address") {
		t.Errorf("no warning for --host 0.0.0.0:\n%s", w.err.String())
	}
}

func nonLoopbackIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

// TestForwardingErrorsDoNotLeakSecrets: a forwarding error quotes the URL,
// query included; neither the terminal nor a --redact capture shows its
// secret parameters.
func TestForwardingErrorsDoNotLeakSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // connection refused from now on
	for _, redacted := range []bool{false, true} {
		save := filepath.Join(t.TempDir(), "cap.ndjson")
		args := []string{"--forward-to", dead, "--count", "1", "--save", save}
		if redacted {
			args = append(args, "--redact")
		}
		l := runListen(t, args...)
		send(t, l.url+"/cb?sign="+secretQuery, []byte(`{"event":"publish_done"}`), http.Header{"Content-Type": {"application/json"}})
		l.wait(t)
		file, _ := os.ReadFile(save)
		if !strings.Contains(l.out.String(), "forwarding to") || !bytes.Contains(file, []byte("forwarded")) {
			t.Fatalf("no forwarding failure shown:\n%s\n%s", l.out.String(), file)
		}
		if strings.Contains(l.out.String(), secretQuery) {
			t.Errorf("the secret reached the terminal through the forwarding error:\n%s", l.out.String())
		}
		if redacted == bytes.Contains(file, []byte(secretQuery)) {
			t.Errorf("--redact %v: capture:\n%s", redacted, file)
		}
	}
}
