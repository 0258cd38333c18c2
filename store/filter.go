package store

import "context"

// Putter receives records: what a crawl writes its output to. JSONL and
// CSV are Putters, and so is every crawler.Sink, which has the same
// method set, so the two convert freely.
type Putter interface {
	Put(ctx context.Context, r Record) error
}

// syncSink and flusher are the optional methods of a sink that Filter
// keeps: those of crawler.SyncSink (what JSONL and CSV have) and Flush.
type (
	syncSink interface {
		Sync() (int64, error)
		Mark() (Span, error)
		Verify(Span) error
		Rewind(pos int64) error
	}
	flusher interface {
		Flush() error
	}
)

// Filter returns a Putter that passes to s the records keep accepts and
// drops the others: Put returns nil for them without calling s. A nil
// keep accepts every record. keep is called from Put, so by as many
// goroutines at once as Put is, and must be safe for that.
//
// A dropped record is still a URL decided about: the crawler counts it
// and its frontier marks the URL done, so it is not fetched again, nor
// after a resume; only the output omits it. The typical use keeps only
// fetched and failed URLs, leaving out the skipped ones:
//
//	out := store.Filter(store.NewJSONL(f), func(r store.Record) bool { return r.Skipped == "" })
//
// or, with the predicates of this package, only the pages fetched:
//
//	out := store.Filter(store.NewJSONL(f), store.Fetched)
//
// The value returned has the optional methods of s that a crawl relies
// on, and only those: if s has Sync, Mark, Verify and Rewind (a
// crawler.SyncSink, such as JSONL or CSV writing to a *File), so does the
// result, and they call s's; if s has Flush, so does the result. So a
// filtered sink keeps the one record per URL across crashes that the
// crawler gives a SyncSink with a checkpointing frontier: the records
// written since the last checkpoint are cut from the output and those of
// the work redone are filtered again. Filter never adds a method s lacks,
// since the crawler decides what a sink can do by asserting its type,
// with one harmless exception: the result always has Name, which returns
// s's Name (the output file's name, for JSONL and CSV) or, if s has none,
// "", as JSONL's Name does for an output that is not a file. Methods of s
// other than these (Close, for example) are not kept: close s itself.
//
// The result is safe for concurrent use if s and keep are.
func Filter(s Putter, keep func(Record) bool) Putter {
	f := filter{s: s, keep: keep}
	ss, canSync := s.(syncSink)
	fl, canFlush := s.(flusher)
	switch {
	case canSync && canFlush:
		return &syncFlushFilter{syncFilter{f, ss}, fl}
	case canSync:
		return &syncFilter{f, ss}
	case canFlush:
		return &flushFilter{f, fl}
	}
	return &f
}

// filter is Filter's result for a sink with neither Sync nor Flush.
type filter struct {
	s    Putter
	keep func(Record) bool
}

// Name returns the name of s's output file (see JSONL.Name), or "" if s
// has no Name method.
func (f *filter) Name() string {
	if n, ok := f.s.(interface{ Name() string }); ok {
		return n.Name()
	}
	return ""
}

func (f *filter) Put(ctx context.Context, r Record) error {
	if f.keep != nil && !f.keep(r) {
		return nil
	}
	return f.s.Put(ctx, r)
}

// syncFilter is Filter's result for a sink that syncs but does not flush.
type syncFilter struct {
	filter
	ss syncSink
}

func (f *syncFilter) Sync() (int64, error)   { return f.ss.Sync() }
func (f *syncFilter) Mark() (Span, error)    { return f.ss.Mark() }
func (f *syncFilter) Verify(s Span) error    { return f.ss.Verify(s) }
func (f *syncFilter) Rewind(pos int64) error { return f.ss.Rewind(pos) }

// flushFilter is Filter's result for a sink that flushes but does not
// sync.
type flushFilter struct {
	filter
	fl flusher
}

func (f *flushFilter) Flush() error { return f.fl.Flush() }

// syncFlushFilter is Filter's result for a sink that does both, such as
// JSONL and CSV.
type syncFlushFilter struct {
	syncFilter
	fl flusher
}

func (f *syncFlushFilter) Flush() error { return f.fl.Flush() }

// Fetched reports whether r is the record of a fetched URL: neither
// Skipped nor Error is set. For the crawler's records that means the
// request got a response, recorded as the URL's result whatever its
// status (Status is set): a 404 is fetched, and so is a 503 that was
// still a 503 when the retries ran out. A URL that got no response, or a
// 429 whose Retry-After was too long to wait for, is recorded with an
// Error: it is failed.
//
// Every record is exactly one of fetched (Fetched), failed (Failed) or
// skipped (Skipped set), as crawler.Stats (Fetched, Errors, Skipped) and
// Memory.Outcomes count them. Use Fetched with Filter to write only the
// fetched URLs (trawl --records fetched).
func Fetched(r Record) bool { return r.Skipped == "" && r.Error == "" }

// Failed reports whether r is the record of a failed URL: Error is set
// (no response, a response that could not be used, a redirect not
// followed) and Skipped is not; a record with both is skipped (see
// Fetched). Use Failed with Filter to write only the failures (trawl
// --records errors).
func Failed(r Record) bool { return r.Skipped == "" && r.Error != "" }
