package store

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// sinkBufferSize is the write buffer of the sinks.
const sinkBufferSize = 64 << 10

// JSONL writes records as JSON Lines: one JSON object per line, with the
// fields, names and presence rules of the table in Record's doc, and
// without escaping <, > and & (the output is not meant for HTML):
//
//	{"url":"http://a.test/","status":200,"depth":0,"title":"Home & away","fetched_at":"2025-03-04T05:06:07.890Z","duration_ms":12,"attempts":1}
//	{"url":"http://a.test/private","depth":1,"skipped":"robots"}
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

// Name returns the name of the file the sink writes to, as it was given
// when the file was opened: that of its *File or *os.File (see
// File.Name). It is "" for any other writer.
func (s *JSONL) Name() string { return outName(s.out) }

// prefixes of the sinks' errors.
const (
	jsonlErr = "store: jsonl"
	csvErr   = "store: csv"
)

// Sync writes out buffered records, makes them durable and returns the
// output's size. It needs a *File underneath.
func (s *JSONL) Sync() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return syncOut(s.out, s.w.Flush, &s.err, jsonlErr)
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
	return markOut(s.out, s.w.Flush, &s.err, jsonlErr)
}

// Verify checks that the output holds span's bytes (see File.Verify). It
// needs a *File underneath.
func (s *JSONL) Verify(span Span) error { return verifyOut(s.out, span) }

var errNoSync = errors.New("store: output is not a *store.File: it cannot be synced or rewound")

// outName returns the name of out if it is a *File or an *os.File, else
// "".
func outName(out io.Writer) string {
	switch f := out.(type) {
	case *File:
		return f.Name()
	case *os.File:
		return f.Name()
	}
	return ""
}

// writeError wraps err, a write failure of the sink whose errors start
// with prefix. An *fs.PathError already says "write" and the file's name
// ("write /dev/full: no space left on device"); another error gets
// "write: " before it.
func writeError(prefix string, err error) error {
	if _, ok := errors.AsType[*fs.PathError](err); ok {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return fmt.Errorf("%s: write: %w", prefix, err)
}

// flushOut writes out a sink's buffer with flush and returns its *File,
// recording a write failure in *sticky, with prefix, the sink's error
// prefix. It requires the sink's mutex.
func flushOut(out io.Writer, flush func() error, sticky *error, prefix string) (syncer, error) {
	f, ok := out.(syncer)
	if !ok {
		return nil, errNoSync
	}
	if *sticky != nil {
		return nil, *sticky
	}
	if err := flush(); err != nil {
		*sticky = writeError(prefix, err)
		return nil, *sticky
	}
	return f, nil
}

// syncOut flushes with flush and syncs out, recording a failure in *sticky.
// It requires the sink's mutex.
func syncOut(out io.Writer, flush func() error, sticky *error, prefix string) (int64, error) {
	f, err := flushOut(out, flush, sticky, prefix)
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
func markOut(out io.Writer, flush func() error, sticky *error, prefix string) (Span, error) {
	f, err := flushOut(out, flush, sticky, prefix)
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

// Put writes r as one line. A record that cannot be encoded (a Data value
// that encoding/json rejects, a FetchedAt outside FetchedAtLayout's
// years, a kind that parse does not define) is an error for this call
// only. Put does not block on anything
// but the writer, so ctx is not consulted.
func (s *JSONL) Put(ctx context.Context, r Record) error {
	e := newEncoder()
	defer e.free()
	line, err := e.appendJSON(e.buf, &r)
	if err != nil {
		return fmt.Errorf("%s: %w", jsonlErr, err)
	}
	e.buf = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(e.buf); err != nil {
		s.err = writeError(jsonlErr, err)
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
		s.err = writeError(jsonlErr, err)
	}
	return s.err
}

// CSV writes records as comma-separated values (RFC 4180 quoting, "\n"
// line ends) under a header row:
//
//	url,final_url,location,status,depth,parent,content_type,bytes,truncated,title,canonical,description,lang,links,rendered,render_requests,render_clicks,fetched_at,duration_ms,attempts,error,skipped,kind,outlinks,warc_file,warc_offset,data
//
// Its columns are JSONL's fields, in the same order, under the same names
// and with the same presence rules (see the table in Record's doc): a
// field a record does not have is an empty cell, and every other cell is
// not empty. A row of CSV and a line of JSONL for the same record hold
// the same values: numbers in decimal, truncated as "true", fetched_at in
// FetchedAtLayout, kind as its name, and outlinks and data as the JSON
// text JSONL writes for them. As in JSONL, a byte of text that is not
// valid UTF-8 is written as U+FFFD, so the output is valid UTF-8.
//
// Spreadsheets take a cell that starts with =, +, -, @, a tab or a
// carriage return for a formula, which a crawled page could use to run
// one on the machine of whoever opens the output (CSV injection). So a
// text cell (url, final_url, location, parent, content_type, title,
// canonical, description, lang, error, skipped, warc_file) or a data cell
// that would start with one of them is written with a leading ' (as OWASP
// recommends), which spreadsheets read as "this cell is text" and do not
// show; other readers see it. A title "=1+2" is written as '=1+2, "-1" as
// '-1, and a data value -1 as '-1. The columns that trawl itself formats
// (numbers, truncated, fetched_at, kind, and outlinks, a JSON array) are
// written as they are.
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
		s.err = writeError(csvErr, err)
	}
	return s
}

// Name returns the name of the file the sink writes to, as it was given
// when the file was opened: that of its *File or *os.File (see
// File.Name). It is "" for any other writer.
func (s *CSV) Name() string { return outName(s.out) }

// Sync writes out buffered rows, makes them durable and returns the
// output's size. It needs a *File underneath.
func (s *CSV) Sync() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return syncOut(s.out, func() error { s.w.Flush(); return s.w.Error() }, &s.err, csvErr)
}

// Mark writes out buffered rows, without syncing them, and returns the
// span of the output written since the last Mark, Sync or Rewind. It
// needs a *File underneath.
func (s *CSV) Mark() (Span, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return markOut(s.out, func() error { s.w.Flush(); return s.w.Error() }, &s.err, csvErr)
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
		if err := s.w.Write(csvHeader); err != nil {
			s.err = writeError(csvErr, err)
			return s.err
		}
	}
	return nil
}

// Put writes r as one row. A record that cannot be encoded (a Data value
// that encoding/json rejects, a FetchedAt outside FetchedAtLayout's
// years, a kind that parse does not define) is an error for this call
// only. Put does not block on anything
// but the writer, so ctx is not consulted.
func (s *CSV) Put(ctx context.Context, r Record) error {
	e := newEncoder()
	defer e.free()
	var row [numFields]string
	if err := e.csvRow(&row, &r); err != nil {
		return fmt.Errorf("%s: %w", csvErr, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if err := s.w.Write(row[:]); err != nil {
		s.err = writeError(csvErr, err)
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
		s.err = writeError(csvErr, err)
	}
	return s.err
}
