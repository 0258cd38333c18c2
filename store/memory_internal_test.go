package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestFIFO checks the ring buffer against a slice through random pushes
// and pops that wrap, grow and shrink it.
func TestFIFO(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q fifo
	var model []string
	next := 0
	for step := range 20_000 {
		// Phases: mostly push, then mostly pop, so the buffer grows and shrinks.
		pushBias := 0.7
		if step/2000%2 == 1 {
			pushBias = 0.3
		}
		if len(model) == 0 || rng.Float64() < pushBias {
			k := fmt.Sprint(next)
			next++
			q.push(Entry{Key: k})
			model = append(model, k)
		} else {
			got := q.pop().Key
			if got != model[0] {
				t.Fatalf("step %d: pop = %s, want %s", step, got, model[0])
			}
			model = model[1:]
		}
		if q.n != len(model) {
			t.Fatalf("step %d: n = %d, want %d", step, q.n, len(model))
		}
		if size := len(q.buf); size&(size-1) != 0 || size < q.n || (size >= 128 && q.n < size/8) {
			t.Fatalf("step %d: buffer size %d for %d entries", step, size, q.n)
		}
	}
	for len(model) > 0 {
		if got := q.pop().Key; got != model[0] {
			t.Fatalf("drain: pop = %s, want %s", got, model[0])
		}
		model = model[1:]
	}
	if q.buf != nil {
		t.Fatalf("empty queue holds a buffer of %d", len(q.buf))
	}
}

// TestMemoryForgetsIdleHosts checks that a host without work is dropped
// once its next-allowed time has passed, and not before, whatever its
// interval.
func TestMemoryForgetsIdleHosts(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	m := NewMemory(FrontierOptions{Interval: time.Second, Now: func() time.Time { return now }})
	// settle pushes, claims and acks an entry of host, setting the host's
	// interval to iv, if not zero, while the lease is held.
	settle := func(host string, iv time.Duration) {
		t.Helper()
		if _, err := m.Push(ctx, []Entry{{Key: host + "/" + fmt.Sprint(now.UnixNano()), Host: host}}); err != nil {
			t.Fatal(err)
		}
		ls, _, err := m.Claim(ctx, 1)
		if err != nil || len(ls) != 1 {
			t.Fatalf("Claim = %d leases, %v; want 1", len(ls), err)
		}
		if iv != 0 {
			if err := m.SetHostInterval(ctx, host, iv); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Ack(ctx, ls[0], Outcome{}); err != nil {
			t.Fatal(err)
		}
	}
	wantHosts := func(n int) {
		t.Helper()
		if _, _, err := m.Claim(ctx, 1); err != nil { // forgets
			t.Fatal(err)
		}
		if m.hosts.Len() != n || m.hosts.Idle() > n {
			t.Fatalf("%d hosts remembered (%d idle), want %d", m.hosts.Len(), m.hosts.Idle(), n)
		}
	}
	settle("a", 0)
	settle("b", time.Minute)
	wantHosts(2)
	now = now.Add(999 * time.Millisecond)
	wantHosts(2)
	now = now.Add(time.Millisecond)
	wantHosts(1) // a forgotten; b waits out its own interval
	if h := m.hosts.Lookup("b"); h == nil || h.Interval != time.Minute {
		t.Fatalf("host b = %+v, want it kept with its 1m interval", h)
	}
	now = start.Add(time.Minute - time.Millisecond)
	wantHosts(1)
	now = now.Add(time.Millisecond)
	wantHosts(0) // b forgotten, interval and all

	// An unknown host has no claim to space from: nothing to remember.
	if err := m.SetHostInterval(ctx, "c", time.Hour); err != nil {
		t.Fatal(err)
	}
	wantHosts(0)

	// Lowered while idle, an interval stops holding its host.
	settle("b", time.Minute)
	now = now.Add(2 * time.Second)
	wantHosts(1)
	if err := m.SetHostInterval(ctx, "b", 0); err != nil {
		t.Fatal(err)
	}
	if m.hosts.Len() != 0 || m.hosts.Idle() != 0 {
		t.Fatalf("%d hosts remembered (%d idle) after b's interval was lowered, want 0", m.hosts.Len(), m.hosts.Idle())
	}

	// A host that comes back while idle leaves the idle heap.
	settle("a", 0)
	now = now.Add(500 * time.Millisecond)
	if _, err := m.Push(ctx, []Entry{{Key: "a/again", Host: "a"}}); err != nil {
		t.Fatal(err)
	}
	if m.hosts.Idle() != 0 {
		t.Fatalf("idle heap holds %d hosts, want 0", m.hosts.Idle())
	}
	now = now.Add(time.Hour)
	wantHosts(1) // claims a/again
	if m.hosts.Lookup("a") == nil {
		t.Fatal("host a, which has a lease, was forgotten")
	}
}

// TestMemoryForgetsRaisedIntervals checks that hosts whose interval was
// raised (robots.txt Crawl-delay) are not kept after they went idle and
// their next-allowed time passed: memory does not grow with every host
// that ever had a Crawl-delay.
func TestMemoryForgetsRaisedIntervals(t *testing.T) {
	const n, delay = 10_000, 10 * time.Second
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(FrontierOptions{Interval: time.Second, Now: func() time.Time { return now }})
	settleRaised(t, m, n, delay)
	claim := func() {
		t.Helper()
		if ls, _, err := m.Claim(ctx, 1); err != nil || len(ls) != 0 {
			t.Fatalf("Claim = %d leases, %v; want none", len(ls), err)
		}
	}
	now = now.Add(delay - time.Millisecond)
	claim()
	if m.hosts.Len() != n {
		t.Fatalf("before their next-allowed time, %d hosts in RAM, want %d", m.hosts.Len(), n)
	}
	now = now.Add(time.Millisecond)
	claim()
	if m.hosts.Len() != 0 || m.hosts.Idle() != 0 {
		t.Fatalf("after their next-allowed time, %d hosts in RAM (%d idle), want 0", m.hosts.Len(), m.hosts.Idle())
	}
}

// frontier is what settleRaised needs of Memory.
type frontier interface {
	Push(ctx context.Context, entries []Entry) (int, error)
	Claim(ctx context.Context, max int) ([]Lease, time.Time, error)
	Ack(ctx context.Context, l Lease, o Outcome) error
	SetHostInterval(ctx context.Context, host string, d time.Duration) error
}

// settleRaised pushes one entry for each of n hosts, claims them all,
// sets each host's interval to iv while its lease is held, as a crawler
// that read a Crawl-delay does, and acks them.
func settleRaised(t *testing.T, f frontier, n int, iv time.Duration) {
	t.Helper()
	ctx := context.Background()
	entries := make([]Entry, n)
	for i := range entries {
		h := fmt.Sprintf("h%d.test", i)
		entries[i] = Entry{URL: "http://" + h + "/", Key: "http://" + h + "/", Host: h}
	}
	if added, err := f.Push(ctx, entries); err != nil || added != n {
		t.Fatalf("Push = %d, %v; want %d", added, err, n)
	}
	ls, _, err := f.Claim(ctx, n)
	if err != nil || len(ls) != n {
		t.Fatalf("Claim = %d leases, %v; want %d", len(ls), err, n)
	}
	for _, l := range ls {
		if err := f.SetHostInterval(ctx, l.Host, iv); err != nil {
			t.Fatal(err)
		}
		if err := f.Ack(ctx, l, Outcome{Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemoryOutcomes(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(FrontierOptions{PerHost: 10, Interval: -1})
	outcomes := []Outcome{{Status: 200}, {Status: 404}, {Error: "timeout"}, {Skipped: "robots"}, {Status: 500, Error: "x", Skipped: "y"}}
	for i := range outcomes {
		if _, err := m.Push(ctx, []Entry{{Key: fmt.Sprint(i), Host: "h"}}); err != nil {
			t.Fatal(err)
		}
	}
	ls, _, err := m.Claim(ctx, 10)
	if err != nil || len(ls) != len(outcomes) {
		t.Fatalf("Claim = %d leases, %v; want %d", len(ls), err, len(outcomes))
	}
	for i, l := range ls {
		if err := m.Ack(ctx, l, outcomes[i]); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()
	fetched, failed, skipped := m.Outcomes()
	if fetched != 2 || failed != 1 || skipped != 2 {
		t.Fatalf("Outcomes = %d, %d, %d; want 2, 1, 2", fetched, failed, skipped)
	}
}

// TestFPSet checks the fingerprint set against a map through growth,
// colliding table positions and the fingerprint 0.
func TestFPSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s fpSet
	model := map[uint64]bool{}
	for i := range 20_000 {
		var fp uint64
		switch i % 4 {
		case 0:
			fp = rng.Uint64()
		case 1:
			fp = uint64(rng.IntN(64)) // small: all in slot 0's neighbourhood
		case 2:
			fp = rng.Uint64()>>20<<20 | 1 // shares top bits with others
		default:
			fp = rng.Uint64() % 10_000 << 44 // reuses earlier keys
		}
		if got, want := s.add(fp), !model[fp]; got != want {
			t.Fatalf("add(%#x) = %v, want %v", fp, got, want)
		}
		model[fp] = true
		if !s.has(fp) {
			t.Fatalf("has(%#x) = false after add", fp)
		}
		if q := rng.Uint64(); s.has(q) != model[q] {
			t.Fatalf("has(%#x) = %v, want %v", q, s.has(q), model[q])
		}
		if s.len() != len(model) {
			t.Fatalf("len = %d, want %d", s.len(), len(model))
		}
	}
	if !model[0] || !s.has(0) {
		t.Fatalf("fingerprint 0 not exercised or lost")
	}
	if load := float64(s.n) / float64(len(s.slots)); load > 0.8 || load < 0.4 {
		t.Fatalf("load factor %.2f outside [0.4, 0.8]", load)
	}
}
