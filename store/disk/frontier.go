// Package disk is trawl's durable frontier: the crawl's queue, seen-set,
// per-URL outcomes, politeness state and robots.txt files in an embedded
// Pebble database in one directory, so that a crawl survives kill -9 and
// resumes where it was, and its memory does not grow with the crawl.
//
// It is its own package so that a program that crawls in memory (trawl/crawler
// with trawl/store) links no database. Most callers use Open and hand the
// Frontier to crawler.Config.NewFrontier.
package disk

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"trawl/store"
	"trawl/store/internal/sched"
)

// Errors of the disk frontier.
var (
	// ErrLocked is returned by Open when another Frontier, in this process
	// or another, has the state directory open.
	ErrLocked = errors.New("store: state directory in use")
	// ErrIncompatible is returned by Open for a directory that is not a
	// trawl state directory, or one written by an incompatible version.
	ErrIncompatible = errors.New("store: not a compatible trawl state directory")
	// ErrCorrupt is returned when a state directory's files are damaged:
	// a checksum mismatch, a truncated file or records that contradict
	// each other. Nothing read from such a state is trusted.
	ErrCorrupt = errors.New("store: state directory corrupted")
	// ErrReadOnly is returned by the methods of a Frontier opened with
	// Options.ReadOnly that would change the state.
	ErrReadOnly = errors.New("store: state opened read-only")
)

// Defaults of Options, used when a field is zero.
const (
	DefaultCacheSize    = 64 << 20
	DefaultMemTableSize = 16 << 20
	DefaultHeadCache    = 1 << 16
	DefaultSeenCache    = 1 << 20
)

// Options configures Open. The zero value is usable: as in
// store.FrontierOptions, zero means the documented default and a negative
// value means off (see the store package doc), except for MemTableSize,
// which cannot be off.
type Options struct {
	store.FrontierOptions
	// CacheSize is the size in bytes of the block cache (index, filter
	// and data blocks read from disk). Zero means DefaultCacheSize
	// (64 MiB); a negative value means no block cache: every block is
	// read from the file system (and its page cache) when needed.
	CacheSize int64
	// MemTableSize is the size in bytes of one memtable (writes not yet in
	// sorted files); at most two are held at once, on top of CacheSize.
	// Zero means DefaultMemTableSize (16 MiB). A store has memtables
	// whatever the options, so a negative value is refused by Open.
	MemTableSize int64
	// HeadCache is about how many queued entries, over all hosts, are
	// kept in RAM from the heads of host queues to make Claim cheap; each
	// known host gets an equal share of it, at least 1 (the next entry of
	// every host with work is always in RAM) and at most 64. Zero means
	// DefaultHeadCache (65,536); a negative value turns the cache off,
	// leaving only each host's next entry in RAM.
	HeadCache int
	// SeenCache is how many fingerprints of seen URLs are kept in RAM
	// (8 bytes each), so that links seen again, the bulk of what a crawl
	// pushes, are dropped without a store read. Zero means
	// DefaultSeenCache (1,048,576: 8 MiB); a negative value turns the
	// cache off.
	SeenCache int
	// ReadOnly opens an existing state to look at it (trawl state)
	// without writing anything to its directory: no file is created,
	// written, truncated or removed, not even the lock file. The journal's
	// flushes since the last checkpoint are replayed in RAM only, as
	// Pebble replays its write-ahead log. Methods that would change the
	// state (Push, MarkSeen, Claim, Ack, Retry, Release, SetHostInterval,
	// Checkpoint, Flush, StoreRobots) return ErrReadOnly; the others
	// answer as they would after a read-write open. A missing directory,
	// or one without a store, is an error wrapping fs.ErrNotExist.
	//
	// Read-only opens take the state's lock shared: they can look at a
	// state together, and while they do a read-write open fails with
	// ErrLocked, as a read-only open does while a read-write one has the
	// state (a crawl in progress). False means read-write.
	ReadOnly bool
}

// Frontier is a crawl frontier kept in an embedded key-value store
// (Pebble) in a directory: the seen-set, the per-host queues, each URL's terminal
// outcome, per-host politeness state and the crawler's checkpoint meta. It
// has the same semantics as store.Memory (see package storetest) and keeps in
// RAM only per-host scheduling state, a bounded window of each host's
// queue head, the live leases and the changes made since the last
// checkpoint.
//
// Changes become durable at Checkpoint, all at once, with a synced write.
// Flush is the cheap step between checkpoints: one unsynced append to a
// journal file, which survives a crash of the process (kill -9) but not
// necessarily of the machine. A reopened state is the last checkpoint plus
// the flushes journaled after it (see store.FrontierOptions.AcceptFlush); a
// crash, or a Close without Checkpoint, loses what was not flushed. Leases
// are not durable: after reopening, entries that were in flight are queued
// again and claimable at once. Callers that stop cleanly call Checkpoint
// and then Close.
//
// A Frontier opened with Options.ReadOnly shows a state without changing
// it, for example while a crawl is stopped.
//
// Use Open; the zero value is not usable. Frontier is safe for concurrent
// use by multiple goroutines: every method takes one mutex, and storage
// reads and the checkpoint's synced write happen under it. After a storage
// error (a failed read, a corrupted record, a failed checkpoint) every
// method but Close returns that error: reopen to continue from the last
// checkpoint and the flushes after it. Pebble's background work treats a failed MANIFEST write as
// fatal: Frontier then panics in that background goroutine (Pebble's own
// default exits the process); the state on disk stays at its last
// checkpoint.
//
// Memory: per-host state for each host with work or whose next-allowed
// time has not passed (an idle host is then forgotten, with its stored
// interval), HeadCache entries, the SeenCache, the live leases, the
// changes since the last checkpoint (so checkpoint regularly), and
// Pebble's block cache and memtables (CacheSize + 2×MemTableSize). With
// the defaults, 10 million URLs over 10,000 hosts run in about 220 MB.
type Frontier struct {
	dir       string
	now       func() time.Time
	headCache int

	readOnly bool
	lockFile *os.File // nil for a read-only open of a state without one
	db       *pebble.DB
	journal  *os.File               // nil for a read-only open of a state without one
	accept   func(meta []byte) bool // FrontierOptions.AcceptFlush

	mu       sync.Mutex
	closed   bool
	err      error                       // first storage error; sticky
	batch    *pebble.Batch               // indexed: every change since the last checkpoint
	meta     []byte                      // of the last checkpoint
	fmeta    []byte                      // of the last flush since then
	hosts    *sched.Hosts[queue, leased] // per-host scheduling and the leases
	seq      uint64                      // next queue key sequence number (persisted)
	queued   int                         // entries in all host queues, delayed ones included
	cachedN  int                         // entries in all host queue-head caches
	seen     int64
	dups     int64
	done     int64
	retries  int64
	fetched  int64
	failed   int64
	skipped  int64
	statuses map[int]int64
	lastCkpt int64  // time of the last checkpoint in Unix nanoseconds, or 0
	ckptN    uint64 // checkpoints made (persisted)
	witness  uint64 // checkpoints made, as the lock file says
	joff     int64  // journal size: where the next frame goes
	jlen     int    // length of the batch's records already in the journal
	jtrunc   bool   // the journal has frames past joff to drop before writing
	replayed int    // flushes replayed when the state was opened
	dropped  int64  // journal bytes after them that were not replayed
	jbuf     []byte // frame scratch; guarded by mu

	seenc seenCache // recently seen fingerprints; guarded by mu

	kbuf, vbuf []byte // scratch for keys and values; guarded by mu
}

// usable returns ErrClosed or the sticky storage error.
// usable requires that d.mu is held.
func (d *Frontier) usable() error {
	if d.closed {
		return store.ErrClosed
	}
	return d.err
}

// writable returns what usable does, or else ErrReadOnly for a read-only
// Frontier: methods that change the state check it. writable requires that
// d.mu is held.
func (d *Frontier) writable() error {
	if err := d.usable(); err != nil {
		return err
	}
	if d.readOnly {
		return ErrReadOnly
	}
	return nil
}

// fail records err, from operation op, as the Frontier's sticky error and
// returns it wrapped with the directory (and with ErrCorrupt if it reports
// damaged data). fail requires that d.mu is held.
func (d *Frontier) fail(op string, err error) error {
	if isCorruption(err) && !errors.Is(err, ErrCorrupt) {
		err = fmt.Errorf("store: state %s: %s: %w: %w", d.dir, op, ErrCorrupt, err)
	} else {
		err = fmt.Errorf("store: state %s: %s: %w", d.dir, op, err)
	}
	if d.err == nil {
		d.err = err
	}
	return err
}

// set writes key=value into the pending batch.
// set requires that d.mu is held.
func (d *Frontier) set(key, value []byte) error {
	if err := d.batch.Set(key, value, nil); err != nil {
		return d.fail("write", err)
	}
	return nil
}

// del deletes key in the pending batch. del requires that d.mu is held.
func (d *Frontier) del(key []byte) error {
	if err := d.batch.Delete(key, nil); err != nil {
		return d.fail("write", err)
	}
	return nil
}

// corruptf returns an error wrapping ErrCorrupt.
func corruptf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, a...)...)
}

// never is the nanosecond time that sorts before every real time (see
// sched.Never).
const never = sched.Never

// nanos converts t to Unix nanoseconds, clamped (see sched.Nanos).
func nanos(t time.Time) int64 { return sched.Nanos(t) }
