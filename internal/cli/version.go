package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// DevBuild fills in what a release stamps, from the module and VCS
// information the Go toolchain records in every build.
func DevBuild(version, commit, date string) BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Date: date}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

func newVersionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print livecb's version, commit and build date",
		Long: `Print the version, commit and build date that a release stamps into the
binary (from the Go toolchain's build information for go install and source
builds), and the Go version and platform it was built for.`,
		Example: `  livecb version
  livecb version --output json`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{annotationTolerant: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			b := app.Build
			if app.Output.Structured() {
				if err := app.Output.Write(map[string]string{
					"version": b.Version, "commit": b.Commit, "date": b.Date, "go": runtime.Version(),
				}); err != nil {
					return ioError(err)
				}
				return nil
			}
			if _, err := fmt.Fprintf(app.Out, "livecb %s\ncommit: %s\nbuilt:  %s\ngo:     %s %s/%s\n",
				b.Version, b.Commit, b.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH); err != nil {
				return ioError(err)
			}
			return nil
		},
	}
}
