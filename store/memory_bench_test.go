package store_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"trawl/store"
)

// benchEntry returns a distinct entry for i on one of nhosts hosts, with
// a URL of a typical length (about 45 bytes).
func benchEntry(buf []byte, i, nhosts int) store.Entry {
	h := "host" + strconv.Itoa(i%nhosts) + ".example.com"
	buf = append(buf[:0], "https://"...)
	buf = append(buf, h...)
	buf = append(buf, "/articles/"...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	u := string(buf)
	return store.Entry{URL: u, Key: u, Host: h, Depth: 2}
}

// BenchmarkMemoryPush pushes batches of 20 new URLs over 1000 hosts; an op
// is one batch. URL building is included in the time.
func BenchmarkMemoryPush(b *testing.B) {
	ctx := context.Background()
	m := store.NewMemory(store.FrontierOptions{})
	batch := make([]store.Entry, 20)
	var buf []byte
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		for j := range batch {
			batch[j] = benchEntry(buf, i, 1000)
			i++
		}
		if n, err := m.Push(ctx, batch); err != nil || n != len(batch) {
			b.Fatalf("Push = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/url")
}

// BenchmarkMemoryClaimAck claims up to 64 leases across many hosts and
// acks each; an op is one lease claimed and acked. The queue is refilled
// outside the timer.
func BenchmarkMemoryClaimAck(b *testing.B) {
	for _, nhosts := range []int{1000, 10_000} {
		b.Run("hosts="+strconv.Itoa(nhosts), func(b *testing.B) {
			ctx := context.Background()
			m := store.NewMemory(store.FrontierOptions{PerHost: 2, Interval: -1})
			var buf []byte
			next := 0
			refill := func() {
				batch := make([]store.Entry, 0, 20)
				for range 200_000 / 20 {
					batch = batch[:0]
					for range 20 {
						batch = append(batch, benchEntry(buf, next, nhosts))
						next++
					}
					if _, err := m.Push(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
			}
			refill()
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; {
				ls, _, err := m.Claim(ctx, min(64, b.N-n))
				if err != nil {
					b.Fatal(err)
				}
				if len(ls) == 0 {
					b.StopTimer()
					refill()
					b.StartTimer()
					continue
				}
				for _, l := range ls {
					if err := m.Ack(ctx, l, store.Outcome{Status: 200}); err != nil {
						b.Fatal(err)
					}
				}
				n += len(ls)
			}
		})
	}
}

// BenchmarkMemorySeenSet measures the heap the seen-set takes for
// 1,000,000 keys (MarkSeen only, nothing queued), and the heap one queued
// entry takes on top of that (Push of 1,000,000 entries over 1000 hosts,
// URL strings included).
func BenchmarkMemorySeenSet(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("urls=%dM", n/1_000_000), func(b *testing.B) { benchSeenSet(b, n, n <= 1_000_000) })
	}
}

// benchSeenSet measures the heap cost per URL of the seen-set alone, and
// with queued set, of entries queued too.
func benchSeenSet(b *testing.B, n int, queued bool) {
	ctx := context.Background()
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var seenPer, queuedPer float64
	for b.Loop() {
		before := heap()
		m := store.NewMemory(store.FrontierOptions{})
		var buf []byte
		for i := range n {
			e := benchEntry(buf, i, 1000)
			if _, err := m.MarkSeen(ctx, e.Key); err != nil {
				b.Fatal(err)
			}
		}
		seenPer = float64(heap()-before) / float64(n)
		runtime.KeepAlive(m)
		if !queued {
			continue
		}

		m = store.NewMemory(store.FrontierOptions{})
		before = heap()
		batch := make([]store.Entry, 0, 20)
		for i := 0; i < n; i += 20 {
			batch = batch[:0]
			for j := i; j < i+20; j++ {
				batch = append(batch, benchEntry(buf, j, 1000))
			}
			if _, err := m.Push(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		batch = nil
		queuedPer = float64(heap()-before) / float64(n)
		runtime.KeepAlive(m)
	}
	b.ReportMetric(seenPer, "seen-B/url")
	if queued {
		b.ReportMetric(queuedPer, "queued-B/url")
	}
}
