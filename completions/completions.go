// Package completions holds livecb's shell completion scripts, generated
// from the command tree by `livecb completion SHELL` and committed so that
// release archives and packages ship them. Regenerate them with:
//
//	go generate ./completions
//
// The tests fail when a committed script differs from what livecb generates
// now.
package completions

//go:generate go run gen.go

// Files maps each shell to its script's file name in this directory.
var Files = map[string]string{
	"bash":       "livecb.bash",
	"zsh":        "livecb.zsh",
	"fish":       "livecb.fish",
	"powershell": "livecb.ps1",
}
