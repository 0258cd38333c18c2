package disk

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/cockroachdb/pebble/v2"

	"trawl/store"
)

// Stats returns a snapshot of the frontier's counters. Seen, Duplicates,
// Done and Retries count from the creation of the state, up to the last
// checkpoint for earlier processes.
func (d *Frontier) Stats(ctx context.Context) (store.FrontierStats, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return store.FrontierStats{}, err
	}
	return store.FrontierStats{
		Queued:     d.queued,
		InFlight:   d.hosts.InFlight(),
		Seen:       d.seen,
		Duplicates: d.dups,
		Done:       d.done,
		Retries:    d.retries,
		Hosts:      d.hosts.Active(),
	}, nil
}

// Outcomes splits Stats' Done count by the outcome given to Ack, as
// Memory.Outcomes does: fetched, failed (Error set) and skipped (Skipped
// set). It still answers after Close.
func (d *Frontier) Outcomes() (fetched, failed, skipped int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fetched, d.failed, d.skipped
}

// Statuses returns how many acked entries had each Outcome.Status (0 for
// none). It still answers after Close.
func (d *Frontier) Statuses() map[int]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[int]int64, len(d.statuses))
	for k, v := range d.statuses {
		m[k] = v
	}
	return m
}

// KeyState is what a Frontier knows about one key.
type KeyState struct {
	Seen bool // pushed or marked seen
	Done bool // acked
	// For an acked key: how it ended ("fetched", "failed" or "skipped") and
	// the Outcome.Status given to Ack.
	Outcome string
	Status  int
}

// Lookup returns what the frontier knows about key, changes since the
// last checkpoint included.
func (d *Frontier) Lookup(ctx context.Context, key string) (KeyState, error) {
	fp := store.Fingerprint(key)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return KeyState{}, err
	}
	v, closer, err := d.batch.Get(seenKey(d.kbuf[:0], fp))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return KeyState{}, nil
	case err != nil:
		return KeyState{}, d.fail("read seen-set", err)
	}
	defer closer.Close()
	ks := KeyState{Seen: true}
	if len(v) == 0 {
		return ks, nil
	}
	status, n := binary.Varint(v[1:])
	if n <= 0 || v[0] < kindFetched || v[0] > kindSkipped {
		return KeyState{}, d.fail("read seen-set", corruptf("bad outcome of %q", key))
	}
	ks.Done = true
	ks.Outcome = [...]string{kindFetched: "fetched", kindFailed: "failed", kindSkipped: "skipped"}[v[0]]
	ks.Status = int(status)
	return ks, nil
}
