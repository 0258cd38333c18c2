// Package sched holds what trawl's frontier backends share for per-host
// scheduling: Hosts, the scheduling itself (ready and idle hosts, slots,
// intervals, back-offs and leases), over an indexed heap and the clock
// arithmetic of next-allowed times. The backends keep only their queues
// and storage. It is internal to trawl/store.
package sched

// Heap is a container/heap.Interface over elements that record their own
// position in it, so that heap.Fix and heap.Remove can find them. The
// order and the position field come from the zero-size policy type P, so
// one element type can sit in several heaps (a host is both in the ready
// heap and in the idle heap) without a method clash.
type Heap[T any, P Policy[T]] []T

// Policy says how a Heap orders its elements and where each keeps its
// index (-1 when it is in no heap).
type Policy[T any] interface {
	Less(a, b T) bool
	Index(T) *int
}

func (s Heap[T, P]) Len() int { return len(s) }

func (s Heap[T, P]) Less(i, j int) bool {
	var p P
	return p.Less(s[i], s[j])
}

func (s Heap[T, P]) Swap(i, j int) {
	var p P
	s[i], s[j] = s[j], s[i]
	*p.Index(s[i]), *p.Index(s[j]) = i, j
}

// Push appends x (a T); use container/heap.Push.
func (s *Heap[T, P]) Push(x any) {
	var p P
	t := x.(T)
	*p.Index(t) = len(*s)
	*s = append(*s, t)
}

// Pop removes the last element; use container/heap.Pop.
func (s *Heap[T, P]) Pop() any {
	var p P
	old := *s
	t := old[len(old)-1]
	var zero T
	old[len(old)-1] = zero
	*s = old[:len(old)-1]
	*p.Index(t) = -1
	return t
}
