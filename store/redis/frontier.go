package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"trawl/store"
	"trawl/store/internal/sched"
)

// dialTimeout bounds how long Dial waits for the server's first answer.
const dialTimeout = 3 * time.Second

// Frontier is a crawl frontier in Redis shared by any number of workers.
// It satisfies crawler.Frontier, crawler.Outbox and fetch.RobotsCache
// (the workers share robots.txt files). Its methods are safe for
// concurrent use. Close it to stop its background work (lease extension,
// heartbeat, the batching of settles); Close does not close the client
// it was opened with.
//
// Round trips: MarkSeen, Claim and SetHostInterval are one script call
// each, and so is a Push of more than a few dozen entries. Ack,
// AckRecord, Retry, Release and the smaller Pushes (a page's links) are
// batched: while one batch is on its way to Redis, those that arrive
// wait and go together in the next script call, so concurrent workers
// of a process share round trips.
type Frontier struct {
	c         goredis.UniversalClient
	own       bool // Dial made c: Close closes it
	opts      Options
	crawl     string
	p         string   // key prefix
	keys      []string // {p}: the scripts' KEYS
	worker    string
	bits      int // seen-set bucket bits
	perHost   int64
	interval  int64 // ms
	ttl       time.Duration
	ttlMs     int64 // 0: leases do not expire
	maxQueue  int64 // 0: no bound
	maxOutage time.Duration

	mu       sync.Mutex // guards closed and held
	closed   bool
	held     map[uint64]string // live leases this process claimed: ID → fingerprint
	closing  chan struct{}     // closed by Close: background work ends
	bg       context.Context   // the frontier's lifetime, for background calls: canceled by Close
	bgCancel context.CancelFunc
	wg       sync.WaitGroup // background goroutines

	settles settler
	calls   atomic.Int64 // script calls sent, retries included
}

// Dial connects to the Redis server at rawURL (redis://[:PASSWORD@]HOST:PORT/DB,
// or rediss:// for TLS) and opens crawl opts.Crawl there. A server that
// does not answer within a few seconds gives an error wrapping
// ErrUnreachable that names its address. Close closes the connection too.
func Dial(ctx context.Context, rawURL string, opts Options) (*Frontier, error) {
	c, err := Connect(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	f, err := Open(ctx, c, opts)
	if err != nil {
		c.Close()
		return nil, err
	}
	f.own = true
	return f, nil
}

// Open opens crawl opts.Crawl with client c, creating it if it does not
// exist, and registers this process as one of its workers. It gives back
// at once the leases that a former process with the same Worker name
// held. A crawl made by another schema version gives ErrSchema.
func Open(ctx context.Context, c goredis.UniversalClient, opts Options) (*Frontier, error) {
	if err := checkName(opts.Crawl); err != nil {
		return nil, err
	}
	if opts.Worker == "" {
		opts.Worker = defaultWorker()
	}
	if err := checkWorker(opts.Worker); err != nil {
		return nil, err
	}
	if opts.ExpectedURLs < 0 {
		return nil, fmt.Errorf("redis: ExpectedURLs %d is negative", opts.ExpectedURLs)
	}
	lim := sched.Resolve(
		sched.Limits{PerHost: opts.PerHost, Interval: opts.Interval, TTL: opts.LeaseTTL},
		sched.Limits{PerHost: store.DefaultPerHost, Interval: store.DefaultInterval, TTL: DefaultLeaseTTL})
	f := &Frontier{
		c:        c,
		opts:     opts,
		crawl:    opts.Crawl,
		p:        crawlPrefix(opts.Crawl),
		worker:   opts.Worker,
		interval: durMs(lim.Interval),
		ttl:      lim.TTL,
		ttlMs:    durMs(lim.TTL),
		held:     map[uint64]string{},
		closing:  make(chan struct{}),
	}
	f.keys = []string{f.p}
	if lim.PerHost != sched.Unlimited {
		f.perHost = int64(lim.PerHost)
	}
	switch q := opts.MaxQueuePerHost; {
	case q == 0:
		f.maxQueue = DefaultMaxQueuePerHost
	case q > 0:
		f.maxQueue = int64(q)
	}
	switch {
	case opts.MaxOutage == 0:
		f.maxOutage = DefaultMaxOutage
	case opts.MaxOutage > 0:
		f.maxOutage = opts.MaxOutage
	}
	expected := opts.ExpectedURLs
	if expected == 0 {
		expected = DefaultExpectedURLs
	}

	v, err := f.eval(ctx, scriptOpen, strconv.Itoa(SchemaVersion), seenBits(expected), f.nowArg(), f.worker, f.perHost, f.interval)
	if err != nil {
		return nil, fmt.Errorf("redis: open crawl %s: %w", f.crawl, err)
	}
	res, _ := v.([]any)
	if len(res) == 2 && res[0] == "schema" {
		return nil, fmt.Errorf("%w: crawl %s has schema %v, this trawl %d", ErrSchema, f.crawl, res[1], SchemaVersion)
	}
	if len(res) != 3 || res[0] != "ok" {
		return nil, fmt.Errorf("redis: open crawl %s: unexpected reply %v", f.crawl, v)
	}
	bits, err := strconv.Atoi(fmt.Sprint(res[1]))
	if err != nil || bits < 1 || bits > 63 {
		return nil, fmt.Errorf("redis: open crawl %s: bad seenbits %v", f.crawl, res[1])
	}
	f.bits = bits

	f.bg, f.bgCancel = context.WithCancel(context.Background())
	f.settles.init()
	f.start(f.settleLoop)
	f.start(f.heartbeat)
	if every := f.extendEvery(); every > 0 {
		f.start(func() { f.extendLoop(every) })
	}
	return f, nil
}

// defaultWorker returns "HOST:PID:RANDOM".
func defaultWorker() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Worker returns the name this process works on the crawl under.
func (f *Frontier) Worker() string { return f.worker }

// nowArg returns the time argument of a script: Options.Now in Unix
// milliseconds, or -1 for Redis's clock.
func (f *Frontier) nowArg() int64 {
	if f.opts.Now == nil {
		return -1
	}
	return toMs(f.opts.Now())
}

// isClosed reports whether Close was called.
func (f *Frontier) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// Push queues each entry whose Key was never seen and marks it seen in
// the same step, in one script call (per 10,000 entries; a push of at
// most maxBatchedPush entries shares the call of the settles' next
// batch, see Frontier); an entry whose key was seen
// (earlier or in the same batch) is counted as a duplicate. An entry of
// a host that has MaxQueuePerHost entries queued is marked seen but not
// queued, and its record (skipped SkipQueueFull) goes to the outbox; it
// is not counted in added. Entries go to the back of their host's queue.
//
// A call retried after an outage finds the keys its lost attempt queued
// seen: they are then counted as duplicates, not as added.
func (f *Frontier) Push(ctx context.Context, entries []store.Entry) (added int, err error) {
	if f.isClosed() {
		return 0, store.ErrClosed
	}
	for len(entries) > maxPush {
		n, err := f.push(ctx, entries[:maxPush])
		added += n
		if err != nil {
			return added, err
		}
		entries = entries[maxPush:]
	}
	n, err := f.push(ctx, entries)
	return added + n, err
}

// maxPush bounds the entries of one push script, so that a huge batch
// does not hold up Redis for long: each entry is deduplicated and queued
// atomically on its own, so splitting a batch changes nothing else.
const maxPush = 10_000

// push is Push of at most maxPush entries, in one script call.
func (f *Frontier) push(ctx context.Context, entries []store.Entry) (added int, err error) {
	if len(entries) == 0 {
		return 0, nil
	}
	args := make([]any, 0, 4+4*len(entries))
	args = append(args, f.nowArg(), f.perHost, f.interval, f.maxQueue)
	var buf []byte
	for i := range entries {
		e := &entries[i]
		bucket, member := seenMember(e.Key, f.bits)
		buf = appendEntry(buf[:0], e)
		args = append(args, e.Host, bucket, member, string(buf))
	}
	if len(entries) <= maxBatchedPush {
		return f.pushBatched(ctx, args[4:])
	}
	// A big push goes alone: the batch script with one push and no
	// settles (ARGV: the four values above, 1, the entry count, entries).
	args = slices.Insert(args, 4, any(1), any(len(entries)))
	v, err := f.eval(ctx, scriptBatch, args...)
	if err != nil {
		return 0, fmt.Errorf("redis: push: %w", err)
	}
	res, _ := v.([]any)
	if len(res) != 1 {
		return 0, fmt.Errorf("redis: push: unexpected reply of %d values", len(res))
	}
	return int(toInt64(res[0])), nil
}

// MarkSeen marks key seen without queueing it and reports whether it
// was new; a seen key counts as a duplicate.
func (f *Frontier) MarkSeen(ctx context.Context, key string) (first bool, err error) {
	return f.MarkSeenRecord(ctx, key, nil)
}

// MarkSeenRecord is MarkSeen that, when the key is new and rec is not
// nil, appends rec to the outbox in the same step.
func (f *Frontier) MarkSeenRecord(ctx context.Context, key string, rec []byte) (first bool, err error) {
	if f.isClosed() {
		return false, store.ErrClosed
	}
	bucket, member := seenMember(key, f.bits)
	v, err := f.eval(ctx, scriptMarkSeen, bucket, member, rec)
	if err != nil {
		return false, fmt.Errorf("redis: mark seen: %w", err)
	}
	return v == int64(1), nil
}

// maxClaim bounds the leases of one Claim (one script call).
const maxClaim = 10_000

// Claim reaps up to a few hundred expired leases (their entries are
// queued again with Attempt unchanged), then leases up to n entries
// from ready hosts, in one script call, with store.Memory's order: the
// host ready longest first, a host's due retried or reaped entries
// before its fresh ones, the fresh ones in push order. A host is ready
// when it has a due entry, fewer than PerHost leases in all the crawl's
// workers, and its next-allowed time has passed.
//
// When it returns fewer than n, next is the earliest time at which the
// passing of time alone can make more claimable: a host's next-allowed
// time, a retried entry's not-before time, or the expiry of a lease,
// whichever worker holds it. It is zero when nothing waits on time. Since
// other workers settle leases too, a caller that holds nothing should
// look again now and then (as the crawler does every second).
func (f *Frontier) Claim(ctx context.Context, n int) (leases []store.Lease, next time.Time, err error) {
	if f.isClosed() {
		return nil, time.Time{}, store.ErrClosed
	}
	n = min(max(n, 0), maxClaim)
	v, err := f.eval(ctx, scriptClaim, f.nowArg(), n, f.perHost, f.interval, f.ttlMs, f.worker)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("redis: claim: %w", err)
	}
	res, _ := v.([]any)
	if len(res) < 2 || (len(res)-2)%4 != 0 {
		return nil, time.Time{}, fmt.Errorf("redis: claim: unexpected reply of %d values", len(res))
	}
	now, _ := res[0].(int64)
	nx, _ := res[1].(int64)
	if k := (len(res) - 2) / 4; k > 0 {
		leases = make([]store.Lease, 0, k)
	}
	for i := 2; i < len(res); i += 4 {
		id, _ := res[i].(int64)
		host, _ := res[i+1].(string)
		iv, _ := res[i+2].(int64)
		blob, _ := res[i+3].(string)
		e, err := decodeEntry(host, blob)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("redis: claim: lease %d: %w", id, err)
		}
		l := store.Lease{Entry: e, ID: uint64(id), Interval: time.Duration(iv) * time.Millisecond}
		if f.ttlMs > 0 {
			l.Expires = time.UnixMilli(now + f.ttlMs)
		}
		leases = append(leases, l)
	}
	if len(leases) > 0 {
		f.mu.Lock()
		if !f.closed {
			for _, l := range leases {
				f.held[l.ID] = fpBytes(l.Key)
			}
		}
		f.mu.Unlock()
	}
	return leases, fromMs(nx), nil
}

// Ack settles a lease with its outcome: the entry is done and its host
// slot is free; with o.HostBackoff set, the host makes no claim before
// then. It returns store.ErrStaleLease for a lease that is unknown,
// settled, expired and reaped, or whose ID now names another URL (Redis
// lost its last writes and handed the ID out again).
func (f *Frontier) Ack(ctx context.Context, l store.Lease, o store.Outcome) error {
	return f.AckRecord(ctx, l, o, nil)
}

// AckRecord is Ack that, when rec is not nil, appends rec to the outbox
// in the same step. A stale lease writes nothing and returns
// store.ErrStaleLease. A call retried after an outage whose first
// attempt was applied finds its lease settled: ErrStaleLease, and the
// record was written once.
func (f *Frontier) AckRecord(ctx context.Context, l store.Lease, o store.Outcome, rec []byte) error {
	outcome := "f"
	switch {
	case o.Skipped != "":
		outcome = "s"
	case o.Error != "":
		outcome = "e"
	}
	return f.settle(ctx, &settleOp{op: "a", lease: l, a: outcome, b: strconv.FormatInt(toMs(o.HostBackoff), 10), rec: rec})
}

// Retry queues the lease's entry again with Attempt+1, claimable no
// earlier than notBefore (the seen-set is not consulted), and frees its
// host slot. With hostBackoff the whole host waits: its next-allowed
// time becomes at least notBefore. It returns store.ErrStaleLease as Ack
// does.
func (f *Frontier) Retry(ctx context.Context, l store.Lease, notBefore time.Time, hostBackoff bool) error {
	b := "0"
	if hostBackoff {
		b = "1"
	}
	return f.settle(ctx, &settleOp{op: "t", lease: l, a: strconv.FormatInt(toMs(notBefore), 10), b: b})
}

// Release gives a lease back unsettled: its entry is queued again as it
// was (Attempt unchanged, not counted as a retry), claimable no earlier
// than notBefore, and its host makes no claim before notBefore. It
// returns store.ErrStaleLease as Ack does.
func (f *Frontier) Release(ctx context.Context, l store.Lease, notBefore time.Time) error {
	return f.settle(ctx, &settleOp{op: "r", lease: l, a: strconv.FormatInt(toMs(notBefore), 10), b: "1"})
}

// SetHostInterval sets the least time between two claims from host, by
// any worker, to d, or to Interval if that is larger (robots.txt
// Crawl-delay). It applies to the claim already made. As with
// store.Memory, the interval lasts while the host has work and then
// until its next-allowed time passes; setting it for a host that has no
// work and no claim to space from changes nothing.
func (f *Frontier) SetHostInterval(ctx context.Context, host string, d time.Duration) error {
	if f.isClosed() {
		return store.ErrClosed
	}
	if _, err := f.eval(ctx, scriptInterval, f.nowArg(), f.perHost, f.interval, host, durMs(d)); err != nil {
		return fmt.Errorf("redis: set host interval: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the whole crawl's counters, all workers
// together. InFlight counts the leases not settled, expired ones that no
// claim has reaped yet included.
func (f *Frontier) Stats(ctx context.Context) (store.FrontierStats, error) {
	if f.isClosed() {
		return store.FrontierStats{}, store.ErrClosed
	}
	v, err := f.eval(ctx, scriptStats)
	if err != nil {
		return store.FrontierStats{}, fmt.Errorf("redis: stats: %w", err)
	}
	res, _ := v.([]any)
	var n [7]int64
	if len(res) != len(n) {
		return store.FrontierStats{}, fmt.Errorf("redis: stats: unexpected reply %v", v)
	}
	for i := range n {
		n[i] = toInt64(res[i])
	}
	return store.FrontierStats{
		Queued:     int(n[0]),
		Seen:       n[1],
		Duplicates: n[2],
		Done:       n[3],
		Retries:    n[4],
		InFlight:   int(n[5]),
		Hosts:      int(n[6]),
	}, nil
}

// Join makes meta the crawl's identity if it has none yet, and returns
// the crawl's: meta itself for a new crawl, what the first process gave
// for one that exists. The two steps are one script.
func (f *Frontier) Join(ctx context.Context, meta []byte) ([]byte, error) {
	if f.isClosed() {
		return nil, store.ErrClosed
	}
	v, err := f.eval(ctx, scriptJoin, meta)
	if err != nil {
		return nil, fmt.Errorf("redis: join crawl %s: %w", f.crawl, err)
	}
	s, _ := v.(string)
	return []byte(s), nil
}

// Export moves the crawl's records into out (see crawler.Outbox and the
// package doc). It is the function Export with this frontier's client.
func (f *Frontier) Export(ctx context.Context, name string, out store.Output, stop <-chan struct{}) error {
	return Export(ctx, f.c, f.opts.Crawl, name, out, stop)
}

// closeTimeout bounds the Redis calls of Close.
const closeTimeout = 5 * time.Second

// Close stops the frontier's background work, gives back the leases this
// process still holds (their entries are claimable again at once, Attempt
// unchanged) and removes the worker from the crawl's list. Every later
// call, Close included, returns store.ErrClosed. Close closes the
// connection only if Dial made it.
func (f *Frontier) Close() error {
	held, ok := f.stop()
	if !ok {
		return store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var errs []error
	if len(held) > 0 {
		args := []any{f.nowArg(), f.perHost, f.interval}
		for id, fp := range held {
			args = append(args, "r", id, fp, 0, 1, "")
		}
		if err := scriptSettle.Run(ctx, f.c, f.keys, args...).Err(); err != nil {
			errs = append(errs, fmt.Errorf("redis: close: give back %d leases: %w", len(held), err))
		}
	}
	if err := f.c.ZRem(ctx, f.p+"workers", f.worker).Err(); err != nil {
		errs = append(errs, fmt.Errorf("redis: close: %w", err))
	}
	if f.own {
		if err := f.c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("redis: close: %w", err))
		}
	}
	return errors.Join(errs...)
}

// stop marks the frontier closed, ends its background work and returns
// the leases it held; ok is false if it was closed already.
func (f *Frontier) stop() (held map[uint64]string, ok bool) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, false
	}
	f.closed = true
	held, f.held = f.held, nil
	f.mu.Unlock()
	close(f.closing)
	f.bgCancel()
	f.wg.Wait()
	return held, true
}

// toInt64 reads an integer from a script's reply, where Lua numbers
// come as integers and stored values as strings.
func toInt64(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}
