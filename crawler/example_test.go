package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"trawl/crawler"
	"trawl/fetch"
	"trawl/parse"
	"trawl/store"
	"trawl/store/disk"
)

// Crawl a site and collect the titles of its pages. The site is a test
// server on this machine; give your own site's URL to Run instead.
func Example() {
	pages := map[string]string{
		"/":       `<title>Home</title><a href="/about">About</a> <a href="/blog/">Blog</a>`,
		"/about":  `<title>About us</title><a href="/">Home</a>`,
		"/blog/":  `<title>Blog</title><a href="/blog/1">First post</a>`,
		"/blog/1": `<title>First post</title>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r) // robots.txt too: everything is allowed
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	}))
	defer srv.Close()

	var mu sync.Mutex
	var titles []string
	c, err := crawler.New(crawler.Config{
		Rate: -1, // no limit for a local test server; real sites get the polite default
		Sink: crawler.SinkFunc(func(_ context.Context, r store.Record) error {
			mu.Lock()
			defer mu.Unlock()
			titles = append(titles, r.Title)
			return nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	stats, err := c.Run(context.Background(), srv.URL+"/")
	if err != nil {
		fmt.Println(err)
		return
	}
	slices.Sort(titles)
	fmt.Println(strings.Join(titles, ", "))
	fmt.Printf("%d fetched\n", stats.Fetched)
	// Output:
	// About us, Blog, First post, Home
	// 4 fetched
}

// New checks a Config once, and says everything wrong with it on one line.
func ExampleNew() {
	_, err := crawler.New(crawler.Config{
		Concurrency: -4,
		Method:      "POST",
		Fetcher:     fetch.New(fetch.Config{}),
		UserAgent:   "mybot/1.0", // the Fetcher would never send it
	})
	fmt.Println(err)
	// Output:
	// crawler: config: Concurrency -4 is negative; Method "POST": want GET or HEAD; Fetcher is set, so UserAgent would be ignored (they configure the default fetcher; use WrapFetcher to add to it)
}

// Extract your own data from each page with its goquery document, and
// keep the crawler out of part of the site.
func ExampleConfig_onPage() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, `<h1> Products </h1><a href="/p/1">One</a> <a href="/admin/">Admin</a>`)
		case "/p/1":
			fmt.Fprint(w, `<h1>Product one</h1><span class="price">9.99</span>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	var mu sync.Mutex
	var lines []string
	c, err := crawler.New(crawler.Config{
		Rate: -1,
		OnPage: func(_ context.Context, p *crawler.Page) error {
			doc := p.HTML.Document()
			p.Data = map[string]string{
				"heading": strings.TrimSpace(doc.Find("h1").First().Text()),
				"price":   doc.Find(".price").Text(),
			}
			// Veto links: no admin pages.
			p.Links = slices.DeleteFunc(p.Links, func(l parse.Link) bool { return strings.Contains(l.URL, "/admin/") })
			return nil
		},
		Sink: crawler.SinkFunc(func(_ context.Context, r store.Record) error {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, fmt.Sprintf("%s %v", strings.TrimPrefix(r.URL, srv.URL), r.Data))
			return nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		fmt.Println(err)
	}
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// / map[heading:Products price:]
	// /p/1 map[heading:Product one price:9.99]
}

// A sink of your own: here, count the records by outcome. With a
// checkpointing frontier, wrap a store sink with store.Filter instead, so
// that records stay exactly once across crashes.
func ExampleSinkFunc() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<a href="/gone">gone</a> <a href="/moved">moved</a>`)
		case "/moved":
			http.Redirect(w, r, "/", http.StatusMovedPermanently)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	var mu sync.Mutex
	count := map[int]int{}
	c, err := crawler.New(crawler.Config{
		Rate: -1,
		Sink: crawler.SinkFunc(func(_ context.Context, r store.Record) error {
			mu.Lock()
			defer mu.Unlock()
			count[r.Status]++
			return nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		fmt.Println(err)
	}
	fmt.Println(count)
	// Output:
	// map[200:1 301:1 404:1]
}

// Send headers and cookies with every request, and change or veto
// requests on their way out.
func ExampleConfig_onRequest() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<title>%s %s</title><a href="/private/x">x</a>`, r.Header.Get("Accept-Language"), r.Header.Get("X-Token"))
	}))
	defer srv.Close()

	c, err := crawler.New(crawler.Config{
		Rate:   -1,
		Header: http.Header{"Accept-Language": {"fr"}},
		OnRequest: func(_ context.Context, req *http.Request) error {
			if strings.HasPrefix(req.URL.Path, "/private/") {
				return errors.New("not there") // vetoed: recorded as skipped
			}
			req.Header.Set("X-Token", "s3cret")
			return nil
		},
		Sink: crawler.SinkFunc(func(_ context.Context, r store.Record) error {
			fmt.Printf("%s title=%q skipped=%q\n", strings.TrimPrefix(r.URL, srv.URL), r.Title, r.Skipped)
			return nil
		}),
		Concurrency: 1, // one record at a time, for the example's output
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// / title="fr s3cret" skipped=""
	// /private/x title="" skipped="vetoed"
}

// Learn what went wrong with a fetch from the kind of its error.
func ExampleConfig_onError() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	closed := "http://" + ln.Addr().String() + "/" // nothing listens there once closed
	ln.Close()

	c, err := crawler.New(crawler.Config{
		Retries: -1, // no retries: one attempt, one error
		OnError: func(_ context.Context, u string, err error) error {
			var fe *fetch.Error
			if errors.As(err, &fe) {
				fmt.Println("error kind:", fe.Kind)
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	stats, err := c.Run(context.Background(), closed)
	fmt.Println(stats.Errors, "error records,", err)
	// Output:
	// error kind: refused
	// 1 error records, <nil>
}

// Stop a crawl from a hook once it has found what it looks for: the page
// that asked keeps its record, and Run returns no error.
func ExampleErrStop() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		n := len(r.URL.Path)
		fmt.Fprintf(w, `<title>page %d</title><a href="%sx">next</a>`, n, r.URL.Path)
		if n == 4 {
			fmt.Fprint(w, `<p>the answer</p>`)
		}
	}))
	defer srv.Close()

	c, err := crawler.New(crawler.Config{
		Rate:         -1,
		IgnoreRobots: true,
		OnPage: func(_ context.Context, p *crawler.Page) error {
			if strings.Contains(p.HTML.Document().Text(), "the answer") {
				p.Data = "found"
				return crawler.ErrStop
			}
			return nil
		},
		Sink: crawler.SinkFunc(func(_ context.Context, r store.Record) error {
			if r.Data != nil {
				fmt.Println(strings.TrimPrefix(r.URL, srv.URL), r.Title, r.Data)
			}
			return nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	stats, err := c.Run(context.Background(), srv.URL+"/")
	fmt.Println(stats.Stopped, err)
	// Output:
	// /xxx page 4 found
	// stop <nil>
}

// Keep the crawl's state on disk, so that running the same crawl again
// after a stop, a crash or kill -9 continues it: disk.Frontier is the
// frontier, and a store.File under the sink lets a resumed crawl cut the
// output back to what the state accounts for.
func ExampleConfig_newFrontier() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/a">a</a> <a href="/b">b</a>`)
	}))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "trawl-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	crawl := func() (crawler.Stats, error) {
		f, err := store.OpenFile(filepath.Join(dir, "pages.jsonl"))
		if err != nil {
			return crawler.Stats{}, err
		}
		defer f.Close()
		c, err := crawler.New(crawler.Config{
			Rate:         -1,
			IgnoreRobots: true,
			Sink:         store.NewJSONL(f),
			NewFrontier: func(opts store.FrontierOptions) (crawler.Frontier, error) {
				return disk.Open(filepath.Join(dir, "state"), disk.Options{FrontierOptions: opts})
			},
		})
		if err != nil {
			return crawler.Stats{}, err
		}
		return c.Run(context.Background(), srv.URL+"/")
	}
	first, err := crawl()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("first run: fetched %d\n", first.Fetched)
	again, err := crawl() // nothing left to do: it was all saved
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("second run: resumed %d done, %d queued; fetched %d\n", again.Resumed.Done, again.Resumed.Queued, again.Fetched)
	// Output:
	// first run: fetched 3
	// second run: resumed 3 done, 0 queued; fetched 0
}

// Archive a crawl as WARC, extract fields from its pages, and keep both
// exactly once across crashes with a frontier on disk. Each record of a
// response says where in the WARC files its response is.
func ExampleConfig_archive() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<h1>Page %s</h1><span class="price">%d</span><a href="/a">a</a> <a href="/b">b</a>`, r.URL.Path, len(r.URL.Path))
	}))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "trawl-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	f, err := store.OpenFile(filepath.Join(dir, "pages.jsonl"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	w, err := store.OpenWARC(filepath.Join(dir, "site.warc.gz"), store.WARCOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	price, err := parse.ParseExtractor("price=.price", false)
	if err != nil {
		fmt.Println(err)
		return
	}
	var mu sync.Mutex
	var lines []string
	c, err := crawler.New(crawler.Config{
		Rate:         -1,
		IgnoreRobots: true,
		NoSitemaps:   true,
		Sink: store.Filter(store.NewJSONL(f), func(r store.Record) bool {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, fmt.Sprintf("%s %v in %s", strings.TrimPrefix(r.URL, srv.URL), r.Data, r.WARCFile))
			return true
		}),
		Archive: w,
		Extract: []parse.Extractor{price},
		NewFrontier: func(opts store.FrontierOptions) (crawler.Frontier, error) {
			return disk.Open(filepath.Join(dir, "state"), disk.Options{FrontierOptions: opts})
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		fmt.Println(err)
		return
	}
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// / map[price:1] in site-00000.warc.gz
	// /a map[price:2] in site-00000.warc.gz
	// /b map[price:2] in site-00000.warc.gz
}
