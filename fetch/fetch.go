// Package fetch is trawl's HTTP layer: one polite GET at a time, reported
// precisely.
//
// A Client applies a per-host rate limit to every request it makes (pages,
// robots.txt, redirect hops), follows redirects up to a limit, caps the time
// of a fetch and the size of the decoded body, negotiates and decodes gzip,
// deflate and brotli itself, and fetches and caches robots.txt per origin.
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
	// link-local, CGNAT, multicast or unspecified address, and the host
	// was not named in Config.AllowHosts or Config.Resolve (see
	// Config.AllowPrivate). Not retryable.
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
	// request the client makes. Zero or negative means unlimited; a robots.txt
	// Crawl-delay can still lower a host's rate.
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
	// is set). A custom Transport should not decode bodies itself
	// (DisableCompression) since fetch sends its own Accept-Encoding.
	Transport http.RoundTripper
	// AllowPrivate turns the address guard off. By default the client
	// refuses to connect to loopback, private (RFC 1918, RFC 4193),
	// link-local (169.254.0.0/16, fe80::/10), CGNAT (100.64.0.0/10),
	// multicast and unspecified addresses, and to IPv4-mapped forms of
	// those, so that links and redirects on public pages cannot turn the
	// client against its own network (SSRF). The check is made on the
	// address actually dialed, after DNS, so redirect hops and DNS
	// rebinding are covered. It is part of the transport New builds:
	// ignored when Transport is set.
	AllowPrivate bool
	// AllowHosts are host names (without port) the user named, for
	// example as seeds: the address guard lets the client connect to
	// them whatever they resolve to. Hosts in Resolve are allowed too.
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

	limMu    sync.Mutex
	limiters map[string]*rate.Limiter // by hostKey; guarded by limMu

	robotsMu sync.Mutex
	robots   map[string]robotsEntry // by origin; guarded by robotsMu
	robotsSF singleflight.Group
	robotsDB RobotsCache // may be nil
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
		limiters:     make(map[string]*rate.Limiter),
		robots:       make(map[string]robotsEntry),
		robotsDB:     cfg.RobotsCache,
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
	base := cfg.Transport
	if base == nil {
		base = newTransport(cfg)
	}
	c.hc = &http.Client{
		Transport:     &limitTransport{c: c, next: base},
		CheckRedirect: checkRedirect,
	}
	return c
}

// Close closes idle connections. In-flight fetches are not interrupted; the
// Client stays usable.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// newTransport builds the default transport for cfg.
func newTransport(cfg Config) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	dial := d.DialContext
	proxy := http.ProxyFromEnvironment
	if len(cfg.Resolve) > 0 {
		m := make(map[string]string, len(cfg.Resolve))
		for k, v := range cfg.Resolve {
			m[strings.ToLower(k)] = v
		}
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := m[strings.ToLower(addr)]; ok {
				addr = to
			}
			return d.DialContext(ctx, network, addr)
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
// The request waits for its host's limiter under ctx alone, before the
// Timeout starts.
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
	key := hostKey(hreq.URL)
	if err := c.limiter(key).Wait(ctx); err != nil {
		return nil, fmt.Errorf("fetch %s: waiting for host rate limit: %w", rawURL, limiterErr(ctx, err))
	}

	start := time.Now()
	deadline := start.Add(c.timeout)
	st := &fetchState{hook: hook, maxRedirects: maxRedirects, prewaited: key}
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
