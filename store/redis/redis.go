// Package redis is a crawl frontier on Redis (or Valkey) that any number
// of worker processes, on any machines, share: a crawl of many machines.
//
// Every change of state is one Lua script, so each is atomic across the
// workers: Push deduplicates and queues in one step, Claim hands out
// leases, Ack settles one and frees its host slot, Retry queues an entry
// again with a not-before time, and leases that lapse (their worker was
// killed) are reaped back into their host's queue by whichever worker
// claims next. Each host's in-flight count and next-allowed time live in
// Redis and change only inside scripts, so the per-host limit, the rate
// and robots.txt Crawl-delay hold for all the workers together. Time is
// Redis's (TIME): the workers share one clock.
//
// # Records exactly once
//
// The frontier is also the crawl's outbox: AckRecord and MarkSeenRecord
// append the URL's record to a Redis stream in the same script that
// settles the URL, and only if it settles it (the ack of a lapsed lease,
// whose URL another worker now holds, writes nothing). Export moves the
// stream's records into an output file under a consumer name, and
// commits how far it got together with the file's synced size; an output
// opened again under the same name is cut back to that size first. So
// each URL's record is in exactly one output, however often workers are
// killed. See Export.
//
// # Keys
//
// Every key of a crawl starts with "trawl:{NAME}:"; the braces are a hash
// tag, so a Redis Cluster keeps a crawl in one slot and can host many
// crawls.
package redis

import (
	"errors"
	"time"

	"trawl/store"
)

// SchemaVersion is the version of the key layout and scripts. A crawl
// made by another version is refused (ErrSchema).
const SchemaVersion = 1

// DefaultLeaseTTL is the lease time when Options.LeaseTTL is zero. A
// worker extends the leases it holds while it lives (Options.ExtendEvery),
// so this bounds how long the URLs of a killed worker wait, not how long
// a download may take.
const DefaultLeaseTTL = time.Minute

// Options configures a Redis frontier.
type Options struct {
	// FrontierOptions are read as by every trawl frontier, with two
	// differences: LeaseTTL defaults to DefaultLeaseTTL, and Now, when
	// set, replaces Redis's clock (tests with a fake clock). Nil Now uses
	// Redis TIME, the clock all the workers share.
	store.FrontierOptions
	// Crawl names the crawl: letters, digits, '.', '_' and '-', at most
	// 64. Required.
	Crawl string
	// Worker names this process among the crawl's workers (trawl state
	// lists them). Empty means "HOST:PID:RANDOM".
	Worker string
	// MaxQueuePerHost bounds the entries queued for one host. A URL
	// pushed past it is marked seen and recorded in the outbox as skipped
	// SkipQueueFull, in the same step. Zero means
	// DefaultMaxQueuePerHost; negative means no bound.
	MaxQueuePerHost int
	// ExtendEvery is how often the worker extends the leases it holds.
	// Zero means a third of the lease time; negative means never (tests).
	ExtendEvery time.Duration
	// MaxOutage is how long a call keeps retrying, with back-off, while
	// Redis cannot be reached, before it fails. Zero means
	// DefaultMaxOutage; negative means no retry.
	MaxOutage time.Duration
}

// Defaults of Options.
const (
	DefaultMaxQueuePerHost = 1_000_000
	DefaultMaxOutage       = 5 * time.Minute
)

// SkipQueueFull is the skip reason of a URL refused because its host's
// queue was full (Options.MaxQueuePerHost).
const SkipQueueFull = "host-queue-full"

var (
	// ErrUnreachable is returned by Dial when Redis does not answer.
	ErrUnreachable = errors.New("redis: cannot reach the server")
	// ErrSchema is returned by Open for a crawl made by another version
	// of trawl's key layout.
	ErrSchema = errors.New("redis: the crawl was made by an incompatible version of trawl")
	// ErrNoCrawl is returned by Inspect and export for a crawl that does not
	// exist.
	ErrNoCrawl = errors.New("redis: no such crawl")
	// ErrBadName is returned for a crawl or worker name that cannot be used.
	ErrBadName = errors.New("redis: bad crawl name")
)
