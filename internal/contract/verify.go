package contract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// verifyStderrLimit bounds how much of a verify command's standard error is
// read back.
const verifyStderrLimit = 64 << 10

// verify runs the VerifyCmd of a case that got its answers. The command
// runs in a process group of its own (where the system has them): the
// timeout, an interruption and the command's own end kill the whole group,
// so a child it left behind (a server, a sleep) neither outlives the run
// nor holds it up. Its standard error goes to a file, not a pipe, for the
// same reason: a child holding the pipe open would block the wait.
func verify(ctx context.Context, c *Case, opts Options) Verify {
	dir, err := os.MkdirTemp("", "livecb-verify-")
	if err != nil {
		return Verify{ExitCode: -1, Err: err.Error()}
	}
	defer os.RemoveAll(dir)
	bodies := filepath.Join(dir, "bodies")
	if err := os.Mkdir(bodies, 0o700); err != nil {
		return Verify{ExitCode: -1, Err: err.Error()}
	}
	var bodyFile string
	for i, cb := range c.Callbacks {
		bodyFile = filepath.Join(bodies, strconv.Itoa(i+1)+".json")
		if err := os.WriteFile(bodyFile, cb.Body, 0o600); err != nil {
			return Verify{ExitCode: -1, Err: err.Error()}
		}
	}
	kinds := make([]string, len(c.Callbacks))
	for i, k := range c.Kinds() {
		kinds[i] = string(k)
	}
	var streams []string
	for _, s := range c.Streams() {
		streams = append(streams, s.Name)
	}
	stderrFile, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		return Verify{ExitCode: -1, Err: err.Error()}
	}
	defer stderrFile.Close()

	vctx, cancel := context.WithTimeout(ctx, opts.VerifyTimeout)
	defer cancel()
	cmd := exec.CommandContext(vctx, "sh", "-c", opts.VerifyCmd)
	cmd.Env = append(append([]string(nil), opts.Environ...),
		"LIVECB_CASE="+c.Name,
		"LIVECB_FAMILY="+string(c.Family),
		"LIVECB_KIND="+kinds[len(kinds)-1],
		"LIVECB_KINDS="+strings.Join(kinds, ","),
		"LIVECB_CALLBACKS="+strconv.Itoa(len(c.Callbacks)),
		"LIVECB_DOMAIN="+c.Stream.Domain,
		"LIVECB_APP="+c.Stream.App,
		"LIVECB_STREAM="+c.Stream.Name,
		"LIVECB_STREAMS="+strings.Join(streams, "\n"),
		"LIVECB_BODY_FILE="+bodyFile,
		"LIVECB_BODIES_DIR="+bodies,
	)
	if c.TaskExternalID != "" {
		cmd.Env = append(cmd.Env, "LIVECB_TASK_EXTERNAL_ID="+c.TaskExternalID)
	}
	if ids := c.TaskExternalIDs(); len(ids) > 0 {
		cmd.Env = append(cmd.Env, "LIVECB_TASK_EXTERNAL_IDS="+strings.Join(ids, "\n"))
	}
	cmd.Stderr = stderrFile
	ownProcessGroup(cmd)
	err = cmd.Run()
	killProcessGroup(cmd) // what it left behind
	stderr, _ := io.ReadAll(io.LimitReader(readFrom(stderrFile), verifyStderrLimit))
	v := Verify{Stderr: excerpt(stderr, 1000)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case vctx.Err() != nil && ctx.Err() == nil:
		v.ExitCode, v.TimedOut = -1, true
		v.Err = fmt.Sprintf("did not finish within %s: it and its processes were killed", opts.VerifyTimeout)
	case errors.As(err, &exit):
		v.ExitCode = exit.ExitCode()
	default:
		v.ExitCode, v.Err = -1, err.Error()
	}
	return v
}

// readFrom rewinds f for reading.
func readFrom(f *os.File) io.Reader {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return strings.NewReader("")
	}
	return f
}
