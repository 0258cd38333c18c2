package redis

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"trawl/store"
	"trawl/store/redis/redistest"
)

// BenchmarkPushClaimAck measures a page's way through the frontier:
// pushed, claimed and acked (with a record). "batch" pushes and claims
// 64 pages per call and acks them from 64 goroutines, as a crawler with
// -c 64 would; "serial" does one page at a time, a round trip per step.
// It reports script calls per page and, on a real server, Redis's CPU
// time per page (used_cpu_user+sys).
func BenchmarkPushClaimAck(b *testing.B) {
	b.Run("miniredis", func(b *testing.B) {
		mr := miniredis.RunT(b)
		c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
		b.Cleanup(func() { c.Close() })
		ftBenchModes(b, c, nil)
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Start(b, redistest.Options{})
		ftBenchModes(b, srv.Client(b), func() float64 { return ftRedisCPU(b, srv) })
	})
}

// ftRedisCPU returns the CPU time srv has used, in seconds.
func ftRedisCPU(tb testing.TB, srv *redistest.Server) float64 {
	info := srv.Info(tb, "cpu")
	u, _ := strconv.ParseFloat(info["used_cpu_user"], 64)
	s, _ := strconv.ParseFloat(info["used_cpu_sys"], 64)
	return u + s
}

func ftBenchModes(b *testing.B, c *goredis.Client, cpu func() float64) {
	for _, batch := range []int{64, 1} {
		name := "batch"
		if batch == 1 {
			name = "serial"
		}
		b.Run(name, func(b *testing.B) { ftBenchPushClaimAck(b, c, batch, cpu) })
	}
}

func ftBenchPushClaimAck(b *testing.B, c *goredis.Client, batch int, cpu func() float64) {
	ctx := context.Background()
	f, err := Open(ctx, c, Options{
		Crawl:           ftCrawlName(),
		FrontierOptions: store.FrontierOptions{PerHost: -1, Interval: -1},
		MaxQueuePerHost: -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := []byte(`{"url":"https://www.example.com/articles/2024/page-0000001.html","status":200,"depth":3,"bytes":10240,"duration_ms":20,"attempts":1}`)
	entries := make([]store.Entry, batch)
	calls := f.calls.Load()
	var cpu0 float64
	if cpu != nil {
		cpu0 = cpu()
	}
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		for i := range n {
			host := fmt.Sprintf("www.h%03d.example.com", (done+i)%100)
			u := fmt.Sprintf("https://%s/articles/2024/page-%07d.html", host, done+i)
			entries[i] = store.Entry{URL: u, Key: u, Host: host, Depth: 3, Parent: "https://" + host + "/articles/2024/"}
		}
		if _, err := f.Push(ctx, entries[:n]); err != nil {
			b.Fatal(err)
		}
		ls, _, err := f.Claim(ctx, n)
		if err != nil || len(ls) != n {
			b.Fatalf("Claim(%d) = %d leases, %v", n, len(ls), err)
		}
		if n == 1 {
			if err := f.AckRecord(ctx, ls[0], store.Outcome{Status: 200}, rec); err != nil {
				b.Fatal(err)
			}
		} else {
			var wg sync.WaitGroup
			for _, l := range ls {
				wg.Go(func() {
					if err := f.AckRecord(ctx, l, store.Outcome{Status: 200}, rec); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
		}
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(f.calls.Load()-calls)/float64(b.N), "calls/page")
	if cpu != nil {
		b.ReportMetric((cpu()-cpu0)*1e6/float64(b.N), "redis-µs/page")
	}
}

// TestScale pushes 10 million URLs over 10,000 hosts into a real
// redis-server, then claims and acks them all, and reports Redis's
// used_memory per queued and per seen URL, and its CPU time. It runs
// only with TRAWL_REDIS_SCALE=1 (TRAWL_REDIS_SCALE_N sets another count)
// and needs a long -timeout:
//
//	TRAWL_REDIS_SCALE=1 go test -run TestScale -timeout 60m -v ./store/redis/
func TestScale(t *testing.T) {
	if os.Getenv("TRAWL_REDIS_SCALE") != "1" {
		t.Skip("set TRAWL_REDIS_SCALE=1 to run the 10-million-URL benchmark")
	}
	n := 10_000_000
	if v := os.Getenv("TRAWL_REDIS_SCALE_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	const (
		hosts   = 10_000
		batch   = 1000
		pushers = 8
		ackers  = 64
	)
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client(t)
	ctx := context.Background()
	f, err := Open(ctx, c, Options{
		Crawl:           "scale",
		FrontierOptions: store.FrontierOptions{PerHost: -1, Interval: -1, LeaseTTL: time.Hour},
		MaxQueuePerHost: -1,
		ExtendEvery:     -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cpu := func() float64 { return ftRedisCPU(t, srv) }
	base, cpu0 := srv.UsedMemory(t), cpu()

	// Push: URLs of about 60 bytes with their parent, page p of host
	// p%hosts, in batches from a few goroutines.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, pushers)
	for w := range pushers {
		wg.Go(func() {
			es := make([]store.Entry, 0, batch)
			for from := w * batch; from < n; from += pushers * batch {
				es = es[:0]
				for p := from; p < min(from+batch, n); p++ {
					host := fmt.Sprintf("www.h%05d.example.com", p%hosts)
					u := fmt.Sprintf("https://%s/articles/2024/page-%08d.html", host, p)
					es = append(es, store.Entry{URL: u, Key: u, Host: host, Depth: 3, Parent: fmt.Sprintf("https://%s/articles/2024/index-%d.html", host, p/hosts/20)})
				}
				if added, err := f.Push(ctx, es); err != nil || added != len(es) {
					errs <- fmt.Errorf("Push = %d, %v", added, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	pushTime, pushCPU := time.Since(start), cpu()-cpu0
	queued := srv.UsedMemory(t)
	t.Logf("pushed %d URLs in %v (%.0f/s); Redis CPU %.1fs (%.1f ms per 1000)", n, pushTime.Round(time.Millisecond),
		float64(n)/pushTime.Seconds(), pushCPU, 1000*pushCPU/float64(n)*1000)
	t.Logf("used_memory: %.1f B per queued URL (seen-set included)", float64(queued-base)/float64(n))

	// Claim and ack everything: claims of 1000, acks from many
	// goroutines (batched by the frontier).
	start, cpu1 := time.Now(), cpu()
	leases := make(chan store.Lease, 4*batch)
	var acked sync.WaitGroup
	for range ackers {
		acked.Go(func() {
			for l := range leases {
				if err := f.Ack(ctx, l, store.Outcome{Status: 200}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for got := 0; got < n; {
		ls, _, err := f.Claim(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 0 {
			t.Fatalf("Claim got nothing after %d of %d", got, n)
		}
		for _, l := range ls {
			leases <- l
		}
		got += len(ls)
	}
	close(leases)
	acked.Wait()
	drainTime, drainCPU := time.Since(start), cpu()-cpu1
	seen := srv.UsedMemory(t)
	s, err := f.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Queued != 0 || s.InFlight != 0 || s.Done != int64(n) || s.Seen != int64(n) {
		t.Fatalf("Stats = %+v, want all %d done", s, n)
	}
	t.Logf("claimed and acked %d in %v (%.0f/s); Redis CPU %.1fs (%.1f ms per 1000)", n, drainTime.Round(time.Millisecond),
		float64(n)/drainTime.Seconds(), drainCPU, 1000*drainCPU/float64(n)*1000)
	t.Logf("used_memory: %.1f B per seen URL (all done), so %.1f B per queued entry without the seen-set",
		float64(seen-base)/float64(n), float64(queued-seen)/float64(n))
	enc, err := c.ObjectEncoding(ctx, crawlPrefix("scale")+"s:0").Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seen-set: %d buckets, encoded as %s", 1<<f.bits, enc)
}
