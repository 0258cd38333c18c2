package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
)

// The hostile host of these tests, and its Crawl-delay twin.
const (
	badHost  = "bad.trawl.test"
	slowHost = "slow." + badHost
)

// TestLongRetryAfter: a 429 asking for an hour is not waited for. The URL
// ends with its 429 record, its host pauses MaxRetryWait and no longer,
// and the rest of the host is crawled.
func TestLongRetryAfter(t *testing.T) {
	const pause = 2 * time.Second
	mux := http.NewServeMux()
	mux.HandleFunc("/limited", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/" {
			for i := range 10 {
				fmt.Fprintf(w, `<a href="/p%d">p</a>`, i)
			}
		}
	})
	srv := fixtures.NewServer(mux)
	defer srv.Close()
	sink := &records{}
	stats, err := runCrawl(t, crawler.Config{
		Resolve:      srv.Resolve(badHost),
		Rate:         -1,
		PerHost:      1,
		Concurrency:  1,
		IgnoreRobots: true,
		MaxRetryWait: pause,
		Sink:         sink,
	}, "http://"+badHost+"/limited", "http://"+badHost+"/")
	if err != nil {
		t.Fatalf("Run: %v (a crawl that waits for Retry-After: 3600 does not end)", err)
	}
	recs := sink.byKey(t)
	lim := recs[key(t, "http://"+badHost+"/limited")]
	if lim.Status != http.StatusTooManyRequests || lim.Attempts != 1 || !strings.Contains(lim.Error, "asked to retry after 1h0m0s") {
		t.Errorf("/limited: got %+v, want status 429, 1 attempt and an error naming the hour asked for", lim)
	}
	if len(recs) != 12 || stats.Fetched != 11 || stats.Errors != 1 || stats.Retries != 0 {
		t.Errorf("%d records, %d fetched, %d errors, %d retries; want 12, 11, 1, 0", len(recs), stats.Fetched, stats.Errors, stats.Retries)
	}
	// The host paused after the 429, for the crawl's limit.
	reqs := srv.Requests()
	if len(reqs) < 2 || reqs[0].Path != "/limited" {
		t.Fatalf("requests %v, want /limited first", fixtures.URLs(reqs))
	}
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap < pause-50*time.Millisecond {
		t.Errorf("next request %v after the 429, want the host paused %v", gap, pause)
	}
}

// TestRobotsPercentEncoding: no spelling of a disallowed path gets past
// robots.txt, and the look-alikes that are other paths are fetched.
func TestRobotsPercentEncoding(t *testing.T) {
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	sink := &records{}
	if _, err := runCrawl(t, crawler.Config{
		Resolve: srv.Resolve(badHost),
		Rate:    -1,
		PerHost: 4,
		Sink:    sink,
	}, "http://"+badHost+"/hostile/robots/"); err != nil {
		t.Fatal(err)
	}
	requested := map[string]bool{}
	for _, r := range srv.Requests() {
		if fixtures.IsRobotsPrivate(r.Path) {
			t.Errorf("%s was requested: robots.txt disallows %s", r.Path, fixtures.HostileRobotsDisallow)
		}
		requested[key(t, r.URL())] = true
	}
	base := "http://" + badHost + "/hostile/robots/"
	recs := sink.byKey(t)
	for _, href := range fixtures.HostileRobotsPrivate {
		if r := recs[key(t, base+href)]; r.Skipped != crawler.SkipRobots {
			t.Errorf("%s: got %+v, want skipped robots", href, r)
		}
	}
	for _, href := range fixtures.HostileRobotsPublic {
		if !requested[key(t, base+href)] {
			t.Errorf("%s was not requested; robots.txt allows it", href)
		}
	}
}

// TestCrawlDelayCapped: a Crawl-delay of a day is capped, the host is
// still spaced by the cap, and the stats name the host.
func TestCrawlDelayCapped(t *testing.T) {
	const limit = 500 * time.Millisecond
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	sink := &records{}
	stats, err := runCrawl(t, crawler.Config{
		Resolve:       srv.Resolve(slowHost),
		Rate:          -1,
		MaxCrawlDelay: limit,
		Sink:          sink,
	}, "http://"+slowHost+"/hostile/slow/1")
	if err != nil {
		t.Fatalf("Run: %v (a Crawl-delay of a day was not capped)", err)
	}
	if stats.Fetched != 2 {
		t.Errorf("fetched %d pages, want the 2 of the slow host", stats.Fetched)
	}
	if got, want := stats.CrawlDelayCapped[slowHost], time.Duration(fixtures.HostileCrawlDelay)*time.Second; got != want || stats.CrawlDelayCappedHosts != 1 {
		t.Errorf("capped %v (%d hosts), want %s asking %v", stats.CrawlDelayCapped, stats.CrawlDelayCappedHosts, slowHost, want)
	}
	// robots.txt, the /sitemap.xml probe and both pages, each in its own
	// turn.
	reqs := srv.Requests()
	if len(reqs) != 4 {
		t.Errorf("requests %v, want robots.txt, /sitemap.xml and 2 pages", fixtures.URLs(reqs))
	}
	// The frontier spaces claims; arrivals at the server vary by the time
	// each request takes to go out (a new connection, a loaded machine),
	// so check half the interval: without the cap's spacing the gaps are
	// nothing, without the cap they are a day.
	if err := fixtures.CheckMinGap(reqs, slowHost, limit/2); err != nil {
		t.Error(err)
	}
}

// TestOnePolitenessGate: the robots.txt fetch is the host's request for
// its turn; the page waits for the next turn in the frontier, and the one
// worker serves the other host meanwhile instead of sleeping.
func TestOnePolitenessGate(t *testing.T) {
	const rate = 4.0 // 250ms between requests to a host
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nAllow: /\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<title>page</title>")
	})
	srv := fixtures.NewServer(mux)
	defer srv.Close()
	if _, err := runCrawl(t, crawler.Config{
		Resolve:     srv.Resolve("a.trawl.test", "b.trawl.test"),
		Rate:        rate,
		Concurrency: 1,
	}, "http://a.trawl.test/", "http://b.trawl.test/"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, r.URL())
	}
	want := []string{"http://a.trawl.test/robots.txt", "http://b.trawl.test/robots.txt", "http://a.trawl.test/", "http://b.trawl.test/",
		"http://a.trawl.test/sitemap.xml", "http://b.trawl.test/sitemap.xml"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requests in order:\n  %s\nwant\n  %s\n(the worker must not wait on a host after its robots.txt)", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	interval := time.Duration(float64(time.Second) / rate)
	for _, h := range []string{"a.trawl.test", "b.trawl.test"} {
		// Half the interval: see TestCrawlDelayCapped.
		if err := fixtures.CheckMinGap(srv.Requests(), h, interval/2); err != nil {
			t.Error(err)
		}
	}
}

// TestRedirectHopByHop: a redirect's source and target each get one
// record; a target that fails on every attempt still gets its own.
func TestRedirectHopByHop(t *testing.T) {
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	sink := &records{}
	if _, err := runCrawl(t, crawler.Config{
		Resolve:      srv.Resolve(badHost),
		Rate:         -1,
		IgnoreRobots: true,
		RetryBackoff: 10 * time.Millisecond,
		Sink:         sink,
	}, "http://"+badHost+"/hostile/redirect/reset"); err != nil {
		t.Fatal(err)
	}
	recs := sink.byKey(t)
	src := recs[key(t, "http://"+badHost+"/hostile/redirect/reset")]
	target := "http://" + badHost + "/hostile/reset"
	if src.Status != http.StatusFound || src.Location != target || src.Error != "" {
		t.Errorf("source: got %+v, want a 302 to %s", src, target)
	}
	dst, ok := recs[key(t, target)]
	if !ok || dst.Error == "" || dst.Attempts != 1+crawler.DefaultRetries || dst.Parent != src.URL || dst.Depth != src.Depth {
		t.Errorf("target: got %+v (recorded %v), want an error record after %d attempts, parent the source, same depth",
			dst, ok, 1+crawler.DefaultRetries)
	}
	if len(recs) != 2 {
		t.Errorf("%d records, want 2", len(recs))
	}
}

// TestAddressGuard: links and redirects to loopback hosts the user did not
// name are refused with a record, and never reach the server.
func TestAddressGuard(t *testing.T) {
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	port := srv.Addr()[strings.LastIndexByte(srv.Addr(), ':')+1:]
	blocked := []string{
		"http://localhost:" + port + "/hostile/ok/ssrf-link",
		"http://127.0.0.1:" + port + "/hostile/ok/ssrf-ip",
		"http://localhost:" + port + "/hostile/ok/ssrf-redirect",
	}
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow-private=", allow), func(t *testing.T) {
			srv.Reset()
			sink := &records{}
			if _, err := runCrawl(t, crawler.Config{
				Resolve:      srv.Resolve(badHost),
				Scope:        crawler.ScopeAny,
				MaxDepth:     1,
				Rate:         -1,
				AllowPrivate: allow,
				Sink:         sink,
			}, "http://"+badHost+"/hostile/ssrf/"); err != nil {
				t.Fatal(err)
			}
			recs := sink.byKey(t)
			for _, u := range blocked {
				r, ok := recs[key(t, u)]
				switch {
				case !ok:
					t.Errorf("no record for %s", u)
				case !allow && r.Skipped != crawler.SkipBlockedAddress:
					t.Errorf("%s: got %+v, want skipped %s", u, r, crawler.SkipBlockedAddress)
				case allow && r.Status != http.StatusOK:
					t.Errorf("%s: got %+v, want 200 with AllowPrivate", u, r)
				}
			}
			for _, r := range srv.Requests() {
				if r.Host != badHost && !allow {
					t.Errorf("%s reached the server", r.URL())
				}
			}
		})
	}

	// A seed on a loopback address is named: it is crawled, another name
	// of the same address is not.
	srv.Reset()
	sink := &records{}
	seed := "http://127.0.0.1:" + port + "/hostile/ssrf/"
	if _, err := runCrawl(t, crawler.Config{Scope: crawler.ScopeAny, MaxDepth: 1, Rate: -1, Sink: sink}, seed); err != nil {
		t.Fatal(err)
	}
	recs := sink.byKey(t)
	if r := recs[key(t, seed)]; r.Status != http.StatusOK {
		t.Errorf("seed: got %+v, want 200", r)
	}
	if r := recs[key(t, blocked[0])]; r.Skipped != crawler.SkipBlockedAddress {
		t.Errorf("%s: got %+v, want skipped %s", blocked[0], r, crawler.SkipBlockedAddress)
	}
	if r := recs[key(t, blocked[1])]; r.Status != http.StatusOK {
		t.Errorf("%s (the seed's host): got %+v, want 200", blocked[1], r)
	}
}

// TestBoundedInput: stacked encodings past two, URLs past the length cap
// and links past the per-page cap end in records or counts.
func TestBoundedInput(t *testing.T) {
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	sink := &records{}
	const maxLinks = 50
	stats, err := runCrawl(t, crawler.Config{
		Resolve:      srv.Resolve(badHost),
		Rate:         -1,
		PerHost:      8,
		IgnoreRobots: true,
		MaxLinks:     maxLinks,
		MaxDepth:     1,
		Sink:         sink,
	}, "http://"+badHost+"/hostile/stacked/2", "http://"+badHost+"/hostile/stacked/3",
		"http://"+badHost+"/hostile/longurl", "http://"+badHost+"/hostile/manylinks")
	if err != nil {
		t.Fatal(err)
	}
	recs := sink.byKey(t)
	at := func(path string) store.Record { return recs[key(t, "http://"+badHost+"/hostile/"+path)] }
	if r := at("stacked/2"); r.Status != http.StatusOK || r.Error != "" {
		t.Errorf("stacked/2: got %+v, want 200 (two encodings are decoded)", r)
	}
	if r := at("stacked/3"); !strings.Contains(r.Error, "content encodings") || r.Attempts != 1 {
		t.Errorf("stacked/3: got %+v, want an error about too many content encodings, not retried", r)
	}
	long := 0
	for _, r := range recs {
		if len(r.URL) > crawler.DefaultMaxURLLength {
			long++
			if r.Skipped != crawler.SkipURLTooLong {
				t.Errorf("%.60s...: got %+v, want skipped %s", r.URL, r, crawler.SkipURLTooLong)
			}
		}
	}
	if long != 1 {
		t.Errorf("%d records of over-long URLs, want 1", long)
	}
	if r := at("ok/after-longurl"); r.Status != http.StatusOK {
		t.Errorf("ok/after-longurl: got %+v, want 200", r)
	}
	if stats.LinksDropped != 20000-maxLinks {
		t.Errorf("%d links dropped, want %d", stats.LinksDropped, 20000-maxLinks)
	}
	// The 4 seeds, stacked/2's link, longurl's 2, manylinks' first 50,
	// and the index the ok pages link back to, too deep.
	if n, want := len(recs), 4+1+2+maxLinks+1; n != want {
		t.Errorf("%d records, want %d: the links past MaxLinks were followed", n, want)
	}
}

// TestMaxTime: a crawl stopped by MaxTime ends without error, says why,
// and a resumed crawl finishes with one record per page.
func TestMaxTime(t *testing.T) {
	site := fixtures.Synthetic{Pages: 200, Links: 4, Size: 500, Hosts: 2, Seed: 3, Latency: 10 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	cfg := crawler.Config{Resolve: srv.Resolve(site.HostNames()...), Rate: -1, Concurrency: 2, Scope: crawler.ScopeDomain, MaxTime: 300 * time.Millisecond}
	first, err := stateCrawl(t, cfg, state, out, 0, site.Root())
	if err != nil || first.Stopped != crawler.StopMaxTime {
		t.Fatalf("first run: %v, stopped %q; want nil and %q", err, first.Stopped, crawler.StopMaxTime)
	}
	if first.Fetched == 0 || first.Fetched >= int64(site.Pages) {
		t.Fatalf("first run fetched %d pages, want some of %d", first.Fetched, site.Pages)
	}
	cfg.MaxTime = 0
	second, err := stateCrawl(t, cfg, state, out, 0, site.Root())
	if err != nil || second.Stopped != "" {
		t.Fatalf("second run: %v, stopped %q", err, second.Stopped)
	}
	seen := recordsByURL(t, out)
	for i := range site.Pages {
		if n := seen[site.URL(i)]; n != 1 {
			t.Errorf("%s has %d records, want 1", site.URL(i), n)
		}
	}
}

// TestSeedRedirectResume: the scope a seed's redirect added is part of the
// saved state, so a resumed crawl, whose seed is done, still follows it.
func TestSeedRedirectResume(t *testing.T) {
	site := fixtures.Synthetic{Pages: 200, Links: 4, Size: 500, Hosts: 2, Seed: 9, Latency: 10 * time.Millisecond, Alias: "old.example.test"}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	cfg := crawler.Config{
		Resolve:     srv.Resolve(append(site.HostNames(), site.Alias)...),
		Rate:        -1,
		Concurrency: 2,
		Scope:       crawler.ScopeDomain, // old.example.test; its redirect brings bench.test
	}
	first, err := stateCrawl(t, cfg, state, out, 30, site.AliasRoot())
	if !errors.Is(err, context.Canceled) || first.Fetched < 2 {
		t.Fatalf("first run: %v after %d fetched, want cancelled after the seed and its redirect", err, first.Fetched)
	}
	if _, err := stateCrawl(t, cfg, state, out, 0, site.AliasRoot()); err != nil {
		t.Fatal(err)
	}
	seen := recordsByURL(t, out)
	for i := range site.Pages {
		if n := seen[site.URL(i)]; n != 1 {
			t.Errorf("%s has %d records, want 1", site.URL(i), n)
		}
	}
	if n := seen[site.AliasRoot()]; n != 1 {
		t.Errorf("the seed %s has %d records, want 1", site.AliasRoot(), n)
	}
}

// TestOverwrite: a new crawl state does not silently cut an output that
// holds data.
func TestOverwrite(t *testing.T) {
	site := fixtures.Synthetic{Pages: 5, Links: 2, Hosts: 1}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	if err := writeFile(out, "precious\n"); err != nil {
		t.Fatal(err)
	}
	cfg := crawler.Config{Resolve: srv.Resolve(site.HostNames()...), Rate: -1}
	if _, err := stateCrawl(t, cfg, filepath.Join(dir, "state"), out, 0, site.Root()); !errors.Is(err, crawler.ErrOutputNotEmpty) {
		t.Fatalf("new state on a non-empty output: %v, want ErrOutputNotEmpty", err)
	}
	if got := readFile(t, out); got != "precious\n" {
		t.Fatalf("output now %q, want it untouched", got)
	}
	cfg.Overwrite = true
	if _, err := stateCrawl(t, cfg, filepath.Join(dir, "state"), out, 0, site.Root()); err != nil {
		t.Fatal(err)
	}
	if n := len(recordsByURL(t, out)); n != site.Pages {
		t.Errorf("%d URLs in the output, want %d", n, site.Pages)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
