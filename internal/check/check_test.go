package check

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/capture"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/source"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, inputs []source.Input, opts Options) (Summary, []Result, error) {
	t.Helper()
	var results []Result
	sum, err := Run(inputs, opts, func(r Result) error {
		results = append(results, r)
		return nil
	})
	return sum, results, err
}

var good = string(event.Fixture(event.PublishDone))

// Results come in input order across inputs and many batches, with exact
// counts, and files with no callback are named.
func TestRunOrderAndCounts(t *testing.T) {
	dir := t.TempDir()
	var many strings.Builder
	const n = 3000
	for i := 1; i <= n; i++ {
		if i%7 == 0 {
			fmt.Fprintf(&many, "{\"line\": %d,}\n", i)
		} else {
			many.WriteString(good + "\n")
		}
	}
	drift := strings.Replace(good, `"eventTime":1553741935867`, `"eventTime":"1553741935867"`, 1)
	inputs := []source.Input{
		source.File(writeFile(t, dir, "many.ndjson", many.String())),
		source.File(writeFile(t, dir, "empty.json", "")),
		source.Stream("stdin", strings.NewReader(drift+"\n"+good[:40])),
		source.File(writeFile(t, dir, "blank.ndjson", "\n\n")),
	}
	sum, results, err := run(t, inputs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Callbacks: n + 1, Invalid: n / 7, Warned: 1, Skipped: 1,
		Empty: []string{filepath.Join(dir, "empty.json"), filepath.Join(dir, "blank.ndjson")}}
	if fmt.Sprint(sum) != fmt.Sprint(want) {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if len(results) != n+2 {
		t.Fatalf("%d results", len(results))
	}
	for i, r := range results[:n] {
		if r.Line != i+1 || r.Valid != ((i+1)%7 != 0) || r.File != inputs[0].Name {
			t.Fatalf("result %d: %s valid %v", i, r.Source, r.Valid)
		}
	}
	if r := results[n]; r.Source != "stdin:1" || !r.Valid || r.Findings[0].Code != event.CodeTypeDrift {
		t.Errorf("drift: %+v", r)
	}
	if r := results[n+1]; r.Source != "stdin:2" || !r.Skipped || r.Findings[0].Code != event.CodeTruncated {
		t.Errorf("cut line: %+v", r)
	}
	if !sum.Failed() {
		t.Error("a run with invalid callbacks did not fail")
	}
	if s := (Summary{Callbacks: 1}); s.Failed() {
		t.Error("a run of one valid callback failed")
	}
	if s := (Summary{Empty: []string{"x"}}); !s.Failed() {
		t.Error("a run with nothing to check passed")
	}
}

func TestRunRecordTooLarge(t *testing.T) {
	big := `{"streamName":"` + strings.Repeat("x", 300) + `"}`
	in := source.Stream("in", strings.NewReader(good+"\n"+big+"\n"+good+"\n"))
	sum, results, err := run(t, []source.Input{in}, Options{Read: source.Options{MaxRecord: 256}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Callbacks != 3 || sum.Invalid != 1 || sum.TooLarge != 1 || len(results) != 3 {
		t.Fatalf("summary %+v, %d results", sum, len(results))
	}
	r := results[1]
	if r.Valid || r.TooLarge == nil || r.TooLarge.Line != 2 || r.TooLarge.Read != int64(len(big)) || len(r.Findings) != 1 {
		t.Fatalf("%+v", r)
	}
	f := r.Findings[0]
	if f.Code != CodeTooLarge || f.Severity != event.Error ||
		f.Message != fmt.Sprintf("record at byte %d is over the 256 B limit (%d bytes read); not checked", len(good)+1, len(big)) {
		t.Errorf("finding %+v", f)
	}
	if !results[0].Valid || !results[2].Valid || results[2].Line != 3 {
		t.Errorf("around it: %+v, %+v", results[0], results[2])
	}
}

// A capture's findings about the request stay (strict makes them errors);
// its findings about the body are made afresh.
func TestRunKeepsRequestFindings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.ndjson")
	w, err := capture.Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	rec := &capture.Record{Method: "POST", Target: "/cb", Findings: event.Findings{
		{Severity: event.Warning, Code: capture.CodeContentType, Message: "text/plain"},
		{Severity: event.Error, Code: event.CodeNotJSON, Message: "stale"},
	}}
	rec.SetBody([]byte(good))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	for _, strict := range []bool{false, true} {
		_, results, err := run(t, []source.Input{source.File(path)}, Options{Strict: strict})
		if err != nil || len(results) != 1 {
			t.Fatalf("%v, %d results", err, len(results))
		}
		r := results[0]
		if r.Kind != event.PublishDone || len(r.Findings) != 1 || r.Findings[0].Code != capture.CodeContentType || r.Valid == strict {
			t.Errorf("strict %v: %+v", strict, r)
		}
	}
}

// A file that cannot be read stops the run with a *source.FileError, after
// the results of the inputs before it.
func TestRunFileError(t *testing.T) {
	dir := t.TempDir()
	inputs := []source.Input{source.File(writeFile(t, dir, "a.ndjson", good+"\n")), source.File(filepath.Join(dir, "nope.ndjson")),
		source.File(writeFile(t, dir, "b.ndjson", good+"\n"))}
	_, results, err := run(t, inputs, Options{})
	var fe *source.FileError
	if !errors.As(err, &fe) || fe.File != inputs[1].Name || len(results) != 1 {
		t.Fatalf("err %v, %d results", err, len(results))
	}
}

// Each input is opened when its turn comes and closed before the next is
// opened.
func TestRunOpensOneInputAtATime(t *testing.T) {
	var open, most atomic.Int32
	var inputs []source.Input
	for i := range 50 {
		inputs = append(inputs, source.Input{Name: fmt.Sprint(i), Open: func() (io.ReadCloser, error) {
			if n := open.Add(1); n > most.Load() {
				most.Store(n)
			}
			return closer{strings.NewReader(good + "\n"), &open}, nil
		}})
	}
	sum, _, err := run(t, inputs, Options{})
	if err != nil || sum.Callbacks != 50 {
		t.Fatalf("%v %+v", err, sum)
	}
	if most.Load() != 1 || open.Load() != 0 {
		t.Errorf("%d inputs open at once, %d left open", most.Load(), open.Load())
	}
}

type closer struct {
	io.Reader
	open *atomic.Int32
}

func (c closer) Close() error { c.open.Add(-1); return nil }

// emit's error stops the run, and the reading: an endless input ends.
func TestRunStopsOnEmitError(t *testing.T) {
	r, w := io.Pipe()
	go func() {
		line := []byte(good + "\n")
		for {
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	}()
	defer r.Close()
	stop := errors.New("stop")
	n := 0
	done := make(chan error, 1)
	go func() {
		_, err := Run([]source.Input{source.Stream("stdin", r)}, Options{}, func(Result) error {
			if n++; n == 1000 {
				return stop
			}
			return nil
		})
		done <- err
	}()
	select {
	case err := <-done:
		if err != stop || n != 1000 {
			t.Errorf("err %v after %d results", err, n)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return after emit failed")
	}
}

// A record that arrives alone (a pipe, then silence) is checked and emitted
// without waiting for a batch to fill or the input to end.
func TestRunEmitsWithoutWaitingForMore(t *testing.T) {
	r, w := io.Pipe()
	emitted := make(chan Result)
	done := make(chan error, 1)
	go func() {
		_, err := Run([]source.Input{source.Stream("stdin", r)}, Options{}, func(res Result) error {
			emitted <- res
			return nil
		})
		done <- err
	}()
	for i := 1; i <= 3; i++ {
		if _, err := io.WriteString(w, good+"\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case res := <-emitted:
			if res.Line != i || !res.Valid {
				t.Fatalf("result %+v", res)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("record %d written, no result", i)
		}
	}
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The values in flight weigh no more than the budget.
func TestInOrderBudget(t *testing.T) {
	const budget = 1000
	var inFlight, most atomic.Int64
	weights := make([]int64, 5000)
	for i := range weights {
		weights[i] = int64(i%300 + 1)
	}
	weights[77] = 5000 // heavier than the budget: goes alone
	var got []int
	err := inOrder(func(yield func(int) error) error {
		for i := range weights {
			if err := yield(i); err != nil {
				return err
			}
		}
		return nil
	}, func(i int) int64 { return weights[i] }, budget,
		func(i int) int {
			n := inFlight.Add(min(weights[i], budget))
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			return i
		},
		func(i int) error {
			inFlight.Add(-min(weights[i], budget))
			got = append(got, i)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if most.Load() > budget {
		t.Errorf("%d in flight, budget %d", most.Load(), budget)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("result %d is %d", i, v)
		}
	}
	if len(got) != len(weights) {
		t.Fatalf("%d results", len(got))
	}
}

// A record the reader could not read is an error with the reader's reason.
func TestVerdictOfBrokenRecord(t *testing.T) {
	r := verdict(source.Item{File: "f", Line: 2, Broken: errors.New("capture format \"x\"")}, Options{})
	want := Result{Source: "f:2", File: "f", Line: 2, Findings: event.Findings{{Severity: event.Error, Code: event.CodeNotJSON,
		Message: `broken record: capture format "x"`}}}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("%+v", r)
	}
}
