package source

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readLimited reads input with a record limit of limit bytes.
func readLimited(t *testing.T, input string, limit int64) (Stats, []Item) {
	t.Helper()
	var items []Item
	st, err := Read("in", strings.NewReader(input), Options{MaxRecord: limit}, func(it Item) error {
		items = append(items, it)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return st, items
}

// tooLarge is the oversized record expected at an item.
type tooLarge struct {
	item   int
	line   int
	offset int64
	read   int64 // -1: reported on passing the limit, by less than a buffer
	entry  string
}

func checkTooLarge(t *testing.T, items []Item, w tooLarge, limit int64) {
	t.Helper()
	if w.item >= len(items) {
		t.Fatalf("no item %d: %+v", w.item, items)
	}
	it := items[w.item]
	var tl *TooLargeError
	if !errors.As(it.Broken, &tl) {
		t.Fatalf("item %d: Broken %v, want a *TooLargeError", w.item, it.Broken)
	}
	want := TooLargeError{File: "in", Line: w.line, Offset: w.offset, Entry: w.entry, Read: w.read, Limit: limit}
	if w.read < 0 && tl.Read > limit && tl.Read <= limit+1<<16 {
		want.Read = tl.Read // reported as soon as it passed the limit
	}
	if *tl != want {
		t.Errorf("item %d: %+v, want %+v", w.item, *tl, want)
	}
	if it.Line != w.line || it.Body != nil || it.Truncated {
		t.Errorf("item %d: line %d body %q truncated %v", w.item, it.Line, it.Body, it.Truncated)
	}
}

func TestReadRefusesRecordsOverTheLimit(t *testing.T) {
	const limit = 32
	big := `{"streamName":"` + strings.Repeat("x", 40) + `"}` // 57 bytes
	small := `{"a":1}`
	tests := []struct {
		name   string
		input  string
		format Format
		bodies []string // "" where the oversized records are
		large  []tooLarge
	}{
		{"a line in the middle", small + "\n" + big + "\n" + small + "\n", FormatNDJSON,
			[]string{small, "", small}, []tooLarge{{item: 1, line: 2, offset: 8, read: 57}}},
		{"the first line", big + "\n" + small + "\n", FormatNDJSON,
			[]string{"", small}, []tooLarge{{item: 0, line: 1, offset: 0, read: 57}}},
		{"the last line, without newline", small + "\n" + big, FormatNDJSON,
			[]string{small, ""}, []tooLarge{{item: 1, line: 2, offset: 8, read: 57}}},
		{"exactly the limit is read", strings.Repeat(" ", 23) + `{"a":1}` + "  \n" + small + "\n", FormatNDJSON,
			[]string{strings.Repeat(" ", 23) + `{"a":1}` + "  ", small}, nil},
		{"one byte over is not", strings.Repeat(" ", 24) + `{"a":1}` + "  \n" + small + "\n", FormatNDJSON,
			[]string{"", small}, []tooLarge{{item: 0, line: 1, offset: 0, read: 33}}},
		{"line numbers go on after it", "\n" + big + "\n\n" + small + "\n", FormatNDJSON,
			[]string{"", small}, []tooLarge{{item: 0, line: 2, offset: 1, read: 57}}},
		// A pretty-printed document over the limit is one record; nothing
		// follows it.
		{"a whole document", "{\n  \"streamName\": \"" + strings.Repeat("x", 20) + "\",\n  \"a\": 1\n}\n", FormatJSON,
			[]string{""}, []tooLarge{{item: 0, line: 1, offset: 0, read: 42}}},
		// Lines of which the first is broken stay lines past the limit.
		{"lines after a broken first one", "{\"a\": \n" + strings.Repeat(small+"\n", 6), FormatNDJSON,
			[]string{`{"a": `, small, small, small, small, small, small}, nil},
		{"blank lines over the limit are no record", strings.Repeat("   \n", 20), FormatJSON, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, items := readLimited(t, tt.input, limit)
			if st.Format != tt.format || st.Items != len(items) {
				t.Errorf("stats %+v for %d items, want format %q", st, len(items), tt.format)
			}
			if len(items) != len(tt.bodies) {
				t.Fatalf("%d items, want %d: %+v", len(items), len(tt.bodies), items)
			}
			for i, b := range tt.bodies {
				if b != "" && string(items[i].Body) != b {
					t.Errorf("item %d body %q, want %q", i, items[i].Body, b)
				}
			}
			for _, w := range tt.large {
				checkTooLarge(t, items, w, limit)
			}
		})
	}
}

func TestTooLargeErrorSaysWhat(t *testing.T) {
	e := &TooLargeError{File: "cap.ndjson", Line: 3, Offset: 1024, Read: 20 << 20, Limit: 16 << 20}
	if got, want := e.Error(), "record at byte 1024 is over the 16 MiB limit (20,971,520 bytes read)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	e.Entry = "/log/entries/2"
	if got, want := e.Error(), "HAR entry /log/entries/2 at byte 1024 is over the 16 MiB limit (20,971,520 bytes read)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// zeros is an endless stream without a newline, like /dev/zero, that stops
// after n bytes.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	m := min(int64(len(p)), z.n)
	clear(p[:m])
	z.n -= m
	return int(m), nil
}

// allocated is how many bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A line without end is reported as soon as it passes the limit, then read
// past without being kept: what is allocated does not grow with the input.
func TestReadEndlessLineInBoundedMemory(t *testing.T) {
	const limit = 1 << 20
	for _, input := range []struct {
		name string
		r    func() io.Reader
	}{
		{"no newline", func() io.Reader { return &zeros{n: 256 << 20} }},
		{"then a record", func() io.Reader {
			return io.MultiReader(&zeros{n: 256 << 20}, strings.NewReader("\n{\"a\":1}\n"))
		}},
	} {
		t.Run(input.name, func(t *testing.T) {
			var items []Item
			var err error
			n := allocated(func() {
				_, err = Read("in", input.r(), Options{MaxRecord: limit}, func(it Item) error {
					items = append(items, it)
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if n > 8*limit {
				t.Errorf("allocated %d bytes reading 256 MiB with a 1 MiB limit", n)
			}
			checkTooLarge(t, items, tooLarge{item: 0, line: 1, offset: 0, read: limit + 1<<16}, limit)
			if input.name == "then a record" && (len(items) != 2 || string(items[1].Body) != `{"a":1}` || items[1].Line != 2) {
				t.Errorf("after the endless line: %+v", items[1:])
			}
		})
	}
}

// The limit stops the reading of a long line at once, not at its end: fn
// sees the oversized record before the rest of it is read.
func TestReadReportsAnOversizedLineAtOnce(t *testing.T) {
	r := &zeros{n: 64 << 20}
	var left int64 = -1
	Read("in", r, Options{MaxRecord: 1 << 20}, func(it Item) error {
		left = r.n
		return errors.New("stop")
	})
	if left < 60<<20 {
		t.Errorf("%d bytes of 64 MiB were left when the record was reported; want nearly all", left)
	}
}

func TestReadHARRefusesEntriesOverTheLimit(t *testing.T) {
	const limit = 200
	entry := func(body string) string {
		return `{"request": {"method": "POST", "url": "http://h/cb", "postData": {"mimeType": "application/json", "text": ` + body + `}}}`
	}
	big := `"` + strings.Repeat(`\"x`, 100) + `"` // escapes, so that the scanner must follow them
	har := "{\n\"log\": {\"comment\": " + big + ",\n\"entries\": [\n" +
		entry(`"{\"a\":1}"`) + ",\n" + // line 4
		entry(big) + ",\n" + // line 5
		entry(`"{\"b\":2}"`) + "\n" + // line 6
		"]}}\n"
	st, items := readLimited(t, har, limit)
	if st.Format != FormatHAR || len(items) != 3 {
		t.Fatalf("format %q, %d items: %+v", st.Format, len(items), items)
	}
	if string(items[0].Body) != `{"a":1}` || items[0].Line != 4 || string(items[2].Body) != `{"b":2}` || items[2].Line != 6 {
		t.Errorf("entries around the big one: %+v, %+v", items[0], items[2])
	}
	second := strings.Index(har, entry(big))
	checkTooLarge(t, items, tooLarge{item: 1, line: 5, offset: int64(second), read: -1, entry: "/log/entries/1"}, limit)

	// Cut inside the big entry: it is reported once, as too large.
	_, items = readLimited(t, har[:second+250], limit)
	if len(items) != 2 || items[1].Truncated {
		t.Fatalf("cut in the big entry: %+v", items)
	}
	checkTooLarge(t, items, tooLarge{item: 1, line: 5, offset: int64(second), read: -1, entry: "/log/entries/1"}, limit)
}

// An entry that is JSON but not an entry is one broken record; the next
// entries are read.
func TestReadHARBrokenEntry(t *testing.T) {
	har := `{"log": {"entries": [{"request": "POST"}, {"request": {"method": "POST", "postData": {"text": "{}"}}}]}}`
	_, items := readAll(t, har)
	if len(items) != 2 || items[0].Broken == nil || items[1].Broken != nil || string(items[1].Body) != "{}" {
		t.Fatalf("%+v", items)
	}
	if got, want := items[0].Broken.Error(), "HAR entry /log/entries/0: request is a JSON string, which HAR does not allow there"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// A HAR with a huge member outside the entries, and one entry without end,
// is read in bounded memory.
func TestReadHARInBoundedMemory(t *testing.T) {
	const limit = 1 << 20
	har := func() io.Reader {
		return io.MultiReader(strings.NewReader(`{"log": {"comment": "`), &zeros{n: 128 << 20},
			strings.NewReader(`", "entries": [{"request": {"method": "POST", "postData": {"text": "`), &zeros{n: 128 << 20})
	}
	var items []Item
	n := allocated(func() {
		Read("in", har(), Options{MaxRecord: limit}, func(it Item) error {
			items = append(items, it)
			return nil
		})
	})
	if n > 8*limit {
		t.Errorf("allocated %d bytes reading 256 MiB of HAR with a 1 MiB limit", n)
	}
	if len(items) != 1 {
		t.Fatalf("%d items: %+v", len(items), items)
	}
	var tl *TooLargeError
	if !errors.As(items[0].Broken, &tl) || tl.Entry != "/log/entries/0" || tl.Line != 1 {
		t.Errorf("%+v", items[0])
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := File(filepath.Join(dir, "nope.ndjson")).Read(Options{}, func(Item) error { return nil })
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %T %v", err, err)
	}
	if got, want := err.Error(), filepath.Join(dir, "nope.ndjson")+": no such file: check the path (- reads standard input)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A directory opens, and fails when read.
	_, err = File(dir).Read(Options{}, func(Item) error { return nil })
	if !errors.As(err, &fe) || !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("directory: %T %v", err, err)
	}
	if got, want := err.Error(), dir+": is a directory: name the files in it ("+dir+"/*.ndjson)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// fn's own error is returned as it is.
	stop := errors.New("stop")
	path := filepath.Join(dir, "a.ndjson")
	os.WriteFile(path, []byte("{}\n"), 0o600)
	if _, err := File(path).Read(Options{}, func(Item) error { return stop }); err != stop {
		t.Errorf("fn's error came back as %v", err)
	}
}

// closeCounter counts Close calls.
type closeCounter struct {
	io.Reader
	closed *int
}

func (c closeCounter) Close() error { *c.closed++; return nil }

func TestInputReadClosesWhatItOpens(t *testing.T) {
	closed := 0
	in := Input{Name: "x", Open: func() (io.ReadCloser, error) {
		return closeCounter{bytes.NewReader([]byte("{}\n")), &closed}, nil
	}}
	if _, err := in.Read(Options{}, func(Item) error { return nil }); err != nil || closed != 1 {
		t.Errorf("err %v, closed %d times", err, closed)
	}
}

// A record that arrives alone on a pipe is handed over before anything
// more arrives: telling a HAR from lines reads no more than it needs.
func TestReadHandsOverWhatHasArrived(t *testing.T) {
	for _, first := range []string{"{\"a\":1}\n", "{\"log\": 1}\n",
		`{"log": {"entries": [{"request": {"method": "POST", "postData": {"text": "x"}}}`} {
		r, w := io.Pipe()
		got := make(chan Item)
		go Read("pipe", r, Options{}, func(it Item) error {
			got <- it
			return nil
		})
		go io.WriteString(w, first)
		select {
		case it := <-got:
			if it.Line != 1 {
				t.Errorf("%q: %+v", first, it)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("%q: nothing handed over while the pipe waits", first)
		}
		w.Close()
	}
}
