package crawler

import (
	"context"
	"errors"
	"fmt"

	"trawl/fetch"
	"trawl/fetch/render"
	"trawl/store"
)

// Archive keeps the requests and responses of a crawl as exchanged, such
// as store.WARC (see Config.Archive). Write is called from many
// goroutines at once.
type Archive interface {
	// Write archives the exchanges of one fetch, in order, and returns
	// where the last one's response is archived.
	Write(ex []*fetch.Exchange) (store.WARCRef, error)
}

// SyncArchive is an Archive that can be made durable and cut back, as a
// SyncSink is for the records: store.WARC is one. With a Checkpointer
// frontier Run syncs it before each checkpoint and marks it at each
// flush, keeping its position in the crawl's state, and a resumed crawl
// cuts it back to the position of the last checkpoint or flush it keeps,
// so that each response is archived once, with its record, however often
// the crawl was killed.
type SyncArchive interface {
	Archive
	// Sync writes out what is buffered, makes it durable and returns the
	// position after it.
	Sync() (store.WARCPos, error)
	// Mark writes out what is buffered, without syncing it, and returns
	// what was written since the last Mark, Sync or Rewind.
	Mark() (store.WARCMark, error)
	// Verify checks that the archive holds what a Mark described.
	Verify(store.WARCMark) error
	// Rewind drops what is buffered and cuts the archive back to pos.
	Rewind(pos store.WARCPos) error
	// End returns the position after everything written.
	End() store.WARCPos
}

// ErrArchiveNotDurable is returned by Run, before it fetches anything,
// when the frontier checkpoints but Config.Archive is not a SyncArchive:
// its responses could not be kept exactly once across crashes.
var ErrArchiveNotDurable = errors.New("crawler: the archive cannot keep its records across crashes")

// ErrArchiveNotEmpty is returned by Run when a new crawl with a
// checkpointing frontier would cut an archive (a SyncArchive) that already
// holds records; set Config.Overwrite to start it anyway.
var ErrArchiveNotEmpty = errors.New("crawler: the archive already holds records and the crawl state is new")

// ErrArchiveMoved is returned by Run when a saved crawl is resumed with
// an archive other than the one it wrote, which cutting back to the saved
// position could damage.
var ErrArchiveMoved = errors.New("crawler: the saved crawl archived elsewhere")

// result is the record of one attempt at a URL on its way to the sink,
// with the exchanges of its fetch, archived when the record is written.
type result struct {
	store.Record
	exchanges     []*fetch.Exchange
	rendered      *render.Result // the page as the browser rendered it (Config.Render)
	recordMetrics                // for the counters (stats.go)
}

// archive writes exchanges that have no record of their own (robots.txt,
// an attempt that will be retried) under commitMu, so that a checkpoint
// keeps them exactly when it keeps the frontier change that goes with
// them; then, if set, it runs also, still under commitMu.
func (r *run) archive(ctx context.Context, ex []*fetch.Exchange, also func() error) error {
	r.commitMu.RLock()
	defer r.commitMu.RUnlock()
	r.dirty(false)
	if r.cfg.Archive != nil && len(ex) > 0 {
		if _, err := r.cfg.Archive.Write(ex); err != nil {
			return fmt.Errorf("crawler: archive: %w", err)
		}
	}
	if also != nil {
		return also()
	}
	return nil
}
