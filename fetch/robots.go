package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// robots.txt handling limits and cache lifetimes.
const (
	robotsMaxBody      = 512 << 10
	robotsMaxRedirects = 5
	robotsTTL          = 24 * time.Hour
	robotsFailTTL      = 30 * time.Second
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
// host's rate limiter with the first caller's ctx; each caller stops waiting
// when its own ctx ends. Results are cached: rules for 24h, failures for 30s.
//
// Outcome by status (redirects followed up to 5): 2xx: parsed (first 512 KiB;
// lines that do not parse are skipped); 4xx, or a redirect chain too long:
// allow all; 5xx or a network error: an error wrapping ErrRobotsUnavailable
// (and the network error), meaning "treat the host as disallowed for now and
// ask again later". A caller's ctx ending gives its ctx error, not cached.
//
// The group is chosen by the User-Agent's product token (e.g. "trawl"),
// falling back to "*". A Crawl-delay lowers the host's limiter to at most one
// request per delay; it never raises it.
func (c *Client) Robots(ctx context.Context, u *url.URL) (*Robots, error) {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fetch robots.txt for %v: %w: need an absolute http(s) URL", u, ErrBadURL)
	}
	key := hostKey(u)
	origin := strings.ToLower(u.Scheme) + "://" + key
	for {
		c.robotsMu.Lock()
		e, ok := c.robots[origin]
		c.robotsMu.Unlock()
		if ok && c.now().Before(e.expires) {
			return e.r, e.err
		}
		ch := c.robotsSF.DoChan(origin, func() (any, error) {
			// A load that finished between the lookup above and DoChan
			// already filled the cache.
			c.robotsMu.Lock()
			e, ok := c.robots[origin]
			c.robotsMu.Unlock()
			if ok && c.now().Before(e.expires) {
				return e.r, e.err
			}
			return c.loadRobots(ctx, origin, key)
		})
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("fetch %s/robots.txt: %w", origin, ctx.Err())
		case res := <-ch:
			var gone *leaderGone
			if errors.As(res.Err, &gone) {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("fetch %s/robots.txt: %w", origin, ctx.Err())
				}
				continue // another caller's ctx ended during its load; load again
			}
			r, _ := res.Val.(*Robots)
			return r, res.Err
		}
	}
}

// RobotsCache keeps robots.txt files for a Client beyond its life (see
// Config.RobotsCache); store.Disk implements it. Its methods are called
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
// RobotsCache while fresh), caches the outcome and applies a Crawl-delay to
// the limiter of host key. It runs once per origin at a time (singleflight)
// with the leading caller's ctx.
func (c *Client) loadRobots(ctx context.Context, origin, key string) (*Robots, error) {
	if c.robotsDB != nil {
		if body, at, ok := c.robotsDB.LoadRobots(origin); ok && c.now().Before(at.Add(robotsTTL)) {
			r := &Robots{}
			if len(body) > 0 {
				r = parseRobots(body, c.agent)
			}
			r.fetched = at
			c.robotsMu.Lock()
			c.robots[origin] = robotsEntry{r: r, expires: at.Add(robotsTTL)}
			c.robotsMu.Unlock()
			if r.crawlDelay > 0 {
				c.lowerRate(key, r.crawlDelay)
			}
			return r, nil
		}
	}
	robotsURL := origin + "/robots.txt"
	resp, err := c.fetch(ctx, robotsURL, nil, robotsMaxRedirects, robotsMaxBody)
	if ctx.Err() != nil {
		return nil, &leaderGone{err: fmt.Errorf("fetch %s: %w", robotsURL, ctx.Err())}
	}
	var r *Robots
	switch {
	case err != nil:
		err = fmt.Errorf("%w: %w", ErrRobotsUnavailable, err)
	case resp.Status >= 200 && resp.Status < 300:
		r = parseRobots(resp.Body, c.agent)
	case resp.Status >= 500:
		err = fmt.Errorf("fetch %s: %w (status %d)", robotsURL, ErrRobotsUnavailable, resp.Status)
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
	}
	if r != nil && c.robotsDB != nil {
		var body []byte // allow all
		if r.group != nil {
			body = resp.Body
		}
		// A cache that cannot keep it costs a fetch on the next run only;
		// its own failure surfaces through its other uses.
		_ = c.robotsDB.StoreRobots(origin, body, r.fetched)
	}
	c.robotsMu.Lock()
	c.robots[origin] = robotsEntry{r: r, err: err, expires: c.now().Add(ttl)}
	c.robotsMu.Unlock()

	if r != nil && r.crawlDelay > 0 {
		c.lowerRate(key, r.crawlDelay)
	}
	return r, err
}
