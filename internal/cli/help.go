package cli

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Help: usage first, then what the command does, its examples, its flags.
// Flags are listed without pflag's noise ("--dry-run[=true|false]",
// "(default [])") and repeatable ones say so once. A mistyped flag, command
// or help topic gets the nearest names.

const helpTemplate = `{{with .Short}}{{.}}

{{end}}Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} COMMAND [flags]{{end}}{{with .Long}}

{{trimTrailingWhitespaces .}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}{{$cmds := .Commands}}{{if eq (len .Groups) 0}}

Commands:{{range $cmds}}{{if .IsAvailableCommand}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{else}}{{range $group := .Groups}}

{{.Title}}{{range $cmds}}{{if (and (eq .GroupID $group.ID) .IsAvailableCommand)}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if not .AllChildCommandsHaveGroup}}

Other commands:{{range $cmds}}{{if (and (eq .GroupID "") .IsAvailableCommand)}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{flagUsages .LocalFlags}}{{end}}{{if .HasAvailableInheritedFlags}}

Global flags:
{{flagUsages .InheritedFlags}}{{end}}{{if .HasAvailableSubCommands}}

Run '{{.CommandPath}} COMMAND --help' for more about a command.{{end}}
`

func init() {
	cobra.AddTemplateFunc("flagUsages", flagUsages)
}

// setupHelp installs the help template, the help command and the flag
// error suggestions on the whole tree.
func setupHelp(root *cobra.Command) {
	root.SetHelpTemplate(helpTemplate)
	root.SetUsageTemplate(helpTemplate)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: suggestFlag(c, err)}
	})
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [COMMAND...]",
		Short: "Help about any command",
		Long:  "Print the help of a command: what it does, its examples and its flags.",
		Example: `  livecb help send
  livecb help config show`,
		Annotations: map[string]string{annotationNoKeys: "true", annotationTolerant: "true"},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, _ := c.Root().Find(args)
			var out []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 || cmd == nil {
				topic := strings.Join(args, " ")
				msg := fmt.Sprintf("no help topic %q", topic)
				if cmd != nil && len(rest) > 0 {
					cmd.SuggestionsMinimumDistance = 2
					if s := cmd.SuggestionsFor(rest[0]); len(s) > 0 {
						msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
					}
				}
				return usageErrorf("%s: run 'livecb --help' for the commands", msg)
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	})
}

// flagUsages lists a flag set for help.
func flagUsages(fs *pflag.FlagSet) string {
	type row struct{ left, right string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" {
			return
		}
		left := "      --" + f.Name
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		name, usage := pflag.UnquoteUsage(f)
		switch f.Value.Type() {
		case "bool":
			name = ""
		case "stringArray", "stringSlice":
			if name == "stringArray" || name == "strings" {
				name = "string"
			}
			if !strings.Contains(usage, "repeatable") {
				usage += " (repeatable)"
			}
		}
		if name != "" {
			left += " " + name
		}
		if def := shownDefault(f); def != "" {
			usage += " (default " + def + ")"
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%-*s   %s", width, r.left, r.right)
	}
	return b.String()
}

// shownDefault is a flag's default as help shows it: nothing for a zero
// value, an empty list or a default the usage already states.
func shownDefault(f *pflag.Flag) string {
	switch d := f.DefValue; {
	case d == "", d == "[]", d == "false", d == "0", d == "0s":
		return ""
	case strings.Contains(f.Usage, "(default"):
		return ""
	case f.Value.Type() == "string":
		return fmt.Sprintf("%q", d)
	default:
		return d
	}
}

// badFlagValue is pflag's error for a value a flag refuses.
var badFlagValue = regexp.MustCompile(`^invalid argument (".*") for "(?:-\w, )?(--[\w-]+)" flag: (.*)$`)

// badValue says why f refused a value in words, the same whether the value
// came from the command line, the environment or a config file; why is the
// flag's own error (a livecb flag's is in words already).
func badValue(f *pflag.Flag, why string) string {
	switch f.Value.Type() {
	case "int", "int64", "uint", "uint64":
		return "not a whole number"
	case "float64":
		return "not a number"
	case "bool":
		return "give true or false"
	case "duration":
		return "not a duration: give one such as 3s, 500ms or 2m"
	}
	return why
}

// suggestFlag adds the nearest flag names to an unknown-flag error, and
// says a refused value as every other error says it: --flag "value": why.
func suggestFlag(c *cobra.Command, err error) error {
	msg := err.Error()
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		why := m[3]
		if f := c.Flags().Lookup(strings.TrimPrefix(m[2], "--")); f != nil {
			why = badValue(f, why)
		}
		return fmt.Errorf("%s %s: %s", m[2], m[1], why)
	}
	var name string
	switch {
	case strings.HasPrefix(msg, "unknown flag: --"):
		name = strings.TrimPrefix(msg, "unknown flag: --")
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		return err
	default:
		return err
	}
	name, _, _ = strings.Cut(name, "=")
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := levenshtein.ComputeDistance(name, f.Name)
		if d <= max(2, len(name)/4) || (len(name) >= 4 && strings.HasPrefix(f.Name, name)) {
			cs = append(cs, cand{f.Name, d})
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(func(f *pflag.Flag) {
		if c.Flags().Lookup(f.Name) == nil {
			visit(f)
		}
	})
	if len(cs) == 0 {
		return fmt.Errorf("%s (see '%s --help' for the flags)", msg, c.CommandPath())
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].dist < cs[j].dist })
	var names []string
	for i := 0; i < len(cs) && i < 2; i++ {
		names = append(names, "--"+cs[i].name)
	}
	return fmt.Errorf("%s; did you mean %s?", msg, strings.Join(names, " or "))
}

// argsError says what cobra's argument checks found in the words of the
// command's usage line ("missing KIND: livecb events show KIND") instead of
// "accepts 1 arg(s), received 0".
func argsError(cmd *cobra.Command, args []string, err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "accepts ") && !strings.HasPrefix(msg, "requires at least ") && !strings.HasPrefix(msg, "unknown command ") {
		return err
	}
	want := strings.TrimSpace(strings.TrimPrefix(cmd.Use, cmd.Name()))
	line := cmd.CommandPath()
	if want != "" {
		line += " " + want
	}
	switch {
	case strings.HasPrefix(msg, "unknown command ") && cmd.HasAvailableSubCommands():
		return unknownCommand(cmd, args)
	case want == "" || want == "[flags]":
		return fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
	case len(args) == 0 || strings.HasPrefix(msg, "requires at least "):
		need := strings.Fields(strings.NewReplacer("[", "", "]", "", "...", "").Replace(want))[0]
		return fmt.Errorf("missing %s: %s", need, line)
	}
	return fmt.Errorf("too many arguments (%s): %s", strings.Join(args, " "), line)
}

// unknownCommand is cobra's "unknown command" error with the nearest
// commands on the same line.
func unknownCommand(cmd *cobra.Command, args []string) error {
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
	}
	return errors.New(msg)
}
