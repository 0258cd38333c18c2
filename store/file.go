package store

import (
	"errors"
	"fmt"
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
// File is not safe for concurrent use; the sinks that write to it
// serialize their writes.
type File struct {
	f    *os.File
	size int64 // bytes written so far: the end of the file
}

// OpenFile opens (creating it if needed) the file at path for appending
// records after its current content.
func OpenFile(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: open output: %w", err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: open output: %w", err)
	}
	return &File{f: f, size: size}, nil
}

// Write appends p.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.size += int64(n)
	return n, err
}

// Size is the number of bytes in the file, written or not yet synced.
func (f *File) Size() int64 { return f.size }

// Sync makes everything written so far durable and returns the file's
// size.
func (f *File) Sync() (int64, error) {
	if err := f.f.Sync(); err != nil {
		return 0, fmt.Errorf("store: sync output: %w", err)
	}
	return f.size, nil
}

// Truncate cuts the file to size bytes and continues writing there. It
// refuses to grow the file: a size beyond its end means the file is not
// the one the checkpoint describes.
func (f *File) Truncate(size int64) error {
	st, err := f.f.Stat()
	if err != nil {
		return fmt.Errorf("store: truncate output: %w", err)
	}
	if size > st.Size() {
		return fmt.Errorf("store: truncate output %s to %d bytes: it has only %d: %w", f.f.Name(), size, st.Size(), ErrOutputMismatch)
	}
	if err := f.f.Truncate(size); err != nil {
		return fmt.Errorf("store: truncate output: %w", err)
	}
	if _, err := f.f.Seek(size, io.SeekStart); err != nil {
		return fmt.Errorf("store: truncate output: %w", err)
	}
	f.size = size
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
}
