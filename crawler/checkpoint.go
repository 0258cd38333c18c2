package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Checkpointer is a Frontier whose changes become durable only at a
// checkpoint, such as store.Disk. With one, Run checkpoints every
// Config.CheckpointInterval and when it stops, and resumes from the last
// checkpoint when the frontier already holds one.
type Checkpointer interface {
	Frontier
	// Checkpoint durably commits every change since the last checkpoint,
	// atomically with meta.
	Checkpoint(ctx context.Context, meta []byte) error
	// Meta returns the meta of the last checkpoint, nil if none.
	Meta() []byte
}

// SyncSink is a Sink whose output can be made durable and cut back, such
// as store.JSONL or store.CSV writing to a store.File. With a Checkpointer
// frontier, Run syncs it before each checkpoint and keeps the synced size
// in the checkpoint; a resumed crawl rewinds it there, so each URL has
// exactly one record in the output however often the crawl was killed.
// With a plain Sink, records of work redone after a crash are written
// again.
type SyncSink interface {
	Sink
	Sync() (pos int64, err error)
	Rewind(pos int64) error
}

// ErrStateMismatch is returned by Run when the frontier's saved state
// belongs to a crawl with other seeds or scope; set Config.ResumeAnyway to
// continue it regardless.
var ErrStateMismatch = errors.New("crawler: saved state is of another crawl")

// stateVersion is the version of the checkpoint meta format.
const stateVersion = 1

// State is what a checkpoint records about its crawl, besides the
// frontier's own data.
type State struct {
	Version  int       `json:"version"`
	Crawl    CrawlID   `json:"crawl"`
	Output   int64     `json:"output_pos"` // synced output size; -1 if the sink cannot sync
	Admitted int       `json:"admitted"`   // URLs admitted against MaxPages
	Started  time.Time `json:"started"`    // first run
	Updated  time.Time `json:"updated"`    // this checkpoint
	Runs     int       `json:"runs"`       // how many runs worked on it
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
}

// ParseState decodes a checkpoint's meta, as returned by a Checkpointer's
// Meta. It is for tools that show a saved crawl (trawl state).
func ParseState(meta []byte) (*State, error) {
	var st State
	if err := json.Unmarshal(meta, &st); err != nil {
		return nil, fmt.Errorf("crawler: saved state: %w", err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("crawler: saved state has version %d, this trawl reads %d", st.Version, stateVersion)
	}
	return &st, nil
}

func crawlID(cfg Config, seeds []string) CrawlID {
	id := CrawlID{Seeds: slices.Sorted(slices.Values(seeds)), Scope: cfg.Scope.String(), MaxDepth: cfg.MaxDepth, MaxPages: cfg.MaxPages}
	id.Seeds = slices.Compact(id.Seeds)
	for _, re := range cfg.Include {
		id.Include = append(id.Include, re.String())
	}
	for _, re := range cfg.Exclude {
		id.Exclude = append(id.Exclude, re.String())
	}
	return id
}

// same reports whether two crawl identities describe the same crawl.
func (a CrawlID) same(b CrawlID) bool {
	return slices.Equal(a.Seeds, b.Seeds) && a.Scope == b.Scope &&
		slices.Equal(a.Include, b.Include) && slices.Equal(a.Exclude, b.Exclude) &&
		a.MaxDepth == b.MaxDepth && a.MaxPages == b.MaxPages
}

// resume reads the frontier's last checkpoint, if any, refuses another
// crawl's state, and brings the output back to the checkpoint.
func (r *run) resume(ctx context.Context, seeds []string) error {
	id := crawlID(r.cfg, seeds)
	now := time.Now().UTC()
	r.state = &State{Version: stateVersion, Crawl: id, Output: -1, Started: now, Runs: 1}
	meta := r.cp.Meta()
	if meta != nil {
		st, err := ParseState(meta)
		if err != nil {
			return err
		}
		if !st.Crawl.same(id) && !r.cfg.ResumeAnyway {
			return fmt.Errorf("%w: it was started with seeds %v and scope %s (use ResumeAnyway to continue it with these settings)",
				ErrStateMismatch, st.Crawl.Seeds, st.Crawl.Scope)
		}
		st.Crawl = id
		st.Runs++
		r.state = st
		r.admitted.Store(int64(st.Admitted))
		fs, err := r.frontier.Stats(ctx)
		if err != nil {
			return fmt.Errorf("crawler: frontier stats: %w", err)
		}
		r.resumed.Store(&Resumed{Done: fs.Done, Queued: fs.Queued + fs.InFlight, Runs: st.Runs - 1})
	}
	if r.syncSink != nil {
		pos := max(r.state.Output, 0)
		if meta == nil {
			pos = 0 // a new crawl starts a new output
		}
		if err := r.syncSink.Rewind(pos); err != nil {
			return fmt.Errorf("crawler: rewind output to the checkpoint: %w", err)
		}
	}
	return nil
}

// commits tracks group commit: writers join the current generation, whose
// channel the next checkpoint closes once it is durable.
type commits struct {
	mu     sync.Mutex
	gen    chan struct{} // closed when the current generation is durable
	signal chan struct{} // capacity 1: the generation has writes
	err    error         // a failed checkpoint: sticky
}

// dirty registers a write with the current generation and returns the
// channel closed when it is durable; nil without a checkpointing frontier
// or with interval checkpoints (nobody waits then). It requires commitMu
// read-locked, so the generation cannot turn over meanwhile.
func (r *run) dirty() <-chan struct{} {
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
	if r.cfg.CheckpointInterval > 0 {
		return nil
	}
	return c.gen
}

func (r *run) commitErr() error {
	r.commits.mu.Lock()
	defer r.commits.mu.Unlock()
	return r.commits.err
}

// commitLoop checkpoints until ctx ends: with group commit as soon as
// there are writes, back to back; with CheckpointInterval on that period.
func (r *run) commitLoop(ctx context.Context) error {
	var tick <-chan time.Time
	if r.cfg.CheckpointInterval > 0 {
		t := time.NewTicker(r.cfg.CheckpointInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case <-r.commits.signal:
		case <-ctx.Done():
			return nil
		}
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
	}
}

// checkpoint makes the output and the frontier durable together: with
// commitMu held, no record is half way between sink and frontier. It then
// releases the writers of the generation it committed.
func (r *run) checkpoint(ctx context.Context) (err error) {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	c := &r.commits
	c.mu.Lock()
	gen := c.gen
	c.gen = make(chan struct{})
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if err != nil && c.err == nil {
			c.err = err // before the waiters wake, so they see it
		}
		c.mu.Unlock()
		close(gen)
	}()
	if r.syncSink != nil {
		pos, err := r.syncSink.Sync()
		if err != nil {
			return fmt.Errorf("crawler: sync output: %w", err)
		}
		r.state.Output = pos
	}
	r.state.Admitted = int(r.admitted.Load())
	r.state.Updated = time.Now().UTC()
	meta, err := json.Marshal(r.state)
	if err != nil {
		return fmt.Errorf("crawler: checkpoint: %w", err)
	}
	if err := r.cp.Checkpoint(context.WithoutCancel(ctx), meta); err != nil {
		return fmt.Errorf("crawler: checkpoint: %w", err)
	}
	return nil
}

// Resumed describes the saved state a crawl continued from.
type Resumed struct {
	Done   int64 // URLs already settled
	Queued int   // URLs waiting or in flight when the state was saved
	Runs   int   // earlier runs of the crawl
}
