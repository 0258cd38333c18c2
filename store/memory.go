package store

import (
	"container/heap"
	"context"
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
	now func() time.Time

	mu     sync.Mutex
	closed bool
	seen   fpSet
	hosts  *sched.Hosts[queue, Entry] // per-host scheduling and the leases
	seq    uint64                     // tie-breaker among entries delayed to the same time
	queued int                        // entries in all host queues, delayed ones included

	dups, done, retries      int64
	fetched, failed, skipped int64
}

// NewMemory returns an empty in-memory frontier configured by opts (see
// FrontierOptions for what zero and negative values mean).
func NewMemory(opts FrontierOptions) *Memory {
	m := &Memory{now: opts.Now}
	if m.now == nil {
		m.now = time.Now
	}
	m.hosts = sched.NewHosts[queue, Entry](sched.Config[queue]{Limits: resolve(opts), Now: m.now, Head: (*queue).head})
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
	m.hosts.ForgetIdle(nanos(m.now()))
	for i, fp := range fps {
		if !m.seen.add(fp) {
			m.dups++
			continue
		}
		h := m.hosts.Get(entries[i].Host)
		h.Queue.fresh.push(entries[i])
		m.queued++
		added++
		if h.Queue.fresh.n == 1 {
			// The host may have gained work or an earlier ready time.
			m.hosts.Refresh(h)
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
	m.hosts.ForgetIdle(now)
	if max <= 0 {
		return nil, time.Time{}, nil
	}
	for len(leases) < max {
		h := m.hosts.Ready(now)
		if h == nil {
			break
		}
		if leases == nil {
			leases = make([]Lease, 0, m.hosts.ClaimCap(max, m.queued))
		}
		e := h.Queue.pop(now)
		m.queued--
		l := m.hosts.Claim(h, now, e)
		leases = append(leases, Lease{Entry: e, ID: l.ID, Expires: m.hosts.Expires(nowT), Interval: h.Interval})
	}
	if len(leases) < max {
		next = m.hosts.Next(nowT, now)
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
	m.hosts.RaiseBackoff(rec.Host, nanos(o.HostBackoff))
	m.hosts.Refresh(rec.Host)
	m.hosts.Park(rec.Host)
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
	e := rec.Item
	if attempt {
		e.Attempt++
		m.retries++
	}
	at := nanos(notBefore)
	h := rec.Host
	m.delay(h, e, at)
	if hostBackoff {
		m.hosts.RaiseBackoff(h, at)
	}
	m.hosts.Refresh(h)
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
	m.hosts.ForgetIdle(nanos(m.now()))
	h := m.hosts.Lookup(host)
	if h == nil {
		return nil // nothing to space from: see above
	}
	m.hosts.SetInterval(h, d)
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
		InFlight:   m.hosts.InFlight(),
		Seen:       int64(m.seen.len()),
		Duplicates: m.dups,
		Done:       m.done,
		Retries:    m.retries,
		Hosts:      m.hosts.Active(),
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
	m.seen = fpSet{}
	m.hosts.Close()
	return nil
}

// settle ends the lease l names, freeing its host slot; the caller must
// refresh the host. It returns ErrStaleLease if l is not a live lease.
// settle requires that m.mu is held.
func (m *Memory) settle(l Lease) (*lease, error) {
	rec := m.hosts.Lease(l.ID)
	if rec == nil || rec.Item.Key != l.Key {
		return nil, ErrStaleLease
	}
	m.hosts.Settle(rec)
	return rec, nil
}

// reap queues again the entries of leases expired at now, ahead of their
// hosts' fresh entries. reap requires that m.mu is held.
func (m *Memory) reap(now int64) {
	for rec := m.hosts.PopExpired(now); rec != nil; rec = m.hosts.PopExpired(now) {
		m.delay(rec.Host, rec.Item, never)
		m.hosts.Refresh(rec.Host)
	}
}

// delay queues e on h's delayed queue, not claimable before at; the caller
// must refresh h. delay requires that m.mu is held.
func (m *Memory) delay(h *host, e Entry, at int64) {
	m.seq++
	heap.Push(&h.Queue.delayed, delayed{at: at, seq: m.seq, e: e})
	m.queued++
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

// host is one host's scheduling state and its queue; lease is a live
// lease and the entry it holds. Their fields are guarded by Memory.mu.
type (
	host  = sched.Host[queue]
	lease = sched.Lease[queue, Entry]
)

// queue is the entries of one host that are not in flight.
type queue struct {
	fresh   fifo        // fresh entries, in push order
	delayed delayedHeap // retried and reaped entries, by not-before time
}

// head tells sched.Hosts whether q has entries and when the first may be
// claimed (see sched.Config.Head).
func (q *queue) head() (queued bool, at int64) {
	switch {
	case q.fresh.n > 0:
		return true, never
	case len(q.delayed) > 0:
		return true, q.delayed[0].at
	}
	return false, never
}

// pop removes the entry to claim next: a due delayed entry, else the oldest
// fresh one. q must have one that is due at now.
func (q *queue) pop(now int64) Entry {
	if len(q.delayed) > 0 && q.delayed[0].at <= now {
		e := heap.Pop(&q.delayed).(delayed).e
		if len(q.delayed) == 0 {
			q.delayed = nil
		}
		return e
	}
	return q.fresh.pop()
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
