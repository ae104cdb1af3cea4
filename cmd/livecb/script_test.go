package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/livecb/livecb/internal/cli"
)

// TestMain lets testscript run livecb in-process as the command "livecb".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"livecb": func() {
			os.Exit(cli.Main(os.Args[1:], cli.StdStreams(), cli.DevBuild("", "", "")))
		},
	})
}

// TestScript runs testdata/script/*.txtar, one file per user-visible
// behaviour. UPDATE_SCRIPTS=1 go test ./cmd/livecb rewrites the expected
// output in place after a deliberate change.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Cmds:                mergeCmds(sendCmds(), listenCmds(), replayCmds()),
		Setup: func(env *testscript.Env) error {
			// A clean environment: no user config, no colour variables.
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("XDG_CONFIG_HOME", env.WorkDir+"/.config")
			return nil
		},
	})
}
