package crawler

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGovernorSlots checks that no more than PerHost turns of one host are
// held at once, that hosts do not share slots, that a wait ends with its
// ctx, and that hosts no longer constraining anything are forgotten.
func TestGovernorSlots(t *testing.T) {
	g := newGovernor(2)
	ctx := context.Background()
	var held, most atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			done, err := g.turn(ctx, "a.test", 0)
			if err != nil {
				t.Error(err)
				return
			}
			n := held.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			held.Add(-1)
			done()
		})
	}
	wg.Wait()
	if m := most.Load(); m != 2 {
		t.Errorf("at most %d turns held at once, want 2", m)
	}

	d1, _ := g.turn(ctx, "b.test", 0)
	d2, _ := g.turn(ctx, "b.test", 0)
	dc, err := g.turn(ctx, "c.test", 0)
	if err != nil {
		t.Fatalf("another host waits for b.test's slots: %v", err)
	}
	dc()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := g.turn(cctx, "b.test", 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a third turn of b.test: %v, want the ctx's deadline", err)
	}
	d1()
	d2()
	g.mu.Lock()
	n := len(g.hosts)
	g.mu.Unlock()
	if n != 0 {
		t.Errorf("%d hosts kept after every turn ended without spacing, want 0", n)
	}
}

// TestGovernorPause checks that a pause is reported until it ends, and
// that a later pause wins over an earlier one.
func TestGovernorPause(t *testing.T) {
	g := newGovernor(1)
	if at := g.pausedUntil("a.test"); !at.IsZero() {
		t.Fatalf("a host never paused is paused until %v", at)
	}
	now := time.Now()
	g.pause("a.test", now.Add(time.Hour))
	g.pause("a.test", now.Add(time.Minute))
	if at := g.pausedUntil("a.test"); !at.Equal(now.Add(time.Hour)) {
		t.Errorf("paused until %v, want the later pause %v", at, now.Add(time.Hour))
	}
	g.pause("b.test", now.Add(-time.Second))
	if at := g.pausedUntil("b.test"); !at.IsZero() {
		t.Errorf("a pause that ended is reported until %v", at)
	}
}
