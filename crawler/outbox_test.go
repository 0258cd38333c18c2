package crawler_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
)

// fakeCrawl is the state of a crawl that fake outboxes share, as the
// processes of a crawl share a Redis frontier: the meta Join stored and
// the records of the outbox, each taken by at most one export.
type fakeCrawl struct {
	mu    sync.Mutex
	meta  []byte
	recs  [][]byte // the outbox, in order
	taken int      // recs[:taken] were taken by an export
	added chan struct{}

	// stale, if set, makes the ack of a lease stale: the fake settles
	// the URL as another worker would, appends that worker's record and
	// returns store.ErrStaleLease.
	stale func(l store.Lease) bool

	exports []exportCall // every Export call
	noTake  bool         // Export takes nothing
	failAt  int          // Export fails once it took this many records (0: never)
}

type exportCall struct {
	name     string
	out      store.Output
	stopped  bool // stop was closed when Export returned
	returned bool
}

func newFakeCrawl() *fakeCrawl { return &fakeCrawl{added: make(chan struct{}, 1)} }

// frontier is the crawler.Config.NewFrontier of a process of the crawl.
func (c *fakeCrawl) frontier(opts store.FrontierOptions) (crawler.Frontier, error) {
	return &fakeOutbox{Memory: store.NewMemory(opts), crawl: c}, nil
}

// urls returns the URLs of the outbox's records, in order.
func (c *fakeCrawl) urls(t *testing.T) []string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var urls []string
	for _, data := range c.recs {
		var r store.Record
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("outbox record %s: %v", data, err)
		}
		urls = append(urls, r.URL)
	}
	return urls
}

// fakeOutbox is one process's frontier: a store.Memory (its queue and
// seen-set) with the crawl's meta and outbox.
type fakeOutbox struct {
	*store.Memory
	crawl *fakeCrawl
}

var _ crawler.Outbox = (*fakeOutbox)(nil)

func (f *fakeOutbox) append(rec []byte) {
	f.crawl.recs = append(f.crawl.recs, rec)
	select {
	case f.crawl.added <- struct{}{}:
	default:
	}
}

func (f *fakeOutbox) AckRecord(ctx context.Context, l store.Lease, o store.Outcome, rec []byte) error {
	f.crawl.mu.Lock()
	defer f.crawl.mu.Unlock()
	if f.crawl.stale != nil && f.crawl.stale(l) {
		// Another worker re-claimed the URL and recorded it.
		if err := f.Memory.Ack(ctx, l, o); err != nil {
			return err
		}
		f.append([]byte(`{"url":"` + l.URL + `","title":"other worker"}`))
		return store.ErrStaleLease
	}
	if err := f.Memory.Ack(ctx, l, o); err != nil {
		return err
	}
	if rec != nil {
		f.append(rec)
	}
	return nil
}

func (f *fakeOutbox) MarkSeenRecord(ctx context.Context, key string, rec []byte) (bool, error) {
	f.crawl.mu.Lock()
	defer f.crawl.mu.Unlock()
	first, err := f.Memory.MarkSeen(ctx, key)
	if err == nil && first && rec != nil {
		f.append(rec)
	}
	return first, err
}

func (f *fakeOutbox) Join(ctx context.Context, meta []byte) ([]byte, error) {
	f.crawl.mu.Lock()
	defer f.crawl.mu.Unlock()
	if f.crawl.meta == nil {
		f.crawl.meta = meta
	}
	return f.crawl.meta, nil
}

// Export takes the records no export took yet into out, until ctx ends,
// or stop is closed and nothing is left.
func (f *fakeOutbox) Export(ctx context.Context, name string, out store.Output, stop <-chan struct{}) error {
	c := f.crawl
	c.mu.Lock()
	c.exports = append(c.exports, exportCall{name: name, out: out})
	i := len(c.exports) - 1
	c.mu.Unlock()
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return stop == nil
		}
	}
	defer func() {
		c.mu.Lock()
		c.exports[i].stopped, c.exports[i].returned = stopped(), true
		c.mu.Unlock()
	}()
	if err := out.Rewind(0); err != nil {
		return err
	}
	for {
		c.mu.Lock()
		var batch [][]byte
		if !c.noTake {
			batch = c.recs[c.taken:]
			c.taken = len(c.recs)
		}
		failed := c.failAt > 0 && c.taken >= c.failAt
		c.mu.Unlock()
		for _, data := range batch {
			var r store.Record
			if err := json.Unmarshal(data, &r); err != nil {
				return err
			}
			if err := out.Put(ctx, r); err != nil {
				return err
			}
		}
		if len(batch) > 0 {
			if _, err := out.Sync(); err != nil {
				return err
			}
			if failed {
				return errors.New("fake export: disk full")
			}
			continue
		}
		if stopped() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
		case <-c.added:
		}
	}
}

// outboxSite is the fixture site of the outbox tests: two hosts, with
// excluded pages so that records come from acks and from marks.
var outboxSite = fixtures.Synthetic{Pages: 80, Links: 5, Size: 300, Hosts: 2, Seed: 11}

func outboxConfig(srv *fixtures.Server) crawler.Config {
	return crawler.Config{
		Resolve:     srv.Resolve(outboxSite.HostNames()...),
		Rate:        -1,
		PerHost:     4,
		Concurrency: 8,
		Scope:       crawler.ScopeDomain,
		Exclude:     []*regexp.Regexp{regexp.MustCompile(`/p/\d*7$`)},
		NoSitemaps:  true,
	}
}

// referenceURLs crawls the site with the default frontier and returns
// the URLs of its records, sorted.
func referenceURLs(t *testing.T, cfg crawler.Config) []string {
	t.Helper()
	var mu sync.Mutex
	var urls []string
	cfg.Sink = crawler.SinkFunc(func(_ context.Context, r store.Record) error {
		mu.Lock()
		urls = append(urls, r.URL)
		mu.Unlock()
		return nil
	})
	outboxRun(t, cfg, outboxSite.Root())
	slices.Sort(urls)
	return urls
}

func outboxRun(t *testing.T, cfg crawler.Config, seeds ...string) (crawler.Stats, error) {
	t.Helper()
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return c.Run(ctx, seeds...)
}

// outputFile opens a JSONL output over a store.File in a temporary
// folder.
func outputFile(t *testing.T, name string) (*store.JSONL, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return store.NewJSONL(f), path
}

// fileURLs returns the URLs of the records in a JSONL file, sorted.
func fileURLs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r store.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: bad line %q: %v", path, sc.Text(), err)
		}
		urls = append(urls, r.URL)
	}
	slices.Sort(urls)
	return urls
}

// countingOutput is a store.Output that counts the records put into it.
type countingOutput struct {
	store.Output
	mu   sync.Mutex
	puts int
}

func (o *countingOutput) Put(ctx context.Context, r store.Record) error {
	o.mu.Lock()
	o.puts++
	o.mu.Unlock()
	return o.Output.Put(ctx, r)
}

func (o *countingOutput) Name() string { return o.Output.(interface{ Name() string }).Name() }

// TestOutboxRecords: with an Outbox every URL has exactly one record in
// the outbox, and the crawler puts none into the Sink itself.
func TestOutboxRecords(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := fixtures.NewServer(outboxSite.Handler())
	defer srv.Close()
	want := referenceURLs(t, outboxConfig(srv))

	crawl := newFakeCrawl()
	crawl.noTake = true // the records stay in the outbox
	jsonl, _ := outputFile(t, "out.jsonl")
	sink := &countingOutput{Output: jsonl}
	cfg := outboxConfig(srv)
	cfg.NewFrontier, cfg.Sink = crawl.frontier, sink
	stats, err := outboxRun(t, cfg, outboxSite.Root())
	if err != nil {
		t.Fatal(err)
	}
	got := crawl.urls(t)
	if n := int64(len(got)); n != stats.Records() {
		t.Errorf("%d records in the outbox, Stats counts %d", n, stats.Records())
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("outbox has %d records, the default frontier's crawl %d; want the same URLs once each", len(got), len(want))
	}
	if dup := duplicates(got); len(dup) > 0 {
		t.Errorf("URLs recorded twice: %v", dup)
	}
	if stats.Skipped[crawler.SkipExcluded] == 0 {
		t.Error("no skips: the test does not reach MarkSeenRecord")
	}
	if sink.puts != 0 {
		t.Errorf("%d records put into the Sink, want none (the export takes nothing here)", sink.puts)
	}
	if stats.StaleAcks != 0 {
		t.Errorf("StaleAcks %d, want 0", stats.StaleAcks)
	}
}

func duplicates(sorted []string) []string {
	var dup []string
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			dup = append(dup, sorted[i])
		}
	}
	return dup
}

// TestOutboxExport: Run exports the outbox into the Sink for the whole
// crawl, under the default name or ExportName, closes stop when the
// crawl ends and waits for the export.
func TestOutboxExport(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := fixtures.NewServer(outboxSite.Handler())
	defer srv.Close()
	want := referenceURLs(t, outboxConfig(srv))
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "worker-7"} {
		t.Run("name="+name, func(t *testing.T) {
			crawl := newFakeCrawl()
			out, path := outputFile(t, "out.jsonl")
			cfg := outboxConfig(srv)
			cfg.NewFrontier, cfg.Sink, cfg.ExportName = crawl.frontier, out, name
			if _, err := outboxRun(t, cfg, outboxSite.Root()); err != nil {
				t.Fatal(err)
			}
			crawl.mu.Lock()
			calls := slices.Clone(crawl.exports)
			crawl.mu.Unlock()
			wantName := name
			if name == "" {
				wantName = host + ":" + path
			}
			if len(calls) != 1 {
				t.Fatalf("%d Export calls, want 1", len(calls))
			}
			c := calls[0]
			if c.name != wantName || c.out != store.Output(out) {
				t.Errorf("Export(name %q, out %T), want %q and the Sink", c.name, c.out, wantName)
			}
			if !c.returned || !c.stopped {
				t.Errorf("Export returned %v, with stop closed %v; want Run to close stop and wait for it", c.returned, c.stopped)
			}
			if got := fileURLs(t, path); !slices.Equal(got, want) {
				t.Errorf("output has %d records, want %d, each URL once", len(got), len(want))
			}
		})
	}
}

// TestOutboxExportFails: an export that fails stops the crawl, and Run
// returns its error.
func TestOutboxExportFails(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := fixtures.NewServer(outboxSite.Handler())
	defer srv.Close()
	crawl := newFakeCrawl()
	crawl.failAt = 1
	out, _ := outputFile(t, "out.jsonl")
	cfg := outboxConfig(srv)
	cfg.NewFrontier, cfg.Sink = crawl.frontier, out
	cfg.Rate = 20 // slow enough that the crawl is still running when the export fails
	_, err := outboxRun(t, cfg, outboxSite.Root())
	if err == nil || !strings.Contains(err.Error(), "export: fake export: disk full") {
		t.Errorf("Run: %v, want the export's error", err)
	}
}

// TestOutboxSinks: with an Outbox, a nil Sink leaves the records in the
// outbox (no export); a Sink that is not a store.Output, or has no name
// and no ExportName, is refused before anything is fetched.
func TestOutboxSinks(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := fixtures.NewServer(outboxSite.Handler())
	defer srv.Close()

	crawl := newFakeCrawl()
	cfg := outboxConfig(srv)
	cfg.NewFrontier = crawl.frontier
	stats, err := outboxRun(t, cfg, outboxSite.Root())
	if err != nil {
		t.Fatal(err)
	}
	if len(crawl.exports) != 0 || int64(len(crawl.urls(t))) != stats.Records() || stats.Records() == 0 {
		t.Errorf("nil Sink: %d exports, %d records in the outbox, %d counted; want none, and all the records", len(crawl.exports), len(crawl.urls(t)), stats.Records())
	}

	unnamed := store.NewJSONL(&bytes.Buffer{}) // an Output only over a *store.File, and without a name
	for _, tc := range []struct {
		name string
		sink crawler.Sink
		want string
	}{
		{"not an Output", crawler.SinkFunc(func(context.Context, store.Record) error { return nil }), "must be a store.Output"},
		{"no name", unnamed, "set Config.ExportName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset()
			cfg := outboxConfig(srv)
			cfg.NewFrontier, cfg.Sink = newFakeCrawl().frontier, tc.sink
			_, err := outboxRun(t, cfg, outboxSite.Root())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: %v, want an error saying %q", err, tc.want)
			}
			if tc.name == "not an Output" && !errors.Is(err, crawler.ErrSinkNotDurable) {
				t.Errorf("Run: %v, want ErrSinkNotDurable", err)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests before the refusal, want none", n)
			}
		})
	}
}

// TestOutboxStaleAck: the ack of a lease another worker holds now writes
// no record and is not counted.
func TestOutboxStaleAck(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := fixtures.NewServer(outboxSite.Handler())
	defer srv.Close()
	want := referenceURLs(t, outboxConfig(srv))
	crawl := newFakeCrawl()
	staleURL := outboxSite.Root()
	crawl.stale = func(l store.Lease) bool { return l.URL == staleURL }
	cfg := outboxConfig(srv)
	cfg.NewFrontier = crawl.frontier
	stats, err := outboxRun(t, cfg, outboxSite.Root())
	if err != nil {
		t.Fatal(err)
	}
	if stats.StaleAcks != 1 {
		t.Errorf("StaleAcks %d, want 1", stats.StaleAcks)
	}
	got := crawl.urls(t)
	if n := int64(len(got)); n != stats.Records()+1 {
		t.Errorf("%d records in the outbox, %d counted; want the stale one (the other worker's) not counted", n, stats.Records())
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("outbox has %d records, want %d, each URL once", len(got), len(want))
	}
	crawl.mu.Lock()
	defer crawl.mu.Unlock()
	for _, data := range crawl.recs {
		if bytes.Contains(data, []byte(`"url":"`+staleURL+`"`)) && !bytes.Contains(data, []byte("other worker")) {
			t.Errorf("the stale ack wrote its record %s", data)
		}
	}
}

// TestOutboxMismatch: a process joining a crawl of other seeds or scope
// is refused with the *MismatchError of a saved state, unless
// ResumeAnyway; one with the same settings joins.
func TestOutboxMismatch(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := fixtures.NewServer(outboxSite.Handler())
	defer srv.Close()
	crawl := newFakeCrawl()
	cfg := outboxConfig(srv)
	cfg.NewFrontier = crawl.frontier
	if _, err := outboxRun(t, cfg, outboxSite.Root()); err != nil {
		t.Fatal(err)
	}
	meta, err := crawler.ParseCrawlMeta(crawl.meta)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(meta.Crawl.Seeds, []string{outboxSite.Root()}) || meta.Crawl.Scope != "domain" {
		t.Errorf("meta %+v, want the first crawl's seeds and scope", meta.Crawl)
	}

	if _, err := outboxRun(t, cfg, outboxSite.Root()); err != nil {
		t.Errorf("the same crawl again: %v", err)
	}
	other := cfg
	other.Scope = crawler.ScopeHost
	other.MaxDepth = 2
	out, path := outputFile(t, "refused.jsonl")
	other.Sink = out
	_, err = outboxRun(t, other, outboxSite.Root())
	var mm *crawler.MismatchError
	if !errors.Is(err, crawler.ErrStateMismatch) || !errors.As(err, &mm) {
		t.Fatalf("other scope: %v, want a *MismatchError", err)
	}
	if n := len(crawl.exports); n != 0 {
		t.Errorf("%d exports by a refused run, want none", n)
	}
	if got := fileURLs(t, path); len(got) != 0 {
		t.Errorf("a refused run wrote %d records into its output", len(got))
	}
	other.Sink = nil
	var names []string
	for _, d := range mm.Diffs {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"Scope", "MaxDepth"}) {
		t.Errorf("diffs %+v, want Scope and MaxDepth", mm.Diffs)
	}
	if _, err := outboxRun(t, other, outboxSite.Root()+"x"); !errors.Is(err, crawler.ErrStateMismatch) {
		t.Errorf("other seeds: %v, want a mismatch", err)
	}
	other.ResumeAnyway = true
	if _, err := outboxRun(t, other, outboxSite.Root()); err != nil {
		t.Errorf("with ResumeAnyway: %v", err)
	}
	if m, _ := crawler.ParseCrawlMeta(crawl.meta); m.Crawl.Scope != "domain" {
		t.Errorf("meta scope %q after ResumeAnyway, want the first crawl's", m.Crawl.Scope)
	}
}
