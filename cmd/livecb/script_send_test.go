package main

import (
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// sendCmds are the testscript commands of the send scripts.
//
//	receiver [-status CODE] [-closed] NAME
//
// starts an HTTP receiver on 127.0.0.1 in the test process for the rest of
// the script, puts its URL in $NAME, and appends each request's body (one
// per line) to $WORK/NAME.bodies and its path to $WORK/NAME.paths. It
// answers CODE (default 200) with {"code":0}. With -closed, $NAME is a
// loopback URL where nothing listens (connections are refused).
//
//	exitcode CODE COMMAND [ARGS...]
//
// runs COMMAND like exec and asserts its exit code exactly (exec and ! exec
// only tell zero from non-zero); stdout and stderr are kept for cmp.
//
//	envsubst FILE
//
// replaces $VAR and ${VAR} in FILE with the script's environment, so a
// config file can name a receiver's URL.
func sendCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) < 2 {
				ts.Fatalf("usage: exitcode CODE COMMAND [ARGS...]")
			}
			want, err := strconv.Atoi(args[0])
			ts.Check(err)
			got := 0
			if err := ts.Exec(args[1], args[2:]...); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					ts.Fatalf("%s: %v", args[1], err)
				}
				got = ee.ExitCode()
			}
			if got != want {
				ts.Fatalf("%s exited %d, want %d", args[1], got, want)
			}
		},
		"envsubst": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: envsubst FILE")
			}
			file := ts.MkAbs(args[0])
			b, err := os.ReadFile(file)
			ts.Check(err)
			ts.Check(os.WriteFile(file, []byte(os.Expand(string(b), ts.Getenv)), 0o644))
		},
		"receiver": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg {
				ts.Fatalf("unsupported: ! receiver")
			}
			fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
			status := fs.Int("status", 200, "status to answer")
			closed := fs.Bool("closed", false, "a URL where nothing listens")
			if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
				ts.Fatalf("usage: receiver [-status CODE] [-closed] NAME")
			}
			name := fs.Arg(0)
			if *closed {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				ts.Check(err)
				addr := l.Addr().String()
				ts.Check(l.Close())
				ts.Setenv(name, "http://"+addr+"/cb")
				return
			}
			var mu sync.Mutex
			appendLine := func(file string, b []byte) {
				f, err := os.OpenFile(ts.MkAbs(file), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
				if err != nil {
					return
				}
				defer f.Close()
				f.Write(append(b, '\n'))
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				appendLine(name+".bodies", b)
				appendLine(name+".paths", []byte(r.URL.Path))
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(*status)
				io.WriteString(w, `{"code":0}`)
			}))
			ts.Defer(srv.Close)
			ts.Setenv(name, srv.URL)
			ts.Logf("receiver %s at %s answers %s", name, srv.URL, strconv.Itoa(*status))
		},
	}
}
