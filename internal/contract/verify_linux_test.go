package contract

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// alive reports whether pid is a process that still runs (a zombie, dead
// and not yet reaped by whoever adopted it, does not).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	s := string(stat)
	rest := s[strings.LastIndexByte(s, ')')+1:]
	fields := strings.Fields(rest)
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// groupMembers returns the running processes of process group pgid.
func groupMembers(pgid int) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		// state ppid pgrp ...
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// --verify-timeout kills the verify command's whole process group: a child
// it started that would sleep forever is gone after the timeout, and the
// run does not wait for it.
func TestVerifyTimeoutKillsTheProcessGroup(t *testing.T) {
	url := startReceiver(t, "none")
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	cases := Select(suite(t), regexp.MustCompile(`^sample/snapshot$`), nil, false)
	start := time.Now()
	// The shell starts a sleeper in the background and one in the
	// foreground, and writes its own pid (the group's id) and the
	// sleeper's.
	results := run(t, url, cases, func(o *Options) {
		o.VerifyCmd = `sleep 3600 & echo $$ $! > ` + pids + `; sleep 3600`
		o.VerifyTimeout = 300 * time.Millisecond
	})
	r := results[0]
	if r.Outcome != Fail || r.Reason != "the verify command did not finish within 300ms: it and its processes were killed" || !r.Verify.TimedOut ||
		!strings.Contains(Details(r), "verify:  killed (it ran past its time limit)\n") {
		t.Fatalf("%s %q", r.Outcome, r.Reason)
	}
	if elapsed := time.Since(start); elapsed > time.Minute {
		t.Fatalf("the run waited %s for the verify command's children", elapsed)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	var group, child int
	if _, err := fmt.Sscan(string(b), &group, &child); err != nil {
		t.Fatalf("pids %q: %v", b, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(child) || len(groupMembers(group)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the timeout, processes of the group %d still run: %v (the background sleep is %d)", group, groupMembers(group), child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A verify command that ends but leaves a child behind holding its
// standard error neither holds the run up nor leaves the child running.
func TestVerifyLeavesNoChildBehind(t *testing.T) {
	url := startReceiver(t, "none")
	pids := filepath.Join(t.TempDir(), "pids")
	cases := Select(suite(t), regexp.MustCompile(`^sample/snapshot$`), nil, false)
	results := run(t, url, cases, func(o *Options) {
		o.VerifyCmd = `sleep 3600 & echo $$ $! > ` + pids + `; echo done >&2`
		o.VerifyTimeout = time.Minute
	})
	if r := results[0]; r.Outcome != Pass || r.Verify == nil || r.Verify.Stderr != "done\n" {
		t.Fatalf("%s %q %+v", r.Outcome, r.Reason, r.Verify)
	}
	b, _ := os.ReadFile(pids)
	var group, child int
	if _, err := fmt.Sscan(string(b), &group, &child); err != nil {
		t.Fatalf("pids %q: %v", b, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("the verify command's child %d still runs", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
