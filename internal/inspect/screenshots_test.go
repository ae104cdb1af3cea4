package inspect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
)

// The screenshots in docs/images are made by this test: with
// UPDATE_SCREENSHOTS=1 it writes them, otherwise it checks they are
// current. Pixels differ from one machine to another (fonts, anti-aliasing,
// Chromium's version), so the check compares what the picture shows
// instead: a text snapshot of the page committed beside each PNG (the
// visible text, every drawn SVG element with its geometry, and the hashes of
// the style sheet and the script that painted it). A change to the pages
// changes the snapshot, and the test says to regenerate.

const imagesDir = "../../docs/images"

// demoCapture writes a capture log of fixed content: one stream's whole
// life (with a duplicate, a gap and a late recording), a stream with
// invalid callbacks, a GET. The records are made as the listener makes them
// (event.Check for the findings) but with fixed times.
func demoCapture(t *testing.T, path string) {
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	snap := func(s int) []byte { return body(t, event.Snapshot, "snapshotTime", msOf(s)) }
	other := func(b []byte) []byte {
		b, _ = event.Set(b, "streamName", []byte(`"lobby-cam"`))
		return b
	}
	noStatus, _ := event.Unset(other(body(t, event.RecordDone, "fileSize", "187500000")), "status")
	type req struct {
		at     int
		method string
		path   string
		body   []byte
		status int
	}
	reqs := []req{
		{0, "POST", "/stream", body(t, event.PublishStarted), 200},
		{60, "POST", "/snapshot", snap(60), 200},
		{61, "POST", "/stream", other(body(t, event.PublishStarted, "eventTime", `"`+msOf(61)+`"`)), 200},
		{120, "POST", "/snapshot", snap(120), 200},
		{121, "POST", "/snapshot", snap(60), 200},
		{161, "POST", "/quality", body(t, event.Quality, "startTime", msOf(150), "endTime", msOf(160)), 200},
		{180, "POST", "/snapshot", snap(180), 200},
		{200, "GET", "/stream", nil, 405},
		{240, "POST", "/snapshot", snap(240), 200},
		{420, "POST", "/snapshot", snap(420), 200},
		{600, "POST", "/stream", body(t, event.PublishDone), 200},
		{602, "POST", "/record", body(t, event.RecordDone), 200},
		{604, "POST", "/record", body(t, event.TaskRecordDone), 200},
		{605, "POST", "/record", noStatus, 500},
		{800, "POST", "/record", body(t, event.RecordDone, "beginTime", msOf(700), "endTime", msOf(800)), 200},
	}
	for i, r := range reqs {
		rec := &capture.Record{Time: t0.Add(time.Duration(r.at) * time.Second), Remote: fmt.Sprintf("203.0.113.9:%d", 40000+i),
			Method: r.method, Target: r.path, Host: "127.0.0.1:8080",
			Header: http.Header{"Content-Type": {"application/json"}, "User-Agent": {"JDCloud-Live-Callback/1.1"}},
			Answer: capture.Answer{Status: r.status}}
		rec.SetBody(r.body)
		rec.Size = int64(len(r.body))
		if r.method == "POST" {
			ev, fs := event.Check(r.body, event.Options{})
			if ev != nil {
				rec.Kind = ev.Kind
			}
			rec.Findings = fs
		} else {
			rec.Findings = event.Findings{{Severity: event.Error, Code: "method_not_allowed", Message: "GET request: callbacks are POSTs; answered 405"}}
			rec.Answer.Body = "livecb listen: callbacks are POST requests\n"
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
}

// pageSnapshot describes what a page shows, for the staleness check.
const pageSnapshot = `(() => {
  const lines = [];
  const main = document.querySelector('main');
  lines.push('header: ' + document.querySelector('header').innerText.replace(/\s+/g, ' ').trim());
  for (const l of main.innerText.split('\n')) if (l.trim()) lines.push(l.replace(/\s+$/, ''));
  for (const e of document.querySelectorAll('svg#timeline *')) {
    if (e.tagName === 'title') continue;
    const a = [];
    for (const n of ['x', 'y', 'width', 'height', 'x1', 'x2', 'y1', 'y2', 'd']) {
      const v = e.getAttribute(n);
      if (v !== null) a.push(n + '=' + v.replace(/-?\d+\.\d+/g, (m) => (+m).toFixed(1)));
    }
    lines.push('svg ' + e.tagName + '.' + (e.getAttribute('class') || '').replace(/ /g, '.') + ' ' + a.join(' '));
  }
  return lines.join('\n');
})()`

func TestScreenshots(t *testing.T) {
	ctx := tab(t)
	images, err := filepath.Abs(imagesDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir) // the pages show the file's name as given
	demoCapture(t, "capture.ndjson")
	in, err := Open([]string{"capture.ndjson"}, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	srv, err := NewServer(in, ServerOptions{Addr: "127.0.0.1:0", Title: "capture.ndjson", ForwardTo: "http://127.0.0.1:3000/"})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Shutdown(context.Background())

	update := os.Getenv("UPDATE_SCREENSHOTS") != ""
	assets := fmt.Sprintf("assets: app.css %s, app.js %s", short(appCSS), short(appJS))
	for _, p := range []struct {
		name, hash, ready string
		full              bool   // the whole page, not the viewport
		then              string // run once ready
	}{
		{"list", "#/", `document.querySelectorAll('#rows tr.row').length === 15`, false, ""},
		{"detail", "#/r/13", `document.querySelector('.code.pretty .mark')`, true, `document.getElementById('resend-open').click()`},
		{"timeline", "#/t/" + url.PathEscape("push.example.com/live/cam1"), `document.querySelectorAll('svg#timeline path.anomaly-mark').length === 3`, false, ""},
	} {
		do(t, ctx, chromedp.Navigate(srv.URL()+p.hash))
		until(t, ctx, p.name, p.ready)
		if p.then != "" {
			js[any](t, ctx, p.then)
		}
		snap := assets + "\n" + js[string](t, ctx, pageSnapshot) + "\n"
		png := filepath.Join(images, "inspector-"+p.name+".png")
		txt := filepath.Join(images, "inspector-"+p.name+".txt")
		if update {
			take := chromedp.CaptureScreenshot()
			if p.full {
				take = chromedp.FullScreenshot(100)
			}
			shot, err := chromedp.Run(ctx, take)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(png, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(txt, []byte(snap), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(txt)
		if err != nil {
			t.Fatalf("%v: make the screenshots with UPDATE_SCREENSHOTS=1 go test ./internal/inspect -run TestScreenshots", err)
		}
		if _, err := os.Stat(png); err != nil {
			t.Errorf("%v: make it with UPDATE_SCREENSHOTS=1 go test ./internal/inspect -run TestScreenshots", err)
		}
		if !bytes.Equal(want, []byte(snap)) {
			t.Errorf("docs/images/inspector-%s.png is stale: the page differs from the snapshot beside it (%s):\n%s\nregenerate both with UPDATE_SCREENSHOTS=1 go test ./internal/inspect -run TestScreenshots",
				p.name, txt, diffLines(string(want), snap))
		}
	}
}

func short(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// diffLines shows the lines of b that differ from a's (a short, readable
// difference; the files themselves are in docs/images).
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  committed: %s\n  now:       %s", i+1, x, y))
		}
		if len(out) == 10 {
			out = append(out, "...")
			break
		}
	}
	return strings.Join(out, "\n")
}
