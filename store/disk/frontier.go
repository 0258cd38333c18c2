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
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

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

// diskFormat is the value of the format-version key. A state directory
// with another value is refused with ErrIncompatible.
const diskFormat = "trawl-frontier-1"

// lockName is the file in the state directory that Frontier flocks. Pebble
// keeps its own "LOCK" (an fcntl lock, which does not exclude a second
// open from the same process); this one does, and the kernel releases it
// when the process dies.
//
// The file also holds, in decimal, the number of checkpoints made, written
// after each one is durable. A store that holds fewer lost a checkpoint it
// had acknowledged: a damaged write-ahead log or MANIFEST that Pebble
// took for a torn tail, or deleted files. That is reported as ErrCorrupt
// instead of resuming silently from an older state.
const lockName = "trawl.lock"

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

// statusName is the file in the state directory that WriteStatus replaces
// and ReadStatus reads: what a running crawl publishes about itself.
const statusName = "status.json"

// Key layout. Fixed keys are one byte; the others start with a one-byte
// tag. Hosts in queue keys are length-prefixed so that no host's keys
// are a prefix range of another's.
//
//	"v"                                   format version (diskFormat)
//	"e"                                   open epoch (uvarint): high bits of lease IDs
//	"c"                                   counters, written at each checkpoint and flush
//	"m"                                   checkpoint meta (opaque)
//	"f"                                   meta of the last flush since the checkpoint (opaque)
//	"s" fp(8)                             seen key; value empty, or the outcome once acked:
//	                                      kind byte (1 fetched, 2 failed, 3 skipped), varint status
//	"h" host                              host record: SetHostInterval interval, back-off time
//	"b" origin                            robots.txt: fetch time (8, Unix nanoseconds) and body
//	"q" uvarint(len) host seq(8)          fresh entry, in push order (see encodeEntry)
//	"r" uvarint(len) host at(8) seq(8)    retried or expired entry, by not-before time
//	                                      (at is Unix nanoseconds with the sign bit flipped)
//
// Entries in flight keep their queue keys until Ack or Retry deletes them,
// so a reopened state finds them queued. seq numbers come from one counter
// stored in "c".
var (
	keyVersion = []byte("v")
	keyEpoch   = []byte("e")
	keyCounts  = []byte("c")
	keyMeta    = []byte("m")
	keyFlush   = []byte("f")
)

const (
	tagSeen    = 's'
	tagHost    = 'h'
	tagFresh   = 'q'
	tagDelayed = 'r'
)

// Outcome kinds stored in a seen key's value once its entry is acked.
const (
	kindFetched = 1
	kindFailed  = 2
	kindSkipped = 3
)

// epochShift places the open epoch in the high bits of lease IDs, so that
// a lease from before a reopen never names a lease handed out after it.
const epochShift = 40

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
	perHost   int           // resolved: sched.Unlimited for no limit
	interval  time.Duration // resolved: 0 for no spacing
	ttl       time.Duration // resolved: 0 for leases that do not expire
	now       func() time.Time
	headCache int

	readOnly bool
	lockFile *os.File // nil for a read-only open of a state without one
	db       *pebble.DB
	journal  *os.File               // nil for a read-only open of a state without one
	accept   func(meta []byte) bool // FrontierOptions.AcceptFlush

	mu       sync.Mutex
	closed   bool
	err      error         // first storage error; sticky
	batch    *pebble.Batch // indexed: every change since the last checkpoint
	meta     []byte        // of the last checkpoint
	fmeta    []byte        // of the last flush since then
	hosts    map[string]*dhost
	ready    dhostHeap // hosts with queued entries and a free slot, by readyAt
	idle     didleHeap // idle hosts remembered until their next-allowed time passes
	leases   map[uint64]*dlease
	expiry   dleaseHeap
	lastID   uint64 // last lease ID handed out
	tick     uint64 // tie-breaker among hosts ready at the same time
	seq      uint64 // next queue key sequence number (persisted)
	queued   int    // entries in all host queues, delayed ones included
	cachedN  int    // entries in all host queue-head caches
	active   int    // hosts with queued or in-flight entries
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

// Open opens the frontier state in dir, creating dir and an empty
// state if dir does not exist or is empty (unless opts.ReadOnly), and
// configures it with opts (see store.FrontierOptions and Options for
// what zero and negative values mean). It fails with an error wrapping
// ErrLocked if the state is open elsewhere, ErrIncompatible if dir holds
// something else or another format version, and ErrCorrupt if the state
// is damaged; it refuses a negative MemTableSize before touching dir.
//
// FrontierOptions are not stored: the caller passes them on every open.
// Per-host intervals set with SetHostInterval and host back-offs from
// Retry and Release are stored for as long as their host is remembered;
// the time of each host's last claim is not, and a reopened state counts
// it as the open time, so that a host is not hit again too soon after
// requests that the last checkpoint missed.
func Open(dir string, opts Options) (*Frontier, error) {
	d := &Frontier{
		dir:       dir,
		readOnly:  opts.ReadOnly,
		now:       opts.Now,
		headCache: opts.HeadCache,
		accept:    opts.AcceptFlush,
		seenc:     newSeenCache(opts.SeenCache),
		hosts:     make(map[string]*dhost),
		leases:    make(map[uint64]*dlease),
		statuses:  make(map[int]int64),
		kbuf:      make([]byte, 0, 256),
	}
	lim := sched.Resolve(
		sched.Limits{PerHost: opts.PerHost, Interval: opts.Interval, TTL: opts.LeaseTTL},
		sched.Limits{PerHost: store.DefaultPerHost, Interval: store.DefaultInterval, TTL: store.DefaultLeaseTTL})
	d.perHost, d.interval, d.ttl = lim.PerHost, lim.Interval, lim.TTL
	if d.now == nil {
		d.now = time.Now
	}
	switch {
	case d.headCache == 0:
		d.headCache = DefaultHeadCache
	case d.headCache < 0:
		d.headCache = 0 // window and refill keep one entry per host
	}
	if opts.MemTableSize < 0 {
		return nil, fmt.Errorf("store: open state %s: MemTableSize %d is negative: a store cannot do without memtables", dir, opts.MemTableSize)
	}

	existing, err := inspectDir(dir)
	if err != nil {
		return nil, err
	}
	if d.readOnly {
		if !existing {
			return nil, fmt.Errorf("store: open state %s read-only: %w: no store in it", dir, fs.ErrNotExist)
		}
		if err := d.openReadOnly(); err != nil {
			return nil, err
		}
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store: open state %s: %w", dir, err)
		}
		if err := d.lock(); err != nil {
			return nil, err
		}
		if d.journal, err = os.OpenFile(filepath.Join(dir, journalName), os.O_RDWR|os.O_CREATE, 0o644); err != nil {
			d.lockFile.Close()
			return nil, fmt.Errorf("store: open state %s: %w", dir, err)
		}
	}
	if err := d.openDB(existing, opts); err != nil {
		d.closeFiles()
		return nil, err
	}
	err = d.load()
	if err == nil && d.ckptN < d.witness {
		err = fmt.Errorf("store: open state %s: %w: the store holds %d checkpoints of the %d made: files lost or damaged",
			dir, ErrCorrupt, d.ckptN, d.witness)
	}
	if err != nil {
		if d.batch != nil {
			d.batch.Close()
		}
		d.db.Close()
		d.closeFiles()
		return nil, err
	}
	return d, nil
}

// closeFiles closes the journal and the lock file, releasing the lock,
// and returns the first error.
func (d *Frontier) closeFiles() error {
	var err error
	if d.journal != nil {
		err = d.journal.Close()
	}
	if d.lockFile != nil {
		if cerr := d.lockFile.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// inspectDir reports whether dir holds a store, and fails with
// ErrIncompatible if it holds anything else. A missing or empty directory
// is a new state.
func inspectDir(dir string) (existing bool, err error) {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			return false, fmt.Errorf("store: open state %s: %w: not a directory", dir, ErrIncompatible)
		}
		return false, fmt.Errorf("store: open state %s: %w", dir, err)
	}
	var other []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == lockName || name == journalName || name == statusName || name == statusName+".tmp":
		case name == "CURRENT" || strings.HasPrefix(name, "MANIFEST-") ||
			strings.HasPrefix(name, "marker.") || strings.HasPrefix(name, "OPTIONS-"):
			existing = true
		default:
			other = append(other, name)
		}
	}
	if !existing && len(other) > 0 {
		if len(other) > 3 {
			other = append(other[:3], "...")
		}
		return false, fmt.Errorf("store: open state %s: %w: it holds %s and no store",
			dir, ErrIncompatible, strings.Join(other, ", "))
	}
	return existing, nil
}

// lock takes the flock on the state directory's lock file, creating it.
func (d *Frontier) lock() error {
	f, err := os.OpenFile(filepath.Join(d.dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("store: open state %s: %w", d.dir, err)
	}
	return d.lockFrom(f, syscall.LOCK_EX)
}

// lockFrom takes the flock how (LOCK_EX or LOCK_SH) on f, the lock file,
// and reads the checkpoint witness from it. It keeps f as d.lockFile, or
// closes it on failure.
func (d *Frontier) lockFrom(f *os.File, how int) error {
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("store: open state %s: %w", d.dir, ErrLocked)
		}
		return fmt.Errorf("store: open state %s: lock: %w", d.dir, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		f.Close()
		return fmt.Errorf("store: open state %s: %w", d.dir, err)
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		if d.witness, err = strconv.ParseUint(s, 10, 64); err != nil {
			f.Close()
			return fmt.Errorf("store: open state %s: %w: bad %s", d.dir, ErrCorrupt, lockName)
		}
	}
	d.lockFile = f
	return nil
}

// openDB opens the Pebble store in d.dir.
func (d *Frontier) openDB(existing bool, opts Options) error {
	cacheSize := opts.CacheSize
	switch {
	case cacheSize == 0:
		cacheSize = DefaultCacheSize
	case cacheSize < 0:
		cacheSize = 0 // only the memtables' share, below
	}
	memTable := opts.MemTableSize // not negative: see Open
	if memTable == 0 {
		memTable = DefaultMemTableSize
	}
	// Memtables take their memory out of the block cache's budget (Pebble
	// reserves it there): add room for them, or blocks find none.
	cache := pebble.NewCache(cacheSize + 2*memTable)
	defer cache.Unref()
	po := &pebble.Options{
		Cache:                       cache,
		MemTableSize:                uint64(memTable),
		MemTableStopWritesThreshold: 2,
		FormatMajorVersion:          pebble.FormatValueSeparation,
		ErrorIfNotExists:            existing,
		ReadOnly:                    d.readOnly,
		Logger:                      quietLogger{},
		// Pebble's default is to log corruption as fatal; the reader that
		// meets it gets the error, wrapped with ErrCorrupt, instead.
		EventListener: &pebble.EventListener{DataCorruption: func(pebble.DataCorruptionInfo) {}},
	}
	for i := range po.Levels {
		// Without Bloom filters every seen-set lookup of a new key
		// descends all levels; with them Push runs several times faster.
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	if d.readOnly {
		// Pebble's ReadOnly still creates and truncates its LOCK file and
		// takes a write lock on it: see readOnlyFS.
		po.FS = readOnlyFS{vfs.Default}
	}
	db, err := pebble.Open(d.dir, po)
	if err != nil {
		switch {
		case errors.Is(err, pebble.ErrDBDoesNotExist):
			return fmt.Errorf("store: open state %s: %w: %v", d.dir, ErrIncompatible, err)
		case errors.Is(err, syscall.EAGAIN) || strings.Contains(err.Error(), "lock held by current process"):
			// Pebble's own lock: something other than a Frontier has the store open.
			return fmt.Errorf("store: open state %s: %w: %v", d.dir, ErrLocked, err)
		case isCorruption(err):
			return fmt.Errorf("store: open state %s: %w: %w", d.dir, ErrCorrupt, err)
		}
		return fmt.Errorf("store: open state %s: %w", d.dir, err)
	}
	d.db = db
	return nil
}

// isCorruption reports whether a Pebble error means damaged files: a
// checksum mismatch, or a table whose size differs from the one the
// MANIFEST recorded (truncation), or a table the MANIFEST names that is
// missing.
func isCorruption(err error) bool {
	if errors.Is(err, pebble.ErrCorruption) || errors.Is(err, fs.ErrNotExist) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "size mismatch") || strings.Contains(msg, "corrupt") ||
		strings.Contains(msg, "malformed")
}

// load checks the format version, initializes a new store, and reads the
// counters, meta and host records into memory. It creates d.batch. A
// read-only open writes nothing: it takes a store that a crash left
// without its first records for an empty state.
func (d *Frontier) load() error {
	version, err := d.dbGet(keyVersion)
	if err != nil {
		return d.openErr(err)
	}
	epochRaw, err := d.dbGet(keyEpoch)
	if err != nil {
		return d.openErr(err)
	}
	init := d.db.NewBatch()
	defer init.Close()
	switch {
	case version == nil:
		empty, err := d.dbEmpty()
		if err != nil {
			return d.openErr(err)
		}
		if !empty {
			return fmt.Errorf("store: open state %s: %w: a key-value store without a trawl format version", d.dir, ErrIncompatible)
		}
		init.Set(keyVersion, []byte(diskFormat), nil)
		init.Set(keyCounts, d.encodeCounts(nil), nil)
	case string(version) != diskFormat:
		return fmt.Errorf("store: open state %s: %w: format %q, want %q", d.dir, ErrIncompatible, version, diskFormat)
	}
	var epoch uint64
	if epochRaw != nil {
		var n int
		if epoch, n = binary.Uvarint(epochRaw); n <= 0 {
			return d.openErr(corruptf("bad epoch record"))
		}
	}
	epoch++
	d.lastID = epoch << epochShift
	init.Set(keyEpoch, binary.AppendUvarint(nil, epoch), nil)
	if !d.readOnly {
		if err := init.Commit(pebble.Sync); err != nil {
			return d.openErr(err)
		}
	}

	// From here on reads go through the pending batch, which the journal
	// may refill with changes made after the last checkpoint.
	d.batch = d.db.NewIndexedBatch()
	counts, err := d.dbGet(keyCounts)
	if err != nil {
		return d.openErr(err)
	}
	if counts != nil || !d.readOnly {
		if err := d.decodeCounts(counts); err != nil {
			return d.openErr(err)
		}
	}
	if err := d.replay(); err != nil {
		return d.openErr(err)
	}
	if d.replayed > 0 {
		if counts, err = d.dbGet(keyCounts); err != nil {
			return d.openErr(err)
		}
		d.statuses = make(map[int]int64)
		if err := d.decodeCounts(counts); err != nil {
			return d.openErr(err)
		}
	}
	if d.meta, err = d.dbGet(keyMeta); err != nil {
		return d.openErr(err)
	}
	if d.fmeta, err = d.dbGet(keyFlush); err != nil {
		return d.openErr(err)
	}
	return d.loadHosts()
}

// replay reads the journal and puts into d.batch the changes of the
// flushes made after the last checkpoint, up to the first that is torn,
// damaged, older, or refused by d.accept. It leaves the file as it is:
// the next Flush or Checkpoint drops the frames it did not keep.
func (d *Frontier) replay() error {
	d.jlen = batchrepr.HeaderLen
	if d.journal == nil {
		return nil // read-only, and no journal was ever written
	}
	fi, err := d.journal.Stat()
	if err != nil {
		return err
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(io.NewSectionReader(d.journal, 0, fi.Size()), data); err != nil {
		return err
	}
	var (
		off    int
		count  uint64
		deltas [][]byte
	)
	for len(data)-off >= frameHeader {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		if n > len(data)-off-frameHeader {
			break // the write that a crash cut short
		}
		p := data[off+frameHeader : off+frameHeader+n]
		if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(data[off+4:]) {
			break
		}
		r := reader{b: p}
		gen, cnt, mlen := r.uvarint(), r.uvarint(), r.uvarint()
		if r.err != nil || mlen > uint64(len(r.b)) {
			return corruptf("bad journal frame at %d", off)
		}
		meta, delta := r.b[:mlen], r.b[mlen:]
		if gen != d.ckptN {
			break // written before the last checkpoint, which holds it
		}
		if d.accept != nil && !d.accept(meta) {
			break
		}
		deltas = append(deltas, delta)
		count = cnt
		off += frameHeader + n
	}
	d.joff, d.jtrunc = int64(off), off < len(data)
	d.dropped = int64(len(data) - off)
	if len(deltas) == 0 {
		return nil
	}
	size := batchrepr.HeaderLen
	for _, b := range deltas {
		size += len(b)
	}
	repr := make([]byte, batchrepr.HeaderLen, size)
	for _, b := range deltas {
		repr = append(repr, b...)
	}
	batchrepr.SetCount(repr, uint32(count))
	b := d.db.NewBatch()
	defer b.Close()
	if err := b.SetRepr(repr); err != nil {
		return corruptf("journal: %v", err)
	}
	if err := d.batch.Apply(b, nil); err != nil {
		return corruptf("journal: %v", err)
	}
	if d.jlen = len(d.batch.Repr()); d.jlen != size {
		return corruptf("journal: replayed %d bytes of records, want %d", d.jlen, size)
	}
	d.replayed = len(deltas)
	return nil
}

// loadHosts rebuilds the per-host state: host records (intervals set by
// SetHostInterval, back-offs), then the hosts that have fresh or delayed
// entries, found by skipping from host to host through the queue keys.
// Entries that were in flight at the last checkpoint are queued again.
//
// A host's last claim time is not stored: a reopened state takes the
// open time as every host's last claim, so a host whose requests just
// before a crash were not checkpointed is not hit again too soon. A host
// with a record and no work is then idle: it is forgotten, and its record
// deleted, once its next-allowed time (the open time plus its interval,
// or its back-off) has passed.
func (d *Frontier) loadHosts() error {
	now := nanos(d.now())
	err := d.scan([]byte{tagHost}, func(k, v []byte) ([]byte, error) {
		h := d.newHost(string(k[1:]))
		if err := h.decode(v); err != nil {
			return nil, fmt.Errorf("host %q: %w", h.name, err)
		}
		h.interval = max(d.interval, h.custom)
		h.stored = true
		return nil, nil
	})
	if err != nil {
		return d.openErr(err)
	}
	var fresh, delayed []*dhost
	for _, tag := range []byte{tagFresh, tagDelayed} {
		err := d.scan([]byte{tag}, func(k, _ []byte) ([]byte, error) {
			name, n := binary.Uvarint(k[1:])
			if n <= 0 || uint64(len(k)-1-n) < name {
				return nil, corruptf("bad queue key %q", k)
			}
			prefix := k[:1+n+int(name)]
			h := d.host(string(prefix[1+n:]))
			if tag == tagFresh {
				fresh = append(fresh, h)
			} else {
				delayed = append(delayed, h)
			}
			// Skip the rest of this host's keys.
			return append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, 17)...), nil
		})
		if err != nil {
			return d.openErr(err)
		}
	}
	// Read queue heads once every host is known, so that the head cache
	// is shared out fairly.
	for _, h := range fresh {
		h.more = true
		if err := d.refill(h); err != nil {
			return d.openErr(err)
		}
	}
	for _, h := range delayed {
		if err := d.loadDelayedHead(h); err != nil {
			return d.openErr(err)
		}
	}
	for _, h := range d.hosts {
		h.last = now
		d.refresh(h)
		d.park(h)
	}
	return nil
}

// scan calls f for each key starting with prefix, in order, pending
// changes included.
// When f returns a non-nil key, the scan goes on from that key.
func (d *Frontier) scan(prefix []byte, f func(k, v []byte) ([]byte, error)) error {
	upper := append(bytes.Clone(prefix[:len(prefix)-1]), prefix[len(prefix)-1]+1)
	it, err := d.batch.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		seek, err := f(it.Key(), v)
		if err != nil {
			it.Close()
			return err
		}
		if seek != nil {
			ok = it.SeekGE(seek)
		} else {
			ok = it.Next()
		}
	}
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d *Frontier) openErr(err error) error {
	if isCorruption(err) && !errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("store: open state %s: %w: %w", d.dir, ErrCorrupt, err)
	}
	return fmt.Errorf("store: open state %s: %w", d.dir, err)
}

// dbGet returns a copy of key's value, nil if absent: committed, or
// pending once d.batch exists.
func (d *Frontier) dbGet(key []byte) ([]byte, error) {
	get := d.db.Get
	if d.batch != nil {
		get = d.batch.Get
	}
	v, closer, err := get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// dbEmpty reports whether the store holds no key.
func (d *Frontier) dbEmpty() (bool, error) {
	it, err := d.db.NewIter(nil)
	if err != nil {
		return false, err
	}
	empty := !it.First()
	if err := it.Error(); err != nil {
		it.Close()
		return false, err
	}
	return empty, it.Close()
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
	d.forgetIdle(nanos(d.now()))
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
		h := d.host(e.Host)
		seq := d.seq
		d.seq++
		d.vbuf = encodeEntry(d.vbuf[:0], e)
		if err := d.set(h.freshKey(d.kbuf[:0], seq), d.vbuf); err != nil {
			return added, err
		}
		// Keep the entry in RAM too if it is next in line (the cache holds
		// the queue's head) and there is room; the first always goes in.
		switch n := h.cached(); {
		case n == 0:
			h.cache = append(h.cache, cached{seq: seq, e: *e})
			d.cachedN++
			d.refresh(h) // the host may have gained work or an earlier ready time
		case !h.more && n < d.window() && d.cachedN < d.headCache:
			h.cache = append(h.cache, cached{seq: seq, e: *e})
			d.cachedN++
		case !h.more:
			h.more, h.next = true, seq
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
	d.forgetIdle(now)
	if max <= 0 {
		return nil, time.Time{}, nil
	}
	for len(leases) < max && len(d.ready) > 0 {
		h := d.ready[0]
		if h.readyAt > now {
			break
		}
		if leases == nil {
			leases = make([]store.Lease, 0, sched.ClaimCap(max, d.queued, len(d.ready), d.perHost))
		}
		d.lastID++
		l := &dlease{host: h, exp: sched.Expiry(now, d.ttl)}
		l.ID = d.lastID
		if d.ttl > 0 {
			l.Expires = nowT.Add(d.ttl)
		}
		l.Interval = h.interval
		if err := d.pop(h, now, l); err != nil {
			return nil, time.Time{}, err
		}
		d.leases[l.ID] = l
		heap.Push(&d.expiry, l)
		d.queued--
		h.last = now
		d.tick++
		h.tick = d.tick
		d.refresh(h)
		leases = append(leases, l.Lease)
	}
	if len(leases) < max {
		wake := int64(math.MaxInt64)
		if len(d.ready) > 0 {
			wake = d.ready[0].readyAt
		}
		if len(d.expiry) > 0 {
			wake = min(wake, d.expiry[0].exp) // sched.NoExpiry is MaxInt64: no wake
		}
		if wake != math.MaxInt64 {
			next = nowT.Add(time.Duration(wake - now))
		}
	}
	return leases, next, nil
}

// pop moves the entry to claim next from h's queues into l and files l
// among h's in-flight leases: a due delayed entry, else the oldest fresh
// one. h must have one (h.readyAt <= now). pop requires that d.mu is held.
func (d *Frontier) pop(h *dhost, now int64, l *dlease) error {
	if h.hasD && h.dhead.at <= now {
		l.Entry, l.fromR, l.at, l.seq = h.dhead.e, true, h.dhead.at, h.dhead.seq
		h.inflight = append(h.inflight, l)
		h.hasD, h.dhead = false, delayed{}
		return d.loadDelayedHead(h)
	}
	c := h.cache[h.ch]
	h.cache[h.ch] = cached{} // let the strings go
	h.ch++
	d.cachedN--
	l.Entry, l.seq = c.e, c.seq
	h.inflight = append(h.inflight, l)
	if h.ch < len(h.cache) {
		return nil
	}
	h.cache, h.ch = h.cache[:0], 0
	if cap(h.cache) > 2*d.window() {
		h.cache = nil
	}
	if h.more {
		return d.refill(h)
	}
	return nil
}

// refill reads the next entries of h's fresh queue, those from h.next on,
// into h.cache, which must be empty, and clears h.more if it reaches the
// end. refill requires that d.mu is held.
func (d *Frontier) refill(h *dhost) error {
	want := max(min(d.window(), d.headCache-d.cachedN), 1)
	lower := h.freshKey(nil, h.next)
	upper := h.freshKey(nil, math.MaxUint64)
	it, err := d.batch.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return d.fail("read queue of "+h.name, err)
	}
	got := 0
	ok := it.First()
	for ; ok && got < want; ok = it.Next() {
		k := it.Key()
		seq := binary.BigEndian.Uint64(k[len(k)-8:])
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return d.fail("read queue of "+h.name, err)
		}
		e, err := decodeEntry(v, h.name)
		if err != nil {
			it.Close()
			return d.fail("read queue of "+h.name, err)
		}
		h.cache = append(h.cache, cached{seq: seq, e: e})
		h.next = seq + 1
		got++
	}
	d.cachedN += got
	h.more = ok // there is a key after the ones read
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return d.fail("read queue of "+h.name, err)
	}
	return nil
}

// loadDelayedHead reads the earliest delayed entry of h that is not in
// flight, if any, into h.dhead. loadDelayedHead requires that d.mu is held.
func (d *Frontier) loadDelayedHead(h *dhost) error {
	lower := h.delayedPrefix(nil)
	upper := append(bytes.Clone(lower), bytes.Repeat([]byte{0xff}, 16)...)
	it, err := d.batch.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return d.fail("read retries of "+h.name, err)
	}
scan:
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(lower)+16 {
			it.Close()
			return d.fail("read retries of "+h.name, corruptf("bad key %q", k))
		}
		seq := binary.BigEndian.Uint64(k[len(k)-8:])
		for _, l := range h.inflight {
			if l.fromR && l.seq == seq {
				continue scan
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return d.fail("read retries of "+h.name, err)
		}
		e, err := decodeEntry(v, h.name)
		if err != nil {
			it.Close()
			return d.fail("read retries of "+h.name, err)
		}
		at := int64(binary.BigEndian.Uint64(k[len(lower):]) ^ 1<<63)
		h.dhead, h.hasD = delayed{at: at, seq: seq, e: e}, true
		break
	}
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return d.fail("read retries of "+h.name, err)
	}
	return nil
}

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
	if err := d.set(seenKey(d.kbuf[:0], store.Fingerprint(rec.Key)), d.vbuf); err != nil {
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
	if at := nanos(o.HostBackoff); at > rec.host.backoff {
		rec.host.backoff = at
		if err := d.putHost(rec.host); err != nil {
			return err
		}
	}
	d.refresh(rec.host)
	d.park(rec.host)
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
	e := rec.Entry
	if attempt {
		e.Attempt++
	}
	at := nanos(notBefore)
	h := rec.host
	if err := d.delay(h, &e, at); err != nil {
		return err
	}
	if attempt {
		d.retries++
	}
	if hostBackoff && at > h.backoff {
		h.backoff = at
		if err := d.putHost(h); err != nil {
			return err
		}
	}
	d.refresh(h)
	return nil
}

// delay queues e on h's delayed queue, not claimable before at.
// delay requires that d.mu is held; the caller must refresh h.
func (d *Frontier) delay(h *dhost, e *store.Entry, at int64) error {
	seq := d.seq
	d.seq++
	d.vbuf = encodeEntry(d.vbuf[:0], e)
	if err := d.set(h.delayedKey(d.kbuf[:0], at, seq), d.vbuf); err != nil {
		return err
	}
	if !h.hasD || at < h.dhead.at || (at == h.dhead.at && seq < h.dhead.seq) {
		h.dhead, h.hasD = delayed{at: at, seq: seq, e: *e}, true
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
	d.forgetIdle(nanos(d.now()))
	h, ok := d.hosts[host]
	if !ok {
		return nil // nothing to space from: see Memory.SetHostInterval
	}
	h.interval, h.custom = max(iv, d.interval), iv
	if err := d.putHost(h); err != nil {
		return err
	}
	if h.idleIdx >= 0 {
		heap.Remove(&d.idle, h.idleIdx)
	}
	d.refresh(h)
	d.park(h)
	return nil
}

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
		InFlight:   len(d.leases),
		Seen:       d.seen,
		Duplicates: d.dups,
		Done:       d.done,
		Retries:    d.retries,
		Hosts:      d.active,
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

// LoadRobots returns the robots.txt body kept for origin and when it was
// fetched (see fetch.RobotsCache); ok is false if none is kept or the
// store has failed.
func (d *Frontier) LoadRobots(origin string) (body []byte, fetched time.Time, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.usable() != nil {
		return nil, time.Time{}, false
	}
	v, closer, err := d.batch.Get(append(append(d.kbuf[:0], 'b'), origin...))
	if err != nil {
		if !errors.Is(err, pebble.ErrNotFound) {
			_ = d.fail("read robots.txt", err) // sticky: every later call reports it
		}
		return nil, time.Time{}, false
	}
	defer closer.Close()
	if len(v) < 8 {
		_ = d.fail("read robots.txt", corruptf("bad robots.txt record of %q", origin))
		return nil, time.Time{}, false
	}
	return bytes.Clone(v[8:]), time.Unix(0, int64(binary.BigEndian.Uint64(v))), true
}

// StoreRobots keeps origin's robots.txt body, fetched at fetched, with the
// next checkpoint (see fetch.RobotsCache).
func (d *Frontier) StoreRobots(origin string, body []byte, fetched time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return err
	}
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(body)), uint64(fetched.UnixNano()))
	return d.set(append([]byte{'b'}, origin...), append(v, body...))
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
	trimMalloc() // some 10 µs; see disk_trim_cgo.go
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

// Close discards the changes made since the last Checkpoint or Flush
// (callers that stop cleanly Checkpoint first), closes the store and
// releases the state directory's lock; a read-only Frontier writes nothing.
// Every later call but Outcomes, Statuses, Meta, FlushMeta, Replayed and
// LastCheckpoint returns ErrClosed, Close included.
func (d *Frontier) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return store.ErrClosed
	}
	d.closed = true
	err := d.batch.Close()
	if cerr := d.closeDB(); err == nil {
		err = cerr
	}
	if cerr := d.closeFiles(); err == nil {
		err = cerr
	}
	d.batch, d.db = nil, nil
	d.hosts, d.leases = nil, nil
	d.ready, d.idle, d.expiry = nil, nil, nil
	if err != nil {
		return fmt.Errorf("store: close state %s: %w", d.dir, err)
	}
	return nil
}

// closeDB closes the Pebble store, which may find it cannot after a
// failed commit.
func (d *Frontier) closeDB() (err error) {
	defer recoverFatal(&err)
	return d.db.Close()
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

// window is how many entries of a host's queue head to keep in RAM.
// window requires that d.mu is held.
func (d *Frontier) window() int {
	return min(max(d.headCache/max(len(d.hosts), 1), 1), 64)
}

// host returns the state of the named host, creating it.
// host requires that d.mu is held.
func (d *Frontier) host(name string) *dhost {
	h, ok := d.hosts[name]
	if !ok {
		h = d.newHost(name)
	}
	return h
}

func (d *Frontier) newHost(name string) *dhost {
	d.tick++
	h := &dhost{name: name, interval: d.interval, last: never, backoff: never, idx: -1, idleIdx: -1, tick: d.tick}
	d.hosts[name] = h
	return h
}

// putHost writes h's record: its SetHostInterval interval and back-off.
// putHost requires that d.mu is held.
func (d *Frontier) putHost(h *dhost) error {
	h.stored = true
	return d.set(h.recordKey(d.kbuf[:0]), h.encode(d.vbuf[:0]))
}

// refresh re-files h after its queues, in-flight count or times changed,
// as Memory.refresh does. refresh requires that d.mu is held.
func (d *Frontier) refresh(h *dhost) {
	pending := h.cached() > 0 || h.hasD
	if act := pending || len(h.inflight) > 0; act != h.active {
		h.active = act
		if act {
			d.active++
			if h.idleIdx >= 0 {
				heap.Remove(&d.idle, h.idleIdx)
			}
		} else {
			d.active--
		}
	}
	if !pending || len(h.inflight) >= d.perHost {
		if h.idx >= 0 {
			heap.Remove(&d.ready, h.idx)
		}
		return
	}
	h.readyAt = h.nextAllowed()
	if h.cached() == 0 {
		h.readyAt = max(h.readyAt, h.dhead.at)
	}
	if h.idx < 0 {
		heap.Push(&d.ready, h)
	} else {
		heap.Fix(&d.ready, h.idx)
	}
}

// park files h, if it has no work, for forgetting, as Memory.park does:
// a raised interval is forgotten with the host, and its record deleted.
// park requires that d.mu is held.
func (d *Frontier) park(h *dhost) {
	if h.active || h.idleIdx >= 0 {
		return
	}
	if at := h.nextAllowed(); at > nanos(d.now()) {
		h.idleAt = at
		heap.Push(&d.idle, h)
		return
	}
	d.forget(h)
}

// forget drops h from memory and its record from the store.
// forget requires that d.mu is held.
func (d *Frontier) forget(h *dhost) {
	delete(d.hosts, h.name)
	if h.stored {
		h.stored = false
		d.del(h.recordKey(d.kbuf[:0])) // a failure is sticky in d.err
	}
}

// settle ends the lease l names, freeing its host slot and deleting its
// queue key; the caller must refresh the host. It returns ErrStaleLease if
// l is not a live lease. settle requires that d.mu is held.
func (d *Frontier) settle(l store.Lease) (*dlease, error) {
	rec, ok := d.leases[l.ID]
	if !ok || rec.Key != l.Key {
		return nil, store.ErrStaleLease
	}
	delete(d.leases, l.ID)
	heap.Remove(&d.expiry, rec.idx)
	rec.host.dropInflight(rec)
	if err := d.del(rec.key(d.kbuf[:0])); err != nil {
		return nil, err
	}
	return rec, nil
}

// reap queues again the entries of leases expired at now, ahead of their
// hosts' fresh entries. reap requires that d.mu is held.
func (d *Frontier) reap(now int64) error {
	for len(d.expiry) > 0 && sched.Expired(d.expiry[0].exp, now) {
		rec := heap.Pop(&d.expiry).(*dlease)
		delete(d.leases, rec.ID)
		h := rec.host
		h.dropInflight(rec)
		if err := d.del(rec.key(d.kbuf[:0])); err != nil {
			return err
		}
		if err := d.delay(h, &rec.Entry, never); err != nil {
			return err
		}
		d.refresh(h)
	}
	return nil
}

// forgetIdle drops idle hosts whose next-allowed time has passed.
// forgetIdle requires that d.mu is held.
func (d *Frontier) forgetIdle(now int64) {
	for len(d.idle) > 0 && d.idle[0].idleAt <= now {
		d.forget(heap.Pop(&d.idle).(*dhost))
	}
}

// encodeCounts appends the counters record to b.
func (d *Frontier) encodeCounts(b []byte) []byte {
	for _, v := range []int64{d.seen, d.dups, d.done, d.retries, d.fetched, d.failed, d.skipped} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = binary.AppendUvarint(b, d.seq)
	b = binary.AppendVarint(b, d.lastCkpt)
	b = binary.AppendUvarint(b, d.ckptN)
	// In-flight entries are queued again in a reopened state.
	b = binary.AppendUvarint(b, uint64(d.queued+len(d.leases)))
	b = binary.AppendUvarint(b, uint64(len(d.statuses)))
	for s, n := range d.statuses {
		b = binary.AppendVarint(b, int64(s))
		b = binary.AppendUvarint(b, uint64(n))
	}
	return b
}

// decodeCounts reads the counters record.
func (d *Frontier) decodeCounts(b []byte) error {
	r := reader{b: b}
	for _, p := range []*int64{&d.seen, &d.dups, &d.done, &d.retries, &d.fetched, &d.failed, &d.skipped} {
		*p = int64(r.uvarint())
	}
	d.seq = r.uvarint()
	d.lastCkpt = r.varint()
	d.ckptN = r.uvarint()
	d.queued = int(r.uvarint())
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		s := r.varint()
		d.statuses[int(s)] = int64(r.uvarint())
	}
	if r.err != nil || len(r.b) > 0 {
		return corruptf("bad counters record")
	}
	return nil
}

// quietLogger drops Pebble's informational and error logs (library code
// does not print; errors that matter reach the caller through returned
// errors) and panics with a pebbleFatal on fatal ones, which Pebble does
// not survive. Pebble's own default exits the process.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, a ...any) {
	panic(pebbleFatal{msg: fmt.Sprintf(format, a...), args: a})
}

// pebbleFatal is the panic value of quietLogger.Fatalf. A commit that
// fails (a full disk, an I/O error writing the log) is fatal to Pebble:
// Checkpoint recovers it and returns it as an error.
type pebbleFatal struct {
	msg  string
	args []any
}

func (f pebbleFatal) Error() string { return f.msg }

// Unwrap returns the error among the arguments, so that errors.Is finds
// the cause (syscall.ENOSPC, for example).
func (f pebbleFatal) Unwrap() error {
	for _, a := range f.args {
		if err, ok := a.(error); ok {
			return err
		}
	}
	return nil
}

// corruptf returns an error wrapping ErrCorrupt.
func corruptf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, a...)...)
}

// seenKey appends the seen-set key of fp to b.
func seenKey(b []byte, fp uint64) []byte {
	return binary.BigEndian.AppendUint64(append(b, tagSeen), fp)
}

// dhost is the politeness state of one host and the in-RAM part of its
// queues. Its fields are guarded by Frontier.mu.
type dhost struct {
	name string

	// The fresh queue: cache[ch:] are its first entries in push order;
	// the cache is empty only if the queue is. If more, there may be
	// others: the fresh queue keys from next on.
	cache []cached
	ch    int
	more  bool
	next  uint64

	// The delayed queue: if hasD, its earliest entry not in flight is
	// dhead; there may be others on disk.
	hasD  bool
	dhead delayed

	inflight []*dlease
	interval time.Duration // least spacing between claims
	custom   time.Duration // the interval given to SetHostInterval, or 0 (stored)
	last     int64         // time of the last claim, or never
	backoff  int64         // no claim before this time (Retry hostBackoff), or never (stored)
	active   bool          // counted in Frontier.active
	readyAt  int64         // key in Frontier.ready
	tick     uint64        // tie-breaker in Frontier.ready: lower was served earlier
	idx      int           // index in Frontier.ready, or -1
	idleAt   int64         // key in Frontier.idle
	idleIdx  int           // index in Frontier.idle, or -1
	stored   bool          // a host record exists in the store or the pending batch
}

// delayed is a retried or reaped entry that may not be claimed before at,
// and its queue key's sequence number.
type delayed struct {
	at  int64
	seq uint64
	e   store.Entry
}

// never is the nanosecond time that sorts before every real time (see
// sched.Never).
const never = sched.Never

// nanos converts t to Unix nanoseconds, clamped (see sched.Nanos).
func nanos(t time.Time) int64 { return sched.Nanos(t) }

// castagnoli is the CRC-32C table of journal frames.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cached is a fresh entry held in RAM and its queue key's sequence number.
type cached struct {
	seq uint64
	e   store.Entry
}

func (h *dhost) cached() int { return len(h.cache) - h.ch }

// nextAllowed is the earliest time h may be claimed from again, never if
// nothing limits it.
func (h *dhost) nextAllowed() int64 {
	at := h.backoff
	if h.last != never {
		at = max(at, h.last+int64(h.interval))
	}
	return at
}

func (h *dhost) dropInflight(l *dlease) {
	for i, x := range h.inflight {
		if x == l {
			last := len(h.inflight) - 1
			h.inflight[i] = h.inflight[last]
			h.inflight[last] = nil
			h.inflight = h.inflight[:last]
			return
		}
	}
}

func (h *dhost) recordKey(b []byte) []byte {
	return append(append(b, tagHost), h.name...)
}

func (h *dhost) freshKey(b []byte, seq uint64) []byte {
	b = appendString(append(b, tagFresh), h.name)
	return binary.BigEndian.AppendUint64(b, seq)
}

func (h *dhost) delayedPrefix(b []byte) []byte {
	return appendString(append(b, tagDelayed), h.name)
}

func (h *dhost) delayedKey(b []byte, at int64, seq uint64) []byte {
	b = binary.BigEndian.AppendUint64(h.delayedPrefix(b), uint64(at)^1<<63)
	return binary.BigEndian.AppendUint64(b, seq)
}

// encode appends h's record: the interval given to SetHostInterval and
// the back-off time.
func (h *dhost) encode(b []byte) []byte {
	b = binary.AppendVarint(b, int64(h.custom))
	return binary.AppendVarint(b, h.backoff)
}

// decode reads a record written by encode.
func (h *dhost) decode(b []byte) error {
	r := reader{b: b}
	h.custom = time.Duration(r.varint())
	h.backoff = r.varint()
	if r.err != nil || len(r.b) > 0 {
		return corruptf("bad host record")
	}
	return nil
}

// dlease is a live lease and where it is filed.
type dlease struct {
	store.Lease
	host  *dhost
	exp   int64 // Expires in Unix nanoseconds: key in Frontier.expiry
	idx   int   // index in Frontier.expiry
	fromR bool  // the entry came from the delayed queue (key at, seq)
	at    int64
	seq   uint64
}

// key appends the queue key the leased entry still has on disk.
func (l *dlease) key(b []byte) []byte {
	if l.fromR {
		return l.host.delayedKey(b, l.at, l.seq)
	}
	return l.host.freshKey(b, l.seq)
}

// dhostHeap orders hosts by ready time, then by when they became ready.
type dhostHeap = sched.Heap[*dhost, dreadyOrder]

type dreadyOrder struct{}

func (dreadyOrder) Less(a, b *dhost) bool {
	if a.readyAt != b.readyAt {
		return a.readyAt < b.readyAt
	}
	return a.tick < b.tick
}
func (dreadyOrder) Index(h *dhost) *int { return &h.idx }

// didleHeap orders idle hosts by the time they may be forgotten.
type didleHeap = sched.Heap[*dhost, didleOrder]

type didleOrder struct{}

func (didleOrder) Less(a, b *dhost) bool { return a.idleAt < b.idleAt }
func (didleOrder) Index(h *dhost) *int   { return &h.idleIdx }

// dleaseHeap orders live leases by expiry.
type dleaseHeap = sched.Heap[*dlease, dexpiryOrder]

type dexpiryOrder struct{}

func (dexpiryOrder) Less(a, b *dlease) bool {
	if a.exp != b.exp {
		return a.exp < b.exp
	}
	return a.ID < b.ID
}
func (dexpiryOrder) Index(l *dlease) *int { return &l.idx }
