package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"trawl/fetch"
)

// Headers the proxy sets on the answers it gives the browser. A server's
// own headers of these names are dropped, so a page cannot forge them.
const (
	// HeaderRefused is set, to the reason, on the answer to a request the
	// proxy did not send: refused by the Gate (403), a WebSocket upgrade
	// (403), a request inside a tunnel for another host than the tunnel's
	// (403), a method other than GET and HEAD (204), a request that is
	// not a proxy request (400).
	HeaderRefused = "X-Trawl-Refused"
	// HeaderError is set, to the error, on the 502 answering a request the
	// Gate let through but could not complete (DNS, timeout, reset, ...).
	HeaderError = "X-Trawl-Error"
	// HeaderTruncated is set to "1" on a response whose body the Gate cut
	// at its size limit (fetch.Response.Truncated, trawl's --max-body).
	HeaderTruncated = "X-Trawl-Truncated"
)

var (
	// ErrRefused is wrapped by the error of every request the proxy did
	// not send to a server, whoever decided: a Gate refuses a request by
	// returning an error that wraps it. The proxy also treats errors
	// wrapping fetch.ErrBlockedAddress (the address guard),
	// fetch.ErrVetoed and fetch.ErrBadURL as refusals.
	ErrRefused = errors.New("render: request refused")
	// ErrNotSent is the error of a request whose method is neither GET nor
	// HEAD (POST from a form, fetch or sendBeacon; PUT, DELETE, ...): it
	// is recorded as discovered and never sent. It wraps ErrRefused.
	ErrNotSent = fmt.Errorf("%w: methods other than GET and HEAD are recorded, never sent", ErrRefused)
	// ErrTunnel is the error of a CONNECT tunnel that does not carry TLS,
	// typically a ws:// WebSocket, which Chromium tunnels in plain HTTP
	// through an HTTP proxy: the proxy ends HTTPS tunnels itself to see
	// every request inside (see Proxy), and closes any other tunnel after
	// its first byte, relaying nothing. It wraps ErrRefused.
	ErrTunnel = fmt.Errorf("%w: CONNECT tunnels carry TLS only", ErrRefused)
	// ErrTunnelHost is the error of a request read inside a CONNECT
	// tunnel whose Host (or absolute URL) names another host or port than
	// the tunnel's: refused (403), so that a tunnel opened to one host
	// cannot carry requests for another. It wraps ErrRefused.
	ErrTunnelHost = fmt.Errorf("%w: request for another host than its tunnel's", ErrRefused)
	// ErrWebSocket is the error of a WebSocket upgrade sent as a plain
	// HTTP request. It wraps ErrRefused.
	ErrWebSocket = fmt.Errorf("%w: WebSocket upgrades are not allowed", ErrRefused)
	// ErrNotProxyRequest is the error of a request that is not a proxy
	// request: outside a tunnel, one that is not in absolute form with an
	// http URL ("GET http://host/path"; https goes through CONNECT);
	// inside a CONNECT tunnel, one that is neither in origin form ("GET
	// /path") nor absolute with an https URL; and a CONNECT whose
	// authority is not "host:port". It wraps ErrRefused.
	ErrNotProxyRequest = fmt.Errorf("%w: not an absolute http:// proxy request nor an https request in a tunnel", ErrRefused)
)

// Gate is the crawl's side of the [Proxy]: it applies the crawl's rules to
// each request the browser makes and performs the allowed ones. The crawler
// implements it with its own fetch.Client, so that a request the browser
// makes is checked (scope, robots.txt, the address guard), scheduled (the
// per-host politeness governor: rate, concurrency, Crawl-delay,
// Retry-After), limited (--max-body), counted and archived as any other.
// [FetcherGate] builds one from functions.
//
// Both methods are called from many goroutines at once.
type Gate interface {
	// Do decides about req and, if the rules allow it, performs it. It
	// returns the response to give the browser, or an error:
	//
	//   - an error wrapping ErrRefused (or fetch.ErrBlockedAddress,
	//     fetch.ErrVetoed, fetch.ErrBadURL) when the request was refused
	//     and nothing was sent: the browser gets a 403 with HeaderRefused;
	//   - any other error when the request failed: the browser gets a 502
	//     with HeaderError.
	//
	// Do must not follow redirects: a 3xx goes back to the browser as it
	// is (with its Location), and the browser asks for the target through
	// the proxy again, where it meets the rules in turn. Response.Body is
	// the decoded body: the proxy sends it without Content-Encoding.
	// Do waits (for a host's turn) only under ctx, which ends when the
	// browser gives up the request or the proxy is closed.
	Do(ctx context.Context, req *GateRequest) (*fetch.Response, error)
	// Record is called once for every request the proxy received, with
	// what became of it, after the browser was answered. It should not
	// block for long.
	Record(e ProxyEntry)
}

// GateRequest is a request of the browser that the proxy hands to a Gate:
// always a GET or a HEAD of an absolute http or https URL (https for the
// requests read inside a CONNECT tunnel, which the proxy ends itself: the
// Gate's client makes its own TLS connection to the server, and checks the
// server's certificate).
type GateRequest struct {
	Method string // GET or HEAD
	// URL is the absolute URL the browser asked for: as sent for a plain
	// proxy request; for a request inside a tunnel, https:// with the
	// tunnel's host and port (without :443) and the request's path and
	// query.
	URL *url.URL
	// Header holds the browser's request headers, without hop-by-hop and
	// proxy headers. A Gate picks what it forwards (see FetcherGate).
	Header http.Header
	// Kind is the proxy's guess of what the request is for (see
	// ProxyEntry.Kind).
	Kind string
}

// forwarded are the browser's request headers a Gate sends on: what the
// page asks for and from where. The rest (User-Agent, cookies, encodings)
// is the crawl's client's own.
var forwarded = []string{"Accept", "Accept-Language", "Referer"}

// Forwarded returns a copy of the headers of r that a Gate forwards with
// the request (Accept, Accept-Language, Referer), or nil if it has none.
// FetcherGate and the crawler's gate send these.
func (r *GateRequest) Forwarded() http.Header {
	var h http.Header
	for _, k := range forwarded {
		if vs := r.Header.Values(k); len(vs) > 0 {
			if h == nil {
				h = make(http.Header, len(forwarded))
			}
			h[k] = append([]string(nil), vs...)
		}
	}
	return h
}

// ProxyEntry is what the proxy records about one request it received.
//
// Allowed with a nil Err: the request was sent and its response relayed.
// Allowed with an Err: the Gate let it through but it failed (the browser
// got a 502), or the browser left before the answer. Not Allowed: it was
// not sent, and Err, which wraps ErrRefused, says why.
type ProxyEntry struct {
	Method string // as the browser sent it: GET, POST, CONNECT, ...
	// URL is the absolute URL asked for (https:// for a request inside a
	// tunnel); for a CONNECT, the authority "host:port" of the request
	// line; for a request that is not a proxy request, its request target
	// as sent.
	URL string
	// Kind is a best guess from the request's headers: "document",
	// "image", "style", "script", "font", ... (the Sec-Fetch-Dest a
	// browser sends over secure origins, or a guess from Accept);
	// "fetch" for fetch, XHR and beacons over secure origins; "ping" for
	// a[ping]; "websocket" for an upgrade; "tunnel" for a CONNECT;
	// "preflight" for a CORS preflight (OPTIONS); "" when unknown (a
	// script, fetch, XHR or beacon over http sends nothing telling).
	// The DevTools protocol tells a renderer better.
	Kind    string
	Allowed bool
	Status  int   // status given to the browser; 0 if it left before the answer
	Size    int   // body bytes given to the browser
	Err     error // why the request was refused or failed; nil if served
}

// Proxy is the browser's only route out: an HTTP proxy on 127.0.0.1 that
// hands each request the browser makes to a [Gate], which applies the
// crawl's rules and performs it with the crawl's own client. Nothing
// reaches a server except through the Gate's Do.
//
// What the proxy does with each request it receives:
//
//   - GET and HEAD of an absolute http:// URL: Gate.Do decides and
//     performs it. A refusal is answered "403 Forbidden" with
//     HeaderRefused and an empty body, not by closing the connection:
//     the answer is explicit, cannot be mistaken for a server failure,
//     is not retried by the browser, and keeps the connection for the
//     page's other requests. A page sees it as a failed load (an image's
//     error event, a fetch resolving with status 403). A failure is a
//     "502 Bad Gateway" with HeaderError.
//   - Other methods (POST from a form, fetch, XHR or sendBeacon; PUT,
//     DELETE, PATCH, ...): recorded, never sent, as trawl never replays
//     a non-GET request. The body is read (at most 1 MiB) and dropped and
//     the browser gets "204 No Content" with HeaderRefused. A CORS
//     preflight (OPTIONS with Access-Control-Request-Method) is answered
//     as if the server allowed everything, so that the browser goes on to
//     send the request it precedes, which is recorded in turn.
//   - CONNECT host:port (how a browser asks for https, on any port): the
//     proxy relays no bytes and dials nothing. It answers "200 Connection
//     established" and ends the tunnel itself: it speaks TLS to the
//     browser with a certificate for the name the browser asks for (its
//     SNI, or the CONNECT host; an IP address as an IP SAN), signed by
//     a certificate authority the proxy made in memory (CACert; every
//     certificate has the one key of CertSPKI, which Options.ProxyCertSPKI
//     tells the browser to accept), offering HTTP/1.1 only. Each request
//     read from the tunnel is then handled as a plain proxy request is,
//     as said here, with the URL https://host[:port]/path of the
//     tunnel's authority: the Gate decides about each, and its client
//     connects to the server and checks the server's certificate. A
//     request whose Host is not the tunnel's host and port is refused
//     (403, ErrTunnelHost), so a tunnel to an allowed host cannot reach
//     another. A tunnel whose first byte is not a TLS handshake (Chromium
//     tunnels ws:// WebSockets through CONNECT, in plain HTTP) is closed
//     (ErrTunnel). The CONNECT is not checked by the Gate (its requests
//     are): a tunnel to a host out of scope is ended like any other, and
//     each request inside it is refused.
//   - A WebSocket upgrade sent as a plain request, or inside a tunnel
//     (wss://): refused with 403.
//   - A request that is neither in absolute form with an http:// URL (the
//     proxy asked as a server, or https:// outside a tunnel) nor read
//     inside a tunnel: refused with "400 Bad Request".
//
// Every request is recorded once through Gate.Record (but for those that
// arrive while Close runs, answered 503 and not recorded), those inside
// tunnels with their https URL. A CONNECT is recorded once too, with Kind
// "tunnel" and the authority as URL, when its setup ends (so possibly
// after its first requests): Allowed with Status 200 and no Err once the
// TLS handshake is done (whatever the requests inside then become);
// Allowed with an Err when the browser left, or the handshake failed (the
// browser refusing the certificate, say); not Allowed, with ErrTunnel,
// when it did not carry TLS (Status 200 all the same: the browser got
// it before the proxy could tell). Responses are relayed
// with their status and headers, without hop-by-hop headers, Alt-Svc and
// the wire's Content-Encoding and Content-Length (the body is the Gate's
// decoded one, with its own Content-Length); HeaderTruncated marks a body
// cut at the Gate's limit.
//
// Point Chromium at URL with --proxy-server, and add --proxy-bypass-list
// "<-loopback>" (Chromium sends loopback addresses direct otherwise) and
// resolver rules so that the browser resolves nothing itself (the proxy
// needs no name resolution from the browser: the Gate's client resolves),
// and --ignore-certificate-errors-spki-list with CertSPKI so that it
// accepts the proxy's certificates in its tunnels: Options.ProxyURL and
// Options.ProxyCertSPKI do all that. The proxy listens on loopback only,
// and speaks HTTP/1.1, in the clear and inside tunnels.
//
// Create a Proxy with NewProxy and Close it when done. Its methods are
// safe for concurrent use.
type Proxy struct {
	gate   Gate
	srv    *http.Server
	url    string
	ctx    context.Context    // the base context of every request and tunnel setup
	stop   context.CancelFunc // cancels ctx
	served chan struct{}      // closed when srv's Serve has returned

	ca      *tunnelCA
	tunnels *connListener // hands the tunnels' TLS connections to tsrv
	tsrv    *http.Server  // serves the requests read inside tunnels
	tserved chan struct{} // closed when tsrv's Serve has returned

	mu       sync.Mutex
	closed   bool           // requires mu
	handlers sync.WaitGroup // handlers running; Add requires mu and !closed
	once     sync.Once
}

// Limits of the proxy's own server.
const (
	proxyMaxHeader   = 1 << 20
	proxyMaxDropped  = 1 << 20 // request body bytes read and dropped
	proxyReadHeader  = 30 * time.Second
	proxyIdleTimeout = 90 * time.Second
	maxReasonLen     = 256
)

// NewProxy starts a proxy on 127.0.0.1 (a free port) that sends the
// browser's requests through g. The caller must Close it.
func NewProxy(g Gate) (*Proxy, error) {
	if g == nil {
		return nil, errors.New("render: NewProxy: nil Gate")
	}
	ca, err := newTunnelCA()
	if err != nil {
		return nil, fmt.Errorf("render: proxy certificate authority: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("render: proxy listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		gate:    g,
		url:     "http://" + ln.Addr().String(),
		ctx:     ctx,
		stop:    cancel,
		served:  make(chan struct{}),
		ca:      ca,
		tunnels: newConnListener(ln.Addr()),
		tserved: make(chan struct{}),
	}
	newServer := func() *http.Server {
		return &http.Server{
			Handler:           http.HandlerFunc(p.serve),
			ReadHeaderTimeout: proxyReadHeader,
			IdleTimeout:       proxyIdleTimeout,
			MaxHeaderBytes:    proxyMaxHeader,
			BaseContext:       func(net.Listener) context.Context { return ctx },
			ErrorLog:          log.New(io.Discard, "", 0), // library code never prints
		}
	}
	p.srv = newServer()
	p.tsrv = newServer()
	p.tsrv.ConnContext = tunnelContext
	go func() {
		defer close(p.served)
		_ = p.srv.Serve(ln) // ends with ErrServerClosed on Close
	}()
	go func() {
		defer close(p.tserved)
		_ = p.tsrv.Serve(p.tunnels) // ends with ErrServerClosed on Close
	}()
	return p, nil
}

// URL returns the proxy's address, "http://127.0.0.1:port", as
// Chromium's --proxy-server wants it.
func (p *Proxy) URL() string { return p.url }

// Close stops the proxy: it stops accepting connections, closes those
// open, tunnels included, cancels the context of the requests in flight
// (so a Gate waiting for a host's turn returns) and waits until every
// handler has returned, Gate calls included. It is safe to call more than
// once.
func (p *Proxy) Close() error {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.stop() // ends the tunnels being set up
		_ = p.srv.Close()
		_ = p.tsrv.Close() // closes p.tunnels, and the tunnels handed over
		<-p.served
		<-p.tserved
		p.handlers.Wait()
	})
	return nil
}

// enter counts a handler in, unless the proxy is closing.
func (p *Proxy) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.handlers.Add(1)
	return true
}

// serve handles one request of the browser; see Proxy.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if !p.enter() {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	defer p.handlers.Done()
	e := p.handle(w, r)
	p.gate.Record(e)
}

// handle answers r and returns its entry.
func (p *Proxy) handle(w http.ResponseWriter, r *http.Request) ProxyEntry {
	e := ProxyEntry{Method: r.Method, URL: r.RequestURI, Kind: requestKind(r)}
	t := tunnelOf(r)
	if r.Method == http.MethodConnect {
		e.URL, e.Kind = r.Host, "tunnel"
		if t != nil { // a tunnel in a tunnel
			return refuse(w, e, http.StatusBadRequest, ErrNotProxyRequest)
		}
		return p.connect(w, r, e)
	}
	var u *url.URL
	if t != nil {
		var status int
		var err error
		if u, status, err = t.requestURL(r); err != nil {
			return refuse(w, e, status, err)
		}
	} else {
		u = r.URL
		if !u.IsAbs() || u.Host == "" || !strings.EqualFold(u.Scheme, "http") {
			return refuse(w, e, http.StatusBadRequest, ErrNotProxyRequest)
		}
		u = new(url.URL)
		*u = *r.URL
		u.User = nil // never sent on, never recorded
	}
	e.URL = u.String()
	if isWebSocket(r.Header) {
		e.Kind = "websocket"
		return refuse(w, e, http.StatusForbidden, ErrWebSocket)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, proxyMaxDropped))
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			e.Kind = "preflight"
			allowPreflight(w.Header(), r.Header)
		}
		return refuse(w, e, http.StatusNoContent, ErrNotSent)
	}

	ctx := r.Context()
	resp, err := p.gate.Do(ctx, &GateRequest{
		Method: r.Method,
		URL:    u,
		Header: requestHeader(r.Header),
		Kind:   e.Kind,
	})
	if err != nil {
		if refused(err) {
			return refuse(w, e, http.StatusForbidden, err)
		}
		e.Allowed, e.Err = true, err
		if ctx.Err() != nil {
			return e // the browser left, or the proxy is closing: no one to answer
		}
		w.Header().Set(HeaderError, headerReason(err))
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadGateway)
		e.Status = http.StatusBadGateway
		return e
	}
	e.Allowed = true
	e.Status, e.Size = relay(w, r.Method, resp)
	return e
}

// refused reports whether err, from Gate.Do, means nothing was sent.
func refused(err error) bool {
	return errors.Is(err, ErrRefused) || errors.Is(err, fetch.ErrBlockedAddress) ||
		errors.Is(err, fetch.ErrVetoed) || errors.Is(err, fetch.ErrBadURL)
}

// refuse answers a request that is not sent with status and HeaderRefused,
// and completes its entry.
func refuse(w http.ResponseWriter, e ProxyEntry, status int, why error) ProxyEntry {
	h := w.Header()
	h.Set(HeaderRefused, headerReason(why))
	h.Set("Cache-Control", "no-store")
	if status != http.StatusNoContent {
		h.Set("Content-Length", "0")
	}
	w.WriteHeader(status)
	e.Allowed, e.Status, e.Err = false, status, why
	return e
}

// headerReason returns err's message fit for a header value: printable ASCII,
// at most maxReasonLen bytes.
func headerReason(err error) string {
	s := []byte(err.Error())
	for i, c := range s {
		if c < ' ' || c > '~' {
			s[i] = '?'
		}
	}
	if len(s) > maxReasonLen {
		s = s[:maxReasonLen]
	}
	return string(s)
}

// allowPreflight sets the headers of a CORS preflight answer that allows
// what the preflight asks for (h is the request's header).
func allowPreflight(out, h http.Header) {
	if o := h.Get("Origin"); o != "" {
		out.Set("Access-Control-Allow-Origin", o)
		out.Set("Access-Control-Allow-Credentials", "true")
		out.Add("Vary", "Origin")
	}
	out.Set("Access-Control-Allow-Methods", h.Get("Access-Control-Request-Method"))
	if hs := h.Get("Access-Control-Request-Headers"); hs != "" {
		out.Set("Access-Control-Allow-Headers", hs)
	}
	out.Set("Access-Control-Max-Age", "600")
}

// relay writes resp to the browser and returns the status and body bytes
// written.
func relay(w http.ResponseWriter, method string, resp *fetch.Response) (status, size int) {
	h := w.Header()
	hop := connectionTokens(resp.Header)
	for k, vs := range resp.Header {
		if dropResponseHeader(k) || hop[http.CanonicalHeaderKey(k)] {
			continue
		}
		h[k] = append([]string(nil), vs...)
	}
	if len(h.Values("Content-Type")) == 0 {
		h["Content-Type"] = nil // relay as it came: no sniffed type
	}
	if resp.Truncated {
		h.Set(HeaderTruncated, "1")
	}
	status = resp.Status
	if status < 200 || status > 999 {
		status = http.StatusBadGateway // a 1xx cannot end an exchange
	}
	body := resp.Body
	if method == http.MethodHead || !bodyAllowed(status) {
		body = nil
	} else {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	n, _ := w.Write(body) // an error means the browser left: nothing to do
	return status, n
}

// bodyAllowed reports whether a response of status may have a body.
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

// hopHeaders are the hop-by-hop headers of RFC 9110 7.6.1 and the old
// proxy ones, canonical.
var hopHeaders = map[string]bool{
	"Connection":          true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Proxy-Connection":    true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// dropResponseHeader reports whether the response header k is not relayed.
func dropResponseHeader(k string) bool {
	k = http.CanonicalHeaderKey(k)
	switch {
	case hopHeaders[k], k == "Content-Length", k == "Content-Encoding", k == "Alt-Svc":
		return true
	}
	return strings.HasPrefix(k, "X-Trawl-")
}

// connectionTokens returns the headers named by h's Connection header,
// canonical: hop-by-hop too.
func connectionTokens(h http.Header) map[string]bool {
	var m map[string]bool
	for _, v := range h.Values("Connection") {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				if m == nil {
					m = make(map[string]bool)
				}
				m[http.CanonicalHeaderKey(t)] = true
			}
		}
	}
	return m
}

// requestHeader returns a copy of the browser's header h without
// hop-by-hop and proxy headers.
func requestHeader(h http.Header) http.Header {
	hop := connectionTokens(h)
	out := make(http.Header, len(h))
	for k, vs := range h {
		if hopHeaders[k] || hop[k] {
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// isWebSocket reports whether h asks for a WebSocket upgrade.
func isWebSocket(h http.Header) bool {
	for _, v := range h.Values("Upgrade") {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "websocket") {
				return true
			}
		}
	}
	return h.Get("Sec-WebSocket-Key") != ""
}

// requestKind guesses what r is for; see ProxyEntry.Kind.
func requestKind(r *http.Request) string {
	h := r.Header
	switch {
	case isWebSocket(h):
		return "websocket"
	case h.Get("Ping-To") != "":
		return "ping"
	}
	switch d := strings.ToLower(h.Get("Sec-Fetch-Dest")); d {
	case "":
	case "empty":
		return "fetch"
	default:
		return d
	}
	accept := strings.ToLower(h.Get("Accept"))
	switch {
	case strings.HasPrefix(accept, "text/html"):
		return "document"
	case strings.HasPrefix(accept, "image/"):
		return "image"
	case strings.HasPrefix(accept, "text/css"):
		return "style"
	}
	return ""
}

// FetcherGate is a [Gate] built from functions: Allow applies the rules,
// Fetch performs the request (typically a fetch.Client's Fetch), and
// MaxPerHost bounds the requests in flight per host. It is what tests use,
// and what a crawler can wrap its own checks in.
//
// Do calls Allow, then waits for a slot of the URL's host (under ctx), then
// calls Fetch with a fetch.Request that does not follow redirects (see
// Gate) and carries only the browser's Accept, Accept-Language and Referer
// headers: the client sends its own User-Agent, cookies (from its Jar) and
// credentials, never the browser's.
//
// The zero value has no Fetch and fails every request (502). A
// FetcherGate must not be copied, nor its fields changed, after first use;
// it is safe for concurrent use.
type FetcherGate struct {
	// Fetch performs an allowed request. Its errors wrapping
	// fetch.ErrBlockedAddress or fetch.ErrVetoed are refusals (the browser
	// gets a 403), the others failures (502).
	Fetch func(ctx context.Context, req fetch.Request) (*fetch.Response, error)
	// Allow decides whether the browser may have u with method (GET or
	// HEAD): scope, robots.txt, ... A non-nil error refuses the request
	// (Do wraps it with ErrRefused unless it wraps it already). nil allows
	// everything.
	Allow func(ctx context.Context, u *url.URL, method string) error
	// MaxPerHost is the most requests of this gate in flight at once for
	// one host (name and port, a default port being the same host as
	// none); the others wait their turn. Zero or negative means no limit.
	MaxPerHost int
	// OnRequest, if set, is called with the entry of every request the
	// proxy received (see Gate.Record), from many goroutines at once.
	OnRequest func(e ProxyEntry)

	mu    sync.Mutex
	hosts map[string]*hostSlots // hosts with requests waiting or in flight; requires mu
}

var _ Gate = (*FetcherGate)(nil)

// hostSlots holds the slots of one host: a request holds one by a send on
// ch. users counts the requests holding or waiting for one.
type hostSlots struct {
	ch    chan struct{}
	users int // requires FetcherGate.mu
}

// errRedirect stops fetch from following a redirect: the proxy gives the
// 3xx to the browser.
var errRedirect = errors.New("render: redirect left to the browser")

// Do implements Gate.
func (g *FetcherGate) Do(ctx context.Context, req *GateRequest) (*fetch.Response, error) {
	if g.Fetch == nil {
		return nil, errors.New("render: FetcherGate without Fetch")
	}
	if g.Allow != nil {
		if err := g.Allow(ctx, req.URL, req.Method); err != nil {
			if !errors.Is(err, ErrRefused) {
				err = fmt.Errorf("%w: %w", ErrRefused, err)
			}
			return nil, err
		}
	}
	release, err := g.acquire(ctx, slotKey(req.URL))
	if err != nil {
		return nil, fmt.Errorf("render: waiting for a slot of %s: %w", req.URL.Host, err)
	}
	defer release()
	return g.Fetch(ctx, fetch.Request{
		URL:           req.URL.String(),
		Method:        req.Method,
		Header:        req.Forwarded(),
		CheckRedirect: func(context.Context, *url.URL) error { return errRedirect },
	})
}

// Record implements Gate: it calls OnRequest if set.
func (g *FetcherGate) Record(e ProxyEntry) {
	if g.OnRequest != nil {
		g.OnRequest(e)
	}
}

// acquire waits for a slot of host under ctx and returns the function that
// gives it back.
func (g *FetcherGate) acquire(ctx context.Context, host string) (release func(), err error) {
	if g.MaxPerHost <= 0 {
		return func() {}, nil
	}
	g.mu.Lock()
	if g.hosts == nil {
		g.hosts = make(map[string]*hostSlots)
	}
	s := g.hosts[host]
	if s == nil {
		s = &hostSlots{ch: make(chan struct{}, g.MaxPerHost)}
		g.hosts[host] = s
	}
	s.users++
	g.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
		return func() {
			<-s.ch
			g.leave(host, s)
		}, nil
	case <-ctx.Done():
		g.leave(host, s)
		return nil, ctx.Err()
	}
}

// leave counts a user of host's slots s out, forgetting them when unused.
func (g *FetcherGate) leave(host string, s *hostSlots) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.users--; s.users == 0 {
		delete(g.hosts, host)
	}
}

// slotKey is the host of u as MaxPerHost counts it: lower-case name and
// port, without the default port.
func slotKey(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (port == "80" && strings.EqualFold(u.Scheme, "http")) || (port == "443" && strings.EqualFold(u.Scheme, "https")) {
		return host
	}
	return host + ":" + port
}
