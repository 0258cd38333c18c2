package render_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
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
	"trawl/internal/browsertest"
)

// tlsEnv is a proxyEnv whose gate's client reaches inHost and offHost
// over TLS only: inHost (ports 443 and 8443) on tlsSite, offHost on
// tlsSink, which must see nothing. The browser trusts the proxy's CA.
type tlsEnv struct {
	*proxyEnv
	tlsSite, tlsSink *fixtures.Server

	mu    sync.Mutex
	asked []string // the URLs the gate's Allow was asked about
}

func newTLSEnv(t *testing.T, site http.Handler, tune func(*render.FetcherGate)) *tlsEnv {
	t.Helper()
	te := &tlsEnv{
		tlsSite: fixtures.NewTLSServer(site, inHost),
		tlsSink: fixtures.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "sink")
		}), offHost),
	}
	t.Cleanup(te.tlsSite.Close)
	t.Cleanup(te.tlsSink.Close)
	resolve := te.tlsSite.ResolveTLS(inHost)
	resolve[inHost+":8443"] = te.tlsSite.Addr()
	for k, v := range te.tlsSink.ResolveTLS(offHost) {
		resolve[k] = v
	}
	tr := fixtures.TLSTransport(resolve, te.tlsSite, te.tlsSink)
	t.Cleanup(tr.CloseIdleConnections)
	te.proxyEnv = newProxyEnv(t, site, fetch.Config{Transport: tr}, func(g *render.FetcherGate) {
		if allow := g.Allow; allow != nil {
			g.Allow = func(ctx context.Context, u *url.URL, method string) error {
				te.mu.Lock()
				te.asked = append(te.asked, u.String())
				te.mu.Unlock()
				return allow(ctx, u, method)
			}
		}
		if tune != nil {
			tune(g)
		}
	})
	pool := x509.NewCertPool()
	pool.AddCert(te.proxy.CACert())
	tr2 := te.browser.Transport.(*http.Transport)
	tr2.TLSClientConfig = &tls.Config{RootCAs: pool}
	return te
}

// Asked returns the URLs the gate's Allow was asked about.
func (te *tlsEnv) Asked() []string {
	te.mu.Lock()
	defer te.mu.Unlock()
	return slices.Clone(te.asked)
}

// checkTLSSinkUntouched fails the test if the TLS sink received anything.
func (te *tlsEnv) checkTLSSinkUntouched(t *testing.T) {
	t.Helper()
	if got := pathsOf(te.tlsSink); len(got) != 0 {
		t.Errorf("sink received %v, want nothing", got)
	}
}

// entriesOf returns the recorded entries of method.
func entriesOf(es []render.ProxyEntry, method string) []render.ProxyEntry {
	var out []render.ProxyEntry
	for _, e := range es {
		if e.Method == method {
			out = append(out, e)
		}
	}
	return out
}

func TestProxyTLSGet(t *testing.T) {
	te := newTLSEnv(t, siteHandler(nil, nil), nil)
	resp, body := te.get(t, "https://"+inHost+"/page")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status: got %d, want 200", resp.StatusCode)
	}
	if want := "<!DOCTYPE html><title>/page</title>"; string(body) != want {
		t.Errorf("body: got %q, want %q", body, want)
	}
	if got := resp.Header.Get(render.HeaderRefused); got != "" {
		t.Errorf("%s: got %q from the server, want it dropped", render.HeaderRefused, got)
	}
	// The certificate the browser saw: the proxy's, for the name, with the
	// one key of CertSPKI.
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatal("no TLS state in the response")
	}
	leaf := resp.TLS.PeerCertificates[0]
	if err := leaf.VerifyHostname(inHost); err != nil {
		t.Errorf("the proxy's certificate: %v", err)
	}
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	if got := base64.StdEncoding.EncodeToString(sum[:]); got != te.proxy.CertSPKI() {
		t.Errorf("leaf SPKI hash %s, want CertSPKI %s", got, te.proxy.CertSPKI())
	}
	if got := resp.TLS.NegotiatedProtocol; got != "" && got != "http/1.1" {
		t.Errorf("ALPN: got %q, want http/1.1", got)
	}

	// Another port is https too, and a second request reuses the tunnel.
	resp, _ = te.get(t, "https://"+inHost+":8443/other?q=1")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("port 8443: status %d, want 200", resp.StatusCode)
	}
	te.get(t, "https://"+inHost+"/page2")

	if got, want := pathsOf(te.tlsSite), []string{"GET /robots.txt", "GET /page", "GET /robots.txt", "GET /other?q=1", "GET /page2"}; !slices.Equal(got, want) {
		t.Errorf("site received %v, want %v", got, want)
	}
	if got := pathsOf(te.site); len(got) != 0 {
		t.Errorf("the plain site received %v: the gate's client must use TLS", got)
	}
	want := []string{"https://" + inHost + "/page", "https://" + inHost + ":8443/other?q=1", "https://" + inHost + "/page2"}
	if got := te.Asked(); !slices.Equal(got, want) {
		t.Errorf("the gate was asked about %v, want %v", got, want)
	}
	all := waitEntries(t, te.proxyEnv, 5) // a tunnel's entry may come after its first request's
	gets := entriesOf(all, "GET")
	if len(gets) != 3 {
		t.Fatalf("got GET entries %+v, want 3", gets)
	}
	for i, pe := range gets {
		if pe.URL != want[i] || !pe.Allowed || pe.Err != nil || pe.Status != 200 {
			t.Errorf("entry: got %+v, want an allowed GET of %s, status 200", pe, want[i])
		}
	}
	conns := entriesOf(all, "CONNECT")
	if len(conns) != 2 {
		t.Fatalf("got CONNECT entries %+v, want 2 (one per tunnel)", conns)
	}
	for _, pe := range conns {
		if pe.Kind != "tunnel" || !pe.Allowed || pe.Err != nil || pe.Status != 200 ||
			(pe.URL != inHost+":443" && pe.URL != inHost+":8443") {
			t.Errorf("CONNECT entry: got %+v, want an allowed tunnel, status 200", pe)
		}
	}
}

func TestProxyTLSRefusals(t *testing.T) {
	te := newTLSEnv(t, siteHandler(nil, nil), nil)
	// Off scope, robots.txt, the address guard's business (an IP literal
	// whose certificate has an IP SAN), a POST: all inside tunnels.
	for _, u := range []string{"https://" + offHost + "/x.png", "https://" + inHost + "/private/data", "https://127.0.0.1/x"} {
		resp, body := te.get(t, u)
		if resp.StatusCode != http.StatusForbidden || len(body) != 0 || resp.Header.Get(render.HeaderRefused) == "" {
			t.Errorf("GET %s: got status %d, %d body bytes, %v; want a refusal", u, resp.StatusCode, len(body), resp.Header)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "https://"+inHost+"/submit", strings.NewReader("q=1"))
	if resp, _ := te.do(t, req); resp.StatusCode != http.StatusNoContent {
		t.Errorf("POST: got status %d, want 204", resp.StatusCode)
	}
	te.checkTLSSinkUntouched(t)
	if got, want := pathsOf(te.tlsSite), []string{"GET /robots.txt"}; !slices.Equal(got, want) {
		t.Errorf("site received %v, want %v", got, want)
	}
	for _, pe := range te.Entries() {
		switch pe.Method {
		case "CONNECT":
			if !pe.Allowed || pe.Status != 200 {
				t.Errorf("CONNECT entry %+v: want an allowed tunnel", pe)
			}
		default:
			if pe.Allowed || !errors.Is(pe.Err, render.ErrRefused) || !strings.HasPrefix(pe.URL, "https://") {
				t.Errorf("entry %+v: want an https request refused", pe)
			}
		}
	}
}

// tunnelTo opens a CONNECT tunnel through the proxy to authority and
// returns the connection once the proxy answered 200.
func tunnelTo(t *testing.T, proxyURL, authority string) (net.Conn, *bufio.Reader) {
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
	if _, err := io.WriteString(c, "CONNECT "+authority+" HTTP/1.1\r\nHost: "+authority+"\r\n\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", authority, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: status %d, want 200", authority, resp.StatusCode)
	}
	return c, br
}

// tlsTunnelTo is tunnelTo, then a TLS handshake for name trusting the
// proxy's CA.
func tlsTunnelTo(t *testing.T, p *render.Proxy, authority, name string) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	c, br := tunnelTo(t, p.URL(), authority)
	if br.Buffered() > 0 {
		t.Fatalf("the proxy sent %d bytes after its 200", br.Buffered())
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.CACert())
	tc := tls.Client(c, &tls.Config{ServerName: name, RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake in the tunnel to %s: %v", authority, err)
	}
	if got := tc.ConnectionState().NegotiatedProtocol; got != "http/1.1" {
		t.Errorf("ALPN: got %q, want http/1.1 (offered h2 too)", got)
	}
	return tc, bufio.NewReader(tc)
}

// exchange writes request on w and reads one response from r.
func exchange(t *testing.T, w io.Writer, r *bufio.Reader, request string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(w, request); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestProxyTLSHostMismatch(t *testing.T) {
	te := newTLSEnv(t, siteHandler(nil, nil), func(g *render.FetcherGate) { g.Allow = nil })
	tc, br := tlsTunnelTo(t, te.proxy, inHost+":443", inHost)
	for _, req := range []string{
		"GET /page HTTP/1.1\r\nHost: " + offHost + "\r\n\r\n",
		"GET /page HTTP/1.1\r\nHost: " + inHost + ":8443\r\n\r\n",
		"GET https://" + offHost + "/page HTTP/1.1\r\nHost: " + inHost + "\r\n\r\n",
	} {
		resp := exchange(t, tc, br, req)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get(render.HeaderRefused) == "" {
			t.Errorf("%q in a tunnel to %s: got status %d, want 403 with %s", req, inHost, resp.StatusCode, render.HeaderRefused)
		}
	}
	// The same tunnel, for its own host (with the default port named).
	if resp := exchange(t, tc, br, "GET /page HTTP/1.1\r\nHost: "+inHost+":443\r\n\r\n"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /page for the tunnel's host: status %d, want 200", resp.StatusCode)
	}
	te.checkTLSSinkUntouched(t)
	if got, want := pathsOf(te.tlsSite), []string{"GET /page"}; !slices.Equal(got, want) {
		t.Errorf("site received %v, want %v", got, want)
	}
	gets := entriesOf(te.Entries(), "GET")
	if len(gets) != 4 {
		t.Fatalf("got GET entries %+v, want 4", gets)
	}
	for _, pe := range gets[:3] {
		if pe.Allowed || !errors.Is(pe.Err, render.ErrTunnelHost) || pe.Status != http.StatusForbidden {
			t.Errorf("entry %+v: want refused with ErrTunnelHost", pe)
		}
	}
	if pe := gets[3]; !pe.Allowed || pe.URL != "https://"+inHost+"/page" {
		t.Errorf("entry %+v: want an allowed GET of https://%s/page", pe, inHost)
	}
}

func TestProxyTLSWebSocketRefused(t *testing.T) {
	te := newTLSEnv(t, siteHandler(nil, nil), nil)
	tc, br := tlsTunnelTo(t, te.proxy, inHost+":443", inHost)
	resp := exchange(t, tc, br, "GET /ws HTTP/1.1\r\nHost: "+inHost+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("wss upgrade: status %d, want 403", resp.StatusCode)
	}
	if got := pathsOf(te.tlsSite); len(got) != 0 {
		t.Errorf("site received %v, want nothing", got)
	}
	gets := entriesOf(te.Entries(), "GET")
	if len(gets) != 1 || gets[0].Kind != "websocket" || gets[0].Allowed || !errors.Is(gets[0].Err, render.ErrWebSocket) ||
		gets[0].URL != "https://"+inHost+"/ws" {
		t.Errorf("entries %+v: want one refused websocket of https://%s/ws", gets, inHost)
	}
}

// TestProxyTLSNotTLSClosed: a tunnel whose bytes are not TLS (a ws://
// WebSocket, as Chromium tunnels it) is closed unread and recorded
// refused.
func TestProxyTLSNotTLSClosed(t *testing.T) {
	te := newTLSEnv(t, siteHandler(nil, nil), nil)
	c, br := tunnelTo(t, te.proxy.URL(), inHost+":80")
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: "+inHost+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if b, err := io.ReadAll(br); len(b) != 0 || isTimeout(err) {
		t.Errorf("after non-TLS bytes: read %q, %v; want the connection closed", b, err)
	}
	if got := pathsOf(te.tlsSite); len(got) != 0 {
		t.Errorf("site received %v, want nothing", got)
	}
	if got := pathsOf(te.site); len(got) != 0 {
		t.Errorf("plain site received %v, want nothing", got)
	}
	pe := waitEntries(t, te.proxyEnv, 1)[0]
	if pe.Method != "CONNECT" || pe.Kind != "tunnel" || pe.URL != inHost+":80" || pe.Allowed ||
		!errors.Is(pe.Err, render.ErrTunnel) || !errors.Is(pe.Err, render.ErrRefused) {
		t.Errorf("entry: got %+v, want a refused CONNECT tunnel (ErrTunnel)", pe)
	}
}

// TestProxyTLSCloseEndsTunnels: Close ends a tunnel waiting for its
// ClientHello, one idle after its handshake, and one whose request waits
// at the server, and leaves no goroutine behind.
func TestProxyTLSCloseEndsTunnels(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	arrived := make(chan string, 1)
	te := newTLSEnv(t, siteHandler(arrived, nil), func(g *render.FetcherGate) { g.Allow = nil })

	setup, setupR := tunnelTo(t, te.proxy.URL(), inHost+":443")    // no ClientHello yet
	idle, idleR := tlsTunnelTo(t, te.proxy, inHost+":443", inHost) // handshake done, no request
	busy, busyR := tlsTunnelTo(t, te.proxy, inHost+":443", inHost) // a request at the server
	io.WriteString(busy, "GET /hold/1 HTTP/1.1\r\nHost: "+inHost+"\r\n\r\n")
	select {
	case <-arrived:
	case <-time.After(proxyTimeout):
		t.Fatal("the request did not reach the site")
	}
	closed := make(chan struct{})
	go func() {
		te.proxy.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(proxyTimeout):
		t.Fatal("Close did not return")
	}
	// Each tunnel must end now: read them all at once, each with a fresh
	// deadline (a read past it would report a timeout even at EOF).
	type tun struct {
		name string
		c    net.Conn
		r    io.Reader
	}
	tuns := []tun{{"setup", setup, setupR}, {"idle", idle, idleR}, {"busy", busy, busyR}}
	done := make(chan error, len(tuns))
	for _, tn := range tuns {
		tn.c.SetReadDeadline(time.Now().Add(proxyTimeout))
		go func() {
			_, err := io.ReadAll(tn.r)
			if isTimeout(err) { // the test's own deadline: not closed
				err = fmt.Errorf("the %s tunnel is still open after Close", tn.name)
			} else {
				err = nil // EOF, or a reset: closed
			}
			done <- err
		}()
	}
	for range tuns {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	te.browser.CloseIdleConnections()
	te.client.Close()
	te.tlsSite.Close()
	te.tlsSink.Close()
	te.site.Close()
	te.sink.Close()
}

// TestProxyTLSBadAuthority: a CONNECT whose authority is not host:port is
// refused.
func TestProxyTLSBadAuthority(t *testing.T) {
	e := newProxyEnv(t, siteHandler(nil, nil), fetch.Config{}, nil)
	for _, target := range []string{inHost, inHost + ":0", inHost + ":https", ":443"} {
		resp := rawExchange(t, e.proxy.URL(), "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("CONNECT %s: status %d, want 400", target, resp.StatusCode)
		}
	}
	for _, pe := range e.Entries() {
		if pe.Allowed || !errors.Is(pe.Err, render.ErrNotProxyRequest) {
			t.Errorf("entry %+v: want refused with ErrNotProxyRequest", pe)
		}
	}
}

// browserPath returns the browser for the tests that need one (see
// requireBrowser in helpers_test.go: the same rules, from outside the
// package).
func browserPath(t *testing.T) string {
	t.Helper()
	return browsertest.Require(t, render.FindBrowser)
}

// httpsPage is the page of TestRenderHTTPSThroughProxy: a link built by
// its script, a link from the JSON of a fetch, and an XHR.
const httpsPage = `<!DOCTYPE html><title>https page</title>
<div id="links"></div>
<script>
var a = document.createElement('a');
a.href = '/t/' + 'built'; a.textContent = 'built';
document.getElementById('links').appendChild(a);
fetch('/api/links.json').then(function (r) { return r.json(); }).then(function (j) {
  var b = document.createElement('a'); b.href = j[0]; b.textContent = 'fetched';
  document.getElementById('links').appendChild(b);
});
var x = new XMLHttpRequest(); x.open('GET', '/api/xhr'); x.send();
</script>`

// TestRenderHTTPSThroughProxy renders an https page in a real browser
// through a Proxy whose gate's client trusts the site's certificate: the
// browser accepts the proxy's certificates by their key
// (ProxyCertSPKI), the page's script runs, its fetch and XHR reach the
// gate as https requests. Without ProxyCertSPKI the browser refuses the
// proxy's certificate.
func TestRenderHTTPSThroughProxy(t *testing.T) {
	const host = "secure.test"
	exe := browserPath(t)
	site := fixtures.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			io.WriteString(w, "User-agent: *\nAllow: /\n")
		case "/api/links.json":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `["/t/fetched"]`)
		case "/api/xhr":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":true}`)
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, httpsPage)
		default:
			http.NotFound(w, r)
		}
	}), host)
	defer site.Close()
	tr := fixtures.TLSTransport(site.ResolveTLS(host), site)
	defer tr.CloseIdleConnections()
	client := fetch.New(fetch.Config{Transport: tr, Rate: -1, Timeout: proxyTimeout})
	defer client.Close()
	var mu sync.Mutex
	var entries []render.ProxyEntry
	gate := &render.FetcherGate{
		Fetch: client.Fetch,
		Allow: func(ctx context.Context, u *url.URL, method string) error {
			if u.Hostname() != host {
				return errors.New("out of scope")
			}
			return nil
		},
		OnRequest: func(e render.ProxyEntry) {
			mu.Lock()
			defer mu.Unlock()
			entries = append(entries, e)
		},
	}
	p, err := render.NewProxy(gate)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			opts := render.Options{Browser: exe, ProxyURL: p.URL(), Tabs: 1, Clicks: -1, IdleMax: 3 * time.Second}
			if trusted {
				opts.ProxyCertSPKI = p.CertSPKI()
			}
			if testing.Verbose() {
				opts.Logf = t.Logf
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			r, err := render.New(ctx, opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer r.Close()
			mu.Lock()
			entries = nil
			mu.Unlock()
			res, err := r.Render(ctx, "https://"+host+"/", render.PageOptions{})
			if !trusted {
				if err == nil || !errors.Is(err, render.ErrNavigation) {
					t.Errorf("Render without ProxyCertSPKI: got %v, want a navigation error (the certificate refused)", err)
				} else {
					t.Logf("without ProxyCertSPKI: %v", err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, e := range entries {
					if e.Method != "CONNECT" {
						t.Errorf("without ProxyCertSPKI the gate saw %+v; want no request", e)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if res.Status != 200 || res.URL != "https://"+host+"/" {
				t.Errorf("status %d URL %s, want 200 https://%s/", res.Status, res.URL, host)
			}
			for _, href := range []string{`href="/t/built"`, `href="/t/fetched"`} {
				if !strings.Contains(res.HTML, href) {
					t.Errorf("the rendered DOM lacks %s:\n%s", href, res.HTML)
				}
			}
			kinds := map[string]render.Kind{}
			for _, q := range res.Requests {
				kinds[q.URL] = q.Kind
			}
			if k := kinds["https://"+host+"/api/links.json"]; k != render.KindFetch {
				t.Errorf("requests %+v: want the fetch of /api/links.json", res.Requests)
			}
			if k := kinds["https://"+host+"/api/xhr"]; k != render.KindXHR {
				t.Errorf("requests %+v: want the XHR of /api/xhr", res.Requests)
			}
			mu.Lock()
			defer mu.Unlock()
			seen := map[string]bool{}
			for _, e := range entries {
				if e.Method == "GET" && e.Allowed && e.Status == 200 {
					seen[e.URL] = true
				}
			}
			for _, path := range []string{"/", "/api/links.json", "/api/xhr"} {
				if !seen["https://"+host+path] {
					t.Errorf("the gate did not serve GET https://%s%s; entries %+v", host, path, entries)
				}
			}
			for _, path := range []string{"/", "/api/links.json", "/api/xhr"} {
				n := 0
				for _, q := range site.Requests() {
					if q.Path == path {
						n++
					}
				}
				if n != 1 {
					t.Errorf("the site got %s %d times, want once", path, n)
				}
			}
		})
	}
}

// TestRenderWebSocketsThroughProxy renders, in a real browser, an http page
// that opens a ws:// and a wss:// WebSocket: Chromium tunnels both through
// CONNECT; the proxy closes the ws:// tunnel, which carries plain HTTP
// (ErrTunnel), and refuses the upgrade inside the wss:// one
// (ErrWebSocket). The site gets neither.
func TestRenderWebSocketsThroughProxy(t *testing.T) {
	const host = "plain.test"
	exe := browserPath(t)
	site := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!DOCTYPE html><title>sockets</title><script>
try { new WebSocket('ws://' + location.host + '/ws'); } catch (e) {}
try { new WebSocket('wss://' + location.host + '/wss'); } catch (e) {}
</script>`)
	}))
	defer site.Close()
	client := fetch.New(fetch.Config{Resolve: site.Resolve(host), Rate: -1, Timeout: proxyTimeout})
	defer client.Close()
	var mu sync.Mutex
	var entries []render.ProxyEntry
	p, err := render.NewProxy(&render.FetcherGate{Fetch: client.Fetch, OnRequest: func(e render.ProxyEntry) {
		mu.Lock()
		defer mu.Unlock()
		entries = append(entries, e)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := render.New(ctx, render.Options{Browser: exe, ProxyURL: p.URL(), ProxyCertSPKI: p.CertSPKI(), Tabs: 1, Clicks: -1, IdleMax: 3 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer r.Close()
	if _, err := r.Render(ctx, "http://"+host+"/", render.PageOptions{}); err != nil {
		t.Fatalf("Render: %v", err)
	}
	// The sockets may still be on their way when the page is idle: wait
	// for both entries, a while.
	var ws, wss bool
	deadline := time.Now().Add(proxyTimeout)
	for {
		mu.Lock()
		for _, e := range entries {
			switch {
			case e.Method == "CONNECT" && e.URL == host+":80":
				ws = !e.Allowed && errors.Is(e.Err, render.ErrTunnel)
			case e.URL == "https://"+host+"/wss":
				wss = e.Kind == "websocket" && !e.Allowed && errors.Is(e.Err, render.ErrWebSocket)
			}
		}
		got := slices.Clone(entries)
		mu.Unlock()
		if (ws && wss) || time.Now().After(deadline) {
			if !ws || !wss {
				t.Errorf("entries %+v: want the ws:// tunnel refused (ErrTunnel) %v, and the wss:// upgrade refused (ErrWebSocket) %v", got, ws, wss)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Close()
	p.Close()
	if got, want := pathsOf(site), []string{"GET /"}; !slices.Equal(got, want) {
		t.Errorf("site received %v, want %v", got, want)
	}
}
