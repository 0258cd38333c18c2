package bufpool

import "testing"

func TestGetPut(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 1024, 1025, 10_000, 1 << 20, 1<<20 + 1, 3 << 20} {
		p := Get(n)
		if len(*p) != 0 || cap(*p) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*p), cap(*p))
		}
		if n > 0 && n <= 1<<20 && cap(*p) >= 2*max(n, 1<<minShift) {
			t.Errorf("Get(%d): cap %d, more than twice what was asked", n, cap(*p))
		}
		*p = append(*p, "data"...)
		Put(p)
	}
}

// A buffer put back is handed out again for a size its class holds,
// poisoned when Poison is set.
func TestPoison(t *testing.T) {
	Poison.Store(true)
	defer Poison.Store(false)
	var reused bool
	for range 100 { // sync.Pool may drop a buffer; it keeps one most times
		p := Get(5000)
		*p = append(*p, "hello"...)
		b := (*p)[:5]
		Put(p)
		if string(b) != "\xee\xee\xee\xee\xee" {
			t.Fatalf("after Put the old slice reads %q, want the poison", b)
		}
		q := Get(6000)
		if cap(*q) == cap(b) && &(*q)[:1][0] == &b[0] {
			reused = true
		}
		Put(q)
	}
	if !reused {
		t.Error("a buffer put back was never handed out again")
	}
}
