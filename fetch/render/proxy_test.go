package render_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"trawl/fetch"
	"trawl/fetch/render"
	"trawl/fixtures"
)

// Host names of the proxy tests: inHost is in scope and served by the site
// server, offHost is out of scope and served by a sink that must see
// nothing.
const (
	inHost  = "in.test"
	offHost = "off.test"
)

// proxyTimeout bounds every test's requests.
const proxyTimeout = 10 * time.Second

// proxyEnv is a proxy in front of a fetch.Client that reaches inHost on
// site and offHost on sink, with a gate whose Allow keeps to inHost and
// its robots.txt.
type proxyEnv struct {
	site, sink *fixtures.Server
	client     *fetch.Client
	gate       *render.FetcherGate
	proxy      *render.Proxy
	browser    *http.Client // goes through proxy, as a browser would

	mu      sync.Mutex
	entries []render.ProxyEntry
}

// siteRobots is the robots.txt of the test site.
const siteRobots = "User-agent: *\nDisallow: /private\n"

// siteHandler serves the test site: robots.txt, pages, a 5,000-byte
// /big, redirects (/redirect to /page, /away to offHost), and
// /hold/{i}, which sends on arrived when it starts and waits for release
// (or its context) before answering.
func siteHandler(arrived chan<- string, release <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, siteRobots)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("x", 5000))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/page")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://"+offHost+"/from-redirect")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/hold/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- r.URL.Path:
		case <-r.Context().Done():
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "held")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Trawl-Refused", "forged by the server")
		w.Header().Set("Alt-Svc", `h3=":443"`)
		fmt.Fprintf(w, "<!DOCTYPE html><title>%s</title>", r.URL.Path)
	})
	return mux
}

// newProxyEnv starts the servers, client, gate and proxy; cfg's Resolve and
// Timeout are set here, and tune, if not nil, changes the gate before use.
func newProxyEnv(t *testing.T, site http.Handler, cfg fetch.Config, tune func(*render.FetcherGate)) *proxyEnv {
	t.Helper()
	e := &proxyEnv{
		site: fixtures.NewServer(site),
		sink: fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "sink")
		})),
	}
	t.Cleanup(e.site.Close)
	t.Cleanup(e.sink.Close)
	cfg.Resolve = map[string]string{inHost + ":80": e.site.Addr(), offHost + ":80": e.sink.Addr()}
	cfg.Timeout = proxyTimeout
	if cfg.Rate == 0 {
		cfg.Rate = -1 // the tests do not measure the rate
	}
	e.client = fetch.New(cfg)
	t.Cleanup(e.client.Close)
	e.gate = &render.FetcherGate{
		Fetch: e.client.Fetch,
		Allow: func(ctx context.Context, u *url.URL, method string) error {
			if u.Hostname() != inHost {
				return fmt.Errorf("%s is out of scope", u.Host)
			}
			rb, err := e.client.Robots(ctx, u)
			if err != nil {
				return err
			}
			if !rb.Allowed(u) {
				return errors.New("disallowed by robots.txt")
			}
			return nil
		},
		OnRequest: func(pe render.ProxyEntry) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.entries = append(e.entries, pe)
		},
	}
	if tune != nil {
		tune(e.gate)
	}
	p, err := render.NewProxy(e.gate)
	if err != nil {
		t.Fatalf("NewProxy: %v", err)
	}
	e.proxy = p
	t.Cleanup(func() { p.Close() })
	pu, err := url.Parse(p.URL())
	if err != nil {
		t.Fatalf("proxy URL %q: %v", p.URL(), err)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(pu)}
	t.Cleanup(tr.CloseIdleConnections)
	e.browser = &http.Client{
		Transport: tr,
		Timeout:   proxyTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return e
}

// Entries returns the entries recorded so far.
func (e *proxyEnv) Entries() []render.ProxyEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]render.ProxyEntry(nil), e.entries...)
}

// do sends req through the proxy and returns the response with its body
// read.
func (e *proxyEnv) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp, body
}

// get is do of a GET of rawURL.
func (e *proxyEnv) get(t *testing.T, rawURL string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, req)
}

// pathsOf returns the request targets recorded by s, in order.
func pathsOf(s *fixtures.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// checkSinkUntouched fails the test if the sink server received anything.
func (e *proxyEnv) checkSinkUntouched(t *testing.T) {
	t.Helper()
	if got := pathsOf(e.sink); len(got) != 0 {
		t.Errorf("sink received %v, want nothing", got)
	}
}

// onlyEntry returns the single entry recorded, failing otherwise.
func (e *proxyEnv) onlyEntry(t *testing.T) render.ProxyEntry {
	t.Helper()
	got := e.Entries()
	if len(got) != 1 {
		t.Fatalf("got %d entries %+v, want 1", len(got), got)
	}
	return got[0]
}

func TestProxyGetInScope(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	resp, body := e.get(t, "http://"+inHost+"/page")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status: got %d, want 200", resp.StatusCode)
	}
	if want := "<!DOCTYPE html><title>/page</title>"; string(body) != want {
		t.Errorf("body: got %q, want %q", body, want)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want the server's", got)
	}
	if got := resp.Header.Get(render.HeaderRefused); got != "" {
		t.Errorf("%s: got %q from the server, want it dropped", render.HeaderRefused, got)
	}
	if got := resp.Header.Get("Alt-Svc"); got != "" {
		t.Errorf("Alt-Svc: got %q, want it dropped", got)
	}
	if got, want := pathsOf(e.site), []string{"GET /robots.txt", "GET /page"}; !slices.Equal(got, want) {
		t.Errorf("site received %v, want %v", got, want)
	}
	r := e.site.Requests()[1]
	if ua := r.UserAgent; ua != fetch.DefaultUserAgent {
		t.Errorf("User-Agent at the server: got %q, want the client's %q", ua, fetch.DefaultUserAgent)
	}
	pe := e.onlyEntry(t)
	if pe.Method != "GET" || pe.URL != "http://"+inHost+"/page" || !pe.Allowed || pe.Err != nil ||
		pe.Status != 200 || pe.Size != len(body) {
		t.Errorf("entry: got %+v, want an allowed GET of /page, status 200, size %d", pe, len(body))
	}
}

func TestProxyHead(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	req, _ := http.NewRequest(http.MethodHead, "http://"+inHost+"/page", nil)
	resp, body := e.do(t, req)
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD: got status %d and %d body bytes, want 200 and none", resp.StatusCode, len(body))
	}
	if got, want := pathsOf(e.site), []string{"GET /robots.txt", "HEAD /page"}; !slices.Equal(got, want) {
		t.Errorf("site received %v, want %v", got, want)
	}
}

func TestProxyOffScopeNeverLeaves(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	resp, body := e.get(t, "http://"+offHost+"/x.png")
	if resp.StatusCode != http.StatusForbidden || len(body) != 0 {
		t.Errorf("got status %d and %d body bytes, want 403 and none", resp.StatusCode, len(body))
	}
	if got := resp.Header.Get(render.HeaderRefused); !strings.Contains(got, "out of scope") {
		t.Errorf("%s: got %q, want the reason", render.HeaderRefused, got)
	}
	e.checkSinkUntouched(t)
	pe := e.onlyEntry(t)
	if pe.Allowed || !errors.Is(pe.Err, render.ErrRefused) || pe.Status != http.StatusForbidden {
		t.Errorf("entry: got %+v, want refused (ErrRefused, 403)", pe)
	}
}

func TestProxyRobotsTxt(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	resp, _ := e.get(t, "http://"+inHost+"/private/data")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status: got %d, want 403", resp.StatusCode)
	}
	if got, want := pathsOf(e.site), []string{"GET /robots.txt"}; !slices.Equal(got, want) {
		t.Errorf("site received %v, want %v", got, want)
	}
}

func TestProxyAddressGuard(t *testing.T) {
	// The gate allows everything; the client's address guard refuses the
	// sink's loopback address, which no Resolve entry names.
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, func(g *render.FetcherGate) { g.Allow = nil })
	resp, _ := e.get(t, "http://"+e.sink.Addr()+"/x")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status: got %d, want 403", resp.StatusCode)
	}
	e.checkSinkUntouched(t)
	if pe := e.onlyEntry(t); pe.Allowed || !errors.Is(pe.Err, fetch.ErrBlockedAddress) {
		t.Errorf("entry: got %+v, want refused by the address guard", pe)
	}
}

func TestProxyFailureIs502(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, func(g *render.FetcherGate) {
		g.Allow = nil
		g.Fetch = func(context.Context, fetch.Request) (*fetch.Response, error) {
			return nil, errors.New("connection reset\r\nby peer")
		}
	})
	resp, _ := e.get(t, "http://"+inHost+"/page")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status: got %d, want 502", resp.StatusCode)
	}
	if got := resp.Header.Get(render.HeaderError); got != "connection reset??by peer" {
		t.Errorf("%s: got %q, want the error with control bytes replaced", render.HeaderError, got)
	}
	if pe := e.onlyEntry(t); !pe.Allowed || pe.Err == nil || pe.Status != http.StatusBadGateway {
		t.Errorf("entry: got %+v, want allowed, failed, 502", pe)
	}
}

func TestProxyRedirectsGoBackToTheBrowser(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	resp, _ := e.get(t, "http://"+inHost+"/redirect")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/page" {
		t.Errorf("got status %d Location %q, want 302 to /page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got, want := pathsOf(e.site), []string{"GET /robots.txt", "GET /redirect"}; !slices.Equal(got, want) {
		t.Errorf("site received %v, want %v: the gate must not follow", got, want)
	}

	// A browser following a redirect off scope asks the proxy again and
	// is refused.
	e.browser.CheckRedirect = nil
	resp, _ = e.get(t, "http://"+inHost+"/away")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("followed off-scope redirect: got status %d, want 403", resp.StatusCode)
	}
	e.checkSinkUntouched(t)
}

func TestProxyMaxBody(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{MaxBody: 1000}, nil)
	resp, body := e.get(t, "http://"+inHost+"/big")
	if len(body) != 1000 {
		t.Errorf("body: got %d bytes, want 1000 (the client's MaxBody)", len(body))
	}
	if got := resp.Header.Get(render.HeaderTruncated); got != "1" {
		t.Errorf("%s: got %q, want 1", render.HeaderTruncated, got)
	}
	if resp.ContentLength != 1000 {
		t.Errorf("Content-Length: got %d, want 1000", resp.ContentLength)
	}
	if pe := e.onlyEntry(t); pe.Size != 1000 {
		t.Errorf("entry size: got %d, want 1000", pe.Size)
	}
}

func TestProxyNonGetRecordedNeverSent(t *testing.T) {
	tests := []struct {
		name, method, ctype, body string
		header                    map[string]string
		kind                      string
	}{
		{name: "form POST", method: "POST", ctype: "application/x-www-form-urlencoded", body: "q=1"},
		{name: "fetch POST", method: "POST", ctype: "application/json", body: `{"a":1}`},
		{name: "beacon", method: "POST", ctype: "text/plain;charset=UTF-8", body: "bye"},
		{name: "ping", method: "POST", ctype: "text/ping", body: "PING", header: map[string]string{"Ping-To": "http://in.test/t"}, kind: "ping"},
		{name: "PUT", method: "PUT", body: "x"},
		{name: "DELETE", method: "DELETE"},
		{name: "PATCH", method: "PATCH", body: "x"},
		{name: "preflight", method: "OPTIONS", header: map[string]string{
			"Origin": "http://in.test", "Access-Control-Request-Method": "PUT",
			"Access-Control-Request-Headers": "content-type"}, kind: "preflight"},
	}
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := fmt.Sprintf("http://%s/submit/%d", inHost, i)
			req, err := http.NewRequest(tc.method, u, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, _ := e.do(t, req)
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status: got %d, want 204", resp.StatusCode)
			}
			if tc.kind == "preflight" && resp.Header.Get("Access-Control-Allow-Methods") != "PUT" {
				t.Errorf("preflight answer: got %v, want it to allow PUT", resp.Header)
			}
			got := e.Entries()
			pe := got[len(got)-1]
			if pe.Method != tc.method || pe.URL != u || pe.Allowed || !errors.Is(pe.Err, render.ErrNotSent) || pe.Kind != tc.kind {
				t.Errorf("entry: got %+v, want %s %s not sent (ErrNotSent), kind %q", pe, tc.method, u, tc.kind)
			}
		})
	}
	if got := pathsOf(e.site); len(got) != 0 {
		t.Errorf("site received %v, want nothing", got)
	}
	if got := len(e.Entries()); got != len(tests) {
		t.Errorf("got %d entries, want %d", got, len(tests))
	}
}

// rawExchange writes request to the proxy on a new connection and reads
// one response.
func rawExchange(t *testing.T, proxyURL, request string) *http.Response {
	t.Helper()
	u, err := url.Parse(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, proxyTimeout)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(proxyTimeout))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	resp.Body.Close()
	return resp
}

// TestProxyConnectRefused: a CONNECT gets its tunnel, which the proxy ends
// itself; what it carries is refused unless the gate allows it: the https
// requests for an off-scope host inside are refused, and a tunnel that
// does not carry TLS (Chromium's ws:// WebSockets) is closed. Nothing
// reaches a server.
func TestProxyConnectRefused(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	pool := x509.NewCertPool()
	pool.AddCert(e.proxy.CACert())
	e.browser.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}

	// As a client sees it: an https URL through the proxy is answered by
	// the proxy, and the gate refuses it.
	resp, body := e.get(t, "https://"+offHost+"/page")
	if resp.StatusCode != http.StatusForbidden || len(body) != 0 || resp.Header.Get(render.HeaderRefused) == "" {
		t.Errorf("GET https://%s/page through the proxy: got status %d, header %v; want 403 with %s", offHost, resp.StatusCode, resp.Header, render.HeaderRefused)
	}
	// A tunnel that carries plain HTTP, as a ws:// WebSocket: closed.
	c, br := tunnelTo(t, e.proxy.URL(), inHost+":80")
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: "+inHost+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	if b, err := io.ReadAll(br); len(b) != 0 || isTimeout(err) {
		t.Errorf("a tunnel carrying plain HTTP: read %q, %v; want it closed", b, err)
	}
	if got := pathsOf(e.site); len(got) != 0 {
		t.Errorf("site received %v, want nothing", got)
	}
	e.checkSinkUntouched(t)
	got := waitEntries(t, e, 3)
	var tunnels, refusedTunnels, refused int
	for _, pe := range got {
		switch {
		case pe.Method == "CONNECT" && pe.Allowed:
			tunnels++
			if pe.URL != offHost+":443" || pe.Kind != "tunnel" || pe.Status != 200 || pe.Err != nil {
				t.Errorf("entry: got %+v, want the tunnel to %s:443", pe, offHost)
			}
		case pe.Method == "CONNECT":
			refusedTunnels++
			if pe.URL != inHost+":80" || pe.Kind != "tunnel" || !errors.Is(pe.Err, render.ErrTunnel) {
				t.Errorf("entry: got %+v, want a refused CONNECT tunnel to %s:80 (ErrTunnel)", pe, inHost)
			}
		default:
			refused++
			if pe.URL != "https://"+offHost+"/page" || pe.Allowed || !errors.Is(pe.Err, render.ErrRefused) {
				t.Errorf("entry: got %+v, want GET https://%s/page refused", pe, offHost)
			}
		}
	}
	if tunnels != 1 || refusedTunnels != 1 || refused != 1 {
		t.Errorf("entries %+v: want a tunnel, a refused tunnel and a refused request", got)
	}
}

// isTimeout reports whether err is a timeout (a connection left open).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// waitEntries waits until e has recorded n entries (a tunnel's is recorded
// once its handler returned, after the client saw it end) and returns
// them.
func waitEntries(t *testing.T, e *proxyEnv, n int) []render.ProxyEntry {
	t.Helper()
	deadline := time.Now().Add(proxyTimeout)
	for {
		got := e.Entries()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("got %d entries %+v, want %d", len(got), got, n)
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProxyWebSocketRefused(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	resp := rawExchange(t, e.proxy.URL(), "GET http://"+inHost+"/ws HTTP/1.1\r\nHost: "+inHost+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status: got %d, want 403", resp.StatusCode)
	}
	if got := pathsOf(e.site); len(got) != 0 {
		t.Errorf("site received %v, want nothing", got)
	}
	if pe := e.onlyEntry(t); pe.Kind != "websocket" || pe.Allowed || !errors.Is(pe.Err, render.ErrWebSocket) {
		t.Errorf("entry: got %+v, want a refused websocket", pe)
	}
}

func TestProxyNotAProxyRequest(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	resp := rawExchange(t, e.proxy.URL(), "GET /page HTTP/1.1\r\nHost: "+inHost+"\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("origin-form request: got status %d, want 400", resp.StatusCode)
	}
	resp = rawExchange(t, e.proxy.URL(), "GET ftp://"+inHost+"/f HTTP/1.1\r\nHost: "+inHost+"\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("ftp URL: got status %d, want 400", resp.StatusCode)
	}
	if got := pathsOf(e.site); len(got) != 0 {
		t.Errorf("site received %v, want nothing", got)
	}
	for _, pe := range e.Entries() {
		if !errors.Is(pe.Err, render.ErrNotProxyRequest) {
			t.Errorf("entry: got %+v, want ErrNotProxyRequest", pe)
		}
	}
}

func TestProxyPerHostLimit(t *testing.T) {
	const limit, n = 2, 8
	arrived := make(chan string)
	release := make(chan struct{})
	e := newProxyEnv(t, siteHandler(arrived, release), fetch.Config{}, func(g *render.FetcherGate) { g.MaxPerHost = limit })
	// Load robots.txt first, so that every later request to the site is a
	// /hold one.
	e.get(t, "http://"+inHost+"/page")

	errs := make(chan error, n)
	for i := range n {
		go func() {
			resp, err := e.browser.Get(fmt.Sprintf("http://%s/hold/%d", inHost, i))
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			errs <- err
		}()
	}
	timeout := time.After(proxyTimeout)
	for range limit {
		select {
		case <-arrived:
		case <-timeout:
			t.Fatalf("fewer than %d requests reached the site", limit)
		}
	}
	// With the limit held, no other request may reach the site. (This
	// wait can only miss a violation, never report a false one.)
	select {
	case p := <-arrived:
		t.Errorf("%s reached the site while %d requests were in flight", p, limit)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	go func() {
		for range arrived { // the others, as they get their turn
		}
	}()
	for range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("hold request: %v", err)
			}
		case <-timeout:
			t.Fatal("hold requests did not finish")
		}
	}
	close(arrived)
	if got := e.site.MaxInFlight(inHost); got > limit {
		t.Errorf("site saw %d requests in flight at once, want at most %d", got, limit)
	}
}

func TestProxyCloseEndsWaitingRequests(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	arrived := make(chan string, 1)
	allowed := make(chan string, 2) // the hold requests the gate's Allow saw
	e := newProxyEnv(t, siteHandler(arrived, nil), fetch.Config{}, func(g *render.FetcherGate) {
		g.MaxPerHost = 1
		allow := g.Allow
		g.Allow = func(ctx context.Context, u *url.URL, method string) error {
			if strings.HasPrefix(u.Path, "/hold/") {
				allowed <- u.Path
			}
			return allow(ctx, u, method)
		}
	})
	e.get(t, "http://"+inHost+"/page") // robots.txt

	done := make(chan error, 2)
	for i := range 2 { // the first holds the host's only slot, the second waits for it
		go func() {
			resp, err := e.browser.Get(fmt.Sprintf("http://%s/hold/%d", inHost, i))
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
	}
	for range 2 { // both in the proxy
		select {
		case <-allowed:
		case <-time.After(proxyTimeout):
			t.Fatal("request did not reach the gate")
		}
	}
	select { // one at the site
	case <-arrived:
	case <-time.After(proxyTimeout):
		t.Fatal("request did not reach the site")
	}
	closed := make(chan struct{})
	go func() {
		e.proxy.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(proxyTimeout):
		t.Fatal("Close did not return")
	}
	for range 2 {
		select {
		case <-done:
		case <-time.After(proxyTimeout):
			t.Fatal("a request through the closed proxy did not end")
		}
	}
	if len(e.Entries()) != 3 {
		t.Errorf("got %d entries, want 3 (robots page and both holds)", len(e.Entries()))
	}
	e.browser.CloseIdleConnections()
	e.client.Close()
	e.site.Close()
	e.sink.Close()
}

// ExampleFetcherGate puts a proxy in front of a fetch.Client, allowing one
// host only. A browser would be started with --proxy-server=p.URL().
func ExampleFetcherGate() {
	site := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer site.Close()
	client := fetch.New(fetch.Config{Resolve: site.Resolve("www.example.test"), Rate: -1})
	defer client.Close()

	gate := &render.FetcherGate{
		Fetch: client.Fetch,
		Allow: func(ctx context.Context, u *url.URL, method string) error {
			if u.Hostname() != "www.example.test" {
				return errors.New("out of scope")
			}
			return nil
		},
		MaxPerHost: 2,
		OnRequest: func(e render.ProxyEntry) {
			fmt.Println(e.Method, e.URL, e.Allowed, e.Status)
		},
	}
	p, err := render.NewProxy(gate)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	pu, _ := url.Parse(p.URL())
	tr := &http.Transport{Proxy: http.ProxyURL(pu)}
	defer tr.CloseIdleConnections()
	browser := &http.Client{Transport: tr}
	for _, u := range []string{"http://www.example.test/", "http://elsewhere.test/"} {
		resp, err := browser.Get(u)
		if err != nil {
			fmt.Println(err)
			continue
		}
		resp.Body.Close()
	}
	// Output:
	// GET http://www.example.test/ true 200
	// GET http://elsewhere.test/ false 403
}
