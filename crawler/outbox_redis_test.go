package crawler_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
	"trawl/store/redis"
)

// TestOutboxRedisTwoRuns: two Runs share one crawl on Redis (miniredis),
// each exporting into its own output; the two outputs together hold each
// URL's record exactly once.
func TestOutboxRedisTwoRuns(t *testing.T) {
	mr := miniredis.RunT(t)
	url := "redis://" + mr.Addr() + "/0"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	probe, err := redis.Dial(ctx, url, redis.Options{Crawl: "probe"})
	if err != nil && strings.Contains(err.Error(), "not implemented") {
		t.Skip("store/redis's frontier is not written yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	probe.Close()

	site := outboxSite
	site.Latency = 5 * time.Millisecond
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	want := referenceURLs(t, outboxConfig(srv))

	var wg sync.WaitGroup
	paths := make([]string, 2)
	stats := make([]crawler.Stats, 2)
	errs := make([]error, 2)
	for i := range paths {
		out, path := outputFile(t, fmt.Sprintf("out%d.jsonl", i))
		paths[i] = path
		cfg := outboxConfig(srv)
		cfg.PerHost = 8 // for both runs together: each has 8 workers
		// A rate the runs share, for both to take part: a run without
		// work waits for the next host to be ready, at most a second.
		cfg.Rate = 30
		cfg.Sink = out
		cfg.ExportName = fmt.Sprint("run", i)
		cfg.NewFrontier = func(opts store.FrontierOptions) (crawler.Frontier, error) {
			return redis.Dial(ctx, url, redis.Options{FrontierOptions: opts, Crawl: "two", Worker: fmt.Sprint("w", i)})
		}
		c, err := crawler.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { stats[i], errs[i] = c.Run(ctx, site.Root()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	got := slices.Concat(fileURLs(t, paths[0]), fileURLs(t, paths[1]))
	slices.Sort(got)
	if dup := duplicates(got); len(dup) > 0 {
		t.Errorf("URLs recorded twice: %v", dup)
	}
	if !slices.Equal(got, want) {
		t.Errorf("the outputs hold %d records, want the %d of a crawl on one frontier, each URL once", len(got), len(want))
	}
	if n := stats[0].Records() + stats[1].Records(); n != int64(len(want)) {
		t.Errorf("the runs counted %d and %d records, %d in all; want %d", stats[0].Records(), stats[1].Records(), n, len(want))
	}
	if stats[0].Fetched == 0 || stats[1].Fetched == 0 {
		t.Errorf("run 0 fetched %d, run 1 %d: want both to take part", stats[0].Fetched, stats[1].Fetched)
	}
}
