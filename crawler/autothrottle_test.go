package crawler_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fixtures"
)

// phasedSite serves a seed page linking n pages on host; the i-th page
// request (from 1) waits latency(i) and answers status(i).
func phasedSite(n int, latency func(i int) time.Duration, status func(i int) int, robots string) *fixtures.Server {
	var count atomic.Int32
	return fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/robots.txt":
			if robots == "" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprint(w, robots)
		case r.URL.Path == "/":
			w.Header().Set("Content-Type", "text/html")
			for i := range n {
				fmt.Fprintf(w, `<a href="/p/%d">%d</a> `, i, i)
			}
		default:
			i := int(count.Add(1))
			time.Sleep(latency(i))
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(status(i))
			fmt.Fprint(w, "page")
		}
	}))
}

// pageGaps returns the gaps between the arrivals of the page requests
// (not the seed, not robots.txt), in order.
func pageGaps(srv *fixtures.Server) []time.Duration {
	var at []time.Time
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r.Path, "/p/") {
			at = append(at, r.Time)
		}
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	gaps := make([]time.Duration, 0, len(at))
	for i := 1; i < len(at); i++ {
		gaps = append(gaps, at[i].Sub(at[i-1]))
	}
	return gaps
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// TestAutoThrottleSlowHost: a host that answers in 100 ms for its first
// 12 pages, then in 2 ms. With the throttle its request rate drops while
// it is slow (a gap near its latency, where 4 connections would give a
// quarter of it) and comes back once it is fast again.
func TestAutoThrottleSlowHost(t *testing.T) {
	const host = "phase.test"
	slow := func(i int) time.Duration {
		if i <= 12 {
			return 100 * time.Millisecond
		}
		return 2 * time.Millisecond
	}
	ok := func(int) int { return 200 }
	run := func(auto bool) []time.Duration {
		srv := phasedSite(40, slow, ok, "")
		defer srv.Close()
		var recs records
		_, err := runCrawl(t, crawler.Config{Resolve: srv.Resolve(host), Rate: -1, PerHost: 4, IgnoreRobots: true, NoSitemaps: true,
			AutoThrottle: auto, Sink: &recs}, "http://"+host+"/")
		if err != nil {
			t.Fatal(err)
		}
		if n := len(recs.all()); n != 41 {
			t.Fatalf("%d records, want 41", n)
		}
		return pageGaps(srv)
	}
	without, with := run(false), run(true)
	// Requests 5 to 12 are answered slowly and come after the first
	// answers, which the throttle learns from; the last 15 are fast.
	slowOff, slowOn := mean(without[4:11]), mean(with[4:11])
	fastOn := mean(with[len(with)-15:])
	t.Logf("mean gap while slow: %v without the throttle, %v with it; when fast again: %v", slowOff, slowOn, fastOn)
	if slowOn < 50*time.Millisecond || slowOn < 2*slowOff {
		t.Errorf("while slow the throttle spaced requests by %v (without it %v), want about the latency, 100ms", slowOn, slowOff)
	}
	if fastOn > 25*time.Millisecond {
		t.Errorf("once fast again the gap is still %v, want it back near the latency, 2ms", fastOn)
	}
}

// TestAutoThrottleFailures: a host that fails its first 6 pages with 500,
// then recovers. The throttle doubles its spacing while it fails (up to
// AutoThrottleMax) and brings it back once it answers.
func TestAutoThrottleFailures(t *testing.T) {
	const host = "failing.test"
	srv := phasedSite(30, func(int) time.Duration { return time.Millisecond }, func(i int) int {
		if i <= 6 {
			return 500
		}
		return 200
	}, "")
	defer srv.Close()
	var recs records
	stats, err := runCrawl(t, crawler.Config{Resolve: srv.Resolve(host), Rate: -1, PerHost: 1, Retries: -1, IgnoreRobots: true, NoSitemaps: true,
		AutoThrottle: true, AutoThrottleMax: 400 * time.Millisecond, Sink: &recs}, "http://"+host+"/")
	if err != nil {
		t.Fatal(err)
	}
	gaps := pageGaps(srv)
	failing, recovered := mean(gaps[1:6]), mean(gaps[len(gaps)-10:])
	t.Logf("mean gap while failing %v, after recovery %v; status %v", failing, recovered, stats.Status)
	if failing < 200*time.Millisecond {
		t.Errorf("while the host failed, requests were %v apart, want at least 250ms, doubling up to 400ms", failing)
	}
	for _, g := range gaps {
		if g > 450*time.Millisecond {
			t.Errorf("a gap of %v, past AutoThrottleMax 400ms", g)
		}
	}
	if recovered > 30*time.Millisecond {
		t.Errorf("after the host recovered requests were still %v apart", recovered)
	}
}

// TestAutoThrottleFloor: a fast host is never spaced less than Rate and
// its Crawl-delay ask, with the throttle on; Stats names a slowed host.
func TestAutoThrottleFloor(t *testing.T) {
	const host = "floor.test"
	srv := phasedSite(8, func(int) time.Duration { return time.Millisecond }, func(int) int { return 200 }, "User-agent: *\nCrawl-delay: 0.2\n")
	defer srv.Close()
	var recs records
	if _, err := runCrawl(t, crawler.Config{Resolve: srv.Resolve(host), Rate: 20, PerHost: 4, NoSitemaps: true,
		AutoThrottle: true, Sink: &recs}, "http://"+host+"/"); err != nil {
		t.Fatal(err)
	}
	for i, g := range pageGaps(srv) {
		if g < 190*time.Millisecond {
			t.Errorf("gap %d is %v: faster than the 200ms Crawl-delay", i, g)
		}
	}

	slow := phasedSite(6, func(int) time.Duration { return 300 * time.Millisecond }, func(int) int { return 200 }, "")
	defer slow.Close()
	c, err := crawler.New(crawler.Config{Resolve: slow.Resolve("slow.test"), Rate: -1, IgnoreRobots: true, NoSitemaps: true, AutoThrottle: true})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := c.Run(t.Context(), "http://slow.test/")
	if err != nil {
		t.Fatal(err)
	}
	if stats.AutoThrottledHosts != 1 || len(stats.AutoThrottled) != 1 || stats.AutoThrottled[0].Host != "slow.test" || stats.AutoThrottled[0].Delay < 100*time.Millisecond {
		t.Errorf("Stats.AutoThrottled %v (%d hosts), want slow.test spaced by about its 300ms latency", stats.AutoThrottled, stats.AutoThrottledHosts)
	}
}

// TestAutoThrottleLoad: a host that slows down under load (each request
// takes 20 ms per request in flight). Without the throttle the crawl
// keeps the 4 connections PerHost allows busy; with it (target 1) the
// host sees about one request at a time once the throttle has learned
// its latency.
func TestAutoThrottleLoad(t *testing.T) {
	const host = "loaded.test"
	run := func(auto bool) float64 {
		var inflight atomic.Int32
		var mu sync.Mutex
		var seen []int32 // requests in flight at each page request's arrival, itself included
		srv := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" {
				w.Header().Set("Content-Type", "text/html")
				for i := range 30 {
					fmt.Fprintf(w, `<a href="/p/%d">%d</a> `, i, i)
				}
				return
			}
			n := inflight.Add(1)
			defer inflight.Add(-1)
			mu.Lock()
			seen = append(seen, n)
			mu.Unlock()
			time.Sleep(time.Duration(n) * 20 * time.Millisecond)
			fmt.Fprint(w, "page")
		}))
		defer srv.Close()
		if _, err := runCrawl(t, crawler.Config{Resolve: srv.Resolve(host), Rate: -1, PerHost: 4, IgnoreRobots: true, NoSitemaps: true,
			AutoThrottle: auto}, "http://"+host+"/"); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		var sum int32
		late := seen[10:] // after the throttle has seen a few answers
		for _, n := range late {
			sum += n
		}
		return float64(sum) / float64(len(late))
	}
	off, on := run(false), run(true)
	t.Logf("requests in flight at the host, on average after the first 10: %.2f without the throttle, %.2f with it", off, on)
	if off < 3 {
		t.Errorf("without the throttle %.2f in flight, want the 4 PerHost allows (the test no longer loads the host)", off)
	}
	if on > 1.5 {
		t.Errorf("with the throttle %.2f in flight, want about 1, its target", on)
	}
}
