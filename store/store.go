// Package store holds where trawl's results and crawl state live: the value
// types shared by the crawl pipeline (Entry, Lease, Outcome, Record), frontier
// backends and output sinks.
//
// store imports no other trawl package but parse (for the kinds of
// links); the crawler declares the small interfaces it needs (Frontier,
// Sink) and the types here satisfy them.
//
// # Zero values and -1
//
// Every option in trawl follows one convention, in this package's
// structs (FrontierOptions, disk.Options) as in the crawler's Config and
// on the command line: zero means the documented default, and -1 (any
// negative value) means off: no limit for a limit, none for an optional
// action. So FrontierOptions{} spaces claims from one host by
// DefaultInterval, and FrontierOptions{Interval: -1} does not space them
// at all. Where off has no meaning for a field, its comment says what a
// negative value does.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/cespare/xxhash/v2"

	"trawl/parse"
)

// Entry is one URL waiting in, or handed out by, a frontier.
type Entry struct {
	// URL is the absolute URL as the page wrote it (after resolving against
	// its base). It is what gets requested.
	URL string `json:"url"`
	// Key is the normalized form of URL (see parse.Normalize): the
	// deduplication key.
	Key string `json:"key"`
	// Host is the politeness key: lower-case host, with ":port" when the port
	// is not the scheme's default.
	Host string `json:"host"`
	// Depth is the number of link hops from a seed (seeds are 0).
	Depth int `json:"depth"`
	// Parent is the URL of the page the link was found on; empty for seeds.
	Parent string `json:"parent,omitempty"`
	// Attempt counts the attempts that ended in Retry; 0 for a fresh entry.
	Attempt int `json:"attempt,omitempty"`
	// Redirects counts the redirect hops that led to this URL since the
	// last link was followed: 0 for seeds and links, 1 for the target of
	// a link's redirect, and so on.
	Redirects int `json:"redirects,omitempty"`
	// Kind is what the link that found the URL is for (parse.KindPage for
	// seeds and redirects of pages). The crawler parses a fetched URL by
	// its kind: a sitemap as a sitemap, an asset only when it is CSS.
	Kind parse.Kind `json:"kind,omitempty"`
}

// Lease is an Entry handed out by Claim. Until it is acked or retried, or
// until it expires, the entry is in flight and its host slot is taken.
type Lease struct {
	Entry
	// ID identifies this lease within its frontier. An entry claimed again
	// after its lease expired gets a new ID; the old one is then stale.
	ID uint64 `json:"id"`
	// Expires is when the lease lapses and the entry becomes claimable
	// again; the zero time if leases do not expire (a negative
	// FrontierOptions.LeaseTTL).
	Expires time.Time `json:"expires"`
	// Interval is the least time between two claims from the entry's
	// host when the lease was handed out: FrontierOptions.Interval (zero
	// when it is negative: no spacing), or what SetHostInterval set for
	// the host. A frontier may forget an idle host's interval once it no
	// longer constrains a claim, so a caller that raises a host's
	// interval (robots.txt Crawl-delay) compares it with this and sets it
	// again when they differ.
	Interval time.Duration `json:"interval,omitempty"`
}

// Outcome is the terminal result of an entry, passed to Ack.
type Outcome struct {
	// Status is the HTTP status of the final response; 0 if there was none.
	Status int `json:"status,omitempty"`
	// Error is why the fetch failed; empty on success.
	Error string `json:"error,omitempty"`
	// Skipped is why the URL was not fetched (for example "robots").
	Skipped string `json:"skipped,omitempty"`
	// HostBackoff, if not zero, is a time before which the entry's host
	// makes no claim: a server's request for a pause (Retry-After) that
	// was too long to wait for with the URL, but is honoured for a while
	// by its host.
	HostBackoff time.Time `json:"host_backoff,omitzero"`
}

// FrontierStats is a snapshot of a frontier's counters.
type FrontierStats struct {
	Queued     int   // entries waiting, including those not ready yet
	InFlight   int   // leases neither acked, retried nor expired
	Seen       int64 // distinct keys ever pushed or marked seen
	Duplicates int64 // pushes and marks of keys already seen
	Done       int64 // entries acked
	Retries    int64 // Retry calls accepted
	Hosts      int   // hosts with queued or in-flight entries
}

// Defaults of FrontierOptions, used when a field is zero: two leases
// per host at once, two claims per second from one host, and leases that
// last ten minutes. They are the crawler's defaults too.
const (
	DefaultPerHost  = 2
	DefaultInterval = 500 * time.Millisecond
	DefaultLeaseTTL = 10 * time.Minute
)

// FrontierOptions configures a frontier backend. The zero value is usable
// and polite: every field takes its default (see "Zero values and -1" in
// the package doc). Both backends, Memory and disk.Frontier, read the
// fields the same way.
type FrontierOptions struct {
	// PerHost is how many leases one host may have at once. Zero means
	// DefaultPerHost; a negative value means no limit, so that only
	// Interval spaces the claims from a host (and, without it, a caller
	// may claim all of a host's entries at once).
	PerHost int
	// Interval is the least time between two claims from the same host
	// (the per-host request rate). Zero means DefaultInterval; a negative
	// value means no spacing. SetHostInterval can raise it for one host
	// (robots.txt Crawl-delay).
	Interval time.Duration
	// LeaseTTL is how long a lease lasts before its entry becomes
	// claimable again. Zero means DefaultLeaseTTL. A negative value means
	// that leases do not expire: an entry stays in flight until its lease
	// is acked, retried or released (or, for a persistent frontier, until
	// it is opened again), and Lease.Expires is the zero time.
	LeaseTTL time.Duration
	// Now returns the current time. Nil means time.Now; tests inject a clock.
	Now func() time.Time
	// AcceptFlush is for frontiers that journal flushes between
	// checkpoints (Disk.Flush). On open it is asked about each flush
	// journaled since the last checkpoint, oldest first, with the meta
	// that was given to Flush; the frontier keeps the flushes before the
	// first one it refuses and drops the rest. A crawler uses it to check
	// that the output a flush describes survived a crash of the machine.
	// Nil keeps every intact flush.
	AcceptFlush func(meta []byte) bool
}

// Errors shared by the frontier backends.
var (
	// ErrStaleLease is returned by Ack and Retry for a lease that is unknown,
	// already settled, or expired and handed out again.
	ErrStaleLease = errors.New("store: stale or unknown lease")
	// ErrClosed is returned by every method of a closed frontier.
	ErrClosed = errors.New("store: frontier closed")
)

// Fingerprint is the 64-bit hash of a normalized URL key that frontiers
// deduplicate on. It is stable across processes and versions: persisted
// state depends on it.
func Fingerprint(key string) uint64 { return xxhash.Sum64String(key) }

// Output is a sink whose records can be made durable and cut back, such
// as JSONL or CSV over a File, or a Filter of one. A frontier that keeps
// the crawl's records itself (the Redis outbox, trawl/store/redis) moves
// them into an Output exactly once: it cuts the output back to the size
// it last committed, then appends and syncs before it commits again.
type Output interface {
	Put(ctx context.Context, r Record) error
	// Sync writes out buffered records, makes them durable and returns
	// the output's size.
	Sync() (pos int64, err error)
	// Rewind drops buffered records and cuts the output back to pos.
	Rewind(pos int64) error
}
