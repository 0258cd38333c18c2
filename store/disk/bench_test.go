package disk_test

import (
	"bufio"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"trawl/store"
	"trawl/store/disk"
)

// diskBenchEntry returns a distinct entry for i on one of nhosts hosts,
// spread over them pseudo-randomly, with a URL and a parent of typical
// lengths (about 50 bytes each).
func diskBenchEntry(buf []byte, i, nhosts int) store.Entry {
	// A multiplicative hash spreads consecutive i over the hosts.
	hn := int((uint64(i) * 0x9E3779B97F4A7C15 >> 32) % uint64(nhosts))
	h := "host" + strconv.Itoa(hn) + ".example.com"
	buf = append(buf[:0], "https://"...)
	buf = append(buf, h...)
	buf = append(buf, "/articles/"...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	u := string(buf)
	return store.Entry{URL: u, Key: u, Host: h, Depth: 2, Parent: "https://" + h + "/index/" + strconv.Itoa(i/20)}
}

// pushN pushes entries from..to-1 in batches of 20, flushing each, and
// checkpoints every ckptEvery entries (and at the end).
func pushN(tb testing.TB, d *disk.Frontier, from, to, nhosts, ckptEvery int) {
	tb.Helper()
	ctx := context.Background()
	batch := make([]store.Entry, 0, 20)
	var buf []byte
	since := 0
	for i := from; i < to; {
		batch = batch[:0]
		for ; i < to && len(batch) < 20; i++ {
			batch = append(batch, diskBenchEntry(buf, i, nhosts))
		}
		if n, err := d.Push(ctx, batch); err != nil || n != len(batch) {
			tb.Fatalf("Push = %d, %v; want %d", n, err, len(batch))
		}
		if err := d.Flush(nil); err != nil { // as the crawler does for each group
			tb.Fatal(err)
		}
		if since += len(batch); since >= ckptEvery {
			since = 0
			if err := d.Checkpoint(ctx, nil); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := d.Checkpoint(ctx, nil); err != nil {
		tb.Fatal(err)
	}
}

// drain claims up to 64 leases at a time and acks each until n are acked,
// flushing after each round and checkpointing every ckptEvery acks. d
// must not space its claims (Interval -1): drain does not wait.
func drain(tb testing.TB, d *disk.Frontier, n, ckptEvery int) {
	tb.Helper()
	ctx := context.Background()
	since := 0
	for done := 0; done < n; {
		ls, _, err := d.Claim(ctx, min(64, n-done))
		if err != nil {
			tb.Fatal(err)
		}
		if len(ls) == 0 {
			tb.Fatalf("Claim returned nothing after %d of %d", done, n)
		}
		for _, l := range ls {
			if err := d.Ack(ctx, l, store.Outcome{Status: 200}); err != nil {
				tb.Fatal(err)
			}
		}
		if err := d.Flush(nil); err != nil {
			tb.Fatal(err)
		}
		done += len(ls)
		if since += len(ls); since >= ckptEvery {
			since = 0
			if err := d.Checkpoint(ctx, nil); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkDiskPush pushes batches of 20 new URLs over 1000 hosts and
// checkpoints every 1,000 entries; an op is one URL.
func BenchmarkDiskPush(b *testing.B) {
	d, err := disk.Open(b.TempDir(), disk.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	b.ReportAllocs()
	b.ResetTimer()
	pushN(b, d, 0, b.N, 1000, 1000)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
}

// BenchmarkDiskClaimAck claims up to 64 leases at a time over 1000 hosts
// and acks each, checkpointing every 1,000 acks; an op is one URL claimed
// and acked. The queue is filled before the timer starts.
func BenchmarkDiskClaimAck(b *testing.B) {
	d, err := disk.Open(b.TempDir(), disk.Options{FrontierOptions: store.FrontierOptions{PerHost: 2, Interval: -1}})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	pushN(b, d, 0, b.N, 1000, 5000)
	b.ReportAllocs()
	b.ResetTimer()
	drain(b, d, b.N, 1000)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
}

// BenchmarkDisk10M is issue 4's bounded-memory benchmark: it pushes 10
// million URLs over 10,000 hosts (batches of 20, each flushed to the
// journal, a checkpoint every 5,000) and then claims and acks them all. It runs only with TRAWL_BIG_BENCH=1
// (it takes minutes and a few GB of disk), once whatever b.N is:
//
//	TRAWL_BIG_BENCH=1 go test -run '^$' -bench Disk10M -benchtime 1x ./store/disk
func BenchmarkDisk10M(b *testing.B) {
	if os.Getenv("TRAWL_BIG_BENCH") != "1" {
		b.Skip("set TRAWL_BIG_BENCH=1 to run the 10M-URL benchmark")
	}
	const (
		urls   = 10_000_000
		hosts  = 10_000
		ckpt   = 5_000
		report = 1_000_000
	)
	n := urls
	if s := os.Getenv("TRAWL_BIG_BENCH_URLS"); s != "" { // for trial runs
		n, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	// No spacing: drain claims without waiting.
	d, err := disk.Open(dir, disk.Options{FrontierOptions: store.FrontierOptions{PerHost: 1, Interval: -1}})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	b.ResetTimer()

	start := time.Now()
	for from := 0; from < n; from += report {
		pushN(b, d, from, min(from+report, n), hosts, ckpt)
		b.Logf("pushed %d in %v, VmHWM %d MB, %d MB on disk", min(from+report, n), time.Since(start).Round(time.Second), vmHWM(b)>>20, dirSize(b, dir)>>20)
	}
	pushTime := time.Since(start)
	pushedDisk := dirSize(b, dir)

	start = time.Now()
	for done := 0; done < n; done += report {
		drain(b, d, min(report, n-done), ckpt)
		b.Logf("acked %d in %v, VmHWM %d MB, %d MB on disk", done+min(report, n-done), time.Since(start).Round(time.Second), vmHWM(b)>>20, dirSize(b, dir)>>20)
	}
	claimTime := time.Since(start)
	b.StopTimer()

	s, err := d.Stats(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if s.Queued != 0 || s.InFlight != 0 || s.Done != int64(n) || s.Seen != int64(n) {
		b.Fatalf("Stats after draining = %+v, want %d done and seen", s, n)
	}
	b.ReportMetric(float64(n)/pushTime.Seconds(), "push-urls/s")
	b.ReportMetric(float64(n)/claimTime.Seconds(), "claim+ack-urls/s")
	b.ReportMetric(float64(vmHWM(b))/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(pushedDisk)/float64(n), "disk-B/url-queued")
	b.ReportMetric(float64(dirSize(b, dir))/float64(n), "disk-B/url-done")
}

// vmHWM returns the process's peak resident set size in bytes.
func vmHWM(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// dirSize returns the bytes used by the files under dir.
func dirSize(tb testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) { // compactions delete files meanwhile
				return nil
			}
			return err
		}
		if !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
