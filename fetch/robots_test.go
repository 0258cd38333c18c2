package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// robotsServer serves body with status at /robots.txt, counts robots.txt
// requests and checks they carry the User-Agent.
func robotsServer(t testing.TB, status int, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/robots.txt" {
			return
		}
		n.Add(1)
		if r.Header.Get("User-Agent") == "" {
			t.Errorf("robots.txt request without User-Agent")
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	})
	return ts, &n
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRobotsStatus(t *testing.T) {
	tests := []struct {
		status      int
		unavailable bool
	}{
		{200, false},
		{401, false},
		{403, false},
		{404, false},
		{410, false},
		{500, true},
		{503, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			// The body would disallow everything if it were parsed.
			ts, _ := robotsServer(t, tc.status, "User-agent: *\nDisallow: /\n")
			c := newClient(t, Config{})
			rb, err := c.Robots(context.Background(), mustURL(t, ts.URL))
			if tc.unavailable {
				if !errors.Is(err, ErrRobotsUnavailable) || !Retryable(err) || rb != nil {
					t.Errorf("got %v, %v, want ErrRobotsUnavailable, retryable, nil Robots", rb, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantAllowed := tc.status >= 400
			if got := rb.Allowed(mustURL(t, ts.URL+"/page")); got != wantAllowed {
				t.Errorf("Allowed: got %v, want %v", got, wantAllowed)
			}
		})
	}
}

func TestRobotsNetworkError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, Config{})
	_, err = c.Robots(context.Background(), mustURL(t, "http://"+addr+"/"))
	if !errors.Is(err, ErrRobotsUnavailable) || !errors.Is(err, syscall.ECONNREFUSED) || !Retryable(err) {
		t.Errorf("got %v, want ErrRobotsUnavailable wrapping a retryable connection refused", err)
	}
}

func TestRobotsRedirect(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			http.Redirect(w, r, "/moved/robots.txt", http.StatusMovedPermanently)
		case "/moved/robots.txt":
			fmt.Fprint(w, "User-agent: *\nDisallow: /secret\n")
		case "/loop/robots.txt":
			http.Redirect(w, r, "/loop/robots.txt", http.StatusFound)
		}
	})
	c := newClient(t, Config{MaxRedirects: -1, Rate: -1}) // robots.txt redirects are followed regardless
	rb, err := c.Robots(context.Background(), mustURL(t, ts.URL))
	if err != nil {
		t.Fatal(err)
	}
	if rb.Allowed(mustURL(t, ts.URL+"/secret")) || !rb.Allowed(mustURL(t, ts.URL+"/open")) {
		t.Error("rules from the redirect target not applied")
	}
}

func TestRobotsCrawlDelay(t *testing.T) {
	ts, _ := robotsServer(t, http.StatusOK, "User-agent: *\nCrawl-delay: 2\nDisallow: /x\n\nUser-agent: slowbot\nCrawl-delay: 60\n")
	c := newClient(t, Config{Rate: 20})
	u := mustURL(t, ts.URL)
	rb, err := c.Robots(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if rb.CrawlDelay() != 2*time.Second {
		t.Errorf("got CrawlDelay %v, want 2s", rb.CrawlDelay())
	}
	if l := c.limiter(hostKey(u)).Limit(); l != 0.5 {
		t.Errorf("host limit after Crawl-delay 2: got %v/s, want 0.5/s", l)
	}
}

func TestRobotsFetchedOnce(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int64
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select { // hold the answer so that callers pile up
		case <-release:
		case <-time.After(5 * time.Second):
		}
		fmt.Fprint(w, "User-agent: *\nDisallow: /no\n")
	})
	c := newClient(t, Config{})
	const callers = 20
	var wg sync.WaitGroup
	results := make([]*Robots, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			results[i], errs[i] = c.Robots(context.Background(), mustURL(t, ts.URL+fmt.Sprintf("/page%d", i)))
		})
	}
	time.Sleep(50 * time.Millisecond) // let callers arrive; the count below holds either way
	close(release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || results[i] != results[0] || results[i].Allowed(mustURL(t, ts.URL+"/no")) {
			t.Fatalf("caller %d: got %p, %v; want the shared rules", i, results[i], errs[i])
		}
	}
	if got := n.Load(); got != 1 {
		t.Errorf("robots.txt fetched %d times by %d callers, want 1", got, callers)
	}
}

// fakeClock is an injectable clock safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func TestRobotsCache(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr bool
		steps   []struct {
			advance   time.Duration
			wantFetch int64
		}
	}{
		{"success cached a day", 200, false, []struct {
			advance   time.Duration
			wantFetch int64
		}{{0, 1}, {time.Hour, 1}, {22 * time.Hour, 1}, {2 * time.Hour, 2}, {time.Minute, 2}}},
		{"failure cached briefly", 503, true, []struct {
			advance   time.Duration
			wantFetch int64
		}{{0, 1}, {10 * time.Second, 1}, {25 * time.Second, 2}, {time.Second, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, n := robotsServer(t, tc.status, "User-agent: *\nDisallow: /x\n")
			c := newClient(t, Config{Rate: -1})
			clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			c.now = clock.Now
			for i, s := range tc.steps {
				clock.Advance(s.advance)
				_, err := c.Robots(context.Background(), mustURL(t, ts.URL))
				if (err != nil) != tc.wantErr {
					t.Fatalf("step %d: got error %v, want error %v", i, err, tc.wantErr)
				}
				if got := n.Load(); got != s.wantFetch {
					t.Errorf("step %d: robots.txt fetched %d times, want %d", i, got, s.wantFetch)
				}
			}
		})
	}
}

// TestRobotsLeaderCancelled checks that when the caller whose ctx runs the
// shared load is cancelled, it gets context.Canceled and the other callers
// still get the rules.
func TestRobotsLeaderCancelled(t *testing.T) {
	started := make(chan struct{}, 4)
	release := make(chan struct{})
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-time.After(5 * time.Second):
		}
		fmt.Fprint(w, "User-agent: *\nDisallow: /no\n")
	})
	c := newClient(t, Config{Rate: -1})
	u := mustURL(t, ts.URL)

	leaderCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.Robots(leaderCtx, u)
		leaderErr <- err
	}()
	<-started // the leader's load is at the server
	type result struct {
		r   *Robots
		err error
	}
	other := make(chan result, 1)
	go func() {
		r, err := c.Robots(context.Background(), u)
		other <- result{r, err}
	}()
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) || errors.Is(err, ErrRobotsUnavailable) {
		t.Errorf("leader: got %v, want context.Canceled", err)
	}
	close(release)
	res := <-other
	if res.err != nil || res.r.Allowed(mustURL(t, ts.URL+"/no")) {
		t.Errorf("other caller: got %v, %v; want the rules", res.r, res.err)
	}
}

func TestRobotsSizeCap(t *testing.T) {
	body := "User-agent: *\nDisallow: /early\n" + strings.Repeat("# padding padding padding\n", 30_000) + "Disallow: /late\n"
	if len(body) <= robotsMaxBody {
		t.Fatalf("test body of %d bytes does not exceed the cap", len(body))
	}
	ts, _ := robotsServer(t, http.StatusOK, body)
	c := newClient(t, Config{})
	rb, err := c.Robots(context.Background(), mustURL(t, ts.URL))
	if err != nil {
		t.Fatal(err)
	}
	if rb.Allowed(mustURL(t, ts.URL+"/early")) || !rb.Allowed(mustURL(t, ts.URL+"/late")) {
		t.Error("want rules before the 512 KiB cap applied and rules after it ignored")
	}
}

func TestRobotsBadURL(t *testing.T) {
	c := newClient(t, Config{})
	for _, u := range []*url.URL{nil, {Path: "/x"}, {Scheme: "ftp", Host: "h"}} {
		if _, err := c.Robots(context.Background(), u); !errors.Is(err, ErrBadURL) {
			t.Errorf("Robots(%v): got %v, want ErrBadURL", u, err)
		}
	}
}

func TestRobotsOriginKey(t *testing.T) {
	ts, n := robotsServer(t, http.StatusOK, "User-agent: *\nDisallow: /x\n")
	addr := ts.Listener.Addr().String()
	c := newClient(t, Config{Resolve: map[string]string{"a.fetch.test:80": addr, "b.fetch.test:80": addr}})
	tests := []struct {
		url       string
		wantFetch int64
	}{
		{"http://a.fetch.test/page", 1},
		{"http://A.Fetch.Test:80/other?q=1", 1}, // same origin
		{"http://b.fetch.test/", 2},             // another host
	}
	for _, tc := range tests {
		c.Robots(context.Background(), mustURL(t, tc.url))
		if got := n.Load(); got != tc.wantFetch {
			t.Errorf("after %s: robots.txt fetched %d times, want %d", tc.url, got, tc.wantFetch)
		}
	}
}

// mapRobotsCache is a RobotsCache in a map.
type mapRobotsCache struct {
	mu sync.Mutex
	m  map[string]cachedRobots
}

type cachedRobots struct {
	body []byte
	at   time.Time
}

func (c *mapRobotsCache) LoadRobots(origin string) ([]byte, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[origin]
	return e.body, e.at, ok
}

func (c *mapRobotsCache) StoreRobots(origin string, body []byte, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[origin] = cachedRobots{body, at}
	return nil
}

var _ RobotsCache = (*mapRobotsCache)(nil)

// TestRobotsPersistentCache: a second client sharing the cache (a resumed
// crawl) uses the kept robots.txt, Crawl-delay included, until it is a day
// old; a 404 is kept as "allow all".
func TestRobotsPersistentCache(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		disallow bool
	}{
		{"rules", http.StatusOK, true},
		{"404 allows all", http.StatusNotFound, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, n := robotsServer(t, tc.status, "User-agent: *\nCrawl-delay: 2\nDisallow: /x\n")
			cache := &mapRobotsCache{m: map[string]cachedRobots{}}
			clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			u := mustURL(t, ts.URL)
			for i, step := range []struct {
				advance   time.Duration
				wantFetch int64
			}{{0, 1}, {time.Hour, 1}, {23 * time.Hour, 2}} {
				clock.Advance(step.advance)
				c := newClient(t, Config{Rate: 20, RobotsCache: cache}) // a new run
				c.now = clock.Now
				rb, err := c.Robots(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				if got := n.Load(); got != step.wantFetch {
					t.Errorf("step %d: robots.txt fetched %d times, want %d", i, got, step.wantFetch)
				}
				if got := !rb.Allowed(mustURL(t, ts.URL+"/x")); got != tc.disallow {
					t.Errorf("step %d: /x disallowed %v, want %v", i, got, tc.disallow)
				}
				if tc.disallow {
					if l := c.limiter(hostKey(u)).Limit(); l != 0.5 {
						t.Errorf("step %d: host limit %v/s, want 0.5/s from the kept Crawl-delay", i, l)
					}
				}
			}
		})
	}
}

// funcRobotsCache is a RobotsCache that answers from a func, without
// network, and counts loads.
type funcRobotsCache struct {
	load  func(origin string) ([]byte, time.Time, bool)
	loads atomic.Int64
}

func (f *funcRobotsCache) LoadRobots(origin string) ([]byte, time.Time, bool) {
	f.loads.Add(1)
	return f.load(origin)
}

func (f *funcRobotsCache) StoreRobots(string, []byte, time.Time) error { return nil }

var _ RobotsCache = (*funcRobotsCache)(nil)

// TestRobotsCacheBounded asks a rate-limited Client for the robots.txt of
// 50,000 origins, each with a Crawl-delay, and checks that it keeps at most
// the cap of robots.txt entries and of limiters.
func TestRobotsCacheBounded(t *testing.T) {
	at := time.Now()
	body := []byte("User-agent: *\nCrawl-delay: 3\nDisallow: /private\n")
	cache := &funcRobotsCache{load: func(string) ([]byte, time.Time, bool) { return body, at, true }}
	c := newClient(t, Config{Rate: 10, RobotsCache: cache})
	const origins = 50_000
	for i := range origins {
		u := &url.URL{Scheme: "http", Host: fmt.Sprintf("host%d.fetch.test", i)}
		rb, err := c.Robots(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		if rb.CrawlDelay() != 3*time.Second || !rb.FetchedAt().Equal(at) {
			t.Fatalf("origin %d: got CrawlDelay %v FetchedAt %v, want 3s and %v", i, rb.CrawlDelay(), rb.FetchedAt(), at)
		}
	}
	if n := c.robotsCount(); n > robotsMaxOrigins {
		t.Errorf("got %d robots.txt entries after %d origins, want at most %d", n, origins, robotsMaxOrigins)
	}
	c.robotsMu.Lock()
	size := c.robots.bytes()
	c.robotsMu.Unlock()
	if size > robotsMaxBytes {
		t.Errorf("got %d bytes of robots.txt kept, want at most %d", size, robotsMaxBytes)
	}
	if n := c.limiterCount(); n > maxLimiters {
		t.Errorf("got %d limiters after %d hosts, want at most %d", n, origins, maxLimiters)
	}
}

// TestRobotsCacheEviction checks the byte bound and the order of eviction
// (least recently used first) and that an evicted origin is loaded again.
func TestRobotsCacheEviction(t *testing.T) {
	body := []byte("User-agent: *\nDisallow: /x\n" + strings.Repeat("# pad\n", 500)) // 3 KiB
	cache := &funcRobotsCache{load: func(string) ([]byte, time.Time, bool) { return body, time.Now(), true }}
	c := newClient(t, Config{RobotsCache: cache})
	// Three entries fit, four do not.
	c.robotsMaxBytes = 3*(int64(len(body))+robotsEntryCost) + 100
	robots := func(host string) {
		t.Helper()
		if _, err := c.Robots(context.Background(), &url.URL{Scheme: "https", Host: host}); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"a", "b", "c"} {
		robots(h)
	}
	robots("a") // cached: a becomes the most recently used
	if n := cache.loads.Load(); n != 3 {
		t.Errorf("got %d loads, want 3", n)
	}
	robots("d") // evicts b
	if n := c.robotsCount(); n != 3 {
		t.Errorf("got %d entries, want 3", n)
	}
	for _, tc := range []struct {
		host      string
		wantLoads int64
	}{{"a", 4}, {"c", 4}, {"d", 4}, {"b", 5}} {
		robots(tc.host)
		if n := cache.loads.Load(); n != tc.wantLoads {
			t.Errorf("after %s: got %d loads, want %d", tc.host, n, tc.wantLoads)
		}
	}
}

// TestRobotsEvictedRefetched: with a cap of two origins, the robots.txt of
// an evicted origin is fetched from the server again.
func TestRobotsEvictedRefetched(t *testing.T) {
	ts, n := robotsServer(t, http.StatusOK, "User-agent: *\nDisallow: /x\n")
	addr := ts.Listener.Addr().String()
	c := newClient(t, Config{Rate: -1, Resolve: map[string]string{"a.fetch.test:80": addr, "b.fetch.test:80": addr, "c.fetch.test:80": addr}})
	c.robotsMaxOrigins = 2
	for i, tc := range []struct {
		host      string
		wantFetch int64
	}{{"a", 1}, {"b", 2}, {"a", 2}, {"c", 3}, {"a", 3}, {"b", 4}} {
		rb, err := c.Robots(context.Background(), mustURL(t, "http://"+tc.host+".fetch.test/"))
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != tc.wantFetch {
			t.Errorf("step %d (%s): robots.txt fetched %d times, want %d", i, tc.host, got, tc.wantFetch)
		}
		if rb.Allowed(mustURL(t, "http://"+tc.host+".fetch.test/x")) {
			t.Errorf("step %d (%s): /x allowed, want the rules", i, tc.host)
		}
	}
	if got := c.robotsCount(); got != 2 {
		t.Errorf("got %d entries, want 2", got)
	}
}
