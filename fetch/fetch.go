package fetch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"trawl/internal/bufpool"
)

// DefaultUserAgent is the User-Agent sent when Config.UserAgent is empty. Its
// product token ("trawl") selects the robots.txt group.
const DefaultUserAgent = "trawl/0.1 (polite Go web crawler)"

// Defaults applied by New for zero Config fields.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBody      = 10 << 20
	DefaultMaxRedirects = 10
	// DefaultRate is the requests per second per host of a Client whose
	// Config.Rate is zero: polite by default, as trawl's crawler is.
	DefaultRate = 2.0
)

// MaxRetryAfter caps Response.RetryAfter: a server asking for a longer pause
// gets this one.
const MaxRetryAfter = time.Hour

// Config configures a Client. The zero value is usable: every zero field
// means the documented default, and a negative number means "off" (see the
// package documentation). New copies the maps and slices it holds, so
// changing them afterwards does not change the Client.
type Config struct {
	// UserAgent is sent with every request. Empty means DefaultUserAgent. Its
	// first token (up to "/" or a space) selects the robots.txt group.
	UserAgent string
	// Header is sent with every request: pages, robots.txt, redirect hops.
	// Each name's values replace the client's defaults for that name: the
	// User-Agent (which then also selects the robots.txt group) and
	// Accept ("text/html,application/xhtml+xml,*/*;q=0.8"); a name with no
	// values removes the header. Accept-Encoding is the client's own, as it
	// decodes bodies itself: a value here is ignored. As net/http does, a
	// redirect hop to another domain does not get Authorization, Cookie
	// and WWW-Authenticate headers set here (use Credentials or OnRequest).
	// nil means none.
	Header http.Header
	// Timeout bounds one Fetch: redirects, connecting, headers and reading
	// the body. It does not include the wait for the first request's host
	// limiter (that wait honours only the caller's ctx); waits for redirect
	// hops' limiters are included. Zero means DefaultTimeout (30s);
	// negative means no time limit for the fetch (the caller's ctx still
	// applies, and so do the transport's own connect and TLS handshake
	// timeouts).
	Timeout time.Duration
	// MaxBody caps the decoded body kept per response. A longer body is cut
	// at MaxBody, Response.Truncated is set and the rest is never read. Zero
	// means DefaultMaxBody (10 MiB); negative means no limit.
	MaxBody int64
	// MaxRedirects is how many redirects one Fetch follows. Zero means
	// DefaultMaxRedirects (10); negative means redirects are not followed
	// (the 3xx is the Response).
	MaxRedirects int
	// Rate is the requests per second allowed per host (burst 1) for every
	// request the client makes: pages, redirect hops and robots.txt. A
	// robots.txt Crawl-delay lowers a host's rate (never raises it). The
	// Client keeps the limiters of at most 10,000 hosts plus those not idle
	// yet (used within the last interval); a host's limiter that was
	// dropped is made again at Rate, lowered by its Crawl-delay if its
	// robots.txt rules are still cached. Zero means DefaultRate (2 per
	// second).
	//
	// Negative means the Client does not limit: the caller schedules
	// requests, as the crawler's frontier does; a robots.txt Crawl-delay
	// is then reported by Robots but not applied, Delay reports zero, and
	// no per-host state is kept for limiting.
	Rate float64
	// MaxConnsPerHost limits connections per host on the built transport.
	// Zero (the default, as in net/http) and negative mean no limit.
	// Ignored when Transport is set.
	MaxConnsPerHost int
	// Jar stores the cookies of responses and sends them with requests as
	// net/http's Client does (pages, redirect hops, robots.txt). nil means
	// no cookies. NewJar returns a jar that refuses cookies for public
	// suffixes; a Jar is used from many goroutines at once.
	Jar http.CookieJar
	// Credentials are sent as basic auth ("Authorization: Basic ...") to
	// exactly one host and port each: keys are "host:port" with a
	// lower-case host and an explicit port ("example.com:443",
	// "[::1]:8080"), as in Resolve; a key without a port matches nothing.
	// They are added to every request to that host and port (page,
	// redirect hop, robots.txt) that carries no Authorization header
	// already, and to no other: not to another port of the host, nor on a
	// redirect to another host. They never appear in a Response or an
	// error. nil means none.
	Credentials map[string]*url.Userinfo
	// OnRequest, if set, is called before every request the client sends
	// (a page, each redirect hop, robots.txt), once the client has set its
	// headers, cookies and credentials, and after the address guard and
	// the host limiter let the request through. It may add, change or
	// remove headers (cookies included) of req, which is the client's own
	// copy for this one request; it should not change req.URL or the
	// body. A non-nil error vetoes the request: nothing is sent, and Fetch
	// or Robots returns an error of KindVetoed wrapping ErrVetoed and the
	// hook's error (not retryable). ctx is the request's context (the
	// caller's, with the fetch's Timeout). OnRequest runs on the goroutine
	// of the Fetch or Robots call, and so is called from many goroutines at
	// once.
	OnRequest func(ctx context.Context, req *http.Request) error
	// Proxy is the proxy function of the transport New builds (see
	// http.Transport.Proxy; http.ProxyURL(u) sends everything through one
	// proxy). nil means http.ProxyFromEnvironment unless Resolve is set,
	// in which case no proxy is used. The address guard lets the client
	// connect to the proxies it returns, whatever their address (see
	// AllowPrivate). Ignored when Transport is set.
	Proxy func(*http.Request) (*url.URL, error)
	// Resolve overrides dialing: "host:port" -> "ip:port", like curl
	// --resolve. TLS still verifies the URL's host name. nil means normal
	// DNS. Ignored when Transport is set. While set, no proxy is used
	// unless Proxy is set.
	Resolve map[string]string
	// Transport carries the requests. nil means a tuned *http.Transport
	// built by New (keep-alive, 64 idle connections per host, compression
	// negotiated by fetch itself, Proxy, the address guard unless
	// AllowPrivate). A custom Transport should not decode bodies itself
	// (DisableCompression) since fetch sends its own Accept-Encoding; the
	// address guard does not apply to it (it decides where it connects).
	// Jar, Credentials and OnRequest apply to it as to the built one.
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
	// an error of KindBlockedAddress wrapping ErrBlockedAddress.
	//
	// With a proxy (Proxy, or HTTP_PROXY and HTTPS_PROXY from the
	// environment), the client connects to the proxy, which is allowed
	// whatever its address (it is the user's configuration); the proxy
	// resolves and connects to the targets, so only targets given as IP
	// literals are checked, not host names. Hosts the proxy function
	// sends direct (NO_PROXY) are dialed directly and fully checked.
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
	// Capture keeps each request and response as exchanged, hop by hop,
	// in Response.Exchanges and, for robots.txt, in Robots.TakeExchanges:
	// what a WARC archive stores (see Exchange). It speaks HTTP/1.1 to
	// HTTPS servers, so that the bytes archived are the bytes exchanged,
	// and costs a copy of each compressed body and of each header block.
	Capture bool
}

// Client fetches pages and robots.txt politely. Create it with New; the zero
// value is not usable. A Client is safe for concurrent use by multiple
// goroutines; Close it when done.
type Client struct {
	hc           *http.Client
	header       http.Header   // of every request; cloned per request, never changed
	agent        string        // robots.txt product token, lower case
	timeout      time.Duration // negative: none
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

// noBodyLimit is Client.maxBody when Config.MaxBody is negative; one more
// byte than it still fits an int64.
const noBodyLimit = math.MaxInt64 - 1

// New returns a Client for cfg. It never fails: out-of-range values mean
// their defaults.
func New(cfg Config) *Client {
	c := &Client{
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
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	c.header = baseHeader(ua, cfg.Header)
	if sent := c.header.Get("User-Agent"); sent != "" {
		ua = sent
	}
	c.agent = productToken(ua)
	switch {
	case c.timeout == 0:
		c.timeout = DefaultTimeout
	case c.timeout < 0:
		c.timeout = -1
	}
	switch {
	case c.maxBody == 0:
		c.maxBody = DefaultMaxBody
	case c.maxBody < 0:
		c.maxBody = noBodyLimit
	}
	if c.maxRedirects == 0 {
		c.maxRedirects = DefaultMaxRedirects
	}
	switch {
	case cfg.Rate == 0:
		c.rate = rate.Limit(DefaultRate)
	case cfg.Rate > 0:
		c.rate = rate.Limit(cfg.Rate)
	}
	rt := cfg.Transport
	if rt == nil {
		rt = newTransport(cfg, c.guard)
	}
	if cfg.Capture {
		rt = &captureTransport{next: rt} // innermost: sees requests as sent
	}
	if creds := credentials(cfg.Credentials); creds != nil || cfg.OnRequest != nil {
		rt = &hookTransport{creds: creds, onRequest: cfg.OnRequest, next: rt}
	}
	if c.limited() {
		rt = &limitTransport{c: c, next: rt}
	}
	if c.guard != nil {
		rt = &guardTransport{g: c.guard, next: rt} // refuses before a limiter wait
	}
	c.hc = &http.Client{Transport: rt, CheckRedirect: checkRedirect, Jar: cfg.Jar}
	return c
}

// Close closes idle connections. In-flight fetches are not interrupted; the
// Client stays usable.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// proxyFromEnvironment is the Proxy of the transport New builds when
// Config.Proxy is nil; tests replace it.
var proxyFromEnvironment = http.ProxyFromEnvironment

// newTransport builds the default transport for cfg, with the address
// guard g unless it is nil.
func newTransport(cfg Config, g *guard) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	dial := d.DialContext
	proxy := cfg.Proxy
	if proxy == nil && len(cfg.Resolve) == 0 {
		proxy = proxyFromEnvironment
	}
	if g != nil {
		if proxy != nil {
			proxy = g.proxyFunc(proxy)
		}
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
	}
	t := &http.Transport{
		Proxy:                  proxy,
		DialContext:            dial,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    64,
		MaxConnsPerHost:        max(cfg.MaxConnsPerHost, 0),
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		DisableCompression:     true,
	}
	if cfg.Capture {
		captureDialers(t, dial)
	}
	return t
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

// Request is one request to make.
type Request struct {
	// URL is the absolute http or https URL to get, sent as written.
	URL string
	// Method is GET or HEAD (in any case); empty means GET. A HEAD
	// response has no body: Response.Body is empty. Redirects are
	// followed with the same method. Any other method is an error of
	// KindBadURL.
	Method string
	// Header is added to this request and its redirect hops: each name's
	// values replace those of Config.Header and the client's defaults for
	// that name (User-Agent included; the robots.txt group stays the
	// one of Config). As with Config.Header, Accept-Encoding is ignored
	// and a name with no values removes the header. nil means none.
	Header http.Header
	// CheckRedirect, if non-nil, is called before following each redirect
	// with the absolute target URL (Location resolved against the current
	// URL) and the fetch's context. A non-nil error stops following: Fetch
	// returns the redirect response itself (3xx, body discarded) with
	// Response.RedirectErr set to that error, and a nil error.
	CheckRedirect func(ctx context.Context, to *url.URL) error
}

// Response is the outcome of a fetch that obtained an HTTP response. Its
// URLs have the password of any userinfo hidden (url.URL.Redacted).
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
	// RedirectErr is set and for a HEAD request.
	Body      []byte
	Truncated bool // the decoded body was longer than MaxBody
	// Duration is the wall time of the fetch from the first request on the
	// wire (after the first host limiter wait) to the end of the body.
	Duration time.Duration
	// TTFB is the time to first byte of the last response (the final hop
	// of a redirect chain): from its request asking the transport for a
	// connection to the first byte of the answer, so it includes
	// connecting (DNS, TCP, TLS) when no idle connection was reused. Zero
	// when the transport does not report it (a Config.Transport that
	// ignores net/http/httptrace).
	TTFB time.Duration
	// RetryAfter is the pause the server asked for in Retry-After
	// (delta-seconds or HTTP-date relative to now), at most MaxRetryAfter;
	// zero if absent or invalid.
	RetryAfter time.Duration
	// RedirectErr is set when a redirect was not followed: the error
	// Request.CheckRedirect returned, or a *Error of KindTooManyRedirects
	// when the chain exceeded MaxRedirects (wraps ErrTooManyRedirects), or
	// of KindBadURL when the target is not http(s). The Response is then
	// the 3xx itself.
	RedirectErr error
	// RedirectTo is the absolute target of the redirect not followed; set
	// with RedirectErr.
	RedirectTo string
	// Exchanges are the requests and responses of this fetch as
	// exchanged, redirect hops first and this Response last; nil unless
	// Config.Capture is set.
	Exchanges []*Exchange

	buf *[]byte // the pooled buffer Body lives in, for Release
}

// Release gives the memory of Body back to the Client, for a later fetch
// to read a body into, and sets Body to nil. Call it once nothing uses
// Body, nor any slice of it, any longer: its bytes will be overwritten.
// Releasing is optional (a Response never released is garbage-collected
// as usual); a crawl that reads each body once and keeps none of it saves
// an allocation of the body's size per page by it. Release does nothing
// for a Response the Client did not make, one released before, or one
// whose body Config.Capture shares with its Exchanges. It is not safe to
// call concurrently with any other use of the Response.
func (r *Response) Release() {
	if r.buf == nil {
		return
	}
	bufpool.Put(r.buf)
	r.buf, r.Body = nil, nil
}

// Fetch does one request of req.URL: a GET, or a HEAD if req.Method says
// so.
//
// err is non-nil only when no complete response was obtained: a bad URL, a
// network or TLS error, a timeout, the caller's ctx ending, a request
// vetoed by Config.OnRequest, or a body that failed midway (connection
// reset) or did not decode (wraps ErrDecode). In those cases the Response
// is nil, including when the headers had arrived. An HTTP 404 or 500 is a
// Response with a nil error.
//
// err is then a *Error, whose Kind tells what went wrong and whose message
// reads "fetch <url>: ...". errors.Is works through it: the caller's
// cancellation gives context.Canceled, the caller's deadline
// context.DeadlineExceeded (both KindCanceled), and Config.Timeout gives
// ErrTimeout (KindTimeout, which also matches context.DeadlineExceeded).
// Retryable tells transient errors apart.
//
// When the Client limits (Config.Rate not negative), the request waits for
// its host's limiter under ctx alone, before the Timeout starts. A URL or
// redirect hop the address guard refuses gives an error of
// KindBlockedAddress wrapping ErrBlockedAddress.
func (c *Client) Fetch(ctx context.Context, req Request) (*Response, error) {
	return c.fetch(ctx, req, c.maxRedirects, c.maxBody)
}

// fetchState is the per-fetch state the transport and redirect policy share.
// Hops of one fetch run one after another, so it needs no lock; the times
// of the trace are atomic because the transport reports them from its own
// goroutines.
type fetchState struct {
	hook         func(context.Context, *url.URL) error
	maxRedirects int
	prewaited    string // hostKey whose limiter was already waited for
	hops         []string
	redirectErr  error     // why the redirect to redirectTo was not followed
	redirectKind ErrorKind // of redirectErr when the client declined it itself; KindOther for the hook's error
	redirectTo   string
	exchanges    []*Exchange // with Config.Capture: one per hop, in order

	// Since the fetch's start: when the last hop asked for a connection,
	// and when the first byte of its response came (zero: not yet).
	hopAt, firstByteAt atomic.Int64
	trace              httptrace.ClientTrace // sets them; part of st to spare an allocation
}

// ttfb returns the time to first byte of the last hop, zero if unknown.
func (st *fetchState) ttfb() time.Duration {
	first := st.firstByteAt.Load()
	if first == 0 {
		return 0
	}
	return max(time.Duration(first-st.hopAt.Load()), 0)
}

// traced returns ctx with the httptrace hooks that time st's hops from
// start.
func (st *fetchState) traced(ctx context.Context, start time.Time) context.Context {
	st.trace.GetConn = func(string) {
		st.firstByteAt.Store(0)
		st.hopAt.Store(int64(time.Since(start)))
	}
	st.trace.GotFirstResponseByte = func() { st.firstByteAt.Store(max(int64(time.Since(start)), 1)) }
	return httptrace.WithClientTrace(ctx, &st.trace)
}

type stateKey struct{}

// fetch does req. Every error it returns is a *Error.
func (c *Client) fetch(ctx context.Context, req Request, maxRedirects int, maxBody int64) (*Response, error) {
	rawURL := req.URL
	if err := ctx.Err(); err != nil {
		return nil, newError(KindCanceled, rawURL, err)
	}
	method, err := requestMethod(req.Method)
	if err != nil {
		return nil, newError(KindBadURL, rawURL, err)
	}
	hreq, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, password included
		}
		return nil, newError(KindBadURL, rawURL, fmt.Errorf("%w: %w", ErrBadURL, err))
	}
	if s := hreq.URL.Scheme; (s != "http" && s != "https") || hreq.URL.Host == "" {
		return nil, newError(KindBadURL, rawURL, fmt.Errorf("%w: need an absolute http(s) URL", ErrBadURL))
	}
	st := &fetchState{hook: req.CheckRedirect, maxRedirects: maxRedirects}
	if c.limited() {
		// Refuse a blocked address before taking the host's turn (the
		// guard's transport checks again, as for every hop).
		if err := c.guard.checkURL(hreq.URL); err != nil {
			return nil, newError(KindBlockedAddress, rawURL, err)
		}
		key := hostKey(hreq.URL)
		if err := c.limiter(key).Wait(ctx); err != nil {
			return nil, newError(KindCanceled, rawURL, fmt.Errorf("waiting for host rate limit: %w", limiterErr(ctx, err)))
		}
		st.prewaited = key
	}

	start := time.Now()
	var deadline time.Time // zero: no Timeout
	tctx := st.traced(context.WithValue(ctx, stateKey{}, st), start)
	if c.timeout > 0 {
		deadline = start.Add(c.timeout)
		var cancel context.CancelFunc
		tctx, cancel = context.WithDeadline(tctx, deadline)
		defer cancel()
	}
	hreq = hreq.WithContext(tctx)
	hreq.Header = c.header.Clone()
	if len(req.Header) > 0 {
		overlay(hreq.Header, req.Header)
	}

	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, c.fail(ctx, tctx, deadline, rawURL, "", err)
	}
	defer resp.Body.Close()

	out := &Response{
		URL:         redactURL(rawURL),
		FinalURL:    finalURL(rawURL, resp.Request.URL),
		Redirects:   st.hops,
		Status:      resp.StatusCode,
		Header:      resp.Header,
		ContentType: resp.Header.Get("Content-Type"),
		RetryAfter:  parseRetryAfter(resp.Header.Get("Retry-After"), c.now()),
		RedirectErr: st.redirectErr,
		RedirectTo:  st.redirectTo,
		TTFB:        st.ttfb(),
		Exchanges:   st.exchanges, // their payloads fill as the bodies are read below
	}
	if st.redirectErr != nil {
		if st.redirectKind != KindOther {
			out.RedirectErr = newError(st.redirectKind, rawURL, st.redirectErr)
		}
		drain(resp.Body)
		out.Duration = time.Since(start)
		return out, nil
	}
	if method == http.MethodHead {
		out.Duration = time.Since(start)
		return out, nil
	}
	out.Body, out.buf, out.Truncated, err = readBody(resp, maxBody)
	if err != nil {
		var fe *Error
		var tm *tooManyEncodings
		var de *decodeError
		switch {
		case errors.As(err, &tm):
			fe = newError(KindDecode, rawURL, err)
		case errors.As(err, &de) && ctx.Err() == nil && tctx.Err() == nil:
			fe = newError(KindDecode, rawURL, fmt.Errorf("%w (%s): %w", ErrDecode, de.enc, de.err))
		default:
			if errors.As(err, &de) {
				err = de.err
			}
			fe = c.fail(ctx, tctx, deadline, rawURL, "reading body: ", err)
		}
		fe.InBody = true
		return nil, fe
	}
	out.Duration = time.Since(start)
	return out, nil
}

// fail makes the *Error of a failed attempt, telling the caller's ctx
// ending apart from the client's own Timeout (tctx with deadline, zero
// when the client has none). op prefixes the cause in the message.
func (c *Client) fail(ctx, tctx context.Context, deadline time.Time, rawURL, op string, err error) *Error {
	wrap := func(err error) error {
		if op == "" {
			return err
		}
		return fmt.Errorf("%s%w", op, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		return newError(KindCanceled, rawURL, wrap(cerr))
	}
	timeout := func() *Error {
		return newError(KindTimeout, rawURL, fmt.Errorf("%s%w after %v", op, ErrTimeout, c.timeout))
	}
	if c.timeout > 0 && tctx.Err() != nil {
		return timeout()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop url.Error's duplicate "Get <url>:" prefix
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// A limiter wait that would outlast a deadline fails early; whose
		// deadline is the earlier one decides whose failure it is.
		if d, ok := ctx.Deadline(); ok && (c.timeout < 0 || !d.After(deadline)) {
			return newError(KindCanceled, rawURL, wrap(context.DeadlineExceeded))
		}
		if c.timeout > 0 {
			return timeout()
		}
		return newError(KindTimeout, rawURL, wrap(err)) // a dial timeout, say
	}
	return newError(causeKind(err), rawURL, wrap(err))
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
	to := urlString(req.URL)
	stop := func(kind ErrorKind, err error) error {
		st.redirectErr, st.redirectKind, st.redirectTo = err, kind, to
		return http.ErrUseLastResponse
	}
	if len(via) > st.maxRedirects {
		return stop(KindTooManyRedirects, fmt.Errorf("%w (limit %d) at %s", ErrTooManyRedirects, st.maxRedirects, to))
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return stop(KindBadURL, fmt.Errorf("%w: redirect to unsupported scheme %q: %s", ErrBadURL, s, to))
	}
	if st.hook != nil {
		if err := st.hook(req.Context(), req.URL); err != nil {
			return stop(KindOther, err)
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
