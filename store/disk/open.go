package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"trawl/store"
	"trawl/store/internal/sched"
)

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

// epochShift places the open epoch in the high bits of lease IDs, so that
// a lease from before a reopen never names a lease handed out after it.
const epochShift = 40

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
		statuses:  make(map[int]int64),
		kbuf:      make([]byte, 0, 256),
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.hosts = sched.NewHosts[queue, leased](sched.Config[queue]{
		Limits: sched.Resolve(
			sched.Limits{PerHost: opts.PerHost, Interval: opts.Interval, TTL: opts.LeaseTTL},
			sched.Limits{PerHost: store.DefaultPerHost, Interval: store.DefaultInterval, TTL: store.DefaultLeaseTTL}),
		Now:    d.now,
		Head:   (*queue).head,
		Forget: d.forget,
	})
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
	d.hosts.SetLastID(epoch << epochShift)
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
		h := d.hosts.Get(string(k[1:])) // new: host records are unique
		if err := decodeHost(h, v); err != nil {
			return nil, fmt.Errorf("host %q: %w", h.Name, err)
		}
		h.Interval = max(h.Interval, h.Queue.custom)
		h.Queue.stored = true
		return nil, nil
	})
	if err != nil {
		return d.openErr(err)
	}
	var fresh, delayed []*host
	for _, tag := range []byte{tagFresh, tagDelayed} {
		err := d.scan([]byte{tag}, func(k, _ []byte) ([]byte, error) {
			name, n := binary.Uvarint(k[1:])
			if n <= 0 || uint64(len(k)-1-n) < name {
				return nil, corruptf("bad queue key %q", k)
			}
			prefix := k[:1+n+int(name)]
			h := d.hosts.Get(string(prefix[1+n:]))
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
		h.Queue.more = true
		if err := d.refill(h); err != nil {
			return d.openErr(err)
		}
	}
	for _, h := range delayed {
		if err := d.loadDelayedHead(h); err != nil {
			return d.openErr(err)
		}
	}
	d.hosts.Resume(now)
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
	d.hosts.Close()
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
