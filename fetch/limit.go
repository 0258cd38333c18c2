package fetch

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// hostKey is the politeness key of u: lower-case host name, with ":port" when
// the port is not the scheme's default. http://a and https://a share it.
func hostKey(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	port := u.Port()
	if port == "" || (port == "80" && u.Scheme == "http") || (port == "443" && u.Scheme == "https") {
		return host
	}
	return host + ":" + port
}

// maxLimiters is how many per-host limiters a Client that limits keeps at
// most, beyond the ones that are not idle (see evictLimiters).
const maxLimiters = 10_000

// limiterProbes bounds how many least recently used limiters one new host
// examines for eviction.
const limiterProbes = 8

// limited reports whether the Client limits the rate of requests
// (Config.Rate not negative). When it does not, it keeps no limiters at
// all.
func (c *Client) limited() bool { return c.rate != rate.Inf }

// limiter returns the limiter of host key, creating it at the configured
// rate with burst 1, lowered by the Crawl-delay of the host's robots.txt
// rules if they are cached. It returns nil when the Client does not limit.
func (c *Client) limiter(key string) *rate.Limiter {
	if !c.limited() {
		return nil
	}
	return c.limiterAt(key, time.Now())
}

// limiterAt is limiter with the time of the call given, for eviction.
func (c *Client) limiterAt(key string, now time.Time) *rate.Limiter {
	c.limMu.Lock()
	lim, ok := c.limiters.get(key)
	c.limMu.Unlock()
	if ok {
		return lim
	}
	// A host seen again after its limiter was evicted gets its Crawl-delay
	// back from the robots.txt rules still cached (robotsMu is taken
	// without limMu held: the two locks are never nested).
	delay := c.cachedCrawlDelay(key)

	c.limMu.Lock()
	defer c.limMu.Unlock()
	if lim, ok := c.limiters.get(key); ok {
		return lim // created meanwhile
	}
	lim = rate.NewLimiter(c.rate, 1)
	if l := rate.Every(delay); delay > 0 && l < lim.Limit() {
		lim.SetLimitAt(now, l)
	}
	c.limiters.put(key, lim, 1)
	c.evictLimiters(now, key)
	return lim
}

// evictLimiters drops least recently used limiters while there are more
// than c.maxLimiters, examining at most limiterProbes of them. Only an idle
// limiter (its bucket full again at now) is dropped, so that forgetting it
// never lets a request go early. The least recently used limiter not idle
// yet stops the eviction when it runs at the Client's rate: the ones used
// after it are not idle either (unless their hosts had requests queued), so
// the map exceeds the cap only by hosts used within the last interval
// (1/Rate). One whose rate a Crawl-delay lowered is moved to the front
// instead, so that a long Crawl-delay does not hold the cap off for its
// whole length: such hosts stay in the map while used within their
// Crawl-delay, in addition. The limiter of key, just created, is kept.
// evictLimiters requires that c.limMu is held.
func (c *Client) evictLimiters(now time.Time, keep string) {
	for range limiterProbes {
		if c.limiters.len() <= c.maxLimiters {
			return
		}
		key, lim, _ := c.limiters.oldest()
		switch {
		case key == keep:
			return
		case lim.TokensAt(now) >= float64(lim.Burst()):
			c.limiters.remove(key)
		case lim.Limit() < c.rate:
			c.limiters.get(key) // lowered by a Crawl-delay: look further
		default:
			return
		}
	}
}

// limiterCount is the number of limiters kept.
func (c *Client) limiterCount() int {
	c.limMu.Lock()
	defer c.limMu.Unlock()
	return c.limiters.len()
}

// lowerRate makes host key's limiter allow at most one request per every d.
// It never raises a rate, and does nothing when the Client does not limit.
func (c *Client) lowerRate(key string, d time.Duration) {
	if d <= 0 || !c.limited() {
		return
	}
	lim := c.limiter(key)
	if l := rate.Every(d); l < lim.Limit() {
		lim.SetLimit(l)
	}
}

// Delay reports how long from now until the limiter of u's host admits a
// request: zero if one may go now, and always zero when the Client does not
// limit (Config.Rate negative). It reserves nothing, so a scheduler can
// learn a host's next-ready time without parking a worker.
func (c *Client) Delay(u *url.URL) time.Duration {
	if !c.limited() {
		return 0
	}
	c.limMu.Lock()
	lim, ok := c.limiters.peek(hostKey(u))
	c.limMu.Unlock()
	if !ok {
		return 0 // a new limiter admits at once
	}
	l := lim.Limit()
	if l == rate.Inf {
		return 0
	}
	tokens := lim.TokensAt(time.Now())
	if tokens >= 1 || l <= 0 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(l) * float64(time.Second))
}

// limiterErr maps a rate.Limiter Wait error: the context's own error when it
// ended, otherwise the limiter's refusal to outwait the deadline, which is
// reported as context.DeadlineExceeded since the deadline would pass.
func limiterErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
}

// limitTransport waits on the host's limiter before each request. It is in
// the Client's transport when the Client limits, so page requests, redirect
// hops and robots.txt all pass through it.
type limitTransport struct {
	c    *Client
	next http.RoundTripper
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := hostKey(req.URL)
	ctx := req.Context()
	if st, _ := ctx.Value(stateKey{}).(*fetchState); st != nil && st.prewaited == key {
		st.prewaited = "" // Fetch already waited for this hop
	} else if err := t.c.limiter(key).Wait(ctx); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("fetch: waiting for rate limit of %s: %w", key, limiterErr(ctx, err))
	}
	return t.next.RoundTrip(req)
}

// CloseIdleConnections forwards to the wrapped transport.
func (t *limitTransport) CloseIdleConnections() {
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}
