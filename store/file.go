package store

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// File is an output file whose content can be made durable and cut back
// to a known size. Together with a checkpointing frontier it gives one
// record per URL across crashes: the crawler syncs the file before each
// checkpoint and stores the synced size with it; a resumed crawl truncates
// the file to that size, dropping the records of work that was not
// checkpointed and will be done again.
//
// Between checkpoints, Mark describes what was written since the last
// mark (a Span) and Verify checks a span against the file: what a crawler
// needs to trust output that reached the operating system but was not
// synced when the machine went down.
//
// File is not safe for concurrent use; the sinks that write to it
// serialize their writes.
//
// Its errors start with "store: output: " and the operation where the
// operating system's error does not already name it: "store: output:
// sync out.jsonl: input/output error", "store: output: truncate: stat
// out.jsonl: …". A file that does not match a checkpoint is an error
// wrapping ErrOutputMismatch, whose text starts the message.
type File struct {
	f    *os.File
	size int64  // bytes written so far: the end of the file
	mark int64  // where the current span starts
	crc  uint32 // CRC-32C of the bytes from mark to size
}

// Span is a range of an output file and the CRC-32C (Castagnoli) of its
// bytes.
type Span struct {
	From int64  `json:"from"`
	To   int64  `json:"to"`
	CRC  uint32 `json:"crc"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// OpenFile opens (creating it if needed) the file at path for appending
// records after its current content.
func OpenFile(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: output: %w", err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: output: open: %w", err)
	}
	return &File{f: f, size: size, mark: size}, nil
}

// Write appends p.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.size += int64(n)
	f.crc = crc32.Update(f.crc, castagnoli, p[:n])
	return n, err
}

// Mark returns the span written since the last Mark, Sync or Truncate (or
// since the file was opened) and starts a new one at the end of the file.
// The span's bytes are with the operating system: they survive a crash of
// this process, but not necessarily of the machine.
func (f *File) Mark() Span {
	s := Span{From: f.mark, To: f.size, CRC: f.crc}
	f.mark, f.crc = f.size, 0
	return s
}

// Verify checks that the file holds span's bytes: it is long enough and
// they have span's checksum. A mismatch is an error wrapping
// ErrOutputMismatch.
func (f *File) Verify(span Span) error {
	if span.To < span.From || span.From < 0 {
		return fmt.Errorf("%w: bad span %d-%d", ErrOutputMismatch, span.From, span.To)
	}
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, io.NewSectionReader(f.f, span.From, span.To-span.From))
	if err != nil {
		return fmt.Errorf("store: output: verify: %w", err)
	}
	if n != span.To-span.From || h.Sum32() != span.CRC {
		return fmt.Errorf("%w: bytes %d-%d of %s differ from those written", ErrOutputMismatch, span.From, span.To, f.f.Name())
	}
	return nil
}

// Name returns the name of the file as given to OpenFile (as
// os.File.Name does).
func (f *File) Name() string { return f.f.Name() }

// Size is the number of bytes in the file, written or not yet synced.
func (f *File) Size() int64 { return f.size }

// Sync makes everything written so far durable and returns the file's
// size.
func (f *File) Sync() (int64, error) {
	if err := f.f.Sync(); err != nil {
		return 0, fmt.Errorf("store: output: %w", err)
	}
	f.mark, f.crc = f.size, 0
	return f.size, nil
}

// Truncate cuts the file to size bytes and continues writing there. It
// refuses to grow the file: a size beyond its end means the file is not
// the one the checkpoint describes.
func (f *File) Truncate(size int64) error {
	st, err := f.f.Stat()
	if err != nil {
		return fmt.Errorf("store: output: truncate: %w", err)
	}
	if size > st.Size() {
		return fmt.Errorf("%w: cannot truncate %s to %d bytes: it has only %d", ErrOutputMismatch, f.f.Name(), size, st.Size())
	}
	if err := f.f.Truncate(size); err != nil {
		return fmt.Errorf("store: output: %w", err)
	}
	if _, err := f.f.Seek(size, io.SeekStart); err != nil {
		return fmt.Errorf("store: output: truncate: %w", err)
	}
	f.size, f.mark, f.crc = size, size, 0
	return nil
}

// Close closes the file. It does not sync it.
func (f *File) Close() error { return f.f.Close() }

// ErrOutputMismatch reports an output file shorter than the crawl state
// says it must be: another file, or one changed behind the crawler's back.
var ErrOutputMismatch = errors.New("store: output file does not match the crawl state")

// syncer is what a sink's writer must be for Sync and Rewind: a *File.
type syncer interface {
	io.Writer
	Sync() (int64, error)
	Truncate(size int64) error
	Mark() Span
	Verify(Span) error
}
