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
// at Config.Rate, unlimited for a zero Rate, lowered and never raised by
// lowerRate.
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
		{"unlimited", 0, nil, rate.Inf, 0},
		{"negative is unlimited", -3, nil, rate.Inf, 0},
		{"crawl-delay lowers", 20, []time.Duration{2 * time.Second}, 0.5, 2 * time.Second},
		{"crawl-delay on unlimited", 0, []time.Duration{time.Second}, 1, time.Second},
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
