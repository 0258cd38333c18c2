package fetch

// lru is a map that remembers the order in which its entries were used, so
// that the least recently used can be found and dropped, and that sums a
// size the caller gives each entry. The Client keeps its per-host limiters
// and its robots.txt rules in one each; the eviction policy is theirs.
//
// The zero value is an empty lru ready to use; it must not be copied after
// first use. An lru is not safe for concurrent use: the lock of its owner
// guards it.
type lru[K comparable, V any] struct {
	m    map[K]*lruNode[K, V]
	root lruNode[K, V] // sentinel: root.next is the most recently used, root.prev the least
	size int64         // sum of the entries' sizes
}

type lruNode[K comparable, V any] struct {
	prev, next *lruNode[K, V]
	key        K
	val        V
	size       int64
}

func (l *lru[K, V]) lazyInit() {
	if l.m == nil {
		l.m = make(map[K]*lruNode[K, V])
		l.root.next, l.root.prev = &l.root, &l.root
	}
}

// len is the number of entries.
func (l *lru[K, V]) len() int { return len(l.m) }

// bytes is the sum of the entries' sizes.
func (l *lru[K, V]) bytes() int64 { return l.size }

// get returns the value of k and marks it the most recently used.
func (l *lru[K, V]) get(k K) (v V, ok bool) {
	n := l.m[k]
	if n == nil {
		return v, false
	}
	l.toFront(n)
	return n.val, true
}

// peek returns the value of k without changing the order of use.
func (l *lru[K, V]) peek(k K) (v V, ok bool) {
	if n := l.m[k]; n != nil {
		return n.val, true
	}
	return v, false
}

// put sets the value and size of k and marks it the most recently used.
func (l *lru[K, V]) put(k K, v V, size int64) {
	l.lazyInit()
	n := l.m[k]
	if n == nil {
		n = &lruNode[K, V]{key: k}
		l.m[k] = n
		n.prev, n.next = &l.root, l.root.next // link at the front
		n.prev.next, n.next.prev = n, n
	} else {
		l.toFront(n)
	}
	l.size += size - n.size
	n.val, n.size = v, size
}

// remove drops k; it reports whether k was there.
func (l *lru[K, V]) remove(k K) bool {
	n := l.m[k]
	if n == nil {
		return false
	}
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
	delete(l.m, k)
	l.size -= n.size
	return true
}

// oldest returns the least recently used entry; ok is false when l is
// empty.
func (l *lru[K, V]) oldest() (k K, v V, ok bool) {
	if len(l.m) == 0 {
		return k, v, false
	}
	n := l.root.prev
	return n.key, n.val, true
}

// toFront marks n the most recently used.
func (l *lru[K, V]) toFront(n *lruNode[K, V]) {
	if l.root.next == n {
		return
	}
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = &l.root, l.root.next
	n.prev.next, n.next.prev = n, n
}
