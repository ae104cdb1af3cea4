package capture

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// line is the capture line of a small record number seq.
func line(t testing.TB, seq uint64, body string) []byte {
	enc, err := Encode(&Record{Method: "POST", Body: body}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return AppendLine(nil, seq, enc)
}

// wholeRecords reads a capture log and fails unless every line of it is a
// whole record and it ends with a newline; it returns the bodies.
func wholeRecords(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline: %q", path, data[max(0, len(data)-60):])
	}
	var bodies []string
	for i, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(data) == 0 {
			break
		}
		r, err := Parse(l)
		if err != nil {
			t.Fatalf("%s line %d is not a whole record: %v\n%q", path, i+1, err, l)
		}
		bodies = append(bodies, r.Body)
	}
	return bodies
}

// open is Open for tests that change the file under the writer: the path
// is checked before every write, not every pathCheckEvery (the same
// check, without waiting for it).
func open(t *testing.T, path string, opts Options) *Writer {
	t.Helper()
	w, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.every = 0
	return w
}

// notices collects what a Writer tells.
type notices struct {
	mu  sync.Mutex
	got []Notice
}

func (n *notices) add(x Notice) { n.mu.Lock(); n.got = append(n.got, x); n.mu.Unlock() }

func (n *notices) kinds() []NoticeKind {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []NoticeKind
	for _, x := range n.got {
		out = append(out, x.Kind)
	}
	return out
}

// TestOpenRepairsCutLastLine: a log whose last line a crash cut is brought
// back to its last whole record when it is opened, the repair is told
// (where, how much, what), and the next record is a whole line of its own.
func TestOpenRepairsCutLastLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		whole int // records before the cut one
	}{{"after records", 2}, {"only a cut line", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.ndjson")
			var data []byte
			for i := 1; i <= tc.whole; i++ {
				data = append(data, line(t, uint64(i), fmt.Sprint("body", i))...)
			}
			good := len(data)
			cut := line(t, 9, strings.Repeat("x", 200))[:150]
			data = append(data, cut...)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			var ns notices
			w, err := Open(path, Options{Notify: ns.add})
			if err != nil {
				t.Fatal(err)
			}
			if len(ns.got) != 1 {
				t.Fatalf("notices %v, want one Repaired", ns.kinds())
			}
			n := ns.got[0]
			if n.Kind != Repaired || !n.AtOpen || !n.Removed || n.Offset != int64(good) || n.Bytes != int64(len(cut)) ||
				!bytes.Equal(n.Excerpt, cut[:64]) || n.Path != path {
				t.Errorf("notice %+v, want Repaired at %d, %d bytes, removed", n, good, len(cut))
			}
			msg := n.String()
			if !strings.Contains(msg, fmt.Sprintf("the record at byte %d was cut short (%d bytes, starting \"{\\\"format", good, len(cut))) || !strings.Contains(msg, `"...)`) || !strings.Contains(msg, "removed it") {
				t.Errorf("message %q does not say where and what was cut", msg)
			}
			if _, err := w.WriteLines(line(t, 10, "next")); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			bodies := wholeRecords(t, path)
			if len(bodies) != tc.whole+1 || bodies[tc.whole] != "next" {
				t.Errorf("records %q, want %d whole ones then \"next\"", bodies, tc.whole)
			}
		})
	}
}

// TestOpenLeavesAWholeLogAlone: nothing is told or changed when the log
// ends with a whole record.
func TestOpenLeavesAWholeLogAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.ndjson")
	data := append(line(t, 1, "a"), line(t, 2, "b")...)
	os.WriteFile(path, data, 0o600)
	var ns notices
	w, err := Open(path, Options{Notify: ns.add})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) || len(ns.got) != 0 {
		t.Errorf("a whole log changed (%d -> %d bytes) or notices %v", len(data), len(got), ns.kinds())
	}
}

// TestReopenAfterMove: the log-rotation convention. Records written after
// the file was moved go on into it (with one Moved notice); after Reopen
// they go into a new file at the path; each file holds whole records.
func TestReopenAfterMove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.ndjson")
	var ns notices
	w := open(t, path, Options{Notify: ns.add})
	defer w.Close()
	w.WriteLines(line(t, 1, "before"))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	w.WriteLines(line(t, 2, "moved-1"))
	w.WriteLines(line(t, 3, "moved-2"))
	if k := ns.kinds(); len(k) != 1 || k[0] != Moved {
		t.Errorf("notices %v, want one Moved", k)
	}
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	w.WriteLines(line(t, 4, "after"))
	if got := strings.Join(wholeRecords(t, path+".1"), ","); got != "before,moved-1,moved-2" {
		t.Errorf("old file holds %s", got)
	}
	if got := strings.Join(wholeRecords(t, path), ","); got != "after" {
		t.Errorf("new file holds %s", got)
	}
	// Replaced: a new file appears at the path before Reopen.
	os.Rename(path, path+".2")
	os.WriteFile(path, nil, 0o600)
	w.WriteLines(line(t, 5, "replaced"))
	if k := ns.kinds(); len(k) != 2 || k[1] != Replaced {
		t.Errorf("notices %v, want Moved then Replaced", k)
	}
	if got := strings.Join(wholeRecords(t, path+".2"), ","); got != "after,replaced" {
		t.Errorf("the old file holds %s", got)
	}
}

// TestReopenUnderConcurrentWrites: writers and rotations at the same time;
// every record is whole, in exactly one of the files.
func TestReopenUnderConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.ndjson")
	w, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each, rotations = 8, 200, 20
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				group := append(line(t, 1, fmt.Sprintf("%d-%d-a", g, i)), line(t, 2, fmt.Sprintf("%d-%d-b", g, i))...)
				if _, err := w.WriteLines(group); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	for r := 1; r <= rotations; r++ {
		os.Rename(path, fmt.Sprintf("%s.%d", path, r))
		if err := w.Reopen(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	w.Close()
	seen := map[string]int{}
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		bodies := wholeRecords(t, f)
		for i, b := range bodies {
			seen[b]++
			// A group is never split across two files.
			if strings.HasSuffix(b, "-a") && (i+1 >= len(bodies) || bodies[i+1] != strings.TrimSuffix(b, "a")+"b") {
				t.Errorf("%s: the group of %s was split", f, b)
			}
		}
	}
	if len(seen) != writers*each*2 {
		t.Errorf("%d distinct records, want %d", len(seen), writers*each*2)
	}
	for b, n := range seen {
		if n != 1 {
			t.Errorf("%s written %d times", b, n)
		}
	}
}

// TestDeletedFileIsCreatedAgain: a log deleted while open is created anew
// at the path, with a notice, rather than written on into nothing.
func TestDeletedFileIsCreatedAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.ndjson")
	var ns notices
	w := open(t, path, Options{Notify: ns.add})
	defer w.Close()
	w.WriteLines(line(t, 1, "gone"))
	os.Remove(path)
	if _, err := w.WriteLines(line(t, 2, "kept")); err != nil {
		t.Fatal(err)
	}
	if k := ns.kinds(); len(k) != 1 || k[0] != Recreated {
		t.Errorf("notices %v, want Recreated", k)
	}
	if got := strings.Join(wholeRecords(t, path), ","); got != "kept" {
		t.Errorf("the new file holds %s", got)
	}
}

// TestRemovedDirectoryFailsWrites: with its directory gone, the log cannot
// be written: each write fails (so that a listener answers 500), one Lost
// notice says why, no directory is created, and writing resumes once the
// directory exists again.
func TestRemovedDirectoryFailsWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	os.Mkdir(dir, 0o700)
	path := filepath.Join(dir, "c.ndjson")
	var ns notices
	w := open(t, path, Options{Notify: ns.add})
	defer w.Close()
	w.WriteLines(line(t, 1, "a"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		n, err := w.WriteLines(line(t, 2, "b"))
		var lost *LostError
		if n != 0 || !errors.As(err, &lost) || lost.Path != path {
			t.Fatalf("write %d into a removed directory: %d, %v; want 0 and a *LostError", i, n, err)
		}
	}
	if k := ns.kinds(); len(k) != 1 || k[0] != Lost {
		t.Errorf("notices %v, want one Lost", k)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the directory was created again: %v", err)
	}
	os.Mkdir(dir, 0o700)
	if _, err := w.WriteLines(line(t, 3, "back")); err != nil {
		t.Fatal(err)
	}
	if k := ns.kinds(); len(k) != 2 || k[1] != Recreated {
		t.Errorf("notices %v, want Lost then Recreated", k)
	}
	if got := strings.Join(wholeRecords(t, path), ","); got != "back" {
		t.Errorf("file holds %s", got)
	}
}

// BenchmarkWriteLines is one group of one typical record appended: the
// write(2) and the check that the path still names the file.
func BenchmarkWriteLines(b *testing.B) {
	w, err := Open(filepath.Join(b.TempDir(), "c.ndjson"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	l := append(typicalRecord, '\n')
	b.SetBytes(int64(len(l)))
	for b.Loop() {
		if _, err := w.WriteLines(l); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPathIsCheckedAsWritesGoOn: with the writer's own pace of checks, a
// removed directory soon makes writes fail.
func TestPathIsCheckedAsWritesGoOn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	os.Mkdir(dir, 0o700)
	w, err := Open(filepath.Join(dir, "c.ndjson"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	os.RemoveAll(dir)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := w.WriteLines(line(t, 1, "x"))
		var lost *LostError
		if errors.As(err, &lost) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes into a removed directory still succeed after 10s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
