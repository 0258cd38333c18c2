package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestHostKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://Example.COM/a", "example.com"},
		{"http://example.com:80/", "example.com"},
		{"https://example.com:443/", "example.com"},
		{"https://example.com/", "example.com"},
		{"http://example.com:8080/", "example.com:8080"},
		{"https://example.com:80/", "example.com:80"},
		{"http://[::1]:8080/", "[::1]:8080"},
		{"http://[::1]/", "[::1]"},
		{"http://[::1]:80/", "[::1]"},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostKey(u); got != tc.want {
			t.Errorf("hostKey(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLimiterConfig checks the per-host limiter with injected time: burst 1
// at Config.Rate (DefaultRate for zero), lowered and never raised by
// lowerRate. A negative Rate keeps no limiter at all: see
// TestNoLimitersWhenUnlimited.
func TestLimiterConfig(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		rate      float64
		lowerTo   []time.Duration // lowerRate calls, in order
		wantLimit rate.Limit
		wantDelay time.Duration // delay of the second of two requests at t0
	}{
		{"rate 20", 20, nil, 20, 50 * time.Millisecond},
		{"zero is DefaultRate", 0, nil, DefaultRate, 500 * time.Millisecond},
		{"crawl-delay lowers", 20, []time.Duration{2 * time.Second}, 0.5, 2 * time.Second},
		{"never raised", 20, []time.Duration{2 * time.Second, 10 * time.Millisecond}, 0.5, 2 * time.Second},
		{"shorter than rate keeps rate", 2, []time.Duration{100 * time.Millisecond}, 2, 500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, Config{Rate: tc.rate})
			for _, d := range tc.lowerTo {
				c.lowerRate("h", d)
			}
			lim := c.limiter("h")
			if lim.Limit() != tc.wantLimit || lim.Burst() != 1 {
				t.Fatalf("got limit %v burst %d, want %v and 1", lim.Limit(), lim.Burst(), tc.wantLimit)
			}
			if d := lim.ReserveN(t0, 1).DelayFrom(t0); d != 0 {
				t.Errorf("first request waits %v, want 0", d)
			}
			if d := lim.ReserveN(t0, 1).DelayFrom(t0); d != tc.wantDelay {
				t.Errorf("second request waits %v, want %v", d, tc.wantDelay)
			}
			if c.limiter("h") != lim || c.limiter("other") == lim {
				t.Error("limiters are not one per host key")
			}
		})
	}
}

// TestNoLimitersWhenUnlimited: with a negative Rate the Client keeps no
// limiter, for requests, redirect hops, robots.txt and its
// Crawl-delay alike; Robots still reports the Crawl-delay and Delay is 0.
func TestNoLimitersWhenUnlimited(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nCrawl-delay: 5\n")
		case "/redirect":
			http.Redirect(w, r, "/", http.StatusFound)
		}
	})
	addr := ts.Listener.Addr().String()
	for _, r := range []float64{-1, -0.5} {
		t.Run(fmt.Sprint(r), func(t *testing.T) {
			c := newClient(t, Config{Rate: r, Resolve: map[string]string{"a.fetch.test:80": addr, "b.fetch.test:80": addr}})
			ctx := context.Background()
			for _, u := range []string{"http://a.fetch.test/", "http://a.fetch.test/redirect", "http://b.fetch.test/", ts.URL} {
				if _, err := c.Fetch(ctx, Request{URL: u}); err != nil {
					t.Fatal(err)
				}
			}
			u := mustURL(t, "http://a.fetch.test/")
			rb, err := c.Robots(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if rb.CrawlDelay() != 5*time.Second {
				t.Errorf("got CrawlDelay %v, want 5s reported", rb.CrawlDelay())
			}
			c.lowerRate(hostKey(u), time.Minute)
			if d := c.Delay(u); d != 0 {
				t.Errorf("got Delay %v, want 0", d)
			}
			if lim := c.limiter("a.fetch.test"); lim != nil {
				t.Errorf("got limiter %v, want none", lim.Limit())
			}
			if n := c.limiterCount(); n != 0 {
				t.Errorf("got %d limiters, want 0", n)
			}
			// Back-to-back requests to a host whose Crawl-delay is 5s are
			// not held back.
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			for range 3 {
				if _, err := c.Fetch(ctx, Request{URL: "http://a.fetch.test/"}); err != nil {
					t.Fatalf("got %v, want no wait for the Crawl-delay", err)
				}
			}
		})
	}
}

// TestLimiterEviction checks with injected time that limiters beyond the
// cap are dropped least recently used first, only when idle; that a
// limiter not idle yet holds the map over the cap until it is, unless a
// Crawl-delay lowered it; and that a host whose limiter was dropped gets
// its Crawl-delay back from its cached robots.txt rules.
func TestLimiterEviction(t *testing.T) {
	t0 := time.Now().Add(time.Hour) // after any SetLimit the client made at wall-clock time
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	use := func(c *Client, host string, s int) *rate.Limiter {
		lim := c.limiterAt(host, at(s))
		if d := lim.ReserveN(at(s), 1).DelayFrom(at(s)); d != 0 {
			t.Fatalf("%s at %ds: request waits %v, want 0", host, s, d)
		}
		return lim
	}
	has := func(c *Client, host string) bool {
		c.limMu.Lock()
		defer c.limMu.Unlock()
		_, ok := c.limiters.peek(host)
		return ok
	}

	t.Run("idle evicted", func(t *testing.T) {
		c := newClient(t, Config{Rate: 1}) // idle 1s after a request
		c.maxLimiters = 3
		for i := range 10 {
			use(c, fmt.Sprintf("h%d", i), 2*i)
			if n := c.limiterCount(); n > 3 {
				t.Fatalf("after host %d: got %d limiters, want at most 3", i, n)
			}
		}
		for i, want := range map[int]bool{0: false, 6: false, 7: true, 8: true, 9: true} {
			if got := has(c, fmt.Sprintf("h%d", i)); got != want {
				t.Errorf("h%d kept: got %v, want %v", i, got, want)
			}
		}
	})
	t.Run("busy kept", func(t *testing.T) {
		c := newClient(t, Config{Rate: 0.1}) // idle 10s after a request
		c.maxLimiters = 3
		for i := range 6 {
			use(c, fmt.Sprintf("h%d", i), i) // all within 10s
		}
		if n := c.limiterCount(); n != 6 {
			t.Errorf("got %d limiters, want all 6: none is idle", n)
		}
		if !has(c, "h0") {
			t.Error("busy h0 evicted")
		}
		use(c, "late", 100) // all idle now
		if n := c.limiterCount(); n > 3 {
			t.Errorf("once idle: got %d limiters, want at most 3", n)
		}
		if has(c, "h0") {
			t.Error("idle h0 not evicted")
		}
	})
	t.Run("lowered busy skipped", func(t *testing.T) {
		c := newClient(t, Config{Rate: 1})
		c.maxLimiters = 3
		slow := use(c, "slow", 0)
		slow.SetLimitAt(at(0), rate.Every(100*time.Second)) // as a Crawl-delay
		slow.ReserveN(at(0), 1)
		for i := range 6 {
			use(c, fmt.Sprintf("h%d", i), 2+2*i)
			if n := c.limiterCount(); n > 3 {
				t.Fatalf("after host %d: got %d limiters, want at most 3", i, n)
			}
		}
		if !has(c, "slow") {
			t.Error("slow host's limiter evicted before it was idle")
		}
	})
	t.Run("crawl-delay restored", func(t *testing.T) {
		cache := &mapRobotsCache{m: map[string]cachedRobots{}}
		c := newClient(t, Config{Rate: 20, RobotsCache: cache})
		cache.m["http://slow.fetch.test"] = cachedRobots{[]byte("User-agent: *\nCrawl-delay: 2\n"), c.now()}
		u := mustURL(t, "http://slow.fetch.test/")
		if _, err := c.Robots(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		dropped := func() {
			c.limMu.Lock()
			c.limiters.remove("slow.fetch.test") // as evictLimiters does once idle
			c.limMu.Unlock()
		}
		dropped()
		if l := c.limiter("slow.fetch.test").Limit(); l != 0.5 {
			t.Errorf("limiter made again with the rules cached: got %v/s, want 0.5/s", l)
		}
		dropped()
		c.robotsMu.Lock()
		c.robots.remove("http://slow.fetch.test") // the rules evicted too
		c.robotsMu.Unlock()
		if l := c.limiter("slow.fetch.test").Limit(); l != 20 {
			t.Errorf("limiter made again without rules: got %v/s, want 20/s", l)
		}
		if _, err := c.Robots(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		if l := c.limiter("slow.fetch.test").Limit(); l != 0.5 {
			t.Errorf("after robots.txt was loaded again: got %v/s, want 0.5/s", l)
		}
	})
}

// TestLimitersBounded uses a Client with a Rate against 50,000 hosts, a
// request each, and checks the limiters kept never exceed the cap.
func TestLimitersBounded(t *testing.T) {
	c := newClient(t, Config{Rate: 10})
	t0 := time.Now().Add(time.Hour)
	const hosts = 50_000
	for i := range hosts {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		c.limiterAt(fmt.Sprintf("host%d.fetch.test", i), now).ReserveN(now, 1)
	}
	if n := c.limiterCount(); n > maxLimiters {
		t.Errorf("got %d limiters after %d hosts, want at most %d", n, hosts, maxLimiters)
	}
}

// TestRateSequential checks on the wire that requests to one host are not
// faster than Config.Rate. The k-th request cannot reach the server before
// k intervals after the first Fetch started; only this lower bound is
// asserted (gaps between server-observed times are not, since a slow
// delivery of one request shortens the next gap without any fault).
func TestRateSequential(t *testing.T) {
	const r, n = 20, 6
	interval := time.Second / r
	var mu sync.Mutex
	var seen []time.Time
	ts := serve(t, func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		seen = append(seen, time.Now())
		mu.Unlock()
	})
	c := newClient(t, Config{Rate: r})
	start := time.Now()
	for range n {
		if _, err := c.Fetch(context.Background(), Request{URL: ts.URL}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Fatalf("server saw %d requests, want %d", len(seen), n)
	}
	const tolerance = 5 * time.Millisecond
	for k, at := range seen {
		if min := time.Duration(k)*interval - tolerance; at.Sub(start) < min {
			t.Errorf("request %d reached the server %v after start, want at least %v", k, at.Sub(start), min)
		}
	}
}

// TestRateHostsIndependent uses a rate so low (one request per 100 s) that
// a second request to a host can never be admitted within a test: the
// limiter refuses a wait that would outlast the deadline at once, so no
// test waits for it.
func TestRateHostsIndependent(t *testing.T) {
	var mu sync.Mutex
	var hosts []string
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host+r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/to-b" {
			http.Redirect(w, r, "http://b.fetch.test/", http.StatusFound)
		}
	})
	addr := ts.Listener.Addr().String()
	c := newClient(t, Config{
		Rate:    0.01,
		Timeout: 5 * time.Second,
		Resolve: map[string]string{"a.fetch.test:80": addr, "b.fetch.test:80": addr, "c.fetch.test:80": addr},
	})
	fetch := func(u string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := c.Fetch(ctx, Request{URL: u})
		return err
	}
	if err := fetch("http://a.fetch.test/"); err != nil {
		t.Fatalf("first fetch of a: %v", err)
	}
	if err := fetch("http://b.fetch.test/"); err != nil {
		t.Fatalf("first fetch of b, after a: %v; hosts do not have independent limiters", err)
	}
	err := fetch("http://a.fetch.test/again")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) || Retryable(err) {
		t.Errorf("second fetch of a: got %v, want the caller's deadline (limiter cannot admit it), not retryable", err)
	}
	// A redirect hop waits on its own host's limiter, inside the Timeout.
	_, err = c.Fetch(context.Background(), Request{URL: "http://c.fetch.test/to-b"})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("redirect to b: got %v, want ErrTimeout (b's limiter cannot admit the hop)", err)
	}
	for host, wantWait := range map[string]bool{"a.fetch.test": true, "b.fetch.test": true, "d.fetch.test": false} {
		if d := c.Delay(&url.URL{Scheme: "http", Host: host}); (d > 0) != wantWait || d > 100*time.Second {
			t.Errorf("Delay(%s) = %v, want positive %v and at most 100s", host, d, wantWait)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := "[a.fetch.test/ b.fetch.test/ c.fetch.test/to-b]"
	if got := fmt.Sprint(hosts); got != want {
		t.Errorf("server saw %s, want %s", got, want)
	}
}

// TestRateWaitBeforeTimeout checks that the first limiter wait of a Fetch is
// not counted against Config.Timeout: with a 500ms interval and a 300ms
// Timeout, back-to-back fetches still succeed.
func TestRateWaitBeforeTimeout(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	c := newClient(t, Config{Rate: 2, Timeout: 300 * time.Millisecond})
	for i := range 2 {
		if _, err := c.Fetch(context.Background(), Request{URL: ts.URL}); err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
	}
}
