package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"trawl/fixtures"
)

// Control paths of a site started with Serve. They never collide with the
// site's pages, which all live under /p/.
const (
	pathSite  = "/_bench/site"  // GET: the site's parameters, JSON (siteInfo)
	pathHits  = "/_bench/hits"  // GET: the hit counters, JSON (hitsInfo)
	pathReset = "/_bench/reset" // POST: zero the hit counters
)

// siteInfo is what pathSite answers: the fields that decide the site's
// bytes, so a crawl can check it is measuring the site it thinks it is.
type siteInfo struct {
	Pages     int   `json:"pages"`
	Links     int   `json:"links"`
	Size      int   `json:"size"`
	Hosts     int   `json:"hosts"`
	Seed      int64 `json:"seed"`
	LatencyNS int64 `json:"latency_ns"`
}

func infoOf(o Options) siteInfo {
	return siteInfo{Pages: o.Pages, Links: o.Links, Size: o.Size, Hosts: o.Hosts, Seed: o.Seed, LatencyNS: int64(o.Latency)}
}

// hitsInfo is what pathHits answers.
type hitsInfo struct {
	Hits  []uint32 `json:"hits"`  // requests per page index
	Other int64    `json:"other"` // requests that named no page of the site
}

// counter counts the requests for each page of a synthetic site. It is
// safe for concurrent use.
type counter struct {
	site  fixtures.Synthetic
	hosts []string // site.HostNames(), so counting allocates nothing
	hits  []atomic.Uint32
	other atomic.Int64
	dup   int // test hook: page dup-1 counts every hit twice; 0 means none
	info  siteInfo
}

func newCounter(o Options) *counter {
	site := o.synthetic()
	return &counter{site: site, hosts: site.HostNames(), hits: make([]atomic.Uint32, o.Pages), dup: o.dupPage, info: infoOf(o)}
}

// count records one request for host and path: a hit for the page it
// names if it is a page of the site on its own host, else an "other".
func (c *counter) count(host, path string) {
	i, ok := c.page(host, path)
	if !ok {
		c.other.Add(1)
		return
	}
	c.hits[i].Add(1)
	if c.dup == i+1 {
		c.hits[i].Add(1)
	}
}

// page returns the index of the page that host and path name.
func (c *counter) page(host, path string) (int, bool) {
	num, ok := strings.CutPrefix(path, "/p/")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i >= len(c.hits) || strconv.Itoa(i) != num {
		return 0, false
	}
	return i, host == c.hosts[i%len(c.hosts)]
}

// pageOfURL returns the page index of an absolute page URL as the crawler
// records it ("http://h3.bench.test/p/7", a fragment ignored).
func (c *counter) pageOfURL(u string) (int, bool) {
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		return 0, false
	}
	rest, _, _ = strings.Cut(rest, "#")
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return 0, false
	}
	return c.page(fixtures.Hostname(rest[:slash]), rest[slash:])
}

// snapshot copies the counters.
func (c *counter) snapshot() hitsInfo {
	h := hitsInfo{Hits: make([]uint32, len(c.hits)), Other: c.other.Load()}
	for i := range c.hits {
		h.Hits[i] = c.hits[i].Load()
	}
	return h
}

// reset zeroes the counters. Requests in flight may still count.
func (c *counter) reset() {
	for i := range c.hits {
		c.hits[i].Store(0)
	}
	c.other.Store(0)
}

// handler serves the synthetic site, counting every request, and the
// control paths.
func (c *counter) handler() http.Handler {
	site := c.site.Handler()
	info, _ := json.Marshal(c.info)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_bench/") {
			c.control(w, r, info)
			return
		}
		c.count(fixtures.Hostname(r.Host), r.URL.Path)
		site.ServeHTTP(w, r)
	})
}

// control answers the control paths.
func (c *counter) control(w http.ResponseWriter, r *http.Request, info []byte) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.URL.Path == pathSite && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(info)
	case r.URL.Path == pathHits && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.snapshot())
	case r.URL.Path == pathReset && r.Method == http.MethodPost:
		c.reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "bench: unknown control request", http.StatusNotFound)
	}
}

// Server serves a synthetic site on loopback, counting the requests for
// each page, until the context given to Serve ends. Besides the pages it
// answers GET /_bench/site (the site's parameters as JSON), GET
// /_bench/hits (requests per page index and other requests, JSON) and POST
// /_bench/reset (zero the counts), which Run uses to verify a crawl of an
// external site. Only one Run at a time should use a Server. Its methods are
// safe for concurrent use.
type Server struct {
	c    *counter
	addr net.Addr
	done chan struct{}
	err  error // set before done is closed
}

// Serve starts serving the synthetic site described by o (defaults
// applied; Concurrency, Site and Baselines are ignored) on addr, a loopback
// "IP:PORT" (port 0 picks a free port), and returns once it is listening.
// The site is served until ctx ends; then Serve's goroutine cancels the
// requests in flight, shuts the server down and Wait returns. The caller
// must end ctx and should call Wait.
func Serve(ctx context.Context, addr string, o Options) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkLoopback(addr, true); err != nil {
		return nil, fmt.Errorf("bench: serve: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: serve: %w", err)
	}
	s := &Server{c: newCounter(o), addr: ln.Addr(), done: make(chan struct{})}
	reqCtx, cancelReqs := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           s.c.handler(),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go func() {
		defer close(s.done)
		select {
		case <-ctx.Done():
		case err := <-served: // the listener failed
			cancelReqs()
			s.err = fmt.Errorf("bench: serve %s: %w", s.addr, err)
			return
		}
		cancelReqs() // requests waiting out Latency return now
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = fmt.Errorf("bench: serve %s: %w", s.addr, err)
		}
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// Wait blocks until the server has shut down after its context ended, and
// returns the error that stopped it early, if any.
func (s *Server) Wait() error {
	<-s.done
	return s.err
}

// checkLoopback accepts only "IP:PORT" with a loopback IP (127.0.0.0/8 or
// ::1): the benchmark loads its target as hard as it can, so it never
// points at another machine. Port 0 is allowed only if zeroPort.
func checkLoopback(addr string, zeroPort bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want 127.0.0.1:PORT: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback IP address (want 127.0.0.1:PORT): the benchmark only loads this machine", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (p == 0 && !zeroPort) {
		return fmt.Errorf("address %q: bad port %q", addr, port)
	}
	return nil
}
