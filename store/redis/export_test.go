package redis

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"trawl/parse"
	"trawl/store"
	"trawl/store/redis/redistest"
)

// The tests of Export write the outbox themselves, as the frontier
// does: a schema key and stream entries whose field "r" is a record's
// JSON.

const exportCrawl = "c1"

// exportMini starts a miniredis and returns it with a client.
func exportMini(t testing.TB) (*miniredis.Miniredis, *goredis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	return m, c
}

// exportMakeCrawl creates the crawl's schema key and consumer group, as
// Open does.
func exportMakeCrawl(t testing.TB, c goredis.UniversalClient, crawl string) {
	t.Helper()
	ctx := context.Background()
	k := newExportKeys(crawl)
	if err := c.Set(ctx, k.schema, strconv.Itoa(SchemaVersion), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XGroupCreateMkStream(ctx, k.stream, exportGroup, "0").Err(); err != nil {
		t.Fatal(err)
	}
}

// exportTestRecord returns a record with most fields set; i makes it unique.
func exportTestRecord(i int) store.Record {
	r := store.Record{
		URL:         fmt.Sprintf("http://h%d.test/page/%d?q=<&>", i%7, i),
		Status:      200,
		Depth:       i % 4,
		Parent:      fmt.Sprintf("http://h%d.test/", i%7),
		ContentType: "text/html; charset=utf-8",
		Bytes:       int64(1000 + i),
		Title:       fmt.Sprintf("Page %d – \"quoted\"", i),
		Links:       3,
		FetchedAt:   time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		DurationMS:  int64(i % 100),
		Attempts:    1,
		OutLinks: []store.Link{
			{URL: "http://a.test/x", Source: "a[href]"},
			{URL: "http://a.test/s.css", Kind: parse.KindAsset, Source: "link[href]"},
		},
		Data: map[string]any{"n": i, "tag": "t"},
	}
	if i%5 == 0 {
		r = store.Record{URL: r.URL, Depth: r.Depth, Skipped: "robots"}
	}
	return r
}

// exportRecordJSON is rec as the frontier puts it into the outbox.
func exportRecordJSON(t testing.TB, rec store.Record) string {
	t.Helper()
	b, err := rec.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exportAdd appends records from to from+n-1 to the outbox and returns
// their JSON lines.
func exportAdd(t testing.TB, c goredis.UniversalClient, crawl string, from, n int) []string {
	t.Helper()
	ctx := context.Background()
	k := newExportKeys(crawl)
	lines := make([]string, 0, n)
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := from; i < from+n; i++ {
			line := exportRecordJSON(t, exportTestRecord(i))
			lines = append(lines, line)
			p.XAdd(ctx, &goredis.XAddArgs{Stream: k.stream, Values: []any{exportField, line}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// exportOpen opens a JSONL output over the file at path.
func exportOpen(t testing.TB, path string) (*store.File, *store.JSONL) {
	t.Helper()
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, store.NewJSONL(f)
}

// exportLines returns the lines of the file at path, and its size.
func exportLines(t testing.TB, path string) ([]string, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(string(b)) {
		lines = append(lines, strings.TrimSuffix(l, "\n"))
	}
	return lines, int64(len(b))
}

// exportCheckOnce checks that the lines of the files hold every line of want
// exactly once and nothing else.
func exportCheckOnce(t testing.TB, want []string, files ...string) {
	t.Helper()
	count := map[string]int{}
	for _, f := range files {
		lines, _ := exportLines(t, f)
		for _, l := range lines {
			count[l]++
		}
	}
	for _, w := range want {
		switch n := count[w]; n {
		case 1:
		case 0:
			t.Errorf("missing record %.70s…", w)
		default:
			t.Errorf("record %d times: %.70s…", n, w)
		}
		delete(count, w)
	}
	for l, n := range count {
		t.Errorf("unexpected record (%d times): %.70s…", n, l)
	}
}

// exportCommitted returns name's committed size; -1 if it has none.
func exportCommitted(t testing.TB, c goredis.UniversalClient, crawl, name string) int64 {
	t.Helper()
	v, err := c.HGet(context.Background(), newExportKeys(crawl).exports, name).Result()
	if errors.Is(err, goredis.Nil) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// exportCheckDrained checks that the outbox is empty and nothing is pending.
func exportCheckDrained(t testing.TB, c goredis.UniversalClient, crawl string) {
	t.Helper()
	ctx := context.Background()
	if n, err := c.XLen(ctx, newExportKeys(crawl).stream).Result(); err != nil || n != 0 {
		t.Errorf("outbox length %d (%v), want 0", n, err)
	}
	if p, err := Pending(ctx, c, crawl); err != nil || len(p) != 0 {
		t.Errorf("Pending = %v (%v), want none", p, err)
	}
}

// exportSetVar sets *p to v for the test.
func exportSetVar[T any](t testing.TB, p *T, v T) {
	old := *p
	*p = v
	t.Cleanup(func() { *p = old })
}

// exportWaitFor waits up to 10 s for cond.
func exportWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// exportRun runs Export in a goroutine and returns its result channel.
func exportRun(ctx context.Context, c goredis.UniversalClient, crawl, name string, out store.Output, stop <-chan struct{}) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Export(ctx, c, crawl, name, out, stop) }()
	return done
}

// exportResult waits up to 10 s for an export's result.
func exportResult(t testing.TB, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Export did not return")
		return nil
	}
}

func TestExportDrains(t *testing.T) {
	exportSetVar(t, &exportBatch, 64)
	_, c := exportMini(t)
	exportMakeCrawl(t, c, exportCrawl)
	want := exportAdd(t, c, exportCrawl, 0, 1000)
	path := filepath.Join(t.TempDir(), "out.jsonl")
	_, out := exportOpen(t, path)
	if err := Export(context.Background(), c, exportCrawl, "w1", out, nil); err != nil {
		t.Fatalf("Export: %v", err)
	}
	exportCheckOnce(t, want, path)
	if _, size := exportLines(t, path); exportCommitted(t, c, exportCrawl, "w1") != size {
		t.Errorf("exportCommitted size %d, want the file's %d", exportCommitted(t, c, exportCrawl, "w1"), size)
	}
	exportCheckDrained(t, c, exportCrawl)

	// Again with nothing left: nothing changes.
	if err := Export(context.Background(), c, exportCrawl, "w1", out, nil); err != nil {
		t.Fatalf("second Export: %v", err)
	}
	exportCheckOnce(t, want, path)
}

func TestExportTwoNames(t *testing.T) {
	exportSetVar(t, &exportBatch, 16)
	_, c := exportMini(t)
	exportMakeCrawl(t, c, exportCrawl)
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")}
	stop := make(chan struct{})
	var done []<-chan error
	for i, p := range paths {
		_, out := exportOpen(t, p)
		done = append(done, exportRun(context.Background(), c, exportCrawl, fmt.Sprint("w", i), out, stop))
	}
	var want []string
	for i := 0; i < 2000; i += 100 {
		want = append(want, exportAdd(t, c, exportCrawl, i, 100)...)
	}
	close(stop)
	for _, d := range done {
		if err := exportResult(t, d); err != nil {
			t.Fatalf("Export: %v", err)
		}
	}
	exportCheckOnce(t, want, paths...)
	for i, p := range paths {
		lines, size := exportLines(t, p)
		if got := exportCommitted(t, c, exportCrawl, fmt.Sprint("w", i)); got != size {
			t.Errorf("%s: exportCommitted %d, want the file's %d", p, got, size)
		}
		t.Logf("%s: %d records", filepath.Base(p), len(lines))
	}
	exportCheckDrained(t, c, exportCrawl)
}

// TestExportCrashBeforeCommit kills an export between the Sync of its
// output and the commit: its records stay pending for its name, another
// name does not take them, and the same name takes them again after
// cutting the output back.
func TestExportCrashBeforeCommit(t *testing.T) {
	exportSetVar(t, &exportBatch, 10)
	errKilled := errors.New("killed")
	syncs := 0
	exportSetVar(t, &exportAfterSync, func() error {
		if syncs++; syncs == 3 {
			return errKilled
		}
		return nil
	})
	_, c := exportMini(t)
	exportMakeCrawl(t, c, exportCrawl)
	want := exportAdd(t, c, exportCrawl, 0, 50)
	dir := t.TempDir()
	pathA, pathB := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	fa, out := exportOpen(t, pathA)
	if err := Export(context.Background(), c, exportCrawl, "a", out, nil); !errors.Is(err, errKilled) {
		t.Fatalf("Export = %v, want the hook's error", err)
	}
	fa.Close()
	lines, _ := exportLines(t, pathA)
	if len(lines) != 30 {
		t.Fatalf("killed export wrote %d records, want 30", len(lines))
	}
	if got, want := exportCommitted(t, c, exportCrawl, "a"), int64(len(strings.Join(lines[:20], "\n"))+1); got != want {
		t.Errorf("exportCommitted %d, want %d: the first 20 records", got, want)
	}
	ctx := context.Background()
	if p, err := Pending(ctx, c, exportCrawl); err != nil || !maps.Equal(p, map[string]int64{"a": 10}) {
		t.Errorf("Pending = %v (%v), want a: 10", p, err)
	}

	// Another name takes the rest but not a's pending records.
	exportSetVar(t, &exportAfterSync, nil)
	_, outB := exportOpen(t, pathB)
	if err := Export(ctx, c, exportCrawl, "b", outB, nil); err != nil {
		t.Fatalf("Export b: %v", err)
	}
	if lines, _ := exportLines(t, pathB); len(lines) != 20 {
		t.Errorf("b exported %d records, want 20", len(lines))
	}
	if p, err := Pending(ctx, c, exportCrawl); err != nil || !maps.Equal(p, map[string]int64{"a": 10}) {
		t.Errorf("Pending = %v (%v), want a: 10", p, err)
	}

	// a again: cut back to 20 records, then its 10 pending ones.
	_, out = exportOpen(t, pathA)
	if err := Export(ctx, c, exportCrawl, "a", out, nil); err != nil {
		t.Fatalf("Export a again: %v", err)
	}
	exportCheckOnce(t, want, pathA, pathB)
	if _, size := exportLines(t, pathA); exportCommitted(t, c, exportCrawl, "a") != size {
		t.Errorf("exportCommitted %d, want the file's %d", exportCommitted(t, c, exportCrawl, "a"), size)
	}
	exportCheckDrained(t, c, exportCrawl)
}

// TestExportCSV: a CSV output, whose new sink buffers its header row,
// is not taken for an output with data, and keeps one header and one row
// per record across a crash between Sync and commit.
func TestExportCSV(t *testing.T) {
	exportSetVar(t, &exportBatch, 10)
	errKilled := errors.New("killed")
	syncs := 0
	exportSetVar(t, &exportAfterSync, func() error {
		if syncs++; syncs == 2 {
			return errKilled
		}
		return nil
	})
	_, c := exportMini(t)
	exportMakeCrawl(t, c, exportCrawl)
	exportAdd(t, c, exportCrawl, 0, 30)
	path := filepath.Join(t.TempDir(), "out.csv")
	for _, want := range []error{errKilled, nil} {
		f, err := store.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := Export(context.Background(), c, exportCrawl, "w", store.NewCSV(f), nil); !errors.Is(err, want) {
			t.Fatalf("Export = %v, want %v", err, want)
		}
		f.Close()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, row := range rows {
		if (row[0] == "url") != (i == 0) {
			t.Errorf("row %d: %q", i, row[:2])
		}
		if seen[row[0]] {
			t.Errorf("row %d: %s again", i, row[0])
		}
		seen[row[0]] = true
	}
	if len(rows) != 31 {
		t.Errorf("%d rows, want a header and 30 records", len(rows))
	}
	if got := exportCommitted(t, c, exportCrawl, "w"); got != int64(len(b)) {
		t.Errorf("committed %d, want the file's %d", got, len(b))
	}
	exportCheckDrained(t, c, exportCrawl)
}

func TestExportOutputNotEmpty(t *testing.T) {
	_, c := exportMini(t)
	exportMakeCrawl(t, c, exportCrawl)
	exportAdd(t, c, exportCrawl, 0, 5)
	path := filepath.Join(t.TempDir(), "out.jsonl")
	if err := os.WriteFile(path, []byte("someone else's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out := exportOpen(t, path)
	err := Export(context.Background(), c, exportCrawl, "new", out, nil)
	if !errors.Is(err, ErrOutputNotEmpty) {
		t.Fatalf("Export = %v, want ErrOutputNotEmpty", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "someone else's\n" {
		t.Errorf("output changed to %q", b)
	}
	if got := exportCommitted(t, c, exportCrawl, "new"); got != -1 {
		t.Errorf("refused name registered at %d", got)
	}

	// A name whose committed size is beyond the end of its output: not
	// its output.
	if err := c.HSet(context.Background(), newExportKeys(exportCrawl).exports, "old", 1000).Err(); err != nil {
		t.Fatal(err)
	}
	if err := Export(context.Background(), c, exportCrawl, "old", out, nil); !errors.Is(err, store.ErrOutputMismatch) {
		t.Errorf("Export of a short output = %v, want ErrOutputMismatch", err)
	}
}

func TestExportNoCrawl(t *testing.T) {
	_, c := exportMini(t)
	ctx := context.Background()
	_, out := exportOpen(t, filepath.Join(t.TempDir(), "out.jsonl"))
	if err := Export(ctx, c, "nope", "w", out, nil); !errors.Is(err, ErrNoCrawl) {
		t.Errorf("Export of a missing crawl = %v, want ErrNoCrawl", err)
	}
	if _, err := Pending(ctx, c, "nope"); !errors.Is(err, ErrNoCrawl) {
		t.Errorf("Pending of a missing crawl = %v, want ErrNoCrawl", err)
	}
	if err := c.Set(ctx, newExportKeys("old").schema, "0", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := Export(ctx, c, "old", "w", out, nil); !errors.Is(err, ErrSchema) {
		t.Errorf("Export of another schema = %v, want ErrSchema", err)
	}
	if err := Export(ctx, c, "no spaces", "w", out, nil); !errors.Is(err, ErrBadName) {
		t.Errorf("Export of a bad crawl name = %v, want ErrBadName", err)
	}
	exportMakeCrawl(t, c, exportCrawl)
	if err := Export(ctx, c, exportCrawl, "", out, nil); err == nil {
		t.Error("Export without a name: no error")
	}
	if p, err := Pending(ctx, c, exportCrawl); err != nil || len(p) != 0 {
		t.Errorf("Pending of a new crawl = %v, %v; want none", p, err)
	}
}

// TestExportFollow: with stop open, Export waits for new records; once
// stop is closed, it takes what is left and returns.
func TestExportFollow(t *testing.T) {
	exportSetVar(t, &exportBatch, 4)
	exportSetVar(t, &exportBlock, 20*time.Millisecond)
	_, c := exportMini(t)
	exportMakeCrawl(t, c, exportCrawl)
	path := filepath.Join(t.TempDir(), "out.jsonl")
	_, out := exportOpen(t, path)
	stop := make(chan struct{})
	done := exportRun(context.Background(), c, exportCrawl, "w", out, stop)

	want := exportAdd(t, c, exportCrawl, 0, 10)
	exportWaitFor(t, "the first records", func() bool {
		_, size := exportLines(t, path)
		return size > 0 && exportCommitted(t, c, exportCrawl, "w") == size && len(exportMustLines(t, path)) == 10
	})
	select {
	case err := <-done:
		t.Fatalf("Export returned (%v) while stop is open", err)
	default:
	}
	want = append(want, exportAdd(t, c, exportCrawl, 10, 25)...)
	close(stop)
	if err := exportResult(t, done); err != nil {
		t.Fatalf("Export: %v", err)
	}
	exportCheckOnce(t, want, path)
	exportCheckDrained(t, c, exportCrawl)
}

func exportMustLines(t testing.TB, path string) []string {
	lines, _ := exportLines(t, path)
	return lines
}

// TestExportCancel: Export returns ctx's error promptly while it waits
// for records.
func TestExportCancel(t *testing.T) {
	_, c := exportMini(t)
	exportMakeCrawl(t, c, exportCrawl)
	_, out := exportOpen(t, filepath.Join(t.TempDir(), "out.jsonl"))
	ctx, cancel := context.WithCancel(context.Background())
	done := exportRun(ctx, c, exportCrawl, "w", out, make(chan struct{}))
	exportAdd(t, c, exportCrawl, 0, 3)
	exportWaitFor(t, "the records", func() bool { return exportCommitted(t, c, exportCrawl, "w") > 0 })
	cancel()
	if err := exportResult(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Export = %v, want context.Canceled", err)
	}
}

// TestExportServerForgot: the committed size goes back (the server lost
// the last commit, and the records it took came back into the outbox)
// while an export runs; its next commit is refused, and it cuts its
// output back and takes the records again.
func TestExportServerForgot(t *testing.T) {
	exportSetVar(t, &exportBatch, 5)
	exportSetVar(t, &exportBlock, 20*time.Millisecond)
	_, c := exportMini(t)
	exportMakeCrawl(t, c, exportCrawl)
	path := filepath.Join(t.TempDir(), "out.jsonl")
	_, out := exportOpen(t, path)
	var starts []int64
	var mu sync.Mutex
	exportSetVar(t, &exportOnStart, func(n int64) { mu.Lock(); starts = append(starts, n); mu.Unlock() })
	stop := make(chan struct{})
	done := exportRun(context.Background(), c, exportCrawl, "w", out, stop)

	first := exportAdd(t, c, exportCrawl, 0, 10)
	exportWaitFor(t, "two commits", func() bool {
		lines, size := exportLines(t, path)
		return len(lines) == 10 && exportCommitted(t, c, exportCrawl, "w") == size
	})
	// Forget the second batch's commit: its size goes back to the first
	// batch's, and its records return to the outbox (as new entries:
	// their URLs were fetched again).
	back := int64(len(strings.Join(first[:5], "\n")) + 1)
	if err := c.HSet(context.Background(), newExportKeys(exportCrawl).exports, "w", back).Err(); err != nil {
		t.Fatal(err)
	}
	for _, line := range first[5:] {
		c.XAdd(context.Background(), &goredis.XAddArgs{Stream: newExportKeys(exportCrawl).stream, Values: []any{exportField, line}})
	}
	want := append(first, exportAdd(t, c, exportCrawl, 10, 7)...)
	close(stop)
	if err := exportResult(t, done); err != nil {
		t.Fatalf("Export: %v", err)
	}
	exportCheckOnce(t, want, path)
	if _, size := exportLines(t, path); exportCommitted(t, c, exportCrawl, "w") != size {
		t.Errorf("exportCommitted %d, want the file's %d", exportCommitted(t, c, exportCrawl, "w"), size)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(starts, back) {
		t.Errorf("starts saw exportCommitted sizes %v, want one at %d", starts, back)
	}
}

// TestExportEntryTaken: entries of a batch that are no longer pending
// for the export when it commits (the server lost their delivery and
// gave them to another name) make the commit refused; the export cuts
// them and the other name has them.
func TestExportEntryTaken(t *testing.T) {
	exportSetVar(t, &exportBatch, 5)
	_, c := exportMini(t)
	exportMakeCrawl(t, c, exportCrawl)
	want := exportAdd(t, c, exportCrawl, 0, 20)
	ctx := context.Background()
	k := newExportKeys(exportCrawl)
	syncs := 0
	exportSetVar(t, &exportAfterSync, func() error {
		if syncs++; syncs != 2 {
			return nil
		}
		// Move the whole batch just written to "thief".
		p, err := c.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: k.stream, Group: exportGroup, Start: "-", End: "+", Count: 100, Consumer: "a"}).Result()
		if err != nil {
			return err
		}
		var ids []string
		for _, e := range p {
			ids = append(ids, e.ID)
		}
		return c.XClaimJustID(ctx, &goredis.XClaimArgs{Stream: k.stream, Group: exportGroup, Consumer: "thief", Messages: ids}).Err()
	})
	dir := t.TempDir()
	pathA, pathT := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "thief.jsonl")
	_, out := exportOpen(t, pathA)
	if err := Export(ctx, c, exportCrawl, "a", out, nil); err != nil {
		t.Fatalf("Export a: %v", err)
	}
	if lines := exportMustLines(t, pathA); len(lines) != 15 {
		t.Errorf("a exported %d records, want 15", len(lines))
	}
	if p, err := Pending(ctx, c, exportCrawl); err != nil || !maps.Equal(p, map[string]int64{"thief": 5}) {
		t.Errorf("Pending = %v (%v), want thief: 5", p, err)
	}
	_, outT := exportOpen(t, pathT)
	if err := Export(ctx, c, exportCrawl, "thief", outT, nil); err != nil {
		t.Fatalf("Export thief: %v", err)
	}
	exportCheckOnce(t, want, pathA, pathT)
	exportCheckDrained(t, c, exportCrawl)
}

// TestExportOutage: Export rides out a server that cannot be reached
// for a while, and gives up after exportMaxOutage. (A proxy cuts the
// connections: miniredis's blocking reads hang after its Restart.)
func TestExportOutage(t *testing.T) {
	exportSetVar(t, &exportBatch, 8)
	exportSetVar(t, &exportBlock, 20*time.Millisecond)
	m, _ := exportMini(t)
	px := newExportProxy(t, m.Addr())
	c := goredis.NewClient(&goredis.Options{Addr: px.addr, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	exportMakeCrawl(t, c, exportCrawl)
	path := filepath.Join(t.TempDir(), "out.jsonl")
	_, out := exportOpen(t, path)
	stop := make(chan struct{})
	var mu sync.Mutex
	starts, failures := 0, 0
	exportSetVar(t, &exportOnStart, func(int64) { mu.Lock(); starts++; mu.Unlock() })
	exportSetVar(t, &exportOnOutage, func(error) { mu.Lock(); failures++; mu.Unlock() })
	done := exportRun(context.Background(), c, exportCrawl, "w", out, stop)
	want := exportAdd(t, c, exportCrawl, 0, 20)
	exportWaitFor(t, "the records", func() bool { return len(exportMustLines(t, path)) == 20 })
	px.down()
	// Records written while the export cannot reach the server.
	direct := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer direct.Close()
	want = append(want, exportAdd(t, direct, exportCrawl, 20, 20)...)
	// Let Export fail a few times (a loaded machine may not run it at
	// once: wait for the failures rather than for a time).
	exportWaitFor(t, "Export to meet the outage", func() bool { mu.Lock(); defer mu.Unlock(); return failures >= 2 })
	px.up()
	close(stop)
	if err := exportResult(t, done); err != nil {
		t.Fatalf("Export: %v", err)
	}
	exportCheckOnce(t, want, path)
	exportCheckDrained(t, direct, exportCrawl)
	mu.Lock()
	if starts < 2 {
		t.Errorf("%d starts, want a new one after the outage", starts)
	}
	mu.Unlock()

	exportSetVar(t, &exportMaxOutage, 200*time.Millisecond)
	px.down()
	err := exportResult(t, exportRun(context.Background(), c, exportCrawl, "w", out, nil))
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Export without a server = %v, want an unreachable error", err)
	}
}

// exportProxy forwards loopback TCP connections to a server, and can cut them
// all and refuse new ones for a while (down, up).
type exportProxy struct {
	t      testing.TB
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newExportProxy(t testing.TB, target string) *exportProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &exportProxy{t: t, addr: ln.Addr().String(), target: target}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *exportProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			for _, pair := range [][2]net.Conn{{in, out}, {out, in}} {
				p.wg.Go(func() {
					io.Copy(pair[0], pair[1])
					pair[0].Close()
					pair[1].Close()
				})
			}
		}
	})
}

// down closes the listener and every connection, and waits for the
// proxy's goroutines.
func (p *exportProxy) down() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// up listens again on the same address.
func (p *exportProxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

// TestExportRecordRoundTrip checks that records reach the output as
// they were written to the outbox, byte for byte: encoding/json decodes
// every field MarshalJSON writes, and Export's decoder also keeps data's
// JSON text.
func TestExportRecordRoundTrip(t *testing.T) {
	type ordered struct {
		Z   string `json:"z"`
		A   int64  `json:"a"`
		Big uint64 `json:"big"`
	}
	rich := store.Record{
		URL: "http://a.test/p?x=<1>&y=\u2028", FinalURL: "http://a.test/q", Location: "http://a.test/r",
		Status: 301, Depth: 3, Parent: "http://a.test/", ContentType: "text/html", Bytes: 1 << 40,
		Truncated: true, Title: "T\t\"\\", Canonical: "http://a.test/c", Description: "d", Lang: "en",
		Links: 4, FetchedAt: time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, time.FixedZone("x", 3600)),
		DurationMS: 0, Attempts: 2, Error: "e", Kind: parse.KindSitemap,
		OutLinks: []store.Link{
			{URL: "http://a.test/x", Source: ""},
			{URL: "http://a.test/f", Kind: parse.KindForm, Source: "form[action]", Method: "POST", NoFollow: true},
		},
		WARCFile: "crawl-00001.warc.gz", WARCOffset: 0,
		Data: map[string]any{"b": []any{1.5, "x", nil, true}, "a": map[string]any{}},
	}
	skipped := store.Record{URL: "http://b.test/", Skipped: "robots", Status: 200, Attempts: 3}
	for _, tc := range []struct {
		name   string
		rec    store.Record
		stdlib bool // encoding/json into store.Record keeps it too
	}{
		{"rich", rich, true},
		{"skipped", skipped, true},
		{"zero depth page", store.Record{URL: "u", Attempts: 0}, true},
		{"struct data in field order", store.Record{URL: "u", Data: ordered{"z", -1, 1<<64 - 1}}, false},
		{"typed nil data", store.Record{URL: "u", Data: (*ordered)(nil)}, false},
		{"raw data", store.Record{URL: "u", Data: json.RawMessage(`{"y":1e400,"x":"<&>"}`)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := exportRecordJSON(t, tc.rec)
			back, err := decodeExportRecord([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			if again := exportRecordJSON(t, back); again != line {
				t.Errorf("export round trip:\n got %s\nwant %s", again, line)
			}
			var std store.Record
			same := false
			if err := json.Unmarshal([]byte(line), &std); err == nil {
				same = exportRecordJSON(t, std) == line
			} else if tc.stdlib {
				t.Fatal(err)
			}
			if same != tc.stdlib {
				t.Errorf("encoding/json round trip the same: %v, want %v:\n got %s\nwant %s", same, tc.stdlib, exportRecordJSON(t, std), line)
			}
			// And through a JSONL sink, as Export writes.
			var buf bytes.Buffer
			s := store.NewJSONL(&buf)
			if err := s.Put(context.Background(), back); err != nil {
				t.Fatal(err)
			}
			s.Flush()
			if got := strings.TrimSuffix(buf.String(), "\n"); got != line {
				t.Errorf("JSONL line:\n got %s\nwant %s", got, line)
			}
		})
	}
}

// BenchmarkExport measures Export draining b.N records (of about 500
// bytes) into a JSONL file, in batches of exportBatch: on miniredis, and
// on a redis-server with AOF (appendfsync everysec) when there is one.
func BenchmarkExport(b *testing.B) {
	b.Run("miniredis", func(b *testing.B) {
		_, c := exportMini(b)
		benchmarkExport(b, c)
	})
	b.Run("redis-server", func(b *testing.B) {
		// Not the one wait at the end for the AOF's fsync (on Redis 7.0).
		exportSetVar(b, &exportFsyncWait, 0)
		srv := redistest.Start(b, redistest.Options{AppendOnly: true})
		benchmarkExport(b, srv.Client(b))
	})
}

func benchmarkExport(b *testing.B, c goredis.UniversalClient) {
	exportMakeCrawl(b, c, exportCrawl)
	path := filepath.Join(b.TempDir(), "out.jsonl")
	_, out := exportOpen(b, path)
	for i := 0; i < b.N; i += 1000 {
		exportAdd(b, c, exportCrawl, i, min(1000, b.N-i))
	}
	b.ResetTimer()
	if err := Export(context.Background(), c, exportCrawl, "w", out, nil); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	if n != b.N {
		b.Fatalf("exported %d records, want %d", n, b.N)
	}
}

// The tests below run a real redis-server (redistest), with AOF and
// appendfsync everysec, and make it lose the tail of its log: they kill
// it with SIGKILL and then cut its AOF, as a machine that lost its last
// second of writes would leave it. (A SIGKILL alone loses nothing the
// server wrote to the AOF: the data is in the operating system.)

// exportIncrAOF returns the path of the server's incremental AOF file.
func exportIncrAOF(t testing.TB, srv *redistest.Server) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(srv.Dir(), "appendonlydir", "*.incr.aof"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no incremental AOF under %s (%v)", srv.Dir(), err)
	}
	slices.Sort(files)
	return files[len(files)-1]
}

// exportCutAOF cuts the file at path to n bytes.
func exportCutAOF(t testing.TB, path string, n int) {
	t.Helper()
	if err := os.Truncate(path, int64(n)); err != nil {
		t.Fatal(err)
	}
}

// TestExportRedisKill: an export runs while Redis is killed and restarts
// without its last commit; the export finds out, cuts its output back
// and takes the records again, so that each is in the output once.
func TestExportRedisKill(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AppendOnly: true})
	c := srv.Client(t)
	exportSetVar(t, &exportBatch, 20)
	exportSetVar(t, &exportBlock, 50*time.Millisecond)
	exportSetVar(t, &exportFsyncWait, 100*time.Millisecond)
	var mu sync.Mutex
	var starts []int64
	exportSetVar(t, &exportOnStart, func(n int64) { mu.Lock(); starts = append(starts, n); mu.Unlock() })
	exportMakeCrawl(t, c, exportCrawl)
	path := filepath.Join(t.TempDir(), "out.jsonl")
	_, out := exportOpen(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop := make(chan struct{})
	done := exportRun(ctx, c, exportCrawl, "w", out, stop)

	var want []string
	for round := range 2 {
		want = append(want, exportAdd(t, c, exportCrawl, 100*round, 100)...)
		exportWaitFor(t, "the records exported", func() bool {
			lines, size := exportLines(t, path)
			return len(lines) == len(want) && exportCommitted(t, c, exportCrawl, "w") == size
		})
	}
	before := exportCommitted(t, c, exportCrawl, "w")

	srv.Kill()
	// Lose the last commit: cut the AOF before the MULTI of the last
	// script that set the committed size.
	aof := exportIncrAOF(t, srv)
	b, err := os.ReadFile(aof)
	if err != nil {
		t.Fatal(err)
	}
	hset := bytes.LastIndex(b, []byte("\r\nHSET\r\n"))
	multi := bytes.LastIndex(b[:max(hset, 0)], []byte("\r\nMULTI\r\n"))
	if hset < 0 || multi < 0 {
		t.Fatalf("no MULTI … HSET in the AOF")
	}
	exportCutAOF(t, aof, bytes.LastIndexByte(b[:multi], '*'))
	srv.Restart(t)

	want = append(want, exportAdd(t, c, exportCrawl, 200, 100)...)
	close(stop)
	if err := exportResult(t, done); err != nil {
		t.Fatalf("Export: %v", err)
	}
	exportCheckOnce(t, want, path)
	if _, size := exportLines(t, path); exportCommitted(t, c, exportCrawl, "w") != size {
		t.Errorf("exportCommitted %d, want the file's %d", exportCommitted(t, c, exportCrawl, "w"), size)
	}
	exportCheckDrained(t, c, exportCrawl)
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(starts, func(n int64) bool { return n < before }) {
		t.Errorf("starts saw exportCommitted sizes %v, want one below %d (the lost commit)", starts, before)
	}
}

// TestExportRedisLostTail: two outputs export, then Redis is killed and
// loses a random tail of its log. Every record the restarted server
// holds, in the committed part of an output or in the outbox, is in one
// place only; exporting both outputs again leaves each of those records
// in the outputs exactly once, and each output ends at its committed
// size.
func TestExportRedisLostTail(t *testing.T) {
	const seeds = 5
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{AppendOnly: true})
			c := srv.Client(t)
			exportSetVar(t, &exportBatch, 16)
			exportSetVar(t, &exportFsyncWait, 100*time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			exportMakeCrawl(t, c, exportCrawl)
			dir := t.TempDir()
			names := []string{"a", "b"}
			paths := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")}
			// Register both names first, so that the cut may fall among
			// the records' XADDs and both outputs' commits.
			for round := range 3 {
				for i, name := range names {
					if round > 0 {
						exportAdd(t, c, exportCrawl, 100*(2*round+i), 100)
					}
					f, out := exportOpen(t, paths[i])
					if err := Export(ctx, c, exportCrawl, name, out, nil); err != nil {
						t.Fatalf("Export %s: %v", name, err)
					}
					f.Close()
				}
			}

			srv.Kill()
			aof := exportIncrAOF(t, srv)
			b, err := os.ReadFile(aof)
			if err != nil {
				t.Fatal(err)
			}
			// Cut anywhere after b was registered (a lost registration of
			// a name whose output has data is the one case Export refuses:
			// ErrOutputNotEmpty).
			reg := bytes.LastIndex(bytes.ToLower(b), []byte("\r\nhsetnx\r\n"))
			if reg < 0 {
				t.Fatal("no HSETNX in the AOF")
			}
			reg += 64
			// Spread the cuts over the log, each at a random byte.
			span := (len(b) - reg) / seeds
			at := reg + int(seed)*span + rand.New(rand.NewPCG(seed, 1)).IntN(span)
			exportCutAOF(t, aof, at)
			srv.Restart(t)
			t.Logf("AOF cut at %d of %d bytes", at, len(b))

			// What the server holds: the committed part of each output, and
			// the outbox.
			count := map[string]int{}
			for i, name := range names {
				n := exportCommitted(t, c, exportCrawl, name)
				if n < 0 {
					t.Fatalf("%s not registered after the restart", name)
				}
				data, err := os.ReadFile(paths[i])
				if err != nil {
					t.Fatal(err)
				}
				for l := range strings.Lines(string(data[:n])) {
					count[strings.TrimSuffix(l, "\n")]++
				}
				t.Logf("%s: %d of %d bytes committed", name, n, len(data))
			}
			entries, err := c.XRange(ctx, newExportKeys(exportCrawl).stream, "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				count[e.Values[exportField].(string)]++
			}
			t.Logf("%d records in the outbox", len(entries))
			var want []string
			for l, n := range count {
				if n != 1 {
					t.Errorf("record held %d times by the restarted server: %.70s…", n, l)
				}
				want = append(want, l)
			}

			for i, name := range names {
				_, out := exportOpen(t, paths[i])
				if err := Export(ctx, c, exportCrawl, name, out, nil); err != nil {
					t.Fatalf("Export %s again: %v", name, err)
				}
				if _, size := exportLines(t, paths[i]); exportCommitted(t, c, exportCrawl, name) != size {
					t.Errorf("%s: exportCommitted %d, want the file's %d", name, exportCommitted(t, c, exportCrawl, name), size)
				}
			}
			exportCheckOnce(t, want, paths...)
			exportCheckDrained(t, c, exportCrawl)
		})
	}
}
