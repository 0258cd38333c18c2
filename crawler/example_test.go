package crawler_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
	"trawl/store/disk"
)

// Crawl a site and collect the titles of its pages. The fixture server
// stands in for a real site: drop Resolve to crawl your own.
func Example() {
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer srv.Close()

	var mu sync.Mutex
	var titles []string
	c, err := crawler.New(crawler.Config{
		Resolve:  srv.Resolve(fixtures.WWW, fixtures.Blog),
		MaxDepth: 1,  // the seed and the pages it links to
		Rate:     50, // requests per second per host; the default is 2
		Sink: crawler.SinkFunc(func(_ context.Context, r store.Record) error {
			if r.Title != "" {
				mu.Lock()
				titles = append(titles, r.Title)
				mu.Unlock()
			}
			return nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	stats, err := c.Run(context.Background(), "http://www.trawl.test/")
	if err != nil {
		fmt.Println(err)
		return
	}
	slices.Sort(titles)
	fmt.Println(strings.Join(titles, "\n"))
	fmt.Printf("fetched %d, skipped %v\n", stats.Fetched, stats.Skipped)
	// Output:
	// About Trawl
	// Community
	// Contact
	// Documentation
	// Guide: Introduction
	// International Pages
	// Legacy Documentation Index
	// Link Partners
	// Products
	// Trawl: Polite Web Crawling
	// Welcome to the New Landing Page
	// fetched 18, skipped map[depth:14 robots:1]
}

// Extract your own data from each page with its goquery document, and
// keep the crawler out of part of the site.
func ExampleConfig_onPage() {
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer srv.Close()

	c, err := crawler.New(crawler.Config{
		Resolve: srv.Resolve(fixtures.WWW, fixtures.Blog),
		Rate:    -1, // the fixture server may be hammered; real sites may not
		OnPage: func(_ context.Context, p *crawler.Page) error {
			// Attach the page's first heading to its record.
			p.Data = strings.TrimSpace(p.HTML.Document().Find("h1").First().Text())
			return nil
		},
		Sink: crawler.SinkFunc(func(_ context.Context, r store.Record) error {
			if r.URL == "http://www.trawl.test/" {
				fmt.Printf("%s: %v\n", r.URL, r.Data)
			}
			return nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Run(context.Background(), "http://www.trawl.test/"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// http://www.trawl.test/: Trawl: Polite Web Crawling
}

// Keep the crawl's state on disk, so that running the same crawl again
// after a stop, a crash or kill -9 continues it: disk.Frontier is the
// frontier, and a store.File under the sink lets a resumed crawl cut the
// output back to what the state accounts for.
func ExampleConfig_newFrontier() {
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
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
			Resolve:  srv.Resolve(fixtures.WWW, fixtures.Blog),
			MaxDepth: 1,
			Rate:     50,
			Sink:     store.NewJSONL(f),
			NewFrontier: func(opts store.FrontierOptions) (crawler.Frontier, error) {
				return disk.Open(filepath.Join(dir, "state"), disk.Options{FrontierOptions: opts})
			},
		})
		if err != nil {
			return crawler.Stats{}, err
		}
		return c.Run(context.Background(), "http://www.trawl.test/")
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
	// first run: fetched 18
	// second run: resumed 19 done, 0 queued; fetched 0
}
