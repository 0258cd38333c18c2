package crawler_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"trawl/crawler"
	"trawl/fetch"
	"trawl/store"
	"trawl/store/disk"
)

// chainSite serves pages "/" and "/1" ... "/n-1", each linking to the
// next, and counts the requests for pages.
func chainSite(t *testing.T, n int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		i := 0
		if r.URL.Path != "/" {
			if _, err := fmt.Sscanf(r.URL.Path, "/%d", &i); err != nil || i >= n {
				http.NotFound(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<title>page %d</title>", i)
		if i+1 < n {
			fmt.Fprintf(w, `<a href="/%d">next</a>`, i+1)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newCrawler(t *testing.T, cfg crawler.Config) *crawler.Crawler {
	t.Helper()
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRunFlushesSink: the package doc's first example writes its records:
// Run flushes a sink that buffers.
func TestRunFlushesSink(t *testing.T) {
	srv, _ := chainSite(t, 5)
	var buf bytes.Buffer
	c := newCrawler(t, crawler.Config{Rate: -1, Sink: store.NewJSONL(&buf)})
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 5 {
		t.Errorf("%d lines written, want the 5 records", n)
	}
}

// TestSinkNotDurable: a checkpointing frontier with a sink that cannot
// sync is refused before anything is fetched; store.Filter keeps the
// contract.
func TestSinkNotDurable(t *testing.T) {
	srv, hits := chainSite(t, 5)
	dir := t.TempDir()
	f, err := store.OpenFile(filepath.Join(dir, "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := store.NewJSONL(f)
	onDisk := func(opts store.FrontierOptions) (crawler.Frontier, error) {
		return disk.Open(filepath.Join(dir, "state"), disk.Options{FrontierOptions: opts})
	}
	wrapped := crawler.SinkFunc(func(ctx context.Context, r store.Record) error {
		if r.Skipped != "" {
			return nil
		}
		return out.Put(ctx, r)
	})
	c := newCrawler(t, crawler.Config{Rate: -1, Sink: wrapped, NewFrontier: onDisk})
	if _, err := c.Run(context.Background(), srv.URL+"/"); !errors.Is(err, crawler.ErrSinkNotDurable) {
		t.Fatalf("Run with a SinkFunc over a disk frontier: %v, want ErrSinkNotDurable", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d pages fetched before the refusal, want none", n)
	}

	filtered := store.Filter(out, func(r store.Record) bool { return r.Skipped == "" })
	c = newCrawler(t, crawler.Config{Rate: -1, Sink: filtered, NewFrontier: onDisk})
	stats, err := c.Run(context.Background(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 5 || stats.Fetched != 5 {
		t.Errorf("%d lines, %d fetched; want 5 and 5", n, stats.Fetched)
	}
}

// TestFetcherSettings: a custom Fetcher with settings only the default
// fetcher reads is an error; WrapFetcher sees every request of the default.
func TestFetcherSettings(t *testing.T) {
	_, err := crawler.New(crawler.Config{Fetcher: fetch.New(fetch.Config{}), Timeout: 5, Header: http.Header{"X": {"y"}}})
	if err == nil || !strings.Contains(err.Error(), "Timeout, Header would be ignored") || strings.Contains(err.Error(), "\n") {
		t.Errorf("New: %v, want one line naming Timeout and Header", err)
	}

	srv, _ := chainSite(t, 3)
	var fetches, robots atomic.Int64
	c := newCrawler(t, crawler.Config{Rate: -1, WrapFetcher: func(f crawler.Fetcher) crawler.Fetcher {
		return countingFetcher{f, &fetches, &robots}
	}})
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	// The 3 pages and the probe of /sitemap.xml.
	if fetches.Load() != 4 || robots.Load() != 4 {
		t.Errorf("wrapper saw %d fetches and %d robots.txt lookups, want 4 and 4", fetches.Load(), robots.Load())
	}
}

type countingFetcher struct {
	crawler.Fetcher
	fetches, robots *atomic.Int64
}

func (f countingFetcher) Fetch(ctx context.Context, req fetch.Request) (*fetch.Response, error) {
	f.fetches.Add(1)
	return f.Fetcher.Fetch(ctx, req)
}

func (f countingFetcher) Robots(ctx context.Context, u *url.URL) (*fetch.Robots, error) {
	f.robots.Add(1)
	return f.Fetcher.Robots(ctx, u)
}

// TestHooks: headers and cookies reach the server, OnRequest can veto,
// OnResponse sees every response and OnError every failure with its kind.
func TestHooks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()
	var mu sync.Mutex
	seen := map[string]string{} // path -> what the server saw
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie("session")
		mu.Lock()
		seen[r.URL.Path] = fmt.Sprintf("lang=%s token=%s cookie=%v", r.Header.Get("Accept-Language"), r.Header.Get("X-Token"), c != nil)
		mu.Unlock()
		switch r.URL.Path {
		case "/":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "1", Path: "/"})
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<a href="/next">next</a> <a href="/secret">secret</a> <a href="/data.bin">data</a> <a href="/missing">x</a>`)
		case "/next":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<title>next</title>")
		case "/data.bin":
			w.Header().Set("Content-Type", "application/octet-stream")
			fmt.Fprint(w, "\x00\x01")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	var responses, kinds []string
	sink := &records{}
	c := newCrawler(t, crawler.Config{
		Rate:    -1,
		Retries: -1,
		Header:  http.Header{"Accept-Language": {"fr"}},
		OnRequest: func(_ context.Context, req *http.Request) error {
			if req.URL.Path == "/secret" {
				return errors.New("no secrets")
			}
			req.Header.Set("X-Token", "t")
			return nil
		},
		OnResponse: func(_ context.Context, resp *fetch.Response) error {
			mu.Lock()
			defer mu.Unlock()
			responses = append(responses, fmt.Sprintf("%s %d %d", strings.TrimPrefix(resp.URL, srv.URL), resp.Status, len(resp.Body)))
			return nil
		},
		OnError: func(_ context.Context, u string, err error) error {
			mu.Lock()
			defer mu.Unlock()
			kinds = append(kinds, fetch.KindOf(err).String())
			return nil
		},
		Sink: sink,
	})
	if _, err := c.Run(context.Background(), srv.URL+"/", refused); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := seen["/next"], "lang=fr token=t cookie=true"; got != want {
		t.Errorf("the server saw %q for /next, want %q", got, want)
	}
	if _, ok := seen["/secret"]; ok {
		t.Error("the vetoed /secret reached the server")
	}
	recs := sink.byKey(t)
	if r := recs[key(t, srv.URL+"/secret")]; r.Skipped != crawler.SkipVetoed {
		t.Errorf("/secret: got %+v, want skipped %s", r, crawler.SkipVetoed)
	}
	slices.Sort(responses)
	if got, want := strings.Join(responses, ", "), "/ 200 "; !strings.HasPrefix(got, want) || !strings.Contains(got, "/data.bin 200 2") || !strings.Contains(got, "/missing 404") {
		t.Errorf("OnResponse saw %s; want every response, the binary and the 404 included", got)
	}
	slices.Sort(kinds)
	if strings.Join(kinds, ",") != "refused,vetoed" {
		t.Errorf("OnError saw kinds %v, want [refused vetoed]: the closed port and the veto", kinds)
	}
}

// TestErrStop: a hook's ErrStop ends the crawl cleanly; the page that
// asked keeps its record and Data.
func TestErrStop(t *testing.T) {
	srv, _ := chainSite(t, 50)
	sink := &records{}
	c := newCrawler(t, crawler.Config{
		Rate: -1,
		OnPage: func(_ context.Context, p *crawler.Page) error {
			if p.HTML.Title == "page 3" {
				p.Data = "enough"
				return crawler.ErrStop
			}
			return nil
		},
		Sink: sink,
	})
	stats, err := c.Run(context.Background(), srv.URL+"/")
	if err != nil || stats.Stopped != crawler.StopRequested {
		t.Fatalf("Run: %v, stopped %q; want nil and %q", err, stats.Stopped, crawler.StopRequested)
	}
	recs := sink.byKey(t)
	if r := recs[key(t, srv.URL+"/3")]; r.Data != "enough" || r.Status != 200 {
		t.Errorf("/3: got %+v, want its record with the hook's Data", r)
	}
	if _, ok := recs[key(t, srv.URL+"/4")]; ok || len(recs) != 4 {
		t.Errorf("%d records, want the 4 up to the stop", len(recs))
	}
}

// TestSeedCredentials: a seed's user:password is sent to its host only and
// never written in a record.
func TestSeedCredentials(t *testing.T) {
	var mu sync.Mutex
	auth := map[string]string{} // host -> Authorization seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth[r.Host+r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/" {
			fmt.Fprint(w, `<a href="http://other.trawl.test/">elsewhere</a>`)
		}
	}))
	defer srv.Close()
	sink := &records{}
	seed := strings.Replace(srv.URL, "http://", "http://alice:s3cret@", 1) + "/"
	c := newCrawler(t, crawler.Config{
		Rate:    -1,
		Scope:   crawler.ScopeAny,
		Resolve: map[string]string{"other.trawl.test:80": srv.Listener.Addr().String()},
		Sink:    sink,
	})
	if _, err := c.Run(context.Background(), seed); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	host := strings.TrimPrefix(srv.URL, "http://")
	if got := auth[host+"/"]; !strings.HasPrefix(got, "Basic ") {
		t.Errorf("the seed's host got Authorization %q, want Basic credentials", got)
	}
	if got := auth["other.trawl.test/"]; got != "" {
		t.Errorf("another host got Authorization %q, want none", got)
	}
	for _, r := range sink.all() {
		if strings.Contains(r.URL+r.Parent, "s3cret") || strings.Contains(r.URL+r.Parent, "alice") {
			t.Errorf("record %+v carries the credentials", r)
		}
	}
}

// TestImportsNoDatabase: a program that crawls in memory links no
// embedded database.
func TestImportsNoDatabase(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "trawl/crawler", "trawl/store").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "pebble") || strings.Contains(p, "sentry") || strings.Contains(p, "prometheus") {
			t.Errorf("trawl/crawler and trawl/store import %s", p)
		}
	}
}
