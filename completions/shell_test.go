package completions

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/cli"
)

// TestMain lets this test binary act as livecb (for the shells to call back)
// when LIVECB_COMPLETIONS_AS_CLI is set.
func TestMain(m *testing.M) {
	if os.Getenv("LIVECB_COMPLETIONS_AS_CLI") == "1" {
		os.Exit(cli.Main(os.Args[1:], cli.StdStreams(), cli.DevBuild("", "", "")))
	}
	os.Exit(m.Run())
}

// TestBashCompletes loads the committed livecb.bash into a real bash with
// the bash-completion package, as a user's shell does, and completes.
func TestBashCompletes(t *testing.T) {
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Skip("no bash-completion package")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "livecb")); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(Files["bash"])
	if err != nil {
		t.Fatal(err)
	}
	complete := func(line string) []string {
		t.Helper()
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := `source ` + bashCompletion + `; source ` + script + `
COMP_WORDS=(` + strings.Join(quoted, " ") + `)
COMP_CWORD=$((${#COMP_WORDS[@]}-1))
COMP_LINE='` + line + `'
COMP_POINT=${#COMP_LINE}
__start_livecb
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "LIVECB_COMPLETIONS_AS_CLI=1", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		// stderr has compopt's complaint that no real completion is running.
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	for line, want := range map[string]string{
		"livecb eve":             "events",
		"livecb events show re":  "record_done",
		"livecb --output j":      "json",
		"livecb config show sen": "send",
		"livecb send --expect-s": "--expect-status",
	} {
		got := complete(line)
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("bash completes %q to %q, want %q among them", line, got, want)
		}
	}
}
