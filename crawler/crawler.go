package crawler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"trawl/fetch"
	"trawl/fetch/render"
	"trawl/parse"
	"trawl/store"
)

// Frontier is the crawl's queue and seen-set, with lease semantics: a
// claimed URL stays leased until Ack or Retry, and an expired lease makes
// it claimable again, so a crash never loses a URL. store.Memory is the
// default; every backend passes the suite in trawl/store/storetest.
type Frontier interface {
	// Push queues the entries whose keys were never seen, marking them
	// seen in the same atomic step, and reports how many were new. It
	// must not keep the slice entries after it returns: the crawl reuses
	// it.
	Push(ctx context.Context, entries []store.Entry) (added int, err error)
	// MarkSeen marks a key seen without queueing it and reports whether
	// it was new.
	MarkSeen(ctx context.Context, key string) (first bool, err error)
	// Claim leases up to max entries from hosts that are ready. When it
	// returns fewer, next is the earliest time more may become ready, or
	// zero if none is waiting on time.
	Claim(ctx context.Context, max int) (leases []store.Lease, next time.Time, err error)
	// Ack settles a lease with its outcome and frees its host slot.
	Ack(ctx context.Context, l store.Lease, o store.Outcome) error
	// Retry queues the lease's entry again, not before notBefore; with
	// hostBackoff the whole host waits until then.
	Retry(ctx context.Context, l store.Lease, notBefore time.Time, hostBackoff bool) error
	// Release gives a lease back unsettled, its entry unchanged, not
	// claimable before notBefore; its host makes no claim before then
	// either. The crawler releases a lease whose host slot it spent on
	// fetching the host's robots.txt.
	Release(ctx context.Context, l store.Lease, notBefore time.Time) error
	// SetHostInterval raises the spacing between requests to one host.
	SetHostInterval(ctx context.Context, host string, d time.Duration) error
	Stats(ctx context.Context) (store.FrontierStats, error)
	Close() error
}

// Fetcher does the HTTP side of a crawl. *fetch.Client satisfies it.
type Fetcher interface {
	// Fetch makes one attempt at req; an HTTP error status is a response,
	// not an error.
	Fetch(ctx context.Context, req fetch.Request) (*fetch.Response, error)
	// Robots returns the robots.txt rules for u's host.
	Robots(ctx context.Context, u *url.URL) (*fetch.Robots, error)
}

// Sink receives the records of a crawl, one per URL decided about. Put is
// called from many goroutines at once; an error stops the crawl.
// store.JSONL and store.CSV are sinks.
type Sink interface {
	Put(ctx context.Context, r store.Record) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, r store.Record) error

// Put calls f(ctx, r).
func (f SinkFunc) Put(ctx context.Context, r store.Record) error { return f(ctx, r) }

// Page is a fetched HTML page, handed to Config.OnPage before its links are
// queued.
type Page struct {
	// URL is the page's final URL, after redirects.
	URL *url.URL
	// Depth is the number of link hops from a seed.
	Depth int
	// Response is the HTTP response, with the decoded body.
	Response *fetch.Response
	// HTML holds what the parser extracted; HTML.Document() gives the
	// goquery document for extracting your own data. With Config.Render
	// it is the rendered DOM's.
	HTML *parse.Page
	// Links are the page's links, all kinds (parse.Link.Kind), then those
	// of its response headers (Link, Refresh, ...), at most MaxLinks of
	// them. Those the crawl follows (pages, sitemaps, GET forms, and
	// assets with Config.Assets) are considered for queueing: scope,
	// filters, depth and deduplication still apply. Remove entries to
	// veto them; use AddLink to add one.
	Links []parse.Link
	// Rendered is the page as the browser rendered it, with
	// Config.Render: the rendered DOM (which HTML is parsed from), the
	// requests the page made, the navigations its clicks caused and the
	// value of RenderConfig.Script. Nil when the page was not rendered.
	Rendered *render.Result
	// Data, if set, is written into the page's record as "data". With
	// Config.Extract or ExtractJSONLD it holds, on entry, the fields
	// extracted from the page (a map[string]any).
	Data any
}

// AddLink resolves ref against the page's base URL and appends it to
// p.Links, as a page link with Source "hook". It reports an error for a URL that is not http(s).
func (p *Page) AddLink(ref string) error {
	base := p.URL
	if p.HTML != nil && p.HTML.Base != nil {
		base = p.HTML.Base
	}
	u, err := base.Parse(ref)
	if err != nil {
		return fmt.Errorf("crawler: add link %q: %w", ref, err)
	}
	u.Fragment, u.RawFragment = "", ""
	key, host, err := parse.Normalize(u)
	if err != nil {
		return fmt.Errorf("crawler: add link %q: %w", ref, err)
	}
	p.Links = append(p.Links, parse.Link{URL: u.String(), Key: key, Host: host, Kind: parse.KindPage, Source: "hook"})
	return nil
}

// Crawler crawls with one Config. Create it with New. Run may be called
// again after it returns, for a new crawl; Stats is safe to call at any
// time from any goroutine.
type Crawler struct {
	cfg Config

	mu  sync.Mutex // guards cur
	cur *run
}

// New validates cfg and returns a Crawler.
func New(cfg Config) (*Crawler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Crawler{cfg: cfg}, nil
}

// Stats returns a snapshot of the current or last crawl's counters.
func (c *Crawler) Stats() Stats {
	c.mu.Lock()
	r := c.cur
	c.mu.Unlock()
	if r == nil {
		return Stats{}
	}
	return r.snapshot(context.Background())
}

// Run crawls from seeds (and Config.Sitemaps) until nothing is queued and
// nothing is in flight,
// or until ctx ends, and returns the crawl's statistics. Every URL decided
// about gets exactly one record in Config.Sink. The error is nil when the
// crawl ran to its end; ctx's error when ctx ended it; otherwise the
// failure of the sink, the frontier or the page hook that stopped it. Per
// URL failures are records, not errors.
//
// With a frontier that many processes share and that keeps the records
// (an Outbox), Run first joins the crawl (see Outbox.Join), hands each
// record to the frontier, and exports the outbox into Config.Sink while
// it crawls and until nothing is left when the crawl ends; the export's
// error is returned after the crawl's own.
//
// Run returns only after every goroutine it started has ended.
func (c *Crawler) Run(ctx context.Context, seeds ...string) (Stats, error) {
	if len(seeds) == 0 && len(c.cfg.Sitemaps) == 0 {
		return Stats{}, errors.New("crawler: no seed URLs")
	}
	entries := make([]store.Entry, 0, len(seeds)+len(c.cfg.Sitemaps))
	var creds map[string]*url.Userinfo
	for i, s := range slices.Concat(seeds, c.cfg.Sitemaps) {
		e, user, err := seedEntry(s)
		if err != nil {
			return Stats{}, err
		}
		if i >= len(seeds) {
			e.Kind = parse.KindSitemap
		}
		if user != nil {
			if c.cfg.Fetcher != nil {
				return Stats{}, fmt.Errorf("crawler: seed %q: credentials in a seed are sent by the default fetcher only, and Config.Fetcher is set", redact(s))
			}
			if creds == nil {
				creds = make(map[string]*url.Userinfo)
			}
			creds[hostPort(e.URL)] = user
		}
		entries = append(entries, e)
	}

	if c.cfg.Render != nil {
		// Before anything is opened: a crawl that cannot render fails
		// at once, saying how to install a browser.
		if _, err := render.FindBrowser(c.cfg.Render.Browser); err != nil {
			return Stats{}, fmt.Errorf("crawler: render: %w", err)
		}
	}

	var f Frontier
	var err error
	if c.cfg.NewFrontier != nil {
		opts := c.cfg.frontierOptions()
		opts.AcceptFlush = acceptFlush(c.cfg.Sink, c.cfg.Archive)
		f, err = c.cfg.NewFrontier(opts)
	} else {
		f = store.NewMemory(c.cfg.frontierOptions())
	}
	if err != nil {
		return Stats{}, fmt.Errorf("crawler: open frontier: %w", err)
	}
	ob, _ := f.(Outbox)
	var out store.Output
	var exportName string
	if ob != nil {
		if out, exportName, err = exportTo(c.cfg); err != nil {
			f.Close()
			return Stats{}, err
		}
	} else if _, ok := f.(Checkpointer); ok && c.cfg.Sink != nil {
		if _, ok := c.cfg.Sink.(SyncSink); !ok {
			f.Close()
			return Stats{}, fmt.Errorf("%w: the frontier keeps the crawl across crashes, so the Sink (a %T) must be a crawler.SyncSink, such as store.JSONL or store.CSV over a store.File, or store.Filter of one", ErrSinkNotDurable, c.cfg.Sink)
		}
	}
	if _, ok := f.(Checkpointer); ok && c.cfg.Archive != nil {
		if _, ok := c.cfg.Archive.(SyncArchive); !ok {
			f.Close()
			return Stats{}, fmt.Errorf("%w: the frontier keeps the crawl across crashes, so the Archive (a %T) must be a crawler.SyncArchive, such as store.WARC", ErrArchiveNotDurable, c.cfg.Archive)
		}
	}
	fetcher := c.cfg.Fetcher
	if fetcher == nil {
		// A frontier that keeps robots.txt files (disk.Frontier) spares a
		// resumed crawl fetching them again.
		rc, _ := f.(fetch.RobotsCache)
		named := make([]string, 0, len(seeds))
		for _, e := range entries {
			named = append(named, hostname(e.Host))
		}
		own := newFetcher(c.cfg, rc, named, creds)
		defer own.Close()
		fetcher = own
	}
	if c.cfg.WrapFetcher != nil {
		fetcher = c.cfg.WrapFetcher(fetcher)
	}
	r := newRun(c.cfg, fetcher, f)
	c.mu.Lock()
	c.cur = r
	c.mu.Unlock()

	var exp *export
	crawlCtx := ctx
	if ob != nil {
		err = r.join(ctx, entries) // before the export touches the output
	}
	if out != nil && err == nil {
		// The export runs for the whole crawl; if it fails, the crawl
		// stops (its records wait in the outbox).
		var cancel context.CancelFunc
		crawlCtx, cancel = context.WithCancel(ctx)
		defer cancel()
		exp = startExport(crawlCtx, ob, exportName, out, cancel)
	}
	if err == nil {
		err = r.crawl(crawlCtx, entries)
	}
	r.rend.close() // crawl closed it; this is for a Run that failed before crawling
	if eerr := exp.finish(); eerr != nil && (err == nil || ctx.Err() == nil && errors.Is(err, context.Canceled)) {
		err = fmt.Errorf("crawler: export: %w", eerr)
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("crawler: close frontier: %w", cerr)
	}
	if fs, ok := c.cfg.Sink.(flushSink); ok && ob == nil { // an export synced its output
		if ferr := fs.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("crawler: flush sink: %w", ferr)
		}
	}
	if fs, ok := c.cfg.Archive.(flushSink); ok {
		if ferr := fs.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("crawler: flush archive: %w", ferr)
		}
	}
	r.finished.Store(true)
	stats := r.snapshot(context.Background())
	r.logEnd(ctx, stats, err)
	return stats, err
}

// seedEntry validates a seed URL and makes its frontier entry. Credentials
// in the URL (http://user:pass@host/) are returned apart: the entry, and
// so every record, has the URL without them.
func seedEntry(s string) (store.Entry, *url.Userinfo, error) {
	u, err := url.Parse(s)
	if err != nil {
		return store.Entry{}, nil, fmt.Errorf("crawler: seed %q: %w", redact(s), errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return store.Entry{}, nil, fmt.Errorf("crawler: seed %q: not an http or https URL", u.Redacted())
	}
	user := u.User
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	key, host, err := parse.Normalize(u)
	if err != nil {
		return store.Entry{}, nil, fmt.Errorf("crawler: seed %q: %w", u.Redacted(), err)
	}
	return store.Entry{URL: u.String(), Key: key, Host: host}, user, nil
}

// redact returns s with the password of a URL hidden, or s if it does
// not parse.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

// hostPort returns the "host:port" of an absolute URL, with the port
// explicit, as fetch.Config.Credentials keys it.
func hostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// hostname returns a host key ("example.com:8080", "[::1]") without its
// port and brackets.
func hostname(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// hostSet is a concurrent set of scope keys (hosts or domains).
type hostSet struct{ m sync.Map }

func (s *hostSet) add(k string)        { s.m.Store(k, struct{}{}) }
func (s *hostSet) has(k string) bool   { _, ok := s.m.Load(k); return ok }
func (s *hostSet) first(k string) bool { _, loaded := s.m.LoadOrStore(k, struct{}{}); return !loaded }
