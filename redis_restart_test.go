package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"trawl/fixtures"
	"trawl/store/redis/redistest"
)

// incrAOF returns the path of the server's incremental AOF file, where
// its writes since the last rewrite go.
func incrAOF(t *testing.T, rs *redistest.Server) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(rs.Dir(), "appendonlydir", "*.incr.aof"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no incremental AOF under %s (%v)", rs.Dir(), err)
	}
	slices.Sort(files)
	return files[len(files)-1]
}

// fileSize returns the size of the file at path, or 0.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// cutAOF cuts the AOF at path back to the start of the first transaction
// (a script's writes, MULTI … EXEC) that began at or after byte at,
// as a machine that lost the file's tail would leave it, and returns the
// new size and the bytes lost.
func cutAOF(t *testing.T, path string, at int64) (size, lost int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	multi := bytes.Index(b[min(int(at), len(b)):], []byte("\r\nMULTI\r\n"))
	if multi < 0 {
		t.Fatalf("no MULTI after byte %d of the AOF's %d", at, len(b))
	}
	cut := int(at) + multi
	cut = bytes.LastIndexByte(b[:cut], '*') // the MULTI command's "*1\r\n$5"
	if err := os.Truncate(path, int64(cut)); err != nil {
		t.Fatal(err)
	}
	return int64(cut), int64(len(b) - cut)
}

// TestRedisServerRestart runs two worker processes on one crawl and, in
// the middle of it, kills redis-server (AOF on, appendfsync everysec)
// with SIGKILL, cuts its AOF back to where it was a second before, as a
// machine that crashed with it could leave it, and starts it again a
// second later. The workers wait for it with back-off and go on: every
// page must be recorded once in the outputs together, and both must exit
// 0. Some URLs are fetched again (those whose settling Redis forgot);
// the test reports how many.
//
// A URL whose ack Redis forgot is back in flight under a lease that no
// live worker holds, and waits out redis.DefaultLeaseTTL (a minute)
// before another worker takes it: the crawl ends about a minute after
// the restart, hence the test's three minutes.
func TestRedisServerRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	rs := redistest.Start(t, redistest.Options{AppendOnly: true, Fsync: "everysec"})
	web := fixtures.NewServer(fleetSite.Handler())
	defer web.Close()
	dir := t.TempDir()
	args := fleetArgs(web, rs.URL(), "restart")
	outs := make([]string, 2)
	workers := make([]*proc, 2)
	for i := range workers {
		outs[i] = filepath.Join(dir, fmt.Sprintf("w%d.jsonl", i))
		workers[i] = startProc(ctx, t, fmt.Sprint("worker ", i), append(slices.Clone(args), "--worker", fmt.Sprint("w", i),
			"--user-agent", fmt.Sprintf("trawl-test (w%d)", i), "-o", outs[i])...)
	}

	// A second into the crawl's middle, note where the AOF is; a second
	// later kill the server and cut the AOF back there.
	waitLines(ctx, t, 150, workers, outs...)
	aof := incrAOF(t, rs)
	mark, marked := fileSize(aof), lineCount(outs...)
	second := time.NewTimer(time.Second)
	select {
	case <-second.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	rs.Kill()
	killed := time.Since(start)
	before := lineCount(outs...)
	size, lost := cutAOF(t, aof, mark)
	t.Logf("redis-server killed at %v with %d lines in the outputs (%d a second before); AOF cut to %d bytes, %d lost",
		killed.Round(time.Millisecond), before, marked, size, lost)
	second.Reset(time.Second)
	select {
	case <-second.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	for _, w := range workers {
		select {
		case <-w.done:
			t.Fatalf("%s exited (%v) while Redis was down, want it to wait: %s", w.name, w.err, w.stderr.String())
		default:
		}
	}
	rs.Restart(t)
	t.Logf("redis-server restarted at %v", time.Since(start).Round(time.Millisecond))
	for _, w := range workers {
		w.wait(ctx, t)
	}
	t.Logf("crawl done at %v", time.Since(start).Round(time.Millisecond))

	stdout, stderr, code := trawl(t, "state", "--redis", rs.URL(), "--crawl", "restart")
	if code != 0 {
		t.Fatalf("trawl state: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "outbox   0 records waiting") || !strings.Contains(stdout, " 0 queued, 0 in flight") {
		t.Errorf("trawl state after the crawl:\n%s\nwant nothing queued or in flight and nothing in the outbox", stdout)
	}
	rest := filepath.Join(dir, "rest.jsonl")
	if _, stderr, code := trawl(t, "export", "-q", "--redis", rs.URL(), "--crawl", "restart", "-o", rest); code != 0 {
		t.Fatalf("trawl export: exit %d: %s", code, stderr)
	}
	if n := lineCount(rest); n > 0 {
		t.Errorf("trawl export after the crawl took %d records, want none: the workers' outputs should have taken them all", n)
	}
	checkFleetRecords(t, append(outs, rest)...)
	n, urls := refetches(web.Requests())
	t.Logf("%d requests; %d fetches again (%d URLs): %v", len(web.Requests()), n, len(urls), urls)
}
