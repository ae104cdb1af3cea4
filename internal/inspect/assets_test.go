package inspect

import (
	"regexp"
	"strings"
	"testing"
)

// The script never turns data into markup or code: none of the APIs that
// parse HTML or run strings appears in it. (The browser tests show hostile
// text staying text; this keeps a later change from reaching for them.)
func TestScriptUsesNoHTMLParsingOrEval(t *testing.T) {
	forbidden := regexp.MustCompile(`\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|writeln|eval\s*\(|Function\s*\(|setTimeout\s*\(\s*['"\x60]|setInterval\s*\(\s*['"\x60]|createContextualFragment|DOMParser|srcdoc|javascript:)`)
	for i, line := range strings.Split(appJS, "\n") {
		code, _, _ := strings.Cut(line, "//")
		if m := forbidden.FindString(code); m != "" {
			t.Errorf("app.js:%d uses %s: %s", i+1, m, strings.TrimSpace(line))
		}
	}
	// Attributes set from data go through setAttribute; no inline handler
	// attribute (on...) is ever set.
	if regexp.MustCompile(`setAttribute\(\s*['"]on`).MatchString(appJS) {
		t.Error("app.js sets an event handler attribute")
	}
}

// A report inlines the assets: nothing in them may end their element.
func TestAssetsCanBeInlined(t *testing.T) {
	if strings.Contains(strings.ToLower(appJS), "</script") || strings.Contains(appJS, "<!--") {
		t.Error("app.js holds </script or <!--")
	}
	if strings.Contains(strings.ToLower(appCSS), "</style") {
		t.Error("app.css holds </style")
	}
	if !strings.Contains(indexHTML, "{{TOKEN}}") || strings.Contains(indexHTML, "<script>") || strings.Contains(indexHTML, "style=") {
		t.Error("index.html must carry the token placeholder and no inline script or style")
	}
}
