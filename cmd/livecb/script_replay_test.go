package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/livecb/livecb/internal/capture"
)

// replayCmds are the testscript commands of the replay scripts.
//
//	writebytes [-append] FILE TEXT
//
// writes TEXT to FILE after reading Go escapes in it (\xe9, \n), so a
// script can hold bodies that are not valid UTF-8 and files whose last line
// has no newline (txtar always ends files with one). -append adds to FILE.
//
//	urlfrom URLFILE NAME
//
// waits (up to 20 s) for URLFILE, written by `livecb listen --ready-file`,
// and puts the URL in $NAME.
//
//	capbodies CAPTURE OUT
//
// writes, for each record of a capture log, its target, its Content-Type
// and its body's exact bytes to OUT, so two captures' bodies can be compared
// byte for byte with cmp.
func replayCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"writebytes": func(ts *testscript.TestScript, neg bool, args []string) {
			flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
			if len(args) == 3 && args[0] == "-append" {
				flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
				args = args[1:]
			}
			if neg || len(args) != 2 {
				ts.Fatalf("usage: writebytes [-append] FILE TEXT")
			}
			text, err := strconv.Unquote(`"` + strings.ReplaceAll(args[1], `"`, `\"`) + `"`)
			ts.Check(err)
			f, err := os.OpenFile(ts.MkAbs(args[0]), flags, 0o600)
			ts.Check(err)
			_, err = f.WriteString(text)
			ts.Check(err)
			ts.Check(f.Close())
		},
		"urlfrom": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: urlfrom URLFILE NAME")
			}
			for range 2000 {
				if b, err := os.ReadFile(ts.MkAbs(args[0])); err == nil && len(bytes.TrimSpace(b)) > 0 {
					ts.Setenv(args[1], strings.TrimSpace(string(b)))
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			ts.Fatalf("%s did not appear: did livecb listen start?", args[0])
		},
		"capbodies": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: capbodies CAPTURE OUT")
			}
			f, err := os.Open(ts.MkAbs(args[0]))
			ts.Check(err)
			defer f.Close()
			var out bytes.Buffer
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 64<<20)
			for sc.Scan() {
				rec, err := capture.Parse(sc.Bytes())
				ts.Check(err)
				body, err := rec.Bytes()
				ts.Check(err)
				fmt.Fprintf(&out, "target: %s\ncontent-type: %s\nbody (%d bytes):\n", rec.Target, rec.Header.Get("Content-Type"), len(body))
				out.Write(body)
				out.WriteString("\n--\n")
			}
			ts.Check(sc.Err())
			ts.Check(os.WriteFile(ts.MkAbs(args[1]), out.Bytes(), 0o600))
		},
	}
}
