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
// # Outages and restarts of Redis
//
// A call that cannot reach Redis is retried with back-off for up to
// Options.MaxOutage. Every script can be run again after a lost reply: a
// push finds its keys seen, an ack its lease gone (store.ErrStaleLease;
// its record was written once), and the leases of a lost claim expire.
//
// Run Redis with appendonly yes. With appendfsync everysec a crash of
// its machine loses up to a second of writes, and what it loses is a
// suffix of the scripts it ran, each whole (they are transactions in the
// AOF): a claim, an ack and its record are lost together, and a page's
// pushed links only with everything after them, its own ack included.
// So after a restart the crawl is as it was a moment earlier: acks that
// were lost leave their leases in flight until they expire, their URLs
// are fetched again and recorded once; lease IDs handed out again name
// other URLs, which the settles' fingerprint check refuses (a stale
// lease writes nothing).
//
// # Keys
//
// Every key of a crawl starts with "trawl:{NAME}:"; the braces are a hash
// tag, so a Redis Cluster keeps a crawl in one slot and can host many
// crawls. After the prefix:
//
//	schema        STRING SchemaVersion, set when the crawl is made
//	conf          HASH   settings fixed when the crawl is made: seenbits, created (ms)
//	meta          STRING the crawl's identity (Join)
//	s:<b>         SET    seen-set bucket b (hex): the low 64-seenbits bits of
//	                     each fingerprint, in decimal, so the set is an intset
//	q:<host>      LIST   the host's fresh entries, in push order
//	d:<host>      ZSET   the host's retried, released and reaped entries, by
//	                     not-before time (ms); members are seq(6 bytes)+entry
//	h:<host>      HASH   host state: n (in flight), last (last claim, ms),
//	                     na (next allowed by the interval, ms), bo (back-off
//	                     until, ms), iv (a raised interval, ms), rm (its
//	                     member in ready)
//	ready         ZSET   hosts with queued work and a free slot, by the time
//	                     they may be claimed from; member seq(6 bytes)+host,
//	                     seq being the order hosts were last served in
//	active        ZSET   hosts with queued or in-flight entries, by queued count
//	idle          ZSET   hosts without work whose next-allowed time has not
//	                     passed, by that time; forgotten after it
//	lease         ZSET   lease ID -> expiry (ms)
//	ld            HASH   lease ID -> worker "\n" host "\n" entry
//	seq           STRING a counter: lease IDs, and the order of members
//	stats         HASH   queued seen dups done retries fetched failed skipped qfull
//	out           STREAM the outbox: one field "r", a record's JSON; group "out"
//	exports       HASH   export name -> committed output size (Export)
//	workers       ZSET   worker name -> last heartbeat (ms)
//	robots:<origin> STRING fetched (ms) "|" robots.txt body, expiring after a day
//
// An entry is stored as its key's fingerprint (8 bytes), then
// "attempt|depth|redirects|kind|flags|len(url)|len(key)|len(parent)|"
// and the three strings, each with a leading "http://HOST" or
// "https://HOST" of its own host replaced by one byte (1 or 2).
//
// # Memory
//
// The seen-set costs about 9.5 bytes per URL in used_memory when its
// buckets average about 150 fingerprints: the crawl is made with
// 2^seenbits buckets, sized from Options.ExpectedURLs (default 10
// million). A bucket stays a compact intset up to the server's
// set-max-intset-entries (512 by default); a crawl that grows far beyond
// what it was made for (about 2.5 times) still works, but its fullest
// buckets turn into hash tables at some 40 bytes per URL. For a bigger
// crawl, set ExpectedURLs when making it (or raise
// set-max-intset-entries). A queued entry costs about its stored size
// plus a few bytes (the host queues are lists): measured at 10 million
// URLs of 60 bytes with parents of 55 over 10,000 hosts, 94 bytes per
// queued entry and 9.5 per seen URL. Options.MaxQueuePerHost bounds the
// queues.
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
	// Redis TIME, the clock all the workers share. Times are kept in
	// milliseconds. AcceptFlush is not used.
	//
	// PerHost and Interval are applied by each worker's claims to the
	// host state that all share (its in-flight count and next-allowed
	// time), so the workers of a crawl should set them alike.
	store.FrontierOptions
	// Crawl names the crawl: letters, digits, '.', '_' and '-', at most
	// 64. Required.
	Crawl string
	// Worker names this process among the crawl's workers (trawl state
	// lists them): at most 200 bytes, no control characters. Empty
	// means "HOST:PID:RANDOM". Two live processes must not share a name:
	// Open gives back at once the leases that a process of the same name
	// held (it was killed), so a worker restarted under a fixed name does
	// not wait for them to expire.
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
	// ExpectedURLs is how many distinct URLs the crawl is sized for: it
	// sets the number of seen-set buckets (see "Memory" in the package
	// doc). It is read only by the Open that makes the crawl; the
	// others use what the crawl was made with. Zero means
	// DefaultExpectedURLs; a negative value is an error.
	ExpectedURLs int64
}

// Defaults of Options.
const (
	DefaultMaxQueuePerHost = 1_000_000
	DefaultMaxOutage       = 5 * time.Minute
	DefaultExpectedURLs    = 10_000_000
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
	ErrBadName = errors.New("redis: bad name")
)
