package disk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"trawl/store"
	"trawl/store/internal/sched"
)

// seenCache is a direct-mapped cache of fingerprints known to be seen: a
// slot holds the last fingerprint that hashed to it. The seen-set only
// grows, so a hit is always right; a miss asks the store.
type seenCache struct {
	slots []uint64 // 0 marks an empty slot; len is a power of two
	mask  uint64
}

func newSeenCache(n int) seenCache {
	if n < 0 {
		return seenCache{}
	}
	if n == 0 {
		n = DefaultSeenCache
	}
	size := 1 << bits.Len(uint(n-1)) // n rounded up to a power of two
	return seenCache{slots: make([]uint64, size), mask: uint64(size - 1)}
}

func (c *seenCache) has(fp uint64) bool {
	return len(c.slots) > 0 && fp != 0 && c.slots[fp&c.mask] == fp
}

func (c *seenCache) add(fp uint64) {
	if len(c.slots) > 0 {
		c.slots[fp&c.mask] = fp
	}
}

// Push queues each entry whose Key was never seen and marks it seen in the
// same step; an entry whose key was seen (earlier, in the same batch, or
// in a previous process up to the last checkpoint) is counted as a
// duplicate and dropped. It reports how many were queued. Entries go to
// the back of their host's queue.
func (d *Frontier) Push(ctx context.Context, entries []store.Entry) (added int, err error) {
	var buf [32]uint64
	fps := buf[:0]
	if len(entries) > len(buf) {
		fps = make([]uint64, 0, len(entries))
	}
	for i := range entries {
		fps = append(fps, store.Fingerprint(entries[i].Key))
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return 0, err
	}
	// A host whose idle time is over comes back as a new host.
	d.hosts.ForgetIdle(nanos(d.now()))
	for i, fp := range fps {
		first, err := d.markSeen(fp)
		if err != nil {
			return added, err
		}
		if !first {
			d.dups++
			continue
		}
		e := &entries[i]
		h := d.hosts.Get(e.Host)
		q := &h.Queue
		seq := d.seq
		d.seq++
		d.vbuf = encodeEntry(d.vbuf[:0], e)
		if err := d.set(freshKey(d.kbuf[:0], h.Name, seq), d.vbuf); err != nil {
			return added, err
		}
		// Keep the entry in RAM too if it is next in line (the cache holds
		// the queue's head) and there is room; the first always goes in.
		switch n := q.cached(); {
		case n == 0:
			q.cache = append(q.cache, cached{seq: seq, e: *e})
			d.cachedN++
			d.hosts.Refresh(h) // the host may have gained work or an earlier ready time
		case !q.more && n < d.window() && d.cachedN < d.headCache:
			q.cache = append(q.cache, cached{seq: seq, e: *e})
			d.cachedN++
		case !q.more:
			q.more, q.next = true, seq
		}
		d.queued++
		added++
	}
	return added, nil
}

// MarkSeen marks key seen without queueing it, for URLs that get a record
// without being fetched (redirect targets, skipped URLs). It reports
// whether the key was new; a seen key counts as a duplicate.
func (d *Frontier) MarkSeen(ctx context.Context, key string) (first bool, err error) {
	fp := store.Fingerprint(key)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return false, err
	}
	first, err = d.markSeen(fp)
	if err != nil {
		return false, err
	}
	if !first {
		d.dups++
	}
	return first, nil
}

// markSeen adds fp to the seen-set and reports whether it was new.
// markSeen requires that d.mu is held.
func (d *Frontier) markSeen(fp uint64) (bool, error) {
	if d.seenc.has(fp) {
		return false, nil
	}
	k := seenKey(d.kbuf[:0], fp)
	_, closer, err := d.batch.Get(k)
	switch {
	case err == nil:
		closer.Close()
		d.seenc.add(fp)
		return false, nil
	case !errors.Is(err, pebble.ErrNotFound):
		return false, d.fail("read seen-set", err)
	}
	if err := d.set(k, nil); err != nil {
		return false, err
	}
	d.seenc.add(fp)
	d.seen++
	return true, nil
}

// Claim leases up to max entries from ready hosts, with the same rules as
// Memory.Claim: per-host slots and intervals, round robin among ready
// hosts, due retried or expired entries before fresh ones, fresh ones in
// push order; expired leases are reaped first. next is the earliest time
// at which time alone can make more claimable, zero when max leases are
// returned or nothing waits on time.
func (d *Frontier) Claim(ctx context.Context, max int) (leases []store.Lease, next time.Time, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return nil, time.Time{}, err
	}
	nowT := d.now()
	now := nanos(nowT)
	if err := d.reap(now); err != nil {
		return nil, time.Time{}, err
	}
	d.hosts.ForgetIdle(now)
	if max <= 0 {
		return nil, time.Time{}, nil
	}
	for len(leases) < max {
		h := d.hosts.Ready(now)
		if h == nil {
			break
		}
		if leases == nil {
			leases = make([]store.Lease, 0, d.hosts.ClaimCap(max, d.queued))
		}
		it, err := d.pop(h, now)
		if err != nil {
			return nil, time.Time{}, err
		}
		d.queued--
		l := d.hosts.Claim(h, now, it)
		leases = append(leases, store.Lease{Entry: it.Entry, ID: l.ID, Expires: d.hosts.Expires(nowT), Interval: h.Interval})
	}
	if len(leases) < max {
		next = d.hosts.Next(nowT, now)
	}
	return leases, next, nil
}

// pop takes the entry to claim next off h's queues: a due delayed entry,
// else the oldest fresh one. h must have one (the scheduler named it ready
// at now). pop requires that d.mu is held.
func (d *Frontier) pop(h *host, now int64) (leased, error) {
	q := &h.Queue
	if q.hasD && q.dhead.at <= now {
		it := leased{Entry: q.dhead.e, fromR: true, at: q.dhead.at, seq: q.dhead.seq}
		q.rflight = append(q.rflight, it.seq)
		q.hasD, q.dhead = false, delayed{}
		return it, d.loadDelayedHead(h)
	}
	c := q.cache[q.ch]
	q.cache[q.ch] = cached{} // let the strings go
	q.ch++
	d.cachedN--
	it := leased{Entry: c.e, seq: c.seq}
	if q.ch < len(q.cache) {
		return it, nil
	}
	q.cache, q.ch = q.cache[:0], 0
	if cap(q.cache) > 2*d.window() {
		q.cache = nil
	}
	if q.more {
		return it, d.refill(h)
	}
	return it, nil
}

// refill reads the next entries of h's fresh queue, those from next on,
// into its cache, which must be empty, and clears more if it reaches the
// end. refill requires that d.mu is held.
func (d *Frontier) refill(h *host) error {
	q := &h.Queue
	want := max(min(d.window(), d.headCache-d.cachedN), 1)
	lower := freshKey(nil, h.Name, q.next)
	upper := freshKey(nil, h.Name, math.MaxUint64)
	it, err := d.batch.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return d.fail("read queue of "+h.Name, err)
	}
	got := 0
	ok := it.First()
	for ; ok && got < want; ok = it.Next() {
		k := it.Key()
		seq := binary.BigEndian.Uint64(k[len(k)-8:])
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return d.fail("read queue of "+h.Name, err)
		}
		e, err := decodeEntry(v, h.Name)
		if err != nil {
			it.Close()
			return d.fail("read queue of "+h.Name, err)
		}
		q.cache = append(q.cache, cached{seq: seq, e: e})
		q.next = seq + 1
		got++
	}
	d.cachedN += got
	q.more = ok // there is a key after the ones read
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return d.fail("read queue of "+h.Name, err)
	}
	return nil
}

// loadDelayedHead reads the earliest delayed entry of h that is not in
// flight, if any, into its dhead. loadDelayedHead requires that d.mu is
// held.
func (d *Frontier) loadDelayedHead(h *host) error {
	q := &h.Queue
	lower := delayedPrefix(nil, h.Name)
	upper := append(bytes.Clone(lower), bytes.Repeat([]byte{0xff}, 16)...)
	it, err := d.batch.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return d.fail("read retries of "+h.Name, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(lower)+16 {
			it.Close()
			return d.fail("read retries of "+h.Name, corruptf("bad key %q", k))
		}
		seq := binary.BigEndian.Uint64(k[len(k)-8:])
		if slices.Contains(q.rflight, seq) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return d.fail("read retries of "+h.Name, err)
		}
		e, err := decodeEntry(v, h.Name)
		if err != nil {
			it.Close()
			return d.fail("read retries of "+h.Name, err)
		}
		at := int64(binary.BigEndian.Uint64(k[len(lower):]) ^ 1<<63)
		q.dhead, q.hasD = delayed{at: at, seq: seq, e: e}, true
		break
	}
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return d.fail("read retries of "+h.Name, err)
	}
	return nil
}

// delay queues e on h's delayed queue, not claimable before at.
// delay requires that d.mu is held; the caller must refresh h.
func (d *Frontier) delay(h *host, e *store.Entry, at int64) error {
	seq := d.seq
	d.seq++
	d.vbuf = encodeEntry(d.vbuf[:0], e)
	if err := d.set(delayedKey(d.kbuf[:0], h.Name, at, seq), d.vbuf); err != nil {
		return err
	}
	q := &h.Queue
	if !q.hasD || at < q.dhead.at || (at == q.dhead.at && seq < q.dhead.seq) {
		q.dhead, q.hasD = delayed{at: at, seq: seq, e: *e}, true
	}
	d.queued++
	return nil
}

// SetHostInterval sets the least time between two claims from host to d,
// or to FrontierOptions.Interval if that is larger (robots.txt
// Crawl-delay), as Memory.SetHostInterval does: it lasts while the host
// has work and then until its next-allowed time passes, and changes
// nothing for a host without work and without a claim to space from.
// The interval is stored with the host until the host is forgotten.
func (d *Frontier) SetHostInterval(ctx context.Context, host string, iv time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return err
	}
	d.hosts.ForgetIdle(nanos(d.now()))
	h := d.hosts.Lookup(host)
	if h == nil {
		return nil // nothing to space from: see Memory.SetHostInterval
	}
	h.Queue.custom = iv
	if err := d.putHost(h); err != nil {
		return err
	}
	d.hosts.SetInterval(h, iv)
	return nil
}

// window is how many entries of a host's queue head to keep in RAM.
// window requires that d.mu is held.
func (d *Frontier) window() int {
	return min(max(d.headCache/max(d.hosts.Len(), 1), 1), 64)
}

// putHost writes h's record: its SetHostInterval interval and back-off.
// putHost requires that d.mu is held.
func (d *Frontier) putHost(h *host) error {
	h.Queue.stored = true
	return d.set(recordKey(d.kbuf[:0], h.Name), encodeHost(d.vbuf[:0], h))
}

// forget deletes the record of h, which the scheduler forgot, from the
// store. forget requires that d.mu is held.
func (d *Frontier) forget(h *host) {
	if h.Queue.stored {
		h.Queue.stored = false
		d.del(recordKey(d.kbuf[:0], h.Name)) // a failure is sticky in d.err
	}
}

// reap queues again the entries of leases expired at now, ahead of their
// hosts' fresh entries. reap requires that d.mu is held.
func (d *Frontier) reap(now int64) error {
	for rec := d.hosts.PopExpired(now); rec != nil; rec = d.hosts.PopExpired(now) {
		if err := d.unqueue(rec); err != nil {
			return err
		}
		if err := d.delay(rec.Host, &rec.Item.Entry, never); err != nil {
			return err
		}
		d.hosts.Refresh(rec.Host)
	}
	return nil
}

// unqueue deletes the queue key of the entry of l, a lease that ended.
// unqueue requires that d.mu is held.
func (d *Frontier) unqueue(l *lease) error {
	it := &l.Item
	if !it.fromR {
		return d.del(freshKey(d.kbuf[:0], l.Host.Name, it.seq))
	}
	q := &l.Host.Queue
	if i := slices.Index(q.rflight, it.seq); i >= 0 {
		q.rflight = slices.Delete(q.rflight, i, i+1)
	}
	return d.del(delayedKey(d.kbuf[:0], l.Host.Name, it.at, it.seq))
}

// host is one host's scheduling state and, in its Queue, the in-RAM part
// of its queues; lease is a live lease and where its entry is queued.
// Their fields are guarded by Frontier.mu.
type (
	host  = sched.Host[queue]
	lease = sched.Lease[queue, leased]
)

// queue is the in-RAM part of one host's queues, and what the store
// holds of the host.
type queue struct {
	// The fresh queue: cache[ch:] are its first entries in push order;
	// the cache is empty only if the queue is. If more, there may be
	// others: the fresh queue keys from next on.
	cache []cached
	ch    int
	more  bool
	next  uint64

	// The delayed queue: if hasD, its earliest entry not in flight is
	// dhead; there may be others on disk. rflight holds the sequence
	// numbers of its entries in flight, whose keys stay until their
	// leases end.
	hasD    bool
	dhead   delayed
	rflight []uint64

	custom time.Duration // the interval given to SetHostInterval, or 0 (stored)
	stored bool          // a host record exists in the store or the pending batch
}

// head tells sched.Hosts whether q has entries and when the first may be
// claimed (see sched.Config.Head).
func (q *queue) head() (queued bool, at int64) {
	switch {
	case q.cached() > 0:
		return true, never
	case q.hasD:
		return true, q.dhead.at
	}
	return false, never
}

func (q *queue) cached() int { return len(q.cache) - q.ch }

// leased is the entry of a lease and its queue key: a delayed entry's
// (fromR: at, seq) or a fresh one's (seq).
type leased struct {
	store.Entry
	fromR bool
	at    int64
	seq   uint64
}

// delayed is a retried or reaped entry that may not be claimed before at,
// and its queue key's sequence number.
type delayed struct {
	at  int64
	seq uint64
	e   store.Entry
}

// cached is a fresh entry held in RAM and its queue key's sequence number.
type cached struct {
	seq uint64
	e   store.Entry
}
