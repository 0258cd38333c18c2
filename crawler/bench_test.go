package crawler_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
)

// BenchmarkCrawl crawls a generated 10,000-page site (10 KB pages, 20
// links each) served in-process on loopback, politeness off, and reports
// pages/s. One iteration is one whole crawl.
func BenchmarkCrawl(b *testing.B) { benchCrawl(b, false) }

// BenchmarkCrawlWARC is BenchmarkCrawl archiving every exchange to WARC
// files (store.WARC, gzip level 1) in a temporary directory.
func BenchmarkCrawlWARC(b *testing.B) { benchCrawl(b, true) }

func benchCrawl(b *testing.B, warc bool) {
	site := fixtures.Synthetic{Pages: 10_000, Links: 20, Size: 10_000, Hosts: 4, Seed: 1}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	b.ReportAllocs()
	var pages int64
	for b.Loop() {
		var n atomic.Int64
		var archive crawler.Archive
		if warc {
			w, err := store.OpenWARC(filepath.Join(b.TempDir(), "bench.warc.gz"), store.WARCOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			archive = w
		}
		c, err := crawler.New(crawler.Config{
			Archive:      archive,
			Resolve:      srv.Resolve(site.HostNames()...),
			Concurrency:  16,
			PerHost:      16,
			Rate:         -1,
			IgnoreRobots: true,
			Scope:        crawler.ScopeDomain,
			Sink: crawler.SinkFunc(func(context.Context, store.Record) error {
				n.Add(1)
				return nil
			}),
		})
		if err != nil {
			b.Fatal(err)
		}
		stats, err := c.Run(context.Background(), site.Root())
		if err != nil {
			b.Fatal(err)
		}
		if stats.Fetched < int64(site.Pages) {
			b.Fatalf("fetched %d of %d pages", stats.Fetched, site.Pages)
		}
		pages += stats.Fetched
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pages), "ns/page")
}

func BenchmarkScopeKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if crawler.ScopeKeyForTest(crawler.ScopeDomain, "blog.example.co.uk:8080") != "example.co.uk" {
			b.Fatal("wrong domain")
		}
	}
}
