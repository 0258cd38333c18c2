package disk

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"

	"trawl/store"
)

// journalName is the file in the state directory that Flush appends to:
// the changes made since the last checkpoint, in frames, each written
// with one write call:
//
//	length(4, little-endian) CRC-32C(4) payload
//	payload: uvarint checkpoint count, uvarint records in the pending
//	         batch, uvarint len(meta), meta, the batch's new records
//
// The records are those of the Pebble batch that the next checkpoint
// commits, in its own encoding, so a replay rebuilds that batch exactly.
// A frame counts only if it is whole, its checksum matches, and it follows
// the checkpoint the store is at; replay stops at the first that does not.
// Checkpoint empties the file.
const journalName = "journal"

const frameHeader = 8

// castagnoli is the CRC-32C table of journal frames.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Ack settles a lease with its outcome: the entry is done, its outcome is
// recorded under its key, and its host slot is free; with o.HostBackoff
// set, the host makes no claim before then. It returns
// ErrStaleLease for a lease that is unknown, already settled, or expired
// and reaped.
func (d *Frontier) Ack(ctx context.Context, l store.Lease, o store.Outcome) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return err
	}
	rec, err := d.settle(l)
	if err != nil {
		return err
	}
	kind := byte(kindFetched)
	switch {
	case o.Skipped != "":
		kind = kindSkipped
	case o.Error != "":
		kind = kindFailed
	}
	d.vbuf = binary.AppendVarint(append(d.vbuf[:0], kind), int64(o.Status))
	if err := d.set(seenKey(d.kbuf[:0], store.Fingerprint(rec.Item.Key)), d.vbuf); err != nil {
		return err
	}
	d.done++
	switch kind {
	case kindSkipped:
		d.skipped++
	case kindFailed:
		d.failed++
	default:
		d.fetched++
	}
	d.statuses[o.Status]++
	if d.hosts.RaiseBackoff(rec.Host, nanos(o.HostBackoff)) {
		if err := d.putHost(rec.Host); err != nil {
			return err
		}
	}
	d.hosts.Refresh(rec.Host)
	d.hosts.Park(rec.Host)
	return nil
}

// Retry queues the lease's entry again with Attempt+1, claimable no
// earlier than notBefore (the seen-set is not consulted), and frees its
// host slot. With hostBackoff the whole host waits: its next-allowed time
// becomes at least notBefore. It returns ErrStaleLease as Ack does.
func (d *Frontier) Retry(ctx context.Context, l store.Lease, notBefore time.Time, hostBackoff bool) error {
	return d.requeue(l, notBefore, hostBackoff, true)
}

// Release gives a lease back unsettled, as Memory.Release does: its entry
// is queued again as it was, claimable no earlier than notBefore, and its
// host makes no claim before notBefore.
func (d *Frontier) Release(ctx context.Context, l store.Lease, notBefore time.Time) error {
	return d.requeue(l, notBefore, true, false)
}

// requeue is Retry, or without attempt Release.
func (d *Frontier) requeue(l store.Lease, notBefore time.Time, hostBackoff, attempt bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return err
	}
	rec, err := d.settle(l)
	if err != nil {
		return err
	}
	e := rec.Item.Entry
	if attempt {
		e.Attempt++
	}
	at := nanos(notBefore)
	h := rec.Host
	if err := d.delay(h, &e, at); err != nil {
		return err
	}
	if attempt {
		d.retries++
	}
	if hostBackoff && d.hosts.RaiseBackoff(h, at) {
		if err := d.putHost(h); err != nil {
			return err
		}
	}
	d.hosts.Refresh(h)
	return nil
}

// settle ends the lease l names, freeing its host slot and deleting its
// queue key; the caller must refresh the host. It returns ErrStaleLease if
// l is not a live lease. settle requires that d.mu is held.
func (d *Frontier) settle(l store.Lease) (*lease, error) {
	rec := d.hosts.Lease(l.ID)
	if rec == nil || rec.Item.Key != l.Key {
		return nil, store.ErrStaleLease
	}
	d.hosts.Settle(rec)
	if err := d.unqueue(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// Checkpoint makes every change since the last checkpoint durable, in one
// atomic synced write, together with meta, an opaque value for the caller
// (for example its output offset and configuration) that Meta returns.
// Changes not checkpointed are lost on a crash, and on a Close without
// Checkpoint. If the write fails (the disk is full, for example) the Frontier
// is unusable and the state on disk is the previous checkpoint's.
func (d *Frontier) Checkpoint(ctx context.Context, meta []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return err
	}
	prev := d.lastCkpt
	d.lastCkpt = nanos(d.now())
	d.ckptN++
	err := d.set(keyCounts, d.encodeCounts(d.vbuf[:0]))
	if err == nil {
		err = d.set(keyMeta, meta)
	}
	if err == nil {
		err = d.del(keyFlush)
	}
	if err != nil {
		return err
	}
	if err := d.commit(); err != nil {
		d.lastCkpt = prev
		d.ckptN--
		return d.fail("checkpoint", err)
	}
	if err := d.batch.Close(); err != nil {
		return d.fail("checkpoint", err)
	}
	d.batch = d.db.NewIndexedBatch()
	d.meta, d.fmeta = bytes.Clone(meta), nil
	// The journal's frames are in the checkpoint now; a replay would skip
	// them anyway, as they name the checkpoint before it.
	d.joff, d.jlen, d.jtrunc = 0, batchrepr.HeaderLen, true
	if d.journal.Truncate(0) == nil {
		d.jtrunc = false
	}
	trimMalloc() // some 10 µs; see trim_cgo.go
	// The count only grows, so its text never gets shorter: no truncation.
	if _, err := d.lockFile.WriteAt(fmt.Appendf(d.vbuf[:0], "%d\n", d.ckptN), 0); err != nil {
		return fmt.Errorf("store: state %s: checkpoint made, but not recorded in %s: %w", d.dir, lockName, err)
	}
	return nil
}

// Flush appends every change since the last Flush or Checkpoint to the
// state's journal, together with meta (which FlushMeta then returns), in
// one write and without syncing: it survives a crash of the process, though
// not necessarily one of the machine, and costs a small fraction of a
// checkpoint. Reopening replays the flushes made after the last
// checkpoint (see FrontierOptions.AcceptFlush); the journal holds them
// until the next checkpoint, so checkpoint regularly.
func (d *Frontier) Flush(meta []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return err
	}
	// The counters and meta go in as records too: a replayed prefix of the
	// journal brings back the ones that match it.
	if err := d.set(keyCounts, d.encodeCounts(d.vbuf[:0])); err != nil {
		return err
	}
	if err := d.set(keyFlush, meta); err != nil {
		return err
	}
	repr := d.batch.Repr()
	delta := repr[d.jlen:]
	b := append(d.jbuf[:0], make([]byte, frameHeader)...)
	b = binary.AppendUvarint(b, d.ckptN)
	b = binary.AppendUvarint(b, uint64(d.batch.Count()))
	b = binary.AppendUvarint(b, uint64(len(meta)))
	b = append(append(b, meta...), delta...)
	if len(b)-frameHeader > math.MaxUint32 {
		return d.fail("write journal", fmt.Errorf("%d bytes flushed at once; checkpoint more often", len(delta)))
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)-frameHeader))
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[frameHeader:], castagnoli))
	if d.jtrunc {
		// Frames a replay refused: a replay must not meet them after the
		// ones written now.
		if err := d.journal.Truncate(d.joff); err != nil {
			return d.fail("write journal", err)
		}
		d.jtrunc = false
	}
	if _, err := d.journal.WriteAt(b, d.joff); err != nil {
		// A part written is a torn frame, which a replay ignores.
		return d.fail("write journal", err)
	}
	d.joff += int64(len(b))
	d.jlen = len(repr)
	d.fmeta = append(d.fmeta[:0], meta...)
	if cap(b) <= 1<<20 {
		d.jbuf = b[:0]
	}
	return nil
}

// commit commits d.batch with a sync. A commit error is fatal to Pebble:
// commit turns its panic (see quietLogger) back into an error. commit
// requires that d.mu is held.
func (d *Frontier) commit() (err error) {
	defer recoverFatal(&err)
	return d.batch.Commit(pebble.Sync)
}

// recoverFatal, deferred, turns a pebbleFatal panic into *err.
func recoverFatal(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(pebbleFatal)
		if !ok {
			panic(r)
		}
		*err = f
	}
}

// Pending returns the size in bytes of the changes made since the last
// checkpoint: what the journal and RAM hold until the next one.
func (d *Frontier) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.batch == nil {
		return 0
	}
	return d.batch.Len()
}

// Replayed returns how many flushes made after the last checkpoint the
// state was reopened with, and how many bytes of the journal after them
// were left out: a write torn by a crash, frames that
// FrontierOptions.AcceptFlush refused or that fail their checksum, or
// frames older than the last checkpoint.
func (d *Frontier) Replayed() (flushes int, dropped int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.replayed, d.dropped
}

// Meta returns the meta of the last Checkpoint, nil for a new state. It
// still answers after Close.
func (d *Frontier) Meta() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return bytes.Clone(d.meta)
}

// FlushMeta returns the meta of the last Flush since the last Checkpoint
// (a replayed one included), nil if there was none. It still answers after
// Close.
func (d *Frontier) FlushMeta() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return bytes.Clone(d.fmeta)
}

// LastCheckpoint returns the time of the last checkpoint (by
// FrontierOptions.Now), zero for a new state. It still answers after Close.
func (d *Frontier) LastCheckpoint() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lastCkpt == 0 {
		return time.Time{}
	}
	return time.Unix(0, d.lastCkpt)
}
