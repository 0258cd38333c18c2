package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"trawl/store"
	"trawl/store/storetest"
)

var _ storetest.Frontier = (*store.Memory)(nil)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts store.FrontierOptions) storetest.Frontier {
			return store.NewMemory(opts)
		},
	})
}

// TestReopenCase runs the suite, Reopen case included, against a Memory
// wrapped to survive Reopen, so that the suite's Reopen case itself is
// exercised.
func TestReopenCase(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts store.FrontierOptions) storetest.Frontier {
			return &durable{Memory: store.NewMemory(opts), entries: map[string]store.Entry{}}
		},
		Reopen: func(t *testing.T, f storetest.Frontier, opts store.FrontierOptions) storetest.Frontier {
			return f.(*durable).reopen(t, opts)
		},
	})
}

// durable is a Memory that remembers what a persistent backend would keep:
// seen keys and unsettled entries. Its lease IDs carry a generation so
// that leases from before a reopen stay stale.
type durable struct {
	*store.Memory
	gen     uint64
	mu      sync.Mutex
	seen    []string
	order   []string               // unsettled keys in push order
	entries map[string]store.Entry // unsettled entries by key
}

func (d *durable) Push(ctx context.Context, es []store.Entry) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.Memory.Push(ctx, es)
	for _, e := range es {
		if _, ok := d.entries[e.Key]; !ok && !d.wasSeen(e.Key) {
			d.seen = append(d.seen, e.Key)
			d.order = append(d.order, e.Key)
			d.entries[e.Key] = e
		}
	}
	return n, err
}

func (d *durable) wasSeen(k string) bool {
	for _, s := range d.seen {
		if s == k {
			return true
		}
	}
	return false
}

func (d *durable) MarkSeen(ctx context.Context, key string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	first, err := d.Memory.MarkSeen(ctx, key)
	if first {
		d.seen = append(d.seen, key)
	}
	return first, err
}

func (d *durable) Claim(ctx context.Context, max int) ([]store.Lease, time.Time, error) {
	ls, next, err := d.Memory.Claim(ctx, max)
	for i := range ls {
		ls[i].ID |= d.gen << 32
	}
	return ls, next, err
}

func (d *durable) inner(l store.Lease) store.Lease {
	if l.ID>>32 != d.gen {
		l.ID = 0 // never handed out: stale
	}
	l.ID &= 1<<32 - 1
	return l
}

func (d *durable) Ack(ctx context.Context, l store.Lease, o store.Outcome) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.Memory.Ack(ctx, d.inner(l), o)
	if err == nil {
		delete(d.entries, l.Key)
	}
	return err
}

func (d *durable) Retry(ctx context.Context, l store.Lease, notBefore time.Time, hostBackoff bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.Memory.Retry(ctx, d.inner(l), notBefore, hostBackoff)
	if err == nil {
		e := l.Entry
		e.Attempt++
		d.entries[l.Key] = e
	}
	return err
}

func (d *durable) Release(ctx context.Context, l store.Lease, notBefore time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Memory.Release(ctx, d.inner(l), notBefore) // the entry is kept as it was
}

func (d *durable) reopen(t *testing.T, opts store.FrontierOptions) *durable {
	t.Helper()
	d.Close()
	m := store.NewMemory(opts)
	ctx := context.Background()
	var es []store.Entry
	for _, k := range d.order {
		if e, ok := d.entries[k]; ok {
			es = append(es, e)
		}
	}
	if _, err := m.Push(ctx, es); err != nil {
		t.Fatal(err)
	}
	for _, k := range d.seen {
		if _, err := m.MarkSeen(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	return &durable{Memory: m, gen: d.gen + 1, seen: d.seen, order: d.order, entries: d.entries}
}
