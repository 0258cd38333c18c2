package crawler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
	"trawl/store/disk"
)

// trapSite serves an endless calendar on trap.test (each page links the
// next two) that also links three pages of calm.test.
func trapSite(t *testing.T) (*httptest.Server, map[string]string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		if strings.HasPrefix(r.Host, "calm.test") {
			fmt.Fprint(w, `<title>calm</title>`)
			return
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/day/"))
		fmt.Fprintf(w, `<a href="/day/%d">next</a> <a href="/day/%d">after</a> <a href="http://calm.test/%d">calm</a>`, n+1, n+2, n%3)
	}))
	addr := strings.TrimPrefix(srv.URL, "http://")
	return srv, map[string]string{"trap.test:80": addr, "calm.test:80": addr}
}

// TestMaxPerHost: a spider trap on one host stops at the host's budget,
// past which each new URL of the host is recorded once as skipped
// "budget", while other hosts are unaffected; a resumed crawl keeps the
// budget spent by the run before.
func TestMaxPerHost(t *testing.T) {
	srv, resolve := trapSite(t)
	defer srv.Close()
	var recs records
	stats, err := runCrawl(t, crawler.Config{Rate: -1, Resolve: resolve, Scope: crawler.ScopeAny, MaxPerHost: 10, NoSitemaps: true, Sink: &recs},
		"http://trap.test/day/0")
	if err != nil {
		t.Fatal(err)
	}
	fetched := map[string]int{}
	budget := 0
	for _, r := range recs.all() {
		host := strings.SplitN(strings.TrimPrefix(r.URL, "http://"), "/", 2)[0]
		switch {
		case r.Skipped == crawler.SkipBudget:
			budget++
			if host != "trap.test" {
				t.Errorf("%s skipped budget, but its host is under budget", r.URL)
			}
		case r.Status != 0:
			fetched[host]++
		}
	}
	recs.byKey(t) // one record per URL
	if fetched["trap.test"] != 10 || fetched["calm.test"] != 3 {
		t.Errorf("fetched %v, want trap.test 10 (its budget) and calm.test 3", fetched)
	}
	if budget < 1 || budget > 3 || stats.Skipped[crawler.SkipBudget] != int64(budget) {
		t.Errorf("%d budget records (stats %d), want the one or two links past the budget", budget, stats.Skipped[crawler.SkipBudget])
	}

	// Across a stop and a resume, the budget is the crawl's, not the run's.
	dir := t.TempDir()
	out, err := store.OpenFile(filepath.Join(dir, "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var pages atomic.Int32
	cfg := crawler.Config{Rate: -1, Resolve: resolve, Scope: crawler.ScopeAny, MaxPerHost: 10, NoSitemaps: true, Concurrency: 1,
		Sink: store.NewJSONL(out),
		NewFrontier: func(o store.FrontierOptions) (crawler.Frontier, error) {
			return disk.Open(filepath.Join(dir, "state"), disk.Options{FrontierOptions: o})
		},
		OnPage: func(context.Context, *crawler.Page) error {
			if pages.Add(1) == 4 {
				return crawler.ErrStop
			}
			return nil
		}}
	first, err := runCrawl(t, cfg, "http://trap.test/day/0")
	if err != nil || first.Stopped != crawler.StopRequested {
		t.Fatalf("first run: %v, stopped %q", err, first.Stopped)
	}
	cfg.OnPage = nil
	second, err := runCrawl(t, cfg, "http://trap.test/day/0")
	if err != nil {
		t.Fatal(err)
	}
	if total := first.Fetched + second.Fetched; total != 13 {
		t.Errorf("fetched %d + %d over two runs, want 13 (10 of trap.test, 3 of calm.test)", first.Fetched, second.Fetched)
	}
}

// TestMaxPerHostHostile: the hostile fixture's page of 20,000 links is a
// spider trap of breadth; with a budget of 50 its host gets 50 requests,
// and every other link is recorded once as skipped budget.
func TestMaxPerHostHostile(t *testing.T) {
	const host = "trap.hostile.test"
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	var recs records
	stats, err := runCrawl(t, crawler.Config{Resolve: srv.Resolve(host), Rate: -1, IgnoreRobots: true, NoSitemaps: true,
		MaxLinks: -1, MaxPerHost: 50, Sink: &recs}, "http://"+host+"/hostile/manylinks")
	if err != nil {
		t.Fatal(err)
	}
	if stats.Fetched+stats.Errors != 50 {
		t.Errorf("%d URLs requested, want the budget of 50", stats.Fetched+stats.Errors)
	}
	if n := stats.Skipped[crawler.SkipBudget]; n < 19_000 {
		t.Errorf("%d budget records, want the trap's ~20,000 links past the budget", n)
	}
	requested := 0
	for _, r := range srv.Requests() {
		if r.Host == host {
			requested++
		}
	}
	if requested != 50 {
		t.Errorf("the server saw %d requests, want 50", requested)
	}
	recs.byKey(t)
}
