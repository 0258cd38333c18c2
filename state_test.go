package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/store"
	"trawl/store/disk"
)

// stateFile is what TestStateChangesNothing compares of each file.
type stateFile struct {
	size  int64
	mtime time.Time
	sum   [sha256.Size]byte
}

// hashTree returns the size, mtime and SHA-256 of dir and every file
// under it, by path.
func hashTree(t *testing.T, dir string) map[string]stateFile {
	t.Helper()
	files := map[string]stateFile{}
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		f := stateFile{size: fi.Size(), mtime: fi.ModTime()}
		if de.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f.sum = sha256.Sum256(b)
		}
		files[path] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// savedState builds a stopped crawl's state in dir without crawling: a
// checkpoint with the crawler's meta, then a flush after it in the
// journal, then a crash. With counted, the meta counts the records as a
// crawl does (5 fetched: 200: 3, 404: 2); without, it has no counts, as
// the meta of an older trawl.
func savedState(t *testing.T, dir string, counted bool) {
	t.Helper()
	ctx := context.Background()
	d, err := disk.Open(dir, disk.Options{FrontierOptions: store.FrontierOptions{PerHost: 4, Interval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	push := func(urls ...string) {
		t.Helper()
		var es []store.Entry
		for _, u := range urls {
			host := strings.SplitN(strings.TrimPrefix(u, "http://"), "/", 2)[0]
			es = append(es, store.Entry{URL: u, Key: u, Host: host})
		}
		if _, err := d.Push(ctx, es); err != nil {
			t.Fatal(err)
		}
	}
	ackAll := func(status int) {
		t.Helper()
		ls, _, err := d.Claim(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if err := d.Ack(ctx, l, store.Outcome{Status: status}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var atCheckpoint, atFlush crawler.Counts
	if counted {
		atCheckpoint = crawler.Counts{Fetched: 3, Status: map[int]int64{200: 3}}
		atFlush = crawler.Counts{Fetched: 5, Status: map[int]int64{200: 3, 404: 2}}
	}
	updated := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	meta, err := json.Marshal(crawler.State{
		Version:  1,
		Crawl:    crawler.CrawlID{Seeds: []string{"http://a.test/"}, Scope: "host"},
		Progress: crawler.Progress{Output: 100, Updated: updated, Counts: atCheckpoint},
		Started:  updated, Runs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	push("http://a.test/", "http://a.test/1", "http://b.test/")
	ackAll(200)
	push("http://a.test/2", "http://a.test/3")
	if err := d.Checkpoint(ctx, meta); err != nil {
		t.Fatal(err)
	}
	ackAll(404)
	push("http://a.test/4")
	flush, err := json.Marshal(crawler.Progress{Output: 200, Updated: updated.Add(time.Second), Counts: atFlush})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(flush); err != nil {
		t.Fatal(err)
	}
	// Closed without a checkpoint: a crash after the flush.
}

// TestStateChangesNothing checks that "trawl state DIR" reports a saved
// crawl without writing to its directory: every file keeps its bytes, size
// and mtime, and none is created or removed.
func TestStateChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "crawl.state")
	savedState(t, dir, true)
	// Backdate every file, so that even a write right away shows.
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(path, old, old)
	}); err != nil {
		t.Fatal(err)
	}
	before := hashTree(t, dir)

	var stdout, stderr bytes.Buffer
	if code := run([]string{"state", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("trawl state: exit %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	for _, want := range []string{"seeds    http://a.test/", "then 1 flushes in the journal", "6 seen, 1 queued",
		"records  5: 5 fetched, 0 errors, 0 skipped\n", "status   200: 3, 404: 2\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("trawl state printed\n%s\nwant a line with %q", stdout.String(), want)
		}
	}

	after := hashTree(t, dir)
	for path, b := range before {
		a, ok := after[path]
		switch {
		case !ok:
			t.Errorf("%s was removed", path)
		case a != b:
			t.Errorf("%s changed: %d bytes modified at %v, want %d bytes modified at %v", path, a.size, a.mtime, b.size, b.mtime)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("%s was created", path)
		}
	}
}

// TestStateUncounted checks that "trawl state" says so when a state's
// meta has no record counts (one saved by an older trawl), rather than
// print zeros.
func TestStateUncounted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "crawl.state")
	savedState(t, dir, false)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"state", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("trawl state: exit %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	if want := "records  not counted in this state (saved by an older trawl); 5 URLs done\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("trawl state printed\n%s\nwant a line %q", stdout.String(), want)
	}
	if strings.Contains(stdout.String(), "status ") {
		t.Errorf("trawl state printed\n%s\nwant no status line", stdout.String())
	}
}

// TestStateWhileCrawling checks that "trawl state" refuses a state that a
// crawl has open and that has no status published yet.
func TestStateWhileCrawling(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "crawl.state")
	savedState(t, dir, true)
	d, err := disk.Open(dir, disk.Options{FrontierOptions: store.FrontierOptions{Interval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"state", dir}, &stdout, &stderr); code != exitFailure {
		t.Errorf("trawl state: exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr.String(), "in use") || !strings.Contains(stderr.String(), "no status") {
		t.Errorf("stderr %q, want it to say the state is in use and has no status yet", stderr.String())
	}
}

// TestStateFromStatus checks that "trawl state" prints the status that
// the crawl holding the state published: whether it runs, and its counts.
func TestStateFromStatus(t *testing.T) {
	tests := []struct {
		name    string
		running bool
		want    string
	}{
		{"running", true, "crawl running (pid 4242), as of "},
		{"stopped", false, "crawl stopped (pid 4242), as of "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "crawl.state")
			savedState(t, dir, true)
			d, err := disk.Open(dir, disk.Options{FrontierOptions: store.FrontierOptions{Interval: -1}})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			st := crawler.Status{
				State: crawler.State{Version: 1, Crawl: crawler.CrawlID{Seeds: []string{"http://a.test/"}, Scope: "host"},
					Progress: crawler.Progress{Output: 300, Updated: time.Now().UTC(),
						Counts: crawler.Counts{Fetched: 4, Errors: 1, Skipped: map[string]int64{"robots": 2, "depth": 1},
							Status: map[int]int64{200: 3, 301: 1}}},
					Started: time.Now().UTC(), Runs: 2},
				Frontier: store.FrontierStats{Seen: 12, Queued: 3, InFlight: 2, Done: 6, Hosts: 1},
				PID:      4242, Running: tc.running,
			}
			data, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.WriteStatus(data); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := run([]string{"state", dir}, &stdout, &stderr); code != exitOK {
				t.Fatalf("trawl state: exit %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
			}
			for _, want := range []string{tc.want, "seeds    http://a.test/", "runs     2, ", "output   300 bytes written",
				"records  8: 4 fetched, 1 errors, 3 skipped (depth: 1, robots: 2)\n", "status   200: 3, 301: 1\n",
				"urls     12 seen, 3 queued, 2 in flight\n", "hosts    1 with work left"} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("trawl state printed\n%s\nwant a line with %q", stdout.String(), want)
				}
			}
		})
	}
}
