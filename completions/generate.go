package completions

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/livecb/livecb/internal/cli"
)

// Generate runs `livecb completion SHELL` in-process and returns the script.
func Generate(shell string) ([]byte, error) {
	var out, errOut bytes.Buffer
	s := cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(string) string { return "" }}
	if code := cli.Main([]string{"completion", shell}, s, cli.BuildInfo{Version: "dev"}); code != 0 {
		return nil, fmt.Errorf("livecb completion %s: exit %d: %s", shell, code, errOut.String())
	}
	return out.Bytes(), nil
}
