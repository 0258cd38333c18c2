package disk

import (
	"encoding/binary"
	"time"

	"trawl/parse"
	"trawl/store"
)

// diskFormat is the value of the format-version key. A state directory
// with another value is refused with ErrIncompatible.
const diskFormat = "trawl-frontier-1"

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

// seenKey appends the seen-set key of fp to b.
func seenKey(b []byte, fp uint64) []byte {
	return binary.BigEndian.AppendUint64(append(b, tagSeen), fp)
}

func recordKey(b []byte, host string) []byte {
	return append(append(b, tagHost), host...)
}

func freshKey(b []byte, host string, seq uint64) []byte {
	b = appendString(append(b, tagFresh), host)
	return binary.BigEndian.AppendUint64(b, seq)
}

func delayedPrefix(b []byte, host string) []byte {
	return appendString(append(b, tagDelayed), host)
}

func delayedKey(b []byte, host string, at int64, seq uint64) []byte {
	b = binary.BigEndian.AppendUint64(delayedPrefix(b, host), uint64(at)^1<<63)
	return binary.BigEndian.AppendUint64(b, seq)
}

// Outcome kinds stored in a seen key's value once its entry is acked.
const (
	kindFetched = 1
	kindFailed  = 2
	kindSkipped = 3
)

// Flags of a stored entry, in its first byte. A record written before a
// flag existed has it clear, so older records stay readable.
const (
	entrySameKey   = 1 << 0 // Key equals URL and is not stored
	entryRedirects = 1 << 1 // a Redirects varint follows Attempt
	entryKind      = 1 << 2 // a Kind byte follows Redirects
	entryFlags     = entrySameKey | entryRedirects | entryKind
)

// encodeEntry appends e's stored form to b: a flags byte, URL, Key unless
// it equals URL, Depth, Parent, Attempt, Redirects unless it is 0, and
// Kind, one byte, unless it is parse.KindPage (0). Host is in the key.
// A Kind that parse does not define is written too, but does not decode.
func encodeEntry(b []byte, e *store.Entry) []byte {
	same := e.Key == e.URL
	flags := byte(0)
	if same {
		flags |= entrySameKey
	}
	if e.Redirects != 0 {
		flags |= entryRedirects
	}
	if e.Kind != parse.KindPage {
		flags |= entryKind
	}
	b = append(b, flags)
	b = appendString(b, e.URL)
	if !same {
		b = appendString(b, e.Key)
	}
	b = binary.AppendVarint(b, int64(e.Depth))
	b = appendString(b, e.Parent)
	b = binary.AppendVarint(b, int64(e.Attempt))
	if flags&entryRedirects != 0 {
		b = binary.AppendVarint(b, int64(e.Redirects))
	}
	if flags&entryKind != 0 {
		b = append(b, byte(e.Kind))
	}
	return b
}

// decodeEntry decodes an entry of host stored by encodeEntry.
func decodeEntry(b []byte, host string) (store.Entry, error) {
	if len(b) == 0 || b[0]&^entryFlags != 0 {
		return store.Entry{}, corruptf("bad entry record")
	}
	flags := b[0]
	r := reader{b: b[1:]}
	e := store.Entry{Host: host}
	e.URL = r.string()
	if flags&entrySameKey != 0 {
		e.Key = e.URL
	} else {
		e.Key = r.string()
	}
	e.Depth = int(r.varint())
	e.Parent = r.string()
	e.Attempt = int(r.varint())
	if flags&entryRedirects != 0 {
		e.Redirects = int(r.varint())
	}
	if flags&entryKind != 0 {
		e.Kind = parse.Kind(r.byte())
		if !e.Kind.Valid() {
			return store.Entry{}, corruptf("bad entry record: unknown link kind %d", e.Kind)
		}
	}
	if r.err != nil || len(r.b) > 0 {
		return store.Entry{}, corruptf("bad entry record")
	}
	return e, nil
}

// encodeHost appends h's record: the interval given to SetHostInterval
// and the back-off time.
func encodeHost(b []byte, h *host) []byte {
	b = binary.AppendVarint(b, int64(h.Queue.custom))
	return binary.AppendVarint(b, h.Backoff)
}

// decodeHost reads into h a record written by encodeHost.
func decodeHost(h *host, b []byte) error {
	r := reader{b: b}
	h.Queue.custom = time.Duration(r.varint())
	h.Backoff = r.varint()
	if r.err != nil || len(r.b) > 0 {
		return corruptf("bad host record")
	}
	return nil
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
	b = binary.AppendUvarint(b, uint64(d.queued+d.hosts.InFlight()))
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

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// reader decodes varints and strings; the first failure sticks in err.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = ErrCorrupt
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = ErrCorrupt
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
