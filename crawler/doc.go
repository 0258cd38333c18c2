// Package crawler is trawl's engine: a frontier of per-host queues feeds a
// pool of fetch workers; fetched HTML is parsed and its links, normalized,
// scoped and deduplicated, go back into the frontier.
//
// # Lifecycle
//
// Build a Config, call New once (it checks the Config and fills in the
// defaults), then Run with the seed URLs:
//
//	out := store.NewJSONL(os.Stdout)
//	c, err := crawler.New(crawler.Config{Sink: out})
//	if err != nil { ... }
//	stats, err := c.Run(ctx, "https://example.com/")
//
// Run crawls until nothing is queued and nothing is in flight, until its
// ctx ends, until Config.MaxTime has passed or until a hook returns
// ErrStop. Before it returns, every goroutine it started has ended, the
// frontier and the fetcher it opened are closed, and the Sink is flushed
// if it has a Flush method (store.JSONL and store.CSV buffer their
// writes). Run's error is nil for a crawl that ended normally
// (Stats.Stopped tells an early stop by MaxTime or ErrStop); ctx's error
// when ctx ended it; otherwise the failure that stopped it: the sink, the
// frontier or a hook. Per-URL failures are not errors: they are records.
// A Crawler can Run again after Run returns; Stats is safe to call at any
// time from any goroutine.
//
// # Records
//
// Every URL the crawl decides about gets exactly one store.Record in the
// Sink: fetched (Status set, a 404 included), failed (Error set) or skipped
// (Skipped set: robots, depth, max-pages, budget, excluded,
// url-too-long, blocked-address, vetoed, host-unreachable). Redirects are
// recorded hop by hop: the source with its 3xx and Location, the target
// as a URL of its own. Links out of
// scope and nofollow links are counted in Stats, not recorded. The one
// request without a record, besides robots.txt, is the probe of a host's
// /sitemap.xml when it finds no sitemap.
//
// # Discovery
//
// Links come from every place a browser finds them without running
// scripts (package parse lists them): HTML attributes and CSS, response
// headers, robots.txt Sitemap lines, the /sitemap.xml of every in-scope
// host (Config.NoSitemaps turns that off) and the sitemaps and feeds they
// lead to. Each link has a kind: pages, sitemaps and GET forms are
// followed; assets (images, scripts, stylesheets, ...) only with
// Config.Assets; POST forms never. Stats.Links counts them by kind, and
// Config.RecordLinks keeps each response's links in its record.
//
// With Config.Render, HTML pages are also loaded in headless Chromium
// (package trawl/fetch/render): the rendered DOM, the requests the page
// makes and the navigations its clicked elements cause add their links.
// Every request of the browser passes the crawl's own rules (scope,
// robots.txt, PerHost and Rate together with the page fetches, the
// address guard, MaxBody) through a proxy in the crawl, or never leaves.
//
// # Hooks
//
// OnRequest sees every request before it is sent and may change or veto
// it; OnResponse every response, whatever its status; OnError every
// attempt that got no response, with a *fetch.Error whose Kind says why;
// OnPage every HTML page, with its parsed links and goquery document.
// Hooks are called from many goroutines at once. Returning ErrStop from
// OnResponse, OnError or OnPage ends the crawl cleanly after the URL at
// hand; any other error stops it and is returned by Run. WrapFetcher wraps
// the default fetcher; Fetcher replaces it.
//
// # Zero values and -1
//
// Every number in Config, in fetch.Config and in store.FrontierOptions, and
// every flag of the trawl command, follows one convention: zero means the
// documented default, and -1 (any negative value) means "off": no limit for
// a limit (Rate, Timeout, MaxBody, MaxPages, MaxTime, MaxRetryWait,
// MaxCrawlDelay, MaxURLLength, MaxLinks), none for an action (Retries,
// RetryBackoff, MaxRedirects, and MaxDepth: no link hops, the seeds only).
// CheckpointInterval -1 means no interval: a checkpoint for every group of
// records. Concurrency and PerHost must not be negative.
//
// # Politeness and safety
//
// The zero Config is polite: robots.txt is obeyed, at most DefaultPerHost
// requests are in flight and DefaultRate requests per second go to any one
// host (robots.txt Crawl-delay, Retry-After and errors slow it down
// further, within MaxCrawlDelay and MaxRetryWait), and a slow host never
// holds up the others. It is also guarded: it does not connect to
// loopback, private or link-local addresses except the seeds' hosts
// (AllowPrivate lifts that), and bodies, URLs, links, redirects and time
// are bounded.
//
// # Crashes
//
// The default frontier lives in memory. A frontier from trawl/store/disk
// keeps the crawl on disk: with a SyncSink (store.JSONL or store.CSV over a
// store.File, or store.Filter of one), running the same crawl again after
// a stop, a crash or kill -9 continues it, and the output holds exactly
// one record per URL however often the crawl was killed.
//
// # Many processes, one crawl
//
// A frontier that many processes share, on any machines, and that keeps
// the records itself is an Outbox (trawl/store/redis has one). Each
// process runs the same crawl with it: Run joins the crawl (refusing one
// of other seeds or scope, as a saved state, unless ResumeAnyway), hands
// every record to the frontier in the step that settles its URL, and
// exports the records into its Sink, which must then be a store.Output
// (or nil, to leave them to another process's export). So every URL is
// fetched once and recorded exactly once in all the outputs together,
// however many processes are killed: a killed process's leases lapse and
// another claims them again; the record of a lapsed lease is dropped
// (Stats.StaleAcks).
//
// What the frontier holds is global: the queue, the seen-set, the
// records, and the politeness (PerHost, Rate, Crawl-delay, Retry-After
// hold for all the processes together). What the crawler counts in
// memory is each process's own: Concurrency, MaxPages, MaxPerHost,
// MaxBytes, MaxTime and MaxHostFailures, and the record counts of Stats
// (whose Queued, InFlight, Hosts and FrontierDone are the crawl's).
// Checkpoints do not apply.
package crawler
