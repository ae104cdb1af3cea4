package main

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// listenCmds are the testscript commands of the listen scripts.
//
//	post [-status CODE] [-type CONTENT-TYPE] URLFILE FILE [PATH]
//
// waits (up to 20 s) for URLFILE, written by `livecb listen --ready-file`,
// then POSTs FILE's bytes to that URL (its first line: with --ui the second
// is the inspector's) plus PATH and asserts the answer's status (default
// 200). With !, the POST must fail or get another status.
func listenCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"post": func(ts *testscript.TestScript, neg bool, args []string) {
			fs := flag.NewFlagSet("post", flag.ContinueOnError)
			status := fs.Int("status", 200, "expected status")
			ctype := fs.String("type", "application/json", "Content-Type")
			if err := fs.Parse(args); err != nil || fs.NArg() < 2 || fs.NArg() > 3 {
				ts.Fatalf("usage: post [-status CODE] [-type CONTENT-TYPE] URLFILE FILE [PATH]")
			}
			urlFile := ts.MkAbs(fs.Arg(0))
			var base string
			for i := 0; i < 2000; i++ {
				if b, err := os.ReadFile(urlFile); err == nil {
					base, _, _ = strings.Cut(strings.TrimSpace(string(b)), "\n")
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if base == "" {
				ts.Fatalf("%s did not appear: did livecb listen start?", fs.Arg(0))
			}
			body, err := os.ReadFile(ts.MkAbs(fs.Arg(1)))
			ts.Check(err)
			resp, err := http.Post(base+fs.Arg(2), *ctype, bytes.NewReader(body))
			if err != nil {
				if neg {
					return
				}
				ts.Fatalf("POST: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ok := resp.StatusCode == *status
			if ok == neg {
				ts.Fatalf("POST %s%s: status %d, want %s%d", base, fs.Arg(2), resp.StatusCode, map[bool]string{true: "not ", false: ""}[neg], *status)
			}
			ts.Logf("POST %s%s: %s", base, fs.Arg(2), strconv.Itoa(resp.StatusCode))
		},
	}
}

// mergeCmds joins the custom commands of several scripts' owners.
func mergeCmds(sets ...map[string]func(ts *testscript.TestScript, neg bool, args []string)) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	all := map[string]func(ts *testscript.TestScript, neg bool, args []string){}
	for _, set := range sets {
		for name, cmd := range set {
			if _, dup := all[name]; dup {
				panic("testscript command " + name + " defined twice")
			}
			all[name] = cmd
		}
	}
	return all
}
