package event

import "slices"

// bounded keeps the k first values, in the order less, of all it is
// offered: a max-heap of at most k values whose root is the last kept one.
// Validate uses it to report the first findings of a body in report order
// without building or sorting the ones it will not report.
type bounded[T any] struct {
	k    int
	less func(a, b T) bool
	h    []T
}

// wouldKeep reports whether x would be among the kept values.
func (b *bounded[T]) wouldKeep(x T) bool { return len(b.h) < b.k || (b.k > 0 && b.less(x, b.h[0])) }

// offer adds x. When that pushes a value out (x itself, or the last kept
// one), it is returned with true.
func (b *bounded[T]) offer(x T) (out T, evicted bool) {
	if len(b.h) < b.k {
		b.h = append(b.h, x)
		for i := len(b.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !b.less(b.h[p], b.h[i]) {
				break
			}
			b.h[p], b.h[i] = b.h[i], b.h[p]
			i = p
		}
		return out, false
	}
	if b.k == 0 || !b.less(x, b.h[0]) {
		return x, true
	}
	out, b.h[0] = b.h[0], x
	for i, n := 0, len(b.h); ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < n && b.less(b.h[m], b.h[l]) {
			m = l
		}
		if r < n && b.less(b.h[m], b.h[r]) {
			m = r
		}
		if m == i {
			break
		}
		b.h[i], b.h[m] = b.h[m], b.h[i]
		i = m
	}
	return out, true
}

// sorted returns the kept values in order. It sorts them in place (no
// copy: a validator reads them once, at the end), so nothing may be offered
// after.
func (b *bounded[T]) sorted() []T {
	slices.SortFunc(b.h, func(x, y T) int {
		switch {
		case b.less(x, y):
			return -1
		case b.less(y, x):
			return 1
		}
		return 0
	})
	return b.h
}
