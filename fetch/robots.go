package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// robots.txt handling limits, cache lifetimes and cache bounds.
const (
	robotsMaxBody      = 512 << 10
	robotsMaxRedirects = 5
	robotsTTL          = 24 * time.Hour
	robotsFailTTL      = 30 * time.Second

	// The in-memory cache keeps the outcomes of at most robotsMaxOrigins
	// origins and of at most robotsMaxBytes bytes of robots.txt, counting
	// for each entry the body it was parsed from plus robotsEntryCost (all
	// a failure or an "allow all" costs) and, with Config.Capture, the
	// bytes of its exchanges (see Robots.TakeExchanges). The least
	// recently used go first; an evicted origin has its robots.txt loaded
	// again when next asked.
	robotsMaxOrigins = 10_000
	robotsMaxBytes   = 32 << 20
	robotsEntryCost  = 256
)

type robotsEntry struct {
	r       *Robots
	err     error
	expires time.Time
}

// leaderGone marks a shared robots.txt load that ended because the context
// of the caller that ran it ended; the other waiters try again themselves.
type leaderGone struct{ err error }

func (e *leaderGone) Error() string { return e.err.Error() }

// Robots returns the robots.txt rules of u's origin (scheme, host and port;
// an explicit default port is the same origin as none) for the client's user
// agent, fetching /robots.txt when it is not cached.
//
// Concurrent first callers for an origin share one fetch, made through the
// host's rate limiter (when the Client limits) with the first caller's ctx;
// each caller stops waiting when its own ctx ends. Results are cached in
// memory, rules for 24h and failures for 30s, for at most 10,000 origins
// and 32 MiB of robots.txt: the least recently used are dropped first, and
// fetched again (or taken from Config.RobotsCache) when asked for again.
//
// Outcome by status (redirects followed up to 5): 2xx: parsed (first 512 KiB;
// lines that do not parse are skipped); 4xx, or a redirect chain too long:
// allow all; 5xx: a *Error of KindRobotsUnavailable wrapping
// ErrRobotsUnavailable; a network error, a refused address or a request
// vetoed by Config.OnRequest: a *Error of that failure's kind, which wraps
// ErrRobotsUnavailable too. Either means "treat the host as disallowed for
// now and ask again later". A caller's ctx ending gives a *Error of
// KindCanceled wrapping its ctx error, not cached. Every error is a *Error
// ("fetch <url>: ..."); a URL that is not absolute http(s) gives
// KindBadURL.
//
// The request carries Config.Header, cookies of Config.Jar and
// Config.Credentials of its host, and passes Config.OnRequest, as pages do.
//
// The group is chosen by the User-Agent's product token (e.g. "trawl"),
// falling back to "*". When the Client limits (Config.Rate not negative),
// a Crawl-delay lowers the host's limiter to at most one request per delay
// (it never raises it), for as long as the limiter or these rules are
// kept; otherwise the Client applies no Crawl-delay and the caller
// schedules by Robots.CrawlDelay (and can tell from Robots.FetchedAt
// whether this call made a request).
func (c *Client) Robots(ctx context.Context, u *url.URL) (*Robots, error) {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		s := "<nil>"
		if u != nil {
			s = urlString(u)
		}
		return nil, &Error{Kind: KindBadURL, URL: s, Err: fmt.Errorf("%w: need an absolute http(s) URL for robots.txt", ErrBadURL)}
	}
	key := hostKey(u)
	origin := strings.ToLower(u.Scheme) + "://" + key
	for {
		if e, ok := c.cachedRobots(origin); ok {
			return e.r, e.err
		}
		ch := c.robotsSF.DoChan(origin, func() (any, error) {
			// A load that finished between the lookup above and DoChan
			// already filled the cache.
			if e, ok := c.cachedRobots(origin); ok {
				return e.r, e.err
			}
			return c.loadRobots(ctx, origin, key)
		})
		select {
		case <-ctx.Done():
			return nil, newError(KindCanceled, origin+"/robots.txt", ctx.Err())
		case res := <-ch:
			var gone *leaderGone
			if errors.As(res.Err, &gone) {
				if ctx.Err() != nil {
					return nil, newError(KindCanceled, origin+"/robots.txt", ctx.Err())
				}
				continue // another caller's ctx ended during its load; load again
			}
			r, _ := res.Val.(*Robots)
			return r, res.Err
		}
	}
}

// RobotsCache keeps robots.txt files for a Client beyond its life (see
// Config.RobotsCache); disk.Frontier implements it. Its methods are called
// from many goroutines at once.
type RobotsCache interface {
	// LoadRobots returns the robots.txt body kept for origin (such as
	// "https://example.com") and when it was fetched; ok is false if none
	// is kept. An empty body allows everything.
	LoadRobots(origin string) (body []byte, fetched time.Time, ok bool)
	// StoreRobots keeps body, fetched at fetched, for origin.
	StoreRobots(origin string, body []byte, fetched time.Time) error
}

// loadRobots fetches and parses origin's robots.txt (or takes it from the
// RobotsCache while fresh), caches the outcome and, when the Client limits,
// applies a Crawl-delay to the limiter of host key. It runs once per origin
// at a time (singleflight) with the leading caller's ctx.
func (c *Client) loadRobots(ctx context.Context, origin, key string) (*Robots, error) {
	if c.robotsDB != nil {
		if body, at, ok := c.robotsDB.LoadRobots(origin); ok && c.now().Before(at.Add(robotsTTL)) {
			r := &Robots{}
			if len(body) > 0 {
				r = parseRobots(body, c.agent)
			}
			r.fetched = at
			c.cacheRobots(origin, robotsEntry{r: r, expires: at.Add(robotsTTL)}, len(body))
			c.lowerRate(key, r.crawlDelay)
			return r, nil
		}
	}
	robotsURL := origin + "/robots.txt"
	resp, err := c.fetch(ctx, Request{URL: robotsURL}, robotsMaxRedirects, robotsMaxBody)
	if ctx.Err() != nil {
		return nil, &leaderGone{err: newError(KindCanceled, robotsURL, ctx.Err())}
	}
	var r *Robots
	size := 0 // bytes of robots.txt r is parsed from
	switch {
	case err != nil:
		// The failure keeps its kind; ErrRobotsUnavailable joins the cause.
		fe, ok := err.(*Error)
		if !ok { // fetch returns only *Error; this keeps Robots' promise regardless
			fe = newError(causeKind(err), robotsURL, err)
		}
		err = &Error{Kind: fe.Kind, URL: fe.URL, Err: fmt.Errorf("%w: %w", ErrRobotsUnavailable, fe.Err)}
	case resp.Status >= 200 && resp.Status < 300:
		r = parseRobots(resp.Body, c.agent)
		size = len(resp.Body)
	case resp.Status >= 500:
		err = newError(KindRobotsUnavailable, robotsURL, fmt.Errorf("%w (status %d)", ErrRobotsUnavailable, resp.Status))
	default:
		// 4xx, and 3xx when the redirect chain was too long or not
		// followable: no usable robots.txt, so no restrictions.
		r = &Robots{}
	}
	ttl := robotsTTL
	if err != nil {
		ttl = robotsFailTTL
	}
	if r != nil {
		r.fetched = c.now()
		if resp != nil && len(resp.Exchanges) > 0 {
			ex := resp.Exchanges
			r.exchanges.Store(&ex) // before r is shared, by the cache or singleflight
			size += exchangeBytes(ex, resp.Body)
		}
	}
	if r != nil && c.robotsDB != nil {
		var body []byte // allow all, no sitemaps
		if r.hasRules() || len(r.sitemaps) > 0 {
			body = resp.Body
		}
		// A cache that cannot keep it costs a fetch on the next run only;
		// its own failure surfaces through its other uses.
		_ = c.robotsDB.StoreRobots(origin, body, r.fetched)
	}
	c.cacheRobots(origin, robotsEntry{r: r, err: err, expires: c.now().Add(ttl)}, size)
	c.lowerRate(key, r.CrawlDelay())
	return r, err
}

// cachedRobots returns origin's cached outcome if it has not expired,
// marking it the most recently used.
func (c *Client) cachedRobots(origin string) (robotsEntry, bool) {
	c.robotsMu.Lock()
	e, ok := c.robots.get(origin)
	c.robotsMu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e, true
	}
	return robotsEntry{}, false
}

// cacheRobots keeps e for origin, counting size bytes of robots.txt for it,
// and drops the least recently used entries beyond the cache's bounds.
func (c *Client) cacheRobots(origin string, e robotsEntry, size int) {
	c.robotsMu.Lock()
	defer c.robotsMu.Unlock()
	c.robots.put(origin, e, int64(size)+robotsEntryCost)
	for c.robots.len() > c.robotsMaxOrigins || c.robots.bytes() > c.robotsMaxBytes {
		old, _, _ := c.robots.oldest()
		if old == origin {
			break // the entry just kept
		}
		c.robots.remove(old)
	}
}

// cachedCrawlDelay is the longest Crawl-delay of the rules cached for the
// origins of host key (http and https), expired or not, without marking
// them used; zero if none. A limiter created for the host again starts
// from it.
func (c *Client) cachedCrawlDelay(key string) time.Duration {
	c.robotsMu.Lock()
	defer c.robotsMu.Unlock()
	if c.robots.len() == 0 {
		return 0
	}
	var d time.Duration
	for _, scheme := range [...]string{"http://", "https://"} {
		if e, ok := c.robots.peek(scheme + key); ok {
			d = max(d, e.r.CrawlDelay())
		}
	}
	return d
}

// robotsCount is the number of origins whose robots.txt outcome is cached.
func (c *Client) robotsCount() int {
	c.robotsMu.Lock()
	defer c.robotsMu.Unlock()
	return c.robots.len()
}
