package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// sinkBufferSize is the write buffer of the sinks.
const sinkBufferSize = 64 << 10

// JSONL writes records as JSON Lines: one JSON object per line, with the
// field names and omissions of Record's json tags, and without escaping
// <, > and & (the output is not meant for HTML).
//
// Use NewJSONL; the zero value is not usable. JSONL is safe for concurrent
// use: records are encoded in parallel and written whole, one at a time.
// Writes are buffered: call Flush when done. The first write error is
// returned by that call and by every later Put and Flush.
type JSONL struct {
	mu  sync.Mutex
	out io.Writer
	w   *bufio.Writer
	err error // sticky write error
}

// NewJSONL returns a JSONL sink writing to w. When w is a *File, the sink
// can also Sync and Rewind.
func NewJSONL(w io.Writer) *JSONL {
	return &JSONL{out: w, w: bufio.NewWriterSize(w, sinkBufferSize)}
}

// Sync writes out buffered records, makes them durable and returns the
// output's size. It needs a *File underneath.
func (s *JSONL) Sync() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return syncOut(s.out, s.w.Flush, &s.err)
}

// Rewind drops buffered records and cuts the output back to pos bytes, to
// continue from a checkpoint. It needs a *File underneath.
func (s *JSONL) Rewind(pos int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.out.(syncer)
	if !ok {
		return errNoSync
	}
	s.w.Reset(s.out)
	s.err = nil
	return f.Truncate(pos)
}

// Mark writes out buffered records, without syncing them, and returns the
// span of the output written since the last Mark, Sync or Rewind. It
// needs a *File underneath.
func (s *JSONL) Mark() (Span, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return markOut(s.out, s.w.Flush, &s.err)
}

// Verify checks that the output holds span's bytes (see File.Verify). It
// needs a *File underneath.
func (s *JSONL) Verify(span Span) error { return verifyOut(s.out, span) }

var errNoSync = errors.New("store: output is not a *store.File: it cannot be synced or rewound")

// flushOut writes out a sink's buffer with flush and returns its *File,
// recording a write failure in *sticky. It requires the sink's mutex.
func flushOut(out io.Writer, flush func() error, sticky *error) (syncer, error) {
	f, ok := out.(syncer)
	if !ok {
		return nil, errNoSync
	}
	if *sticky != nil {
		return nil, *sticky
	}
	if err := flush(); err != nil {
		*sticky = fmt.Errorf("store: write: %w", err)
		return nil, *sticky
	}
	return f, nil
}

// syncOut flushes with flush and syncs out, recording a failure in *sticky.
// It requires the sink's mutex.
func syncOut(out io.Writer, flush func() error, sticky *error) (int64, error) {
	f, err := flushOut(out, flush, sticky)
	if err != nil {
		return 0, err
	}
	n, err := f.Sync()
	if err != nil {
		*sticky = err
	}
	return n, err
}

// markOut flushes with flush and marks out, as syncOut syncs it.
func markOut(out io.Writer, flush func() error, sticky *error) (Span, error) {
	f, err := flushOut(out, flush, sticky)
	if err != nil {
		return Span{}, err
	}
	return f.Mark(), nil
}

func verifyOut(out io.Writer, span Span) error {
	f, ok := out.(syncer)
	if !ok {
		return errNoSync
	}
	return f.Verify(span)
}

// jsonBuf is a reusable encoding buffer.
type jsonBuf struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonBufs = sync.Pool{New: func() any {
	b := new(jsonBuf)
	b.enc = json.NewEncoder(&b.buf)
	b.enc.SetEscapeHTML(false)
	return b
}}

// Put writes r as one line. A record that cannot be encoded (for example a
// Data value that encoding/json rejects) is an error for this call only.
// Put does not block on anything but the writer, so ctx is not consulted.
func (s *JSONL) Put(ctx context.Context, r Record) error {
	b := jsonBufs.Get().(*jsonBuf)
	defer func() {
		if b.buf.Cap() <= sinkBufferSize {
			b.buf.Reset()
			jsonBufs.Put(b)
		}
	}()
	if err := b.enc.Encode(r); err != nil { // Encode ends the line with \n
		return fmt.Errorf("store: jsonl: encode record for %s: %w", r.URL, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(b.buf.Bytes()); err != nil {
		s.err = fmt.Errorf("store: jsonl: write: %w", err)
	}
	return s.err
}

// Flush writes any buffered records to the underlying writer.
func (s *JSONL) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if err := s.w.Flush(); err != nil {
		s.err = fmt.Errorf("store: jsonl: write: %w", err)
	}
	return s.err
}

// csvHeader is the header row CSV writes, naming its columns.
var csvHeader = []string{
	"url", "final_url", "location", "status", "depth", "parent", "content_type",
	"bytes", "truncated", "title", "links", "fetched_at", "duration_ms",
	"attempts", "error", "skipped",
}

// CSV writes records as comma-separated values (RFC 4180 quoting, "\n"
// line ends) under a header row:
//
//	url,final_url,location,status,depth,parent,content_type,bytes,truncated,title,links,fetched_at,duration_ms,attempts,error,skipped
//
// Zero numbers, false and the zero time are written as empty fields, as
// JSONL omits them (depth is always written); fetched_at is RFC 3339 with
// nanoseconds. Record fields without a column (Canonical, Description,
// Lang, Data) are not written.
//
// Spreadsheets take a cell that starts with =, +, -, @, a tab or a
// carriage return for a formula, which a crawled page could use to run
// one on the machine of whoever opens the output (CSV injection). So a
// text cell (url, final_url, location, parent, content_type, title,
// error, skipped) that would start with one of them is written with a
// leading ' (as OWASP recommends), which spreadsheets read as "this cell
// is text" and do not show; other readers see it. A title "=1+2" is
// written as '=1+2 and "-1" as '-1. The columns that trawl itself
// formats (numbers, truncated, fetched_at) are written as they are.
//
// Use NewCSV; the zero value is not usable. CSV is safe for concurrent
// use; writes are buffered: call Flush when done. The first write error is
// returned by that call and by every later Put and Flush.
type CSV struct {
	mu  sync.Mutex
	out io.Writer
	w   *csv.Writer
	err error // sticky write error
}

// NewCSV returns a CSV sink writing to w. The header row is buffered at
// once, so even a CSV without records has it after Flush.
func NewCSV(w io.Writer) *CSV {
	// csv.Writer adopts a *bufio.Writer as is: one buffer, of our size.
	s := &CSV{out: w, w: csv.NewWriter(bufio.NewWriterSize(w, sinkBufferSize))}
	if err := s.w.Write(csvHeader); err != nil {
		s.err = fmt.Errorf("store: csv: write: %w", err)
	}
	return s
}

// Sync writes out buffered rows, makes them durable and returns the
// output's size. It needs a *File underneath.
func (s *CSV) Sync() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return syncOut(s.out, func() error { s.w.Flush(); return s.w.Error() }, &s.err)
}

// Mark writes out buffered rows, without syncing them, and returns the
// span of the output written since the last Mark, Sync or Rewind. It
// needs a *File underneath.
func (s *CSV) Mark() (Span, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return markOut(s.out, func() error { s.w.Flush(); return s.w.Error() }, &s.err)
}

// Verify checks that the output holds span's bytes (see File.Verify). It
// needs a *File underneath.
func (s *CSV) Verify(span Span) error { return verifyOut(s.out, span) }

// Rewind drops buffered rows and cuts the output back to pos bytes, to
// continue from a checkpoint; at 0 the header row is written again. It
// needs a *File underneath.
func (s *CSV) Rewind(pos int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.out.(syncer)
	if !ok {
		return errNoSync
	}
	s.w = csv.NewWriter(bufio.NewWriterSize(s.out, sinkBufferSize))
	s.err = nil
	if err := f.Truncate(pos); err != nil {
		return err
	}
	if pos == 0 {
		return s.w.Write(csvHeader)
	}
	return nil
}

// Put writes r as one row. Put does not block on anything but the writer,
// so ctx is not consulted.
func (s *CSV) Put(ctx context.Context, r Record) error {
	num := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	var truncated, fetchedAt string
	if r.Truncated {
		truncated = "true"
	}
	if !r.FetchedAt.IsZero() {
		fetchedAt = r.FetchedAt.Format(time.RFC3339Nano)
	}
	row := []string{
		textCell(r.URL), textCell(r.FinalURL), textCell(r.Location), num(int64(r.Status)),
		strconv.Itoa(r.Depth), textCell(r.Parent), textCell(r.ContentType), num(r.Bytes),
		truncated, textCell(r.Title), num(int64(r.Links)), fetchedAt, num(r.DurationMS),
		num(int64(r.Attempts)), textCell(r.Error), textCell(r.Skipped),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if err := s.w.Write(row); err != nil {
		s.err = fmt.Errorf("store: csv: write: %w", err)
	}
	return s.err
}

// textCell returns s as a CSV cell that spreadsheets do not take for a
// formula: with a leading ' if s starts with =, +, -, @, tab or carriage
// return (see CSV).
func textCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Flush writes any buffered rows to the underlying writer.
func (s *CSV) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		s.err = fmt.Errorf("store: csv: write: %w", err)
	}
	return s.err
}
