package redis

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"trawl/crawler"
	"trawl/fetch"
	"trawl/store"
	"trawl/store/redis/redistest"
	"trawl/store/storetest"
)

var (
	_ crawler.Outbox    = (*Frontier)(nil)
	_ fetch.RobotsCache = (*Frontier)(nil)
)

// ftCrawls numbers the crawls the tests make, so that tests sharing a
// server do not meet.
var ftCrawls atomic.Int64

func ftCrawlName() string { return fmt.Sprintf("t%d", ftCrawls.Add(1)) }

// ftSuiteOptions turns the suite's options into a Redis frontier's for
// crawl: the suite's zero LeaseTTL means store.DefaultLeaseTTL, which is
// not this package's default, and lease extension stays off (the suite's
// clock does not follow the wall clock).
func ftSuiteOptions(opts store.FrontierOptions, crawl string) Options {
	if opts.LeaseTTL == 0 {
		opts.LeaseTTL = store.DefaultLeaseTTL
	}
	return Options{FrontierOptions: opts, Crawl: crawl, Worker: "w-" + crawl, ExtendEvery: -1, MaxOutage: -1}
}

// ftClocked is a frontier on miniredis whose clock (Redis TIME) is set
// from the suite's fake clock before every call: the frontier itself
// has Now nil and takes its time from Redis, as in production.
type ftClocked struct {
	*Frontier
	mr   *miniredis.Miniredis
	c    *goredis.Client
	now  func() time.Time
	opts Options
}

func (f *ftClocked) tick() { f.mr.SetTime(f.now()) }

func (f *ftClocked) Push(ctx context.Context, es []store.Entry) (int, error) {
	f.tick()
	return f.Frontier.Push(ctx, es)
}

func (f *ftClocked) MarkSeen(ctx context.Context, key string) (bool, error) {
	f.tick()
	return f.Frontier.MarkSeen(ctx, key)
}

func (f *ftClocked) Claim(ctx context.Context, n int) ([]store.Lease, time.Time, error) {
	f.tick()
	return f.Frontier.Claim(ctx, n)
}

func (f *ftClocked) Ack(ctx context.Context, l store.Lease, o store.Outcome) error {
	f.tick()
	return f.Frontier.Ack(ctx, l, o)
}

func (f *ftClocked) Retry(ctx context.Context, l store.Lease, at time.Time, hostBackoff bool) error {
	f.tick()
	return f.Frontier.Retry(ctx, l, at, hostBackoff)
}

func (f *ftClocked) Release(ctx context.Context, l store.Lease, at time.Time) error {
	f.tick()
	return f.Frontier.Release(ctx, l, at)
}

func (f *ftClocked) SetHostInterval(ctx context.Context, host string, d time.Duration) error {
	f.tick()
	return f.Frontier.SetHostInterval(ctx, host, d)
}

func (f *ftClocked) Stats(ctx context.Context) (store.FrontierStats, error) {
	f.tick()
	return f.Frontier.Stats(ctx)
}

func (f *ftClocked) Close() error {
	f.tick()
	return f.Frontier.Close()
}

// ftOpenClocked opens a frontier for the suite on a fresh miniredis.
func ftOpenClocked(t *testing.T, opts store.FrontierOptions) *ftClocked {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { c.Close() })
	f := &ftClocked{mr: mr, c: c, now: opts.Now}
	opts.Now = nil
	f.opts = ftSuiteOptions(opts, ftCrawlName())
	f.reopen(t)
	return f
}

func (f *ftClocked) reopen(t *testing.T) {
	t.Helper()
	f.tick()
	fr, err := Open(context.Background(), f.c, f.opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	f.Frontier = fr
}

// TestConformanceMiniredis runs the conformance suite on miniredis, with
// Redis's clock (TIME in the scripts) driven by the suite's.
func TestConformanceMiniredis(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts store.FrontierOptions) storetest.Frontier {
			return ftOpenClocked(t, opts)
		},
		Reopen: func(t *testing.T, sf storetest.Frontier, opts store.FrontierOptions) storetest.Frontier {
			f := sf.(*ftClocked)
			f.Close()
			f.reopen(t)
			return f
		},
	})
}

// TestConformanceRedis runs the conformance suite on a real redis-server,
// with the suite's clock passed to the scripts (Options.Now).
func TestConformanceRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client(t)
	open := func(t *testing.T, opts Options) *Frontier {
		t.Helper()
		f, err := Open(context.Background(), c, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return f
	}
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts store.FrontierOptions) storetest.Frontier {
			return open(t, ftSuiteOptions(opts, ftCrawlName()))
		},
		Reopen: func(t *testing.T, sf storetest.Frontier, opts store.FrontierOptions) storetest.Frontier {
			f := sf.(*Frontier)
			f.Close()
			return open(t, f.opts)
		},
	})
}
