package completions

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestCurrent fails when the committed scripts are out of date.
func TestCurrent(t *testing.T) {
	for shell, file := range Files {
		want, err := Generate(shell)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v: run go generate ./completions", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: run go generate ./completions", file)
		}
	}
}

// TestScripts checks each script is the shell's and calls livecb back for
// dynamic completion.
func TestScripts(t *testing.T) {
	marks := map[string][]string{
		"bash":       {"__start_livecb", "complete -o default -F __start_livecb livecb", "__complete"},
		"zsh":        {"#compdef livecb", "compdef _livecb livecb", "__complete"},
		"fish":       {"complete -c livecb", "__complete"},
		"powershell": {"Register-ArgumentCompleter", "-CommandName 'livecb'", "__complete"},
	}
	for shell, want := range marks {
		script, err := Generate(shell)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(script), w) {
				t.Errorf("%s script lacks %q", shell, w)
			}
		}
	}
	if _, err := Generate("tcsh"); err == nil {
		t.Error("livecb completion tcsh should fail")
	}
}
