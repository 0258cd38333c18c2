package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/parse"
	"trawl/store"
)

// records is a Sink that keeps every record, for assertions.
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

func (s *records) all() []store.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// byKey indexes records by normalized URL and fails on a second record for
// the same URL.
func (s *records) byKey(t *testing.T) map[string]store.Record {
	t.Helper()
	m := map[string]store.Record{}
	for _, r := range s.all() {
		k, _, err := parse.NormalizeString(r.URL)
		if err != nil {
			t.Fatalf("record with bad url %q: %v", r.URL, err)
		}
		if prev, dup := m[k]; dup {
			t.Errorf("two records for %s:\n  %+v\n  %+v", k, prev, r)
		}
		m[k] = r
	}
	return m
}

func key(t *testing.T, raw string) string {
	t.Helper()
	k, _, err := parse.NormalizeString(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func runCrawl(t *testing.T, cfg crawler.Config, seeds ...string) (crawler.Stats, error) {
	t.Helper()
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return c.Run(ctx, seeds...)
}

// TestBasicSite crawls the embedded site politely and checks every
// promise: all reachable pages fetched once, nothing robots forbids or
// only nofollow links reach requested, one record per URL, charsets right.
func TestBasicSite(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer srv.Close()
	sink := &records{}
	stats, err := runCrawl(t, crawler.Config{
		Resolve: srv.Resolve(fixtures.WWW, fixtures.Blog),
		Rate:    50,
		Scope:   crawler.ScopeDomain, // www. and blog.trawl.test
		Sink:    sink,
	}, "http://"+fixtures.WWW+"/")
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	reqs := srv.Requests()
	exp := fixtures.BasicExpect

	if err := fixtures.CheckNoDuplicates(reqs); err != nil {
		t.Error(err)
	}
	requested := map[string]bool{}
	for _, r := range reqs {
		requested[key(t, r.URL())] = true
	}
	for _, u := range exp.Disallowed {
		if requested[key(t, u)] {
			t.Errorf("robots.txt disallows %s, but it was requested", u)
		}
	}
	for _, u := range exp.NoFollowOnly {
		if requested[key(t, u)] {
			t.Errorf("%s is linked only with nofollow, but it was requested", u)
		}
	}

	recs := sink.byKey(t)
	for _, u := range exp.Fetched {
		switch r, ok := recs[key(t, u)]; {
		case !ok:
			t.Errorf("no record for %s", u)
		case r.Status == 0 || r.Skipped != "" || r.Error != "":
			t.Errorf("%s: got %+v, want a fetched record", u, r)
		}
	}
	for _, u := range exp.NotFound {
		if r := recs[key(t, u)]; r.Status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", u, r.Status)
		}
	}
	// Redirects are recorded hop by hop: the source with its 3xx and
	// Location, the target with a record of its own (checked above).
	for from, to := range exp.Redirects {
		r := recs[key(t, from)]
		if r.Status < 300 || r.Status > 399 || r.Location == "" || key(t, r.Location) != key(t, to) {
			t.Errorf("%s: got status %d, location %q; want a 3xx to %s", from, r.Status, r.Location, to)
		}
		if r.FinalURL != "" {
			t.Errorf("%s: final_url %q, want none (the crawler follows redirects hop by hop)", from, r.FinalURL)
		}
	}
	for _, u := range exp.Disallowed {
		if r, ok := recs[key(t, u)]; ok && r.Skipped != crawler.SkipRobots {
			t.Errorf("%s: got %+v, want skipped robots", u, r)
		}
	}
	if got := recs[key(t, exp.GBKURL)].Title; got != exp.GBKTitle {
		t.Errorf("GBK page title %q, want %q", got, exp.GBKTitle)
	}
	if got := recs[key(t, exp.SJISURL)].Title; got != exp.SJISTitle {
		t.Errorf("Shift_JIS page title %q, want %q", got, exp.SJISTitle)
	}
	if stats.Records() != int64(len(sink.all())) {
		t.Errorf("stats count %d records, sink got %d", stats.Records(), len(sink.all()))
	}
	if stats.OutOfScope == 0 {
		t.Error("stats counted no out-of-scope links; the site links to " + fixtures.Offsite)
	}
	if stats.Queued != 0 || stats.InFlight != 0 {
		t.Errorf("crawl ended with %d queued, %d in flight", stats.Queued, stats.InFlight)
	}
}

// TestPoliteness checks the per-host limits as the server saw them.
func TestPoliteness(t *testing.T) {
	site := fixtures.Synthetic{Pages: 60, Links: 6, Size: 2000, Hosts: 2, Seed: 1, Latency: 5 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	const rate = 25.0
	sink := &records{}
	_, err := runCrawl(t, crawler.Config{
		Resolve:     srv.Resolve(site.HostNames()...),
		Concurrency: 16,
		PerHost:     2,
		Rate:        rate,
		Scope:       crawler.ScopeDomain,
		Sink:        sink,
	}, site.Root())
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if err := fixtures.CheckNoDuplicates(reqs); err != nil {
		t.Error(err)
	}
	interval := time.Duration(float64(time.Second) / rate)
	for _, h := range site.HostNames() {
		if got := srv.MaxInFlight(h); got > 2 {
			t.Errorf("host %s had %d requests in flight, want at most 2", h, got)
		}
		// The limiter spaces request starts in the client; the server sees
		// arrivals, each late by a delivery delay (a new connection's dial,
		// a busy machine) of up to about one interval, which can squeeze a
		// single gap to nothing. So check spans of four or more requests,
		// less one interval and a margin: a rate 50% over the limit fails.
		var at []time.Time
		for _, r := range reqs {
			if r.Host == h {
				at = append(at, r.Time)
			}
		}
		slack := interval + 25*time.Millisecond
	spans:
		for i := range at {
			for j := i + 4; j < len(at); j++ {
				if span, want := at[j].Sub(at[i]), time.Duration(j-i)*interval-slack; span < want {
					t.Errorf("host %s: requests %d..%d arrived within %v, want at least %v at %v/s", h, i, j, span, want, rate)
					break spans
				}
			}
		}
	}
	if n := len(sink.byKey(t)); n < site.Pages {
		t.Errorf("%d records, want at least the %d pages", n, site.Pages)
	}
}

// TestSlowHostDoesNotStall: one host limited to one request a second by
// robots.txt Crawl-delay must not slow the other one down.
func TestSlowHostDoesNotStall(t *testing.T) {
	const fastPages, slowPages = 40, 3
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		host := fixtures.Hostname(r.Host)
		if r.URL.Path == "/robots.txt" {
			if host == "slow.trawl.test" {
				fmt.Fprint(w, "User-agent: *\nCrawl-delay: 1\n")
				return
			}
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>")
		if r.URL.Path == "/" && host == "fast.trawl.test" {
			fmt.Fprint(w, `<a href="http://slow.trawl.test/">slow</a>`)
			for i := range fastPages {
				fmt.Fprintf(w, `<a href="/p%d">p</a>`, i)
			}
		}
		if r.URL.Path == "/" && host == "slow.trawl.test" {
			for i := range slowPages - 1 {
				fmt.Fprintf(w, `<a href="/s%d">s</a>`, i)
			}
		}
		fmt.Fprint(w, "</body></html>")
	})
	srv := fixtures.NewServer(mux)
	defer srv.Close()

	sink := &records{}
	if _, err := runCrawl(t, crawler.Config{
		Resolve: srv.Resolve("fast.trawl.test", "slow.trawl.test"),
		Rate:    -1,
		PerHost: 4,
		Scope:   crawler.ScopeDomain,
		Sink:    sink,
	}, "http://fast.trawl.test/"); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.byKey(t)); n != 1+fastPages+slowPages {
		t.Errorf("%d records, want %d", n, 1+fastPages+slowPages)
	}
	var slow []time.Time
	var lastFast time.Time
	for _, r := range srv.Requests() {
		switch {
		case r.Path == "/robots.txt", r.Path == "/sitemap.xml":
		case r.Host == "slow.trawl.test":
			slow = append(slow, r.Time)
		default:
			lastFast = r.Time
		}
	}
	if len(slow) != slowPages {
		t.Fatalf("slow host served %d pages, want %d", len(slow), slowPages)
	}
	// The slow host is spaced by its Crawl-delay. The frontier spaces
	// claims; arrivals at the server vary by the time each request takes
	// to go out (a new connection, a loaded machine), so check the span
	// of all of them, less a margin.
	if span := slow[len(slow)-1].Sub(slow[0]); span < time.Duration(len(slow)-1)*time.Second-300*time.Millisecond {
		t.Errorf("slow host's %d requests within %v, want them spaced by its 1s Crawl-delay", len(slow), span)
	}
	// ... while the fast host, unlimited, is done before the slow host's
	// second page is even due.
	if !lastFast.Before(slow[1]) {
		t.Errorf("fast host's last request at +%v, after the slow host's second at +%v: the slow host held it back",
			lastFast.Sub(slow[0]), slow[1].Sub(slow[0]))
	}
}

// TestCancelHanging: with 100 requests hanging on a server that never
// answers, cancelling ctx makes Run return promptly, and no goroutine
// outlives it.
func TestCancelHanging(t *testing.T) {
	defer goleak.VerifyNone(t)
	const hanging = 100
	var arrived atomic.Int64
	all := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for i := range hanging {
			fmt.Fprintf(w, `<a href="/hang/%d">h</a>`, i)
		}
	})
	mux.HandleFunc("/hang/", func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == hanging {
			close(all)
		}
		<-r.Context().Done()
	})
	srv := fixtures.NewServer(mux)
	defer srv.Close()

	c, err := crawler.New(crawler.Config{
		Resolve:      srv.Resolve("hang.trawl.test"),
		Concurrency:  hanging,
		PerHost:      hanging,
		Rate:         -1,
		IgnoreRobots: true,
		Timeout:      time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		err error
		at  time.Time
	}
	res := make(chan result, 1)
	go func() {
		_, err := c.Run(ctx, "http://hang.trawl.test/")
		res <- result{err, time.Now()}
	}()
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatalf("only %d of %d requests arrived", arrived.Load(), hanging)
	}
	cancelled := time.Now()
	cancel()
	select {
	case r := <-res:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Run: %v, want context.Canceled", r.err)
		}
		t.Logf("Run returned %v after cancel with %d requests hanging", r.at.Sub(cancelled), hanging)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of cancel (the fetch timeout is 1 minute)")
	}
	srv.Close()
}

// TestHostile crawls every hostile behaviour: each ends in one clear
// record, and memory stays bounded.
func TestHostile(t *testing.T) {
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	const maxBody = 1 << 20
	sink := &records{}

	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	stats, err := runCrawl(t, crawler.Config{
		Resolve:      srv.Resolve("bad.trawl.test"),
		Rate:         -1,
		PerHost:      8,
		Timeout:      time.Second,
		MaxBody:      maxBody,
		RetryBackoff: 10 * time.Millisecond,
		MaxRetryWait: 2 * time.Second, // 429/3600 pauses the host this long
		MaxLinks:     100,             // of manylinks' 20,000
		Sink:         sink,
	}, "http://bad.trawl.test/hostile/index.html")
	close(stop)
	sampler.Wait()
	if err != nil {
		t.Fatal(err)
	}
	recs := sink.byKey(t)
	get := func(path string) store.Record {
		t.Helper()
		r, ok := recs[key(t, "http://bad.trawl.test"+path)]
		if !ok {
			t.Errorf("no record for %s", path)
		}
		return r
	}
	tests := []struct {
		path  string
		check func(store.Record) bool
		want  string
	}{
		{"/hostile/drip", func(r store.Record) bool { return r.Error != "" }, "an error (timeout)"},
		{"/hostile/never", func(r store.Record) bool {
			return strings.Contains(r.Error, "deadline") || strings.Contains(r.Error, "timeout")
		}, "a timeout error"},
		{"/hostile/loop/a", func(r store.Record) bool { return r.Status == 302 && strings.HasSuffix(r.Location, "/hostile/loop/b") }, "302 to loop/b"},
		{"/hostile/loop/b", func(r store.Record) bool { return r.Status == 302 && strings.HasSuffix(r.Location, "/hostile/loop/a") }, "302 to loop/a (already seen: the loop ends)"},
		{"/hostile/chain/0", func(r store.Record) bool { return r.Status == 302 && r.Error == "" }, "302, followed"},
		{"/hostile/chain/10", func(r store.Record) bool {
			return r.Status == 302 && strings.Contains(r.Error, "too many redirects")
		}, "302 with a too-many-redirects error (10 followed)"},
		{"/hostile/huge", func(r store.Record) bool { return r.Truncated && r.Bytes == maxBody }, "truncated at max body"},
		{"/hostile/bomb", func(r store.Record) bool { return r.Truncated && r.Bytes == maxBody }, "truncated at max body"},
		{"/hostile/reset", func(r store.Record) bool { return r.Error != "" && r.Attempts == 3 }, "an error after 3 attempts"},
		{"/hostile/429/1", func(r store.Record) bool { return r.Status == 200 && r.Attempts == 2 }, "200 on the second attempt"},
		{"/hostile/flap/2", func(r store.Record) bool { return r.Status == 200 && r.Attempts == 3 }, "200 on the third attempt"},
		{"/hostile/broken", func(r store.Record) bool { return r.Status == 200 && r.Links >= 2 }, "200 with its links"},
		{"/hostile/binary", func(r store.Record) bool { return r.Status == 200 && r.Links == 0 }, "200, not parsed"},
		{"/hostile/429/3600", func(r store.Record) bool { return r.Status == 429 && r.Attempts == 1 && r.Error != "" }, "429 recorded, not waited for"},
		{"/hostile/reset", func(r store.Record) bool { return r.Error != "" }, "an error"},
		{"/hostile/redirect/reset", func(r store.Record) bool { return r.Status == 302 }, "302 (its target has its own record)"},
		{"/hostile/stacked/3", func(r store.Record) bool { return r.Error != "" && r.Attempts == 1 }, "an error, not retried"},
	}
	for _, tc := range tests {
		if r := get(tc.path); !tc.check(r) {
			t.Errorf("%s: got %+v, want %s", tc.path, r, tc.want)
		}
	}
	// Two 1 MiB bodies per worker would be far less than this; an
	// unbounded read of the endless bodies would be far more.
	if p := peak.Load(); p > 64<<20 {
		t.Errorf("heap in use peaked at %d MiB, want under 64 MiB", p>>20)
	}
	t.Logf("hostile crawl: %d records, %d retries, heap peak %d MiB", stats.Records(), stats.Retries, peak.Load()>>20)
}

// TestRetryAfter: a 429's Retry-After holds back the next request.
func TestRetryAfter(t *testing.T) {
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	sink := &records{}
	_, err := runCrawl(t, crawler.Config{
		Resolve:      srv.Resolve("bad.trawl.test"),
		Rate:         -1,
		IgnoreRobots: true,
		RetryBackoff: time.Millisecond,
		Sink:         sink,
	}, "http://bad.trawl.test/hostile/429/1", "http://bad.trawl.test/hostile/429date/2")
	if err != nil {
		t.Fatal(err)
	}
	at := map[string][]time.Time{}
	for _, r := range srv.Requests() {
		at[r.Path] = append(at[r.Path], r.Time)
	}
	for path, want := range map[string]time.Duration{"/hostile/429/1": time.Second, "/hostile/429date/2": time.Second} {
		ts := at[path]
		if len(ts) != 2 {
			t.Errorf("%s requested %d times, want 2", path, len(ts))
			continue
		}
		// An HTTP date has one-second resolution, so "2 s" may be 1 s.
		if gap := ts[1].Sub(ts[0]); gap < want-50*time.Millisecond {
			t.Errorf("%s retried after %v, want at least %v (Retry-After)", path, gap, want)
		}
	}
	for _, r := range sink.all() {
		if r.Status != 200 {
			t.Errorf("%s: status %d, want 200 after the retry", r.URL, r.Status)
		}
	}
}

// TestLimits checks depth, page budget and filters.
func TestLimits(t *testing.T) {
	site := fixtures.Synthetic{Pages: 300, Links: 5, Size: 500, Hosts: 1, Seed: 7}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	base := crawler.Config{Resolve: srv.Resolve(site.HostNames()...), Rate: -1, PerHost: 8}

	tests := []struct {
		name  string
		edit  func(*crawler.Config)
		check func(t *testing.T, recs []store.Record)
	}{
		{"max pages", func(c *crawler.Config) { c.MaxPages = 25 }, func(t *testing.T, recs []store.Record) {
			fetched, budget := 0, 0
			for _, r := range recs {
				if r.Status != 0 {
					fetched++
				}
				if r.Skipped == crawler.SkipMaxPages {
					budget++
				}
			}
			if fetched > 25 || fetched < 20 {
				t.Errorf("fetched %d pages, want 20..25 (robots and errors use budget too)", fetched)
			}
			if budget == 0 {
				t.Error("no max-pages records")
			}
		}},
		{"seeds only", func(c *crawler.Config) { c.MaxDepth = -1 }, func(t *testing.T, recs []store.Record) {
			for _, r := range recs {
				if r.Depth == 0 && r.Status != 200 {
					t.Errorf("seed: %+v", r)
				}
				if r.Depth > 0 && r.Skipped != crawler.SkipDepth {
					t.Errorf("depth %d record %+v, want skipped depth", r.Depth, r)
				}
			}
		}},
		{"depth 2", func(c *crawler.Config) { c.MaxDepth = 2 }, func(t *testing.T, recs []store.Record) {
			for _, r := range recs {
				if r.Depth > 3 || (r.Depth == 3 && r.Skipped != crawler.SkipDepth) || (r.Depth <= 2 && r.Skipped == crawler.SkipDepth) {
					t.Errorf("record %+v breaks depth 2", r)
				}
			}
		}},
		{"exclude", func(c *crawler.Config) { c.Exclude = []*regexp.Regexp{regexp.MustCompile(`/p/\d*7$`)} }, func(t *testing.T, recs []store.Record) {
			excluded := 0
			for _, r := range recs {
				if strings.HasSuffix(r.URL, "7") {
					excluded++
					if r.Skipped != crawler.SkipExcluded {
						t.Errorf("%s: %+v, want skipped excluded", r.URL, r)
					}
				}
			}
			if excluded == 0 {
				t.Error("nothing excluded")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &records{}
			cfg := base
			cfg.Sink = sink
			tc.edit(&cfg)
			if _, err := runCrawl(t, cfg, site.Root()); err != nil {
				t.Fatal(err)
			}
			sink.byKey(t) // one record per URL
			tc.check(t, sink.all())
		})
	}
}

// TestOnPage: the hook sees the document, attaches data, vetoes and adds
// links.
func TestOnPage(t *testing.T) {
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer srv.Close()
	sink := &records{}
	_, err := runCrawl(t, crawler.Config{
		Resolve:  srv.Resolve(fixtures.WWW, fixtures.Blog),
		Rate:     -1,
		MaxDepth: 1,
		Sink:     sink,
		OnPage: func(_ context.Context, p *crawler.Page) error {
			p.Data = map[string]int{"paragraphs": p.HTML.Document().Find("p").Length()}
			p.Links = slices.DeleteFunc(p.Links, func(l parse.Link) bool { return p.Depth == 0 && l.Host == fixtures.Blog })
			if p.Depth == 0 {
				return p.AddLink("/added-by-hook.html")
			}
			return nil
		},
	}, "http://"+fixtures.WWW+"/")
	if err != nil {
		t.Fatal(err)
	}
	recs := sink.byKey(t)
	seed := recs[key(t, "http://"+fixtures.WWW+"/")]
	if seed.Data == nil {
		t.Error("seed record has no data from the hook")
	}
	if _, ok := recs[key(t, "http://"+fixtures.WWW+"/added-by-hook.html")]; !ok {
		t.Error("link added by the hook was not followed")
	}
	for k, r := range recs {
		if r.Depth == 1 && strings.Contains(k, fixtures.Blog) {
			t.Errorf("hook vetoed blog links at depth 1, got %s", k)
		}
	}
}

func TestSinkErrorStops(t *testing.T) {
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer srv.Close()
	boom := errors.New("disk full")
	_, err := runCrawl(t, crawler.Config{
		Resolve: srv.Resolve(fixtures.WWW, fixtures.Blog),
		Rate:    -1,
		Sink:    crawler.SinkFunc(func(context.Context, store.Record) error { return boom }),
	}, "http://"+fixtures.WWW+"/")
	if !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want the sink's error", err)
	}
}

func TestBadSeeds(t *testing.T) {
	c, err := crawler.New(crawler.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "ftp://x.test/", "mailto:a@b.test", "http://", "://x"} {
		if _, err := c.Run(context.Background(), s); err == nil {
			t.Errorf("Run(%q): no error", s)
		}
	}
	if _, err := c.Run(context.Background()); err == nil {
		t.Error("Run with no seeds: no error")
	}
	if _, err := crawler.New(crawler.Config{Concurrency: -1}); err == nil {
		t.Error("New with negative concurrency: no error")
	}
}
