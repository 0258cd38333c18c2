package crawler_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
)

// stateCrawl runs one crawl over the disk state in dir, writing records to
// out through a syncable file. stopAfter > 0 cancels it after that many
// records.
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
	cfg.NewFrontier = func(opts store.FrontierOptions) (crawler.Frontier, error) {
		return store.OpenDisk(dir, store.DiskOptions{FrontierOptions: opts})
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
	site := fixtures.Synthetic{Pages: 300, Links: 6, Size: 800, Hosts: 2, Seed: 5}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	cfg := crawler.Config{Resolve: srv.Resolve(site.HostNames()...), Rate: -1, PerHost: 4, Scope: crawler.ScopeDomain}

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
	data, err := os.ReadFile(out)
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
