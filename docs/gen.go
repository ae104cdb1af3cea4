//go:build ignore

// gen writes the generated reference of this directory; run it with
// `go generate ./docs`.
package main

import (
	"fmt"
	"os"

	"github.com/livecb/livecb/docs"
)

func main() {
	if err := docs.Generate("."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	text, err := os.ReadFile("configuration.md")
	if err == nil {
		var updated string
		if updated, err = docs.UpdateKeys(string(text)); err == nil {
			err = os.WriteFile("configuration.md", []byte(updated), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
