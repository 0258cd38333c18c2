package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// headerLog records the headers of each request a test server gets, by
// Host and path.
type headerLog struct {
	mu sync.Mutex
	m  map[string]http.Header
	n  map[string]int
}

func (l *headerLog) put(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m, l.n = map[string]http.Header{}, map[string]int{}
	}
	k := r.Host + r.URL.Path
	h := r.Header.Clone()
	h["X-Method"] = []string{r.Method}
	l.m[k] = h
	l.n[k]++
}

func (l *headerLog) get(hostPath string) http.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[hostPath]
}

func (l *headerLog) count(hostPath string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[hostPath]
}

// shapingServer logs request headers and serves: /redirect?to=U (302 to
// U), /set-cookie (sets c=1, redirects to /echo), /robots.txt (allows
// all but /x for "mybot"), anything else 200 "ok".
func shapingServer(t *testing.T) (*headerLog, string) {
	t.Helper()
	log := &headerLog{}
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		log.put(r)
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		case "/set-cookie":
			http.SetCookie(w, &http.Cookie{Name: "c", Value: "1", Path: "/"})
			http.Redirect(w, r, "/echo", http.StatusFound)
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: mybot\nDisallow: /x\n")
		default:
			w.Header().Set("Content-Length", "2")
			fmt.Fprint(w, "ok")
		}
	})
	return log, ts.Listener.Addr().String()
}

func TestRequestHeaders(t *testing.T) {
	log, addr := shapingServer(t)
	base := "http://" + addr
	cfg := Config{
		Rate: -1,
		Header: http.Header{
			"x-config":        {"c"},
			"X-Both":          {"config"},
			"Accept":          {"text/plain"},
			"Accept-Encoding": {"identity"}, // the client's own: ignored
		},
	}
	c := newClient(t, cfg)
	cfg.Header["x-config"][0] = "changed after New" // New copied it
	tests := []struct {
		name string
		url  string
		path string // path of the request checked (a redirect's target)
		hdr  http.Header
		want map[string]string // values joined by ","; "" means absent
	}{
		{
			name: "config headers", url: base + "/a", path: "/a",
			want: map[string]string{
				"User-Agent": DefaultUserAgent, "Accept": "text/plain", "Accept-Encoding": "gzip, deflate, br",
				"X-Config": "c", "X-Both": "config", "X-Request": "",
			},
		},
		{
			name: "request overrides", url: base + "/b", path: "/b",
			hdr: http.Header{"X-Both": {"request"}, "X-Request": {"r"}, "user-agent": {"other/1"}, "Accept-Encoding": {"zstd"}},
			want: map[string]string{
				"User-Agent": "other/1", "Accept": "text/plain", "Accept-Encoding": "gzip, deflate, br",
				"X-Config": "c", "X-Both": "request", "X-Request": "r",
			},
		},
		{
			name: "no values removes", url: base + "/c", path: "/c",
			hdr:  http.Header{"Accept": nil, "X-Config": {}},
			want: map[string]string{"Accept": "", "X-Config": "", "X-Both": "config", "User-Agent": DefaultUserAgent},
		},
		{
			name: "not kept from the previous request", url: base + "/d", path: "/d",
			want: map[string]string{"X-Request": "", "X-Both": "config", "Accept": "text/plain", "User-Agent": DefaultUserAgent},
		},
		{
			name: "redirect hop", url: base + "/redirect?to=/e", path: "/e",
			hdr:  http.Header{"X-Request": {"r"}},
			want: map[string]string{"X-Config": "c", "X-Request": "r", "Accept-Encoding": "gzip, deflate, br"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Fetch(context.Background(), Request{URL: tc.url, Header: tc.hdr}); err != nil {
				t.Fatal(err)
			}
			got := log.get(addr + tc.path)
			for k, want := range tc.want {
				if g := strings.Join(got.Values(k), ","); g != want {
					t.Errorf("header %s: got %q, want %q", k, g, want)
				}
			}
		})
	}
	if _, err := c.Robots(context.Background(), mustURL(t, base)); err != nil {
		t.Fatal(err)
	}
	got := log.get(addr + "/robots.txt")
	for k, want := range map[string]string{"X-Config": "c", "X-Both": "config", "User-Agent": DefaultUserAgent} {
		if g := got.Get(k); g != want {
			t.Errorf("robots.txt header %s: got %q, want %q", k, g, want)
		}
	}
	if cfg.Header.Get("Accept-Encoding") != "identity" || len(cfg.Header) != 4 { // New did not change it
		t.Errorf("Config.Header changed: %v", cfg.Header)
	}
}

// TestHeaderUserAgentSelectsGroup: a User-Agent in Config.Header is the one
// sent, and its product token picks the robots.txt group.
func TestHeaderUserAgentSelectsGroup(t *testing.T) {
	log, addr := shapingServer(t)
	c := newClient(t, Config{Rate: -1, UserAgent: "ignored/1", Header: http.Header{"User-Agent": {"MyBot/2.0 (+https://example.com/bot)"}}})
	rb, err := c.Robots(context.Background(), mustURL(t, "http://"+addr))
	if err != nil {
		t.Fatal(err)
	}
	if got := log.get(addr + "/robots.txt").Get("User-Agent"); got != "MyBot/2.0 (+https://example.com/bot)" {
		t.Errorf("got User-Agent %q, want the Header's", got)
	}
	if rb.Allowed(mustURL(t, "http://"+addr+"/x")) {
		t.Error("got /x allowed, want the mybot group applied")
	}
}

func TestRequestMethod(t *testing.T) {
	log, addr := shapingServer(t)
	base := "http://" + addr
	c := newClient(t, Config{Rate: -1})
	tests := []struct {
		method, path, wantMethod, wantPath string
	}{
		{"", "/get", "GET", "/get"},
		{"GET", "/get2", "GET", "/get2"},
		{"HEAD", "/head", "HEAD", "/head"},
		{"head", "/head2", "HEAD", "/head2"},
		{"HEAD", "/redirect?to=/head-target", "HEAD", "/head-target"},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			resp, err := c.Fetch(context.Background(), Request{URL: base + tc.path, Method: tc.method})
			if err != nil {
				t.Fatal(err)
			}
			if got := log.get(addr + tc.wantPath).Get("X-Method"); got != tc.wantMethod {
				t.Errorf("server got method %q, want %q", got, tc.wantMethod)
			}
			wantBody := "ok"
			if tc.wantMethod == "HEAD" {
				wantBody = ""
			}
			if resp.Status != 200 || string(resp.Body) != wantBody || resp.Truncated {
				t.Errorf("got status %d body %q Truncated %v, want 200 %q false", resp.Status, resp.Body, resp.Truncated, wantBody)
			}
		})
	}
	for _, m := range []string{"POST", "DELETE", "PUT", "GET "} {
		_, err := c.Fetch(context.Background(), Request{URL: base + "/refused", Method: m})
		if !errors.Is(err, ErrBadURL) || KindOf(err) != KindBadURL || Retryable(err) {
			t.Errorf("method %q: got %v, want KindBadURL, not retryable", m, err)
		}
	}
	if n := log.count(addr + "/refused"); n != 0 {
		t.Errorf("server got %d requests with unsupported methods, want none", n)
	}
}

func TestJar(t *testing.T) {
	for _, jar := range []bool{true, false} {
		t.Run(fmt.Sprintf("jar=%v", jar), func(t *testing.T) {
			log, addr := shapingServer(t)
			cfg := Config{Rate: -1}
			if jar {
				cfg.Jar = NewJar()
			}
			var hookSaw atomic.Value
			cfg.OnRequest = func(_ context.Context, r *http.Request) error {
				if r.URL.Path == "/later" {
					hookSaw.Store(r.Header.Get("Cookie"))
				}
				return nil
			}
			c := newClient(t, cfg)
			ctx := context.Background()
			if _, err := c.Fetch(ctx, Request{URL: "http://" + addr + "/set-cookie"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Fetch(ctx, Request{URL: "http://" + addr + "/later"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Robots(ctx, mustURL(t, "http://"+addr)); err != nil {
				t.Fatal(err)
			}
			want := ""
			if jar {
				want = "c=1"
			}
			for _, p := range []string{"/echo", "/later", "/robots.txt"} { // a hop, a page, robots.txt
				if got := log.get(addr + p).Get("Cookie"); got != want {
					t.Errorf("%s: got Cookie %q, want %q", p, got, want)
				}
			}
			if got, _ := hookSaw.Load().(string); got != want {
				t.Errorf("OnRequest saw Cookie %q, want %q", got, want)
			}
		})
	}
}

// TestCredentials: basic auth goes to the exact host and port it is keyed
// by, and to no other, redirects included.
func TestCredentials(t *testing.T) {
	log, addr := shapingServer(t)
	c := newClient(t, Config{
		Rate: -1,
		Resolve: map[string]string{
			"a.fetch.test:80": addr, "a.fetch.test:81": addr, "b.fetch.test:80": addr, "sub.a.fetch.test:80": addr,
		},
		Credentials: map[string]*url.Userinfo{
			"A.Fetch.Test:80": url.UserPassword("user", "s3cret"),
			"b.fetch.test":    url.UserPassword("no", "port"), // matches nothing
			"c.fetch.test:80": nil,
		},
	})
	auth := "Basic " + "dXNlcjpzM2NyZXQ=" // user:s3cret
	tests := []struct {
		name string
		url  string
		hdr  http.Header
		want map[string]string // host+path -> Authorization
	}{
		{"the host", "http://a.fetch.test/1", nil, map[string]string{"a.fetch.test/1": auth}},
		{"case-insensitive", "http://A.FETCH.TEST:80/2", nil, map[string]string{"A.FETCH.TEST:80/2": auth}}, // Host as sent
		{"another port", "http://a.fetch.test:81/3", nil, map[string]string{"a.fetch.test:81/3": ""}},
		{"another host", "http://b.fetch.test/4", nil, map[string]string{"b.fetch.test/4": ""}},
		{"a subdomain", "http://sub.a.fetch.test/5", nil, map[string]string{"sub.a.fetch.test/5": ""}},
		{"redirect to another host", "http://a.fetch.test/redirect?to=http://b.fetch.test/6", nil,
			map[string]string{"a.fetch.test/redirect": auth, "b.fetch.test/6": ""}},
		{"redirect to a subdomain", "http://a.fetch.test/redirect?to=http://sub.a.fetch.test/7", nil,
			map[string]string{"a.fetch.test/redirect": auth, "sub.a.fetch.test/7": ""}},
		{"redirect to another port", "http://a.fetch.test/redirect?to=http://a.fetch.test:81/8", nil,
			map[string]string{"a.fetch.test/redirect": auth, "a.fetch.test:81/8": ""}},
		{"redirect to the host", "http://b.fetch.test/redirect?to=http://a.fetch.test/9", nil,
			map[string]string{"b.fetch.test/redirect": "", "a.fetch.test/9": auth}},
		{"explicit header wins", "http://a.fetch.test/10", http.Header{"Authorization": {"Bearer t"}},
			map[string]string{"a.fetch.test/10": "Bearer t"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Fetch(context.Background(), Request{URL: tc.url, Header: tc.hdr})
			if err != nil {
				t.Fatal(err)
			}
			for hp, want := range tc.want {
				if got := log.get(hp).Get("Authorization"); got != want {
					t.Errorf("%s: got Authorization %q, want %q", hp, got, want)
				}
			}
			if s := fmt.Sprintf("%+v", *resp); strings.Contains(s, "s3cret") || strings.Contains(s, "dXNlcjpzM2NyZXQ") {
				t.Errorf("credentials in the Response: %s", s)
			}
		})
	}
	if _, err := c.Robots(context.Background(), mustURL(t, "http://a.fetch.test/")); err != nil {
		t.Fatal(err)
	}
	if got := log.get("a.fetch.test/robots.txt").Get("Authorization"); got != auth {
		t.Errorf("robots.txt: got Authorization %q, want %q", got, auth)
	}
}

// TestUserinfoRedacted: a password in a requested URL is not in the
// Response's URLs nor in error messages.
func TestUserinfoRedacted(t *testing.T) {
	_, addr := shapingServer(t)
	c := newClient(t, Config{Rate: -1, OnRequest: func(_ context.Context, r *http.Request) error {
		if r.URL.Path == "/veto" {
			return errors.New("vetoed")
		}
		return nil
	}})
	u := "http://user:s3cret@" + addr
	resp, err := c.Fetch(context.Background(), Request{URL: u + "/redirect?to=/target"})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%+v", *resp); strings.Contains(s, "s3cret") {
		t.Errorf("password in the Response: %s", s)
	}
	if want := "http://user:xxxxx@" + addr + "/target"; resp.FinalURL != want {
		t.Errorf("got FinalURL %q, want %q", resp.FinalURL, want)
	}
	for _, bad := range []string{u + "/veto", "http://user:s3cret@exa mple.com/", "ftp://user:s3cret@" + addr + "/"} {
		_, err := c.Fetch(context.Background(), Request{URL: bad})
		var fe *Error
		if !errors.As(err, &fe) || strings.Contains(err.Error(), "s3cret") || strings.Contains(fe.URL, "s3cret") {
			t.Errorf("Fetch(%q): got %v, want a *Error without the password", redactURL(bad), err)
		}
	}
}

// TestOnRequest: the hook sees every request (page, hop, robots.txt) with
// the client's headers, can change them, and can veto.
func TestOnRequest(t *testing.T) {
	log, addr := shapingServer(t)
	errVeto := errors.New("not there")
	var mu sync.Mutex
	var seen []string
	c := newClient(t, Config{
		Rate:        -1,
		Credentials: map[string]*url.Userinfo{addr: url.UserPassword("u", "p")},
		OnRequest: func(ctx context.Context, r *http.Request) error {
			if _, ok := ctx.Deadline(); !ok {
				t.Errorf("%s: hook ctx without the Timeout's deadline", r.URL.Path)
			}
			mu.Lock()
			seen = append(seen, r.URL.Path+" "+r.Header.Get("User-Agent")+" "+r.Header.Get("Authorization"))
			mu.Unlock()
			r.Header.Set("X-Signed", "sig:"+r.URL.Path)
			r.Header.Del("Accept")
			if strings.HasPrefix(r.URL.Path, "/forbidden") {
				return errVeto
			}
			return nil
		},
	})
	ctx := context.Background()
	if _, err := c.Fetch(ctx, Request{URL: "http://" + addr + "/redirect?to=/landing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Robots(ctx, mustURL(t, "http://"+addr)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := fmt.Sprint(seen)
	mu.Unlock()
	want := fmt.Sprintf("[/redirect %[1]s Basic dTpw /landing %[1]s Basic dTpw /robots.txt %[1]s Basic dTpw]", DefaultUserAgent)
	if got != want {
		t.Errorf("hook saw %s, want %s", got, want)
	}
	for _, p := range []string{"/redirect", "/landing", "/robots.txt"} {
		h := log.get(addr + p)
		if h.Get("X-Signed") != "sig:"+p || h.Get("Accept") != "" {
			t.Errorf("%s: server got X-Signed %q Accept %q, want %q and none", p, h.Get("X-Signed"), h.Get("Accept"), "sig:"+p)
		}
	}

	t.Run("veto", func(t *testing.T) {
		for _, u := range []string{"http://" + addr + "/forbidden", "http://" + addr + "/redirect?to=/forbidden-hop"} {
			resp, err := c.Fetch(ctx, Request{URL: u})
			if resp != nil || !errors.Is(err, ErrVetoed) || !errors.Is(err, errVeto) || KindOf(err) != KindVetoed || Retryable(err) {
				t.Errorf("Fetch(%s): got %v, %v, want a KindVetoed error wrapping the hook's, not retryable", u, resp, err)
			}
		}
		if n := log.count(addr + "/forbidden"); n != 0 {
			t.Errorf("server got %d vetoed requests, want none", n)
		}
		if n := log.count(addr + "/forbidden-hop"); n != 0 {
			t.Errorf("server got %d vetoed hops, want none", n)
		}
	})
	t.Run("robots.txt vetoed", func(t *testing.T) {
		_, addr2 := shapingServer(t)
		c := newClient(t, Config{Rate: -1, OnRequest: func(context.Context, *http.Request) error { return errVeto }})
		rb, err := c.Robots(ctx, mustURL(t, "http://"+addr2))
		if rb != nil || !errors.Is(err, ErrVetoed) || !errors.Is(err, ErrRobotsUnavailable) || KindOf(err) != KindVetoed || Retryable(err) {
			t.Errorf("got %v, %v, want KindVetoed wrapping ErrRobotsUnavailable, not retryable", rb, err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var calls atomic.Int64
		c := newClient(t, Config{Rate: -1, OnRequest: func(_ context.Context, r *http.Request) error {
			calls.Add(1)
			r.Header.Set("X-N", "1")
			return nil
		}})
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				if _, err := c.Fetch(ctx, Request{URL: fmt.Sprintf("http://%s/c%d", addr, i)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := calls.Load(); n != 16 {
			t.Errorf("got %d calls, want 16", n)
		}
	})
}

// TestProxyConfig: Config.Proxy is used (also with Resolve), and the
// address guard lets the client connect to it; with no Proxy, Resolve
// means no proxy.
func TestProxyConfig(t *testing.T) {
	var got atomic.Value
	proxy := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.String()) // a proxy request carries the absolute URL
		fmt.Fprint(w, "via proxy")
	})
	proxyURL := mustURL(t, proxy.URL)
	_, direct := shapingServer(t)
	broken := func(*http.Request) (*url.URL, error) { return nil, errors.New("environment proxy used") }
	saved := proxyFromEnvironment
	proxyFromEnvironment = broken
	t.Cleanup(func() { proxyFromEnvironment = saved })

	tests := []struct {
		name     string
		cfg      Config
		url      string
		wantBody string
	}{
		{"proxy, guarded", Config{Proxy: http.ProxyURL(proxyURL)}, "http://internal.fetch.test/page", "via proxy"},
		{"proxy with resolve", Config{Proxy: http.ProxyURL(proxyURL), Resolve: map[string]string{"x.fetch.test:80": direct}},
			"http://x.fetch.test/page", "via proxy"},
		{"resolve without proxy", Config{Resolve: map[string]string{"x.fetch.test:80": direct}}, "http://x.fetch.test/page", "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got.Store("")
			tc.cfg.Rate = -1
			c := newGuardedClient(t, tc.cfg)
			resp, err := c.Fetch(context.Background(), Request{URL: tc.url})
			if err != nil || string(resp.Body) != tc.wantBody {
				t.Fatalf("got %v, want body %q", err, tc.wantBody)
			}
			if tc.wantBody == "via proxy" && got.Load() != tc.url {
				t.Errorf("proxy got %q, want %q", got.Load(), tc.url)
			}
		})
	}
	t.Run("IP literal behind the proxy", func(t *testing.T) {
		c := newGuardedClient(t, Config{Rate: -1, Proxy: http.ProxyURL(proxyURL)})
		got.Store("")
		_, err := c.Fetch(context.Background(), Request{URL: "http://10.0.0.1/"})
		if !errors.Is(err, ErrBlockedAddress) || got.Load() != "" {
			t.Errorf("got %v, proxy got %q; want ErrBlockedAddress and nothing sent", err, got.Load())
		}
	})
}

// TestNegativeMeansOff checks the -1 convention of Config's numbers.
func TestNegativeMeansOff(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), (DefaultMaxBody+100_000)/16)
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.Write(big[:1]) // no Content-Length: sent chunked
			w.(http.Flusher).Flush()
			w.Write(big[1:])
			return
		}
		w.Write(big)
	})
	t.Run("MaxBody", func(t *testing.T) {
		for _, tc := range []struct {
			maxBody       int64
			wantLen       int
			wantTruncated bool
		}{
			{0, DefaultMaxBody, true},
			{-1, len(big), false},
		} {
			for _, path := range []string{"/length", "/chunked"} {
				c := newClient(t, Config{Rate: -1, MaxBody: tc.maxBody})
				resp, err := c.Fetch(context.Background(), Request{URL: ts.URL + path})
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Body) != tc.wantLen || resp.Truncated != tc.wantTruncated {
					t.Errorf("MaxBody %d %s: got %d bytes Truncated %v, want %d %v",
						tc.maxBody, path, len(resp.Body), resp.Truncated, tc.wantLen, tc.wantTruncated)
				}
			}
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		for _, tc := range []struct {
			timeout      time.Duration
			wantDeadline time.Duration // 0: none
		}{
			{0, DefaultTimeout},
			{time.Minute, time.Minute},
			{-1, 0},
		} {
			var got time.Duration
			c := newClient(t, Config{Rate: -1, Timeout: tc.timeout, OnRequest: func(ctx context.Context, _ *http.Request) error {
				if d, ok := ctx.Deadline(); ok {
					got = time.Until(d)
				}
				return nil
			}})
			if _, err := c.Fetch(context.Background(), Request{URL: ts.URL + "/length", Method: "HEAD"}); err != nil {
				t.Fatal(err)
			}
			if (tc.wantDeadline == 0) != (got == 0) || got > tc.wantDeadline || got < tc.wantDeadline-10*time.Second {
				t.Errorf("Timeout %v: got a deadline %v from now, want %v", tc.timeout, got, tc.wantDeadline)
			}
		}
	})
	t.Run("MaxConnsPerHost", func(t *testing.T) {
		for _, tc := range []struct{ in, want int }{{0, 0}, {-1, 0}, {4, 4}} {
			if got := newTransport(Config{MaxConnsPerHost: tc.in}, nil).MaxConnsPerHost; got != tc.want {
				t.Errorf("MaxConnsPerHost %d: got %d on the transport, want %d", tc.in, got, tc.want)
			}
		}
	})
	t.Run("Rate", func(t *testing.T) {
		for _, tc := range []struct {
			rate    float64
			limited bool
		}{{0, true}, {5, true}, {-1, false}} {
			c := newClient(t, Config{Rate: tc.rate})
			if c.limited() != tc.limited {
				t.Errorf("Rate %v: got limited %v, want %v", tc.rate, c.limited(), tc.limited)
			}
		}
	})
}

func TestNewJar(t *testing.T) {
	jar := NewJar()
	u := mustURL(t, "https://www.example.co.uk/")
	jar.SetCookies(u, []*http.Cookie{
		{Name: "host", Value: "1"},
		{Name: "suffix", Value: "2", Domain: "co.uk"}, // a public suffix: refused
	})
	var names []string
	for _, ck := range jar.Cookies(mustURL(t, "https://other.co.uk/")) {
		names = append(names, ck.Name)
	}
	if len(names) != 0 {
		t.Errorf("cookies for another site under co.uk: got %v, want none", names)
	}
	names = nil
	for _, ck := range jar.Cookies(u) {
		names = append(names, ck.Name)
	}
	if fmt.Sprint(names) != "[host]" {
		t.Errorf("got cookies %v, want [host]", names)
	}
}
