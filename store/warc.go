package store

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"
	"github.com/nlnwa/gowarc/v3"

	"trawl/fetch"
)

// DefaultWARCMaxSize is the size at which a WARC file is closed and the
// next one started, when WARCOptions.MaxSize is zero: 1 GiB, near the
// 1 GB that Heritrix writes by default.
const DefaultWARCMaxSize = 1 << 30

// warcIndexMax is how many payload digests a WARC keeps in memory to
// write revisit records (see WARCOptions.NoDedup).
const warcIndexMax = 1 << 20

// WARCOptions configures a WARC writer. The zero value is usable.
type WARCOptions struct {
	// MaxSize is the size in bytes past which a file is not written to:
	// the records of a Write that would cross it start the next file (a
	// Write bigger than MaxSize gets a file of its own, after its
	// warcinfo record). Zero means DefaultWARCMaxSize; negative means one
	// file of any size.
	MaxSize int64
	// GzipLevel is the gzip compression level of each record, 1 (fastest,
	// the default for zero) to 9 (smallest); -2 means Huffman coding only
	// (faster still, bigger files) and -1 no compression: each record is
	// still a gzip member of its own (stored blocks), so the files stay
	// valid .warc.gz, as big as the records. Other values are refused.
	GzipLevel int
	// Software names the program in each file's warcinfo record (such as
	// "trawl/0.1"); empty means "trawl".
	Software string
	// Info are more fields for each file's warcinfo record, in order
	// (name, value pairs such as "robots", "obey"; "http-header-user-agent",
	// the User-Agent). A name must be a token (no space, colon or control
	// character) and a value must not hold a line break.
	Info [][2]string
	// NoDedup writes every response in full. By default a response whose
	// payload is identical to one already in the crawl's files (same
	// SHA-1) is written as a revisit record of the identical-payload-digest
	// profile, which refers to the first. A payload that is empty or
	// truncated is always written in full. The digests are kept in
	// memory, at most 1<<20 of them (some 100 MB with their URLs): past
	// that, new payloads are written in full and not remembered, while
	// those already known still give revisits.
	NoDedup bool
}

// WARCPos is a place in a crawl's WARC files: the file's number (0 for
// the first) and a byte offset in it.
type WARCPos struct {
	File   int   `json:"file"`
	Offset int64 `json:"offset"`
}

// WARCMark is what WARC.Mark returns: the spans of the files written
// since the last Mark, Sync or Rewind (one per file touched, in order),
// and the position after them.
type WARCMark struct {
	End   WARCPos        `json:"end"`
	Spans []WARCFileSpan `json:"spans,omitempty"`
}

// WARCFileSpan is a span of one WARC file.
type WARCFileSpan struct {
	File int `json:"file"`
	Span
}

// WARCRef says where a record is: the WARC file's base name and the
// record's offset in it (where its gzip member starts), as CDX indexes
// and the records' warc_file and warc_offset give it.
type WARCRef struct {
	File   string
	Offset int64
}

// WARC writes what a crawl fetched as WARC 1.1 files (ISO 28500:2017),
// each record a gzip member of its own so that the files are valid
// .warc.gz and any record can be read from its offset. Use OpenWARC and
// Write; the zero value is not usable. WARC is safe for concurrent use:
// Write builds, hashes and compresses its records before it takes the
// writer's lock, which it holds only to append them.
//
// Each file starts with a warcinfo record; each exchange of a fetch is a
// request record and a response record (or a revisit record, for a
// payload already written) that name each other in WARC-Concurrent-To.
// Digests are SHA-1 in base 32, as Heritrix and wget write them.
//
// # Exactly once
//
// WARC keeps its files as JSONL keeps its File: records are buffered;
// Mark writes them out and returns the spans of the files written since
// the last Mark (with their CRC-32C, for Verify); Sync also makes them
// durable and returns the end position, for a checkpoint; Rewind cuts the
// files back to such a position, removing the later files, to resume
// after a crash. A file closed when the next was started is synced by the
// next Sync, or when more than a few files wait for one.
//
// The payload digests known for revisit records are kept in memory (see
// WARCOptions.NoDedup). OpenWARC does not read the files it finds; Rewind
// reads the files it keeps (decompressing them, until the index is full)
// to learn their responses' payloads.
//
// Its errors start with "store: warc: ". A failure to write is sticky:
// every later call returns it, until Rewind.
type WARC struct {
	name    string // as given to OpenWARC
	dir     string
	base    string // file names are base-NNNNN.warc.gz
	maxSize int64  // < 0: no limit
	level   int
	dedup   bool
	block   []byte    // the block of every warcinfo record
	gz      sync.Pool // *gzip.Writer at level

	// infoID is the warcinfo ID of the file that the next records go
	// to, read by Write before it takes mu; it changes under mu.
	infoID atomic.Pointer[uuid.UUID]

	// idx maps a payload's SHA-1 to the response that holds it. It is
	// read under idxMu's read lock by Write before it takes mu; it
	// changes under mu and idxMu.
	idxMu  sync.RWMutex
	idx    map[[sha1.Size]byte]warcOrigin
	idxMax int

	mu      sync.Mutex
	num     int           // the number of the current file
	f       *File         // the current file; nil before the first one is created
	bw      *bufio.Writer // buffers f
	cur     uuid.UUID     // the current file's warcinfo ID
	content bool          // the current file has records after its warcinfo
	paths   []string      // the files kept or written, in order
	closed  []*File       // files started after, not yet synced
	spans   []WARCFileSpan
	err     error // sticky write error
}

// warcOrigin is the response record that first held a payload.
type warcOrigin struct {
	id   uuid.UUID
	uri  string
	date int64 // WARC-Date, Unix nanoseconds
}

const warcErr = "store: warc"

var errWARCClosed = errors.New("store: warc: closed")

// OpenWARC opens the WARC files named after name: "crawl.warc.gz" (or
// "crawl", or "crawl.warc") gives crawl-00000.warc.gz, crawl-00001.warc.gz,
// …, in name's folder, which must exist. Files of that name already there
// are kept and written after, at the end of the one with the highest
// number: a crawl that resumes calls Rewind with the position of its
// checkpoint (which also drops a record torn by a crash), one that starts
// anew Rewind(WARCPos{}). OpenWARC reads nothing but the warcinfo record
// of that last file.
func OpenWARC(name string, opts WARCOptions) (*WARC, error) {
	w := &WARC{name: name, maxSize: opts.MaxSize, dedup: !opts.NoDedup, idxMax: warcIndexMax}
	if w.maxSize == 0 {
		w.maxSize = DefaultWARCMaxSize
	}
	switch {
	case opts.GzipLevel == 0:
		w.level = gzip.BestSpeed
	case opts.GzipLevel == -2:
		w.level = gzip.HuffmanOnly
	case opts.GzipLevel == -1:
		w.level = gzip.NoCompression
	case opts.GzipLevel >= 1 && opts.GzipLevel <= 9:
		w.level = opts.GzipLevel
	default:
		return nil, fmt.Errorf("%s: gzip level %d is not 1 to 9, -2 or -1", warcErr, opts.GzipLevel)
	}
	block, err := warcinfoBlock(opts)
	if err != nil {
		return nil, err
	}
	w.block = block
	w.gz.New = func() any {
		zw, _ := gzip.NewWriterLevel(nil, w.level) // the level is checked
		return zw
	}
	w.dir, w.base = filepath.Split(name)
	for _, ext := range []string{".gz", ".warc"} {
		w.base = strings.TrimSuffix(w.base, ext)
	}
	if w.base == "" {
		return nil, fmt.Errorf("%s: %q does not name a file", warcErr, name)
	}
	if w.dir == "" {
		w.dir = "."
	}
	nums, err := w.existing()
	if err != nil {
		return nil, err
	}
	w.idx = map[[sha1.Size]byte]warcOrigin{}
	w.cur = uuid.Must(uuid.NewRandomFromReader(rand.Reader))
	w.bw = bufio.NewWriterSize(nil, sinkBufferSize)
	if len(nums) > 0 {
		w.num = nums[len(nums)-1]
		for _, n := range nums {
			w.paths = append(w.paths, w.path(n))
		}
		if w.f, err = OpenFile(w.path(w.num)); err != nil {
			return nil, fmt.Errorf("%s: %w", warcErr, err)
		}
		w.bw.Reset(w.f)
		if w.f.Size() > 0 {
			// A file torn inside its warcinfo record gets a new ID,
			// and must be cut back by Rewind anyway.
			id, size, err := readWarcinfo(w.f.Name())
			if err == nil {
				w.cur = id
			}
			w.content = err != nil || w.f.Size() > size
		}
	}
	w.publish()
	return w, nil
}

// warcinfoBlock returns the block of a warcinfo record for opts, or an
// error for a field that cannot be written.
func warcinfoBlock(opts WARCOptions) ([]byte, error) {
	software := opts.Software
	if software == "" {
		software = "trawl"
	}
	fields := append([][2]string{
		{"software", software},
		{"format", "WARC File Format 1.1"},
		{"conformsTo", "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"},
	}, opts.Info...)
	var b []byte
	for _, f := range fields {
		name, value := f[0], f[1]
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == ':' || r == 0x7f }) {
			return nil, fmt.Errorf("%s: warcinfo field name %q is not a token", warcErr, name)
		}
		if strings.ContainsAny(value, "\r\n") {
			return nil, fmt.Errorf("%s: warcinfo field %s: value %q holds a line break", warcErr, name, value)
		}
		b = append(append(append(append(b, name...), ": "...), value...), "\r\n"...)
	}
	return b, nil
}

// path returns the path of file number n.
func (w *WARC) path(n int) string {
	return filepath.Join(w.dir, fmt.Sprintf("%s-%05d.warc.gz", w.base, n))
}

// existing returns the numbers of the files of w's name in its folder, in
// order.
func (w *WARC) existing() ([]int, error) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", warcErr, err)
	}
	var nums []int
	prefix := w.base + "-"
	for _, e := range entries {
		digits, ok := strings.CutPrefix(e.Name(), prefix)
		if digits, ok = strings.CutSuffix(digits, ".warc.gz"); !ok || e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n < 0 || filepath.Base(w.path(n)) != e.Name() {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// publish makes w.cur the warcinfo ID that Write builds records with. It
// requires w.mu (or w not yet shared).
func (w *WARC) publish() {
	id := w.cur
	w.infoID.Store(&id)
}

// Write writes the exchanges of one fetch, in order, each as a request
// record and a response record (or a revisit record, for a payload
// already written), all in the same file, and returns where the response
// (or revisit) record of the last exchange is. A file's first record is
// its warcinfo record. Write of no exchange writes nothing and returns
// the zero WARCRef.
func (w *WARC) Write(ex []*fetch.Exchange) (WARCRef, error) {
	if len(ex) == 0 {
		return WARCRef{}, nil
	}
	b := newWARCBatch()
	defer b.free()
	if err := w.prepare(b, ex); err != nil {
		return WARCRef{}, err
	}
	w.build(b, *w.infoID.Load())

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return WARCRef{}, w.err
	}
	if w.decide(b) {
		w.build(b, w.cur) // a payload was written (or cut) meanwhile
	}
	if err := w.makeRoom(int64(b.out.Len())); err != nil {
		w.err = err
		return WARCRef{}, err
	}
	if b.infoID != w.cur {
		w.build(b, w.cur) // a file was started meanwhile
	}
	off := w.size() + int64(b.prep[len(b.prep)-1].respStart)
	if _, err := w.bw.Write(b.out.Bytes()); err != nil {
		w.err = writeError(warcErr, err)
		return WARCRef{}, w.err
	}
	w.content = true
	return WARCRef{File: filepath.Base(w.f.Name()), Offset: off}, nil
}

// size returns the size of the current file, written or buffered. It
// requires w.mu.
func (w *WARC) size() int64 {
	if w.f == nil {
		return 0
	}
	return w.f.Size() + int64(w.bw.Buffered())
}

// makeRoom makes the current file ready for n bytes of records: it
// creates the first file, starts the next one when the current one holds
// records and would pass the maximum size, and writes the warcinfo record
// of a new or empty file. It requires w.mu.
func (w *WARC) makeRoom(n int64) error {
	if w.f == nil {
		f, err := OpenFile(w.path(w.num))
		if err != nil {
			return fmt.Errorf("%s: %w", warcErr, err)
		}
		w.f = f
		w.bw.Reset(f)
		w.paths = append(w.paths, f.Name())
	}
	if w.content && w.maxSize >= 0 && w.size()+n > w.maxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	if w.size() == 0 {
		return w.writeWarcinfo()
	}
	return nil
}

// maxRotatedOpen is the most files rotated out that a WARC keeps open
// until the next Sync.
const maxRotatedOpen = 4

// rotate writes out the current file, keeps it open to be synced by the
// next Sync, and starts the next one. It requires w.mu.
func (w *WARC) rotate() error {
	if err := w.bw.Flush(); err != nil {
		return writeError(warcErr, err)
	}
	if s := w.f.Mark(); s.To > s.From {
		w.spans = append(w.spans, WARCFileSpan{File: w.num, Span: s})
	}
	// Files rotated out wait open for the next Sync to make them
	// durable; a crawl that never syncs (no checkpoints) would collect
	// one handle per file, so past a few the oldest is synced and closed
	// now.
	for len(w.closed) >= maxRotatedOpen {
		old := w.closed[0]
		if _, err := old.Sync(); err != nil {
			return err
		}
		if err := old.Close(); err != nil {
			return fmt.Errorf("%s: %w", warcErr, err)
		}
		w.closed = w.closed[1:]
	}
	w.closed = append(w.closed, w.f)
	w.f = nil
	f, err := OpenFile(w.path(w.num + 1))
	if err != nil {
		return fmt.Errorf("%s: %w", warcErr, err)
	}
	if f.Size() != 0 {
		f.Close()
		return fmt.Errorf("%w: %s exists, after the last file", ErrOutputMismatch, f.Name())
	}
	w.num++
	w.f = f
	w.bw.Reset(f)
	w.paths = append(w.paths, f.Name())
	w.cur = uuid.Must(uuid.NewRandomFromReader(rand.Reader))
	w.content = false
	w.publish()
	return nil
}

// writeWarcinfo writes the warcinfo record of the current file, which is
// empty. It requires w.mu.
func (w *WARC) writeWarcinfo() error {
	sum := sha1.Sum(w.block)
	h := append([]byte(nil), "WARC/1.1\r\n"...)
	h = appendField(h, gowarc.WarcType, gowarc.Warcinfo.String())
	h = appendIDField(h, gowarc.WarcRecordID, w.cur)
	h = appendDateField(h, gowarc.WarcDate, time.Now())
	h = appendField(h, gowarc.WarcFilename, filepath.Base(w.f.Name()))
	h = appendField(h, gowarc.ContentType, gowarc.ApplicationWarcFields)
	h = appendDigestField(h, gowarc.WarcBlockDigest, &sum)
	h = appendLengthField(h, len(w.block))
	var out bytes.Buffer
	w.member(&out, h, w.block, nil)
	w.content = false
	if _, err := w.bw.Write(out.Bytes()); err != nil {
		return writeError(warcErr, err)
	}
	return nil
}

// Sync writes out buffered records, makes the files durable (the current
// one and those closed since the last Sync) and returns the position
// after the last record.
func (w *WARC) Sync() (WARCPos, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return WARCPos{}, w.err
	}
	if w.f != nil {
		if err := w.bw.Flush(); err != nil {
			w.err = writeError(warcErr, err)
			return WARCPos{}, w.err
		}
	}
	for len(w.closed) > 0 {
		f := w.closed[0]
		if _, err := f.Sync(); err != nil {
			w.err = err
			return WARCPos{}, err
		}
		if err := f.Close(); err != nil {
			w.err = fmt.Errorf("%s: %w", warcErr, err)
			return WARCPos{}, w.err
		}
		w.closed = w.closed[1:]
	}
	if w.f != nil {
		if _, err := w.f.Sync(); err != nil {
			w.err = err
			return WARCPos{}, err
		}
	}
	w.spans = nil
	return w.end(), nil
}

// end returns the position after the last record. It requires w.mu.
func (w *WARC) end() WARCPos { return WARCPos{File: w.num, Offset: w.size()} }

// Mark writes out buffered records, without syncing them, and returns the
// spans written since the last Mark, Sync or Rewind: one per file written
// to (none when nothing was written), with the position after them.
func (w *WARC) Mark() (WARCMark, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return WARCMark{}, w.err
	}
	if w.f != nil {
		if err := w.bw.Flush(); err != nil {
			w.err = writeError(warcErr, err)
			return WARCMark{}, w.err
		}
		if s := w.f.Mark(); s.To > s.From {
			w.spans = append(w.spans, WARCFileSpan{File: w.num, Span: s})
		}
	}
	m := WARCMark{End: w.end(), Spans: w.spans}
	w.spans = nil
	return m, nil
}

// Verify checks that the files hold the spans of m (see File.Verify) and
// reach its end. A mismatch is an error wrapping ErrOutputMismatch. It
// reads the files through handles of its own.
func (w *WARC) Verify(m WARCMark) error {
	for _, s := range m.Spans {
		if err := verifyFile(w.path(s.File), s.Span); err != nil {
			return err
		}
	}
	if m.End.Offset == 0 {
		return nil
	}
	path := w.path(m.End.File)
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is missing", ErrOutputMismatch, path)
	}
	if err != nil {
		return fmt.Errorf("%s: verify: %w", warcErr, err)
	}
	if st.Size() < m.End.Offset {
		return fmt.Errorf("%w: %s has %d bytes, less than %d", ErrOutputMismatch, path, st.Size(), m.End.Offset)
	}
	return nil
}

// verifyFile checks span of the file at path.
func verifyFile(path string, span Span) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is missing", ErrOutputMismatch, path)
	}
	f, err := OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Verify(span)
}

// Rewind drops buffered records, cuts the files back to pos (removing the
// files after pos.File) and continues writing there; at offset 0 the file
// gets its warcinfo record again. The payload digests known for revisit
// records are those of the response records kept, which Rewind reads
// (files before pos.File that are gone are skipped). A pos.File that is
// missing, or shorter than pos.Offset, is an error wrapping
// ErrOutputMismatch.
func (w *WARC) Rewind(pos WARCPos) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == errWARCClosed {
		return w.err
	}
	if err := w.rewind(pos); err != nil {
		w.err = err
		return err
	}
	w.err = nil
	return nil
}

// rewind is Rewind. It requires w.mu.
func (w *WARC) rewind(pos WARCPos) error {
	if pos.File < 0 || pos.Offset < 0 {
		return fmt.Errorf("%w: bad position %d:%d", ErrOutputMismatch, pos.File, pos.Offset)
	}
	w.bw.Reset(nil)
	var errs []error
	for _, f := range append(w.closed, w.f) {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	w.f, w.closed, w.spans, w.content = nil, nil, nil, false
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: rewind: %w", warcErr, err)
	}
	path := w.path(pos.File)
	if _, err := os.Stat(path); pos.Offset > 0 && errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is missing", ErrOutputMismatch, path)
	}
	nums, err := w.existing()
	if err != nil {
		return err
	}
	w.paths = w.paths[:0]
	for _, n := range nums {
		if n > pos.File {
			if err := os.Remove(w.path(n)); err != nil {
				return fmt.Errorf("%s: rewind: %w", warcErr, err)
			}
		} else if n < pos.File {
			w.paths = append(w.paths, w.path(n))
		}
	}
	f, err := OpenFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", warcErr, err)
	}
	if err := f.Truncate(pos.Offset); err != nil {
		f.Close()
		return err
	}
	w.f, w.num = f, pos.File
	w.bw.Reset(f)
	w.paths = append(w.paths, path)
	w.cur = uuid.Must(uuid.NewRandomFromReader(rand.Reader))
	if pos.Offset > 0 {
		id, size, err := readWarcinfo(path)
		if err != nil {
			return fmt.Errorf("%w: %s: no warcinfo record: %v", ErrOutputMismatch, path, err)
		}
		w.cur, w.content = id, pos.Offset > size
	}
	w.publish()

	idx := map[[sha1.Size]byte]warcOrigin{}
	if w.dedup {
		for _, p := range w.paths {
			if len(idx) >= w.idxMax {
				break
			}
			if err := readIndex(p, idx, w.idxMax); err != nil {
				return fmt.Errorf("%s: rewind: read %s: %w", warcErr, p, err)
			}
		}
	}
	w.idxMu.Lock()
	w.idx = idx
	w.idxMu.Unlock()
	return nil
}

// readWarcinfo returns the ID of the warcinfo record that starts the
// file at path, and that record's size in the file.
func readWarcinfo(path string) (uuid.UUID, int64, error) {
	r, err := gowarc.NewWarcFileReader(path, 0, gowarc.WithNoValidation())
	if err != nil {
		return uuid.UUID{}, 0, err
	}
	defer r.Close()
	rec, err := r.Next()
	if err != nil {
		return uuid.UUID{}, 0, err
	}
	defer rec.Close()
	if t := rec.WarcRecord.Type(); t != gowarc.Warcinfo {
		return uuid.UUID{}, 0, fmt.Errorf("first record is a %s record", t)
	}
	id, err := uuid.Parse(rec.WarcRecord.WarcHeader().GetId(gowarc.WarcRecordID))
	return id, rec.Size, err
}

// readIndex adds to idx, up to max entries, the payload digests of the
// response records of the file at path that are not truncated and whose
// payload is not empty.
func readIndex(path string, idx map[[sha1.Size]byte]warcOrigin, max int) error {
	r, err := gowarc.NewWarcFileReader(path, 0, gowarc.WithNoValidation())
	if err != nil {
		return err
	}
	defer r.Close()
	for rec, err := range r.Records() {
		if err != nil {
			return err
		}
		h := rec.WarcRecord.WarcHeader()
		if rec.WarcRecord.Type() == gowarc.Response && !h.Has(gowarc.WarcTruncated) && len(idx) < max {
			sum, ok := parseDigest(h.Get(gowarc.WarcPayloadDigest))
			id, err := uuid.Parse(h.GetId(gowarc.WarcRecordID))
			date, derr := time.Parse(time.RFC3339Nano, h.Get(gowarc.WarcDate))
			if _, dup := idx[sum]; ok && sum != emptySHA1 && err == nil && derr == nil && !dup {
				idx[sum] = warcOrigin{id: id, uri: h.Get(gowarc.WarcTargetURI), date: date.UnixNano()}
			}
		}
		if err := rec.Close(); err != nil {
			return err
		}
	}
	return nil
}

// parseDigest returns the SHA-1 of a "sha1:BASE32" digest.
func parseDigest(s string) (sum [sha1.Size]byte, ok bool) {
	b32, ok := strings.CutPrefix(s, "sha1:")
	if !ok || len(b32) != 32 {
		return sum, false
	}
	n, err := base32.StdEncoding.Decode(sum[:], []byte(b32))
	return sum, err == nil && n == sha1.Size
}

// End returns the position after the last record written.
func (w *WARC) End() WARCPos {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.end()
}

// Name returns the name OpenWARC was given.
func (w *WARC) Name() string { return w.name }

// Files returns the paths of the files written to or kept, in order.
func (w *WARC) Files() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.paths)
}

// Flush writes out buffered records to the current file, without syncing
// it; Mark, Sync and Rewind still account for them.
func (w *WARC) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.f != nil {
		if err := w.bw.Flush(); err != nil {
			w.err = writeError(warcErr, err)
		}
	}
	return w.err
}

// Close writes out buffered records and closes the files; it does not
// sync them. Later calls return an error.
func (w *WARC) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == errWARCClosed {
		return nil
	}
	var errs []error
	if w.err != nil {
		errs = append(errs, w.err)
	}
	if w.f != nil {
		if w.err == nil {
			if err := w.bw.Flush(); err != nil {
				errs = append(errs, writeError(warcErr, err))
			}
		}
		if err := w.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", warcErr, err))
		}
	}
	for _, f := range w.closed {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", warcErr, err))
		}
	}
	w.f, w.closed, w.err = nil, nil, errWARCClosed
	return errors.Join(errs...)
}
