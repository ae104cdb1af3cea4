package cli

import (
	"encoding/json"
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
every kind and whose oneOf accepts any of them.

A schema cannot express every rule: livecb validate also checks times in
order, URLs, timestamps that are not milliseconds, and reports the spec's
type drift and unknown fields as warnings.`,
		Example: `  livecb schema record_done > record_done.schema.json
  livecb schema > live-callback.schema.json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeKinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				k, err := parseKind(args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(app.Out, "%s\n", event.SchemaJSON(k))
				return err
			}
			defs := map[string]any{}
			var oneOf []any
			for _, name := range event.KindNames() {
				s := event.Schema(event.Kind(name))
				delete(s, "$schema")
				defs[name] = s
				oneOf = append(oneOf, map[string]any{"$ref": s["$id"]})
			}
			all := map[string]any{
				"$schema":     "https://json-schema.org/draft/2020-12/schema",
				"$id":         event.SchemaBase + "callback.json",
				"title":       "live callback v1.1",
				"description": "any callback of the live-video service; see $defs for each kind",
				"$defs":       defs,
				"anyOf":       oneOf,
			}
			b, err := json.MarshalIndent(all, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(app.Out, "%s\n", b)
			return err
		},
	}
}
