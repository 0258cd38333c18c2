package crawler

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"trawl/fetch"
	"trawl/fetch/render"
	"trawl/parse"
)

// This file is the crawl's side of the browser's containment proxy: the
// render.Gate through which every request of the browser must pass (see
// Config.Render).

// gate applies the crawl's rules to each request of the browser and sends
// the allowed ones with the crawl's own Fetcher. What Do checks, in order:
//
//   - the page's own document, which the crawl has just fetched, is served
//     from memory (pinned while the page renders), as is a GET answered
//     before (a byte-bounded cache: pages reloaded between clicks ask for
//     their resources again);
//   - the URL normalizes (parse.Normalize), is in the crawl's scope, no
//     longer than MaxURLLength, passes Include and Exclude, and its host is
//     neither unreachable (MaxHostFailures) nor paused (Retry-After);
//   - robots.txt allows it (unless IgnoreRobots); a robots.txt that cannot
//     be fetched refuses it;
//   - it takes a turn of its host from the governor (PerHost, Rate,
//     Crawl-delay), shared with the page fetches;
//   - the Fetcher sends it without following redirects: the address guard,
//     MaxBody, Timeout, the User-Agent, cookies, credentials and OnRequest
//     apply as to pages. A 429 or 503, or a Retry-After, pauses the host.
//
// A refusal wraps render.ErrRefused: the proxy answers 403 and nothing
// leaves the machine. Every exchange sent is archived with Config.Archive;
// the requests are counted in Stats (BrowserRequests, BrowserCached,
// BrowserRefused).
type gate struct {
	r     *run
	cache respCache

	mu     sync.Mutex
	pinned map[string]*pin // the documents of the pages being rendered, by key; requires mu

	// fatal is the first failure that must stop the crawl (the archive,
	// the frontier), for the worker rendering to return.
	fatal atomic.Pointer[error]
}

var _ render.Gate = (*gate)(nil)

// pin is a document served from memory while its page renders.
type pin struct {
	resp *fetch.Response
	n    int // renders holding it
}

// Limits of the gate's cache of answers.
const (
	gateCacheBytes = 32 << 20 // all the answers kept
	gateCacheEntry = 4 << 20  // the largest answer kept
)

func newGate(r *run) *gate {
	return &gate{r: r, pinned: make(map[string]*pin), cache: respCache{max: gateCacheBytes}}
}

// pin serves resp, the document of the page with key, from memory until
// the returned function is called.
func (g *gate) pin(key string, resp *fetch.Response) (unpin func()) {
	g.mu.Lock()
	p := g.pinned[key]
	if p == nil {
		p = &pin{resp: resp}
		g.pinned[key] = p
	}
	p.n++
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if p.n--; p.n == 0 && g.pinned[key] == p {
			delete(g.pinned, key)
		}
	}
}

// failure returns the failure that must stop the crawl, if one happened.
func (g *gate) failure() error {
	if p := g.fatal.Load(); p != nil {
		return *p
	}
	return nil
}

func (g *gate) fail(err error) {
	g.fatal.CompareAndSwap(nil, &err)
}

// refuse returns the error of a request the gate does not send.
func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", render.ErrRefused, fmt.Sprintf(format, args...))
}

// Do implements render.Gate.
func (g *gate) Do(ctx context.Context, req *render.GateRequest) (*fetch.Response, error) {
	r := g.r
	u := *req.URL
	u.Fragment, u.RawFragment = "", ""
	key, host, err := parse.Normalize(&u)
	if err != nil {
		return nil, refuse("%v", err)
	}
	g.mu.Lock()
	p := g.pinned[key]
	g.mu.Unlock()
	if p != nil {
		r.counters.browserCached.Add(1)
		return p.resp, nil
	}
	if resp := g.cache.get(key); resp != nil {
		r.counters.browserCached.Add(1)
		return resp, nil
	}

	switch {
	case !r.inScope(host):
		return nil, refuse("out of scope")
	case r.cfg.MaxURLLength >= 0 && len(u.String()) > r.cfg.MaxURLLength:
		return nil, refuse("longer than the max URL length")
	case !r.included(key):
		return nil, refuse("excluded by the crawl's filters")
	case r.hosts.unreachable(host):
		return nil, refuse("host unreachable")
	}
	if until := r.rend.gov.pausedUntil(host); !until.IsZero() {
		return nil, refuse("host paused until %s", until.Format(time.RFC3339))
	}
	spacing := r.interval
	if !r.cfg.IgnoreRobots {
		d, err := g.robots(ctx, &u, host)
		if err != nil {
			return nil, err
		}
		spacing = max(spacing, d)
	}

	done, err := r.rend.gov.turn(ctx, host, spacing)
	if err != nil {
		return nil, err
	}
	resp, err := r.fetcher.Fetch(ctx, fetch.Request{
		URL:           u.String(),
		Method:        req.Method,
		Header:        req.Forwarded(),
		CheckRedirect: func(context.Context, *url.URL) error { return errLeftToBrowser },
	})
	done()
	if err != nil {
		if !errors.Is(err, fetch.ErrBlockedAddress) && !errors.Is(err, fetch.ErrVetoed) && !errors.Is(err, fetch.ErrBadURL) {
			r.counters.browserRequests.Add(1) // it left, and failed
		}
		return nil, err
	}
	r.counters.browserRequests.Add(1)
	if resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable || resp.RetryAfter > 0 {
		wait := max(resp.RetryAfter, r.cfg.RetryBackoff)
		if limit := r.cfg.MaxRetryWait; limit >= 0 {
			wait = min(wait, limit)
		}
		until := time.Now().Add(wait)
		r.rend.gov.pause(host, until)
		r.throttle.pause(host, pauseReason(resp.RetryAfter), until)
	}
	if len(resp.Exchanges) > 0 && r.cfg.Archive != nil {
		if err := r.archive(ctx, resp.Exchanges, nil); err != nil {
			g.fail(err)
			return nil, err
		}
		resp.Exchanges = nil
	}
	if req.Method == http.MethodGet {
		g.cache.put(key, resp)
	}
	return resp, nil
}

// errLeftToBrowser stops a Fetcher that follows redirects: the gate gives
// the 3xx to the browser, which asks for its target through the gate.
var errLeftToBrowser = errors.New("crawler: redirect left to the browser")

// robots checks u, of host, against its robots.txt and returns the host's
// Crawl-delay, capped by MaxCrawlDelay. A robots.txt this call fetched is
// archived, and its host's sitemaps are looked for, as for a page.
func (g *gate) robots(ctx context.Context, u *url.URL, host string) (time.Duration, error) {
	r := g.r
	start := time.Now()
	rob, err := r.fetcher.Robots(ctx, u)
	if err != nil {
		return 0, refuse("robots.txt unavailable: %v", err)
	}
	if ex := rob.TakeExchanges(); len(ex) > 0 && r.cfg.Archive != nil {
		if err := r.archive(ctx, ex, nil); err != nil {
			g.fail(err)
			return 0, err
		}
	}
	if !rob.FetchedAt().Before(start) {
		r.rend.gov.note(host, rob.FetchedAt(), r.interval)
		if err := r.hostSitemaps(ctx, u, rob); err != nil && ctx.Err() == nil {
			g.fail(err)
			return 0, err
		}
	}
	if !rob.Allowed(u) {
		return 0, refuse("disallowed by robots.txt")
	}
	d := rob.CrawlDelay()
	if limit := r.cfg.MaxCrawlDelay; limit >= 0 && d > limit {
		d = limit
	}
	return d, nil
}

// Record implements render.Gate: it counts the requests refused.
func (g *gate) Record(e render.ProxyEntry) {
	if !e.Allowed {
		g.r.counters.browserRefused.Add(1)
	}
}

// respCache keeps the answers the gate got, by key, up to max bytes of
// bodies, dropping the least recently used. It is safe for concurrent use.
type respCache struct {
	max int64

	mu   sync.Mutex
	size int64                    // requires mu
	ll   list.List                // of *cached, most recently used first; requires mu
	m    map[string]*list.Element // requires mu
}

type cached struct {
	key  string
	resp *fetch.Response
}

func (c *respCache) get(key string) *fetch.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	if e == nil {
		return nil
	}
	c.ll.MoveToFront(e)
	return e.Value.(*cached).resp
}

func (c *respCache) put(key string, resp *fetch.Response) {
	size := int64(len(resp.Body))
	if size > gateCacheEntry || size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*list.Element)
	}
	if _, ok := c.m[key]; ok {
		return
	}
	c.m[key] = c.ll.PushFront(&cached{key: key, resp: resp})
	c.size += size
	for c.size > c.max {
		e := c.ll.Back()
		old := e.Value.(*cached)
		c.ll.Remove(e)
		delete(c.m, old.key)
		c.size -= int64(len(old.resp.Body))
	}
}
