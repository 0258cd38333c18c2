package store

import (
	"container/heap"
	"context"
	"math"
	"sync"
	"time"

	"trawl/store/internal/sched"
)

// never is the nanosecond time that sorts before every real time: "no
// constraint" for next-allowed times and not-before times.
const never = sched.Never

// Memory is an in-memory frontier: one FIFO queue per host, an exact
// 64-bit seen-set (10 to 20 bytes per key), and leases that expire
// (unless FrontierOptions.LeaseTTL is negative). It implements the
// frontier semantics shared by every backend (see package storetest),
// but keeps nothing across processes. Besides the seen-set
// and the queued entries, it keeps the state of each host that has work
// or whose next-allowed time has not passed; a host without work is
// forgotten, interval included, once that time passes (see
// SetHostInterval).
//
// Use NewMemory; the zero value is not usable. Memory is safe for
// concurrent use by multiple goroutines: every method takes one mutex and
// none blocks on anything else, so the ctx arguments are accepted for the
// shared interface and otherwise ignored. Push and Claim cost O(log H) per
// entry for H hosts with work; no method scans all hosts.
type Memory struct {
	perHost  int           // resolved: sched.Unlimited for no limit
	interval time.Duration // resolved: 0 for no spacing
	ttl      time.Duration // resolved: 0 for leases that do not expire
	now      func() time.Time

	mu     sync.Mutex
	closed bool
	seen   fpSet
	hosts  map[string]*host
	ready  hostHeap // hosts with queued entries and a free slot, by readyAt
	idle   idleHeap // idle hosts remembered until their next-allowed time passes
	leases map[uint64]*lease
	expiry leaseHeap // the leases in leases, by expiry
	lastID uint64    // last lease ID handed out
	seq    uint64    // tie-breaker among hosts ready at the same time
	queued int       // entries in all host queues, delayed ones included
	active int       // hosts with queued or in-flight entries

	dups, done, retries      int64
	fetched, failed, skipped int64
}

// NewMemory returns an empty in-memory frontier configured by opts (see
// FrontierOptions for what zero and negative values mean).
func NewMemory(opts FrontierOptions) *Memory {
	lim := resolve(opts)
	m := &Memory{
		perHost:  lim.PerHost,
		interval: lim.Interval,
		ttl:      lim.TTL,
		now:      opts.Now,
		hosts:    make(map[string]*host),
		leases:   make(map[uint64]*lease),
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

// Push queues each entry whose Key was never seen and marks it seen in the
// same step; an entry whose key was seen (earlier or in the same batch) is
// counted as a duplicate and dropped. It reports how many were queued.
// Entries go to the back of their host's queue.
func (m *Memory) Push(ctx context.Context, entries []Entry) (added int, err error) {
	// Hash outside the lock: it is the only per-entry work that needs none.
	var buf [32]uint64
	fps := buf[:0]
	if len(entries) > len(buf) {
		fps = make([]uint64, 0, len(entries))
	}
	for i := range entries {
		fps = append(fps, Fingerprint(entries[i].Key))
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	// A host whose idle time is over comes back as a new host.
	m.forgetIdle(nanos(m.now()))
	for i, fp := range fps {
		if !m.seen.add(fp) {
			m.dups++
			continue
		}
		h := m.host(entries[i].Host)
		h.queue.push(entries[i])
		m.queued++
		added++
		if h.queue.n == 1 {
			// The host may have gained work or an earlier ready time.
			m.refresh(h)
		}
	}
	return added, nil
}

// MarkSeen marks key seen without queueing it, for URLs that get a record
// without being fetched (redirect targets, skipped URLs). It reports
// whether the key was new; a seen key counts as a duplicate.
func (m *Memory) MarkSeen(ctx context.Context, key string) (first bool, err error) {
	fp := Fingerprint(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	if !m.seen.add(fp) {
		m.dups++
		return false, nil
	}
	return true, nil
}

// Claim leases up to max entries from ready hosts. A host is ready when it
// has an entry whose not-before time has passed, fewer than PerHost leases,
// and its next-allowed time has passed; each claim moves the host's
// next-allowed time to now plus its interval. Among ready hosts the one
// that has been ready longest goes first (round robin when all are ready),
// and a host hands out retried or expired entries that are due before its
// fresh ones, which it hands out in push order.
//
// Leases that expired are reaped first: their entries are queued again
// with Attempt unchanged and their host slots freed. An expired lease that
// was not yet reaped can still be acked.
//
// When fewer than max leases are returned, next is the earliest time at
// which the passing of time alone can make more claimable: a host's
// next-allowed time, a retried entry's not-before time or a lease expiry.
// It is zero when nothing waits on time, for example when nothing is queued
// and nothing is in flight, and zero when max leases are returned.
func (m *Memory) Claim(ctx context.Context, max int) (leases []Lease, next time.Time, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, time.Time{}, ErrClosed
	}
	nowT := m.now()
	now := nanos(nowT)
	m.reap(now)
	m.forgetIdle(now)
	if max <= 0 {
		return nil, time.Time{}, nil
	}
	for len(leases) < max && len(m.ready) > 0 {
		h := m.ready[0]
		if h.readyAt > now {
			break
		}
		if leases == nil {
			leases = make([]Lease, 0, sched.ClaimCap(max, m.queued, len(m.ready), m.perHost))
		}
		m.lastID++
		l := &lease{
			Lease: Lease{Entry: h.pop(now), ID: m.lastID, Interval: h.interval},
			host:  h,
			exp:   sched.Expiry(now, m.ttl),
		}
		if m.ttl > 0 {
			l.Expires = nowT.Add(m.ttl)
		}
		m.leases[l.ID] = l
		heap.Push(&m.expiry, l)
		m.queued--
		h.inflight++
		h.last = now
		m.seq++
		h.seq = m.seq
		m.refresh(h)
		leases = append(leases, l.Lease)
	}
	if len(leases) < max {
		wake := int64(math.MaxInt64)
		if len(m.ready) > 0 {
			wake = m.ready[0].readyAt
		}
		if len(m.expiry) > 0 {
			wake = min(wake, m.expiry[0].exp) // sched.NoExpiry is MaxInt64: no wake
		}
		if wake != math.MaxInt64 {
			next = nowT.Add(time.Duration(wake - now))
		}
	}
	return leases, next, nil
}

// Ack settles a lease with its outcome: the entry is done and its host slot
// is free; with o.HostBackoff set, the host makes no claim before then. It returns ErrStaleLease for a lease that is unknown, already
// settled, or expired and reaped.
func (m *Memory) Ack(ctx context.Context, l Lease, o Outcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	rec, err := m.settle(l)
	if err != nil {
		return err
	}
	m.done++
	switch {
	case o.Skipped != "":
		m.skipped++
	case o.Error != "":
		m.failed++
	default:
		m.fetched++
	}
	if at := nanos(o.HostBackoff); at > rec.host.backoff {
		rec.host.backoff = at
	}
	m.refresh(rec.host)
	m.park(rec.host)
	return nil
}

// Retry queues the lease's entry again with Attempt+1, claimable no earlier
// than notBefore (the seen-set is not consulted), and frees its host slot.
// With hostBackoff the whole host waits: its next-allowed time becomes at
// least notBefore. It returns ErrStaleLease as Ack does.
func (m *Memory) Retry(ctx context.Context, l Lease, notBefore time.Time, hostBackoff bool) error {
	return m.requeue(l, notBefore, hostBackoff, true)
}

// Release gives a lease back unsettled: its entry is queued again as it
// was (Attempt unchanged, not counted as a retry), claimable no earlier
// than notBefore, and its host makes no claim before notBefore. A crawler
// releases a lease whose slot it spent on another request to the host
// (robots.txt), so that the page waits for its turn in the frontier
// instead of in a worker. It returns ErrStaleLease as Ack does.
func (m *Memory) Release(ctx context.Context, l Lease, notBefore time.Time) error {
	return m.requeue(l, notBefore, true, false)
}

// requeue is Retry, or without attempt Release.
func (m *Memory) requeue(l Lease, notBefore time.Time, hostBackoff, attempt bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	rec, err := m.settle(l)
	if err != nil {
		return err
	}
	e := rec.Entry
	if attempt {
		e.Attempt++
		m.retries++
	}
	at := nanos(notBefore)
	h := rec.host
	m.seq++
	heap.Push(&h.delayed, delayed{at: at, seq: m.seq, e: e})
	m.queued++
	if hostBackoff && at > h.backoff {
		h.backoff = at
	}
	m.refresh(h)
	return nil
}

// SetHostInterval sets the least time between two claims from host to d,
// or to FrontierOptions.Interval if that is larger (robots.txt
// Crawl-delay). It applies to the claim already made: the host's
// next-allowed time is its last claim plus the new interval.
//
// The interval lasts while the host has queued or in-flight entries and
// then until its next-allowed time passes; then the host is forgotten and
// its interval is FrontierOptions.Interval again. So setting the interval
// of a host that has no work and no claim to space from changes nothing.
// Callers set it while they hold a lease of the host, and set it again
// when a later lease's Interval shows that it was forgotten.
func (m *Memory) SetHostInterval(ctx context.Context, host string, d time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.forgetIdle(nanos(m.now()))
	h, ok := m.hosts[host]
	if !ok {
		return nil // nothing to space from: see above
	}
	h.interval = max(d, m.interval)
	if h.idleIdx >= 0 {
		heap.Remove(&m.idle, h.idleIdx)
	}
	m.refresh(h)
	m.park(h)
	return nil
}

// Stats returns a snapshot of the frontier's counters.
func (m *Memory) Stats(ctx context.Context) (FrontierStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return FrontierStats{}, ErrClosed
	}
	return FrontierStats{
		Queued:     m.queued,
		InFlight:   len(m.leases),
		Seen:       int64(m.seen.len()),
		Duplicates: m.dups,
		Done:       m.done,
		Retries:    m.retries,
		Hosts:      m.active,
	}, nil
}

// Outcomes splits Stats' Done count by the outcome given to Ack: fetched
// (neither Error nor Skipped set, whatever the status), failed (Error set)
// and skipped (Skipped set). It still answers after Close.
func (m *Memory) Outcomes() (fetched, failed, skipped int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fetched, m.failed, m.skipped
}

// Close releases the frontier's memory. Every later call, Close included,
// returns ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	m.seen, m.hosts, m.leases = fpSet{}, nil, nil
	m.ready, m.idle, m.expiry = nil, nil, nil
	return nil
}

// host returns the state of the named host, creating it.
// host requires that m.mu is held.
func (m *Memory) host(name string) *host {
	h, ok := m.hosts[name]
	if !ok {
		m.seq++
		h = &host{name: name, interval: m.interval, last: never, backoff: never, idx: -1, idleIdx: -1, seq: m.seq}
		m.hosts[name] = h
	}
	return h
}

// refresh re-files h after its queue, in-flight count or times changed: it
// is in m.ready exactly when it has queued entries and a free slot, keyed
// by its ready time, and it counts in m.active while it has any work.
// refresh requires that m.mu is held.
func (m *Memory) refresh(h *host) {
	pending := h.queue.n + len(h.delayed)
	if act := pending+h.inflight > 0; act != h.active {
		h.active = act
		if act {
			m.active++
			if h.idleIdx >= 0 {
				heap.Remove(&m.idle, h.idleIdx)
			}
		} else {
			m.active--
		}
	}
	if pending == 0 || h.inflight >= m.perHost {
		if h.idx >= 0 {
			heap.Remove(&m.ready, h.idx)
		}
		return
	}
	h.readyAt = h.nextAllowed()
	if h.queue.n == 0 {
		h.readyAt = max(h.readyAt, h.delayed[0].at)
	}
	if h.idx < 0 {
		heap.Push(&m.ready, h)
	} else {
		heap.Fix(&m.ready, h.idx)
	}
}

// park files h, if it has no work, for forgetting: at once if nothing
// about it matters any more, else in m.idle until its next-allowed time
// passes. A raised interval is forgotten with the host: it matters only
// until then (see SetHostInterval).
// park requires that m.mu is held.
func (m *Memory) park(h *host) {
	if h.active || h.idleIdx >= 0 {
		return
	}
	if at := h.nextAllowed(); at > nanos(m.now()) {
		h.idleAt = at
		heap.Push(&m.idle, h)
		return
	}
	delete(m.hosts, h.name)
}

// settle ends the lease l names, freeing its host slot; the caller must
// refresh the host. It returns ErrStaleLease if l is not a live lease.
// settle requires that m.mu is held.
func (m *Memory) settle(l Lease) (*lease, error) {
	rec, ok := m.leases[l.ID]
	if !ok || rec.Key != l.Key {
		return nil, ErrStaleLease
	}
	delete(m.leases, l.ID)
	heap.Remove(&m.expiry, rec.idx)
	rec.host.inflight--
	return rec, nil
}

// reap queues again the entries of leases expired at now, ahead of their
// hosts' fresh entries. reap requires that m.mu is held.
func (m *Memory) reap(now int64) {
	for len(m.expiry) > 0 && sched.Expired(m.expiry[0].exp, now) {
		rec := heap.Pop(&m.expiry).(*lease)
		delete(m.leases, rec.ID)
		h := rec.host
		h.inflight--
		m.seq++
		heap.Push(&h.delayed, delayed{at: never, seq: m.seq, e: rec.Entry})
		m.queued++
		m.refresh(h)
	}
}

// forgetIdle drops idle hosts whose next-allowed time has passed.
// forgetIdle requires that m.mu is held.
func (m *Memory) forgetIdle(now int64) {
	for len(m.idle) > 0 && m.idle[0].idleAt <= now {
		h := heap.Pop(&m.idle).(*host)
		delete(m.hosts, h.name)
	}
}

// resolve returns the per-host limits opts set, with the defaults for
// zero fields and off for negative ones (see sched.Resolve).
func resolve(opts FrontierOptions) sched.Limits {
	return sched.Resolve(
		sched.Limits{PerHost: opts.PerHost, Interval: opts.Interval, TTL: opts.LeaseTTL},
		sched.Limits{PerHost: DefaultPerHost, Interval: DefaultInterval, TTL: DefaultLeaseTTL})
}

// nanos converts t to Unix nanoseconds, clamped (see sched.Nanos).
func nanos(t time.Time) int64 { return sched.Nanos(t) }

// host is the politeness state and queue of one host. Its fields are
// guarded by Memory.mu.
type host struct {
	name     string
	queue    fifo        // fresh entries, in push order
	delayed  delayedHeap // retried and reaped entries, by not-before time
	inflight int
	interval time.Duration // least spacing between claims
	last     int64         // time of the last claim, or never
	backoff  int64         // no claim before this time (Retry hostBackoff), or never
	active   bool          // counted in Memory.active
	readyAt  int64         // key in Memory.ready
	seq      uint64        // tie-breaker in Memory.ready: lower was served earlier
	idx      int           // index in Memory.ready, or -1
	idleAt   int64         // key in Memory.idle
	idleIdx  int           // index in Memory.idle, or -1
}

// nextAllowed is the earliest time h may be claimed from again, never if
// nothing limits it.
func (h *host) nextAllowed() int64 {
	at := h.backoff
	if h.last != never {
		at = max(at, h.last+int64(h.interval))
	}
	return at
}

// pop removes the entry to claim next: a due delayed entry, else the oldest
// fresh one. h must have one: h.readyAt <= now.
func (h *host) pop(now int64) Entry {
	if len(h.delayed) > 0 && h.delayed[0].at <= now {
		e := heap.Pop(&h.delayed).(delayed).e
		if len(h.delayed) == 0 {
			h.delayed = nil
		}
		return e
	}
	return h.queue.pop()
}

// lease is a live lease and where it is filed.
type lease struct {
	Lease
	host *host
	exp  int64 // Expires in Unix nanoseconds: key in Memory.expiry
	idx  int   // index in Memory.expiry
}

// delayed is a queued entry that may not be claimed before at.
type delayed struct {
	at  int64
	seq uint64
	e   Entry
}

// fifo is a ring buffer of entries that grows and shrinks by powers of
// two. The zero value is an empty queue.
type fifo struct {
	buf     []Entry
	head, n int
}

func (q *fifo) push(e Entry) {
	if q.n == len(q.buf) {
		q.resize(max(2*len(q.buf), 2))
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = e
	q.n++
}

// pop removes and returns the oldest entry; q must not be empty.
func (q *fifo) pop() Entry {
	e := q.buf[q.head]
	q.buf[q.head] = Entry{} // let the strings go
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	switch {
	case q.n == 0:
		q.buf, q.head = nil, 0
	case len(q.buf) >= 64 && q.n <= len(q.buf)/4:
		q.resize(len(q.buf) / 2)
	}
	return e
}

// resize moves the entries to a new buffer of size, a power of two >= q.n.
func (q *fifo) resize(size int) {
	buf := make([]Entry, size)
	if q.n > 0 {
		k := copy(buf, q.buf[q.head:min(q.head+q.n, len(q.buf))])
		copy(buf[k:], q.buf[:q.n-k])
	}
	q.buf, q.head = buf, 0
}

// hostHeap orders hosts by ready time, then by when they were last served.
type hostHeap = sched.Heap[*host, readyOrder]

type readyOrder struct{}

func (readyOrder) Less(a, b *host) bool {
	if a.readyAt != b.readyAt {
		return a.readyAt < b.readyAt
	}
	return a.seq < b.seq
}
func (readyOrder) Index(h *host) *int { return &h.idx }

// idleHeap orders idle hosts by the time they may be forgotten.
type idleHeap = sched.Heap[*host, idleOrder]

type idleOrder struct{}

func (idleOrder) Less(a, b *host) bool { return a.idleAt < b.idleAt }
func (idleOrder) Index(h *host) *int   { return &h.idleIdx }

// leaseHeap orders live leases by expiry.
type leaseHeap = sched.Heap[*lease, expiryOrder]

type expiryOrder struct{}

func (expiryOrder) Less(a, b *lease) bool {
	if a.exp != b.exp {
		return a.exp < b.exp
	}
	return a.ID < b.ID
}
func (expiryOrder) Index(l *lease) *int { return &l.idx }

// delayedHeap orders a host's delayed entries by not-before time, then by
// the order they were delayed.
type delayedHeap []delayed

func (s delayedHeap) Len() int { return len(s) }
func (s delayedHeap) Less(i, j int) bool {
	if s[i].at != s[j].at {
		return s[i].at < s[j].at
	}
	return s[i].seq < s[j].seq
}
func (s delayedHeap) Swap(i, j int) { s[i], s[j] = s[j], s[i] }
func (s *delayedHeap) Push(x any)   { *s = append(*s, x.(delayed)) }
func (s *delayedHeap) Pop() any {
	old := *s
	d := old[len(old)-1]
	old[len(old)-1] = delayed{}
	*s = old[:len(old)-1]
	return d
}
