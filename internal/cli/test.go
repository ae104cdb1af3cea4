package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder, replaced by the real command.
func newTestCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "test", Hidden: true, RunE: func(*cobra.Command, []string) error {
		return errors.New("test: not built yet")
	}}
}
