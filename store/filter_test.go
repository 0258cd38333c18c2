package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"trawl/store"
)

// crawlerSyncSink mirrors crawler.SyncSink, which store's tests cannot import:
// what a sink needs for one record per URL across crashes.
type crawlerSyncSink interface {
	store.Putter
	Sync() (int64, error)
	Mark() (store.Span, error)
	Verify(store.Span) error
	Rewind(pos int64) error
}

// crawlerFlushSink mirrors the crawler's check for a sink that buffers.
type crawlerFlushSink interface {
	Flush() error
}

// fakePutter records the records put and the calls made to it. It has
// Put only, like a crawler.SinkFunc; the types below add the optional
// methods, so that each has exactly the method set a case needs.
type fakePutter struct {
	mu    sync.Mutex
	urls  []string
	calls []string
	err   error // returned by every method
}

var _ store.Putter = (*fakePutter)(nil)

func (f *fakePutter) Put(ctx context.Context, r store.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = append(f.urls, r.URL)
	return f.err
}

func (f *fakePutter) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	return f.err
}

func (f *fakePutter) unwrap() *fakePutter { return f }

// fakeSync has the methods of crawler.SyncSink.
type fakeSync struct{ *fakePutter }

var _ crawlerSyncSink = fakeSync{}

func (f fakeSync) Sync() (int64, error) { return 42, f.call("Sync") }
func (f fakeSync) Mark() (store.Span, error) {
	return store.Span{From: 1, To: 2, CRC: 3}, f.call("Mark")
}
func (f fakeSync) Verify(s store.Span) error {
	return f.call(fmt.Sprintf("Verify(%d-%d)", s.From, s.To))
}
func (f fakeSync) Rewind(pos int64) error { return f.call(fmt.Sprintf("Rewind(%d)", pos)) }

// fakeFlush has Flush only.
type fakeFlush struct{ *fakePutter }

func (f fakeFlush) Flush() error { return f.call("Flush") }

// fakeSyncFlush has both, as JSONL and CSV do.
type fakeSyncFlush struct{ fakeSync }

func (f fakeSyncFlush) Flush() error { return f.call("Flush") }

// TestFilterMethodSets checks that Filter's result has Sync, Mark,
// Verify, Rewind and Flush exactly when the sink it wraps has them, and
// that they call the sink's.
func TestFilterMethodSets(t *testing.T) {
	keepFetched := func(r store.Record) bool { return r.Skipped == "" }
	cases := []struct {
		name            string
		sink            interface{ unwrap() *fakePutter }
		wantSync, flush bool // the methods the sink has, and the result must
	}{
		{"sync and flush", fakeSyncFlush{fakeSync{&fakePutter{}}}, true, true},
		{"sync only", fakeSync{&fakePutter{}}, true, false},
		{"flush only", fakeFlush{&fakePutter{}}, false, true},
		{"neither", &fakePutter{}, false, false},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := store.Filter(tc.sink.(store.Putter), keepFetched)
			ss, gotSync := f.(crawlerSyncSink)
			fl, gotFlush := f.(crawlerFlushSink)
			if gotSync != tc.wantSync {
				t.Errorf("got a SyncSink %v, want %v", gotSync, tc.wantSync)
			}
			if gotFlush != tc.flush {
				t.Errorf("got Flush %v, want %v", gotFlush, tc.flush)
			}
			// Each partial method set on its own, as a caller might assert.
			for _, m := range []struct {
				name string
				ok   bool
			}{
				{"Sync", implements[interface{ Sync() (int64, error) }](f)},
				{"Mark", implements[interface{ Mark() (store.Span, error) }](f)},
				{"Verify", implements[interface{ Verify(store.Span) error }](f)},
				{"Rewind", implements[interface{ Rewind(int64) error }](f)},
			} {
				if m.ok != tc.wantSync {
					t.Errorf("got %s %v, want %v", m.name, m.ok, tc.wantSync)
				}
			}

			for _, r := range []store.Record{
				{URL: "http://a.test/", Status: 200},
				{URL: "http://a.test/private", Skipped: "robots"},
				{URL: "http://b.test/", Error: "timeout"},
			} {
				if err := f.Put(ctx, r); err != nil {
					t.Fatalf("Put(%s): %v", r.URL, err)
				}
			}
			fp := tc.sink.unwrap()
			if want := []string{"http://a.test/", "http://b.test/"}; !slices.Equal(fp.urls, want) {
				t.Errorf("sink got %v, want %v", fp.urls, want)
			}

			var want []string
			if gotSync {
				if n, err := ss.Sync(); n != 42 || err != nil {
					t.Errorf("Sync = %d, %v; want 42, nil", n, err)
				}
				if sp, err := ss.Mark(); sp != (store.Span{From: 1, To: 2, CRC: 3}) || err != nil {
					t.Errorf("Mark = %+v, %v; want the sink's span", sp, err)
				}
				ss.Verify(store.Span{From: 5, To: 9})
				ss.Rewind(7)
				want = append(want, "Sync", "Mark", "Verify(5-9)", "Rewind(7)")
			}
			if gotFlush {
				fl.Flush()
				want = append(want, "Flush")
			}
			if !slices.Equal(fp.calls, want) {
				t.Errorf("sink got calls %v, want %v", fp.calls, want)
			}
		})
	}
}

func implements[I any](v any) bool {
	_, ok := v.(I)
	return ok
}

// TestFilterErrors checks that the sink's errors come back through the
// filter, and that a dropped record does not reach a failing sink.
func TestFilterErrors(t *testing.T) {
	boom := errors.New("boom")
	fp := &fakePutter{err: boom}
	f := store.Filter(fakeSyncFlush{fakeSync{fp}}, store.Fetched)
	ctx := context.Background()
	if err := f.Put(ctx, store.Record{URL: "http://a.test/", Skipped: "robots"}); err != nil {
		t.Errorf("Put of a dropped record = %v, want nil", err)
	}
	if err := f.Put(ctx, store.Record{URL: "http://a.test/", Status: 200}); !errors.Is(err, boom) {
		t.Errorf("Put = %v, want the sink's error", err)
	}
	ss := f.(crawlerSyncSink)
	if _, err := ss.Sync(); !errors.Is(err, boom) {
		t.Errorf("Sync = %v, want the sink's error", err)
	}
	if _, err := ss.Mark(); !errors.Is(err, boom) {
		t.Errorf("Mark = %v, want the sink's error", err)
	}
	if err := ss.Verify(store.Span{}); !errors.Is(err, boom) {
		t.Errorf("Verify = %v, want the sink's error", err)
	}
	if err := ss.Rewind(0); !errors.Is(err, boom) {
		t.Errorf("Rewind = %v, want the sink's error", err)
	}
	if err := f.(crawlerFlushSink).Flush(); !errors.Is(err, boom) {
		t.Errorf("Flush = %v, want the sink's error", err)
	}
}

// TestFilterNilKeep checks that a nil keep passes every record.
func TestFilterNilKeep(t *testing.T) {
	var buf bytes.Buffer
	s := store.NewJSONL(&buf)
	f := store.Filter(s, nil)
	for _, c := range sinkCases {
		if err := f.Put(context.Background(), c.rec); err != nil {
			t.Fatalf("Put(%s): %v", c.name, err)
		}
	}
	if err := f.(crawlerFlushSink).Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := bytes.Count(buf.Bytes(), []byte("\n")), len(sinkCases); got != want {
		t.Errorf("got %d lines, want %d", got, want)
	}
}

// TestFilterFile drives a filtered JSONL on a File through what a crawl
// with a checkpointing frontier does: write, sync, write more, mark,
// verify, crash and rewind to the synced size, and redo the work. Each
// kept URL ends with one line; each dropped one with none.
func TestFilterFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := store.Filter(store.NewJSONL(f), func(r store.Record) bool { return r.Skipped == "" })
	ss, ok := out.(crawlerSyncSink)
	if !ok {
		t.Fatal("Filter of a JSONL on a File is not a SyncSink")
	}
	ctx := context.Background()
	put := func(rs ...store.Record) {
		t.Helper()
		for _, r := range rs {
			if err := ss.Put(ctx, r); err != nil {
				t.Fatalf("Put(%s): %v", r.URL, err)
			}
		}
	}
	a := store.Record{URL: "http://a.test/", Status: 200, DurationMS: 3, Attempts: 1}
	skip := store.Record{URL: "http://a.test/private", Skipped: "robots"}
	b := store.Record{URL: "http://b.test/", Attempts: 3, Error: "timeout"}
	c := store.Record{URL: "http://c.test/", Status: 404, DurationMS: 2, Attempts: 1}

	put(a, skip)
	pos, err := ss.Sync()
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if want := int64(len(`{"url":"http://a.test/","status":200,"depth":0,"duration_ms":3,"attempts":1}` + "\n")); pos != want {
		t.Fatalf("Sync = %d, want %d (the one kept line)", pos, want)
	}
	put(b, c)
	span, err := ss.Mark()
	if err != nil {
		t.Fatalf("Mark: %v", err)
	}
	if span.From != pos || span.To <= pos {
		t.Fatalf("Mark = %+v, want a span from %d", span, pos)
	}
	if err := ss.Verify(span); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// A crash after the sync: b and c are redone.
	if err := ss.Rewind(pos); err != nil {
		t.Fatalf("Rewind: %v", err)
	}
	put(b, skip, c)
	if err := out.(crawlerFlushSink).Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"url":"http://a.test/","status":200,"depth":0,"duration_ms":3,"attempts":1}` + "\n" +
		`{"url":"http://b.test/","depth":0,"duration_ms":0,"attempts":3,"error":"timeout"}` + "\n" +
		`{"url":"http://c.test/","status":404,"depth":0,"duration_ms":2,"attempts":1}` + "\n"
	if string(data) != want {
		t.Errorf("output is\n%s\nwant\n%s", data, want)
	}
}

// TestFilterConcurrent puts from many goroutines through a filtered
// JSONL (run with -race): keep and Put are called concurrently.
func TestFilterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	s := store.NewJSONL(&buf)
	f := store.Filter(s, store.Failed)
	const workers, each = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := store.Record{URL: fmt.Sprintf("http://a.test/%d/%d", w, i), Status: 200}
				if i%2 == 0 {
					r.Status, r.Error = 0, "timeout"
				}
				if err := f.Put(context.Background(), r); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := bytes.Count(buf.Bytes(), []byte("\n")), workers*each/2; got != want {
		t.Errorf("got %d lines, want %d", got, want)
	}
}

// TestRecordKinds checks that Fetched and Failed, with a set Skipped,
// sort each record into exactly one kind.
func TestRecordKinds(t *testing.T) {
	cases := []struct {
		name string
		rec  store.Record
		want string // "fetched", "failed" or "skipped"
	}{
		{"200", store.Record{URL: "http://a.test/", Status: 200}, "fetched"},
		{"404", store.Record{URL: "http://a.test/x", Status: 404}, "fetched"},
		{"redirect", store.Record{URL: "http://a.test/old", Status: 301, Location: "http://a.test/new"}, "fetched"},
		{"503 after retries", store.Record{URL: "http://a.test/", Status: 503, Attempts: 3}, "fetched"},
		{"429 not waited for", store.Record{URL: "http://a.test/", Status: 429, Error: "server asked to retry after 1h0m0s"}, "failed"},
		{"no response", store.Record{URL: "http://a.test/", Error: "fetch http://a.test/: timeout"}, "failed"},
		{"unparsable page", store.Record{URL: "http://a.test/", Status: 200, Error: "parse: bad charset"}, "failed"},
		{"robots", store.Record{URL: "http://a.test/private", Skipped: "robots"}, "skipped"},
		{"skipped with error", store.Record{URL: "http://a.test/", Status: 500, Error: "x", Skipped: "y"}, "skipped"},
		{"zero", store.Record{}, "fetched"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fetched, failed, skipped := store.Fetched(tc.rec), store.Failed(tc.rec), tc.rec.Skipped != ""
			if n := btoi(fetched) + btoi(failed) + btoi(skipped); n != 1 {
				t.Fatalf("Fetched %v, Failed %v, skipped %v: got %d kinds, want 1", fetched, failed, skipped, n)
			}
			var got string
			switch {
			case fetched:
				got = "fetched"
			case failed:
				got = "failed"
			default:
				got = "skipped"
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
