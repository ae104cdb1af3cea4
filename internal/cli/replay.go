package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder, replaced by the real command.
func newReplayCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "replay", Hidden: true, RunE: func(*cobra.Command, []string) error {
		return errors.New("replay: not built yet")
	}}
}
