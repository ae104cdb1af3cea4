package cli

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
)

// newProgress returns a progress bar on stderr, or nil when stderr is not a
// terminal or the output is structured (a CI log wants no bar). total -1
// is a spinner with a count.
func newProgress(app *App, total int64, what, unit string) *progressbar.ProgressBar {
	if !app.ErrTTY || app.Output.Structured() {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(app.Err),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSpinnerType(14),
	)
}

// clearProgress removes a bar from the terminal before the report.
func clearProgress(app *App, bar *progressbar.ProgressBar) {
	if bar == nil {
		return
	}
	bar.Clear() //nolint:errcheck // a progress bar that cannot draw is no failure
	fmt.Fprint(app.Err, "\r\033[K")
}
