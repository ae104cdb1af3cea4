//go:build ignore

// gen writes the shell completion scripts of this directory; run it with
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
}
