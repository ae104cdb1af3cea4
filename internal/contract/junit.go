package contract

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/livecb/livecb/internal/redact"
	"github.com/livecb/livecb/internal/term"
)

// JUnit XML as GitHub Actions reporters, GitLab and Jenkins read it: one
// testsuite, one testcase per case, a failure element whose message is the
// reason and whose text holds the rule, the request and the answer.

// JUnitSuites is the document's root element.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one run of the suite.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property,omitempty"`
	Cases      []JUnitCase     `xml:"testcase"`
}

// JUnitProperty records a setting of the run (target, seed).
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one case.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitMessage `xml:"failure,omitempty"`
	Skipped   *JUnitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitMessage is a failure or a skip.
type JUnitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	// Text is CDATA so that reports stay readable; reportText keeps it valid.
	Text string `xml:",cdata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// JUnit builds the report of a run that started at start. Every string in
// it goes through reportText. The suite's properties are the run's
// settings (props) and, per family of cases, how many passed, failed and
// were skipped ("family.burst.failed"). A case the run's interruption
// skipped (not run, or cut short) is a skipped testcase whose message says
// so; CI viewers count it as neither passed nor failed.
func JUnit(results []Result, start time.Time, total time.Duration, props map[string]string) JUnitSuites {
	suite := JUnitSuite{Name: "livecb contract suite", Time: seconds(total), Timestamp: start.UTC().Format("2006-01-02T15:04:05")}
	for _, k := range []string{"target", "seed", "timeout", "expect-status", "burst"} {
		if v, ok := props[k]; ok {
			suite.Properties = append(suite.Properties, JUnitProperty{Name: k, Value: reportText(v)})
		}
	}
	for _, t := range Summarize(results).Families {
		for _, p := range []struct {
			what string
			n    int
		}{{"passed", t.Passed}, {"failed", t.Failed}, {"skipped", t.Skipped}} {
			suite.Properties = append(suite.Properties, JUnitProperty{Name: reportText("family." + string(t.Family) + "." + p.what), Value: fmt.Sprint(p.n)})
		}
	}
	for _, r := range results {
		if r.Case == nil {
			continue
		}
		jc := JUnitCase{Name: reportText(r.Case.Name), Classname: reportText("livecb." + string(r.Case.Family)), Time: seconds(r.Duration),
			SystemOut: reportText("rule: " + r.Case.Rule)}
		suite.Tests++
		switch r.Outcome {
		case Fail:
			suite.Failures++
			typ := "status"
			switch {
			case r.Failed >= 0 && r.Exchanges[r.Failed].Err != "":
				typ = string(r.Exchanges[r.Failed].Cause)
			case r.Verify != nil:
				typ = "verify-cmd"
			case r.Failed < 0:
				typ = "verify"
			}
			jc.Failure = &JUnitMessage{Message: reportText(r.Reason), Type: reportText(typ), Text: reportText(Details(r))}
		case Skip:
			suite.Skipped++
			jc.Skipped = &JUnitMessage{Message: reportText(r.Reason)}
		}
		suite.Cases = append(suite.Cases, jc)
	}
	return JUnitSuites{Name: "livecb test", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []JUnitSuite{suite}}
}

// WriteJUnit writes the report as an XML document.
func WriteJUnit(w io.Writer, doc JUnitSuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteJUnitFile writes the report to a file, replacing it.
func WriteJUnitFile(name string, doc JUnitSuites) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := WriteJUnit(f, doc); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Details is a failure's rule, request and answer, as plain text (the
// caller sanitises it for a terminal).
func Details(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule:    %s\n", r.Case.Rule)
	if r.Failed >= 0 {
		ex := r.Exchanges[r.Failed]
		fmt.Fprintf(&b, "request: POST %s (Content-Type: %s, %d bytes)\n", ex.URL, ex.ContentType, len(ex.Body))
		fmt.Fprintf(&b, "         %s\n", excerpt(ex.Body, 300))
		switch {
		case ex.Err != "":
			fmt.Fprintf(&b, "answer:  none after %s: %s\n", ex.Latency.Round(100*time.Microsecond), ex.Err)
		default:
			fmt.Fprintf(&b, "answer:  %d %s after %s\n", ex.Status, http.StatusText(ex.Status), ex.Latency.Round(100*time.Microsecond))
			if len(ex.Answer) > 0 {
				fmt.Fprintf(&b, "         %s\n", strings.TrimSpace(excerpt(ex.Answer, 300)))
			}
		}
	}
	if r.Failures > 1 {
		var others []string
		for i := r.Failed + 1; i < len(r.Exchanges); i++ {
			if r.Exchanges[i].Problem != "" {
				others = append(others, fmt.Sprint(i+1))
			}
		}
		if len(others) > 10 {
			others = append(others[:10], "...")
		}
		fmt.Fprintf(&b, "others:  %d more of the %d requests failed (requests %s)\n", r.Failures-1, len(r.Exchanges), strings.Join(others, ", "))
	}
	if r.Verify != nil && (r.Verify.ExitCode != 0 || r.Verify.Err != "") {
		if r.Verify.TimedOut {
			fmt.Fprintf(&b, "verify:  killed (it ran past its time limit)\n")
		} else {
			fmt.Fprintf(&b, "verify:  exit %d\n", r.Verify.ExitCode)
		}
		if s := strings.TrimSpace(r.Verify.Stderr); s != "" {
			for _, line := range strings.Split(s, "\n") {
				fmt.Fprintf(&b, "         %s\n", line)
			}
		}
	}
	return b.String()
}

// reportText is a string as the report holds it. A report is read in CI
// viewers and terminals, and kept as a build artefact, so:
//   - secrets are masked (redact.String): the target's query, an answer or
//     a verify command's output may quote one;
//   - what a terminal or a viewer would interpret is shown escaped, as
//     term.SanitizeLines shows it (\x1b, \u009b, \u202e, \xff for a byte
//     of invalid UTF-8), keeping the newlines between lines. That covers
//     the C0 controls XML 1.0 forbids and CR, which an XML reader would
//     turn into LF (in CDATA no character reference can keep it), so a
//     report shows \r where the answer had one;
//   - U+FFFE and U+FFFF, which XML 1.0 forbids and a terminal does not
//     mind, are escaped too (\ufffe).
func reportText(s string) string {
	return xmlNonChars.Replace(term.SanitizeLines(redact.String(s, redact.Display)))
}

var xmlNonChars = strings.NewReplacer("\ufffe", `\ufffe`, "\uffff", `\uffff`)
