package crawler_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
	"trawl/store/disk"
)

// BenchmarkManyHosts crawls a site spread over many hosts (200,000 by
// default; TRAWL_MANY_HOSTS sets another number), walking through them in
// order with about 64 hosts active at a time, each with a robots.txt
// fetched (a quarter with a Crawl-delay) and one page, and shows how
// memory grows with the hosts passed. One page per host keeps the queue
// at about 64 URLs (the frontier serves hosts it never served first, so
// a second page per host would wait in the queue until the walk ends),
// so what grows is what the crawl keeps of hosts it is done with.
// It reports the live heap and the process's RSS when 10%, 25%, 50%, 75%
// and 95% of the pages are done, and the growth per host from 25% to 95%.
// With the frontier on disk nothing should grow with the hosts; in memory,
// only the seen-set, about 17 bytes per URL.
//
//	go test -run '^$' -bench ManyHosts -benchtime 1x ./crawler
//
// TRAWL_MANY_HOSTS_HEAP=PREFIX writes a heap profile at each share, to
// PREFIX-memory-50.pprof and so on.
func BenchmarkManyHosts(b *testing.B) {
	hosts := 200_000
	if v := os.Getenv("TRAWL_MANY_HOSTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("TRAWL_MANY_HOSTS=%q: want a number of at least 100", v)
		}
		hosts = n
	}
	site := fixtures.ManyHosts{Hosts: hosts, Width: 64, Pages: 1}
	// A plain server: fixtures.Server records every request, which would
	// grow with the crawl in this process.
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	for _, frontier := range []string{"memory", "disk"} {
		b.Run(frontier, func(b *testing.B) {
			for range b.N {
				manyHosts(b, site, srv, frontier)
			}
		})
	}
}

func manyHosts(b *testing.B, site fixtures.ManyHosts, srv *httptest.Server, frontier string) {
	tr := &http.Transport{
		DialContext:         site.DialContext(srv.Listener.Addr().String()),
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     5 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	var done atomic.Int64
	cfg := crawler.Config{
		Transport:   tr,
		Concurrency: 64,
		PerHost:     2,
		Rate:        -1,
		Scope:       crawler.ScopeDomain,
		Sink: crawler.SinkFunc(func(context.Context, store.Record) error {
			done.Add(1)
			return nil
		}),
	}
	if frontier == "disk" {
		dir := b.TempDir()
		cfg.NewFrontier = func(o store.FrontierOptions) (crawler.Frontier, error) {
			return disk.Open(dir, disk.Options{FrontierOptions: o})
		}
	}
	c, err := crawler.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	pages := int64(site.PageCount())

	// Sample memory as the crawl passes these shares of its pages (after
	// the end the frontier is closed and its memory freed).
	marks := []int{10, 25, 50, 75, 95}
	samples := make([]memSample, len(marks))
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for i := 0; i < len(marks); {
			select {
			case <-stop:
				return
			case <-t.C:
				if done.Load() >= pages*int64(marks[i])/100 {
					samples[i] = sampleMem()
					st := c.Stats()
					b.Logf("%d%% of the pages: %d queued, %d in flight; live heap %.1f MB, RSS %.1f MB",
						marks[i], st.Queued, st.InFlight, float64(samples[i].heap)/1e6, float64(samples[i].rss)/1e6)
					if prefix := os.Getenv("TRAWL_MANY_HOSTS_HEAP"); prefix != "" {
						writeHeapProfile(b, fmt.Sprintf("%s-%s-%d.pprof", prefix, frontier, marks[i]))
					}
					i++
				}
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	runtime.GC()
	start := time.Now()
	stats, err := c.Run(ctx, site.Seeds()...)
	close(stop)
	sampler.Wait()
	if err != nil {
		b.Fatal(err)
	}
	if stats.Fetched != pages {
		b.Fatalf("fetched %d pages, want %d (%+v)", stats.Fetched, pages, stats)
	}
	for i, m := range marks {
		if samples[i].rss == 0 {
			b.Fatalf("no sample at %d%% of the crawl", m)
		}
	}
	// Growth per host from 25% to 95% of the crawl.
	q, l := samples[1], samples[len(samples)-1]
	perHost := func(a, z uint64) float64 {
		return (float64(z) - float64(a)) / (0.70 * float64(site.Hosts))
	}
	b.ReportMetric(float64(site.Hosts), "hosts")
	b.ReportMetric(float64(stats.Fetched)/time.Since(start).Seconds(), "pages/s")
	for i, m := range marks {
		b.ReportMetric(float64(samples[i].heap)/1e6, fmt.Sprintf("MB-heap-%d%%", m))
	}
	b.ReportMetric(perHost(q.heap, l.heap), "B-heap/host")
	for i, m := range marks {
		b.ReportMetric(float64(samples[i].rss)/1e6, fmt.Sprintf("MB-RSS-%d%%", m))
	}
	b.ReportMetric(perHost(q.rss, l.rss), "B-RSS/host")
}

// writeHeapProfile writes the heap profile to path.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Error(err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Error(err)
	}
}

// memSample is the process's resident set size and the live heap.
type memSample struct{ rss, heap uint64 }

// sampleMem collects garbage and reads the live heap and VmRSS.
func sampleMem() memSample {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return memSample{rss: vmRSS(), heap: s[0].Value.Uint64()}
}

// vmRSS returns the resident set size from /proc/self/status, 0 where
// there is none.
func vmRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var kb uint64
		if n, _ := fmt.Sscanf(sc.Text(), "VmRSS: %d kB", &kb); n == 1 {
			return kb << 10
		}
	}
	return 0
}
