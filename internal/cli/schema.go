package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/event"
)

func newSchemaCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "schema [KIND]",
		Short: "Print the JSON Schema of every kind, or of one",
		Long: `Print the JSON Schema (draft 2020-12) livecb validates with. Receivers in
any language can use it. Without KIND, prints one document whose $defs hold
every kind's schema and whose anyOf accepts a body valid as at least one of
them (not oneOf: unknown fields are allowed, so a body can be valid as two
kinds). A schema cannot tell which kind a body is; livecb validate does that
from the body's fields first.

A schema cannot express every rule: livecb validate also checks times in
order, URLs, timestamps that are not milliseconds, and reports the spec's
type drift and unknown fields as warnings.`,
		Example: `  livecb schema record_done > record_done.schema.json
  livecb schema > live-callback.schema.json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeKinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			doc := event.SchemaDocumentJSON()
			if len(args) == 1 {
				k, err := parseKind(args[0])
				if err != nil {
					return err
				}
				doc = event.SchemaJSON(k)
			}
			_, err := fmt.Fprintf(app.Out, "%s\n", doc)
			return err
		},
	}
}
