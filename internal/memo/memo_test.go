package memo

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStringsIsBoundedAndRight: a Strings gives what its function gives,
// for strings that collide in its sets, long ones it does not keep, and
// from many goroutines at once (go test -race).
func TestStringsIsBoundedAndRight(t *testing.T) {
	var calls atomic.Int64
	m := New(func(s string) string {
		calls.Add(1)
		return "<" + s + ">"
	})
	long := strings.Repeat("x", MaxLen+1)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				s := strconv.Itoa(i % 700)
				if got := m.Get(s); got != "<"+s+">" {
					t.Errorf("Get(%q) = %q", s, got)
					return
				}
			}
			if got := m.Get(long); got != "<"+long+">" {
				t.Error("a long string came back changed")
			}
		}()
	}
	wg.Wait()
	if calls.Load() == 4*2001 {
		t.Error("the memo never answered from a set")
	}
}

// TestStringsKeepsTwoThatCollide: two strings of one set, asked for in
// turn, are each made once (a direct-mapped cache made them every time).
func TestStringsKeepsTwoThatCollide(t *testing.T) {
	calls := 0
	m := New(func(s string) string { calls++; return s + "!" })
	first := "is a JSON number; the spec's sample has a string"
	var second string
	for i := 0; ; i++ {
		second = "message " + strconv.Itoa(i)
		if m.setOf(second) == m.setOf(first) {
			break
		}
	}
	for range 100 {
		if m.Get(first) != first+"!" || m.Get(second) != second+"!" {
			t.Fatal("a string came back changed")
		}
	}
	if calls != 2 {
		t.Errorf("two strings of one set asked for 100 times each: made %d times, want 2", calls)
	}
	// A third in the same set evicts the one used least lately.
	var third string
	for i := 0; ; i++ {
		third = "third " + strconv.Itoa(i)
		if m.setOf(third) == m.setOf(first) {
			break
		}
	}
	m.Get(first)
	m.Get(third)
	calls = 0
	m.Get(first)
	m.Get(third)
	if calls != 0 {
		t.Errorf("the two used last were made again (%d calls)", calls)
	}
	m.Get(second)
	if calls != 1 {
		t.Errorf("the evicted one was not made again (%d calls)", calls)
	}
}

// TestSecondsMakesOncePerSecondAndLocation: the text of a second is made
// once while times stay in it, again for the next second and for another
// location of the same second.
func TestSecondsMakesOncePerSecondAndLocation(t *testing.T) {
	calls := 0
	s := NewSeconds(func(t time.Time) (string, string) {
		calls++
		if t.Nanosecond() != 0 {
			panic("given a time with a fraction")
		}
		return t.Format("2006-01-02T15:04:05"), t.Format("Z07:00")
	})
	at := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	east := time.FixedZone("", 3600)
	for _, c := range []struct {
		t              time.Time
		prefix, suffix string
		calls          int
	}{
		{at.Add(1), "2026-12-07T13:00:00", "Z", 1},
		{at.Add(999999999), "2026-12-07T13:00:00", "Z", 1},
		{at.Add(time.Second), "2026-12-07T13:00:01", "Z", 2},
		{at.Add(time.Second).In(east), "2026-12-07T14:00:01", "+01:00", 3},
		{at.Add(time.Second + 5).In(east), "2026-12-07T14:00:01", "+01:00", 3},
		{at.Add(-1), "2026-12-07T12:59:59", "Z", 4},
	} {
		p, x := s.Get(c.t)
		if p != c.prefix || x != c.suffix || calls != c.calls {
			t.Errorf("Get(%v) = %q %q after %d calls, want %q %q after %d", c.t, p, x, calls, c.prefix, c.suffix, c.calls)
		}
	}
}

// TestLastRemembersTheLastValue: a value equal to the last one is not made
// again, another is, and changing the caller's copy after the call does not
// change what is remembered.
func TestLastRemembersTheLastValue(t *testing.T) {
	calls := 0
	l := NewLast(func(k []string) string { calls++; return strings.Join(k, "+") }, slices.Equal[[]string], slices.Clone[[]string])
	a := []string{"x", "y"}
	for _, c := range []struct {
		k     []string
		want  string
		calls int
	}{
		{a, "x+y", 1},
		{[]string{"x", "y"}, "x+y", 1},
		{[]string{"x"}, "x", 2},
		{[]string{"x"}, "x", 2},
		{a, "x+y", 3},
	} {
		if got := l.Get(c.k); got != c.want || calls != c.calls {
			t.Errorf("Get(%q) = %q after %d calls, want %q after %d", c.k, got, calls, c.want, c.calls)
		}
	}
	a[1] = "z" // the caller's slice changes: what was remembered does not
	if got := l.Get(a); got != "x+z" || calls != 4 {
		t.Errorf("after the caller changed its value: %q after %d calls, want x+z after 4", got, calls)
	}
}
