package sched

import (
	"container/heap"
	"math"
	"time"
)

// Hosts is the per-host scheduling of a frontier: which hosts have work,
// which of them may be claimed from and when, the live leases and their
// expiry, and which idle hosts are still remembered. A backend keeps its
// entries itself, in Host.Queue (type Q), and the record of what each
// lease holds in Lease.Item (type V); Hosts learns about a host's queue
// only through Config.Head.
//
// The rules are those of every trawl frontier (see package storetest): a
// host is ready when it has a queued entry that may be claimed, fewer
// than PerHost leases, and its next-allowed time (last claim plus
// interval, or its back-off if later) has passed; among ready hosts the
// one that has been ready longest goes first. A host without work is
// remembered until its next-allowed time passes and then forgotten,
// interval and back-off included.
//
// A claim goes: Ready names the host, the backend takes the entry off
// its queue, and Claim files the lease. Leases end with Settle (found
// with Lease) or, expired, with PopExpired; the backend then queues the
// entry again if it must, and calls Refresh, and for a host that may
// have run out of work Park.
//
// Use NewHosts; the zero value is not usable. Hosts is not safe for
// concurrent use: its frontier's lock guards it. Times are Unix
// nanoseconds (see Nanos). Ready, Claim, Refresh, Settle and PopExpired
// cost O(log H) for H hosts with work; no method but Resume scans all
// hosts.
type Hosts[Q, V any] struct {
	lim    Limits
	now    func() time.Time
	head   func(q *Q) (queued bool, at int64)
	forget func(h *Host[Q])

	hosts  map[string]*Host[Q]
	ready  Heap[*Host[Q], readyOrder[Q]] // hosts with queued entries and a free slot, by readyAt
	idle   Heap[*Host[Q], idleOrder[Q]]  // idle hosts remembered until their next-allowed time passes
	leases map[uint64]*Lease[Q, V]
	expiry Heap[*Lease[Q, V], expiryOrder[Q, V]] // the leases in leases, by expiry
	lastID uint64                                // last lease ID handed out
	tick   uint64                                // tie-breaker among hosts ready at the same time
	active int                                   // hosts with queued or in-flight entries
}

// Config is what a backend tells NewHosts.
type Config[Q any] struct {
	// Limits are the frontier's resolved limits (see Resolve).
	Limits
	// Now is the frontier's clock. Nil means time.Now.
	Now func() time.Time
	// Head reports whether q, a host's queue, holds entries that are not
	// in flight, and if it does, the earliest time at which one of them
	// may be claimed: Never when one may be claimed as soon as the host
	// allows. It must not be nil.
	Head func(q *Q) (queued bool, at int64)
	// Forget, if not nil, is called for each host that Hosts forgets,
	// after it is dropped, so that the backend can drop what it stored
	// about the host.
	Forget func(h *Host[Q])
}

// Host is one host's scheduling state and, in Queue, the backend's state
// of it. Its fields are guarded by the frontier's lock.
type Host[Q any] struct {
	// Name is the host's name, its key in Hosts.
	Name string
	// Interval is the least time between two claims from the host:
	// Limits.Interval, or more after SetInterval. A backend sets it
	// directly only to restore a host, before Resume.
	Interval time.Duration
	// Backoff is a time before which the host makes no claim, or Never.
	// RaiseBackoff raises it; a backend sets it directly only to restore
	// a host, before Resume.
	Backoff int64
	// Queue is the backend's state of the host: its queued entries and
	// whatever else it keeps per host.
	Queue Q

	inflight int    // live leases
	last     int64  // time of the last claim, or Never
	active   bool   // counted in Hosts.active
	readyAt  int64  // key in Hosts.ready
	tick     uint64 // tie-breaker in Hosts.ready: lower was served earlier
	idx      int    // index in Hosts.ready, or -1
	idleAt   int64  // key in Hosts.idle
	idleIdx  int    // index in Hosts.idle, or -1
}

// Lease is a live lease handed out by Hosts.Claim, and Item, the
// backend's record of what it holds.
type Lease[Q, V any] struct {
	ID   uint64   // unique among the Hosts' leases
	Host *Host[Q] // the host it takes a slot of
	Exp  int64    // when it expires, or NoExpiry
	Item V

	idx int // index in Hosts.expiry
}

// NewHosts returns the scheduling of a frontier without hosts, configured
// by c.
func NewHosts[Q, V any](c Config[Q]) *Hosts[Q, V] {
	s := &Hosts[Q, V]{
		lim:    c.Limits,
		now:    c.Now,
		head:   c.Head,
		forget: c.Forget,
		hosts:  make(map[string]*Host[Q]),
		leases: make(map[uint64]*Lease[Q, V]),
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Len returns the number of hosts remembered: those with work, and idle
// ones until their next-allowed time passes.
func (s *Hosts[Q, V]) Len() int { return len(s.hosts) }

// Idle returns the number of hosts remembered without work.
func (s *Hosts[Q, V]) Idle() int { return len(s.idle) }

// Active returns the number of hosts with queued or in-flight entries.
func (s *Hosts[Q, V]) Active() int { return s.active }

// InFlight returns the number of live leases.
func (s *Hosts[Q, V]) InFlight() int { return len(s.leases) }

// Get returns the host named name, creating it (with Limits.Interval, no
// claim to space from and no back-off) if it is not remembered. The
// caller files a host it created with Refresh once the host has work, or
// with Resume.
func (s *Hosts[Q, V]) Get(name string) *Host[Q] {
	h, ok := s.hosts[name]
	if !ok {
		s.tick++
		h = &Host[Q]{Name: name, Interval: s.lim.Interval, Backoff: Never, last: Never, idx: -1, idleIdx: -1, tick: s.tick}
		s.hosts[name] = h
	}
	return h
}

// Lookup returns the host named name, nil if it is not remembered.
func (s *Hosts[Q, V]) Lookup(name string) *Host[Q] { return s.hosts[name] }

// Refresh re-files h after its queue, in-flight count or times changed:
// h is in the ready heap exactly when it has queued entries and a free
// slot, keyed by the time it may be claimed from, and it counts as active
// while it has any work.
func (s *Hosts[Q, V]) Refresh(h *Host[Q]) {
	queued, at := s.head(&h.Queue)
	if act := queued || h.inflight > 0; act != h.active {
		h.active = act
		if act {
			s.active++
			if h.idleIdx >= 0 {
				heap.Remove(&s.idle, h.idleIdx)
			}
		} else {
			s.active--
		}
	}
	if !queued || h.inflight >= s.lim.PerHost {
		if h.idx >= 0 {
			heap.Remove(&s.ready, h.idx)
		}
		return
	}
	h.readyAt = max(h.nextAllowed(), at)
	if h.idx < 0 {
		heap.Push(&s.ready, h)
	} else {
		heap.Fix(&s.ready, h.idx)
	}
}

// Park files h, if it has no work, for forgetting: at once if nothing
// about it matters any more, else among the idle hosts until its
// next-allowed time passes. A raised interval or a back-off is forgotten
// with the host: it matters only until then.
func (s *Hosts[Q, V]) Park(h *Host[Q]) {
	if h.active || h.idleIdx >= 0 {
		return
	}
	if at := h.nextAllowed(); at > Nanos(s.now()) {
		h.idleAt = at
		heap.Push(&s.idle, h)
		return
	}
	s.drop(h)
}

// ForgetIdle forgets the idle hosts whose next-allowed time has passed at
// now.
func (s *Hosts[Q, V]) ForgetIdle(now int64) {
	for len(s.idle) > 0 && s.idle[0].idleAt <= now {
		s.drop(heap.Pop(&s.idle).(*Host[Q]))
	}
}

// drop forgets h.
func (s *Hosts[Q, V]) drop(h *Host[Q]) {
	delete(s.hosts, h.Name)
	if s.forget != nil {
		s.forget(h)
	}
}

// SetInterval sets h's interval to d, or to Limits.Interval if that is
// larger. It applies to the claim already made: h's next-allowed time is
// its last claim plus the new interval. An idle h is then forgotten at
// once if that time has passed.
func (s *Hosts[Q, V]) SetInterval(h *Host[Q], d time.Duration) {
	h.Interval = max(d, s.lim.Interval)
	if h.idleIdx >= 0 {
		heap.Remove(&s.idle, h.idleIdx)
	}
	s.Refresh(h)
	s.Park(h)
}

// RaiseBackoff makes h claim nothing before at, and reports whether that
// changed h's back-off (at was later). The caller refreshes h.
func (s *Hosts[Q, V]) RaiseBackoff(h *Host[Q], at int64) bool {
	if at <= h.Backoff {
		return false
	}
	h.Backoff = at
	return true
}

// Ready returns the host to claim from next at now, nil if no host is
// ready. The caller takes an entry off its queue and calls Claim.
func (s *Hosts[Q, V]) Ready(now int64) *Host[Q] {
	if len(s.ready) == 0 || s.ready[0].readyAt > now {
		return nil
	}
	return s.ready[0]
}

// Claim hands out a lease of item, just taken off the queue of h (which
// Ready returned) at now: it takes one of h's slots, moves h's
// next-allowed time to now plus its interval, sends h to the back of the
// hosts ready at the same time, and refreshes it.
func (s *Hosts[Q, V]) Claim(h *Host[Q], now int64, item V) *Lease[Q, V] {
	s.lastID++
	l := &Lease[Q, V]{ID: s.lastID, Host: h, Exp: Expiry(now, s.lim.TTL), Item: item}
	s.leases[l.ID] = l
	heap.Push(&s.expiry, l)
	h.inflight++
	h.last = now
	s.tick++
	h.tick = s.tick
	s.Refresh(h)
	return l
}

// Expires returns when a lease handed out at now expires, the zero time
// if leases do not expire: the value of store.Lease.Expires.
func (s *Hosts[Q, V]) Expires(now time.Time) time.Time {
	if s.lim.TTL <= 0 {
		return time.Time{}
	}
	return now.Add(s.lim.TTL)
}

// ClaimCap is the capacity to allocate for the leases of a claim of up to
// max with queued entries (see the function ClaimCap). Call it only when
// Ready returned a host.
func (s *Hosts[Q, V]) ClaimCap(max, queued int) int {
	return ClaimCap(max, queued, len(s.ready), s.lim.PerHost)
}

// Next returns the earliest time after now (nowT, or now in Unix
// nanoseconds) at which the passing of time alone makes an entry
// claimable: a ready host's time or a lease expiry. It is the zero time if
// nothing waits on time.
func (s *Hosts[Q, V]) Next(nowT time.Time, now int64) time.Time {
	wake := int64(math.MaxInt64)
	if len(s.ready) > 0 {
		wake = s.ready[0].readyAt
	}
	if len(s.expiry) > 0 {
		wake = min(wake, s.expiry[0].Exp) // NoExpiry is MaxInt64: no wake
	}
	if wake == math.MaxInt64 {
		return time.Time{}
	}
	return nowT.Add(time.Duration(wake - now))
}

// Lease returns the live lease with ID id, nil if there is none.
func (s *Hosts[Q, V]) Lease(id uint64) *Lease[Q, V] { return s.leases[id] }

// Settle ends l, a live lease, freeing its host's slot. The caller
// refreshes the host, and parks it if the lease's end may have left it
// without work.
func (s *Hosts[Q, V]) Settle(l *Lease[Q, V]) {
	delete(s.leases, l.ID)
	heap.Remove(&s.expiry, l.idx)
	l.Host.inflight--
}

// PopExpired ends and returns a lease that has expired at now, freeing its
// host's slot, or returns nil if none has. The caller queues the lease's
// entry again and refreshes its host.
func (s *Hosts[Q, V]) PopExpired(now int64) *Lease[Q, V] {
	if len(s.expiry) == 0 || !Expired(s.expiry[0].Exp, now) {
		return nil
	}
	l := heap.Pop(&s.expiry).(*Lease[Q, V])
	delete(s.leases, l.ID)
	l.Host.inflight--
	return l
}

// SetLastID makes the next lease ID id+1, for a frontier whose IDs must
// not repeat those of an earlier process.
func (s *Hosts[Q, V]) SetLastID(id uint64) { s.lastID = id }

// Resume files every host after a backend restored them (with Get, and
// Interval and Backoff set) and their queues: each counts as claimed from
// at now, so that a host is not hit again too soon after requests that
// the restored state missed, and a host without work is parked.
func (s *Hosts[Q, V]) Resume(now int64) {
	for _, h := range s.hosts {
		h.last = now
		s.Refresh(h)
		s.Park(h)
	}
}

// Close drops every host and lease, releasing their memory. Hosts is not
// usable afterwards.
func (s *Hosts[Q, V]) Close() {
	s.hosts, s.leases = nil, nil
	s.ready, s.idle, s.expiry = nil, nil, nil
}

// nextAllowed is the earliest time h may be claimed from again, Never if
// nothing limits it.
func (h *Host[Q]) nextAllowed() int64 {
	at := h.Backoff
	if h.last != Never {
		at = max(at, h.last+int64(h.Interval))
	}
	return at
}

// readyOrder orders hosts by ready time, then by when they were last
// served.
type readyOrder[Q any] struct{}

func (readyOrder[Q]) Less(a, b *Host[Q]) bool {
	if a.readyAt != b.readyAt {
		return a.readyAt < b.readyAt
	}
	return a.tick < b.tick
}
func (readyOrder[Q]) Index(h *Host[Q]) *int { return &h.idx }

// idleOrder orders idle hosts by the time they may be forgotten.
type idleOrder[Q any] struct{}

func (idleOrder[Q]) Less(a, b *Host[Q]) bool { return a.idleAt < b.idleAt }
func (idleOrder[Q]) Index(h *Host[Q]) *int   { return &h.idleIdx }

// expiryOrder orders live leases by expiry, then by ID.
type expiryOrder[Q, V any] struct{}

func (expiryOrder[Q, V]) Less(a, b *Lease[Q, V]) bool {
	if a.Exp != b.Exp {
		return a.Exp < b.Exp
	}
	return a.ID < b.ID
}
func (expiryOrder[Q, V]) Index(l *Lease[Q, V]) *int { return &l.idx }
