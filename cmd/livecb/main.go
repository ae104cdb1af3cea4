// Command livecb tests the HTTP callbacks of a live-video cloud service.
package main

import (
	"os"

	"github.com/livecb/livecb/internal/cli"
)

// Set at release time by goreleaser's -ldflags "-X main.version=...".
var (
	version = ""
	commit  = ""
	date    = ""
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.StdStreams(), cli.DevBuild(version, commit, date)))
}
