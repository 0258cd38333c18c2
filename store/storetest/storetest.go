// Package storetest checks that a frontier backend has the semantics every
// trawl frontier shares, in the manner of testing/fstest: a backend's test
// calls Run with a Backend that opens fresh frontiers.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Backend{
//			Open: func(t *testing.T, opts store.FrontierOptions) storetest.Frontier {
//				return store.NewMemory(opts)
//			},
//		})
//	}
//
// Every case drives time through opts.Now with a fake clock, so a backend
// must take all its notions of time from opts.Now. Cases assert exact
// times; a backend should keep at least millisecond precision (the suite
// only uses whole seconds).
//
// Cases set the options they depend on. Those that leave one zero, or set
// it to -1, check that the backend reads it as the store package doc says:
// zero means the default (store.DefaultPerHost, DefaultInterval,
// DefaultLeaseTTL), negative means off (no per-host limit, no spacing,
// leases that do not expire).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trawl/parse"
	"trawl/store"
)

// Frontier is the method set every frontier backend implements: that of
// crawler.Frontier, which a test of this package checks at compile time.
type Frontier interface {
	Push(ctx context.Context, entries []store.Entry) (added int, err error)
	MarkSeen(ctx context.Context, key string) (first bool, err error)
	Claim(ctx context.Context, max int) (leases []store.Lease, next time.Time, err error)
	Ack(ctx context.Context, l store.Lease, o store.Outcome) error
	Retry(ctx context.Context, l store.Lease, notBefore time.Time, hostBackoff bool) error
	Release(ctx context.Context, l store.Lease, notBefore time.Time) error
	SetHostInterval(ctx context.Context, host string, d time.Duration) error
	Stats(ctx context.Context) (store.FrontierStats, error)
	Close() error
}

// Backend opens the frontiers under test.
type Backend struct {
	// Open returns a fresh, empty frontier configured by opts; opts.Now is a
	// fake clock provided by the suite. Open should register any cleanup
	// with t.Cleanup; the suite closes the frontiers it opens unless a case
	// closes them itself (a second Close may return store.ErrClosed).
	Open func(t *testing.T, opts store.FrontierOptions) Frontier
	// Reopen, if non-nil, closes f and opens the same persistent state again
	// with opts. Nil for backends that keep nothing (memory).
	//
	// After Reopen the queued entries are still queued, the seen keys are
	// still seen, and the entries that were in flight are claimable again
	// at once, under new lease IDs: a process that reopens its state after
	// a crash has nobody left holding those leases. The suite requires
	// this, not merely claimability after the old leases expire.
	Reopen func(t *testing.T, f Frontier, opts store.FrontierOptions) Frontier
}

// Start is the fake clock's initial time in every case.
var Start = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// Clock is a fake clock safe for concurrent use. The suite passes its Now
// method as FrontierOptions.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Run runs every conformance case against b as a subtest of t.
func Run(t *testing.T, b Backend) {
	t.Helper()
	if b.Open == nil {
		t.Fatal("storetest: Backend.Open is nil")
	}
	cases := []struct {
		name string
		run  func(t *testing.T, b Backend)
	}{
		{"PushDedup", testPushDedup},
		{"MarkSeen", testMarkSeen},
		{"EmptyClaim", testEmptyClaim},
		{"Defaults", testDefaults},
		{"Off", testOff},
		{"PerHost", testPerHost},
		{"RoundRobin", testRoundRobin},
		{"FIFO", testFIFO},
		{"Interval", testInterval},
		{"SetHostInterval", testSetHostInterval},
		{"LeaseInterval", testLeaseInterval},
		{"IdleHostForgotten", testIdleHostForgotten},
		{"AckStale", testAckStale},
		{"LeaseExpiry", testLeaseExpiry},
		{"Retry", testRetry},
		{"RetryHostBackoff", testRetryHostBackoff},
		{"AckHostBackoff", testAckHostBackoff},
		{"Release", testRelease},
		{"EntryFields", testEntryFields},
		{"EntryKinds", testEntryKinds},
		{"Stats", testStats},
		{"Closed", testClosed},
		{"Concurrent", testConcurrent},
		{"Reopen", testReopen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, b) })
	}
}

// env is one case's frontier, clock and options.
type env struct {
	t     *testing.T
	f     Frontier
	clock *Clock
	opts  store.FrontierOptions
	ctx   context.Context
}

func open(t *testing.T, b Backend, opts store.FrontierOptions) *env {
	t.Helper()
	clock := NewClock(Start)
	opts.Now = clock.Now
	e := &env{t: t, clock: clock, opts: opts, ctx: context.Background()}
	e.f = b.Open(t, opts)
	t.Cleanup(func() { e.f.Close() }) // a second Close may fail; ignore
	return e
}

// entry returns an entry for http://host/path with the URL as its key.
func entry(host, path string) store.Entry {
	u := "http://" + host + "/" + path
	return store.Entry{URL: u, Key: u, Host: host}
}

func (e *env) push(want int, entries ...store.Entry) {
	e.t.Helper()
	got, err := e.f.Push(e.ctx, entries)
	if err != nil {
		e.t.Fatalf("Push: %v", err)
	}
	if got != want {
		e.t.Fatalf("Push(%d entries) added %d, want %d", len(entries), got, want)
	}
}

func (e *env) claim(max int) ([]store.Lease, time.Time) {
	e.t.Helper()
	ls, next, err := e.f.Claim(e.ctx, max)
	if err != nil {
		e.t.Fatalf("Claim(%d): %v", max, err)
	}
	if len(ls) > max {
		e.t.Fatalf("Claim(%d) returned %d leases", max, len(ls))
	}
	now := e.clock.Now()
	for _, l := range ls {
		want := time.Time{} // leases that do not expire
		if ttl := e.ttl(); ttl > 0 {
			want = now.Add(ttl)
		}
		if !l.Expires.Equal(want) {
			e.t.Fatalf("lease %s expires %v, want %v (LeaseTTL %v)", l.Key, fmtTime(l.Expires), fmtTime(want), e.opts.LeaseTTL)
		}
	}
	if len(ls) < max && !next.IsZero() && !next.After(now) {
		e.t.Fatalf("Claim(%d) returned %d leases and next %v, not after now %v", max, len(ls), next, now)
	}
	return ls, next
}

// claimN claims max entries and fails unless it gets exactly n.
func (e *env) claimN(max, n int) ([]store.Lease, time.Time) {
	e.t.Helper()
	ls, next := e.claim(max)
	if len(ls) != n {
		e.t.Fatalf("Claim(%d) got %d leases %v, want %d", max, len(ls), keys(ls), n)
	}
	return ls, next
}

// wantNext fails unless next is want.
func (e *env) wantNext(next, want time.Time) {
	e.t.Helper()
	if !next.Equal(want) {
		e.t.Fatalf("next = %v, want %v", fmtTime(next), fmtTime(want))
	}
}

func (e *env) ack(l store.Lease) {
	e.t.Helper()
	if err := e.f.Ack(e.ctx, l, store.Outcome{Status: 200}); err != nil {
		e.t.Fatalf("Ack(%s): %v", l.Key, err)
	}
}

func (e *env) retry(l store.Lease, notBefore time.Time, hostBackoff bool) {
	e.t.Helper()
	if err := e.f.Retry(e.ctx, l, notBefore, hostBackoff); err != nil {
		e.t.Fatalf("Retry(%s): %v", l.Key, err)
	}
}

func (e *env) release(l store.Lease, notBefore time.Time) {
	e.t.Helper()
	if err := e.f.Release(e.ctx, l, notBefore); err != nil {
		e.t.Fatalf("Release(%s): %v", l.Key, err)
	}
}

func (e *env) setInterval(host string, d time.Duration) {
	e.t.Helper()
	if err := e.f.SetHostInterval(e.ctx, host, d); err != nil {
		e.t.Fatalf("SetHostInterval(%s, %v): %v", host, d, err)
	}
}

// wantInterval fails unless l.Interval is want.
func (e *env) wantInterval(l store.Lease, want time.Duration) {
	e.t.Helper()
	if l.Interval != want {
		e.t.Fatalf("lease of %s has Interval %v, want %v", l.Key, l.Interval, want)
	}
}

func (e *env) stats() store.FrontierStats {
	e.t.Helper()
	s, err := e.f.Stats(e.ctx)
	if err != nil {
		e.t.Fatalf("Stats: %v", err)
	}
	return s
}

// wantStats fails unless Stats returns exactly want.
func (e *env) wantStats(want store.FrontierStats) {
	e.t.Helper()
	got := e.stats()
	if got != want {
		e.t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

// ttl is the lease lifetime e's options set: LeaseTTL, DefaultLeaseTTL
// for zero, or 0 for leases that do not expire.
func (e *env) ttl() time.Duration {
	switch {
	case e.opts.LeaseTTL == 0:
		return store.DefaultLeaseTTL
	case e.opts.LeaseTTL < 0:
		return 0
	}
	return e.opts.LeaseTTL
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.Format(time.RFC3339Nano)
}

func keys(ls []store.Lease) []string {
	ks := make([]string, len(ls))
	for i, l := range ls {
		ks[i] = l.Key
	}
	return ks
}

func hosts(ls []store.Lease) []string {
	hs := make([]string, len(ls))
	for i, l := range ls {
		hs[i] = l.Host
	}
	return hs
}

func testPushDedup(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{})
	a1, a2 := entry("a.test", "1"), entry("a.test", "2")
	e.push(1, a1, a1) // twice within one call
	e.push(1, a1, a2) // again across calls
	e.push(0, a2)
	dupURL := a1
	dupURL.URL = "http://a.test/1?other-spelling" // dedup is on Key, not URL
	e.push(0, dupURL)
	e.wantStats(store.FrontierStats{Queued: 2, Seen: 2, Duplicates: 4, Hosts: 1})
	e.push(0) // an empty batch is fine
}

func testMarkSeen(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{})
	k := entry("a.test", "redirected")
	for i, want := range []bool{true, false} {
		first, err := e.f.MarkSeen(e.ctx, k.Key)
		if err != nil {
			t.Fatalf("MarkSeen #%d: %v", i+1, err)
		}
		if first != want {
			t.Fatalf("MarkSeen #%d = %v, want %v", i+1, first, want)
		}
	}
	e.push(0, k)
	e.wantStats(store.FrontierStats{Seen: 1, Duplicates: 2})
	_, next := e.claimN(10, 0)
	e.wantNext(next, time.Time{})

	// A pushed key is seen for MarkSeen too.
	p := entry("a.test", "pushed")
	e.push(1, p)
	if first, err := e.f.MarkSeen(e.ctx, p.Key); err != nil || first {
		t.Fatalf("MarkSeen of a pushed key = %v, %v; want false, nil", first, err)
	}
}

func testEmptyClaim(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{Interval: time.Second})
	_, next := e.claimN(5, 0)
	e.wantNext(next, time.Time{})
	e.wantStats(store.FrontierStats{})
}

// testDefaults checks what the zero FrontierOptions mean: DefaultPerHost
// leases per host, claims spaced by DefaultInterval, leases that last
// DefaultLeaseTTL.
func testDefaults(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{})
	e.push(3, entry("a.test", "1"), entry("a.test", "2"), entry("a.test", "3"))
	var held []store.Lease
	for i := range store.DefaultPerHost {
		ls, next := e.claimN(10, 1) // one claim per interval
		e.wantInterval(ls[0], store.DefaultInterval)
		held = append(held, ls[0])
		if i < store.DefaultPerHost-1 {
			e.wantNext(next, Start.Add(time.Duration(i+1)*store.DefaultInterval))
		} else {
			// The host is full: only the first lease's expiry can free it.
			e.wantNext(next, Start.Add(store.DefaultLeaseTTL))
		}
		e.clock.Advance(store.DefaultInterval)
	}
	_, next := e.claimN(10, 0)
	e.wantNext(next, Start.Add(store.DefaultLeaseTTL))
	e.ack(held[0])
	e.claimN(10, 1)
}

// testOff checks what negative FrontierOptions mean: no limit on a
// host's leases, no spacing of its claims, leases that do not expire.
func testOff(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{PerHost: -1, Interval: -1, LeaseTTL: -1})
	const n = 50
	for i := range n {
		e.push(1, entry("a.test", fmt.Sprint(i)))
	}
	e.push(1, entry("b.test", "1"))
	ls, next := e.claimN(2*n, n+1) // every entry at once; claim checks Expires is zero
	e.wantNext(next, time.Time{})  // nothing waits on time: no expiry
	for _, l := range ls {
		e.wantInterval(l, 0)
	}
	e.clock.Advance(100 * 365 * 24 * time.Hour)
	_, next = e.claimN(10, 0)
	e.wantNext(next, time.Time{})
	e.wantStats(store.FrontierStats{InFlight: n + 1, Seen: n + 1, Hosts: 2})
	for _, l := range ls {
		e.ack(l) // still live a century later
	}
	e.wantStats(store.FrontierStats{Seen: n + 1, Done: n + 1})

	// Without a per-host limit, Interval still spaces the claims.
	const iv = time.Second
	e = open(t, b, store.FrontierOptions{PerHost: -1, Interval: iv})
	e.push(3, entry("a.test", "1"), entry("a.test", "2"), entry("a.test", "3"))
	for i := range 2 {
		_, next := e.claimN(10, 1)
		e.wantNext(next, Start.Add(time.Duration(i+1)*iv))
		e.clock.Advance(iv)
	}
	e.claimN(10, 1)
	e.wantStats(store.FrontierStats{InFlight: 3, Seen: 3, Hosts: 1})
	// Without expiry, a retried entry's not-before time still wakes.
	e = open(t, b, store.FrontierOptions{PerHost: 1, Interval: -1, LeaseTTL: -1})
	e.push(1, entry("a.test", "1"))
	ls, _ = e.claimN(10, 1)
	e.retry(ls[0], Start.Add(time.Minute), false)
	_, next = e.claimN(10, 0)
	e.wantNext(next, Start.Add(time.Minute))
}

func testPerHost(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{PerHost: 2, Interval: -1})
	for i := range 5 {
		e.push(1, entry("a.test", fmt.Sprint(i)))
	}
	ls, _ := e.claimN(10, 2)
	// The host is full: only the leases' expiry can free it by time alone.
	_, next := e.claimN(10, 0)
	e.wantNext(next, Start.Add(e.ttl()))
	e.ack(ls[0])
	ls2, _ := e.claimN(10, 1)
	e.claimN(10, 0)
	e.ack(ls[1])
	e.ack(ls2[0])
	e.claimN(10, 2)
	e.wantStats(store.FrontierStats{Queued: 0, InFlight: 2, Seen: 5, Done: 3, Hosts: 1})

	// PerHost zero means DefaultPerHost.
	e0 := open(t, b, store.FrontierOptions{Interval: -1})
	for i := range store.DefaultPerHost + 1 {
		e0.push(1, entry("a.test", fmt.Sprint(i)))
	}
	e0.claimN(10, store.DefaultPerHost)

	// PerHost one leases one entry of a host at a time.
	e1 := open(t, b, store.FrontierOptions{PerHost: 1, Interval: -1})
	e1.push(2, entry("a.test", "1"), entry("a.test", "2"))
	ls, _ = e1.claimN(10, 1)
	e1.claimN(10, 0)
	e1.ack(ls[0])
	e1.claimN(10, 1)

	// A negative PerHost means no limit.
	en := open(t, b, store.FrontierOptions{PerHost: -1, Interval: -1})
	for i := range 100 {
		en.push(1, entry("a.test", fmt.Sprint(i)))
	}
	en.push(1, entry("b.test", "1"))
	en.claimN(1000, 101)
}

func testRoundRobin(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{PerHost: 3, Interval: -1})
	hs := []string{"a.test", "b.test", "c.test"}
	for _, h := range hs {
		e.push(3, entry(h, "1"), entry(h, "2"), entry(h, "3"))
	}
	got := map[string][]string{} // host -> keys in claim order
	for round := range 3 {
		ls, _ := e.claimN(3, 3)
		hosts := hosts(ls)
		slices.Sort(hosts)
		if !slices.Equal(hosts, hs) {
			t.Fatalf("round %d: Claim(3) served hosts %v, want one lease from each of %v", round, hosts, hs)
		}
		for _, l := range ls {
			got[l.Host] = append(got[l.Host], l.Key)
		}
	}
	for _, h := range hs {
		want := []string{entry(h, "1").Key, entry(h, "2").Key, entry(h, "3").Key}
		if !slices.Equal(got[h], want) {
			t.Errorf("host %s claimed %v, want push order %v", h, got[h], want)
		}
	}
}

func testFIFO(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{PerHost: 1, Interval: -1})
	var want []string
	for i := range 20 {
		en := entry("a.test", fmt.Sprint(i))
		e.push(1, en)
		want = append(want, en.Key)
	}
	var got []string
	for range 20 {
		ls, _ := e.claimN(5, 1)
		got = append(got, ls[0].Key)
		e.ack(ls[0])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("claim order %v, want push order %v", got, want)
	}
	e.wantStats(store.FrontierStats{Seen: 20, Done: 20})
}

func testInterval(t *testing.T, b Backend) {
	const iv = time.Second
	e := open(t, b, store.FrontierOptions{PerHost: 4, Interval: iv})
	e.push(3, entry("a.test", "1"), entry("a.test", "2"), entry("a.test", "3"))
	e.push(1, entry("b.test", "1"))

	ls, next := e.claimN(10, 2) // at most one per host per call
	if hs := hosts(ls); hs[0] == hs[1] {
		t.Fatalf("Claim served hosts %v, want a.test and b.test", hs)
	}
	e.wantNext(next, Start.Add(iv))

	e.clock.Advance(iv - time.Millisecond)
	_, next = e.claimN(10, 0)
	e.wantNext(next, Start.Add(iv))

	e.clock.Advance(time.Millisecond)
	ls, next = e.claimN(10, 1)
	if ls[0].Key != entry("a.test", "2").Key {
		t.Fatalf("claimed %s, want http://a.test/2", ls[0].Key)
	}
	e.wantNext(next, Start.Add(2*iv))

	// Acking does not make the host ready before its interval is over.
	e.ack(ls[0])
	_, next = e.claimN(10, 0)
	e.wantNext(next, Start.Add(2*iv))

	// A host that waited longer than its interval is ready at once.
	e.clock.Advance(10 * iv)
	e.claimN(10, 1)
}

func testSetHostInterval(t *testing.T, b Backend) {
	const iv = time.Second
	e := open(t, b, store.FrontierOptions{PerHost: 4, Interval: iv})
	for _, h := range []string{"a.test", "b.test", "c.test"} {
		e.push(3, entry(h, "1"), entry(h, "2"), entry(h, "3"))
	}
	_, next := e.claimN(10, 3)
	e.wantNext(next, Start.Add(iv))
	// Set with a lease in flight, as a crawler that just read robots.txt
	// does: the next claim is spaced from the one made.
	e.setInterval("a.test", 5*iv)
	e.setInterval("b.test", 100*time.Millisecond) // lower than Interval: no effect

	e.clock.Advance(iv)
	ls, next := e.claimN(10, 2)
	if hs := hosts(ls); slices.Contains(hs, "a.test") {
		t.Fatalf("after 1s claimed hosts %v; a.test has a 5s interval", hs)
	}
	e.wantNext(next, Start.Add(2*iv))

	e.clock.Advance(3 * iv) // Start+4s
	ls, next = e.claimN(10, 2)
	if hs := hosts(ls); slices.Contains(hs, "a.test") {
		t.Fatalf("after 4s claimed hosts %v; a.test has a 5s interval", hs)
	}
	e.wantNext(next, Start.Add(5*iv))

	e.clock.Advance(iv) // Start+5s
	ls, _ = e.claimN(10, 1)
	if ls[0].Host != "a.test" {
		t.Fatalf("after 5s claimed %s, want a.test", ls[0].Key)
	}
}

// testLeaseInterval checks that a lease carries its host's interval: the
// default, or the one SetHostInterval raised it to.
func testLeaseInterval(t *testing.T, b Backend) {
	const iv = time.Second
	e := open(t, b, store.FrontierOptions{PerHost: 2, Interval: iv})
	e.push(3, entry("a.test", "1"), entry("a.test", "2"), entry("a.test", "3"))
	e.push(1, entry("b.test", "1"))
	ls, _ := e.claimN(10, 2)
	for _, l := range ls {
		e.wantInterval(l, iv)
	}
	e.setInterval("a.test", 5*iv)
	for _, l := range ls {
		e.ack(l)
	}
	e.clock.Advance(5 * iv)
	ls, _ = e.claimN(10, 1)
	e.wantInterval(ls[0], 5*iv)

	// Lowered below Interval, it is Interval again.
	e.setInterval("a.test", 100*time.Millisecond)
	e.clock.Advance(iv)
	ls, _ = e.claimN(10, 1)
	e.wantInterval(ls[0], iv)

	// Without spacing, leases say zero; with the zero Interval, the
	// default.
	e0 := open(t, b, store.FrontierOptions{Interval: -1})
	e0.push(1, entry("a.test", "1"))
	ls, _ = e0.claimN(10, 1)
	e0.wantInterval(ls[0], 0)
	e0 = open(t, b, store.FrontierOptions{})
	e0.push(1, entry("a.test", "1"))
	ls, _ = e0.claimN(10, 1)
	e0.wantInterval(ls[0], store.DefaultInterval)
}

// testIdleHostForgotten checks that a raised interval lasts while its
// host is idle, until the host's next-allowed time passes, and no longer:
// then the host is forgotten, so that a frontier does not keep every host
// that ever had a Crawl-delay.
func testIdleHostForgotten(t *testing.T, b Backend) {
	const iv, raised = time.Second, 10 * time.Second
	e := open(t, b, store.FrontierOptions{PerHost: 1, Interval: iv})
	e.push(1, entry("a.test", "1"))
	ls, _ := e.claimN(10, 1)
	e.setInterval("a.test", raised)
	e.ack(ls[0]) // idle, next allowed at Start+10s

	// Before that time, new work still waits for the raised interval.
	e.clock.Advance(raised - iv)
	e.push(1, entry("a.test", "2"))
	_, next := e.claimN(10, 0)
	e.wantNext(next, Start.Add(raised))
	e.clock.Advance(iv)
	ls, _ = e.claimN(10, 1)
	e.wantInterval(ls[0], raised)
	e.ack(ls[0]) // idle, next allowed at Start+20s

	// After it, the host is new: claimable at once, spaced by Interval.
	e.clock.Advance(raised)
	e.push(1, entry("a.test", "3"))
	ls, _ = e.claimN(10, 1)
	e.wantInterval(ls[0], iv)
	e.ack(ls[0])
	e.push(1, entry("a.test", "4"))
	_, next = e.claimN(10, 0)
	e.wantNext(next, Start.Add(2*raised+iv))
}

func testAckStale(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{PerHost: 1, Interval: -1})
	e.push(2, entry("a.test", "1"), entry("a.test", "2"))
	ls, _ := e.claimN(1, 1)
	e.ack(ls[0])
	if err := e.f.Ack(e.ctx, ls[0], store.Outcome{Status: 200}); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("second Ack = %v, want ErrStaleLease", err)
	}
	if err := e.f.Retry(e.ctx, ls[0], time.Time{}, false); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("Retry after Ack = %v, want ErrStaleLease", err)
	}
	if err := e.f.Release(e.ctx, ls[0], time.Time{}); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("Release after Ack = %v, want ErrStaleLease", err)
	}
	unknown := store.Lease{Entry: entry("a.test", "2"), ID: ls[0].ID + 1000, Expires: Start.Add(time.Hour)}
	if err := e.f.Ack(e.ctx, unknown, store.Outcome{}); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("Ack of an unknown lease = %v, want ErrStaleLease", err)
	}
	// The stale calls changed nothing.
	e.wantStats(store.FrontierStats{Queued: 1, Seen: 2, Done: 1, Hosts: 1})
	e.claimN(1, 1)
}

func testLeaseExpiry(t *testing.T, b Backend) {
	const ttl = time.Minute
	e := open(t, b, store.FrontierOptions{PerHost: 1, Interval: -1, LeaseTTL: ttl})
	e.push(1, entry("a.test", "1"))
	e.push(1, entry("b.test", "1"))
	old, _ := e.claimN(10, 2)

	e.clock.Advance(ttl - time.Second)
	_, next := e.claimN(10, 0)
	e.wantNext(next, Start.Add(ttl))
	// b.test's lease is settled just in time; a.test's lapses.
	var oldA store.Lease
	for _, l := range old {
		if l.Host == "b.test" {
			e.ack(l)
		} else {
			oldA = l
		}
	}

	e.clock.Advance(time.Second)
	ls, _ := e.claimN(10, 1)
	l := ls[0]
	if l.Key != oldA.Key || l.Attempt != oldA.Attempt {
		t.Fatalf("after expiry claimed %s attempt %d, want %s attempt %d", l.Key, l.Attempt, oldA.Key, oldA.Attempt)
	}
	if l.ID == oldA.ID {
		t.Fatalf("re-claimed entry kept lease ID %d", l.ID)
	}
	if err := e.f.Ack(e.ctx, oldA, store.Outcome{}); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("Ack of the expired lease = %v, want ErrStaleLease", err)
	}
	if err := e.f.Retry(e.ctx, oldA, time.Time{}, false); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("Retry of the expired lease = %v, want ErrStaleLease", err)
	}
	e.wantStats(store.FrontierStats{InFlight: 1, Seen: 2, Done: 1, Hosts: 1})
	e.ack(l)
	e.wantStats(store.FrontierStats{Seen: 2, Done: 2})
}

func testRetry(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{PerHost: 1, Interval: -1})
	a1, a2 := entry("a.test", "1"), entry("a.test", "2")
	e.push(1, a1)
	ls, _ := e.claimN(10, 1)
	e.retry(ls[0], Start.Add(10*time.Second), false)
	e.wantStats(store.FrontierStats{Queued: 1, Seen: 1, Retries: 1, Hosts: 1})
	e.push(0, a1) // still seen: Retry is no new push

	_, next := e.claimN(10, 0)
	e.wantNext(next, Start.Add(10*time.Second))

	// Without hostBackoff the host's other entries are not held back.
	e.push(1, a2)
	ls, _ = e.claimN(10, 1)
	if ls[0].Key != a2.Key {
		t.Fatalf("claimed %s, want %s (a1 waits for its retry time)", ls[0].Key, a2.Key)
	}
	e.ack(ls[0])

	e.clock.Advance(10*time.Second - time.Millisecond)
	_, next = e.claimN(10, 0)
	e.wantNext(next, Start.Add(10*time.Second))

	e.clock.Advance(time.Millisecond)
	ls, _ = e.claimN(10, 1)
	if ls[0].Key != a1.Key || ls[0].Attempt != 1 {
		t.Fatalf("claimed %s attempt %d, want %s attempt 1", ls[0].Key, ls[0].Attempt, a1.Key)
	}
	if ls[0].URL != a1.URL || ls[0].Host != a1.Host || ls[0].Depth != a1.Depth {
		t.Fatalf("retried entry came back as %+v, want %+v with Attempt 1", ls[0].Entry, a1)
	}
	// A second retry counts on.
	e.retry(ls[0], time.Time{}, false)
	ls, _ = e.claimN(10, 1)
	if ls[0].Attempt != 2 {
		t.Fatalf("after two retries Attempt = %d, want 2", ls[0].Attempt)
	}
	e.ack(ls[0])
	e.wantStats(store.FrontierStats{Seen: 2, Duplicates: 1, Done: 2, Retries: 2})
}

func testRetryHostBackoff(t *testing.T, b Backend) {
	const wait = 30 * time.Second
	e := open(t, b, store.FrontierOptions{PerHost: 2, Interval: -1})
	e.push(2, entry("a.test", "1"), entry("a.test", "2"))
	e.push(2, entry("b.test", "1"), entry("b.test", "2"))
	ls, _ := e.claimN(2, 2)
	var la store.Lease
	for _, l := range ls {
		if l.Host == "a.test" {
			la = l
		}
	}
	if la.Host == "" {
		t.Fatalf("Claim(2) served %v, want both hosts", hosts(ls))
	}
	e.retry(la, Start.Add(wait), true)

	ls, next := e.claimN(10, 1)
	if ls[0].Host != "b.test" {
		t.Fatalf("claimed %s while a.test backs off", ls[0].Key)
	}
	e.wantNext(next, Start.Add(wait))

	e.clock.Advance(wait - time.Second)
	e.claimN(10, 0)
	e.clock.Advance(time.Second)
	ls, _ = e.claimN(10, 2)
	got := keys(ls)
	slices.Sort(got)
	if want := []string{entry("a.test", "1").Key, entry("a.test", "2").Key}; !slices.Equal(got, want) {
		t.Fatalf("after the backoff claimed %v, want %v", got, want)
	}
}

// testAckHostBackoff checks that an Ack with Outcome.HostBackoff settles
// the entry and keeps its host from claiming before then, even with no
// work queued at the time of the Ack.
func testAckHostBackoff(t *testing.T, b Backend) {
	const wait = 30 * time.Second
	e := open(t, b, store.FrontierOptions{PerHost: 2, Interval: -1})
	e.push(1, entry("a.test", "1"))
	ls, _ := e.claimN(1, 1)
	if err := e.f.Ack(context.Background(), ls[0], store.Outcome{Status: 429, HostBackoff: Start.Add(wait)}); err != nil {
		t.Fatal(err)
	}
	if st := e.stats(); st.Done != 1 || st.Queued != 0 {
		t.Fatalf("after Ack: %+v, want 1 done, nothing queued", st)
	}
	e.clock.Advance(time.Second)
	e.push(2, entry("a.test", "2"), entry("b.test", "1"))
	ls, next := e.claimN(10, 1)
	if ls[0].Host != "b.test" {
		t.Fatalf("claimed %s while a.test backs off", ls[0].Key)
	}
	e.wantNext(next, Start.Add(wait))
	e.clock.Advance(wait - 2*time.Second)
	e.claimN(10, 0)
	e.clock.Advance(time.Second)
	if ls, _ = e.claimN(10, 1); ls[0].Key != entry("a.test", "2").Key {
		t.Fatalf("after the backoff claimed %v, want a.test/2", keys(ls))
	}
}

// testRelease checks that a released lease's entry is queued again as it
// was, not counted as a retry, and that neither it nor anything else of
// its host is claimed before notBefore.
func testRelease(t *testing.T, b Backend) {
	const iv, wait = time.Second, 30 * time.Second
	e := open(t, b, store.FrontierOptions{PerHost: 2, Interval: iv})
	a1, a2, b1 := entry("a.test", "1"), entry("a.test", "2"), entry("b.test", "1")
	e.push(3, a1, a2, b1)
	ls, _ := e.claimN(10, 2)
	var la store.Lease
	for _, l := range ls {
		if l.Host == "a.test" {
			la = l
		}
	}
	if la.Key != a1.Key {
		t.Fatalf("Claim served %v, want %s and %s", keys(ls), a1.Key, b1.Key)
	}
	e.release(la, Start.Add(wait))
	e.wantStats(store.FrontierStats{Queued: 2, InFlight: 1, Seen: 3, Hosts: 2})

	// The released lease is stale.
	if err := e.f.Ack(e.ctx, la, store.Outcome{Status: 200}); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("Ack after Release = %v, want ErrStaleLease", err)
	}
	if err := e.f.Retry(e.ctx, la, time.Time{}, false); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("Retry after Release = %v, want ErrStaleLease", err)
	}
	if err := e.f.Release(e.ctx, la, time.Time{}); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("second Release = %v, want ErrStaleLease", err)
	}

	// a.test's interval is over, but the host makes no claim, of a1 or
	// of a2, before notBefore.
	e.clock.Advance(iv)
	_, next := e.claimN(10, 0)
	e.wantNext(next, Start.Add(wait))
	e.clock.Advance(wait - iv - time.Millisecond)
	_, next = e.claimN(10, 0)
	e.wantNext(next, Start.Add(wait))

	e.clock.Advance(time.Millisecond)
	ls, next = e.claimN(10, 1)
	if ls[0].Entry != a1 {
		t.Fatalf("at notBefore claimed %+v, want %+v unchanged (Attempt 0)", ls[0].Entry, a1)
	}
	if ls[0].ID == la.ID {
		t.Fatalf("re-claimed entry kept lease ID %d", la.ID)
	}
	e.wantNext(next, Start.Add(wait+iv))
	e.ack(ls[0])
	e.clock.Advance(iv)
	ls, _ = e.claimN(10, 1)
	if ls[0].Key != a2.Key {
		t.Fatalf("claimed %s, want %s", ls[0].Key, a2.Key)
	}
	e.ack(ls[0])
	e.wantStats(store.FrontierStats{InFlight: 1, Seen: 3, Done: 2, Hosts: 1})
}

// testEntryFields checks that every field of an entry comes back from
// Claim as it was pushed, after Retry (with Attempt+1) and Release, and
// after Reopen.
func testEntryFields(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{PerHost: 3, Interval: -1})
	full := store.Entry{
		URL: "http://a.test/x?b=1&a=2", Key: "http://a.test/x?a=2&b=1", Host: "a.test",
		Depth: 3, Parent: "http://a.test/", Redirects: 2, Kind: parse.KindSitemap,
	}
	plain := entry("a.test", "plain")
	later := full
	later.URL, later.Key, later.Redirects, later.Kind = "http://a.test/later", "http://a.test/later", 1, parse.KindAsset
	e.push(2, full, plain)
	wantClaim := func(when string, want ...store.Entry) {
		t.Helper()
		ls, _ := e.claimN(10, len(want))
		got := map[string]store.Entry{}
		for _, l := range ls {
			got[l.Key] = l.Entry
		}
		for _, w := range want {
			if got[w.Key] != w {
				t.Fatalf("%s claimed %+v, want %+v", when, got[w.Key], w)
			}
		}
		for _, l := range ls {
			switch l.Key {
			case full.Key:
				e.retry(l, time.Time{}, false)
			case plain.Key:
				e.release(l, time.Time{})
			}
		}
	}
	wantClaim("after Push", full, plain)
	full.Attempt++
	wantClaim("after Retry and Release", full, plain)
	full.Attempt++
	if b.Reopen == nil {
		return
	}
	e.push(1, later)
	e.f = b.Reopen(t, e.f, e.opts)
	wantClaim("after Reopen", full, plain, later)
}

// testEntryKinds checks that Claim hands out each entry with the Kind,
// Redirects and Attempt it was pushed or retried with, for many entries
// of one host (more than a backend may keep in RAM: a persistent backend
// reads most of them back from its store), and after Reopen.
func testEntryKinds(t *testing.T, b Backend) {
	const n = 300
	kinds := []parse.Kind{parse.KindPage, parse.KindAsset, parse.KindForm, parse.KindSitemap}
	e := open(t, b, store.FrontierOptions{PerHost: -1, Interval: -1})
	want := map[string]store.Entry{}
	var entries []store.Entry
	for i := range n {
		en := entry("a.test", fmt.Sprint(i))
		en.Kind, en.Redirects, en.Depth = kinds[i%len(kinds)], i%3, i%5
		entries = append(entries, en)
		want[en.Key] = en
	}
	e.push(n, entries...)
	check := func(when string, ls []store.Lease) {
		t.Helper()
		for _, l := range ls {
			if w := want[l.Key]; l.Entry != w {
				t.Fatalf("%s claimed %+v, want %+v", when, l.Entry, w)
			}
		}
	}
	// Claim all, in two rounds, and retry every other one.
	ls, _ := e.claimN(n/2, n/2)
	rest, _ := e.claimN(n, n-n/2)
	ls = append(ls, rest...)
	check("after Push", ls)
	for i, l := range ls {
		if i%2 == 0 {
			e.ack(l)
			delete(want, l.Key)
			continue
		}
		e.retry(l, time.Time{}, false)
		w := want[l.Key]
		w.Attempt++
		want[l.Key] = w
	}
	if b.Reopen != nil {
		e.f = b.Reopen(t, e.f, e.opts)
	}
	ls, _ = e.claimN(n, len(want))
	check("after Retry", ls)
}

func testStats(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{PerHost: 2, Interval: -1})
	e.wantStats(store.FrontierStats{})
	e.push(3, entry("a.test", "1"), entry("a.test", "2"), entry("b.test", "1"))
	e.wantStats(store.FrontierStats{Queued: 3, Seen: 3, Hosts: 2})
	ls, _ := e.claimN(10, 3)
	e.wantStats(store.FrontierStats{InFlight: 3, Seen: 3, Hosts: 2})
	for _, l := range ls {
		if l.Host == "b.test" {
			e.ack(l)
		}
	}
	e.wantStats(store.FrontierStats{InFlight: 2, Seen: 3, Done: 1, Hosts: 1})
	for _, l := range ls {
		if l.Host == "a.test" && l.Key == entry("a.test", "1").Key {
			e.retry(l, Start.Add(time.Minute), false)
		} else if l.Host == "a.test" {
			if err := e.f.Ack(e.ctx, l, store.Outcome{Error: "timeout"}); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
	}
	e.wantStats(store.FrontierStats{Queued: 1, Seen: 3, Done: 2, Retries: 1, Hosts: 1})
	if _, err := e.f.MarkSeen(e.ctx, "http://c.test/"); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	e.push(0, entry("b.test", "1"))
	e.wantStats(store.FrontierStats{Queued: 1, Seen: 4, Duplicates: 1, Done: 2, Retries: 1, Hosts: 1})
	e.clock.Advance(time.Minute)
	ls, _ = e.claimN(10, 1)
	if err := e.f.Ack(e.ctx, ls[0], store.Outcome{Skipped: "robots"}); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	e.wantStats(store.FrontierStats{Seen: 4, Duplicates: 1, Done: 3, Retries: 1})
}

func testClosed(t *testing.T, b Backend) {
	e := open(t, b, store.FrontierOptions{})
	e.push(2, entry("a.test", "1"), entry("a.test", "2"))
	ls, _ := e.claimN(1, 1)
	if err := e.f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := e.ctx
	calls := []struct {
		name string
		call func() error
	}{
		{"Push", func() error { _, err := e.f.Push(ctx, []store.Entry{entry("b.test", "1")}); return err }},
		{"MarkSeen", func() error { _, err := e.f.MarkSeen(ctx, "http://b.test/2"); return err }},
		{"Claim", func() error { _, _, err := e.f.Claim(ctx, 1); return err }},
		{"Ack", func() error { return e.f.Ack(ctx, ls[0], store.Outcome{}) }},
		{"Retry", func() error { return e.f.Retry(ctx, ls[0], time.Time{}, false) }},
		{"Release", func() error { return e.f.Release(ctx, ls[0], time.Time{}) }},
		{"SetHostInterval", func() error { return e.f.SetHostInterval(ctx, "a.test", time.Second) }},
		{"Stats", func() error { _, err := e.f.Stats(ctx); return err }},
		{"Close", e.f.Close},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", c.name, err)
		}
	}
}

// testConcurrent has 8 goroutines push overlapping keys while claiming,
// retrying and acking, and checks that every unique key ends acked once.
func testConcurrent(t *testing.T, b Backend) {
	const (
		workers = 8
		span    = 200 // keys pushed by each worker
		stride  = 50  // offset between workers' ranges: they overlap
		nhosts  = 7
	)
	e := open(t, b, store.FrontierOptions{PerHost: 3, Interval: -1})
	key := func(i int) store.Entry { return entry(fmt.Sprintf("h%d.test", i%nhosts), fmt.Sprint(i)) }
	unique := (workers-1)*stride + span

	var (
		mu       sync.Mutex
		acked    = map[string]int{}
		retried  = map[string]bool{}
		added    atomic.Int64
		settled  atomic.Int64 // leases acked or retried, by all workers
		pushing  atomic.Int32
		wg       sync.WaitGroup
		failures = make(chan string, workers)
	)
	pushing.Store(workers)
	ctx := e.ctx
	work := func(max int) error {
		ls, _, err := e.f.Claim(ctx, max)
		if err != nil {
			return fmt.Errorf("Claim: %w", err)
		}
		for _, l := range ls {
			mu.Lock()
			retry := !retried[l.Key] && len(l.Key)%3 == 0
			retried[l.Key] = true
			mu.Unlock()
			if retry {
				if err := e.f.Retry(ctx, l, time.Time{}, false); err != nil {
					return fmt.Errorf("Retry(%s): %w", l.Key, err)
				}
				settled.Add(1)
				continue
			}
			if err := e.f.Ack(ctx, l, store.Outcome{Status: 200}); err != nil {
				return fmt.Errorf("Ack(%s): %w", l.Key, err)
			}
			settled.Add(1)
			mu.Lock()
			acked[l.Key]++
			mu.Unlock()
		}
		return nil
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fail := func(err error) { failures <- fmt.Sprintf("worker %d: %v", w, err) }
			for i := w * stride; i < w*stride+span; i += 10 {
				batch := make([]store.Entry, 0, 10)
				for j := i; j < i+10; j++ {
					batch = append(batch, key(j))
				}
				n, err := e.f.Push(ctx, batch)
				if err != nil {
					pushing.Add(-1)
					fail(fmt.Errorf("Push: %w", err))
					return
				}
				added.Add(int64(n))
				if err := work(3); err != nil {
					pushing.Add(-1)
					fail(err)
					return
				}
			}
			pushing.Add(-1)
			// Bounded: far more rounds than draining needs once every
			// worker has pushed (the pushes themselves are bounded).
			// Only rounds in which no worker settled a lease count:
			// while another worker holds leases and is not running, this
			// one yields to it instead of using up its rounds.
			last := settled.Load()
			for rounds := 0; rounds < 100_000; {
				if err := work(5); err != nil {
					fail(err)
					return
				}
				if pushing.Load() > 0 {
					runtime.Gosched()
					continue
				}
				if n := settled.Load(); n != last {
					last, rounds = n, 0
				} else {
					rounds++
					runtime.Gosched()
				}
				s, err := e.f.Stats(ctx)
				if err != nil {
					fail(fmt.Errorf("Stats: %w", err))
					return
				}
				if s.Queued == 0 && s.InFlight == 0 {
					return
				}
			}
			fail(errors.New("work never drained"))
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		return
	}
	if got := added.Load(); got != int64(unique) {
		t.Errorf("Push added %d in all, want %d unique keys", got, unique)
	}
	for i := range unique {
		if k := key(i).Key; acked[k] != 1 {
			t.Errorf("%s acked %d times, want 1", k, acked[k])
		}
	}
	if len(acked) != unique {
		t.Errorf("%d keys acked, want %d", len(acked), unique)
	}
	nretried := 0
	for i := range unique {
		if k := key(i).Key; len(k)%3 == 0 {
			nretried++
		}
	}
	e.wantStats(store.FrontierStats{
		Seen:       int64(unique),
		Duplicates: int64(workers*span - unique),
		Done:       int64(unique),
		Retries:    int64(nretried),
	})
}

func testReopen(t *testing.T, b Backend) {
	if b.Reopen == nil {
		t.Skip("backend keeps no state across Reopen")
	}
	opts := store.FrontierOptions{PerHost: 4, Interval: -1}
	e := open(t, b, opts)
	a1, a2, a3, b1 := entry("a.test", "1"), entry("a.test", "2"), entry("a.test", "3"), entry("b.test", "1")
	e.push(4, a1, a2, a3, b1)
	if _, err := e.f.MarkSeen(e.ctx, "http://c.test/"); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	ls, _ := e.claimN(2, 2) // one per host, then...
	var old store.Lease
	for _, l := range ls {
		if l.Host == "b.test" {
			e.ack(l)
		} else {
			old = l // ...a.test's stays in flight
		}
	}

	e.f = b.Reopen(t, e.f, e.opts)
	s := e.stats()
	if s.Queued != 3 || s.InFlight != 0 || s.Seen != 5 {
		t.Fatalf("after Reopen Stats = %+v, want Queued 3 (2 queued + 1 in flight), InFlight 0, Seen 5", s)
	}
	ls, _ = e.claimN(10, 3) // at once, without waiting for the old lease
	got := keys(ls)
	slices.Sort(got)
	if want := []string{a1.Key, a2.Key, a3.Key}; !slices.Equal(got, want) {
		t.Fatalf("after Reopen claimed %v, want %v", got, want)
	}
	for _, l := range ls {
		if l.Key == old.Key && l.ID == old.ID {
			t.Errorf("after Reopen %s kept its lease ID %d", l.Key, l.ID)
		}
	}
	if err := e.f.Ack(e.ctx, old, store.Outcome{}); !errors.Is(err, store.ErrStaleLease) {
		t.Errorf("Ack of a lease from before Reopen = %v, want ErrStaleLease", err)
	}
	e.push(0, a1, a2, a3, b1, entry("c.test", ""))
	for _, l := range ls {
		e.ack(l)
	}
	s = e.stats()
	if s.Queued != 0 || s.InFlight != 0 || s.Seen != 5 {
		t.Fatalf("at the end Stats = %+v, want Queued 0, InFlight 0, Seen 5", s)
	}
}
