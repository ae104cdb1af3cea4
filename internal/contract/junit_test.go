package contract

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/livecb/livecb/internal/jsonx"
)

// TestJUnitEscapesWhatViewersInterpret writes a report whose reason,
// answer, verify output and target hold every kind of hostile text, reads
// it back with encoding/xml and compares the exact text; the file itself
// holds no such rune raw.
func TestJUnitEscapesWhatViewersInterpret(t *testing.T) {
	hostile := "a\x00b\x1b[31mc\u009b2Jd\u202egpj.exe\u2066e\u200ef\u061cg\r\nh\x7fi\xffj\ufffek\u2028l\u200bm"
	const shown = `a\x00b\x1b[31mc\u009b2Jd\u202egpj.exe\u2066e\u200ef\u061cg\r` + "\n" +
		`h\x7fi\xffj\ufffek\u2028l\u200bm`
	c := &Case{Name: "sample/publish_started", Rule: "rule\twith a tab"}
	results := []Result{{
		Case: c, Outcome: Fail, Failed: 0,
		Reason: "answered 500 " + hostile,
		Exchanges: []Exchange{{
			URL: "http://127.0.0.1:1/cb?token=abc&sig=def&x=1", ContentType: "application/json", Body: []byte(`{"a":1}`),
			Status: 500, Answer: []byte(hostile + "\n" + `{"access_token":"eyJ0eXAi"}`),
		}},
		Verify: &Verify{ExitCode: 1, Stderr: "Authorization: Bearer s3cr3t-t0ken\r\n"},
	}, {
		Case: &Case{Name: "duplicate/x\u202e", Rule: "r"}, Outcome: Skip, Failed: -1, Reason: "skipped \u009b",
	}}
	doc := JUnit(results, time.Unix(0, 0), time.Second, map[string]string{"target": "http://user:pw@h/cb?auth_key=k\x1b"})
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, doc); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	if !utf8.ValidString(raw) {
		t.Fatal("the report is not valid UTF-8")
	}
	for i, r := range raw {
		if (jsonx.Unsafe(r) && r != '\n') || r == 0xfffe || r == 0xffff {
			t.Fatalf("the report holds %U raw at byte %d:\n%s", r, i, raw)
		}
	}
	for _, secret := range []string{"abc", "def", "pw@", "auth_key=k", "eyJ0eXAi", "s3cr3t"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the report holds the secret %q:\n%s", secret, raw)
		}
	}

	var back JUnitSuites
	if err := xml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("the report is not XML: %v\n%s", err, raw)
	}
	suite := back.Suites[0]
	if got, want := suite.Properties[0].Value, `http://user:%5Bmasked%5D@h/cb?auth_key=%5Bmasked%5D`; got != want {
		t.Errorf("target property = %q, want %q", got, want)
	}
	fail := suite.Cases[0]
	if fail.SystemOut != `rule: rule\twith a tab` {
		t.Errorf("system-out = %q", fail.SystemOut)
	}
	if got, want := fail.Failure.Message, "answered 500 "+shown; got != want {
		t.Errorf("failure message\n got %q\nwant %q", got, want)
	}
	wantText := "rule:    rule\\twith a tab\n" +
		"request: POST http://127.0.0.1:1/cb?token=%5Bmasked%5D&sig=%5Bmasked%5D&x=1 (Content-Type: application/json, 7 bytes)\n" +
		"         {\"a\":1}\n" +
		"answer:  500 Internal Server Error after 0s\n" +
		// The excerpt has made the invalid byte U+FFFD already.
		"         " + strings.Replace(shown, `\xff`, "\uFFFD", 1) + "\n" + `{"access_token":"[masked]"}` + "\n" +
		"verify:  exit 1\n" +
		"         Authorization: Bearer [masked]\n"
	if fail.Failure.Text != wantText {
		t.Errorf("failure text\n got %q\nwant %q", fail.Failure.Text, wantText)
	}
	skip := suite.Cases[1]
	if skip.Name != `duplicate/x\u202e` || skip.Skipped == nil || skip.Skipped.Message != `skipped \u009b` {
		t.Errorf("skipped case = %+v", skip)
	}
}
