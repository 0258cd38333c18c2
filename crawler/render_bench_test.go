package crawler_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fetch/render"
	"trawl/fixtures"
	"trawl/internal/proctree"
	"trawl/parse"
	"trawl/store"
)

// The benchmarks of this file measure crawls with Config.Render (issue
// 16): pages/s and the browser's memory on a 1,000-page site whose links
// exist only through JavaScript (fixtures.JSBench), for 1, 2, 4 and 8
// tabs; the cost of click exploration; the time to the first rendered
// page. One iteration is one whole crawl: run them with -benchtime=1x,
// e.g.
//
//	go test ./crawler -run '^$' -bench 'BenchmarkRender(Crawl|Start)' -benchtime=1x -timeout 60m

// renderBenchPages is the number of pages of BenchmarkRenderCrawl's site.
const renderBenchPages = 1000

// renderBenchLinks is its fan-out: page i links to pages 10i+1 ... 10i+10
// (fixtures.JSBench.Children), so that every page is reachable from page 0
// and the crawl is 4 levels deep (0, 1-10, 11-110, 111-999): wide enough
// that 8 tabs always have pages to render once the second level is known.
const renderBenchLinks = 10

// requireBrowserB skips a benchmark without a browser (see requireBrowser).
func requireBrowserB(b *testing.B) {
	b.Helper()
	if _, err := render.FindBrowser(""); err != nil {
		if os.Getenv("TRAWL_REQUIRE_BROWSER") == "1" {
			b.Fatalf("TRAWL_REQUIRE_BROWSER=1: %v", err)
		}
		b.Skipf("no browser: %v", err)
	}
}

// pageTally is a Sink that keeps, per normalized URL, what the records of
// a crawl said, to check that every page got exactly one.
type pageTally struct {
	mu   sync.Mutex
	recs map[string][]store.Record // without OutLinks, to stay small
}

func (s *pageTally) Put(_ context.Context, r store.Record) error {
	k, _, err := parse.NormalizeString(r.URL)
	if err != nil {
		k = r.URL
	}
	r.OutLinks = nil
	s.mu.Lock()
	if s.recs == nil {
		s.recs = make(map[string][]store.Record)
	}
	s.recs[k] = append(s.recs[k], r)
	s.mu.Unlock()
	return nil
}

// check fails b unless each of the site's pages has exactly one record,
// fetched with status 200 and rendered, and returns the clicks the
// records say were made, summed.
func (s *pageTally) check(b *testing.B, urls []string) (clicks int) {
	b.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var bad []string
	for _, u := range urls {
		k, _, err := parse.NormalizeString(u)
		if err != nil {
			b.Fatal(err)
		}
		recs := s.recs[k]
		switch {
		case len(recs) != 1:
			bad = append(bad, fmt.Sprintf("%s: %d records", u, len(recs)))
		case recs[0].Status != http.StatusOK || !recs[0].Rendered:
			bad = append(bad, fmt.Sprintf("%s: status %d, rendered %v, error %q", u, recs[0].Status, recs[0].Rendered, recs[0].Error))
		default:
			clicks += recs[0].RenderClicks
		}
	}
	if len(s.recs) != len(urls) {
		bad = append(bad, fmt.Sprintf("%d URLs recorded, want the site's %d", len(s.recs), len(urls)))
	}
	if len(bad) > 0 {
		b.Fatalf("%d problems, first ones:\n%s", len(bad), strings.Join(bad[:min(len(bad), 10)], "\n"))
	}
	return clicks
}

// browserSampler samples, every period until stopped, the processes this
// test process started, that is the browser with its helper processes:
// it keeps the peak of their memory (PSS, summed) and the CPU time each
// used, as last seen.
type browserSampler struct {
	stop chan struct{}
	done chan struct{}
	peak int64                 // written by the sampling goroutine until done
	cpu  map[int]time.Duration // written by the sampling goroutine until done
}

func sampleBrowser(period time.Duration) *browserSampler {
	s := &browserSampler{stop: make(chan struct{}), done: make(chan struct{}), cpu: make(map[int]time.Duration)}
	me := os.Getpid()
	go func() {
		defer close(s.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			var pss int64
			for _, p := range proctree.Descendants(me) {
				pss += proctree.OwnPSS(p)
				s.cpu[p] = max(s.cpu[p], proctree.CPUTime(p))
			}
			s.peak = max(s.peak, pss)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peak memory, in bytes, and the
// CPU time of the processes, summed: a lower bound, which misses what a
// process used after the last sample it was seen in.
func (s *browserSampler) Stop() (peak int64, cpu time.Duration) {
	close(s.stop)
	<-s.done
	for _, c := range s.cpu {
		cpu += c
	}
	return s.peak, cpu
}

// buttonSite serves the pages of a JSBench with two clickable elements
// added to each: a button whose click listener adds a list item (the DOM
// changes, so the page is reloaded before the next click) and a span whose
// click listener sets location.href to the next page (a navigation, which
// the renderer records and stops). Page i has exactly these two
// candidates, where JSBench's own pages have none.
type buttonSite struct{ fixtures.JSBench }

func (s buttonSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/jsb/")
	i, err := strconv.Atoi(rest)
	page := s.Page(i)
	if !ok || err != nil || page == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		s.Handler().ServeHTTP(w, r)
		return
	}
	extra := fmt.Sprintf(`<button id="more">More</button> <span id="next">Next</span>
<script>
document.getElementById('more').addEventListener('click', function () {
  var li = document.createElement('li');
  li.textContent = 'one more';
  document.getElementById('items').appendChild(li);
});
document.getElementById('next').addEventListener('click', function () {
  location.href = '/jsb/%d';
});
</script>
</body>`, (i+1)%max(s.Pages, 1))
	page = bytes.Replace(page, []byte("</body>"), []byte(extra), 1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(page)
	}
}

// cpuTime returns the CPU time, user and system, that this process has
// used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// renderCrawlBench is one configuration of BenchmarkRenderCrawl.
type renderCrawlBench struct {
	tabs    int
	clicks  int  // RenderConfig.Clicks: -1 for none, 0 for the default (20)
	buttons bool // serve buttonSite rather than the plain JSBench
}

func (c renderCrawlBench) name() string {
	clicks := "off"
	if c.clicks >= 0 {
		clicks = strconv.Itoa(render.DefaultClicks)
		if c.clicks > 0 {
			clicks = strconv.Itoa(c.clicks)
		}
	}
	site := "jsbench"
	if c.buttons {
		site = "buttons"
	}
	return fmt.Sprintf("site=%s/tabs=%d/clicks=%s", site, c.tabs, clicks)
}

// BenchmarkRenderCrawl crawls a 1,000-page fixtures.JSBench site with
// rendering, each page's links made by its script, with 1, 2, 4 and 8
// tabs and no clicks; then with 2 tabs and click exploration (the default
// 20 clicks per page), on the same site, whose pages have nothing to
// click (the cost of looking), and on the site with two clickable
// elements per page (buttonSite), with and without clicks.
//
// One iteration is one whole crawl of the site: Run from the start,
// browser start included, to its end. It reports pages/s (rendered pages
// per second of the crawl), rendered (pages rendered per crawl),
// first-page-ms (from Run's start to the first page rendered), PSS-MiB
// (the peak, sampled every 250 ms, of the proportional set size of the
// browser's processes: every process the test process started),
// clicks/page, and the CPU time, user and system, per page rendered:
// crawl-CPU-ms/page that of the test process (the crawl, the fixture
// server, the proxy and the DevTools client), browser-CPU-ms/page that of
// the browser's processes sampled from /proc with the memory (a lower
// bound; getrusage's RUSAGE_CHILDREN is no substitute: it counts less
// than half of it, the browser's helper processes not being waited for
// up to the test process). Every page must end in exactly one record,
// fetched with status 200 and rendered.
//
// Politeness is off: Rate -1, and PerHost (the frontier's leases of the
// one host in flight, and the governor's slots that the page fetches and
// the browser's requests share) twice the tabs, as is Concurrency (at
// least its default 16). A rendered page holds its lease, and a worker,
// while it waits for a tab and is rendered, so PerHost below the tabs
// would leave tabs idle; twice the tabs keeps a fetched page waiting for
// each tab as it frees.
func BenchmarkRenderCrawl(b *testing.B) {
	requireBrowserB(b)
	var cases []renderCrawlBench
	for _, tabs := range []int{1, 2, 4, 8} {
		cases = append(cases, renderCrawlBench{tabs: tabs, clicks: -1})
	}
	cases = append(cases,
		renderCrawlBench{tabs: 2, clicks: 0},
		renderCrawlBench{tabs: 2, clicks: -1, buttons: true},
		renderCrawlBench{tabs: 2, clicks: 0, buttons: true},
	)
	for _, c := range cases {
		b.Run(c.name(), func(b *testing.B) {
			site := fixtures.JSBench{Pages: renderBenchPages, Links: renderBenchLinks}
			var h http.Handler = site.Handler()
			if c.buttons {
				h = buttonSite{site}
			}
			srv := fixtures.NewServer(h)
			defer srv.Close()
			urls := make([]string, renderBenchPages)
			for i := range urls {
				urls[i] = site.URL(i)
			}
			var elapsed, first, cpuSelf, cpuBrowser time.Duration
			var rendered, clicks int64
			var peak int64
			for b.Loop() {
				sink := &pageTally{}
				var firstPage atomic.Int64 // ns since start, of the first OnPage of a rendered page
				self0 := cpuTime()
				start := time.Now()
				crawl, err := crawler.New(crawler.Config{
					Resolve:     srv.Resolve(fixtures.JSBenchHost),
					Rate:        -1,
					PerHost:     2 * c.tabs,
					Concurrency: max(crawler.DefaultConcurrency, 2*c.tabs),
					NoSitemaps:  true,
					Sink:        sink,
					Render:      &crawler.RenderConfig{Tabs: c.tabs, Clicks: c.clicks},
					OnPage: func(_ context.Context, p *crawler.Page) error {
						if p.Rendered != nil {
							firstPage.CompareAndSwap(0, int64(time.Since(start)))
						}
						return nil
					},
				})
				if err != nil {
					b.Fatal(err)
				}
				sampler := sampleBrowser(250 * time.Millisecond)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				stats, err := crawl.Run(ctx, site.Seeds()...)
				cancel()
				elapsed += time.Since(start)
				pss, browserCPU := sampler.Stop()
				peak = max(peak, pss)
				cpuBrowser += browserCPU
				cpuSelf += cpuTime() - self0
				if err != nil {
					b.Fatalf("Run: %v", err)
				}
				if stats.RenderFailures > 0 || stats.Rendered != renderBenchPages {
					b.Errorf("%d pages rendered, %d render failures, errors %v; want %d rendered",
						stats.Rendered, stats.RenderFailures, stats.ErrorKinds, renderBenchPages)
				}
				clicks += int64(sink.check(b, urls))
				rendered += stats.Rendered
				first += time.Duration(firstPage.Load())
			}
			b.ReportMetric(float64(rendered)/elapsed.Seconds(), "pages/s")
			b.ReportMetric(float64(rendered)/float64(b.N), "rendered")
			b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "first-page-ms")
			b.ReportMetric(float64(peak)/(1<<20), "PSS-MiB")
			b.ReportMetric(float64(clicks)/float64(max(rendered, 1)), "clicks/page")
			perPage := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 / float64(max(rendered, 1)) }
			b.ReportMetric(perPage(cpuSelf), "crawl-CPU-ms/page")
			b.ReportMetric(perPage(cpuBrowser), "browser-CPU-ms/page")
		})
	}
}

// BenchmarkRenderStart crawls a one-page JSBench site with rendering and
// reports first-page-ms: the time from Run's start to the page rendered,
// as OnPage sees it. The crawl fetches robots.txt and the page, starts
// the browser (at the first page to render) and its proxy, and renders
// the page: the latency a user of --render waits for before the first
// rendered page, which fetch/render's BenchmarkStart (the Renderer alone,
// start-ms and first-page-ms) splits in two without the crawl around it.
// ns/op is the whole Run, the browser's stop included.
func BenchmarkRenderStart(b *testing.B) {
	requireBrowserB(b)
	site := fixtures.JSBench{Pages: 1}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	var first time.Duration
	for b.Loop() {
		var got atomic.Int64
		start := time.Now()
		crawl, err := crawler.New(crawler.Config{
			Resolve:    srv.Resolve(fixtures.JSBenchHost),
			Rate:       -1,
			NoSitemaps: true,
			Render:     &crawler.RenderConfig{Tabs: 1, Clicks: -1},
			OnPage: func(_ context.Context, p *crawler.Page) error {
				if p.Rendered != nil {
					got.CompareAndSwap(0, int64(time.Since(start)))
				}
				return nil
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		stats, err := crawl.Run(ctx, site.Seeds()...)
		cancel()
		if err != nil {
			b.Fatalf("Run: %v", err)
		}
		if stats.Rendered != 1 || got.Load() == 0 {
			b.Fatalf("%d pages rendered, want 1", stats.Rendered)
		}
		first += time.Duration(got.Load())
	}
	b.ReportMetric(float64(first.Microseconds())/1e3/float64(b.N), "first-page-ms")
}
