package metrics_test

import (
	"context"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"trawl/crawler"
	"trawl/crawler/metrics"
	"trawl/fetch/render"
	"trawl/fixtures"
	"trawl/internal/browsertest"
	"trawl/store"
	"trawl/store/disk"
)

// records is a Sink that keeps every record.
type records struct {
	mu   sync.Mutex
	list []store.Record
}

func (s *records) Put(_ context.Context, r store.Record) error {
	s.mu.Lock()
	s.list = append(s.list, r)
	s.mu.Unlock()
	return nil
}

var _ crawler.Sink = (*records)(nil)

// get serves GET /metrics from h; it may run on any goroutine.
func get(h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec
}

// parse checks that a GET /metrics answered in the text format and parses
// it.
func parse(t *testing.T, rec *httptest.ResponseRecorder) map[string]*dto.MetricFamily {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: got status %d, want 200: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("got Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// scrape gets h's /metrics and parses it.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	return parse(t, get(h))
}

// values returns the values of the counter or gauge family name by the
// value of its label (the empty string for a family without labels).
func values(t *testing.T, fams map[string]*dto.MetricFamily, name, label string) map[string]float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		v := ""
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				v = lp.GetValue()
			}
		}
		switch {
		case m.Counter != nil:
			out[v] = m.GetCounter().GetValue()
		case m.Gauge != nil:
			out[v] = m.GetGauge().GetValue()
		default:
			t.Fatalf("%s is a %v, want a counter or gauge", name, f.GetType())
		}
	}
	return out
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	return values(t, fams, name, "")[""]
}

func histogram(t *testing.T, fams map[string]*dto.MetricFamily, name string) *dto.Histogram {
	t.Helper()
	f, ok := fams[name]
	if !ok || len(f.GetMetric()) != 1 || f.GetMetric()[0].Histogram == nil {
		t.Fatalf("no histogram %s", name)
	}
	return f.GetMetric()[0].GetHistogram()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestCollector crawls the basic fixture site and a host that refuses
// connections, scrapes the handler during the crawl (from the page hook)
// and after it, and checks the numbers against the records written.
func TestCollector(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer srv.Close()
	const down = "down.trawl.test"
	resolve := srv.Resolve(fixtures.WWW, fixtures.Blog)
	resolve[down+":80"] = closedAddr(t)

	sink := &records{}
	var c *crawler.Crawler
	var h http.Handler
	var pages atomic.Int64
	var scraped *httptest.ResponseRecorder // during the crawl, at the third page
	c, err := crawler.New(crawler.Config{
		Resolve: resolve,
		Rate:    -1,
		Retries: -1,
		Scope:   crawler.ScopeDomain,
		Sink:    sink,
		// The refused host is given up at its first failure.
		MaxHostFailures: 1,
		// The site's Crawl-delay would make the test last seconds.
		MaxCrawlDelay: 10 * time.Millisecond,
		OnPage: func(context.Context, *crawler.Page) error {
			if pages.Add(1) == 3 {
				scraped = get(h)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h = metrics.Handler(c)
	before := scrape(t, h) // before Run: zeros, and no histograms
	if got := value(t, before, "trawl_bytes_total"); got != 0 {
		t.Errorf("before the crawl: got trawl_bytes_total %v, want 0", got)
	}
	if _, ok := before["trawl_fetch_duration_seconds"]; ok {
		t.Error("before the crawl: got trawl_fetch_duration_seconds, want none until the crawl gives it buckets")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := c.Run(ctx, "http://"+fixtures.WWW+"/", "http://"+down+"/")
	if err != nil {
		t.Fatal(err)
	}
	after := scrape(t, h)

	// What the records say.
	var fetched, errs, skipped, bytes float64
	classes, reasons := map[string]float64{}, map[string]float64{}
	for _, r := range sink.list {
		bytes += float64(r.Bytes)
		switch {
		case r.Skipped != "":
			skipped++
			reasons[r.Skipped]++
		case r.Error != "":
			errs++
		default:
			fetched++
			classes[string(rune('0'+r.Status/100))+"xx"]++
		}
	}
	if fetched == 0 || errs == 0 || skipped == 0 {
		t.Fatalf("got %v fetched, %v error and %v skipped records, want some of each", fetched, errs, skipped)
	}

	outcomes := values(t, after, "trawl_records_total", "outcome")
	want := map[string]float64{"fetched": fetched, "error": errs, "skipped": skipped}
	if !maps.Equal(outcomes, want) {
		t.Errorf("trawl_records_total: got %v, want %v", outcomes, want)
	}
	gotClasses := values(t, after, "trawl_pages_total", "class")
	for class, n := range gotClasses {
		if n == 0 {
			delete(gotClasses, class) // the classes are there from the start
		}
	}
	if !maps.Equal(gotClasses, classes) {
		t.Errorf("trawl_pages_total: got %v, want %v", gotClasses, classes)
	}
	if got := values(t, after, "trawl_skipped_total", "reason"); !maps.Equal(got, reasons) {
		t.Errorf("trawl_skipped_total: got %v, want %v", got, reasons)
	}
	kinds := values(t, after, "trawl_errors_total", "kind")
	var kindSum float64
	for _, n := range kinds {
		kindSum += n
	}
	if kindSum != errs || kinds["refused"] < 1 {
		t.Errorf("trawl_errors_total: got %v, want %v errors in all, the refused host's among them", kinds, errs)
	}
	if got := value(t, after, "trawl_hosts_unreachable"); got != 1 || stats.UnreachableHosts != 1 {
		t.Errorf("trawl_hosts_unreachable: got %v (Stats %d), want 1: the refused host", got, stats.UnreachableHosts)
	}
	if got := value(t, after, "trawl_bytes_total"); got != bytes {
		t.Errorf("trawl_bytes_total: got %v, want %v", got, bytes)
	}
	if got, want := value(t, after, "trawl_retries_total"), float64(stats.Retries); got != want {
		t.Errorf("trawl_retries_total: got %v, want %v", got, want)
	}
	for _, name := range []string{"trawl_fetch_duration_seconds", "trawl_ttfb_seconds"} {
		hist := histogram(t, after, name)
		if got := float64(hist.GetSampleCount()); got != fetched {
			t.Errorf("%s: got count %v, want the %v fetched records", name, got, fetched)
		}
		if hist.GetSampleSum() <= 0 {
			t.Errorf("%s: got sum %v, want more than 0", name, hist.GetSampleSum())
		}
		b := hist.GetBucket()
		if len(b) < 2 || b[0].GetUpperBound() != 0.005 || b[len(b)-2].GetUpperBound() != 30 { // then +Inf
			t.Errorf("%s: got buckets %v, want 5ms to 30s", name, b)
		}
	}
	robotsRequests := 0
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.URL(), "/robots.txt") {
			robotsRequests++
		}
	}
	if got := value(t, after, "trawl_robots_fetches_total"); got < float64(robotsRequests) || robotsRequests != len(fixtures.BasicExpect.Robots) {
		t.Errorf("trawl_robots_fetches_total: got %v, want at least the %d robots.txt requests (of %d hosts)", got, robotsRequests, len(fixtures.BasicExpect.Robots))
	}
	if got := value(t, after, "trawl_robots_cache_hits_total"); got < 1 {
		t.Errorf("trawl_robots_cache_hits_total: got %v, want some", got)
	}
	if got := values(t, after, "trawl_links_found_total", "kind"); got["page"] < 1 {
		t.Errorf("trawl_links_found_total: got %v, want page links", got)
	}
	if got := values(t, after, "trawl_frontier_urls", "state"); got["queued"] != 0 || got["in_flight"] != 0 {
		t.Errorf("after the crawl: trawl_frontier_urls: got %v, want nothing left", got)
	}
	for _, name := range []string{"trawl_checkpoint_duration_seconds", "trawl_flush_duration_seconds"} {
		if _, ok := after[name]; ok {
			t.Errorf("got %s, want none without a checkpointing frontier", name)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := after[name]; !ok {
			t.Errorf("no %s: want the Go and process collectors too", name)
		}
	}

	// During the crawl: the page at hand is in flight, and no counter is
	// past its final value.
	if scraped == nil {
		t.Fatal("no scrape during the crawl")
	}
	during := parse(t, scraped)
	if got := values(t, during, "trawl_frontier_urls", "state")["in_flight"]; got < 1 {
		t.Errorf("during the crawl: trawl_frontier_urls{state=\"in_flight\"}: got %v, want at least the page being read", got)
	}
	for name, f := range during {
		if f.GetType() != dto.MetricType_COUNTER || !strings.HasPrefix(name, "trawl_") {
			continue
		}
		final := values(t, after, name, labelOf(f))
		for v, n := range values(t, during, name, labelOf(f)) {
			if n > final[v] {
				t.Errorf("%s{%q}: got %v during the crawl, more than the final %v", name, v, n, final[v])
			}
		}
	}
	if got := histogram(t, during, "trawl_fetch_duration_seconds").GetSampleCount(); float64(got) > fetched {
		t.Errorf("during the crawl: trawl_fetch_duration_seconds count %d, more than the final %v", got, fetched)
	}

	// Bounded cardinality: no label names a URL or a host.
	for _, fams := range []map[string]*dto.MetricFamily{during, after} {
		for name, f := range fams {
			for _, m := range f.GetMetric() {
				for _, lp := range m.GetLabel() {
					if n := lp.GetName(); n == "url" || n == "host" {
						t.Errorf("%s has a label %s", name, n)
					}
				}
			}
		}
	}

	problems, err := testutil.CollectAndLint(metrics.NewCollector(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// labelOf returns the name of f's only label, or "".
func labelOf(f *dto.MetricFamily) string {
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			return lp.GetName()
		}
	}
	return ""
}

// TestCheckpointMetrics: a crawl over a disk frontier times its
// checkpoints (at least the first and the last) and its flushes.
func TestCheckpointMetrics(t *testing.T) {
	defer goleak.VerifyNone(t)
	site := fixtures.Synthetic{Pages: 60, Links: 4, Size: 500, Hosts: 1, Seed: 2}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	f, err := store.OpenFile(filepath.Join(dir, "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := crawler.New(crawler.Config{
		Resolve: srv.Resolve(site.HostNames()...),
		Rate:    -1,
		Sink:    store.NewJSONL(f),
		NewFrontier: func(opts store.FrontierOptions) (crawler.Frontier, error) {
			return disk.Open(filepath.Join(dir, "state"), disk.Options{FrontierOptions: opts})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := c.Run(ctx, site.Root())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Fetched < int64(site.Pages) {
		t.Fatalf("fetched %d of %d pages", stats.Fetched, site.Pages)
	}
	fams := scrape(t, metrics.Handler(c))
	for name, least := range map[string]uint64{"trawl_checkpoint_duration_seconds": 2, "trawl_flush_duration_seconds": 1} {
		h := histogram(t, fams, name)
		if h.GetSampleCount() < least || h.GetSampleSum() <= 0 {
			t.Errorf("%s: got count %d, sum %v, want at least %d and more than 0", name, h.GetSampleCount(), h.GetSampleSum(), least)
		}
	}
}

// The test that starts a browser runs inside a loopback-only network
// namespace where one can be made (see trawl/internal/browsertest).
var _ = browsertest.Register("^TestRenderMetrics$")

// TestRenderFenced runs TestRenderMetrics inside the fence.
func TestRenderFenced(t *testing.T) { browsertest.RunFenced(t) }

// TestRenderMetrics checks the rendering metrics against Stats after a
// crawl of the JS fixture's containment page, whose browser requests are
// served, answered from memory and refused.
func TestRenderMetrics(t *testing.T) {
	browsertest.Require(t, render.FindBrowser)
	defer goleak.VerifyNone(t)
	site := fixtures.JSSite{}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	c, err := crawler.New(crawler.Config{
		Resolve:    srv.Resolve(fixtures.JSHost),
		Rate:       -1,
		NoSitemaps: true,
		MaxPages:   3,
		Sink:       &records{},
		Render:     &crawler.RenderConfig{Tabs: 1, IdleMax: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := scrape(t, metrics.Handler(c))
	for _, name := range []string{"trawl_renders_total", "trawl_browser_requests_total"} {
		for label, v := range values(t, before, name, "outcome") {
			if v != 0 {
				t.Errorf("%s{outcome=%q} = %v before the crawl, want 0", name, label, v)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := c.Run(ctx, site.ContainSeed())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Rendered == 0 || stats.BrowserRefused == 0 || stats.BrowserRequests+stats.BrowserCached == 0 {
		t.Fatalf("stats %+v: want pages rendered and browser requests sent or cached and refused", stats)
	}
	after := scrape(t, metrics.Handler(c))
	if got, want := values(t, after, "trawl_renders_total", "outcome"), map[string]float64{
		"rendered": float64(stats.Rendered), "failed": float64(stats.RenderFailures),
	}; !maps.Equal(got, want) {
		t.Errorf("trawl_renders_total: got %v, want %v", got, want)
	}
	if got, want := values(t, after, "trawl_browser_requests_total", "outcome"), map[string]float64{
		"sent": float64(stats.BrowserRequests), "cached": float64(stats.BrowserCached), "refused": float64(stats.BrowserRefused),
	}; !maps.Equal(got, want) {
		t.Errorf("trawl_browser_requests_total: got %v, want %v", got, want)
	}
}
