package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/livecb/livecb/internal/event"
)

func newEventsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List the kinds of callback livecb knows",
		Long: `List every kind of callback the live-video service sends, with its family
(the console configures one callback URL per family and domain) and what it
means. 'livecb events show KIND' prints a kind's fields and sample body.`,
		Example: `  livecb events
  livecb events show task_record_done
  livecb events --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kinds := event.Kinds()
			if app.Output.Structured() {
				type row struct {
					Kind        event.Kind   `json:"kind"`
					Family      event.Family `json:"family"`
					Description string       `json:"description"`
				}
				for _, k := range kinds {
					if err := app.Output.Write(row{k.Kind, k.Family, k.Description}); err != nil {
						return ioError(err)
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(app.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, app.Color.Bold("KIND\tFAMILY\tDESCRIPTION"))
			for _, k := range kinds {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Kind, k.Family, k.Description)
			}
			if err := tw.Flush(); err != nil {
				return ioError(err)
			}
			return nil
		},
	}
	cmd.AddCommand(newEventsShowCmd(app))
	return cmd
}

func newEventsShowCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show KIND",
		Short: "Print a kind's fields and its sample body",
		Long: `Print a kind's fields, each with its JSON type, unit, whether it is
required and what it means, then the kind's sample body (the spec's sample,
corrected where the spec's text is broken). KIND completes in the shell.`,
		Example:           "  livecb events show record_done",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeKinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := parseKind(args[0])
			if err != nil {
				return err
			}
			info, _ := event.Info(k)
			sample := event.FixtureText(k)
			if app.Output.Structured() {
				type field struct {
					Name     string   `json:"name"`
					Type     string   `json:"type"`
					Unit     string   `json:"unit,omitempty"`
					Required bool     `json:"required"`
					Meaning  string   `json:"meaning"`
					Values   []string `json:"values,omitempty"`
					Expected []string `json:"expected,omitempty"`
				}
				out := struct {
					Kind        event.Kind      `json:"kind"`
					Family      event.Family    `json:"family"`
					Description string          `json:"description"`
					Fields      []field         `json:"fields"`
					Sample      json.RawMessage `json:"sample"`
				}{Kind: k, Family: info.Family, Description: info.Description, Sample: event.Fixture(k)}
				for _, f := range flatten(info.Fields, "") {
					out.Fields = append(out.Fields, field{f.Name, f.TypeName(), f.Unit, f.Required, f.Doc, f.Enum, f.Expected})
				}
				if err := app.Output.Write(out); err != nil {
					return ioError(err)
				}
				return nil
			}
			fmt.Fprintf(app.Out, "%s (family: %s)\n%s\n\n", app.Color.Bold(string(k)), info.Family, info.Description)
			tw := tabwriter.NewWriter(app.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, app.Color.Bold("FIELD\tTYPE\tUNIT\tREQUIRED\tMEANING"))
			for _, f := range flatten(info.Fields, "") {
				req := "no"
				if f.Required {
					req = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, f.TypeName(), f.Unit, req, f.Doc)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if legacy := event.LegacyNames(k); len(legacy) > 0 {
				var names []string
				for old, now := range legacy {
					names = append(names, fmt.Sprintf("%s (for %s)", old, now))
				}
				sort.Strings(names)
				fmt.Fprintf(app.Out, "\nAlso accepted, with a warning: %s: the names in the spec's table.\n", strings.Join(names, ", "))
			}
			fmt.Fprintf(app.Out, "\nSample (fixtures/%s.json):\n%s", k, sample)
			if len(sample) > 0 && sample[len(sample)-1] != '\n' {
				fmt.Fprintln(app.Out)
			}
			return nil
		},
	}
}

// flatten lists fields with array items as "group[].beginTime".
func flatten(fields []event.Field, prefix string) []event.Field {
	var out []event.Field
	for _, f := range fields {
		f.Name = prefix + f.Name
		out = append(out, f)
		if len(f.Items) > 0 {
			out = append(out, flatten(f.Items, f.Name+"[].")...)
		}
	}
	return out
}

// parseKind is event.ParseKind with a usage error that suggests the fix.
func parseKind(name string) (event.Kind, error) {
	k, err := event.ParseKind(name)
	if err != nil {
		return "", &ExitError{Code: ExitUsage, Err: err}
	}
	return k, nil
}

// completeKinds completes kind names with their descriptions.
func completeKinds(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, k := range event.Kinds() {
		if strings.HasPrefix(string(k.Kind), toComplete) {
			out = append(out, string(k.Kind)+"\t"+k.Description)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
