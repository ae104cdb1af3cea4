package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/livecb/livecb/internal/route"
)

// Configuration: every flag of every command is also a key of the config
// file and an environment variable, with the precedence flag > environment
// > file > default. viper lives here and only here: it reads the file; the
// environment is read through the injected streams (never viper's
// AutomaticEnv, which reads the real process), so that what `config show`
// reports and what a command uses come from one source.

// Annotations on commands.
const (
	// annotationNoKeys marks a command whose flags are no config keys
	// (config init writes the file; completion and help have no settings).
	annotationNoKeys = "livecb/no-config-keys"
	// annotationTolerant marks a command that runs whatever the config file
	// holds, with a warning: the ones a user needs to find and fix a broken
	// file (config show, config init, version, help, completion).
	annotationTolerant = "livecb/tolerant"
)

// envName is the environment variable of a config key: send.timeout is
// LIVECB_SEND_TIMEOUT, no-color is LIVECB_NO_COLOR.
func envName(key string) string {
	return "LIVECB_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// configKey is the config key of a flag: global flags by their name, a
// command's own flags under the command's path (e.g. "send.timeout").
func configKey(cmd *cobra.Command, f *pflag.Flag) string {
	if cmd.Root().PersistentFlags().Lookup(f.Name) == f {
		return f.Name
	}
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	return strings.ReplaceAll(path, " ", ".") + "." + f.Name
}

// defaultConfigFiles are the files looked for when none is named.
func defaultConfigFiles(s Streams) []string {
	files := []string{"livecb.yaml"}
	if dir := s.userConfigDir(); dir != "" {
		files = append(files, filepath.Join(dir, "livecb", "livecb.yaml"))
	}
	return files
}

// settings is the configuration as loaded: the file (if any) and where each
// value of the running command came from.
type settings struct {
	file  string       // "" for none
	v     *viper.Viper // the file's content
	prov  map[string]string
	error error // why the file was not used (tolerant commands only)
}

func newSettings() *settings {
	s := &settings{v: viper.New(), prov: map[string]string{}}
	s.v.SetConfigType("yaml")
	return s
}

// source says where the value of key comes from, for a flag not set on
// the command line: "environment LIVECB_X", "file PATH" or "default".
func (s *settings) source(app *App, key string) string {
	if env := envName(key); app.env(env) != "" {
		return "environment " + env
	}
	if s.file != "" && s.v.InConfig(key) {
		return "file " + s.file
	}
	return "default"
}

// loadConfig reads the config file and the environment, and gives every
// flag of cmd that the user did not set its configured value.
func loadConfig(app *App, cmd *cobra.Command, explicit string) error {
	s := newSettings()
	app.settings = s
	if err := readConfigFile(app, cmd, s, explicit); err != nil {
		if !tolerant(cmd) {
			return err
		}
		// The file is broken: run with the environment and defaults, and
		// say so first.
		s.error = err
		s.file = ""
		s.v = newSettings().v
		fmt.Fprintf(app.Err, "%s %v\n", app.warnLabel(), errorText(err))
	}
	return applyConfig(app, cmd, s)
}

func errorText(err error) string {
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err != nil {
		return ee.Err.Error()
	}
	return err.Error()
}

func readConfigFile(app *App, cmd *cobra.Command, s *settings, explicit string) error {
	file, named := explicit, "--config"
	if file == "" {
		file, named = app.env("LIVECB_CONFIG"), "LIVECB_CONFIG"
	}
	if file != "" {
		if _, err := os.Stat(file); err != nil {
			return &ExitError{Code: ExitIO, Err: fmt.Errorf("%s: %w", named, fileError(err))}
		}
	} else {
		for _, cand := range defaultConfigFiles(app.Streams) {
			if _, err := os.Stat(cand); err == nil {
				file = cand
				break
			}
		}
	}
	if file == "" {
		return nil
	}
	s.v.SetConfigFile(file)
	if err := s.v.ReadInConfig(); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return &ExitError{Code: ExitIO, Err: fmt.Errorf("config file: %w", fileError(err))}
		}
		return usageErrorf("config file %s is not valid YAML: %v", file, err)
	}
	s.file = file
	if err := checkConfigKeys(cmd.Root(), s.v, file); err != nil {
		return err
	}
	routes, err := decodeRoutes(s.v)
	if err != nil {
		return usageErrorf("config file %s: %v", file, err)
	}
	app.Routes = routes
	return nil
}

// applyConfig sets every flag of cmd not given on the command line from the
// environment, else from the file.
func applyConfig(app *App, cmd *cobra.Command, s *settings) error {
	var apply error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if apply != nil || skipFlag(f) || f.Deprecated != "" {
			return
		}
		key := configKey(cmd, f)
		if f.Changed {
			s.prov[key] = "flag"
			return
		}
		src := s.source(app, key)
		s.prov[key] = src
		var err error
		switch {
		case strings.HasPrefix(src, "environment "):
			err = setFlag(f, envValues(app.env(envName(key)), f))
		case strings.HasPrefix(src, "file "):
			if isSlice(f) {
				err = setFlag(f, s.v.GetStringSlice(key))
			} else {
				err = setFlag(f, []string{s.v.GetString(key)})
			}
		}
		if err != nil {
			why := badValue(f, err.Error())
			if strings.HasPrefix(src, "environment ") {
				apply = usageErrorf("%s=%q: %s (it sets --%s of '%s')", envName(key), app.env(envName(key)), why, f.Name, cmd.CommandPath())
			} else {
				apply = usageErrorf("config file %s: %s: %s (it sets --%s of '%s')", s.file, key, why, f.Name, cmd.CommandPath())
			}
		}
	})
	return apply
}

// envValues splits an environment value for a repeatable flag: one value
// per line (a header may hold commas and spaces).
func envValues(v string, f *pflag.Flag) []string {
	if !isSlice(f) {
		return []string{v}
	}
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func setFlag(f *pflag.Flag, values []string) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.Replace(values)
	}
	if len(values) == 0 {
		return nil
	}
	return f.Value.Set(values[0])
}

func isSlice(f *pflag.Flag) bool {
	_, ok := f.Value.(pflag.SliceValue)
	return ok
}

func skipFlag(f *pflag.Flag) bool {
	return f.Name == "help" || f.Name == "config" || f.Name == "version"
}

// tolerant reports whether cmd runs with a broken config file.
func tolerant(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		if c.Annotations[annotationTolerant] != "" {
			return true
		}
		switch c.Name() {
		case "help", "completion":
			if c.Parent() == cmd.Root() {
				return true
			}
		}
	}
	return false
}

// silentConfig reports whether cmd reads no configuration at all: shell
// completion, whose scripts run in a shell's start-up and whose requests a
// shell parses; none of it depends on a setting.
func silentConfig(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return true
		case "completion":
			if c.Parent() == cmd.Root() {
				return true
			}
		}
	}
	return false
}

type configEntry struct {
	key  string
	flag *pflag.Flag
}

// configEntries walks the command tree for every config key: the global
// flags, then every command's own flags. Walking the tree, rather than
// listing keys, covers commands added later.
func configEntries(root *cobra.Command) []configEntry {
	var out []configEntry
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !skipFlag(f) && f.Deprecated == "" {
			out = append(out, configEntry{key: f.Name, flag: f})
		}
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range configCommands(c) {
			for _, f := range ownConfigFlags(root, sub) {
				out = append(out, configEntry{key: configKey(sub, f), flag: f})
			}
			walk(sub)
		}
	}
	walk(root)
	return out
}

// configCommands are the subcommands whose flags are config keys.
func configCommands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		switch sub.Name() {
		case "help", "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			continue
		}
		if sub.Annotations[annotationNoKeys] != "" {
			continue
		}
		out = append(out, sub)
	}
	return out
}

// ownConfigFlags are the flags of c that are config keys under c's section.
func ownConfigFlags(root, c *cobra.Command) []*pflag.Flag {
	var out []*pflag.Flag
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if !skipFlag(f) && f.Deprecated == "" && root.PersistentFlags().Lookup(f.Name) != f {
			out = append(out, f)
		}
	})
	return out
}

// checkConfigKeys reports the keys of the config file that no command
// knows, with the nearest known key when there is one.
func checkConfigKeys(root *cobra.Command, v *viper.Viper, file string) error {
	known := map[string]bool{"routes": true}
	names := []string{"routes"}
	for _, e := range configEntries(root) {
		known[e.key] = true
		names = append(names, e.key)
	}
	var problems []string
	for _, k := range v.AllKeys() {
		if known[k] || strings.HasPrefix(k, "routes.") || !v.InConfig(k) {
			continue
		}
		msg := fmt.Sprintf("unknown key %q", k)
		if hint := nearestKey(k, names); hint != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", hint)
		}
		problems = append(problems, msg)
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return usageErrorf("config file %s: %s; 'livecb config show' lists the keys", file, strings.Join(problems, "; "))
}

// nearestKey is the known key closest to k, or the keys of the commands
// that have k (timeout: written at the top level instead of send.timeout).
func nearestKey(k string, names []string) string {
	best, bestDist := "", len(k)/3+1
	for _, n := range names {
		if d := levenshtein.ComputeDistance(k, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return best
	}
	var under []string
	for _, n := range names {
		if strings.HasSuffix(n, "."+k) {
			under = append(under, n)
		}
	}
	return strings.Join(under, " or ")
}

// decodeRoutes reads the routes of the file; unknown keys in a route are
// errors too (a misspelt "enabled" must not leave a family switched on),
// and route.Decode says which key was meant.
func decodeRoutes(v *viper.Viper) (route.Table, error) {
	t, err := route.Decode(v.Get("routes"))
	if err != nil {
		return nil, fmt.Errorf("routes: %v", err)
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	return t, nil
}
