//go:build ignore

// gen writes the shell completion scripts of this directory and the
// README's table of config keys; run it with
// `go generate ./completions`.
package main

import (
	"fmt"
	"os"

	"github.com/livecb/livecb/completions"
)

func main() {
	for shell, file := range completions.Files {
		script, err := completions.Generate(shell)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(file, script, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err == nil {
		var updated string
		updated, err = completions.UpdateREADME(string(readme))
		if err == nil && updated != string(readme) {
			err = os.WriteFile("../README.md", []byte(updated), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
