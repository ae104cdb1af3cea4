package inspect

import (
	"bytes"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/event"
)

// breakout would end the report's data element if it were written raw.
const breakout = `</script><script>window.__pwned=1</script><!--`

// A report is one page whose only scripts are its data (not run) and its
// own code, under a policy that allows that code by its hash and nothing
// from anywhere else; hostile data cannot end the data element.
func TestReportIsSelfContained(t *testing.T) {
	path := captureOf(t, "/cb?auth_key=s3cret", body(t, event.PublishDone, "streamName", `"`+strings.ReplaceAll(breakout, `"`, `\"`)+`"`))
	in, err := Open([]string{path}, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b bytes.Buffer
	if err := in.Export(&b, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(strings.ToLower(page), "<script"); n != 2 {
		t.Errorf("%d script elements, want the data and the code", n)
	}
	if strings.Contains(page, breakout) || strings.Count(page, "</script>") != 2 {
		t.Error("the hostile stream name reached the page unescaped")
	}
	policy := `content="default-src 'none'; script-src ` + cspHash(appJS) + `; style-src ` + cspHash(appCSS) + `; img-src data:; base-uri 'none'; form-action 'none'"`
	if !strings.Contains(page, policy) {
		t.Errorf("the page lacks the policy %s", policy)
	}
	for _, remote := range []string{"http://", "https://", "//cdn"} {
		if strings.Contains(page, `src="`+remote) || strings.Contains(page, `href="`+remote) {
			t.Errorf("the page loads something from %s", remote)
		}
	}
	if strings.Contains(page, "s3cret") {
		t.Error("the report shows a secret (auth_key); it masks them unless told to keep them")
	}
	var kept bytes.Buffer
	in.Export(&kept, ExportOptions{KeepSecrets: true})
	if !strings.Contains(kept.String(), "s3cret") {
		t.Error("KeepSecrets did not keep the secret")
	}
}
