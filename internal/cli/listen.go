package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder, replaced by the real command.
func newListenCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "listen", Hidden: true, RunE: func(*cobra.Command, []string) error {
		return errors.New("listen: not built yet")
	}}
}
