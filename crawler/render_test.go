package crawler_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"trawl/crawler"
	"trawl/fetch"
	"trawl/fetch/render"
	"trawl/fixtures"
	"trawl/internal/browsertest"
	"trawl/internal/proctree"
	"trawl/parse"
	"trawl/store"
)

// The tests that start a browser are named TestRender*, and run inside a
// loopback-only network namespace where one can be made (see
// trawl/internal/browsertest).
var _ = browsertest.Register("^TestRender")

// TestRenderFenced runs the browser tests inside the fence.
func TestRenderFenced(t *testing.T) { browsertest.RunFenced(t) }

// requireBrowser skips a test that needs a browser when none is installed,
// unless TRAWL_REQUIRE_BROWSER=1 (as .ci/run sets) makes that a failure,
// and outside the fence when TestRenderFenced runs it inside.
func requireBrowser(t *testing.T) {
	t.Helper()
	browsertest.Require(t, render.FindBrowser)
}

// renderCrawl runs a crawl with cfg, bounded in time.
func renderCrawl(t *testing.T, cfg crawler.Config, seeds ...string) crawler.Stats {
	t.Helper()
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	stats, err := c.Run(ctx, seeds...)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return stats
}

// testRender is the RenderConfig of the tests: two tabs, short waits.
func testRender() *crawler.RenderConfig {
	return &crawler.RenderConfig{Tabs: 2, IdleMax: 2 * time.Second, PageTimeout: 30 * time.Second}
}

// outLink returns the out-link of rec to u, if it has one.
func outLink(rec store.Record, u string) (store.Link, bool) {
	for _, l := range rec.OutLinks {
		if l.URL == u {
			return l, true
		}
	}
	return store.Link{}, false
}

// TestRenderDiscoversJSTargets crawls the JS fixture site with and without
// rendering: each target is discovered with it and not without. A GET
// target is fetched and recorded; the POST target is an out-link with its
// method, which the crawler never requests. No URL is requested twice:
// the browser gets each page's document from the crawl, and the page's
// resources once; with PerHost 1, one at a time, the browser's included.
func TestRenderDiscoversJSTargets(t *testing.T) {
	requireBrowser(t)
	defer goleak.VerifyNone(t)
	site := fixtures.JSSite{}
	for _, rendered := range []bool{true, false} {
		t.Run(fmt.Sprintf("render=%v", rendered), func(t *testing.T) {
			srv := fixtures.NewServer(site.Handler())
			defer srv.Close()
			sink := &records{}
			cfg := crawler.Config{
				Resolve:     srv.Resolve(fixtures.JSHost),
				Rate:        -1,
				PerHost:     1,
				RecordLinks: true,
				NoSitemaps:  true,
				Sink:        sink,
			}
			if rendered {
				cfg.Render = testRender()
			}
			stats := renderCrawl(t, cfg, site.Seeds()...)
			srv.Close()
			reqs := srv.Requests()
			checkSiteLog(t, srv, reqs)
			checkTargets(t, site, sink.byKey(t), reqs, rendered, func(u string) string { return u })
			if rendered {
				checkRenderStats(t, stats)
			} else if stats.Rendered+stats.BrowserRequests+stats.BrowserCached+stats.BrowserRefused != 0 {
				t.Errorf("stats count browser work without rendering: %+v", stats)
			}
		})
	}
}

// checkTargets checks the records of a crawl of site (byKey, with
// RecordLinks) and the requests its server got (reqs) against each of the
// site's targets: without rendering, none is found or asked for; with
// it, each page was rendered and links to its target, a POST target as a
// form link that is neither recorded nor asked for, any other one fetched
// with the page as its parent. urlOf turns a site URL into the one crawled
// (its https form, for a site served over TLS).
// checkSiteLog checks the JS site's log after a crawl with PerHost 1: no
// URL requested twice, one request at a time (the browser's included),
// and nothing but GET.
func checkSiteLog(t *testing.T, srv *fixtures.Server, reqs []fixtures.Request) {
	t.Helper()
	if err := fixtures.CheckNoDuplicates(reqs); err != nil {
		t.Error(err)
	}
	if n := srv.MaxInFlight(fixtures.JSHost); n != 1 {
		t.Errorf("%d requests in flight at once, want 1 (PerHost), the browser's included", n)
	}
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			t.Errorf("the site got %s %s: only GET leaves", r.Method, r.Path)
		}
	}
}

// checkRenderStats checks the stats of a crawl of the JS site that
// rendered its pages: some rendered, some browser requests sent and some
// answered from memory, and no failure.
func checkRenderStats(t *testing.T, stats crawler.Stats) {
	t.Helper()
	if stats.Rendered == 0 || stats.BrowserRequests == 0 || stats.BrowserCached == 0 {
		t.Errorf("stats: %d rendered, %d browser requests, %d from memory: want each > 0", stats.Rendered, stats.BrowserRequests, stats.BrowserCached)
	}
	if stats.RenderFailures != 0 || stats.Errors != 0 {
		t.Errorf("stats: %d render failures, %d errors (%v), want none", stats.RenderFailures, stats.Errors, stats.ErrorKinds)
	}
}

func checkTargets(t *testing.T, site fixtures.JSSite, byKey map[string]store.Record, reqs []fixtures.Request, rendered bool, urlOf func(string) string) {
	t.Helper()
	for _, tg := range site.Targets() {
		pageURL, target := urlOf(site.URL(tg.Page)), urlOf(site.URL(tg.Path))
		page := byKey[key(t, pageURL)]
		if page.Status != 200 {
			t.Fatalf("%s: page %s got record %+v, want fetched", tg.Name, pageURL, page)
		}
		if page.Rendered != rendered {
			t.Errorf("%s: page record says rendered %v, want %v", tg.Name, page.Rendered, rendered)
		}
		link, linked := outLink(page, target)
		rec, recorded := byKey[key(t, target)]
		asked := 0
		for _, r := range reqs {
			if r.Path == tg.Path {
				asked++
			}
		}
		switch {
		case !rendered:
			if linked || recorded || asked > 0 {
				t.Errorf("%s: found without rendering (out-link %v, record %v, %d requests): the fixture proves nothing", tg.Name, linked, recorded, asked)
			}
		case tg.Method == http.MethodPost:
			if !linked || link.Kind != parse.KindForm || link.Method != http.MethodPost {
				t.Errorf("%s: out-links of %s %+v: want %s as a POST form link", tg.Name, pageURL, page.OutLinks, target)
			}
			if recorded || asked > 0 {
				t.Errorf("%s: a POST target was recorded (%v) or requested %d times; want neither", tg.Name, recorded, asked)
			}
		default:
			if !linked {
				t.Errorf("%s: %s has no out-link to %s (via %s); out-links %+v", tg.Name, pageURL, target, tg.Via, page.OutLinks)
			}
			if !recorded || rec.Status != 200 || rec.Parent != pageURL {
				t.Errorf("%s: target record %+v, want fetched with parent %s", tg.Name, rec, pageURL)
			}
		}
	}
}

// TestRenderContainment renders the page that tries every way out: an
// image on another host, WebSockets, preconnect and dns-prefetch, beacons,
// a fetch robots.txt disallows and a navigation away. Every other host
// resolves to a sink server, for the crawl's client: the sink gets
// nothing, and the site gets nothing robots.txt disallows, no POST and no
// WebSocket.
func TestRenderContainment(t *testing.T) {
	requireBrowser(t)
	site := fixtures.JSSite{}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	sink := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sink.Close()
	resolve := srv.Resolve(fixtures.JSHost)
	for k, v := range sink.Resolve(site.ContainHosts()...) {
		resolve[k] = v
	}
	recs := &records{}
	stats := renderCrawl(t, crawler.Config{
		Resolve:    resolve,
		Rate:       -1,
		NoSitemaps: true,
		MaxDepth:   -1, // the page only: what it tries, not what it links
		Sink:       recs,
		Render:     testRender(),
	}, site.ContainSeed())
	srv.Close()
	sink.Close()

	if got := sink.Requests(); len(got) > 0 {
		t.Errorf("the sink, standing for every other host, got %d requests: %v", len(got), fixtures.URLs(got))
	}
	for _, r := range srv.Requests() {
		if r.Host != fixtures.JSHost || r.Method != http.MethodGet ||
			strings.HasPrefix(r.Path, "/js/private/") || r.Path == "/js/ws" || r.Path == "/js/beacon" {
			t.Errorf("the site got %s %s from %s: it should never leave", r.Method, r.URL(), r.UserAgent)
		}
	}
	page := recs.byKey(t)[key(t, site.ContainSeed())]
	if !page.Rendered || page.RenderRequests == 0 {
		t.Errorf("the containment page's record %+v: want rendered, with its requests counted", page)
	}
	// The off-scope image, the disallowed image and fetch, the beacons
	// and the WebSockets at least.
	if stats.BrowserRefused < 5 {
		t.Errorf("%d browser requests refused, want at least 5", stats.BrowserRefused)
	}
}

// politeSite is two hosts whose pages load scripts, images and data from
// each other, every answer a little slow, so that a page fetch of one
// host and the browser's requests for the other's page overlap unless
// one governor holds both.
type politeSite struct{ pages int }

const (
	politeA = "a.polite.trawl.test"
	politeB = "b.polite.trawl.test"
)

func (s politeSite) other(host string) string {
	if fixtures.Hostname(host) == politeA {
		return politeB
	}
	return politeA
}

func (s politeSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := time.NewTimer(20 * time.Millisecond)
	select {
	case <-t.C:
	case <-r.Context().Done():
		t.Stop()
		return
	}
	other := "http://" + s.other(r.Host)
	switch {
	case r.URL.Path == "/robots.txt":
		fmt.Fprint(w, "User-agent: *\nAllow: /\n")
	case strings.HasPrefix(r.URL.Path, "/p/"):
		var n int
		fmt.Sscanf(r.URL.Path, "/p/%d", &n)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><title>page %d</title>
<script src="%s/s/%d.js"></script>
<img src="%s/i/%d.gif"><img src="/i/own%d.gif">
<script>fetch('%s/api/%d').catch(function () {});</script>
`, n, other, n, other, n, n, other, n)
		for k := 1; k <= 2; k++ {
			if c := 2*n + k; c < s.pages {
				fmt.Fprintf(w, `<a href="/p/%d">p%d</a> <a href="%s/p/%d">other p%d</a>`, c, c, other, c, c)
			}
		}
	case strings.HasPrefix(r.URL.Path, "/s/"):
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, "window.loaded = true;")
	case strings.HasPrefix(r.URL.Path, "/api/"):
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	case strings.HasPrefix(r.URL.Path, "/i/"):
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	default:
		http.NotFound(w, r)
	}
}

// TestRenderPoliteness checks that PerHost and Rate hold across the page
// fetches and the browser's requests together: two hosts whose rendered
// pages ask each other for resources, crawled with several workers and
// tabs, never have more than PerHost requests in flight, nor two requests
// closer than the rate allows.
func TestRenderPoliteness(t *testing.T) {
	requireBrowser(t)
	for _, tc := range []struct {
		name    string
		perHost int
		rate    float64
	}{
		{"per host 1", 1, -1},
		{"rate 20", 2, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixtures.NewServer(politeSite{pages: 6})
			defer srv.Close()
			stats := renderCrawl(t, crawler.Config{
				Resolve:     srv.Resolve(politeA, politeB),
				Scope:       crawler.ScopeDomain,
				Concurrency: 4,
				PerHost:     tc.perHost,
				Rate:        tc.rate,
				NoSitemaps:  true,
				Render:      &crawler.RenderConfig{Tabs: 2, Clicks: -1, IdleMax: 2 * time.Second},
			}, "http://"+politeA+"/p/0")
			srv.Close()
			reqs := srv.Requests()
			if stats.BrowserRequests == 0 || stats.Rendered < 4 {
				t.Fatalf("%d pages rendered, %d browser requests: the test proves nothing", stats.Rendered, stats.BrowserRequests)
			}
			for _, h := range []string{politeA, politeB} {
				if got := srv.MaxInFlight(h); got > tc.perHost {
					t.Errorf("%s: %d requests in flight at once, want at most %d (PerHost)", h, got, tc.perHost)
				}
				if tc.rate > 0 {
					// The server stamps arrivals, which the network and the
					// scheduling of goroutines (two cores, a browser, -race)
					// delay by different amounts: allow half the interval,
					// as the crawler's other politeness tests do. Without
					// the governor the browser's requests come together.
					iv := time.Duration(float64(time.Second) / tc.rate)
					if err := fixtures.CheckMinGap(reqs, h, iv/2); err != nil {
						t.Error(err)
					}
				}
			}
			if err := fixtures.CheckNoDuplicates(reqs); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestRenderOnPage checks that the page hook gets the rendered DOM, and
// the render with the value of the script hook.
func TestRenderOnPage(t *testing.T) {
	requireBrowser(t)
	site := fixtures.JSSite{}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	rc := testRender()
	rc.Script = `document.querySelectorAll('#links a').length`
	rc.Clicks = -1
	var saw atomic.Bool
	renderCrawl(t, crawler.Config{
		Resolve:    srv.Resolve(fixtures.JSHost),
		Rate:       -1,
		NoSitemaps: true,
		MaxDepth:   -1,
		Render:     rc,
		OnPage: func(ctx context.Context, p *crawler.Page) error {
			saw.Store(true)
			target := site.Targets()[0] // fetch: the link is in the DOM once the page's fetch answered
			if n := p.HTML.Document().Find(`a[href="` + target.Path + `"]`).Length(); n != 1 {
				t.Errorf("OnPage: the document has %d links to %s, want the rendered DOM's 1", n, target.Path)
			}
			if p.Rendered == nil || string(p.Rendered.ScriptResult) != "1" || p.Rendered.ScriptError != "" {
				t.Errorf("OnPage: Rendered %+v, want the script's value 1", p.Rendered)
			}
			if !slices.ContainsFunc(p.Links, func(l parse.Link) bool { return l.URL == site.URL(target.Path) }) {
				t.Errorf("OnPage: Links %+v lack %s", p.Links, target.Path)
			}
			return nil
		},
	}, site.URL(site.Targets()[0].Page))
	if !saw.Load() {
		t.Error("OnPage was not called")
	}
}

// TestRenderArchive checks that what the browser got from a server is
// archived with Config.Archive, as the pages are, once.
func TestRenderArchive(t *testing.T) {
	requireBrowser(t)
	site := fixtures.JSSite{}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	var mu sync.Mutex
	archived := map[string]int{}
	renderCrawl(t, crawler.Config{
		Resolve:    srv.Resolve(fixtures.JSHost),
		Rate:       -1,
		NoSitemaps: true,
		MaxDepth:   -1,
		Render:     testRender(),
		Archive: archiveFunc(func(ex []*fetch.Exchange) (store.WARCRef, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range ex {
				archived[e.Method+" "+e.URL]++
			}
			return store.WARCRef{File: "test.warc.gz"}, nil
		}),
	}, site.URL(site.Targets()[0].Page))
	mu.Lock()
	defer mu.Unlock()
	for _, u := range []string{"/robots.txt", site.Targets()[0].Page, fixtures.JSAPIPath} {
		if n := archived["GET "+site.URL(u)]; n != 1 {
			t.Errorf("GET %s archived %d times, want once; archived %v", u, n, archived)
		}
	}
}

// chromiumPIDs returns the processes descending from this test process
// whose command line names a Chromium and, if typ is not empty, holds
// "--type=" + typ (a renderer, a zygote, ...); with typ empty, only those
// without "--type=": the browsers themselves.
func chromiumPIDs(t *testing.T, typ string) []int {
	t.Helper()
	var out []int
	for _, pid := range proctree.Descendants(os.Getpid()) {
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		// Chromium's helpers rewrite their command line as one string with
		// spaces: split on both.
		cmd = append(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}), ' ')
		if !bytes.Contains(cmd, []byte("chrom")) && !bytes.Contains(cmd, []byte("headless")) {
			continue
		}
		hasType := bytes.Contains(cmd, []byte("--type="))
		if (typ == "" && !hasType) || (typ != "" && bytes.Contains(cmd, []byte("--type="+typ+" "))) {
			out = append(out, pid)
		}
	}
	if len(out) == 0 && len(proctree.Descendants(os.Getpid())) == 0 {
		t.Skip("no process tree to read (/proc)")
	}
	return out
}

// crawlKilling crawls a 30-page JS site with two tabs and no back-off,
// and SIGKILLs the Chromium processes of type typ ("" for the browser
// itself, "renderer" for the tabs' pages; see chromiumPIDs) when the
// OnPage hook has seen each count of pages in at. It fails the test when
// nothing was killed, when a URL has a second record (byKey) and when a
// page has no fetched record; it returns the crawl's Stats.
func crawlKilling(t *testing.T, typ string, at ...int32) crawler.Stats {
	t.Helper()
	bench := fixtures.JSBench{Pages: 30, Links: 3}
	srv := fixtures.NewServer(bench.Handler())
	defer srv.Close()
	sink := &records{}
	var pages, killed atomic.Int32
	stats := renderCrawl(t, crawler.Config{
		Resolve:      srv.Resolve(fixtures.JSBenchHost),
		Rate:         -1,
		NoSitemaps:   true,
		RetryBackoff: -1,
		Sink:         sink,
		Render:       &crawler.RenderConfig{Tabs: 2, Clicks: -1},
		OnPage: func(ctx context.Context, p *crawler.Page) error {
			if slices.Contains(at, pages.Add(1)) {
				for _, pid := range chromiumPIDs(t, typ) {
					if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
						killed.Add(1)
					}
				}
			}
			return nil
		},
	}, bench.Seeds()...)
	if killed.Load() == 0 {
		t.Fatalf("no %q process found to kill", cmp.Or(typ, "browser"))
	}
	byKey := sink.byKey(t) // fails on a second record for a URL
	for i := range 30 {
		rec, ok := byKey[key(t, bench.URL(i))]
		if !ok || rec.Status != 200 {
			t.Errorf("page %d: record %+v (%v), want fetched", i, rec, ok)
		}
		if ok && !rec.Rendered && rec.Error == "" {
			t.Errorf("page %d: neither rendered nor an error: %+v", i, rec)
		}
		if ok && rec.Error != "" {
			t.Logf("page %d: %s", i, rec.Error)
		}
	}
	t.Logf("%d killed; %d rendered, %d render failures, %d retries, errors %v", killed.Load(), stats.Rendered, stats.RenderFailures, stats.Retries, stats.ErrorKinds)
	return stats
}

// TestRenderBrowserKilled kills the browser in the middle of a crawl: the
// crawl goes on with a new one, the pages whose render failed are tried
// again, and every URL still ends in exactly one record.
func TestRenderBrowserKilled(t *testing.T) {
	requireBrowser(t)
	stats := crawlKilling(t, "", 8)
	if stats.Rendered < 25 {
		t.Errorf("%d pages rendered, want nearly all 30 after the browser restarted", stats.Rendered)
	}
}

// TestRenderRendererKilled kills the browser's renderer processes (the
// tabs' pages) twice in the middle of a crawl: the tabs whose renderer died
// are replaced, the pages whose render failed are tried again, and every
// URL still ends in exactly one record.
func TestRenderRendererKilled(t *testing.T) {
	requireBrowser(t)
	stats := crawlKilling(t, "renderer", 6, 14)
	// A page whose renderer died is tried again (twice at most, as two
	// kills can hit it, within the default 2 retries), so every page is
	// rendered in the end: a navigation the crash aborted counts as the
	// crash, not as the page's failure.
	if stats.Rendered != 30 || stats.ErrorKinds["render"] != 0 {
		t.Errorf("%d pages rendered, %d render errors: want all 30 rendered once their tabs were replaced", stats.Rendered, stats.ErrorKinds["render"])
	}
}

// TestRenderNoBrowser checks that a crawl that cannot find its browser
// fails at once, before any request, saying how to install one.
func TestRenderNoBrowser(t *testing.T) {
	srv := fixtures.NewServer(fixtures.JSSite{}.Handler())
	defer srv.Close()
	c, err := crawler.New(crawler.Config{
		Resolve: srv.Resolve(fixtures.JSHost),
		Render:  &crawler.RenderConfig{Browser: "/nonexistent/chromium"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Run(ctx, fixtures.JSSite{}.Seeds()...)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/chromium") {
		t.Errorf("Run: %v, want an error naming the browser", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the site got %d requests, want none", n)
	}
	if _, err := crawler.New(crawler.Config{Render: &crawler.RenderConfig{Tabs: -1}}); err == nil {
		t.Error("New with Render.Tabs -1: no error")
	}
	if _, err := crawler.New(crawler.Config{Method: http.MethodHead, Render: &crawler.RenderConfig{}}); err == nil {
		t.Error("New with Render and Method HEAD: no error")
	}
}

// ExampleRenderConfig crawls a site whose links are made by JavaScript,
// reading each rendered page's data in the page hook. (It needs a browser
// and a network, so it is compiled, not run.)
func ExampleRenderConfig() {
	c, err := crawler.New(crawler.Config{
		Sink: store.NewJSONL(os.Stdout),
		Render: &crawler.RenderConfig{
			Clicks: 5,
			Script: `document.querySelectorAll('[data-price]').length`,
		},
		OnPage: func(ctx context.Context, p *crawler.Page) error {
			if p.Rendered != nil {
				p.Data = map[string]any{"prices": p.Rendered.ScriptResult}
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Run(context.Background(), "http://app.example.com/"); err != nil {
		fmt.Println(err) // render.ErrNoBrowser says how to install one
	}
}
