package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/livecb/livecb/internal/contract"
)

// contractCaseNames lists the contract suite's case names, with their
// rules as descriptions, for completing `livecb test --run` and --skip.
var contractCaseNames = func() []cobra.Completion {
	cases, err := contract.Suite(contract.SuiteOptions{Seed: 1})
	if err != nil {
		return nil
	}
	out := make([]cobra.Completion, 0, len(cases))
	for _, c := range cases {
		out = append(out, cobra.CompletionWithDesc(c.Name, c.Rule))
	}
	return out
}

// registerCompletions adds dynamic completion to flags that the commands did
// not give their own: --output values, config files, test-case names, and no
// file names for numbers, durations and URLs. Positional FILE arguments
// complete file names by cobra's default. It walks the whole tree, so
// commands added later are covered.
func registerCompletions(root *cobra.Command) {
	// Create cobra's completion command now (rather than at execution) to
	// make an unknown shell a usage error instead of a help page.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = cobra.NoArgs
			c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
			for _, sh := range c.Commands() {
				sh.RunE = generateCompletion(sh.Name())
			}
			c.Example = `  source <(livecb completion bash)                                # bash, this shell only
  livecb completion zsh > "${fpath[1]}/_livecb"                   # zsh
  livecb completion fish > ~/.config/fish/completions/livecb.fish # fish
  livecb completion powershell | Out-String | Invoke-Expression   # PowerShell`
		}
	}
	var formats []cobra.Completion
	for _, f := range outputFormats {
		formats = append(formats, cobra.CompletionWithDesc(f.name, f.help))
	}
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	_ = root.MarkPersistentFlagFilename("config", "yaml", "yml")

	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if root.PersistentFlags().Lookup(f.Name) == f {
				return
			}
			if _, ok := c.GetFlagCompletionFunc(f.Name); ok {
				return
			}
			if fn := flagCompletion(f); fn != nil {
				_ = c.RegisterFlagCompletionFunc(f.Name, fn)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// flagCompletion completes a flag by the kind of value it takes: the
// argument name its help shows (`URL`, `FILE`, `KIND`...), else its type.
// Only FILE and DIR arguments complete file names.
func flagCompletion(f *pflag.Flag) cobra.CompletionFunc {
	if _, isFile := f.Annotations[cobra.BashCompFilenameExt]; isFile {
		return nil
	}
	name, _ := pflag.UnquoteUsage(f)
	switch {
	case name == "FILE" || name == "DIR":
		return nil
	case name == "REGEXP":
		return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var out []cobra.Completion
			for _, c := range contractCaseNames() {
				if strings.HasPrefix(c, toComplete) {
					out = append(out, c)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
	case strings.HasPrefix(name, "KIND"):
		return completeKinds
	case name == "STATUS":
		return cobra.FixedCompletions([]cobra.Completion{"200", "2xx", "200,204", "4xx"}, cobra.ShellCompDirectiveNoFileComp)
	}
	return cobra.NoFileCompletions
}

// completeConfigKeys completes `config show` prefixes: command sections and keys.
func completeConfigKeys(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	seen := map[string]bool{}
	var out []cobra.Completion
	add := func(s string) {
		if !seen[s] && strings.HasPrefix(s, toComplete) {
			seen[s] = true
			out = append(out, s)
		}
	}
	add("routes")
	for _, e := range configEntries(cmd.Root()) {
		if i := strings.Index(e.key, "."); i > 0 {
			add(e.key[:i])
		}
		add(e.key)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// generateCompletion writes a shell's script to the command's output stream.
// cobra's own subcommands bind os.Stdout when they are created, before
// Main sets the streams; these write where Main says, so tests and `go
// generate` capture them.
func generateCompletion(shell string) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		desc := true
		if f := cmd.Flags().Lookup("no-descriptions"); f != nil && f.Value.String() == "true" {
			desc = false
		}
		w, root := cmd.OutOrStdout(), cmd.Root()
		switch shell {
		case "bash":
			return root.GenBashCompletionV2(w, desc)
		case "zsh":
			if desc {
				return root.GenZshCompletion(w)
			}
			return root.GenZshCompletionNoDesc(w)
		case "fish":
			return root.GenFishCompletion(w, desc)
		case "powershell":
			if desc {
				return root.GenPowerShellCompletionWithDesc(w)
			}
			return root.GenPowerShellCompletion(w)
		}
		return usageErrorf("no completion for shell %q", shell)
	}
}
