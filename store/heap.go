package store

// indexedHeap is a container/heap.Interface over elements that record
// their own position in it, so that heap.Fix and heap.Remove can find
// them. The order and the position field come from the zero-size policy
// type P, so one element type can sit in several heaps (a host is both in
// the ready heap and in the idle heap) without a method clash.
type indexedHeap[T any, P heapPolicy[T]] []T

// heapPolicy says how an indexedHeap orders its elements and where each
// keeps its index (-1 when it is in no heap).
type heapPolicy[T any] interface {
	less(a, b T) bool
	index(T) *int
}

func (s indexedHeap[T, P]) Len() int { return len(s) }

func (s indexedHeap[T, P]) Less(i, j int) bool {
	var p P
	return p.less(s[i], s[j])
}

func (s indexedHeap[T, P]) Swap(i, j int) {
	var p P
	s[i], s[j] = s[j], s[i]
	*p.index(s[i]), *p.index(s[j]) = i, j
}

func (s *indexedHeap[T, P]) Push(x any) {
	var p P
	t := x.(T)
	*p.index(t) = len(*s)
	*s = append(*s, t)
}

func (s *indexedHeap[T, P]) Pop() any {
	var p P
	old := *s
	t := old[len(old)-1]
	var zero T
	old[len(old)-1] = zero
	*s = old[:len(old)-1]
	*p.index(t) = -1
	return t
}
