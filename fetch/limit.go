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

// limiter returns the limiter of host key, creating it at the configured rate
// with burst 1. Limiters are never removed: the map grows with the number of
// hosts seen.
func (c *Client) limiter(key string) *rate.Limiter {
	c.limMu.Lock()
	defer c.limMu.Unlock()
	lim := c.limiters[key]
	if lim == nil {
		lim = rate.NewLimiter(c.rate, 1)
		c.limiters[key] = lim
	}
	return lim
}

// lowerRate makes host key's limiter allow at most one request per every d.
// It never raises a rate.
func (c *Client) lowerRate(key string, d time.Duration) {
	if d <= 0 {
		return
	}
	lim := c.limiter(key)
	if l := rate.Every(d); l < lim.Limit() {
		lim.SetLimit(l)
	}
}

// Delay reports how long from now until the limiter of u's host admits a
// request: zero if one may go now. It reserves nothing, so a scheduler can
// learn a host's next-ready time without parking a worker.
func (c *Client) Delay(u *url.URL) time.Duration {
	lim := c.limiter(hostKey(u))
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

// limitTransport waits on the host's limiter before each request. It is the
// Client's transport, so page requests, redirect hops and robots.txt all
// pass through it.
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
