package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"trawl/fetch"
	"trawl/store"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultConcurrency = 16
	DefaultPerHost     = 2
	// DefaultRate is the polite per-host request rate: two requests per
	// second to any one host, whatever the concurrency. robots.txt
	// Crawl-delay and Retry-After can only slow it down further.
	DefaultRate    = 2.0
	DefaultTimeout = 30 * time.Second
	DefaultMaxBody = 10 << 20
	DefaultRetries = 2

	DefaultCheckpointInterval = time.Second

	// DefaultMaxRetryWait is the longest pause before a retry that a
	// crawl waits for: a server asking for more (Retry-After: 3600) gets
	// its answer recorded instead of holding the URL, and its host, for
	// an hour.
	DefaultMaxRetryWait = time.Minute
	// DefaultMaxCrawlDelay caps a robots.txt Crawl-delay: a site asking
	// for a day between requests is crawled at one request every 30 s.
	DefaultMaxCrawlDelay = 30 * time.Second
	// DefaultMaxRedirects is how many redirects are followed from a link.
	DefaultMaxRedirects = 10
	// DefaultMaxURLLength is the longest URL, in bytes as written, that is
	// fetched: the sitemaps protocol's limit, which few real pages reach
	// and traps (session IDs, calendars) exceed.
	DefaultMaxURLLength = 2048
	// DefaultMaxLinks is how many distinct out-links of one page are
	// followed.
	DefaultMaxLinks = 10000
)

// Scope says which discovered links are followed.
type Scope int

const (
	// ScopeHost follows links whose host is the host of one of the seeds.
	ScopeHost Scope = iota
	// ScopeDomain follows links within the registrable domain (eTLD+1) of
	// one of the seeds, so www.example.com also reaches blog.example.com.
	ScopeDomain
	// ScopeAny follows every http(s) link. Combine it with MaxDepth,
	// MaxPages or Include.
	ScopeAny
)

// String returns the flag spelling of s.
func (s Scope) String() string {
	switch s {
	case ScopeHost:
		return "host"
	case ScopeDomain:
		return "domain"
	case ScopeAny:
		return "any"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// ParseScope parses "host", "domain" or "any".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "host":
		return ScopeHost, nil
	case "domain":
		return ScopeDomain, nil
	case "any":
		return ScopeAny, nil
	}
	return 0, fmt.Errorf("crawler: unknown scope %q (want host, domain or any)", s)
}

// Config configures a Crawler. The zero value is a polite crawler: 16
// workers, at most 2 connections and 2 requests per second to any host,
// robots.txt obeyed, the seeds' hosts as scope, no depth or page limit,
// records discarded. Set Sink to keep them.
type Config struct {
	// Concurrency is the number of fetch workers. Zero means
	// DefaultConcurrency.
	Concurrency int
	// PerHost is the most requests in flight to one host. Zero means
	// DefaultPerHost.
	PerHost int
	// Rate is the most requests per second to one host. Zero means
	// DefaultRate; a negative value means no limit.
	Rate float64
	// UserAgent is sent with every request and used to pick the robots.txt
	// group. Empty means fetch.DefaultUserAgent.
	UserAgent string
	// IgnoreRobots skips robots.txt entirely. Be sure you may.
	IgnoreRobots bool
	// Timeout bounds one fetch: connect, redirects, headers and body.
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxBody caps the decoded body kept per page; longer bodies are cut
	// and recorded with Truncated set. Zero means DefaultMaxBody.
	MaxBody int64
	// Retries is how many times a URL is tried again after a network
	// error, a 429 or a 5xx, with exponential back-off and jitter (or the
	// server's Retry-After). Zero means DefaultRetries; negative means none.
	Retries int
	// RetryBackoff is the wait before the first retry; each further retry
	// waits twice as long, with jitter. A server's Retry-After wins when
	// longer. Zero means one second.
	RetryBackoff time.Duration
	// MaxRetryWait is the longest wait before a retry that the crawl
	// accepts. A Retry-After (or back-off) longer than that is not waited
	// for: the URL ends with the record of its last answer (its 429 or
	// 503 status, its attempts and an error saying the server asked for a
	// longer pause), and its host pauses MaxRetryWait, not longer. Zero
	// means DefaultMaxRetryWait; negative means no limit (a Retry-After
	// is still capped at fetch.MaxRetryAfter).
	MaxRetryWait time.Duration
	// MaxRedirects is how many redirects are followed from one link or
	// seed. Each redirect is recorded hop by hop: the source's record has
	// its 3xx status and Location, and the target is queued as a URL of
	// its own (same depth, the source as parent), which passes scope,
	// filters, robots.txt and politeness like any other. The source of
	// the hop past the limit is recorded with an error. Zero means
	// DefaultMaxRedirects; negative means redirects are recorded but
	// their targets not queued.
	MaxRedirects int
	// MaxCrawlDelay caps a robots.txt Crawl-delay; the Stats list the
	// hosts whose delay was capped. Zero means DefaultMaxCrawlDelay;
	// negative means no cap.
	MaxCrawlDelay time.Duration
	// MaxTime stops the crawl cleanly once it has run that long: records
	// stay whole, URLs in flight are abandoned (and fetched again by a
	// resumed crawl with a checkpointing frontier), Run returns a nil
	// error and Stats.Stopped says StopMaxTime. Zero means no limit.
	MaxTime time.Duration
	// MaxURLLength is the longest URL, in bytes as written, that is
	// followed; a longer in-scope link is recorded as skipped
	// SkipURLTooLong. Zero means DefaultMaxURLLength; negative means no
	// limit.
	MaxURLLength int
	// MaxLinks is how many distinct out-links of one page are followed;
	// the rest are counted in Stats.LinksDropped. Zero means
	// DefaultMaxLinks; negative means no limit.
	MaxLinks int

	// AllowPrivate lets the crawl connect to loopback, private,
	// link-local, CGNAT, multicast and unspecified addresses. By default
	// the default Fetcher refuses them (an SSRF guard, checked on the
	// address actually dialed, so redirects and DNS rebinding are covered)
	// except for the seeds' hosts and the hosts in Resolve; a refused URL
	// is recorded as skipped SkipBlockedAddress. See fetch.Config.AllowPrivate.
	// Ignored when Fetcher or Transport is set.
	AllowPrivate bool

	// Scope picks which links are followed. The zero value is ScopeHost.
	Scope Scope
	// Include, if not empty, keeps only in-scope links matching at least
	// one of the expressions (seeds are always kept).
	Include []*regexp.Regexp
	// Exclude drops in-scope links matching any of the expressions.
	Exclude []*regexp.Regexp
	// MaxDepth is the most link hops from a seed (seeds are depth 0).
	// Zero means no limit; a negative value fetches the seeds only.
	MaxDepth int
	// MaxPages is the most URLs admitted for fetching, seeds included;
	// further in-scope URLs are recorded as skipped "max-pages".
	// Zero means no limit.
	MaxPages int

	// Sink receives one record per URL decided about. Nil discards them.
	// Put is called from many goroutines at once.
	Sink Sink
	// OnPage, if set, is called for each fetched HTML page before its
	// links are queued. It may read the page, attach Data to its record,
	// and add or remove links. An error stops the crawl and is returned
	// by Run. It is called from many goroutines at once.
	OnPage func(ctx context.Context, p *Page) error

	// NewFrontier opens the frontier that holds the queue and the seen-set,
	// with options derived from PerHost, Rate and LeaseTTL. Run calls it
	// once and closes what it returns. Nil means a new in-memory frontier
	// (store.NewMemory).
	NewFrontier func(opts store.FrontierOptions) (Frontier, error)
	// Fetcher does HTTP. Nil means a fetch.Client built from the fields
	// above and Resolve / Transport.
	Fetcher Fetcher
	// Resolve maps "host:port" to the "ip:port" to dial instead, like
	// curl --resolve. Ignored when Fetcher or Transport is set.
	Resolve map[string]string
	// Transport, if set, carries the requests of the default Fetcher.
	Transport http.RoundTripper
	// CheckpointInterval is how often a checkpointing frontier (see
	// Checkpointer) is synced to disk together with the output. Between
	// checkpoints, a frontier that can flush (disk.Frontier) journals each
	// group of records before their workers go on, so that a crash of the
	// process (kill -9) redoes at most the URLs in flight; a crash of the
	// machine may redo up to an interval of work. Zero means one second.
	// A negative interval checkpoints every group of records instead, and
	// workers wait for it: slower, but then not even a crash of the
	// machine loses finished work. With a frontier that cannot flush, a
	// positive interval lets workers run ahead, redoing up to that much
	// work after any crash, and a negative one is group commit.
	CheckpointInterval time.Duration
	// ResumeAnyway continues a saved crawl even though its seeds or scope
	// differ from this one's.
	ResumeAnyway bool
	// Overwrite lets a new crawl with a checkpointing frontier start on
	// an output (SyncSink) that already holds data, which it cuts to
	// nothing. Without it Run refuses with ErrOutputNotEmpty rather than
	// lose that data. A resumed crawl cuts its output back to its last
	// checkpoint either way.
	Overwrite bool
	// LeaseTTL is how long a claimed URL may stay in flight before the
	// frontier hands it out again. Zero means 10 minutes.
	LeaseTTL time.Duration
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.PerHost == 0 {
		c.PerHost = DefaultPerHost
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = time.Second
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = DefaultMaxRedirects
	}
	if c.MaxRetryWait == 0 {
		c.MaxRetryWait = DefaultMaxRetryWait
	}
	if c.MaxCrawlDelay == 0 {
		c.MaxCrawlDelay = DefaultMaxCrawlDelay
	}
	if c.MaxURLLength == 0 {
		c.MaxURLLength = DefaultMaxURLLength
	}
	if c.MaxLinks == 0 {
		c.MaxLinks = DefaultMaxLinks
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 10 * time.Minute
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative", c.Concurrency))
	}
	if c.PerHost < 0 {
		errs = append(errs, fmt.Errorf("per-host %d is negative", c.PerHost))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v is negative", c.Timeout))
	}
	if c.MaxBody < 0 {
		errs = append(errs, fmt.Errorf("max body %d is negative", c.MaxBody))
	}
	if c.MaxPages < 0 {
		errs = append(errs, fmt.Errorf("max pages %d is negative", c.MaxPages))
	}
	if c.MaxTime < 0 {
		errs = append(errs, fmt.Errorf("max time %v is negative", c.MaxTime))
	}
	if c.Scope < ScopeHost || c.Scope > ScopeAny {
		errs = append(errs, fmt.Errorf("unknown scope %d", int(c.Scope)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("crawler: config: %w", err)
	}
	return nil
}

// rateInterval turns a per-host rate into the spacing between requests.
func rateInterval(rate float64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / rate)
}

// newFetcher builds the default fetcher from cfg, keeping robots.txt files
// in rc if it is not nil and letting the address guard through to the
// hosts the user named (seeds; Resolve's hosts are let through by fetch).
//
// It neither follows redirects nor limits the rate: the crawler records
// redirects hop by hop and the frontier is the one gate of per-host
// timing, so that every request to a host (robots.txt, pages, redirect
// hops) is spaced by it once and no worker ever waits on a host.
func newFetcher(cfg Config, rc fetch.RobotsCache, named []string) *fetch.Client {
	return fetch.New(fetch.Config{
		UserAgent:    cfg.UserAgent,
		Timeout:      cfg.Timeout,
		MaxBody:      cfg.MaxBody,
		MaxRedirects: -1,
		Resolve:      cfg.Resolve,
		Transport:    cfg.Transport,
		RobotsCache:  rc,
		AllowPrivate: cfg.AllowPrivate,
		AllowHosts:   named,
	})
}

// frontierOptions derives the frontier's politeness options from cfg.
func (c Config) frontierOptions() store.FrontierOptions {
	return store.FrontierOptions{
		PerHost:  c.PerHost,
		Interval: rateInterval(c.Rate),
		LeaseTTL: c.LeaseTTL,
	}
}
