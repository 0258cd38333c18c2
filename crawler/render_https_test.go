package crawler_test

import (
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"trawl/crawler"
	"trawl/fixtures"
)

// httpsURL returns u, an http:// URL of a fixture, as https://.
func httpsURL(u string) string { return "https://" + strings.TrimPrefix(u, "http://") }

// TestRenderHTTPS crawls the JS fixture site served over HTTPS only: its
// pages are rendered (the browser's proxy ends its tunnels and hands every
// request inside to the crawl's rules), and the targets that only their
// scripts lead to are found, fetched and recorded, as over http. The
// crawl's client trusts the site's certificate; the browser does not,
// and never talks to the site itself.
func TestRenderHTTPS(t *testing.T) {
	requireBrowser(t)
	defer goleak.VerifyNone(t)
	site := fixtures.JSSite{}
	srv := fixtures.NewTLSServer(site.Handler(), fixtures.JSHost)
	defer srv.Close()
	tr := fixtures.TLSTransport(srv.ResolveTLS(fixtures.JSHost), srv)
	defer tr.CloseIdleConnections()
	sink := &records{}
	stats := renderCrawl(t, crawler.Config{
		Transport:   tr,
		Rate:        -1,
		PerHost:     1,
		RecordLinks: true,
		NoSitemaps:  true,
		Sink:        sink,
		Render:      testRender(),
	}, httpsURL(site.Seeds()[0]))
	tr.CloseIdleConnections()
	srv.Close()
	reqs := srv.Requests()
	checkSiteLog(t, srv, reqs)
	checkTargets(t, site, sink.byKey(t), reqs, true, httpsURL)
	// The fetch page's script asked for the API over https, through the
	// browser's tunnel and the crawl's client.
	api := 0
	for _, r := range reqs {
		if r.Path == fixtures.JSAPIPath {
			api++
		}
	}
	if api != 1 {
		t.Errorf("the site got %s %d times, want once (the browser's fetch)", fixtures.JSAPIPath, api)
	}
	checkRenderStats(t, stats)
}

// TestRenderHTTPSContainment renders the containment page over HTTPS:
// every other host resolves, for the crawl's client, to sinks (one for
// https, one for http) that get nothing, though the browser gets a tunnel
// for any host it asks; the site gets nothing robots.txt disallows, no
// POST and no WebSocket.
func TestRenderHTTPSContainment(t *testing.T) {
	requireBrowser(t)
	site := fixtures.JSSite{}
	srv := fixtures.NewTLSServer(site.Handler(), fixtures.JSHost)
	defer srv.Close()
	noContent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	tlsSink := fixtures.NewTLSServer(noContent, site.ContainHosts()...)
	defer tlsSink.Close()
	sink := fixtures.NewServer(noContent)
	defer sink.Close()
	resolve := srv.ResolveTLS(fixtures.JSHost)
	for k, v := range tlsSink.ResolveTLS(site.ContainHosts()...) {
		resolve[k] = v
	}
	for k, v := range sink.Resolve(site.ContainHosts()...) {
		resolve[k] = v
	}
	tr := fixtures.TLSTransport(resolve, srv, tlsSink)
	defer tr.CloseIdleConnections()
	recs := &records{}
	seed := httpsURL(site.ContainSeed())
	stats := renderCrawl(t, crawler.Config{
		Transport:  tr,
		Rate:       -1,
		NoSitemaps: true,
		MaxDepth:   -1, // the page only: what it tries, not what it links
		Sink:       recs,
		Render:     testRender(),
	}, seed)
	srv.Close()
	sink.Close()
	tlsSink.Close()

	for name, s := range map[string]*fixtures.Server{"http": sink, "https": tlsSink} {
		if got := s.Requests(); len(got) > 0 {
			t.Errorf("the %s sink, standing for every other host, got %d requests: %v", name, len(got), fixtures.URLs(got))
		}
	}
	for _, r := range srv.Requests() {
		if r.Host != fixtures.JSHost || r.Method != http.MethodGet ||
			strings.HasPrefix(r.Path, "/js/private/") || r.Path == "/js/ws" || r.Path == "/js/beacon" {
			t.Errorf("the site got %s %s from %s: it should never leave", r.Method, r.URL(), r.UserAgent)
		}
	}
	page := recs.byKey(t)[key(t, seed)]
	if !page.Rendered || page.RenderRequests == 0 {
		t.Errorf("the containment page's record %+v: want rendered, with its requests counted", page)
	}
	// The disallowed image and fetch and the in-scope beacon at least;
	// the browser itself blocks some of the rest over https (mixed
	// content: ws:// and http:// subresources).
	if stats.BrowserRefused < 3 {
		t.Errorf("%d browser requests refused, want at least 3", stats.BrowserRefused)
	}
	t.Logf("stats: %d browser requests, %d refused", stats.BrowserRequests, stats.BrowserRefused)
}
