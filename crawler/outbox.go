package crawler

import (
	"context"

	"trawl/store"
)

// Outbox is a Frontier that many processes share and that keeps the
// crawl's records itself, such as the Redis frontier (trawl/store/redis):
// each record is written in the same atomic step as the Ack or MarkSeen
// that decides its URL, and only if that step decides it. Records then
// reach an output through Export, exactly once across all the processes.
//
// With an Outbox, Run hands every record to the frontier instead of
// putting it into Config.Sink. If Config.Sink is set it must be a
// store.Output, and Run exports the outbox into it while it crawls and
// until nothing is left when it ends, under the name Config.ExportName
// (or the output's name). Before it pushes the seeds, Run joins the
// crawl with its identity (a CrawlMeta, as JSON) and refuses a crawl of
// other seeds or scope unless Config.ResumeAnyway. The package doc says
// what is global and what is each process's own.
//
// An Outbox is used by many goroutines at once.
type Outbox interface {
	Frontier
	// AckRecord is Ack that, when rec is not nil, appends rec (a JSON
	// record, as store.Record's MarshalJSON writes it) to the outbox in
	// the same step. A stale lease writes nothing and returns
	// store.ErrStaleLease.
	AckRecord(ctx context.Context, l store.Lease, o store.Outcome, rec []byte) error
	// MarkSeenRecord is MarkSeen that, when the key is new, appends rec to
	// the outbox in the same step.
	MarkSeenRecord(ctx context.Context, key string, rec []byte) (first bool, err error)
	// Join makes meta (the crawl's identity, a CrawlMeta as JSON) the
	// crawl's own if the crawl has none yet, and returns the crawl's
	// meta: meta itself for a new crawl, what the first process gave for
	// one that exists.
	Join(ctx context.Context, meta []byte) (saved []byte, err error)
	// Export moves the outbox's records into out, exactly once across
	// every output of the crawl: it first cuts out back to what name last
	// committed, then takes records, writes them, syncs out and commits.
	// It returns when ctx ends, or when stop is closed (nil: at once) and
	// no record is left to take.
	Export(ctx context.Context, name string, out store.Output, stop <-chan struct{}) error
}
