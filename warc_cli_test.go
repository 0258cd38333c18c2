package main

import (
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trawl/fixtures"
	"trawl/store"
	"trawl/store/warctest"
)

// warcFiles returns the WARC files of name in dir, in order.
func warcFiles(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no WARC file %s (%v)", pattern, err)
	}
	return files // Glob sorts, and the numbers are zero-padded
}

// readWhole decompresses a .warc.gz to its end: a file that ends in a
// torn record fails.
func readWhole(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		t.Errorf("%s does not decompress to its end: %v", path, err)
	}
}

// checkArchive reads every WARC file with warcio and checks it against
// the records of out: each response record's digests, and for each
// record of a response exactly one response (or revisit) archived, the
// one its warc_file and warc_offset point at. It returns how many
// records warcio read.
func checkArchive(t *testing.T, out string, files []string) int {
	t.Helper()
	type place struct {
		file   string
		offset int64
	}
	archived := map[string][]place{} // response and revisit records by target URI
	at := map[place]warctest.Record{}
	total := 0
	for _, f := range files {
		readWhole(t, f)
		recs := warctest.Read(t, f)
		total += len(recs)
		if len(recs) == 0 || recs[0].Type != "warcinfo" || recs[0].Headers["WARC-Filename"] != filepath.Base(f) {
			t.Errorf("%s does not start with its warcinfo record", f)
		}
		for _, r := range recs {
			if r.Type != "warcinfo" && r.BlockSHA1 != r.BlockDigest {
				t.Errorf("%s@%d %s %s: block digest %s, warcio computes %s", f, r.Offset, r.Type, r.TargetURI, r.BlockDigest, r.BlockSHA1)
			}
			if r.Type == "response" && r.Headers["WARC-Truncated"] == "" && r.PayloadSHA1 != r.PayloadDigest {
				t.Errorf("%s@%d %s: payload digest %s, warcio computes %s", f, r.Offset, r.TargetURI, r.PayloadDigest, r.PayloadSHA1)
			}
			if r.Type == "response" || r.Type == "revisit" {
				p := place{filepath.Base(f), r.Offset}
				archived[r.TargetURI] = append(archived[r.TargetURI], p)
				at[p] = r
			}
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	responses := 0
	for _, rec := range readRecords(t, data) {
		if rec.Status == 0 {
			if rec.WARCFile != "" {
				t.Errorf("%s has no response but points into the archive", rec.URL)
			}
			continue
		}
		responses++
		ps := archived[rec.URL]
		if len(ps) != 1 {
			t.Errorf("%s: %d responses archived, want 1", rec.URL, len(ps))
			continue
		}
		if r, ok := at[place{rec.WARCFile, rec.WARCOffset}]; !ok || r.TargetURI != rec.URL || r.HTTPStatus != rec.Status {
			t.Errorf("%s (status %d) points at %s@%d, where warcio reads %s %s (status %d)", rec.URL, rec.Status, rec.WARCFile, rec.WARCOffset, r.Type, r.TargetURI, r.HTTPStatus)
		}
		delete(archived, rec.URL)
	}
	for u, ps := range archived {
		if strings.HasSuffix(u, "/robots.txt") || strings.HasSuffix(u, "/sitemap.xml") {
			if len(ps) > 1 {
				t.Errorf("%s archived %d times", u, len(ps))
			}
			continue // archived without a record of their own
		}
		t.Errorf("%s archived %d times without a record", u, len(ps))
	}
	if responses == 0 {
		t.Error("no record of a response")
	}
	return total
}

// TestWARCDemo archives the demo crawl and reads it back with warcio.
func TestWARCDemo(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.jsonl")
	_, stderr, code := trawl(t, "demo", "--rate", "-1", "-o", out, "--warc", filepath.Join(dir, "demo.warc.gz"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warc     "+filepath.Join(dir, "demo-00000.warc.gz")) {
		t.Errorf("the summary does not name the WARC file:\n%s", stderr)
	}
	n := checkArchive(t, out, warcFiles(t, filepath.Join(dir, "demo-*.warc.gz")))
	t.Logf("warcio read %d records", n)

	// A new crawl without --state replaces the archive of the name.
	if _, stderr, code := trawl(t, "demo", "-q", "--rate", "-1", "--depth", "-1", "-o", out, "--warc", filepath.Join(dir, "demo.warc.gz")); code != 0 {
		t.Fatalf("second crawl: exit %d: %s", code, stderr)
	}
	checkArchive(t, out, warcFiles(t, filepath.Join(dir, "demo-*.warc.gz")))

	// A new --state crawl refuses to cut an archive that holds data.
	state := filepath.Join(dir, "state")
	_, stderr, code = trawl(t, "demo", "-q", "--state", state, "-o", filepath.Join(dir, "new.jsonl"), "--warc", filepath.Join(dir, "demo.warc.gz"))
	if code != 2 || !strings.Contains(stderr, "--warc "+filepath.Join(dir, "demo.warc.gz")+" already holds records") {
		t.Errorf("a new --state crawl on a full archive: exit %d: %s", code, stderr)
	}
}

// TestCrashResumeWARC kills a crawl that archives to WARC files, rotated
// small, four times at random moments and resumes it until it is done:
// every response must then be archived exactly once, no file may end in
// a torn record, and the records must point at their responses.
func TestCrashResumeWARC(t *testing.T) {
	site := fixtures.Synthetic{Pages: 1200, Links: 8, Size: 20000, Hosts: 3, Seed: 5, Latency: 3 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	name := filepath.Join(dir, "crawl.warc.gz")
	// Pages big enough, and enough workers, for a group of records to
	// overflow the archive's write buffer: then a kill finds records in
	// the files past the last commit, which the resume must cut.
	args := []string{"-q", "--rate", "-1", "--per-host", "8", "-c", "16", "--scope", "domain",
		"--warc", name, "--warc-max-size", "1MiB", "--state", filepath.Join(dir, "state"), "-o", out}
	for _, h := range site.HostNames() {
		args = append(args, "--resolve", h+":80:"+srv.Addr())
	}
	args = append(args, site.Root())
	rng := rand.New(rand.NewPCG(3, 4))
	for kill := 1; kill <= 4; kill++ {
		wait := time.Duration(100+rng.IntN(400)) * time.Millisecond
		killAfter(t, wait, args...)
		files, _ := filepath.Glob(filepath.Join(dir, "crawl-*.warc.gz"))
		t.Logf("kill %d after %v: %d WARC files", kill, wait, len(files))
	}
	stdout, stderr, code := trawl(t, "state", filepath.Join(dir, "state"))
	if code != 0 || !strings.Contains(stdout, "warc     "+name+": ") {
		t.Errorf("trawl state does not show the archive: exit %d: %s%s", code, stdout, stderr)
	}
	if _, stderr, code := trawl(t, args...); code != 0 {
		t.Fatalf("final run: exit %d: %s", code, stderr)
	}
	files := warcFiles(t, filepath.Join(dir, "crawl-*.warc.gz"))
	if len(files) < 3 {
		t.Errorf("%d WARC files, want the rotation at 1 MiB to make several", len(files))
	}
	n := checkArchive(t, out, files)
	data, _ := os.ReadFile(out)
	fetched := 0
	for _, r := range readRecords(t, data) {
		if store.Fetched(r) {
			fetched++
		}
	}
	if fetched < site.Pages {
		t.Errorf("%d pages fetched, want %d", fetched, site.Pages)
	}
	t.Logf("%d files, %d WARC records for %d fetched pages", len(files), n, fetched)
}
