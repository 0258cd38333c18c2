package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"trawl/fixtures"
	"trawl/parse"
)

// bareLoop fetches every page once with Concurrency goroutines sharing one
// tuned http.Transport, reading each body to io.Discard: the fetch limit,
// with no parsing, no frontier and no records.
func bareLoop(ctx context.Context, o Options, addr string) (*Baseline, error) {
	site := o.synthetic()
	resolve := make(map[string]string, o.Hosts)
	for _, h := range site.HostNames() {
		resolve[h+":80"] = addr
	}
	tr := &http.Transport{
		DialContext:         fixtures.DialFunc(resolve),
		MaxIdleConns:        0, // no limit in all
		MaxIdleConnsPerHost: o.Concurrency,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	urls := make([]string, o.Pages)
	for i := range urls {
		urls[i] = site.URL(i)
	}

	var next, done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	cpu0 := cpuTime()
	start := time.Now()
	for range o.Concurrency {
		g.Go(func() error {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(urls)) {
					return nil
				}
				req, err := http.NewRequestWithContext(gctx, http.MethodGet, urls[i], nil)
				if err != nil {
					return fmt.Errorf("bench: bare loop: %w", err)
				}
				resp, err := hc.Do(req)
				if err != nil {
					return fmt.Errorf("bench: bare loop: %w", err)
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					return fmt.Errorf("bench: bare loop: %s: %w", urls[i], err)
				}
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("bench: bare loop: %s: status %d", urls[i], resp.StatusCode)
				}
				done.Add(1)
			}
		})
	}
	err := g.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	if err != nil {
		return nil, err
	}
	return newBaseline(done.Load(), elapsed, cpu), nil
}

// parseOnly runs parse.HTML over every page on this one goroutine, with
// no fetching: the per-core parsing limit. Pages are generated in batches
// outside the timed part.
func parseOnly(ctx context.Context, o Options) (*Baseline, error) {
	site := o.synthetic()
	const batch = 256
	bodies := make([][]byte, 0, batch)
	urls := make([]*url.URL, 0, batch)
	var elapsed, cpu time.Duration
	var n int64
	for first := 0; first < o.Pages; first += batch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("bench: parse only: %w", err)
		}
		bodies, urls = bodies[:0], urls[:0]
		for i := first; i < min(first+batch, o.Pages); i++ {
			u, err := url.Parse(site.URL(i))
			if err != nil {
				return nil, fmt.Errorf("bench: parse only: %w", err)
			}
			bodies, urls = append(bodies, site.Page(i)), append(urls, u)
		}
		cpu0 := cpuTime()
		start := time.Now()
		for j, body := range bodies {
			p, err := parse.HTML(body, "text/html; charset=utf-8", urls[j])
			if err != nil {
				return nil, fmt.Errorf("bench: parse only: %w", err)
			}
			if len(p.Links) == 0 {
				return nil, fmt.Errorf("bench: parse only: %s: no links found", urls[j])
			}
			n++
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
	}
	return newBaseline(n, elapsed, cpu), nil
}

func newBaseline(pages int64, elapsed, cpu time.Duration) *Baseline {
	b := &Baseline{Pages: pages, Elapsed: elapsed}
	if s := elapsed.Seconds(); s > 0 {
		b.PagesPerSec = float64(pages) / s
	}
	if pages > 0 {
		b.CPUPer1000 = cpu.Seconds() * 1000 / float64(pages)
	}
	return b
}
