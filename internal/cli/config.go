package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder, replaced by the real command.
func newConfigCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "config", Hidden: true, RunE: func(*cobra.Command, []string) error {
		return errors.New("config: not built yet")
	}}
}
