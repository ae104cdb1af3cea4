package contract

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// docs/contract.md describes every family under a heading of its name,
// in the suite's order, and no family that is not one.
func TestDocsDescribeEveryFamily(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "contract.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile(`(?s)\n## Families and their rules\n(.*?)\n## `).FindSubmatch(b)
	if section == nil {
		t.Fatal(`docs/contract.md has no "## Families and their rules" section`)
	}
	var documented, want []string
	for _, m := range regexp.MustCompile(`(?m)^### (\S+)$`).FindAllSubmatch(section[1], -1) {
		documented = append(documented, string(m[1]))
	}
	for _, fi := range Families() {
		want = append(want, string(fi.Family))
	}
	if !slices.Equal(documented, want) {
		t.Errorf("docs/contract.md describes the families\n  %v\nthe suite has\n  %v", documented, want)
	}
}
