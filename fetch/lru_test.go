package fetch

import (
	"fmt"
	"testing"
)

// order lists l's keys from the most to the least recently used.
func order[K comparable, V any](l *lru[K, V]) string {
	var keys []K
	if l.m != nil {
		for n := l.root.next; n != &l.root; n = n.next {
			keys = append(keys, n.key)
		}
	}
	return fmt.Sprint(keys)
}

func TestLRU(t *testing.T) {
	var l lru[string, int] // the zero value is ready to use
	if _, ok := l.get("a"); ok || l.len() != 0 || l.remove("a") {
		t.Fatal("zero lru is not empty")
	}
	if _, _, ok := l.oldest(); ok {
		t.Fatal("zero lru has an oldest entry")
	}
	steps := []struct {
		do        func()
		wantOrder string
		wantBytes int64
	}{
		{func() { l.put("a", 1, 10) }, "[a]", 10},
		{func() { l.put("b", 2, 20) }, "[b a]", 30},
		{func() { l.put("c", 3, 30) }, "[c b a]", 60},
		{func() { l.get("a") }, "[a c b]", 60},
		{func() { l.peek("b") }, "[a c b]", 60},
		{func() { l.get("a") }, "[a c b]", 60},
		{func() { l.put("b", 20, 5) }, "[b a c]", 45}, // replace: new value and size
		{func() { l.remove("a") }, "[b c]", 35},
		{func() { l.remove("c") }, "[b]", 5},
		{func() { l.remove("b") }, "[]", 0},
		{func() { l.put("d", 4, 1) }, "[d]", 1},
	}
	for i, s := range steps {
		s.do()
		if got := order(&l); got != s.wantOrder || l.bytes() != s.wantBytes || l.len() != len(l.m) {
			t.Errorf("step %d: got order %s bytes %d, want %s and %d", i, got, l.bytes(), s.wantOrder, s.wantBytes)
		}
	}
	l.put("e", 5, 1)
	if k, v, ok := l.oldest(); !ok || k != "d" || v != 4 {
		t.Errorf("oldest: got %q %d %v, want d 4 true", k, v, ok)
	}
	if v, ok := l.get("d"); !ok || v != 4 {
		t.Errorf("get(d): got %d %v, want 4 true", v, ok)
	}
	if k, _, _ := l.oldest(); k != "e" {
		t.Errorf("oldest after get(d): got %q, want e", k)
	}
	if v, ok := l.peek("zz"); ok || v != 0 {
		t.Errorf("peek(zz): got %d %v, want 0 false", v, ok)
	}
}

// TestLRUEvictLoop drops the oldest while over a bound, as the Client does,
// and checks the most recent entries are the ones kept.
func TestLRUEvictLoop(t *testing.T) {
	var l lru[int, struct{}]
	for i := range 1000 {
		l.put(i, struct{}{}, 1)
		for l.len() > 10 {
			k, _, _ := l.oldest()
			l.remove(k)
		}
	}
	if l.len() != 10 || l.bytes() != 10 {
		t.Fatalf("got %d entries of %d bytes, want 10 and 10", l.len(), l.bytes())
	}
	if got, want := order(&l), "[999 998 997 996 995 994 993 992 991 990]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
