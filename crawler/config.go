package crawler

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"trawl/fetch"
	"trawl/parse"
	"trawl/store"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultConcurrency = 16
	DefaultPerHost     = store.DefaultPerHost
	// DefaultRate is the polite per-host request rate: two requests per
	// second to any one host, whatever the concurrency. robots.txt
	// Crawl-delay and Retry-After can only slow it down further.
	DefaultRate    = 2.0
	DefaultTimeout = fetch.DefaultTimeout
	DefaultMaxBody = fetch.DefaultMaxBody
	DefaultRetries = 2
	// DefaultRetryBackoff is the wait before the first retry.
	DefaultRetryBackoff = time.Second

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
	DefaultMaxRedirects = fetch.DefaultMaxRedirects
	// DefaultMaxURLLength is the longest URL, in bytes as written, that is
	// fetched: the sitemaps protocol's limit, which few real pages reach
	// and traps (session IDs, calendars) exceed.
	DefaultMaxURLLength = 2048
	// DefaultMaxLinks is how many distinct out-links of one page are
	// followed.
	DefaultMaxLinks = 10000
	// DefaultLeaseTTL is how long a URL may stay in flight before the
	// frontier hands it out again.
	DefaultLeaseTTL = store.DefaultLeaseTTL
	// DefaultMaxHostFailures is how many connection failures in a row
	// make a host unreachable. At the default rate of two requests a
	// second, 20 failures span 10 s or more, so a server restarting or a
	// network blip does not condemn a host, while a dead one costs 20
	// attempts: nothing when it refuses, 20 timeouts shared by its
	// PerHost slots (5 minutes at the defaults) when it drops packets.
	DefaultMaxHostFailures = 20
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
// robots.txt obeyed, cookies kept, the seeds' hosts as scope, no depth or
// page limit, records discarded. Set Sink to keep them.
//
// Every number follows one convention, the same in fetch.Config,
// store.FrontierOptions and on the command line: zero means the documented
// default, and -1 (any negative value) means "off": no limit for a limit
// (Rate, Timeout, MaxBody, MaxPages, ...), none for an action (Retries,
// MaxRedirects, MaxDepth: seeds only).
type Config struct {
	// Concurrency is the number of fetch workers. Zero means
	// DefaultConcurrency. It must not be negative.
	Concurrency int
	// PerHost is the most requests in flight to one host. Zero means
	// DefaultPerHost. It must not be negative.
	PerHost int
	// Rate is the most requests per second to one host. Zero means
	// DefaultRate; negative means no limit.
	Rate float64
	// UserAgent is sent with every request and used to pick the robots.txt
	// group. Empty means fetch.DefaultUserAgent.
	UserAgent string
	// IgnoreRobots skips robots.txt entirely. Be sure you may.
	IgnoreRobots bool
	// Timeout bounds one fetch: connect, headers and body. Zero means
	// DefaultTimeout; negative means no limit (Run's ctx still applies).
	Timeout time.Duration
	// MaxBody caps the decoded body kept per page; longer bodies are cut
	// and recorded with Truncated set. Zero means DefaultMaxBody; negative
	// means no limit.
	MaxBody int64
	// Retries is how many times a URL is tried again after a network
	// error, a 429 or a 5xx, with exponential back-off and jitter (or the
	// server's Retry-After). Zero means DefaultRetries; negative means none.
	Retries int
	// RetryBackoff is the wait before the first retry; each further retry
	// waits twice as long, with jitter. A server's Retry-After wins when
	// longer. Zero means DefaultRetryBackoff; negative means none (a retry
	// waits only for its host's turn).
	RetryBackoff time.Duration
	// MaxRetryWait is the longest wait before a retry that the crawl
	// accepts. A Retry-After (or back-off) longer than that is not waited
	// for: the URL ends with the record of its last answer (its 429 or
	// 503 status, its attempts and an error saying the server asked for a
	// longer pause), and its host pauses MaxRetryWait, not longer. Zero
	// means DefaultMaxRetryWait; negative means no limit (a Retry-After
	// is still capped at fetch.MaxRetryAfter).
	MaxRetryWait time.Duration
	// MaxRedirects is how many redirects are followed in a row from one
	// link or seed. Each redirect is recorded hop by hop: the source's
	// record has its 3xx status and Location, and the target is queued as
	// a URL of its own (same depth, the source as parent), which passes
	// scope, filters, robots.txt and politeness like any other. The source
	// of the hop past the limit is recorded with an error. Zero means
	// DefaultMaxRedirects; negative means none: redirects are recorded but
	// their targets not queued.
	MaxRedirects int
	// MaxCrawlDelay caps a robots.txt Crawl-delay; the Stats list the
	// hosts whose delay was capped. Zero means DefaultMaxCrawlDelay;
	// negative means no cap.
	MaxCrawlDelay time.Duration
	// MaxTime stops the crawl cleanly once it has run that long: records
	// stay whole, URLs in flight are abandoned (and fetched again by a
	// resumed crawl with a checkpointing frontier), Run returns a nil
	// error and Stats.Stopped says StopMaxTime. Zero (the default) and
	// negative mean no limit.
	MaxTime time.Duration
	// MaxBytes stops the crawl cleanly, as MaxTime does (Stats.Stopped
	// says StopMaxBytes), once the decoded body bytes kept reach it: what
	// the records' Bytes sum to (Stats.Bytes), over all the runs of a
	// resumed crawl, so that a resumed crawl stops at the same total. The
	// responses in flight then are kept whole, so the total may pass
	// MaxBytes by up to Concurrency bodies. Zero (the default) and
	// negative mean no limit.
	MaxBytes int64
	// MaxHostFailures is the per-host error budget: after that many
	// connection failures in a row to a host, the host is declared
	// unreachable, and every URL of it claimed afterwards, queued or
	// waiting for a retry, is recorded at once as skipped
	// SkipHostUnreachable, without a request. A connection failure is a
	// request, robots.txt's included, whose host name did not resolve,
	// whose connection was refused, whose host or network was
	// unreachable, whose TLS handshake or certificate failed, or whose
	// connection broke or timed out before any answer; a robots.txt
	// failure counts once, though the fetcher hands it to the host's URLs
	// for 30 s. Any answer, a 5xx too, starts the count again. Requests in
	// flight when the host is declared finish as usual. A failed attempt
	// ends as it would anyway: put back for a retry, which is then
	// skipped like the host's other URLs, or an error record when its
	// retries are used up.
	// The counts are kept in memory: a resumed crawl starts them anew, so
	// a dead host may cost up to MaxHostFailures more attempts after a
	// resume. Zero means DefaultMaxHostFailures; negative means no limit
	// (a host is never given up).
	MaxHostFailures int
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
	// Ignored when Transport is set.
	AllowPrivate bool

	// Scope picks which links are followed. The zero value is ScopeHost.
	Scope Scope
	// Include, if not empty, keeps only in-scope links whose normalized
	// URL (see parse.Normalize: "https://example.com/products/1?x=2", with
	// scheme and host) matches at least one of the expressions; seeds and
	// their redirects are always kept. The expressions match the whole
	// URL, so "^/products/" matches nothing: write `/products/` or
	// `^https://example\.com/products/`.
	Include []*regexp.Regexp
	// Exclude drops in-scope links whose normalized URL matches any of the
	// expressions, as Include reads them.
	Exclude []*regexp.Regexp
	// MaxDepth is the most link hops from a seed (seeds and their
	// redirects are depth 0). Zero (the default) means no limit; negative
	// means none: the seeds only.
	MaxDepth int
	// MaxPages is the most URLs admitted for fetching, seeds included;
	// further in-scope URLs are recorded as skipped "max-pages". Zero (the
	// default) and negative mean no limit.
	MaxPages int
	// MaxPerHost is the most URLs admitted for fetching per host, seeds
	// included: a budget that keeps a spider trap on one host (endless
	// calendars, session IDs in URLs) from eating the crawl, as IRLbot
	// budgets its hosts. Further URLs of the host are recorded as skipped
	// "budget". Redirect hops, sitemaps and assets count as the URLs they
	// are; the probes of /sitemap.xml do not. With a checkpointing frontier
	// the counts are saved at each checkpoint (not at each flush), so after
	// a crash a host may get the URLs admitted since the last checkpoint
	// once more. Zero (the default) and negative mean no limit.
	MaxPerHost int
	// AutoThrottle spaces each host's requests by the latency it shows,
	// as Scrapy's AutoThrottle does: after each response the spacing
	// moves half way to latency / AutoThrottleTarget; a 5xx, a 429, a
	// timeout or a failed connection doubles it (from at least 250 ms); a
	// response other than 2xx cannot lower it. It never spaces a host less
	// than Rate and its robots.txt Crawl-delay ask, and Retry-After and
	// PerHost hold as without it: it only slows a host down, up to
	// AutoThrottleMax. Stats.AutoThrottled lists the hosts it slows.
	AutoThrottle bool
	// AutoThrottleTarget is the requests a throttled host should have in
	// flight on average. Zero means DefaultAutoThrottleTarget (1).
	AutoThrottleTarget float64
	// AutoThrottleMax is the longest spacing the throttle gives a host.
	// Zero means DefaultAutoThrottleMax (60s).
	AutoThrottleMax time.Duration

	// Assets also fetches the in-scope links of kind parse.KindAsset
	// (images, scripts, stylesheets, media, fonts, objects), as a browser
	// showing the page would load them; stylesheets among them are read
	// for more URLs, other assets are not parsed. An asset is fetched even
	// from a page whose robots meta says nofollow. By default only page
	// and sitemap links and GET forms are followed: assets are found,
	// counted in Stats.Links and listed with RecordLinks, not fetched.
	Assets bool
	// NoSitemaps stops the crawl from looking for sitemaps by itself. By
	// default, for each in-scope host it fetches (when it reads the
	// host's robots.txt, or first meets the host with IgnoreRobots), the
	// Sitemap lines of its robots.txt and /sitemap.xml are queued as
	// sitemaps. Sitemaps found in pages (link rel=sitemap, feeds) and
	// those in Sitemaps are read either way.
	NoSitemaps bool
	// Sitemaps are sitemap or feed URLs to start from, like seeds: depth
	// 0, their hosts in scope. Run may then be called without seeds.
	//
	// Whatever found a sitemap, the URLs it lists are queued one hop from
	// a seed (depth 1), as are the sitemaps a sitemap index lists, so
	// MaxDepth bounds the links followed from them; with a negative
	// MaxDepth (seeds only) the crawl looks for no sitemap by itself.
	Sitemaps []string
	// GuessLinks also looks for URLs written as text: in inline scripts
	// and JSON data blocks of pages, and in fetched JSON, JavaScript and
	// plain text (see parse.GuessLinks). More links are found, and more
	// that are not links.
	GuessLinks bool
	// RecordLinks keeps each page's out-links, all kinds, with their
	// source, in its record (store.Record.OutLinks): the crawl's link
	// graph.
	RecordLinks bool

	// Archive, if set, keeps what the crawl fetched, as store.WARC does:
	// every request and response as exchanged (pages, redirect hops,
	// robots.txt, and responses that are retried), which the default
	// Fetcher then captures (fetch.Config.Capture). Each record of a
	// response says where it is archived (store.Record.WARCFile and
	// WARCOffset). A custom Fetcher's responses are archived when it fills
	// fetch.Response.Exchanges. With a checkpointing frontier the Archive
	// must be a SyncArchive, so that each response is archived exactly once
	// with its record across crashes; Run refuses any other with
	// ErrArchiveNotDurable. If the Archive has a Flush() error method, Run
	// calls it before it returns; closing it is the caller's.
	Archive Archive
	// Extract takes fields from each HTML page into its record's data, as
	// a map from the extractors' names (see parse.Extractor); OnPage sees
	// that map as Page.Data. The page's goquery document is built only
	// when Extract or ExtractJSONLD is set (or OnPage asks for it).
	Extract []parse.Extractor
	// ExtractJSONLD adds the objects of each HTML page's JSON-LD scripts
	// to its record's data, as a list under parse.JSONLDKey ("jsonld").
	ExtractJSONLD bool

	// Render, if set, also loads HTML pages in headless Chromium (package
	// trawl/fetch/render), for the links that exist only once a page's
	// JavaScript has run. Nil means no rendering.
	//
	// A page is fetched as without it: its status, headers, robots.txt,
	// politeness and record are the same. Then a 200 text/html answer to a
	// page link, over http or https, is loaded in a browser tab, and its
	// links are those of the served HTML, of the rendered DOM (through
	// the same parser), of the requests
	// the page made (frames as pages; XHR and fetch, scripts, images and
	// the like as assets; another method than GET as a form link with its
	// method, recorded and never requested) and of the navigations that clicking
	// its interactive elements caused (see render.Renderer). The record
	// says Rendered, with RenderRequests and RenderClicks; OnPage gets the
	// rendered DOM as Page.HTML and the render as Page.Rendered. A render
	// that fails because the browser or the tab failed is tried again as
	// a retry of the URL; once the retries are used up, or for another
	// failure, the record gets an error of kind "render" and the served
	// HTML is read.
	//
	// The browser's only route out is a proxy in the crawl: every request
	// it makes must be in scope (Scope, Include, Exclude, MaxURLLength),
	// allowed by robots.txt, and take a turn of its host's PerHost and
	// Rate (and Crawl-delay, Retry-After) together with the crawl's page
	// fetches; it is then sent by the crawl's Fetcher (the address guard,
	// MaxBody, Timeout, cookies and OnRequest apply), archived with
	// Archive and counted in Stats (BrowserRequests, BrowserCached,
	// BrowserRefused). What is refused never leaves the machine, nor do
	// requests other than GET and HEAD, and WebSockets. The browser's
	// https requests are no exception: the proxy ends its CONNECT tunnels
	// itself, with certificates of its own that only this browser accepts
	// (by their key), and hands each request inside to the same rules;
	// the crawl's Fetcher makes the real TLS connection and checks the
	// server's certificate as for pages. The page's own document is not
	// fetched again: the browser gets the crawl's answer, and a resource
	// asked for again (pages are reloaded between clicks) is answered
	// from memory.
	//
	// One browser runs per Run, started at the first page to render and
	// stopped when Run ends; Run fails at once if none is found
	// (render.ErrNoBrowser says how to install one). With a frontier that
	// many processes share, the browser's requests are held to PerHost
	// and Rate per process, not across processes.
	Render *RenderConfig

	// Method is the HTTP method of page requests: "" (the default) means
	// GET; "HEAD" checks that pages exist without their bodies (so no
	// links are found beyond the seeds' redirects).
	Method string
	// Header is sent with every request (pages, robots.txt); it may
	// override the default User-Agent and Accept.
	Header http.Header
	// Jar keeps cookies between requests, as browsers and crawlers such as
	// Scrapy, colly and wget do. Nil means a new jar for each Run
	// (fetch.NewJar, with the public suffix list); set NoCookies to send
	// and keep none.
	Jar http.CookieJar
	// NoCookies turns cookies off.
	NoCookies bool
	// Proxy returns the proxy for a request, as http.Transport.Proxy does
	// (http.ProxyURL(u) for one proxy). Nil means the environment's
	// HTTP_PROXY, HTTPS_PROXY and NO_PROXY, unless Resolve is set (then no
	// proxy).
	Proxy func(*http.Request) (*url.URL, error)
	// Resolve maps "host:port" to the "ip:port" to dial instead, like
	// curl --resolve. Its hosts count as named for the address guard.
	Resolve map[string]string
	// Transport, if set, carries the requests of the default Fetcher
	// (which then neither resolves, proxies nor guards addresses itself).
	Transport http.RoundTripper

	// Sink receives one record per URL decided about. Nil discards them.
	// Put is called from many goroutines at once. If the Sink has a
	// Flush() error method (store.JSONL, store.CSV), Run calls it before
	// it returns. With a checkpointing frontier (see Checkpointer) the
	// Sink must be a SyncSink, so that its records are kept exactly once
	// across crashes; Run refuses any other with ErrSinkNotDurable before
	// it fetches anything. store.Filter wraps a sink and keeps that.
	//
	// With a frontier that keeps the records itself (an Outbox, such as
	// the Redis frontier) the records go to the frontier, and the Sink,
	// if set, must be a store.Output (else ErrSinkNotDurable): Run
	// exports the outbox into it, the records of every process sharing
	// the crawl, while it crawls and until nothing is left to take when
	// the crawl ends. A nil Sink then leaves the records in the outbox,
	// for another process's export.
	Sink Sink
	// ExportName is the name under which Run exports an Outbox into the
	// Sink: the outbox remembers, by name, how far each output got, and
	// an output exported under the same name again is first cut back to
	// that point. Empty means "HOSTNAME:" followed by the absolute path
	// of the Sink's file (the Name() of store.JSONL or store.CSV over a
	// store.File); a Sink without a name then makes Run fail. Two
	// outputs must never share a name. Unused without an Outbox.
	ExportName string
	// OnRequest, if set, is called before every request the default
	// Fetcher sends (pages, redirect hops, robots.txt), after it set its
	// own headers: it may add or change headers and cookies. An error
	// vetoes the request: the URL is recorded as skipped SkipVetoed (and
	// when it is a robots.txt request, so are the host's URLs for the 30 s
	// the failure is cached; set IgnoreRobots to crawl without robots.txt).
	// It is called from many goroutines at once.
	OnRequest func(ctx context.Context, req *http.Request) error
	// OnResponse, if set, is called for every response, whatever its
	// status and content type, before the URL's record is written; the
	// decoded body is in Response.Body. Returning ErrStop ends the crawl
	// after this URL, its record kept; another error stops the crawl and
	// is returned by Run. It is called from many goroutines at once. The
	// hook may keep resp and its Body: without OnResponse and OnPage (and
	// with the default Fetcher, no renderer) the crawl gives each body's
	// buffer back for reuse once its URL is handled (fetch.Response.Release).
	OnResponse func(ctx context.Context, resp *fetch.Response) error
	// OnError, if set, is called for every fetch attempt that got no
	// response (a retry follows or the URL is recorded as failed), with
	// the error, a *fetch.Error whose Kind says what went wrong. Its
	// return value is read as OnResponse's is. It is called from many
	// goroutines at once.
	OnError func(ctx context.Context, url string, err error) error
	// OnPage, if set, is called for each fetched HTML page before its
	// links are queued. It may read the page, attach Data to its record,
	// and add or remove links. Returning ErrStop ends the crawl after this
	// page, its record (and Data) kept; another error stops the crawl and
	// is returned by Run. It is called from many goroutines at once.
	OnPage func(ctx context.Context, p *Page) error

	// Logger receives the crawl's log lines. Nil means none: the crawl
	// then logs through a logger whose handler discards (it never falls
	// back to slog.Default, so a program using the package gets no crawl
	// lines it did not ask for). It is called from many goroutines at
	// once. A handler not enabled for Debug costs the crawl nothing per
	// fetch: no attribute is built for a level that is off.
	//
	// Debug: "fetch", one line per request made for a URL (each attempt,
	// redirect hops and /sitemap.xml probes included; robots.txt not),
	// with url, host, status (0 without a response), duration, bytes,
	// attempt, depth, kind (unless "page"), location (of a redirect) and
	// error (the record's, if any): it is written once the attempt is
	// settled, so it carries what the record says.
	//
	// Info: "start" (seeds, the first seed as url, scope, concurrency,
	// per_host, rate, max_depth, max_pages, max_bytes), preceded by "resume" (done,
	// queued, runs) when the crawl continues saved state; "error", each
	// URL whose record is an error (url, host, error, attempts, status);
	// "retry", each attempt tried again, and "back-off", each pause of a
	// whole host (url, host, wait, reason, attempt, status, retry_after,
	// error); "robots.txt failed" (url, host, error, attempt);
	// "crawl-delay capped" (host, crawl_delay asked, wait applied); "host
	// unreachable", a host given up after MaxHostFailures (host, failures,
	// error: the last one); "lease lost", with an Outbox, a URL whose
	// lease lapsed before its record was written, which another worker
	// records instead (url, host); "max bytes reached", the stop by MaxBytes
	// (bytes, max_bytes); "end"
	// (records, fetched, errors, skipped, retries, bytes, duration,
	// pages_per_second, queued, in_flight, stopped, error).
	//
	// Warn: "stopping", the failure that stops the crawl (sink, archive,
	// frontier or hook; error). Error: "checkpoint failed" and "flush
	// failed", with a checkpointing frontier (error).
	//
	// The keys mean the same on every line: url is the URL of the record
	// concerned, host its host key ("example.com", "example.com:8080"),
	// status its HTTP status, duration and wait are time.Duration values
	// (nanoseconds in JSON), error is text, and reason says why a URL
	// waits: retry-after (the server asked), 429, 5xx, network (no
	// response) or robots (robots.txt could not be fetched).
	Logger *slog.Logger

	// NewFrontier opens the frontier that holds the queue and the seen-set,
	// with options derived from PerHost, Rate and LeaseTTL. Run calls it
	// once and closes what it returns. Nil means a new in-memory frontier
	// (store.NewMemory); package trawl/store/disk has one that survives
	// crashes, and trawl/store/redis one that many processes share (an
	// Outbox).
	//
	// With a shared frontier, what the frontier holds is global: the
	// queue and the seen-set (each URL is fetched and recorded once in
	// the whole crawl), the politeness of PerHost, Rate, robots.txt
	// Crawl-delay and Retry-After (for all the processes together), and
	// the records. What the crawler counts in memory is each process's
	// own: Concurrency, the budgets MaxPages, MaxPerHost and MaxBytes,
	// MaxTime, MaxHostFailures, Stats' record counts, and OnPage and the
	// other hooks; CheckpointInterval, Overwrite and the resume of a
	// saved state do not apply.
	NewFrontier func(opts store.FrontierOptions) (Frontier, error)
	// Fetcher does HTTP. Nil means the default, a fetch.Client built for
	// each Run from the fields above. A custom Fetcher replaces it whole:
	// setting one together with a field that only the default uses
	// (UserAgent, Timeout, MaxBody, Header, Jar, NoCookies, Proxy,
	// Resolve, Transport, AllowPrivate, OnRequest) is an error. To add to
	// the default instead, use WrapFetcher.
	Fetcher Fetcher
	// WrapFetcher, if set, is given the Fetcher of each Run (the default
	// one, or Fetcher) and returns the one the crawl uses, for example one
	// that counts, caches or rewrites requests.
	WrapFetcher func(Fetcher) Fetcher
	// CheckpointInterval is how often a checkpointing frontier (see
	// Checkpointer) is synced to disk together with the output. Between
	// checkpoints, a frontier that can flush (disk.Frontier) journals each
	// group of records before their workers go on, so that a crash of the
	// process (kill -9) redoes at most the URLs in flight; a crash of the
	// machine may redo up to an interval of work. Zero means
	// DefaultCheckpointInterval. Negative means none between groups: each
	// group of records is checkpointed before its workers go on, which is
	// slower, but then not even a crash of the machine loses finished work.
	// With a frontier that cannot flush, a positive interval lets workers
	// run ahead, redoing up to that much work after any crash, and a
	// negative one is group commit.
	CheckpointInterval time.Duration
	// ResumeAnyway continues a saved crawl, or joins a crawl on a shared
	// frontier (an Outbox), even though its seeds or scope differ from
	// this one's.
	ResumeAnyway bool
	// Overwrite lets a new crawl with a checkpointing frontier start on
	// an output (SyncSink) that already holds data, which it cuts to
	// nothing. Without it Run refuses with ErrOutputNotEmpty rather than
	// lose that data. A resumed crawl cuts its output back to its last
	// checkpoint either way.
	Overwrite bool
	// LeaseTTL is how long a claimed URL may stay in flight before the
	// frontier hands it out again. Zero means DefaultLeaseTTL.
	LeaseTTL time.Duration
}

// withDefaults returns c with zero fields replaced by their defaults, and
// the negative "off" values of the fields the crawler itself reads
// turned into what they mean (Retries: 0 retries; RetryBackoff: none).
// Fields handed to fetch or the frontier keep their -1.
func (c Config) withDefaults() Config {
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.PerHost = cmp.Or(c.PerHost, DefaultPerHost)
	c.Rate = cmp.Or(c.Rate, DefaultRate)
	c.Retries = max(cmp.Or(c.Retries, DefaultRetries), 0)
	c.RetryBackoff = max(cmp.Or(c.RetryBackoff, DefaultRetryBackoff), 0)
	c.MaxRedirects = cmp.Or(c.MaxRedirects, DefaultMaxRedirects)
	c.MaxRetryWait = cmp.Or(c.MaxRetryWait, DefaultMaxRetryWait)
	c.MaxCrawlDelay = cmp.Or(c.MaxCrawlDelay, DefaultMaxCrawlDelay)
	c.MaxURLLength = cmp.Or(c.MaxURLLength, DefaultMaxURLLength)
	c.MaxLinks = cmp.Or(c.MaxLinks, DefaultMaxLinks)
	c.MaxTime = max(c.MaxTime, 0)
	c.MaxBytes = max(c.MaxBytes, 0)
	c.MaxHostFailures = cmp.Or(c.MaxHostFailures, DefaultMaxHostFailures)
	c.MaxPages = max(c.MaxPages, 0)
	c.MaxPerHost = max(c.MaxPerHost, 0)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, DefaultLeaseTTL)
	c.CheckpointInterval = cmp.Or(c.CheckpointInterval, DefaultCheckpointInterval)
	c.Logger = cmp.Or(c.Logger, discardLogger)
	return c
}

// validate returns an error naming every field of c out of range, on one
// line.
func (c Config) validate() error {
	var errs []string
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Sprintf("Concurrency %d is negative", c.Concurrency))
	}
	if c.PerHost < 0 {
		errs = append(errs, fmt.Sprintf("PerHost %d is negative", c.PerHost))
	}
	if c.AutoThrottleTarget < 0 {
		errs = append(errs, fmt.Sprintf("AutoThrottleTarget %v is negative", c.AutoThrottleTarget))
	}
	if c.AutoThrottleMax < 0 {
		errs = append(errs, fmt.Sprintf("AutoThrottleMax %v is negative", c.AutoThrottleMax))
	}
	if c.Scope < ScopeHost || c.Scope > ScopeAny {
		errs = append(errs, fmt.Sprintf("unknown Scope %d", int(c.Scope)))
	}
	switch c.Method {
	case "", http.MethodGet, http.MethodHead:
	default:
		errs = append(errs, fmt.Sprintf("Method %q: want GET or HEAD", c.Method))
	}
	if c.Render != nil {
		errs = append(errs, c.Render.validate()...)
		if c.Method == http.MethodHead {
			errs = append(errs, "Render with Method HEAD: HEAD answers have no page to render")
		}
	}
	if c.Jar != nil && c.NoCookies {
		errs = append(errs, "Jar and NoCookies are both set")
	}
	seen := map[string]bool{}
	for _, e := range c.Extract {
		switch {
		case e.Name == "":
			errs = append(errs, "an Extract entry has no Name")
		case e.Name == parse.JSONLDKey && c.ExtractJSONLD:
			errs = append(errs, fmt.Sprintf("Extract name %q is the key of ExtractJSONLD", e.Name))
		case seen[e.Name]:
			errs = append(errs, fmt.Sprintf("Extract name %q is used twice", e.Name))
		}
		seen[e.Name] = true
	}
	if c.Fetcher != nil {
		var ignored []string
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"UserAgent", c.UserAgent != ""}, {"Timeout", c.Timeout != 0}, {"MaxBody", c.MaxBody != 0},
			{"Header", c.Header != nil}, {"Jar", c.Jar != nil}, {"NoCookies", c.NoCookies},
			{"Proxy", c.Proxy != nil}, {"Resolve", c.Resolve != nil}, {"Transport", c.Transport != nil},
			{"AllowPrivate", c.AllowPrivate}, {"OnRequest", c.OnRequest != nil},
		} {
			if f.set {
				ignored = append(ignored, f.name)
			}
		}
		if len(ignored) > 0 {
			errs = append(errs, fmt.Sprintf("Fetcher is set, so %s would be ignored (they configure the default fetcher; use WrapFetcher to add to it)", strings.Join(ignored, ", ")))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("crawler: config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// rateInterval turns a per-host rate into the spacing between requests:
// zero for no limit.
func rateInterval(rate float64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / rate)
}

// newFetcher builds the default fetcher from cfg, keeping robots.txt files
// in rc if it is not nil, letting the address guard through to the hosts
// the user named (the seeds' hosts; Resolve's hosts are let through by
// fetch) and sending each seed's credentials to its host only.
//
// It neither follows redirects nor limits the rate: the crawler records
// redirects hop by hop and the frontier is the one gate of per-host
// timing, so that every request to a host (robots.txt, pages, redirect
// hops) is spaced by it once and no worker ever waits on a host.
func newFetcher(cfg Config, rc fetch.RobotsCache, named []string, creds map[string]*url.Userinfo) *fetch.Client {
	jar := cfg.Jar
	if jar == nil && !cfg.NoCookies {
		jar = fetch.NewJar()
	}
	return fetch.New(fetch.Config{
		UserAgent:    cfg.UserAgent,
		Timeout:      cfg.Timeout,
		MaxBody:      cfg.MaxBody,
		MaxRedirects: -1,
		Rate:         -1,
		Header:       cfg.Header,
		Jar:          jar,
		Proxy:        cfg.Proxy,
		Resolve:      cfg.Resolve,
		Transport:    cfg.Transport,
		RobotsCache:  rc,
		AllowPrivate: cfg.AllowPrivate,
		AllowHosts:   named,
		Credentials:  creds,
		OnRequest:    cfg.OnRequest,
		Capture:      cfg.Archive != nil,
	})
}

// frontierOptions derives the frontier's politeness options from cfg.
func (c Config) frontierOptions() store.FrontierOptions {
	iv := rateInterval(c.Rate)
	if iv == 0 {
		iv = -1 // the frontier's "no spacing"
	}
	return store.FrontierOptions{
		PerHost:  c.PerHost,
		Interval: iv,
		LeaseTTL: c.LeaseTTL,
	}
}
