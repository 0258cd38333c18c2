package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"trawl/store"
)

// Checkpointer is a Frontier whose changes become durable only at a
// checkpoint, such as disk.Frontier. With one, Run checkpoints every
// Config.CheckpointInterval and when it stops, and resumes from the last
// checkpoint when the frontier already holds one.
//
// A Checkpointer that is also a Flusher can keep changes between
// checkpoints: Run flushes each group of records before their workers go
// on, so that a crash of the process redoes at most the URLs in flight.
type Checkpointer interface {
	Frontier
	// Checkpoint durably commits every change since the last checkpoint,
	// atomically with meta.
	Checkpoint(ctx context.Context, meta []byte) error
	// Meta returns the meta of the last checkpoint, nil if none.
	Meta() []byte
}

// Flusher is a Checkpointer with a cheap way to keep its changes between
// checkpoints, such as disk.Frontier's journal: Flush makes every change
// since the last checkpoint survive a crash of the process (not
// necessarily one of the machine), with meta. A reopened Flusher comes
// back with the flushes after its last checkpoint that
// store.FrontierOptions.AcceptFlush keeps.
type Flusher interface {
	Flush(meta []byte) error
	// FlushMeta returns the meta of the last flush since the last
	// checkpoint, nil if none.
	FlushMeta() []byte
}

// SyncSink is a Sink whose output can be made durable and cut back, such
// as store.JSONL or store.CSV writing to a store.File, or store.Filter of
// one. With a Checkpointer frontier the Sink must be one (Run refuses any
// other with ErrSinkNotDurable): Run syncs it before each checkpoint and
// keeps the synced size in the checkpoint; with a Flusher it marks the
// output at each flush and keeps the span written since the last one. A
// resumed crawl checks the spans of the flushes it replays against the
// file (a crash of the machine can lose unsynced output) and rewinds the
// output to the end of the last one it keeps, so each URL has exactly one
// record in the output however often the crawl was killed.
type SyncSink interface {
	Sink
	// Sync writes out buffered records, makes the output durable and
	// returns its size.
	Sync() (pos int64, err error)
	// Mark writes out buffered records without syncing them and returns
	// the span written since the last Mark, Sync or Rewind.
	Mark() (store.Span, error)
	// Verify checks that the output holds a span's bytes.
	Verify(store.Span) error
	// Rewind drops buffered records and cuts the output back to pos.
	Rewind(pos int64) error
}

// flushSink is a Sink that buffers, such as store.JSONL: Run flushes it
// before it returns.
type flushSink interface {
	Flush() error
}

// ErrSinkNotDurable is returned by Run, before it fetches anything, when
// the frontier checkpoints (it keeps the crawl across crashes) but the
// Sink is not a SyncSink: its records could not be kept exactly once, and
// records of work done before a crash would be lost or doubled.
var ErrSinkNotDurable = errors.New("crawler: the sink cannot keep its records across crashes")

// ErrOutputNotEmpty is returned by Run when a new crawl with a
// checkpointing frontier would cut an output that already holds data;
// set Config.Overwrite to start it anyway.
var ErrOutputNotEmpty = errors.New("crawler: the output already holds data and the crawl state is new")

// ErrStateMismatch is returned by Run, wrapped in a *MismatchError, when
// the frontier's saved state belongs to a crawl with other seeds or
// settings; set Config.ResumeAnyway to continue it regardless.
var ErrStateMismatch = errors.New("crawler: saved state is of another crawl")

// MismatchError lists the settings in which a saved crawl differs from
// the one Run was asked for. errors.Is(err, ErrStateMismatch) holds.
type MismatchError struct {
	Diffs []SettingDiff
}

// SettingDiff is one setting of a saved crawl and of the crawl at hand,
// as text: Name is the Config field ("Seeds", "Scope", "Include",
// "Exclude", "MaxDepth", "MaxPages", "MaxPerHost").
type SettingDiff struct {
	Name, Saved, Now string
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	b.WriteString(ErrStateMismatch.Error())
	for i, d := range e.Diffs {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s was %s, now %s", sep, d.Name, d.Saved, d.Now)
	}
	b.WriteString(" (set ResumeAnyway to continue it with these settings)")
	return b.String()
}

// Is reports whether target is ErrStateMismatch.
func (e *MismatchError) Is(target error) bool { return target == ErrStateMismatch }

// ErrOutputMoved is returned by Run when a saved crawl is resumed with an
// output other than the one it wrote: cutting that one back to the saved
// size could destroy another file's data. Resume with the output the
// error names, or start a new state.
var ErrOutputMoved = errors.New("crawler: the saved crawl wrote another output")

// stateVersion is the version of the checkpoint meta format.
const stateVersion = 1

// State is what a checkpoint records about its crawl, besides the
// frontier's own data.
type State struct {
	Version int     `json:"version"`
	Crawl   CrawlID `json:"crawl"`
	Progress
	Started time.Time `json:"started"` // first run
	Runs    int       `json:"runs"`    // how many runs worked on it
	// OutputName is the absolute path of the output the crawl writes,
	// when its sink names one (a Name() string method, as store.JSONL
	// and store.CSV over a file have); a resumed crawl must write the same.
	OutputName string `json:"output_name,omitempty"`
	// ArchiveName is the absolute path of the archive's name (such as
	// store.WARC's), when the crawl archives with one that names itself;
	// a resumed crawl must archive to the same.
	ArchiveName string `json:"archive_name,omitempty"`
	// HostPages are the URLs admitted per host against MaxPerHost, as of
	// the last checkpoint (flushes do not carry them).
	HostPages map[string]int `json:"host_pages,omitempty"`
}

// Progress is the part of State that changes as the crawl goes: what a
// checkpoint records with the rest, and a flush alone.
type Progress struct {
	Output int64 `json:"output_pos"` // output size; -1 if the sink cannot sync
	// Tail is, for a flush, the span of output written since the flush or
	// checkpoint before; nil for a checkpoint, whose output is synced.
	Tail     *store.Span `json:"tail,omitempty"`
	Admitted int         `json:"admitted"` // URLs admitted against MaxPages
	Updated  time.Time   `json:"updated"`  // this checkpoint or flush
	// ScopeAdded are the scope keys that seeds' redirects brought in
	// (http://example.com/ -> https://www.example.com/), so that a
	// resumed crawl, whose seeds are done, keeps following them.
	ScopeAdded []string `json:"scope_added,omitempty"`
	// Counts are the records written up to this checkpoint or flush, over
	// all the crawl's runs: they describe exactly the output kept.
	Counts Counts `json:"counts"`
	// Archive is where the archive (a SyncArchive) ended at this
	// checkpoint or flush; nil for a crawl without one.
	Archive *store.WARCPos `json:"archive_pos,omitempty"`
	// ArchiveTail is, for a flush, what the archive was written since the
	// flush or checkpoint before.
	ArchiveTail *store.WARCMark `json:"archive_tail,omitempty"`
}

// Counts is how many records a crawl wrote, by outcome, with the names
// of the summary: fetched (by HTTP status), errors, skipped (by reason),
// and the decoded body bytes they kept, which a resumed crawl counts
// against Config.MaxBytes.
type Counts struct {
	Fetched int64            `json:"fetched"`
	Errors  int64            `json:"errors"`
	Skipped map[string]int64 `json:"skipped,omitempty"`
	Status  map[int]int64    `json:"status,omitempty"`
	Bytes   int64            `json:"bytes"`
}

// Records is the number of records counted.
func (c Counts) Records() int64 {
	n := c.Fetched + c.Errors
	for _, v := range c.Skipped {
		n += v
	}
	return n
}

// plus returns c with the counts of s added.
func (c Counts) plus(s Stats) Counts {
	out := Counts{Fetched: c.Fetched + s.Fetched, Errors: c.Errors + s.Errors,
		Skipped: maps.Clone(c.Skipped), Status: maps.Clone(c.Status), Bytes: c.Bytes + s.Bytes}
	for k, v := range s.Skipped {
		if out.Skipped == nil {
			out.Skipped = map[string]int64{}
		}
		out.Skipped[k] += v
	}
	for k, v := range s.Status {
		if out.Status == nil {
			out.Status = map[int]int64{}
		}
		out.Status[k] += v
	}
	return out
}

// CrawlID is what makes a resumed crawl the same crawl: seeds and the
// settings that decide which URLs it fetches.
type CrawlID struct {
	Seeds    []string `json:"seeds"`
	Scope    string   `json:"scope"`
	Include  []string `json:"include,omitempty"`
	Exclude  []string `json:"exclude,omitempty"`
	MaxDepth int      `json:"max_depth,omitempty"`
	MaxPages int      `json:"max_pages,omitempty"`
	// MaxPerHost is Config.MaxPerHost.
	MaxPerHost int `json:"max_per_host,omitempty"`
}

// SavedState returns what cp holds about the crawl saved in it: the meta
// of its last checkpoint, brought up to date by its last flush if it is a
// Flusher; nil if it holds no crawl. It is for tools that show a saved
// crawl (trawl state).
func SavedState(cp Checkpointer) (*State, error) {
	meta := cp.Meta()
	if meta == nil {
		return nil, nil
	}
	var st State
	if err := json.Unmarshal(meta, &st); err != nil {
		return nil, fmt.Errorf("crawler: saved state: %w", err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("crawler: saved state has version %d, this trawl reads %d", st.Version, stateVersion)
	}
	if f, ok := cp.(Flusher); ok {
		if fm := f.FlushMeta(); fm != nil {
			if err := json.Unmarshal(fm, &st.Progress); err != nil {
				return nil, fmt.Errorf("crawler: saved state: last flush: %w", err)
			}
		}
	}
	return &st, nil
}

func crawlID(cfg Config, seeds []string) CrawlID {
	id := CrawlID{Seeds: slices.Sorted(slices.Values(seeds)), Scope: cfg.Scope.String(), MaxDepth: cfg.MaxDepth, MaxPages: cfg.MaxPages, MaxPerHost: cfg.MaxPerHost}
	id.Seeds = slices.Compact(id.Seeds)
	for _, re := range cfg.Include {
		id.Include = append(id.Include, re.String())
	}
	for _, re := range cfg.Exclude {
		id.Exclude = append(id.Exclude, re.String())
	}
	return id
}

// diff lists the settings in which the saved identity a differs from b.
func (a CrawlID) diff(b CrawlID) []SettingDiff {
	list := func(v []string) string {
		if len(v) == 0 {
			return "none"
		}
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = strconv.Quote(s)
		}
		return strings.Join(q, " ")
	}
	limit := func(n int) string {
		if n <= 0 {
			return "no limit"
		}
		return strconv.Itoa(n)
	}
	depth := func(n int) string {
		if n < 0 {
			return "seeds only"
		}
		return limit(n)
	}
	var d []SettingDiff
	add := func(name, saved, now string) {
		if saved != now {
			d = append(d, SettingDiff{name, saved, now})
		}
	}
	add("Seeds", list(a.Seeds), list(b.Seeds))
	add("Scope", a.Scope, b.Scope)
	add("Include", list(a.Include), list(b.Include))
	add("Exclude", list(a.Exclude), list(b.Exclude))
	add("MaxDepth", depth(a.MaxDepth), depth(b.MaxDepth))
	add("MaxPages", limit(a.MaxPages), limit(b.MaxPages))
	add("MaxPerHost", limit(a.MaxPerHost), limit(b.MaxPerHost))
	return d
}

// acceptFlush returns the frontier's store.FrontierOptions.AcceptFlush for
// sink and archive: a flush is kept only if the output and the archive
// still hold the spans it wrote.
func acceptFlush(sink Sink, archive Archive) func(meta []byte) bool {
	ss, _ := sink.(SyncSink)
	sa, _ := archive.(SyncArchive)
	if ss == nil && sa == nil {
		return nil // nothing to check: the records are not taken back anyway
	}
	return func(meta []byte) bool {
		var p Progress
		if err := json.Unmarshal(meta, &p); err != nil {
			return false
		}
		if ss != nil && p.Tail != nil && ss.Verify(*p.Tail) != nil {
			return false
		}
		return sa == nil || p.ArchiveTail == nil || sa.Verify(*p.ArchiveTail) == nil
	}
}

// resume reads the frontier's last checkpoint or flush, if any, refuses
// another crawl's state, and brings the output back to that point.
func (r *run) resume(ctx context.Context, seeds []string) error {
	id := crawlID(r.cfg, seeds)
	now := time.Now().UTC()
	r.state = &State{Version: stateVersion, Crawl: id, Progress: Progress{Output: -1}, Started: now, Runs: 1,
		OutputName: r.outputName(), ArchiveName: r.archiveName()}
	st, err := SavedState(r.cp)
	if err != nil {
		return err
	}
	if st != nil {
		if d := st.Crawl.diff(id); len(d) > 0 && !r.cfg.ResumeAnyway {
			return &MismatchError{Diffs: d}
		}
		if now := r.outputName(); st.OutputName != "" && now != "" && now != st.OutputName {
			return fmt.Errorf("%w: the crawl state was written with output %s, and this crawl writes %s; resume with that output (or start a new state)", ErrOutputMoved, st.OutputName, now)
		}
		if now := r.archiveName(); st.ArchiveName != "" && now != "" && now != st.ArchiveName {
			return fmt.Errorf("%w: the crawl state was written with archive %s, and this crawl archives to %s; resume with that archive (or start a new state)", ErrArchiveMoved, st.ArchiveName, now)
		}
		if st.ArchiveName == "" {
			st.ArchiveName = r.archiveName()
		}
		st.Crawl = id
		st.Runs++
		st.Tail, st.ArchiveTail = nil, nil
		r.state = st
		r.counted = st.Counts
		r.priorBytes = st.Counts.Bytes
		r.admitted.Store(int64(st.Admitted))
		r.hostMu.Lock()
		r.hostPages = st.HostPages
		r.hostMu.Unlock()
		for _, k := range st.ScopeAdded {
			r.widen(k)
		}
		fs, err := r.frontier.Stats(ctx)
		if err != nil {
			return fmt.Errorf("crawler: frontier stats: %w", err)
		}
		r.resumed.Store(&Resumed{Done: st.Counts.Records(), Queued: fs.Queued + fs.InFlight, Runs: st.Runs - 1})
	}
	if r.syncSink != nil {
		pos := max(r.state.Output, 0)
		if st == nil {
			pos = 0 // a new crawl starts a new output
			span, err := r.syncSink.Mark()
			if err != nil {
				return fmt.Errorf("crawler: output: %w", err)
			}
			// The span starts where the output was when it was opened:
			// what a sink writes by itself (a CSV header) is not data.
			if span.From > 0 && !r.cfg.Overwrite {
				return fmt.Errorf("%w: it has %d bytes, which starting the crawl would cut (use Overwrite to start anyway)", ErrOutputNotEmpty, span.From)
			}
		}
		if err := r.syncSink.Rewind(pos); err != nil {
			return fmt.Errorf("crawler: rewind output to the checkpoint: %w", err)
		}
	}
	if r.syncArchive != nil {
		var pos store.WARCPos
		if saved := r.state.Archive; st != nil && saved != nil {
			pos = *saved
		} else if end := r.syncArchive.End(); end != (store.WARCPos{}) && !r.cfg.Overwrite {
			// A new crawl, or one that archived nothing so far, starts
			// a new archive.
			return fmt.Errorf("%w: %s holds records up to file %d offset %d, which starting the crawl would cut (use Overwrite to start anyway)", ErrArchiveNotEmpty, r.archiveName(), end.File, end.Offset)
		}
		if err := r.syncArchive.Rewind(pos); err != nil {
			return fmt.Errorf("crawler: rewind archive to the checkpoint: %w", err)
		}
	}
	return nil
}

// commits tracks group commit: writers join the current generation, whose
// channel the next flush or checkpoint closes once it is durable.
type commits struct {
	mu      sync.Mutex
	gen     chan struct{} // closed when the current generation is durable
	signal  chan struct{} // capacity 1: the generation has writes
	full    chan struct{} // capacity 1: every busy worker waits for the generation
	waiting int           // workers waiting for the generation
	err     error         // a failed checkpoint: sticky
}

// dirty registers a write with the current generation and returns the
// channel closed when it is durable; nil without a checkpointing frontier,
// or with interval checkpoints on one that cannot flush (nobody waits
// then). wait says the caller will wait on the channel. It requires
// commitMu read-locked, so the generation cannot turn over meanwhile.
func (r *run) dirty(wait bool) <-chan struct{} {
	if r.cp == nil {
		return nil
	}
	c := &r.commits
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
	if r.flusher == nil && r.cfg.CheckpointInterval > 0 {
		return nil
	}
	if wait {
		if c.waiting++; c.waiting >= int(r.busy.Load()) {
			select {
			case c.full <- struct{}{}:
			default:
			}
		}
	}
	return c.gen
}

func (r *run) commitErr() error {
	r.commits.mu.Lock()
	defer r.commits.mu.Unlock()
	return r.commits.err
}

// commitLoop makes writes durable until ctx ends. With a negative
// CheckpointInterval it checkpoints each group of writes as soon as there
// is one, back to back. With a positive one it checkpoints on that period
// when there were writes; in between, a Flusher flushes each group as
// soon as there is one, and with a frontier that cannot flush nobody
// waits.
func (r *run) commitLoop(ctx context.Context) error {
	every := r.cfg.CheckpointInterval
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	pending := false // writes since the last checkpoint
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			if !pending {
				continue
			}
		case <-r.commits.signal:
			pending = true
			switch {
			case every < 0:
			case r.flusher == nil:
				continue // the tick checkpoints them
			default:
				r.gather(ctx)
				if err := r.flush(ctx); err != nil {
					return err
				}
				// A long interval on a fast crawl: checkpoint early rather
				// than let the journal and the frontier's RAM outgrow
				// their bound.
				if p, ok := r.cp.(pender); !ok || p.Pending() <= maxPending {
					continue
				}
			}
		}
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
		pending = false
	}
}

// flushLinger is the longest a flush waits for more records to join its
// group. A flush costs two write calls and a few microseconds of CPU
// whatever its size, so on a fast site, where each worker comes back
// within a millisecond or two, waiting a little makes groups several times
// bigger and the crawl faster; against real sites, whose answers take tens
// of milliseconds, it is noise.
const flushLinger = 300 * time.Microsecond

// gather waits, before a flush, until every busy worker waits for it or
// flushLinger has passed, or ctx ends.
func (r *run) gather(ctx context.Context) {
	t := time.NewTimer(flushLinger)
	defer t.Stop()
	select {
	case <-r.commits.full:
	case <-t.C:
	case <-ctx.Done():
	}
}

// pender is a Flusher that tells how much it holds since its last
// checkpoint (disk.Frontier).
type pender interface{ Pending() int }

// maxPending is the most changes, in bytes, that Run lets a Flusher hold
// between checkpoints, whatever CheckpointInterval says.
var maxPending = 64 << 20

// turnover starts a new commit generation and returns a function that
// ends the old one with the result of the flush or checkpoint that made
// it durable: it records a failure, then releases the waiting writers.
// It requires commitMu held.
func (r *run) turnover() func(error) {
	c := &r.commits
	c.mu.Lock()
	gen := c.gen
	c.gen = make(chan struct{})
	c.waiting = 0
	select {
	case <-c.full: // of the old generation
	default:
	}
	c.mu.Unlock()
	return func(err error) {
		c.mu.Lock()
		if err != nil && c.err == nil {
			c.err = err // before the waiters wake, so they see it
		}
		c.mu.Unlock()
		close(gen)
	}
}

// flush hands the output written since the last flush or checkpoint to
// the OS and journals the frontier's changes with the span: both survive a
// crash of the process, not necessarily one of the machine.
func (r *run) flush(ctx context.Context) error { return r.commit(ctx, false) }

// checkpoint makes the output and the frontier durable together.
func (r *run) checkpoint(ctx context.Context) error { return r.commit(ctx, true) }

// commit is flush, or with sync checkpoint. With commitMu held, no record
// is half way between sink and frontier. It then releases the writers of
// the generation it committed.
func (r *run) commit(ctx context.Context, sync bool) (err error) {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	defer r.counters.commitTimed(sync, time.Now())
	done := r.turnover()
	defer func() { r.logCommit(ctx, sync, err); done(err) }()
	r.state.Tail = nil
	switch {
	case r.syncSink != nil && sync:
		pos, err := r.syncSink.Sync()
		if err != nil {
			return fmt.Errorf("crawler: %w", err)
		}
		r.state.Output = pos
	case r.syncSink != nil:
		span, err := r.syncSink.Mark()
		if err != nil {
			return fmt.Errorf("crawler: %w", err)
		}
		r.state.Output, r.state.Tail = span.To, &span
	}
	r.state.ArchiveTail = nil
	switch {
	case r.syncArchive != nil && sync:
		pos, err := r.syncArchive.Sync()
		if err != nil {
			return fmt.Errorf("crawler: archive: %w", err)
		}
		r.state.Archive = &pos
	case r.syncArchive != nil:
		m, err := r.syncArchive.Mark()
		if err != nil {
			return fmt.Errorf("crawler: archive: %w", err)
		}
		r.state.Archive, r.state.ArchiveTail = &m.End, &m
	}
	r.state.Admitted = int(r.admitted.Load())
	if sync {
		r.state.HostPages = r.hostPagesCopy()
	}
	r.state.ScopeAdded = r.widened()
	r.state.Counts = r.counted.plus(r.counters.stats())
	r.state.Updated = time.Now().UTC()
	var meta []byte
	if sync {
		meta, err = json.Marshal(r.state)
	} else {
		meta, err = json.Marshal(r.state.Progress) // small: no seeds
	}
	switch {
	case err != nil:
	case sync:
		err = r.cp.Checkpoint(context.WithoutCancel(ctx), meta)
	default:
		err = r.flusher.Flush(meta)
	}
	switch {
	case err != nil && sync:
		return fmt.Errorf("crawler: checkpoint: %w", err)
	case err != nil:
		return fmt.Errorf("crawler: flush state: %w", err)
	}
	if sw, ok := r.cp.(statusWriter); ok && (sync || time.Since(r.statusAt) >= statusEvery) {
		r.publish(context.WithoutCancel(ctx), sw)
	}
	return nil
}

// Status is what a crawl with a checkpointing frontier that can publish
// one (disk.Frontier.WriteStatus) publishes at each checkpoint and, at
// most every statusEvery, at its flushes: its State as of that moment,
// Counts included, and its frontier's counts. Tools read it while the
// crawl holds the state (trawl state).
type Status struct {
	State
	Frontier store.FrontierStats `json:"frontier"`
	PID      int                 `json:"pid"`
	// Running is false in the status of the last checkpoint of a Run.
	Running bool `json:"running"`
}

// statusEvery is the least time between two statuses published at
// flushes; checkpoints always publish.
const statusEvery = 250 * time.Millisecond

// statusWriter is a Checkpointer that can publish a status (disk.Frontier).
type statusWriter interface{ WriteStatus(data []byte) error }

// publish writes the crawl's status. A failure is not the crawl's: the
// status is not part of the state. publish requires commitMu held.
func (r *run) publish(ctx context.Context, sw statusWriter) {
	st := Status{State: *r.state, PID: os.Getpid(), Running: !r.closing.Load()}
	if fs, err := r.frontier.Stats(ctx); err == nil {
		st.Frontier = fs
	}
	if data, err := json.Marshal(st); err == nil && sw.WriteStatus(data) == nil {
		r.statusAt = time.Now()
	}
}

// Resumed describes the saved state a crawl continued from.
type Resumed struct {
	Done   int64 // records written by the earlier runs
	Queued int   // URLs waiting or in flight when the state was saved
	Runs   int   // earlier runs of the crawl
}

// outputName returns the absolute path of the sink's output, if the sink
// names one, else "".
func (r *run) outputName() string { return absName(r.sink) }

// archiveName returns the absolute path of the archive's name, if it
// names itself, else "".
func (r *run) archiveName() string { return absName(r.cfg.Archive) }

// absName returns the absolute path of v's Name(), if it has a non-empty
// one, else "".
func absName(v any) string {
	n, ok := v.(interface{ Name() string })
	if !ok || n.Name() == "" {
		return ""
	}
	abs, err := filepath.Abs(n.Name())
	if err != nil {
		return n.Name()
	}
	return abs
}
