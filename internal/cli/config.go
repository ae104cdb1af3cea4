package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/route"
)

func newConfigCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write a starter config file, or show the effective configuration",
		Long: `Every flag of every command can also be set in a config file or the
environment. The order of precedence is: flag > environment > file > default.

The file is --config FILE, else $LIVECB_CONFIG, else ./livecb.yaml, else
$XDG_CONFIG_HOME/livecb/livecb.yaml. A command's flag --timeout is the key
COMMAND.FLAG (send.timeout) and the environment variable LIVECB_COMMAND_FLAG
(LIVECB_SEND_TIMEOUT); the global flags are the keys output and no-color.
The file also holds the callback routes: one URL per callback family (stream,
record, snapshot, quality) and publish domain, each switched on or off, as
the service's console configures them. Keys livecb does not know are errors.`,
		Example: `  livecb config init                 # write ./livecb.yaml, commented
  livecb config show                 # every key, its value and where it came from
  LIVECB_SEND_TIMEOUT=2s livecb config show send`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newConfigInitCmd(app), newConfigShowCmd(app))
	return cmd
}

// ConfigInitOptions are the flags of `livecb config init`.
type ConfigInitOptions struct {
	File   string
	Force  bool
	Global bool
}

func newConfigInitCmd(app *App) *cobra.Command {
	var opts ConfigInitOptions
	cmd := &cobra.Command{
		Use:   "init [FILE|-]",
		Short: "Write a commented livecb.yaml to start from",
		Long: `Write a config file that explains itself: the callback routes per publish
domain with their on/off switches, then every flag of every command as a key
with its default value and meaning. Timeouts and expected statuses are set;
the other keys are commented out, ready to be switched on.

FILE is ./livecb.yaml unless given; --global writes the per-user file
($XDG_CONFIG_HOME/livecb/livecb.yaml) and - writes to standard output.
An existing file is never overwritten without --force.`,
		Example: `  livecb config init
  livecb config init --global
  livecb config init - | less
  livecb config init --force ci/livecb.yaml`,
		Args:        cobra.MaximumNArgs(1),
		Annotations: map[string]string{annotationNoKeys: "true", annotationTolerant: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if opts.Global {
					return usageErrorf("give either FILE or --global, not both")
				}
				opts.File = args[0]
			}
			return configInitRun(app, cmd.Root(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "overwrite the file if it exists")
	cmd.Flags().BoolVar(&opts.Global, "global", false, "write the per-user file ($XDG_CONFIG_HOME/livecb/livecb.yaml)")
	return cmd
}

func configInitRun(app *App, root *cobra.Command, opts ConfigInitOptions) error {
	text := starterConfig(root, app.Build.Version)
	if opts.File == "-" {
		if app.Output.Structured() {
			return usageErrorf("config init - writes the YAML file itself to standard output; --output %s reports where a file was written: give a FILE, or drop --output", app.Output.Name())
		}
		if _, err := io.WriteString(app.Out, text); err != nil {
			return ioError(err)
		}
		return nil
	}
	file := opts.File
	switch {
	case opts.Global:
		dir := app.userConfigDir()
		if dir == "" {
			return usageErrorf("--global: the environment names no per-user config directory (set XDG_CONFIG_HOME or HOME), give a FILE instead")
		}
		file = filepath.Join(dir, "livecb", "livecb.yaml")
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return ioError(err)
		}
	case file == "":
		file = "livecb.yaml"
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !opts.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(file, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return ioError(fmt.Errorf("%s already exists: pass --force to overwrite it, or give another file name", file))
	}
	if err != nil {
		return ioError(err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return ioError(err)
	}
	if err := f.Close(); err != nil {
		return ioError(err)
	}
	if app.Output.Structured() {
		if err := app.Output.Write(map[string]any{"file": file, "bytes": len(text)}); err != nil {
			return ioError(err)
		}
		return nil
	}
	app.errorf("Wrote %s. Check it with: livecb config show --config %s\n", file, file)
	return nil
}

// activeByDefault says which keys config init writes uncommented: the
// settings people change first.
func activeByDefault(name string) bool {
	return strings.Contains(name, "timeout") || strings.HasPrefix(name, "expect-status")
}

// starterConfig is the commented config file. Its per-command part is
// generated from the command tree, so commands and flags added later are
// in it without anyone remembering to add them.
func starterConfig(root *cobra.Command, version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# livecb configuration, written by 'livecb config init' (livecb %s).
#
# Precedence: command-line flag > environment variable > this file > default.
# Every flag of every command is a key: the flag --timeout of 'livecb send' is
# send.timeout here and LIVECB_SEND_TIMEOUT in the environment. A key livecb
# does not know is an error, so a typo never goes unnoticed.
# 'livecb config show' prints every key, its value and where it came from.

%s
# Output, for every command.
output: text      # text, or json: one JSON object per line
no-color: false   # colour also follows NO_COLOR, CLICOLOR=0, CLICOLOR_FORCE and whether output is a terminal
`, version, starterRoutes())

	b.WriteString("\n# Per-command settings: each key is a flag of the command, shown with its\n# default. Remove the '#' to set one.\n")
	for _, sub := range configCommands(root) {
		writeConfigSection(&b, root, sub, 0, "")
	}
	return b.String()
}

// starterRoutes is the routes: section of the starter config, one entry
// per family of the event model's family table, so a new family is in it.
func starterRoutes() string {
	var b strings.Builder
	b.WriteString(`# Where callbacks go when no --to URL is given, configured the way the
# service's console does it: one URL per callback family and publish domain,
# each switched on or off.
`)
	fams := event.FamilyInfos()
	width := 0
	for _, f := range fams {
		width = max(width, len(f.Family))
	}
	for _, f := range fams {
		var kinds []string
		for _, k := range event.KindsOf(f.Family) {
			kinds = append(kinds, string(k))
		}
		fmt.Fprintf(&b, "#   %-*s  %s: %s\n", width, f.Family, strings.Join(kinds, ", "), f.Description)
	}
	b.WriteString("# The entry for domain \"*\" serves every publish domain without its own entry.\n" +
		"# To switch a family off, as the console's switch does, give it enabled: false;\n" +
		"# livecb then skips its callbacks (send, replay) and its contract cases (test).\n" +
		"routes:\n  - domain: \"*\"\n")
	for _, f := range fams {
		// Every family on: a starter file that switched one off would make
		// `livecb test` skip its cases while its headline reads PASS.
		fmt.Fprintf(&b, "    %s:\n      url: http://127.0.0.1:8080/callbacks%s\n", f.Family, f.Path)
		note := ""
		if f.APIOnly {
			note = "   # configured through the service's API, not its console"
		}
		fmt.Fprintf(&b, "      enabled: true%s\n", note)
	}
	b.WriteString("  # A publish domain of its own; its entry wins over \"*\".\n  # - domain: push.example.com\n")
	for i, f := range fams[:min(2, len(fams))] {
		fmt.Fprintf(&b, "  #   %s:\n  #     url: http://hooks.example.com/live%s\n  #     enabled: %v\n", f.Family, f.Path, i == 0)
	}
	return b.String()
}

// sectionStats says whether c or a subcommand has keys, and whether one is
// written uncommented.
func sectionStats(root, c *cobra.Command) (keys, active bool) {
	for _, f := range ownConfigFlags(root, c) {
		if !f.Hidden {
			keys = true
			active = active || activeByDefault(f.Name)
		}
	}
	for _, sub := range configCommands(c) {
		k, a := sectionStats(root, sub)
		keys, active = keys || k, active || a
	}
	return keys, active
}

// writeConfigSection writes c's keys, then its subcommands', nested the way
// YAML nests them. A section with nothing set is commented out whole; a
// commented line keeps its '#' at base, the indentation of the innermost
// section written uncommented, so that removing "# " uncomments it.
func writeConfigSection(b *strings.Builder, root, c *cobra.Command, depth int, base string) {
	keys, active := sectionStats(root, c)
	if !keys {
		return
	}
	indent := strings.Repeat("  ", depth)
	line := func(on bool, ind, text string) {
		if on {
			b.WriteString(ind + text + "\n")
		} else {
			b.WriteString(base + "# " + strings.TrimPrefix(ind, base) + text + "\n")
		}
	}
	if depth == 0 {
		b.WriteString("\n")
	}
	head := c.Name() + ":"
	if c.Short != "" {
		head += "   # livecb " + strings.TrimPrefix(c.CommandPath(), root.Name()+" ") + ": " + firstLine(c.Short)
	}
	line(active, indent, head)
	childBase := base
	if active {
		childBase = indent + "  "
	}
	var flags []*pflag.Flag
	width := 0
	for _, f := range ownConfigFlags(root, c) {
		if !f.Hidden {
			flags = append(flags, f)
			width = max(width, len(f.Name)+2+len(yamlValue(f)))
		}
	}
	saved := base
	base = childBase
	for _, f := range flags {
		text := fmt.Sprintf("%-*s   # %s", width, f.Name+": "+yamlValue(f), firstLine(f.Usage))
		line(active && activeByDefault(f.Name), indent+"  ", text)
	}
	base = saved
	for _, sub := range configCommands(c) {
		writeConfigSection(b, root, sub, depth+1, childBase)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

var plainYAML = regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9_./:@+-]*$`)

// yamlValue writes a flag's default so that YAML reads back the same string
// the flag would parse. JSON strings and arrays are valid YAML.
func yamlValue(f *pflag.Flag) string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		items := sv.GetSlice()
		if items == nil {
			items = []string{}
		}
		j, _ := json.Marshal(items)
		return string(j)
	}
	switch f.Value.Type() {
	case "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
		"float32", "float64", "count":
		return f.DefValue
	case "duration":
		return f.DefValue
	}
	if plainYAML.MatchString(f.DefValue) && !isYAMLKeyword(f.DefValue) {
		return f.DefValue
	}
	j, _ := json.Marshal(f.DefValue)
	return string(j)
}

func isYAMLKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
		return true
	}
	return false
}

// ConfigShowOptions are the flags of `livecb config show`.
type ConfigShowOptions struct {
	Prefixes []string
}

func newConfigShowCmd(app *App) *cobra.Command {
	var opts ConfigShowOptions
	cmd := &cobra.Command{
		Use:   "show [KEY-PREFIX...]",
		Short: "Print the effective configuration and where each value came from",
		Long: `Print every configuration key with its effective value and where that value
came from: flag, environment (with the variable's name), file (with its path)
or default; then the callback routes. KEY-PREFIX limits the list to keys
that start with it (send, listen.port).`,
		Example: `  livecb config show
  livecb config show send
  LIVECB_OUTPUT=json livecb config show output
  livecb config show --config ci/livecb.yaml --output json`,
		ValidArgsFunction: completeConfigKeys,
		Annotations:       map[string]string{annotationTolerant: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Prefixes = args
			return configShowRun(app, cmd, opts)
		},
	}
	return cmd
}

// ConfigValue is one line of `config show`.
type ConfigValue struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Source string `json:"source"`
	Env    string `json:"env,omitempty"`
}

func configShowRun(app *App, cmd *cobra.Command, opts ConfigShowOptions) error {
	values := effectiveConfig(app, cmd)
	match := func(key string) bool {
		if len(opts.Prefixes) == 0 {
			return true
		}
		for _, p := range opts.Prefixes {
			if strings.HasPrefix(key, p) {
				return true
			}
		}
		return false
	}
	var shown []ConfigValue
	for _, v := range values {
		if match(v.Key) {
			shown = append(shown, v)
		}
	}
	st := app.settings
	routesSource := "default"
	if st.file != "" && st.v.InConfig("routes") {
		routesSource = "file " + st.file
	}
	showRoutes := match("routes")
	if len(shown) == 0 && !showRoutes {
		return usageErrorf("no configuration key starts with %s: see 'livecb config show'", strings.Join(opts.Prefixes, " or "))
	}

	if app.Output.Structured() {
		if st.error != nil {
			if err := app.Output.Write(map[string]any{"key": "", "problem": errorText(st.error)}); err != nil {
				return ioError(err)
			}
		}
		for _, v := range shown {
			if err := app.Output.Write(v); err != nil {
				return ioError(err)
			}
		}
		if showRoutes {
			routes := app.Routes
			if routes == nil {
				routes = route.Table{}
			}
			if err := app.Output.Write(ConfigValue{Key: "routes", Value: routes, Source: routesSource}); err != nil {
				return ioError(err)
			}
		}
		return nil
	}

	if st.error != nil {
		fmt.Fprintf(app.Out, "%s %s\n  %s\n\n", app.Color.Bad("Config file not used:"), errorText(st.error),
			"the values below are the environment's and the defaults; fix the file, or start a new one with 'livecb config init --force'")
	}
	if len(opts.Prefixes) == 0 {
		file := st.file
		if file == "" && st.error == nil {
			file = "none (looked for " + strings.Join(defaultConfigFiles(app.Streams), ", ") + ")"
		}
		if file != "" {
			fmt.Fprintf(app.Out, "%s %s\n\n", app.Color.Bold("Config file:"), file)
		}
	}
	if len(shown) > 0 {
		tw := tabwriter.NewWriter(app.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, app.Color.Bold("KEY\tVALUE\tSOURCE"))
		for _, v := range shown {
			src := v.Source
			if src == "default" {
				src = app.Color.Dim(src)
			}
			val := fmt.Sprint(v.Value)
			if val == "" {
				val = `""`
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Key, val, src)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if showRoutes {
		if len(shown) > 0 {
			fmt.Fprintln(app.Out)
		}
		if len(app.Routes) == 0 {
			fmt.Fprintf(app.Out, "%s none: pass --to URL, or write them with 'livecb config init'\n", app.Color.Bold("Routes:"))
			return nil
		}
		fmt.Fprintf(app.Out, "%s (%s)\n", app.Color.Bold("Routes:"), routesSource)
		tw := tabwriter.NewWriter(app.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, app.Color.Bold("DOMAIN\tFAMILY\tSWITCH\tURL"))
		for _, d := range app.Routes {
			for _, f := range event.Families {
				ep := d.Endpoint(f)
				if ep.URL == "" && ep.Enabled == nil {
					continue
				}
				sw := app.Color.OK("on")
				if !ep.On() {
					sw = app.Color.Warn("off")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Domain, f, sw, ep.URL)
			}
		}
		return tw.Flush()
	}
	return nil
}

// effectiveConfig is every key with its value and source, sorted: the
// global keys, then the commands' keys.
func effectiveConfig(app *App, cmd *cobra.Command) []ConfigValue {
	st := app.settings
	var out []ConfigValue
	for _, e := range configEntries(cmd.Root()) {
		if e.flag.Hidden {
			continue
		}
		cv := ConfigValue{Key: e.key, Env: envName(e.key)}
		if src, ok := st.prov[e.key]; ok {
			// A flag of the running command: its value is already final.
			cv.Source = src
			cv.Value = flagValue(e.flag)
		} else {
			cv.Source = st.source(app, e.key)
			switch {
			case cv.Source == "default":
				cv.Value = flagValue(e.flag)
			case strings.HasPrefix(cv.Source, "environment "):
				vs := envValues(app.env(envName(e.key)), e.flag)
				cv.Value = strings.Join(vs, ",")
				if isSlice(e.flag) {
					cv.Value = "[" + strings.Join(vs, ",") + "]"
				}
			case isSlice(e.flag):
				cv.Value = "[" + strings.Join(st.v.GetStringSlice(e.key), ",") + "]"
			default:
				cv.Value = st.v.GetString(e.key)
			}
		}
		out = append(out, cv)
	}
	return out
}

func flagValue(f *pflag.Flag) string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return "[" + strings.Join(sv.GetSlice(), ",") + "]"
	}
	return f.Value.String()
}

// ConfigReference is the table of every config key with its default and
// meaning, generated from the command tree (go generate ./docs writes it
// into docs/configuration.md).
func ConfigReference() string {
	app := &App{}
	root := newRootCmd(app)
	var b strings.Builder
	b.WriteString("| key | default | meaning |\n|---|---|---|\n")
	for _, e := range configEntries(root) {
		if e.flag.Hidden {
			continue
		}
		def := yamlValue(e.flag)
		if def == `""` {
			def = ""
		} else {
			def = "`" + def + "`"
		}
		usage := strings.ReplaceAll(firstLine(e.flag.Usage), "|", `\|`)
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", e.key, def, usage)
	}
	return b.String()
}
