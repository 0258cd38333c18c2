package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"trawl/store"
)

// sharedPoll is how often a process that holds none of a shared crawl's
// work (its frontier is an Outbox) looks again for some: the other
// workers queue the links they find, and the crawl ends when they settle
// the last URL.
const sharedPoll = 100 * time.Millisecond

// This file is the crawl's side of an Outbox: the identity check at the
// start (join), records handed to the frontier instead of the Sink
// (writeOutbox, skipOutbox), and the export of the outbox into the Sink
// while the crawl runs (startExport).

// CrawlMeta is the identity a crawl on a shared frontier (an Outbox) is
// known by: what Run gives Outbox.Join, as JSON. The first process to
// join sets it; every other one must crawl the same seeds with the same
// scope (or set Config.ResumeAnyway).
type CrawlMeta struct {
	Version int       `json:"version"`
	Crawl   CrawlID   `json:"crawl"`
	Started time.Time `json:"started"` // when the first process joined
}

// metaVersion is the version of CrawlMeta's format.
const metaVersion = 1

// ParseCrawlMeta reads the meta an Outbox holds (see Outbox.Join), for
// tools that show a crawl or join it without seeds of their own.
func ParseCrawlMeta(meta []byte) (CrawlMeta, error) {
	var m CrawlMeta
	if err := json.Unmarshal(meta, &m); err != nil {
		return CrawlMeta{}, fmt.Errorf("crawler: crawl meta: %w", err)
	}
	if m.Version != metaVersion {
		return CrawlMeta{}, fmt.Errorf("crawler: crawl meta has version %d, this trawl reads %d", m.Version, metaVersion)
	}
	return m, nil
}

// join makes the crawl of seeds the outbox's, or checks that the crawl the
// outbox holds is the same one: the same *MismatchError as a saved state
// of another crawl, unless ResumeAnyway.
func (r *run) join(ctx context.Context, seeds []store.Entry) error {
	urls := make([]string, len(seeds))
	for i, e := range seeds {
		urls[i] = e.URL
	}
	id := crawlID(r.cfg, urls)
	meta, err := json.Marshal(CrawlMeta{Version: metaVersion, Crawl: id, Started: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("crawler: crawl meta: %w", err)
	}
	saved, err := r.outbox.Join(ctx, meta)
	if err != nil {
		return fmt.Errorf("crawler: join: %w", err)
	}
	m, err := ParseCrawlMeta(saved)
	if err != nil {
		return err
	}
	if d := m.Crawl.diff(id); len(d) > 0 && !r.cfg.ResumeAnyway {
		return &MismatchError{Diffs: d}
	}
	return nil
}

// writeOutbox is write's end with an Outbox: l's record goes to the
// frontier with the ack, in one step. An ack the frontier refuses as
// stale wrote nothing: another worker holds the URL now and writes its
// record, so this one is neither counted nor an error.
func (r *run) writeOutbox(ctx context.Context, l store.Lease, rec *result, o store.Outcome) error {
	recorded := !unrecorded(l, rec)
	var data []byte
	if recorded {
		var err error
		if data, err = rec.Record.MarshalJSON(); err != nil {
			return fmt.Errorf("crawler: record %s: %w", l.URL, err)
		}
	}
	err := r.outbox.AckRecord(ctx, l, o, data)
	switch {
	case errors.Is(err, store.ErrStaleLease):
		r.counters.staleAcks.Add(1)
		r.logStale(ctx, l)
		return nil
	case err != nil:
		return fmt.Errorf("crawler: ack: %w", err)
	}
	if recorded {
		r.counters.recordResult(rec)
		if rec.Bytes > 0 {
			r.countBytes(ctx)
		}
	}
	return nil
}

// skipOutbox is skip with an Outbox: the record goes to the frontier in
// the step that marks e seen, if it is new.
func (r *run) skipOutbox(ctx context.Context, e store.Entry, reason string) error {
	rec := store.Record{URL: e.URL, Depth: e.Depth, Parent: e.Parent, Skipped: reason, Kind: e.Kind}
	data, err := rec.MarshalJSON()
	if err != nil {
		return fmt.Errorf("crawler: record %s: %w", e.URL, err)
	}
	first, err := r.outbox.MarkSeenRecord(ctx, e.Key, data)
	if err != nil {
		return fmt.Errorf("crawler: mark seen: %w", err)
	}
	if !first {
		r.counters.duplicates.Add(1)
		return nil
	}
	r.counters.record(&rec)
	return nil
}

// logStale writes the Info line of an ack refused as stale.
func (r *run) logStale(ctx context.Context, l store.Lease) {
	if !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "lease lost", slog.String(keyURL, l.URL), slog.String(keyHost, l.Host))
}

// exportTo returns the output Run exports an Outbox into, and its export
// name: nil for a nil Sink (the records stay in the outbox); an error
// for a Sink that is not a store.Output or has no name.
func exportTo(cfg Config) (store.Output, string, error) {
	if cfg.Sink == nil {
		return nil, "", nil
	}
	out, ok := cfg.Sink.(store.Output)
	if !ok {
		return nil, "", fmt.Errorf("%w: the frontier keeps the crawl's records and exports them exactly once, so the Sink (a %T) must be a store.Output, such as store.JSONL or store.CSV over a store.File, or store.Filter of one", ErrSinkNotDurable, cfg.Sink)
	}
	name := cfg.ExportName
	if name == "" {
		path := absName(out)
		if path == "" {
			return nil, "", fmt.Errorf("crawler: the Sink (a %T) has no file name to export the frontier's records under: set Config.ExportName", cfg.Sink)
		}
		host, err := os.Hostname()
		if err != nil {
			return nil, "", fmt.Errorf("crawler: export name: %w", err)
		}
		name = host + ":" + path
	}
	return out, name, nil
}

// export is the export of an Outbox into an output that runs alongside a
// crawl. The zero value (no output) does nothing.
type export struct {
	stop chan struct{} // closed when the crawl is done
	done chan error    // the export's result
}

// startExport starts exporting ob into out under name until ctx ends or,
// once finish is called, until nothing is left to take. A failed export
// calls fail, which stops the crawl.
func startExport(ctx context.Context, ob Outbox, name string, out store.Output, fail func()) *export {
	e := &export{stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		err := ob.Export(ctx, name, out, e.stop)
		if err != nil {
			fail()
		}
		e.done <- err
	}()
	return e
}

// finish tells the export that the crawl is done and waits for it to take
// what is left.
func (e *export) finish() error {
	if e == nil {
		return nil
	}
	close(e.stop)
	return <-e.done
}
