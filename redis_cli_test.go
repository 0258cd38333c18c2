package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"trawl/fixtures"
	"trawl/store/redis"
)

// These tests run trawl's commands in-process (run) against miniredis, a
// Redis server in the test process, and fixture sites on loopback.

// newRedis starts a miniredis server for the test and returns its URL.
func newRedis(t *testing.T) string {
	t.Helper()
	url, _ := newMiniredis(t)
	return url
}

// newMiniredis is newRedis that returns the server too.
func newMiniredis(t *testing.T) (string, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	return "redis://" + mr.Addr() + "/0", mr
}

// requireFrontier skips the test while store/redis's frontier is not
// written yet (its methods say "not implemented yet").
func requireFrontier(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := redis.Dial(ctx, url, redis.Options{Crawl: "probe"})
	if err != nil && strings.Contains(err.Error(), "not implemented") {
		t.Skip("store/redis's frontier is not written yet")
	}
	if err != nil {
		t.Fatalf("redis.Dial: %v", err)
	}
	f.Close()
}

// runTrawl runs the command in-process with args and a time limit.
func runTrawl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(args, &out, &errb) }()
	select {
	case code = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("trawl %v: still running after 2 minutes", args)
	}
	return out.String(), errb.String(), code
}

// redisSite is the fixture site of the Redis crawls: three hosts of one
// domain, answering after a few milliseconds so that the workers share
// the crawl.
var redisSite = fixtures.Synthetic{Pages: 120, Links: 5, Size: 300, Hosts: 3, Seed: 21, Latency: 3 * time.Millisecond}

// siteArgs are the flags of a crawl of redisSite served by srv.
func siteArgs(srv *fixtures.Server) []string {
	return append(resolveAll(srv, redisSite.HostNames()...), "-q", "--rate", "-1", "--per-host", "2", "-c", "4", "--scope", "domain")
}

// referenceRecords crawls redisSite in one process without Redis and
// returns its records' URLs, sorted.
func referenceRecords(t *testing.T, srv *fixtures.Server) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ref.jsonl")
	if _, stderr, code := runTrawl(t, append(siteArgs(srv), "-o", out, redisSite.Root())...); code != 0 {
		t.Fatalf("reference crawl: exit %d: %s", code, stderr)
	}
	return recordURLs(t, out)
}

// recordURLs returns the URLs of the records of the JSONL and CSV files
// (by their extension), sorted.
func recordURLs(t *testing.T, files ...string) []string {
	t.Helper()
	var urls []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Ext(f) != ".csv" {
			for _, r := range readRecords(t, data) {
				urls = append(urls, r.URL)
			}
			continue
		}
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil || len(rows) == 0 || rows[0][0] != "url" {
			t.Fatalf("%s: %d rows (%v), want CSV with its header once, first", f, len(rows), err)
		}
		for _, row := range rows[1:] {
			if row[0] == "url" {
				t.Errorf("%s: a second header row", f)
				continue
			}
			urls = append(urls, row[0])
		}
	}
	slices.Sort(urls)
	return urls
}

// checkOnce reports an error unless got holds the URLs of want, each
// once.
func checkOnce(t *testing.T, got, want []string) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Errorf("%s recorded twice", got[i])
		}
	}
	if !slices.Equal(slices.Compact(slices.Clone(got)), want) {
		t.Errorf("%d records of %d URLs, want the %d URLs of a crawl without Redis", len(got), len(slices.Compact(slices.Clone(got))), len(want))
	}
}

// TestRedisFlagsRefused: flags that need --redis, or do not go with it,
// are refused in one line with exit 2, before any server is reached.
func TestRedisFlagsRefused(t *testing.T) {
	url := "redis://127.0.0.1:1/0" // never dialed
	out := filepath.Join(t.TempDir(), "out.jsonl")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--redis", url, "http://a.test/"}, "--redis needs --crawl NAME"},
		{[]string{"--crawl", "c", "http://a.test/"}, "--crawl needs --redis URL"},
		{[]string{"--worker", "w", "http://a.test/"}, "--worker needs --redis URL"},
		{[]string{"--redis", url, "--crawl", "c", "--state", t.TempDir(), "-o", out, "http://a.test/"}, "--redis with --state"},
		{[]string{"--redis", url, "--crawl", "c", "-o", "-", "http://a.test/"}, "-o - with --redis"},
		{[]string{"--redis", "http://x", "--crawl", "c", "http://a.test/"}, "--redis \"http://x\""},
		{[]string{"export", "--redis", url, "--crawl", "c"}, "needs -o FILE"},
		{[]string{"export", "--redis", url, "-o", out}, "needs --crawl NAME"},
		{[]string{"export", "--redis", url, "--crawl", "c", "-o", "-"}, "-o -"},
		{[]string{"export", "--redis", url, "--crawl", "c", "-o", out, "--format", "xml"}, "--format \"xml\""},
		{[]string{"state", "--redis", url}, "usage: trawl state --redis URL --crawl NAME"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runTrawl(t, tc.args...)
			if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", code, stderr, tc.want)
			}
		})
	}
}

// TestRedisUnreachable: a server that does not answer is one line naming
// it, and exit 1, for every command.
func TestRedisUnreachable(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	url := "redis://" + addr + "/0"
	out := filepath.Join(t.TempDir(), "out.jsonl")
	for _, args := range [][]string{
		{"--redis", url, "--crawl", "c", "-o", out, "http://a.test/"},
		{"--redis", url, "--crawl", "c"},
		{"state", "--redis", url, "--crawl", "c"},
		{"export", "--redis", url, "--crawl", "c", "-o", out},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := runTrawl(t, args...)
			if code != exitFailure || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "trawl: ") ||
				!strings.Contains(stderr, "cannot reach the server at "+addr) {
				t.Errorf("exit %d, stderr %q; want 1 and one line saying it cannot reach the server at %s", code, stderr, addr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s created by a command that could not start", out)
			}
		})
	}
	// The process's own stderr too: the Redis client logs nothing there.
	_, stderr, code := trawl(t, "--redis", url, "--crawl", "c", "http://a.test/")
	if code != exitFailure || strings.Count(stderr, "\n") != 1 {
		t.Errorf("binary: exit %d, stderr %q; want 1 and one line", code, stderr)
	}
}

// TestRedisNoCrawl: joining a crawl that does not exist without seeds,
// showing it or exporting it is one line and exit 1; so is a crawl made
// by another version of trawl's key layout, and a bad crawl name is
// exit 2.
func TestRedisNoCrawl(t *testing.T) {
	url, mr := newMiniredis(t)
	requireFrontier(t, url)
	mr.Set("trawl:{old}:schema", "0") // as a crawl of schema 0 would have it
	out := filepath.Join(t.TempDir(), "old.jsonl")
	for _, args := range [][]string{
		{"--redis", url, "--crawl", "old", "-o", out, "http://a.test/"},
		{"state", "--redis", url, "--crawl", "old"},
		{"export", "--redis", url, "--crawl", "old", "-o", out},
	} {
		_, stderr, code := runTrawl(t, args...)
		if code != exitFailure || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--crawl old on "+url+" was made by an incompatible version of trawl") {
			t.Errorf("%v: exit %d, stderr %q; want 1 and one line saying the crawl is of another version", args, code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: %s left behind", args, out)
		}
	}

	out = filepath.Join(t.TempDir(), "out.jsonl")
	for _, args := range [][]string{
		{"--redis", url, "--crawl", "nope"},
		{"state", "--redis", url, "--crawl", "nope"},
		{"export", "--redis", url, "--crawl", "nope", "-o", out},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := runTrawl(t, args...)
			if code != exitFailure || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--crawl nope: there is no such crawl") {
				t.Errorf("exit %d, stderr %q; want 1 and one line saying there is no such crawl", code, stderr)
			}
		})
	}
	if _, stderr, code := runTrawl(t, "--redis", url, "--crawl", "bad name", "http://a.test/"); code != exitUsage || strings.Count(stderr, "\n") != 1 {
		t.Errorf("bad crawl name: exit %d, stderr %q; want 2 and one line", code, stderr)
	}
}

// TestRedisTwoWorkers: two workers crawl the site together, each with
// its own -o file (one JSONL, one CSV); each URL is recorded exactly once
// in the two files together. trawl state then shows the crawl finished, with what each
// output took, and a third worker joining without seeds finds nothing
// left.
func TestRedisTwoWorkers(t *testing.T) {
	srv := fixtures.NewServer(redisSite.Handler())
	defer srv.Close()
	want := referenceRecords(t, srv)
	url := newRedis(t)
	requireFrontier(t, url)
	srv.Reset()

	dir := t.TempDir()
	outs := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.csv")}
	var wg sync.WaitGroup
	results := make([]struct {
		stderr string
		code   int
	}, len(outs))
	for i, out := range outs {
		wg.Go(func() {
			args := append(siteArgs(srv), "--redis", url, "--crawl", "two", "--worker", fmt.Sprint("w", i), "-o", out, redisSite.Root())
			_, results[i].stderr, results[i].code = runTrawl(t, args...)
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("worker %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	checkOnce(t, recordURLs(t, outs...), want)
	if dup := fixtures.Duplicates(srv.Requests()); len(dup) > 0 {
		t.Logf("fetched twice (leases that lapsed?): %v", dup)
	}

	stdout, stderr, code := runTrawl(t, "state", "--redis", url, "--crawl", "two")
	if code != 0 {
		t.Fatalf("trawl state: exit %d: %s", code, stderr)
	}
	for _, w := range []string{
		"crawl    two on " + url,
		"seeds    " + redisSite.Root(),
		"scope    domain",
		`urls     \d+ seen, 0 queued, 0 in flight, \d+ done`,
		"outbox   0 records waiting",
		"exported [^\n]*" + regexp.QuoteMeta(outs[0]) + ": ",
		"exported [^\n]*" + regexp.QuoteMeta(outs[1]) + ": ",
		"workers  ",
	} {
		if !regexp.MustCompile(w).MatchString(stdout) {
			t.Errorf("trawl state:\n%s\nwant a match for %q", stdout, w)
		}
	}

	// A third worker joins without seeds: the crawl's are used, and all
	// of them are done.
	third := filepath.Join(dir, "c.jsonl")
	if _, stderr, code := runTrawl(t, append(siteArgs(srv), "--redis", url, "--crawl", "two", "-o", third)...); code != 0 {
		t.Fatalf("worker without seeds: exit %d: %s", code, stderr)
	}
	if got := recordURLs(t, third); len(got) != 0 {
		t.Errorf("the third worker exported %d records, want none: the crawl was done", len(got))
	}
}

// TestRedisExport: a worker without -o leaves the records in the outbox,
// and says so; trawl export takes them, once, refusing a file that holds
// other data unless --overwrite.
func TestRedisExport(t *testing.T) {
	srv := fixtures.NewServer(redisSite.Handler())
	defer srv.Close()
	want := referenceRecords(t, srv)
	url := newRedis(t)
	requireFrontier(t, url)

	args := append(siteArgs(srv), "--redis", url, "--crawl", "ex", redisSite.Root())
	args = slices.DeleteFunc(args, func(a string) bool { return a == "-q" })
	_, stderr, code := runTrawl(t, append(args, "--log", filepath.Join(t.TempDir(), "log"))...)
	if code != 0 {
		t.Fatalf("worker: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "the records stay in crawl ex's outbox") || !strings.Contains(stderr, "trawl export") {
		t.Errorf("stderr:\n%s\nwant a line saying the records stay in the outbox for trawl export", stderr)
	}

	dir := t.TempDir()
	taken := filepath.Join(dir, "taken.jsonl")
	if _, stderr, code := runTrawl(t, "export", "-q", "--redis", url, "--crawl", "ex", "-o", taken); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	checkOnce(t, recordURLs(t, taken), want)

	// Taken once: another output gets nothing, even following the crawl
	// (which is finished).
	other := filepath.Join(dir, "other.jsonl")
	if _, stderr, code := runTrawl(t, "export", "-q", "--follow", "--redis", url, "--crawl", "ex", "-o", other); code != 0 {
		t.Fatalf("export --follow: exit %d: %s", code, stderr)
	}
	if got := recordURLs(t, other); len(got) != 0 {
		t.Errorf("a second export took %d records, want none", len(got))
	}

	// The same file again under its name: it keeps what it has.
	if _, stderr, code := runTrawl(t, "export", "-q", "--redis", url, "--crawl", "ex", "-o", taken); code != 0 {
		t.Fatalf("export again: exit %d: %s", code, stderr)
	}
	checkOnce(t, recordURLs(t, taken), want)

	// A file with data of its own is refused, or emptied with --overwrite.
	foreign := filepath.Join(dir, "foreign.jsonl")
	if err := os.WriteFile(foreign, []byte("{\"url\":\"http://elsewhere.test/\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runTrawl(t, "export", "--redis", url, "--crawl", "ex", "-o", foreign)
	if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("export into a file with data: exit %d, stderr %q; want 2 and one line naming --overwrite", code, stderr)
	}
	if _, stderr, code := runTrawl(t, "export", "-q", "--overwrite", "--redis", url, "--crawl", "ex", "-o", foreign); code != 0 {
		t.Fatalf("export --overwrite: exit %d: %s", code, stderr)
	}
	if got := recordURLs(t, foreign); len(got) != 0 {
		t.Errorf("--overwrite: %d records, want an empty file (everything was taken)", len(got))
	}
}

// TestRedisMismatch: a worker whose seeds or scope differ from the
// crawl's is refused as a --state of another crawl is, unless
// --resume-anyway.
func TestRedisMismatch(t *testing.T) {
	srv := fixtures.NewServer(redisSite.Handler())
	defer srv.Close()
	url := newRedis(t)
	requireFrontier(t, url)
	dir := t.TempDir()
	base := append(siteArgs(srv), "--redis", url, "--crawl", "mm", "--depth", "1")
	if _, stderr, code := runTrawl(t, append(base, "-o", filepath.Join(dir, "a.jsonl"), redisSite.Root())...); code != 0 {
		t.Fatalf("first worker: exit %d: %s", code, stderr)
	}
	refused := filepath.Join(dir, "refused.jsonl")
	_, stderr, code := runTrawl(t, append(base, "--depth", "2", "-o", refused, redisSite.Root())...)
	if code != exitUsage {
		t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	for _, w := range []string{`--crawl mm holds another crawl`, `\n  --depth +1 +2\n`, `--resume-anyway`} {
		if !regexp.MustCompile(w).MatchString(stderr) {
			t.Errorf("stderr:\n%s\nwant a match for %q", stderr, w)
		}
	}
	if _, err := os.Stat(refused); err == nil {
		t.Errorf("%s left behind by a refused start", refused)
	}
	if _, stderr, code := runTrawl(t, append(base, "--depth", "2", "--resume-anyway", "-o", filepath.Join(dir, "b.jsonl"), redisSite.Root())...); code != 0 {
		t.Errorf("--resume-anyway: exit %d: %s", code, stderr)
	}
}

// TestRedisHelp: trawl export has its help, as the other commands do, and
// the help of trawl and trawl state tell of --redis.
func TestRedisHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "export"}, "--follow"},
		{[]string{"export", "--help"}, "trawl export --redis URL --crawl NAME -o FILE"},
		{[]string{"help", "state"}, "trawl state --redis URL --crawl NAME"},
		{[]string{"--help"}, "--redis URL"},
		{[]string{"help"}, "trawl export --redis URL --crawl NAME -o FILE"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := runTrawl(t, tc.args...)
			if code != 0 || !strings.Contains(stdout, tc.want) || stderr != "" {
				t.Errorf("exit %d, stdout:\n%s\nstderr %q; want 0 and %q on stdout only", code, stdout, stderr, tc.want)
			}
		})
	}
}
