// Package fetch is trawl's HTTP layer: one polite GET at a time, reported
// precisely.
//
// A Client follows redirects up to a limit, caps the time of a fetch and the
// size of the decoded body, negotiates and decodes gzip, deflate and brotli
// itself, fetches and caches robots.txt per origin, and refuses to connect
// to addresses of its own network (loopback, private, link-local, ...)
// unless told otherwise. With a positive Config.Rate it also applies a
// per-host rate limit to every request it makes (pages, robots.txt,
// redirect hops); with none, the caller schedules requests, as trawl's
// crawler does.
//
// Fetch makes exactly one attempt. Whether and when to retry is the caller's
// decision, made from Response.Status, Response.RetryAfter and Retryable(err).
// An HTTP error status is a Response, never an error.
//
// fetch imports no other trawl package.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// DefaultUserAgent is the User-Agent sent when Config.UserAgent is empty. Its
// product token ("trawl") selects the robots.txt group.
const DefaultUserAgent = "trawl/0.1 (polite Go web crawler)"

// Defaults applied by New for zero Config fields.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBody      = 10 << 20
	DefaultMaxRedirects = 10
)

// MaxRetryAfter caps Response.RetryAfter: a server asking for a longer pause
// gets this one.
const MaxRetryAfter = time.Hour

var (
	// ErrTooManyRedirects is wrapped by Response.RedirectErr when a redirect
	// chain is longer than Config.MaxRedirects.
	ErrTooManyRedirects = errors.New("fetch: too many redirects")
	// ErrRobotsUnavailable is wrapped by Robots' error when robots.txt could
	// not be obtained (5xx status or network error). The convention is to
	// treat the host as disallowed for now and to try again later.
	ErrRobotsUnavailable = errors.New("fetch: robots.txt unavailable")
	// ErrBadURL is wrapped when the URL cannot be requested: unparsable, not
	// http or https, or without a host. Not retryable.
	ErrBadURL = errors.New("fetch: bad url")
	// ErrDecode is wrapped when the body does not decode as its
	// Content-Encoding says (corrupt gzip, deflate or br). Not retryable.
	ErrDecode = errors.New("fetch: cannot decode body")
	// ErrTimeout is wrapped when Config.Timeout expired during a fetch. It
	// matches context.DeadlineExceeded with errors.Is, and Retryable reports
	// true for it (unlike the caller's own deadline or cancellation).
	ErrTimeout error = timeoutError{}
	// ErrBlockedAddress is wrapped when the address guard refused to
	// connect: the host resolved to (or is) a loopback, private,
	// link-local, CGNAT, multicast, unspecified or reserved address, and
	// the host was not named in Config.AllowHosts or Config.Resolve (see
	// Config.AllowPrivate). The message names the address and the reason.
	// Not retryable, also when Robots wraps it with ErrRobotsUnavailable.
	ErrBlockedAddress = errors.New("fetch: blocked address")
)

type timeoutError struct{}

func (timeoutError) Error() string        { return "fetch: timeout" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Config configures a Client. The zero value is usable: every zero field
// means the documented default.
type Config struct {
	// UserAgent is sent with every request. Empty means DefaultUserAgent. Its
	// first token (up to "/" or a space) selects the robots.txt group.
	UserAgent string
	// Timeout bounds one Fetch: redirects, connecting, headers and reading
	// the body. It does not include the wait for the first request's host
	// limiter (that wait honours only the caller's ctx); waits for redirect
	// hops' limiters are included. Zero (or negative) means 30s.
	Timeout time.Duration
	// MaxBody caps the decoded body kept per response. A longer body is cut
	// at MaxBody, Response.Truncated is set and the rest is never read. Zero
	// (or negative) means 10 MiB.
	MaxBody int64
	// MaxRedirects is how many redirects one Fetch follows. Zero means 10;
	// negative means redirects are not followed (the 3xx is the Response).
	MaxRedirects int
	// Rate is the requests per second allowed per host (burst 1) for every
	// request the client makes: pages, redirect hops and robots.txt. A
	// robots.txt Crawl-delay lowers a host's rate (never raises it). The
	// Client keeps the limiters of at most 10,000 hosts plus those not idle
	// yet (used within the last interval); a host's limiter that was
	// dropped is made again at Rate, lowered by its Crawl-delay if its
	// robots.txt rules are still cached.
	//
	// Zero or negative means the Client does not limit: the caller
	// schedules requests, as the crawler's frontier does; a robots.txt
	// Crawl-delay is then reported by Robots but not applied, Delay
	// reports zero, and no per-host state is kept for limiting.
	Rate float64
	// MaxConnsPerHost limits connections per host on the built transport.
	// Zero means no limit. Ignored when Transport is set.
	MaxConnsPerHost int
	// Resolve overrides dialing: "host:port" -> "ip:port", like curl
	// --resolve. TLS still verifies the URL's host name. nil means normal
	// DNS. Ignored when Transport is set. While set, no proxy is used.
	Resolve map[string]string
	// Transport carries the requests. nil means a tuned *http.Transport
	// built by New (keep-alive, 64 idle connections per host, compression
	// negotiated by fetch itself, proxy from the environment unless Resolve
	// is set, the address guard unless AllowPrivate). A custom Transport
	// should not decode bodies itself (DisableCompression) since fetch
	// sends its own Accept-Encoding; the address guard does not apply to
	// it (it decides where it connects).
	Transport http.RoundTripper
	// AllowPrivate turns the address guard off. By default the client
	// refuses to connect to loopback, private (RFC 1918, RFC 4193),
	// link-local (169.254.0.0/16 with the cloud metadata address,
	// fe80::/10), CGNAT (100.64.0.0/10), multicast, unspecified and
	// reserved addresses (IPv4 0.0.0.0/8, 192.0.0.0/24, 198.18.0.0/15,
	// 240.0.0.0/4, the documentation ranges; IPv6 outside global unicast
	// 2000::/3 and NAT64 64:ff9b::/96), and to IPv6 addresses embedding
	// such an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4,
	// Teredo), so that links and redirects on public pages cannot turn
	// the client against its own network (SSRF). The check is made on
	// every address actually dialed, after DNS and before connecting, so
	// redirect hops and DNS rebinding are covered; a URL whose host is
	// such an IP literal is refused before anything is sent. A refusal is
	// an error wrapping ErrBlockedAddress.
	//
	// With a proxy from the environment (HTTP_PROXY, HTTPS_PROXY), the
	// client connects to the proxy, which is allowed whatever its address
	// (it is the user's configuration); the proxy resolves and connects to
	// the targets, so only targets given as IP literals are checked, not
	// host names. NO_PROXY hosts are dialed directly and fully checked.
	//
	// The guard is part of the transport New builds: it does not apply
	// when Transport is set.
	AllowPrivate bool
	// AllowHosts are hosts the user named, for example as seeds: names
	// (ASCII, compared case-insensitively) or IP literals (IPv6 with or
	// without brackets), without port. The address guard lets the client
	// connect to them whatever they resolve to, on any port. The hosts of
	// Resolve's keys are named too. Allowing a name does not allow other
	// names that resolve to the same address.
	AllowHosts []string
	// RobotsCache, if set, keeps fetched robots.txt files beyond this
	// client, so that a resumed crawl does not fetch them again. nil means
	// they are cached in memory only.
	RobotsCache RobotsCache
}

// Client fetches pages and robots.txt politely. Create it with New; the zero
// value is not usable. A Client is safe for concurrent use by multiple
// goroutines; Close it when done.
type Client struct {
	hc           *http.Client
	ua           string
	agent        string // robots.txt product token, lower case
	timeout      time.Duration
	maxBody      int64
	maxRedirects int
	rate         rate.Limit
	now          func() time.Time // clock for caches and Retry-After; tests replace it

	guard *guard // nil: no address guard

	// limMu and robotsMu are never held together.
	limMu       sync.Mutex
	limiters    lru[string, *rate.Limiter] // by hostKey; empty unless limited(); guarded by limMu
	maxLimiters int                        // see evictLimiters

	robotsMu         sync.Mutex
	robots           lru[string, robotsEntry] // by origin; guarded by robotsMu
	robotsMaxOrigins int
	robotsMaxBytes   int64
	robotsSF         singleflight.Group
	robotsDB         RobotsCache // may be nil
}

// New returns a Client for cfg. It never fails: out-of-range values mean
// their defaults.
func New(cfg Config) *Client {
	c := &Client{
		ua:           cfg.UserAgent,
		timeout:      cfg.Timeout,
		maxBody:      cfg.MaxBody,
		maxRedirects: cfg.MaxRedirects,
		rate:         rate.Inf,
		now:          time.Now,
		guard:        newGuard(cfg),

		maxLimiters:      maxLimiters,
		robotsMaxOrigins: robotsMaxOrigins,
		robotsMaxBytes:   robotsMaxBytes,
		robotsDB:         cfg.RobotsCache,
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	c.agent = productToken(c.ua)
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	if c.maxRedirects == 0 {
		c.maxRedirects = DefaultMaxRedirects
	}
	if cfg.Rate > 0 {
		c.rate = rate.Limit(cfg.Rate)
	}
	rt := cfg.Transport
	if rt == nil {
		rt = newTransport(cfg, c.guard)
	}
	if c.limited() {
		rt = &limitTransport{c: c, next: rt}
	}
	if c.guard != nil {
		rt = &guardTransport{g: c.guard, next: rt} // refuses before a limiter wait
	}
	c.hc = &http.Client{Transport: rt, CheckRedirect: checkRedirect}
	return c
}

// Close closes idle connections. In-flight fetches are not interrupted; the
// Client stays usable.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// proxyFromEnvironment is the Proxy of the transport New builds; tests
// replace it.
var proxyFromEnvironment = http.ProxyFromEnvironment

// newTransport builds the default transport for cfg, with the address
// guard g unless it is nil.
func newTransport(cfg Config, g *guard) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	dial := d.DialContext
	proxy := proxyFromEnvironment
	if g != nil {
		proxy = g.proxyFunc(proxy)
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return g.dial(ctx, d, network, addr)
		}
	}
	if len(cfg.Resolve) > 0 {
		m := make(map[string]string, len(cfg.Resolve))
		for k, v := range cfg.Resolve {
			m[strings.ToLower(k)] = v
		}
		next := dial
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := m[strings.ToLower(addr)]; ok {
				// A host in Resolve is named: dialed without the guard.
				return d.DialContext(ctx, network, to)
			}
			return next(ctx, network, addr)
		}
		proxy = nil
	}
	return &http.Transport{
		Proxy:                  proxy,
		DialContext:            dial,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    64,
		MaxConnsPerHost:        cfg.MaxConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		DisableCompression:     true,
	}
}

// productToken returns the lower-cased first token of a User-Agent:
// "trawl/0.1 (+...)" -> "trawl".
func productToken(ua string) string {
	ua = strings.TrimSpace(ua)
	if i := strings.IndexAny(ua, "/ \t"); i >= 0 {
		ua = ua[:i]
	}
	return strings.ToLower(ua)
}

// Request is one GET to make.
type Request struct {
	// URL is the absolute http or https URL to get, sent as written.
	URL string
	// CheckRedirect, if non-nil, is called before following each redirect
	// with the absolute target URL (Location resolved against the current
	// URL) and the fetch's context. A non-nil error stops following: Fetch
	// returns the redirect response itself (3xx, body discarded) with
	// Response.RedirectErr set to that error, and a nil error.
	CheckRedirect func(ctx context.Context, to *url.URL) error
}

// Response is the outcome of a fetch that obtained an HTTP response.
type Response struct {
	URL       string   // as requested
	FinalURL  string   // URL of the last response (after followed redirects)
	Redirects []string // hop URLs followed, in order, excluding the first; nil if none
	Status    int
	// Header is the last response's header as sent. Body is decoded, so
	// Content-Encoding and Content-Length here describe the wire form.
	Header      http.Header
	ContentType string // Content-Type header value as sent; "" if absent
	// Body is the decoded body (gzip, x-gzip, deflate as zlib or raw, br;
	// identity for anything else), at most MaxBody bytes. Empty when
	// RedirectErr is set.
	Body      []byte
	Truncated bool // the decoded body was longer than MaxBody
	// Duration is the wall time of the fetch from the first request on the
	// wire (after the first host limiter wait) to the end of the body.
	Duration time.Duration
	// RetryAfter is the pause the server asked for in Retry-After
	// (delta-seconds or HTTP-date relative to now), at most MaxRetryAfter;
	// zero if absent or invalid.
	RetryAfter time.Duration
	// RedirectErr is set when a redirect was not followed because
	// Request.CheckRedirect returned this error, because the chain exceeded
	// MaxRedirects (wraps ErrTooManyRedirects) or because the target is not
	// http(s). The Response is then the 3xx itself.
	RedirectErr error
	// RedirectTo is the absolute target of the redirect not followed; set
	// with RedirectErr.
	RedirectTo string
}

// Fetch does one GET of req.URL.
//
// err is non-nil only when no complete response was obtained: a bad URL, a
// network or TLS error, a timeout, the caller's ctx ending, or a body that
// failed midway (connection reset) or did not decode (wraps ErrDecode). In
// those cases the Response is nil, including when the headers had arrived. An
// HTTP 404 or 500 is a Response with a nil error.
//
// Errors are wrapped as "fetch <url>: ...", so errors.Is works: the caller's
// cancellation gives context.Canceled, the caller's deadline
// context.DeadlineExceeded, and Config.Timeout gives ErrTimeout (which also
// matches context.DeadlineExceeded). Retryable tells transient errors apart.
//
// When the Client limits (Config.Rate > 0), the request waits for its host's
// limiter under ctx alone, before the Timeout starts. A URL or redirect hop
// the address guard refuses gives an error wrapping ErrBlockedAddress.
func (c *Client) Fetch(ctx context.Context, req Request) (*Response, error) {
	return c.fetch(ctx, req.URL, req.CheckRedirect, c.maxRedirects, c.maxBody)
}

// fetchState is the per-fetch state the transport and redirect policy share.
// Hops of one fetch run one after another, so it needs no lock.
type fetchState struct {
	hook         func(context.Context, *url.URL) error
	maxRedirects int
	prewaited    string // hostKey whose limiter was already waited for
	hops         []string
	redirectErr  error
	redirectTo   string
}

type stateKey struct{}

func (c *Client) fetch(ctx context.Context, rawURL string, hook func(context.Context, *url.URL) error, maxRedirects int, maxBody int64) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	hreq, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %w", rawURL, ErrBadURL, err)
	}
	if s := hreq.URL.Scheme; (s != "http" && s != "https") || hreq.URL.Host == "" {
		return nil, fmt.Errorf("fetch %s: %w: need an absolute http(s) URL", rawURL, ErrBadURL)
	}
	st := &fetchState{hook: hook, maxRedirects: maxRedirects}
	if c.limited() {
		// Refuse a blocked address before taking the host's turn (the
		// guard's transport checks again, as for every hop).
		if err := c.guard.checkURL(hreq.URL); err != nil {
			return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
		}
		key := hostKey(hreq.URL)
		if err := c.limiter(key).Wait(ctx); err != nil {
			return nil, fmt.Errorf("fetch %s: waiting for host rate limit: %w", rawURL, limiterErr(ctx, err))
		}
		st.prewaited = key
	}

	start := time.Now()
	deadline := start.Add(c.timeout)
	tctx, cancel := context.WithDeadline(context.WithValue(ctx, stateKey{}, st), deadline)
	defer cancel()
	hreq = hreq.WithContext(tctx)
	hreq.Header = http.Header{
		"User-Agent":      {c.ua},
		"Accept":          {"text/html,application/xhtml+xml,*/*;q=0.8"},
		"Accept-Encoding": {"gzip, deflate, br"},
	}

	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, c.fail(ctx, tctx, deadline, rawURL, "", err)
	}
	defer resp.Body.Close()

	out := &Response{
		URL:         rawURL,
		FinalURL:    resp.Request.URL.String(),
		Redirects:   st.hops,
		Status:      resp.StatusCode,
		Header:      resp.Header,
		ContentType: resp.Header.Get("Content-Type"),
		RetryAfter:  parseRetryAfter(resp.Header.Get("Retry-After"), c.now()),
		RedirectErr: st.redirectErr,
		RedirectTo:  st.redirectTo,
	}
	if st.redirectErr != nil {
		drain(resp.Body)
		out.Duration = time.Since(start)
		return out, nil
	}
	out.Body, out.Truncated, err = readBody(resp, maxBody)
	if err != nil {
		var tm *tooManyEncodings
		if errors.As(err, &tm) {
			return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
		}
		var de *decodeError
		if errors.As(err, &de) && ctx.Err() == nil && tctx.Err() == nil {
			return nil, fmt.Errorf("fetch %s: %w (%s): %w", rawURL, ErrDecode, de.enc, de.err)
		}
		if errors.As(err, &de) {
			err = de.err
		}
		return nil, c.fail(ctx, tctx, deadline, rawURL, "reading body: ", err)
	}
	out.Duration = time.Since(start)
	return out, nil
}

// fail wraps the error of a failed attempt, telling the caller's ctx ending
// apart from the client's own Timeout (tctx with deadline).
func (c *Client) fail(ctx, tctx context.Context, deadline time.Time, rawURL, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("fetch %s: %s%w", rawURL, op, cerr)
	}
	timeout := fmt.Errorf("fetch %s: %s%w after %v", rawURL, op, ErrTimeout, c.timeout)
	if tctx.Err() != nil {
		return timeout
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// A limiter wait that would outlast a deadline fails early; whose
		// deadline is the earlier one decides whose failure it is.
		if d, ok := ctx.Deadline(); ok && !d.After(deadline) {
			return fmt.Errorf("fetch %s: %s%w", rawURL, op, context.DeadlineExceeded)
		}
		return timeout
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop url.Error's duplicate "Get <url>:" prefix
	}
	return fmt.Errorf("fetch %s: %s%w", rawURL, op, err)
}

// checkRedirect is the http.Client redirect policy; the per-fetch settings
// come from the request context.
func checkRedirect(req *http.Request, via []*http.Request) error {
	st, _ := req.Context().Value(stateKey{}).(*fetchState)
	if st == nil {
		return http.ErrUseLastResponse
	}
	if st.maxRedirects < 0 {
		return http.ErrUseLastResponse
	}
	to := req.URL.String()
	stop := func(err error) error {
		st.redirectErr, st.redirectTo = err, to
		return http.ErrUseLastResponse
	}
	if len(via) > st.maxRedirects {
		return stop(fmt.Errorf("%w (limit %d) at %s", ErrTooManyRedirects, st.maxRedirects, to))
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return stop(fmt.Errorf("fetch: redirect to unsupported scheme %q: %s", s, to))
	}
	if st.hook != nil {
		if err := st.hook(req.Context(), req.URL); err != nil {
			return stop(err)
		}
	}
	st.hops = append(st.hops, to)
	return nil
}

// parseRetryAfter interprets a Retry-After value at time now: delta-seconds
// or an HTTP-date. Invalid, negative or past values give 0; the result is at
// most MaxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n >= int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0
	}
	return min(max(d, 0), MaxRetryAfter)
}
