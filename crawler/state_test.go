package crawler_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
	"trawl/store/disk"
)

// stateCrawl runs one crawl over the disk state in dir (or the frontier
// of cfg.NewFrontier), writing records to out through a syncable file.
// stopAfter > 0 cancels it after that many records.
func stateCrawl(t *testing.T, cfg crawler.Config, dir, out string, stopAfter int64, seeds ...string) (crawler.Stats, error) {
	t.Helper()
	f, err := store.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sink := store.NewJSONL(f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var n atomic.Int64
	cfg.Sink = syncSink{crawler.SinkFunc(func(ctx context.Context, r store.Record) error {
		if stopAfter > 0 && n.Add(1) == stopAfter {
			cancel()
		}
		return sink.Put(ctx, r)
	}), sink}
	if cfg.NewFrontier == nil {
		cfg.NewFrontier = func(opts store.FrontierOptions) (crawler.Frontier, error) {
			return disk.Open(dir, disk.Options{FrontierOptions: opts})
		}
	}
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c.Run(ctx, seeds...)
}

// syncSink counts records on their way into a JSONL and is still a
// crawler.SyncSink.
type syncSink struct {
	crawler.SinkFunc
	*store.JSONL
}

func (s syncSink) Put(ctx context.Context, r store.Record) error { return s.SinkFunc(ctx, r) }

var _ crawler.SyncSink = syncSink{}

func TestResume(t *testing.T) {
	// The default journals each group of records and syncs every second;
	// a negative interval syncs each group.
	for _, every := range []time.Duration{0, -1} {
		t.Run(fmt.Sprint("every=", every), func(t *testing.T) { testResume(t, every) })
	}
}

func testResume(t *testing.T, every time.Duration) {
	site := fixtures.Synthetic{Pages: 300, Links: 6, Size: 800, Hosts: 2, Seed: 5}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	cfg := crawler.Config{Resolve: srv.Resolve(site.HostNames()...), Rate: -1, PerHost: 4, Scope: crawler.ScopeDomain,
		CheckpointInterval: every}

	// The first run stops early, as on Ctrl-C.
	first, err := stateCrawl(t, cfg, state, out, 60, site.Root())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want cancelled", err)
	}
	if first.Resumed != nil {
		t.Errorf("first run says it resumed: %+v", first.Resumed)
	}

	// Another crawl's settings are refused.
	other := cfg
	other.Scope = crawler.ScopeHost
	if _, err := stateCrawl(t, other, state, out, 0, site.Root()); !errors.Is(err, crawler.ErrStateMismatch) {
		t.Fatalf("resume with another scope: %v, want ErrStateMismatch", err)
	}

	// The same crawl continues and finishes.
	second, err := stateCrawl(t, cfg, state, out, 0, site.Root())
	if err != nil {
		t.Fatal(err)
	}
	if second.Resumed == nil || second.Resumed.Done < 60 || second.Resumed.Queued == 0 {
		t.Errorf("second run: resumed %+v, want at least 60 done and some queued", second.Resumed)
	}

	// One record per page across both runs.
	seen := recordsByURL(t, out)
	for i := range site.Pages {
		if n := seen[site.URL(i)]; n != 1 {
			t.Errorf("%s has %d records, want 1", site.URL(i), n)
		}
	}
	// Only fetches cancelled in flight are redone (robots.txt is kept in
	// the state): at most Concurrency of them.
	if d := len(fixtures.Duplicates(srv.Requests())); d > crawler.DefaultConcurrency {
		t.Errorf("%d URLs fetched twice, want at most the %d that can be in flight", d, crawler.DefaultConcurrency)
	}
}

// onlyFirstCheckpoint is a Disk whose checkpoints after the first fail
// without touching it: the crawl's last checkpoint is its first, and what
// follows is in the journal only, as when the machine dies.
type onlyFirstCheckpoint struct {
	*disk.Frontier
	n int
}

var errNoCheckpoint = errors.New("checkpoint skipped")

func (d *onlyFirstCheckpoint) Checkpoint(ctx context.Context, meta []byte) error {
	if d.n++; d.n > 1 {
		return errNoCheckpoint
	}
	return d.Frontier.Checkpoint(ctx, meta)
}

// TestResumeAfterMachineCrash: a crawl whose state after its first
// checkpoint is only journaled resumes from the journal, and keeps only
// the flushes whose output the file still holds. The machine "loses" the
// second half of the unsynced output; the crawl still ends with one
// record per page.
func TestResumeAfterMachineCrash(t *testing.T) {
	for _, cut := range []bool{false, true} {
		t.Run(fmt.Sprintf("cut=%v", cut), func(t *testing.T) {
			site := fixtures.Synthetic{Pages: 300, Links: 6, Size: 800, Hosts: 2, Seed: 9}
			srv := fixtures.NewServer(site.Handler())
			defer srv.Close()
			dir := t.TempDir()
			state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
			cfg := crawler.Config{Resolve: srv.Resolve(site.HostNames()...), Rate: -1, PerHost: 4,
				Scope: crawler.ScopeDomain, CheckpointInterval: time.Hour}

			crashing := cfg
			crashing.NewFrontier = func(opts store.FrontierOptions) (crawler.Frontier, error) {
				d, err := disk.Open(state, disk.Options{FrontierOptions: opts})
				return &onlyFirstCheckpoint{Frontier: d}, err
			}
			if _, err := stateCrawl(t, crashing, state, out, 150, site.Root()); !errors.Is(err, errNoCheckpoint) {
				t.Fatalf("first run: %v, want its last checkpoint to fail", err)
			}
			written := countRecords(t, out)
			if cut {
				fi, err := os.Stat(out)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(out, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
			}

			second, err := stateCrawl(t, cfg, state, out, 0, site.Root())
			if err != nil {
				t.Fatal(err)
			}
			// Without the cut every flushed record is kept; with it, about
			// half of them.
			if second.Resumed == nil || second.Resumed.Done == 0 || second.Resumed.Done > int64(written) {
				t.Errorf("resumed %+v after %d records written, want some of them done", second.Resumed, written)
			}
			if !cut && second.Resumed != nil && second.Resumed.Done < int64(written)-int64(crawler.DefaultConcurrency) {
				t.Errorf("resumed %d done of %d records written, want all but those unflushed", second.Resumed.Done, written)
			}
			if cut && second.Resumed != nil && second.Resumed.Done > int64(written)*2/3 {
				t.Errorf("resumed %d done of %d records written, want about half after the cut", second.Resumed.Done, written)
			}
			seen := recordsByURL(t, out)
			for i := range site.Pages {
				if n := seen[site.URL(i)]; n != 1 {
					t.Errorf("%s has %d records, want 1", site.URL(i), n)
				}
			}
		})
	}
}

// recordsByURL counts the records of each URL in the JSONL file at path.
func recordsByURL(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var r store.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		seen[r.URL]++
	}
	return seen
}

func countRecords(t *testing.T, path string) int {
	n := 0
	for _, c := range recordsByURL(t, path) {
		n += c
	}
	return n
}

// countingCheckpoints is a Disk that counts its checkpoints.
type countingCheckpoints struct {
	*disk.Frontier
	n atomic.Int64
}

func (d *countingCheckpoints) Checkpoint(ctx context.Context, meta []byte) error {
	d.n.Add(1)
	return d.Frontier.Checkpoint(ctx, meta)
}

// TestPendingBound: however long CheckpointInterval is, a frontier that
// holds more than the bound since its last checkpoint gets one.
func TestPendingBound(t *testing.T) {
	site := fixtures.Synthetic{Pages: 200, Links: 6, Size: 800, Hosts: 2, Seed: 3}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	for _, bound := range []int{64 << 20, 4 << 10} {
		restore := crawler.SetMaxPendingForTest(bound)
		var d *countingCheckpoints
		cfg := crawler.Config{Resolve: srv.Resolve(site.HostNames()...), Rate: -1, PerHost: 4,
			Scope: crawler.ScopeDomain, CheckpointInterval: time.Hour}
		cfg.NewFrontier = func(opts store.FrontierOptions) (crawler.Frontier, error) {
			fr, err := disk.Open(filepath.Join(dir, fmt.Sprint(bound)), disk.Options{FrontierOptions: opts})
			d = &countingCheckpoints{Frontier: fr}
			return d, err
		}
		_, err := stateCrawl(t, cfg, "", filepath.Join(dir, fmt.Sprint(bound, ".jsonl")), 0, site.Root())
		restore()
		if err != nil {
			t.Fatal(err)
		}
		// The first checkpoint follows the seeds, the last is at the end.
		if n := d.n.Load(); bound > 1<<20 && n != 2 || bound < 1<<20 && n < 5 {
			t.Errorf("bound %d: %d checkpoints", bound, n)
		}
	}
}

// TestFlushMetaIsSmall: a flush records only the crawl's progress, not its
// seeds, however many there are; SavedState puts the two back together.
func TestFlushMetaIsSmall(t *testing.T) {
	site := fixtures.Synthetic{Pages: 100, Links: 4, Size: 500, Hosts: 1, Seed: 4}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	seeds := make([]string, site.Pages)
	for i := range seeds {
		seeds[i] = site.URL(i)
	}
	cfg := crawler.Config{Resolve: srv.Resolve(site.HostNames()...), Rate: -1, PerHost: 4, CheckpointInterval: time.Hour}
	cfg.NewFrontier = func(opts store.FrontierOptions) (crawler.Frontier, error) {
		d, err := disk.Open(state, disk.Options{FrontierOptions: opts})
		return &onlyFirstCheckpoint{Frontier: d}, err
	}
	if _, err := stateCrawl(t, cfg, state, out, 0, seeds...); !errors.Is(err, errNoCheckpoint) {
		t.Fatalf("crawl: %v, want its last checkpoint to fail", err)
	}
	d, err := disk.Open(state, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fm := d.FlushMeta()
	if fm == nil || len(fm) > 200 || bytes.Contains(fm, []byte("seeds")) {
		t.Errorf("flush meta %q: want a small one without the seeds", fm)
	}
	if ck := d.Meta(); !bytes.Contains(ck, []byte(seeds[99])) {
		t.Errorf("checkpoint meta %.100q... lacks the seeds", ck)
	}
	st, err := crawler.SavedState(d)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Crawl.Seeds) != len(seeds) || st.Output <= 0 || st.Output > fi.Size() {
		t.Errorf("SavedState: %d seeds, output at %d of %d bytes; want %d seeds and the last flush's output", len(st.Crawl.Seeds), st.Output, fi.Size(), len(seeds))
	}
}
