package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The tests of the address guard make no traffic beyond 127.0.0.1: other
// addresses are only classified, checked as strings, or requested through
// fakes that never dial.

func TestBlockedAddr(t *testing.T) {
	tests := []struct {
		ip     string
		reason string // "" means allowed
	}{
		// IPv4
		{"169.254.169.254", "link-local"},
		{"169.254.0.1", "link-local"},
		{"10.1.2.3", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"172.15.255.255", ""},
		{"172.32.0.1", ""},
		{"192.168.1.1", "private"},
		{"100.64.0.1", "cgnat"},
		{"100.127.255.255", "cgnat"},
		{"100.128.0.1", ""},
		{"127.0.0.1", "loopback"},
		{"127.0.0.2", "loopback"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "reserved"},
		{"192.0.0.8", "reserved"},
		{"192.0.2.1", "reserved"},
		{"198.18.0.1", "reserved"},
		{"198.19.255.255", "reserved"},
		{"198.20.0.1", ""},
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"93.184.216.34", ""},
		// IPv6
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"fd00::1", "private"},
		{"fc00::1", "private"},
		{"fec0::1", "private"},
		{"ff02::1", "multicast"},
		{"ff0e::1", "multicast"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:8.8.8.8", ""},
		{"::127.0.0.1", "loopback"},     // IPv4-compatible
		{"::8.8.8.8", "reserved"},       // IPv4-compatible, deprecated
		{"::ffff:0:7f00:1", "reserved"}, // IPv4-translated
		{"64:ff9b::a00:1", "private"},   // NAT64 of 10.0.0.1
		{"64:ff9b::a9fe:a9fe", "link-local"},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"64:ff9b:1::a00:1", "private"},
		{"2002:a00:1::1", "private"}, // 6to4 of 10.0.0.1
		{"2002:7f00:1::1", "loopback"},
		{"2002:808:808::1", ""},
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", ""},         // Teredo: server 65.54.227.120, client 8.8.8.8
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"}, // Teredo client 127.0.0.1
		{"2001:0:a00:1:8000:63bf:f7f7:f7f7", "private"},      // Teredo server 10.0.0.1
		{"2001:db8::1", "reserved"},
		{"3fff::1", "reserved"},
		{"2001:2::1", "reserved"},
		{"100::1", "reserved"},
		{"5f00::1", "reserved"},
		{"4000::1", "reserved"},
		{"2606:4700::1111", ""},
		{"2001:4860:4860::8888", ""},
		{"2a00:1450:4001:80e::200e", ""},
	}
	for _, tc := range tests {
		ip, err := netip.ParseAddr(tc.ip)
		if err != nil {
			t.Fatal(err)
		}
		reason, blocked := blockedAddr(ip)
		if reason != tc.reason || blocked != (tc.reason != "") {
			t.Errorf("blockedAddr(%s): got %q, %v, want %q, %v", tc.ip, reason, blocked, tc.reason, tc.reason != "")
		}
	}
	if reason, blocked := blockedAddr(netip.Addr{}); !blocked {
		t.Errorf("blockedAddr(invalid): got %q, %v, want blocked", reason, blocked)
	}
}

// TestGuardControl checks the dial-time check on the address about to be
// connected to, whatever the host name was: this is what covers DNS
// rebinding and names that resolve into the client's network.
func TestGuardControl(t *testing.T) {
	control := newGuard(Config{}).control("rebind.fetch.test")
	tests := []struct {
		address string
		reason  string // "" means allowed
	}{
		{"127.0.0.1:80", "loopback"},
		{"169.254.169.254:80", "link-local"},
		{"[::1]:443", "loopback"},
		{"[::ffff:10.0.0.1]:443", "private"},
		{"[fe80::1%eth0]:80", "link-local"},
		{"93.184.216.34:80", ""},
		{"[2606:4700::1111]:443", ""},
		{"not an address", "cannot check"},
	}
	for _, tc := range tests {
		err := control(context.Background(), "tcp", tc.address, nil)
		if tc.reason == "" {
			if err != nil {
				t.Errorf("%s: got %v, want allowed", tc.address, err)
			}
			continue
		}
		if !errors.Is(err, ErrBlockedAddress) || !strings.Contains(err.Error(), tc.reason) ||
			!strings.Contains(err.Error(), "rebind.fetch.test") {
			t.Errorf("%s: got %v, want ErrBlockedAddress naming %q and the host", tc.address, err, tc.reason)
		}
	}
	want := "fetch: blocked address 127.0.0.1 (loopback) for host rebind.fetch.test; allow it with Config.AllowHosts or Config.AllowPrivate"
	if err := control(context.Background(), "tcp4", "127.0.0.1:80", nil); err == nil || err.Error() != want {
		t.Errorf("got message %q, want %q", err, want)
	}
}

func TestGuardNamed(t *testing.T) {
	g := newGuard(Config{
		AllowHosts: []string{"Seed.Example.COM", "[::1]", "fd00::7", "127.0.0.1", "withport.fetch.test:8080"},
		Resolve:    map[string]string{"Resolved.fetch.test:443": "127.0.0.1:1"},
	})
	tests := []struct {
		host string
		want bool
	}{
		{"seed.example.com", true},
		{"SEED.example.com.", true},
		{"other.example.com", false},
		{"::1", true},
		{"fd00::7", true},
		{"fd00:0::7", true}, // same address, another spelling
		{"127.0.0.1", true},
		{"::ffff:127.0.0.1", true}, // the same IPv4 address
		{"127.0.0.2", false},
		{"localhost", false}, // a name is not allowed by its address
		{"withport.fetch.test", true},
		{"resolved.fetch.test", true}, // any port
		{"", false},
	}
	for _, tc := range tests {
		if got := g.named(tc.host); got != tc.want {
			t.Errorf("named(%q): got %v, want %v", tc.host, got, tc.want)
		}
	}
	if newGuard(Config{AllowPrivate: true}) != nil || newGuard(Config{Transport: http.DefaultTransport}) != nil {
		t.Error("want no guard with AllowPrivate or a Transport")
	}
}

// countingServer counts the requests it gets by path.
func countingServer(t *testing.T) (*serverCounts, string) {
	t.Helper()
	sc := &serverCounts{m: map[string]int{}}
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		sc.mu.Lock()
		sc.m[r.URL.Path]++
		sc.mu.Unlock()
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		fmt.Fprint(w, "ok")
	})
	return sc, ts.Listener.Addr().String()
}

type serverCounts struct {
	mu sync.Mutex
	m  map[string]int
}

func (s *serverCounts) get(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[path]
}

func (s *serverCounts) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.m {
		n += v
	}
	return n
}

func TestGuardFetch(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		url     string // "ADDR" is the server's 127.0.0.1:port, "PORT" its port
		blocked bool
	}{
		{"loopback literal refused", Config{}, "http://ADDR/", true},
		{"loopback literal named", Config{AllowHosts: []string{"127.0.0.1"}}, "http://ADDR/", false},
		{"name resolving to loopback refused", Config{}, "http://localhost:PORT/", true},
		{"name not allowed by its address", Config{AllowHosts: []string{"127.0.0.1"}}, "http://localhost:PORT/", true},
		{"name named", Config{AllowHosts: []string{"LocalHost"}}, "http://localhost:PORT/", false},
		{"mapped literal refused", Config{}, "http://[::ffff:127.0.0.1]:PORT/", true},
		{"resolve names its host", Config{Resolve: map[string]string{"x.fetch.test:80": "ADDR"}}, "http://x.fetch.test/", false},
		{"allow private", Config{AllowPrivate: true}, "http://ADDR/", false},
		{"allow private name", Config{AllowPrivate: true}, "http://localhost:PORT/", false},
		{"rate limited, refused before the limiter", Config{Rate: 0.001}, "http://ADDR/", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, addr := countingServer(t)
			_, port, _ := net.SplitHostPort(addr)
			fill := strings.NewReplacer("ADDR", addr, "PORT", port)
			if tc.cfg.Resolve != nil {
				m := make(map[string]string)
				for k, v := range tc.cfg.Resolve {
					m[k] = fill.Replace(v)
				}
				tc.cfg.Resolve = m
			}
			c := newGuardedClient(t, tc.cfg)
			u := fill.Replace(tc.url)
			resp, err := c.Fetch(context.Background(), Request{URL: u})
			if !tc.blocked {
				if err != nil || resp.Status != 200 {
					t.Fatalf("got %v, want 200", err)
				}
				return
			}
			if !errors.Is(err, ErrBlockedAddress) || Retryable(err) {
				t.Fatalf("got %v (Retryable %v), want ErrBlockedAddress, not retryable", err, Retryable(err))
			}
			if !strings.HasPrefix(err.Error(), "fetch "+u+": ") || !strings.Contains(err.Error(), "127.0.0.1 (loopback)") {
				t.Errorf("got message %q, want the URL, the address and the reason", err)
			}
			if n := sc.total(); n != 0 {
				t.Errorf("server saw %d requests, want none", n)
			}
			if n := c.limiterCount(); tc.cfg.Rate > 0 && n != 0 {
				t.Errorf("got %d limiters, want none: refused before taking the host's turn", n)
			}
		})
	}
}

// TestGuardRedirect: a redirect from a named host to one not named that is
// (or resolves to) loopback is refused at the hop, before anything reaches
// the target: at dial time for a name, early for an IP literal.
func TestGuardRedirect(t *testing.T) {
	sc, addr := countingServer(t)
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct{ allow, from, to string }{
		{"127.0.0.1", "127.0.0.1", "localhost"},
		{"localhost", "localhost", "127.0.0.1"},
		{"localhost", "localhost", "[::ffff:127.0.0.1]"},
	}
	for _, tc := range tests {
		c := newGuardedClient(t, Config{AllowHosts: []string{tc.allow}})
		to := "http://" + tc.to + ":" + port + "/x"
		u := "http://" + tc.from + ":" + port + "/r?to=" + url.QueryEscape(to)
		_, err := c.Fetch(context.Background(), Request{URL: u})
		if !errors.Is(err, ErrBlockedAddress) || Retryable(err) {
			t.Errorf("redirect from %s to %s: got %v, want ErrBlockedAddress, not retryable", tc.from, tc.to, err)
		}
	}
	if got, want := sc.get("/r"), len(tests); got != want {
		t.Errorf("server saw %d requests for /r, want %d", got, want)
	}
	if n := sc.get("/x"); n != 0 {
		t.Errorf("server saw %d requests for /x, want none", n)
	}
}

// roundTripFunc is an http.RoundTripper in a func.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestGuardTransportHops checks the early refusal of IP literals on every
// request of the chain, through a fake that never dials: a public page
// redirecting to the cloud metadata address or a private one.
func TestGuardTransportHops(t *testing.T) {
	var seen []string
	fake := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.String())
		h := http.Header{}
		if to := r.URL.Query().Get("to"); to != "" {
			h.Set("Location", to)
			return &http.Response{StatusCode: http.StatusFound, Header: h, Body: http.NoBody, Request: r}, nil
		}
		return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
	})
	hc := &http.Client{Transport: &guardTransport{g: newGuard(Config{AllowHosts: []string{"10.9.9.9"}}), next: fake}}
	tests := []struct {
		to      string
		blocked bool
	}{
		{"http://169.254.169.254/latest/meta-data/", true},
		{"http://10.0.0.1/", true},
		{"http://[fd00::1]/", true},
		{"http://[::ffff:a9fe:a9fe]/", true},
		{"http://10.9.9.9/", false}, // named
		{"http://93.184.216.34/", false},
		{"http://public.fetch.test/", false}, // names are checked when dialed
	}
	for _, tc := range tests {
		seen = nil
		resp, err := hc.Get("http://public.fetch.test/r?to=" + url.QueryEscape(tc.to))
		if resp != nil {
			resp.Body.Close()
		}
		if tc.blocked {
			if !errors.Is(err, ErrBlockedAddress) || len(seen) != 1 {
				t.Errorf("redirect to %s: got %v after requests %v, want ErrBlockedAddress after the first only", tc.to, err, seen)
			}
			continue
		}
		if err != nil || len(seen) != 2 || seen[1] != tc.to {
			t.Errorf("redirect to %s: got %v after requests %v, want it followed", tc.to, err, seen)
		}
	}
}

// TestGuardProxy: a proxy from the environment is connected to whatever its
// address (here 127.0.0.1, not named); host names behind it are resolved by
// the proxy and cannot be checked; IP literals still are.
func TestGuardProxy(t *testing.T) {
	var got atomic.Value
	proxy := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.String()) // a proxy request carries the absolute URL
		fmt.Fprint(w, "via proxy")
	})
	proxyURL, _ := url.Parse(proxy.URL)
	saved := proxyFromEnvironment
	proxyFromEnvironment = http.ProxyURL(proxyURL)
	t.Cleanup(func() { proxyFromEnvironment = saved })

	c := newGuardedClient(t, Config{})
	resp, err := c.Fetch(context.Background(), Request{URL: "http://internal.fetch.test/page"})
	if err != nil || string(resp.Body) != "via proxy" {
		t.Fatalf("got %v, want the proxy's answer", err)
	}
	if u, _ := got.Load().(string); u != "http://internal.fetch.test/page" {
		t.Errorf("proxy got %q, want the target URL", u)
	}
	got.Store("")
	_, err = c.Fetch(context.Background(), Request{URL: "http://10.0.0.1/"})
	if !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("IP literal through the proxy: got %v, want ErrBlockedAddress", err)
	}
	if u, _ := got.Load().(string); u != "" {
		t.Errorf("proxy got %q, want nothing", u)
	}
}

func TestGuardRobots(t *testing.T) {
	sc, addr := countingServer(t)
	_, port, _ := net.SplitHostPort(addr)
	for _, u := range []string{"http://" + addr + "/", "http://localhost:" + port + "/"} {
		c := newGuardedClient(t, Config{})
		rb, err := c.Robots(context.Background(), mustURL(t, u))
		if rb != nil || !errors.Is(err, ErrBlockedAddress) || !errors.Is(err, ErrRobotsUnavailable) || Retryable(err) {
			t.Errorf("Robots(%s): got %v, %v (Retryable %v), want ErrBlockedAddress within ErrRobotsUnavailable, not retryable",
				u, rb, err, Retryable(err))
		}
	}
	if n := sc.total(); n != 0 {
		t.Errorf("server saw %d requests, want none", n)
	}
}
