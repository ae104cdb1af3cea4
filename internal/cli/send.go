package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder, replaced by the real command.
func newSendCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "send", Hidden: true, RunE: func(*cobra.Command, []string) error {
		return errors.New("send: not built yet")
	}}
}
