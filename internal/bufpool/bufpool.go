// Package bufpool keeps byte buffers for reuse, in power-of-two size
// classes, so that a crawl reading a body per page does not allocate (and
// zero, and collect) a new buffer for each.
//
// A buffer goes back with Put only when nothing uses it, nor any slice of
// it, any longer: its bytes will be overwritten by the next Get. Tests set
// Poison so that a use after Put shows up as corrupt data rather than as a
// race that happens to read the right bytes.
package bufpool

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Buffers of 1 KiB to 1 MiB are kept; Get makes a bigger one without
// keeping it, and Put drops it.
const (
	minShift = 10
	maxShift = 20
)

// pools[i] holds buffers whose capacity is at least 1<<(minShift+i) and
// below twice that.
var pools [maxShift - minShift + 1]sync.Pool

// Poison, when set, makes Put fill a buffer with 0xEE before keeping it.
// It is meant for tests; it costs a pass over each buffer put.
var Poison atomic.Bool

// Get returns a buffer of length 0 and capacity at least n.
func Get(n int) *[]byte {
	c := max(bits.Len(uint(max(n, 1)-1)), minShift) // the smallest class that holds n
	if c > maxShift {
		b := make([]byte, 0, n)
		return &b
	}
	if p, _ := pools[c-minShift].Get().(*[]byte); p != nil {
		return p
	}
	b := make([]byte, 0, 1<<c)
	return &b
}

// Put keeps *p for a later Get. Neither *p nor any slice of it may be used
// after.
func Put(p *[]byte) {
	c := bits.Len(uint(cap(*p))) - 1 // the largest class *p holds
	if c < minShift || c > maxShift {
		return
	}
	if Poison.Load() {
		b := (*p)[:cap(*p)]
		for i := range b {
			b[i] = 0xEE
		}
	}
	*p = (*p)[:0]
	pools[c-minShift].Put(p)
}
