package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"trawl/fixtures"
)

// TestCrashResume kills a crawl with SIGKILL several times at random
// moments and resumes it until it is done; the output must then hold the
// same URLs as an uninterrupted crawl, each once, and the server must have
// seen few repeated fetches.
//
// It runs with the default commit mode (each group of records journaled,
// a sync every second) and with --checkpoint-interval 0 (a sync per
// group).
func TestCrashResume(t *testing.T) {
	site := fixtures.Synthetic{Pages: 1500, Links: 8, Size: 2000, Hosts: 3, Seed: 11, Latency: 3 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	const concurrency = 8
	args := []string{"-q", "--rate", "-1", "--per-host", "4", "-c", "8", "--scope", "domain"}
	for _, h := range site.HostNames() {
		args = append(args, "--resolve", h+":80:"+srv.Addr())
	}
	dir := t.TempDir()

	// The reference: one uninterrupted crawl.
	ref := filepath.Join(dir, "ref.jsonl")
	start := time.Now()
	if _, stderr, code := trawl(t, append(args, "--state", filepath.Join(dir, "ref-state"), "-o", ref, site.Root())...); code != 0 {
		t.Fatalf("reference crawl: exit %d: %s", code, stderr)
	}
	t.Logf("reference crawl: %v", time.Since(start).Round(time.Millisecond))
	want := urlSet(t, ref)
	for _, mode := range []struct {
		name  string
		extra []string
	}{{"journal", nil}, {"sync", []string{"--checkpoint-interval", "-1s"}}} {
		t.Run(mode.name, func(t *testing.T) {
			srv.Reset()
			crashResume(t, srv, want, append(slices.Clone(args), mode.extra...), concurrency, len(site.HostNames()), filepath.Join(dir, mode.name), site.Root())
		})
	}
}

// crashResume kills the crawl of root four times and resumes it until it
// is done. Each kill may cost a fetch again for each URL in flight
// (concurrency of them) and for each of the hosts' robots.txt files
// fetched since the last flush (a robots.txt fetch is a turn of its own).
func crashResume(t *testing.T, srv *fixtures.Server, want map[string]bool, args []string, concurrency, hosts int, dir, root string) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "out.jsonl")
	state := filepath.Join(dir, "state")
	run := append(args, "--state", state, "-o", out, root)
	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	for kills < 4 {
		wait := time.Duration(100+rng.IntN(400)) * time.Millisecond
		killAfter(t, wait, run...)
		kills++
		if data, err := os.ReadFile(out); err == nil {
			t.Logf("kill %d after %v: output %d bytes; %d URLs fetched more than once so far",
				kills, wait, len(data), len(fixtures.Duplicates(srv.Requests())))
		}
	}
	// What the killed crawl left is readable.
	stdout, stderr, code := trawl(t, "state", state)
	if code != 0 || !strings.Contains(stdout, "seeds    "+root) || !strings.Contains(stdout, "flushes in the journal") {
		t.Errorf("trawl state: exit %d: %s%s", code, stdout, stderr)
	}
	t.Logf("trawl state:\n%s", stdout)
	_, stderr, code = trawl(t, run...)
	if code != 0 {
		t.Fatalf("final run: exit %d: %s", code, stderr)
	}

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, data)
	got := map[string]int{}
	for _, r := range recs {
		got[r.URL]++
	}
	for u, n := range got {
		if n > 1 {
			t.Errorf("%s has %d records", u, n)
		}
		if !want[u] {
			t.Errorf("%s recorded, but not by the uninterrupted crawl", u)
		}
	}
	for u := range want {
		if got[u] == 0 {
			t.Errorf("%s lost: recorded by the uninterrupted crawl only", u)
		}
	}
	// robots.txt files are kept in the state too, so they count.
	repeats := len(fixtures.Duplicates(srv.Requests()))
	t.Logf("%d kills: %d records (reference %d), %d URLs fetched more than once", kills, len(recs), len(want), repeats)
	if limit := kills * (concurrency + hosts); repeats > limit {
		t.Errorf("%d URLs fetched more than once, want at most kills×(concurrency+hosts) = %d", repeats, limit)
	}
}

// killAfter runs trawl with args and kills it with SIGKILL after wait; the
// test fails if the crawl ends before.
func killAfter(t *testing.T, wait time.Duration, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("crawl ended (%v) before the kill at %v: make the site bigger", err, wait)
	case <-time.After(wait):
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
}

func urlSet(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, r := range readRecords(t, data) {
		if set[r.URL] {
			t.Fatalf("reference crawl has two records for %s", r.URL)
		}
		set[r.URL] = true
	}
	if len(set) == 0 || !strings.HasPrefix(string(data), "{") {
		t.Fatal("reference crawl wrote nothing")
	}
	return set
}

// TestCrashResumeSeedRedirect: the seed redirects to another domain, which
// its redirect brings into scope. After kills and resumes, when the seed
// itself is long done, the crawl must still follow that domain.
func TestCrashResumeSeedRedirect(t *testing.T) {
	site := fixtures.Synthetic{Pages: 1500, Links: 8, Size: 2000, Hosts: 3, Seed: 13, Latency: 3 * time.Millisecond, Alias: "old.example.test"}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	args := []string{"-q", "--rate", "-1", "--per-host", "4", "-c", "8", "--scope", "domain"}
	for _, h := range append(site.HostNames(), site.Alias) {
		args = append(args, "--resolve", h+":80:"+srv.Addr())
	}
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.jsonl")
	if _, stderr, code := trawl(t, append(args, "--state", filepath.Join(dir, "ref-state"), "-o", ref, site.AliasRoot())...); code != 0 {
		t.Fatalf("reference crawl: exit %d: %s", code, stderr)
	}
	want := urlSet(t, ref)
	if len(want) < site.Pages {
		t.Fatalf("reference crawl recorded %d URLs, want the seed and all %d pages", len(want), site.Pages)
	}
	srv.Reset()
	crashResume(t, srv, want, args, 8, len(site.HostNames())+1, filepath.Join(dir, "kills"), site.AliasRoot())
}

// TestCrashResumeFiltered: records filtered on their way to the output
// (--records fetched, store.Filter) are still kept exactly once across
// kills: the filter keeps the sink's sync and rewind.
func TestCrashResumeFiltered(t *testing.T) {
	site := fixtures.Synthetic{Pages: 1500, Links: 8, Size: 2000, Hosts: 3, Seed: 17, Latency: 3 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	args := []string{"-q", "--rate", "-1", "--per-host", "4", "-c", "8", "--scope", "domain",
		"--records", "fetched", "--exclude", `/p/\d*7$`}
	for _, h := range site.HostNames() {
		args = append(args, "--resolve", h+":80:"+srv.Addr())
	}
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.jsonl")
	if _, stderr, code := trawl(t, append(args, "--state", filepath.Join(dir, "ref-state"), "-o", ref, site.Root())...); code != 0 {
		t.Fatalf("reference crawl: exit %d: %s", code, stderr)
	}
	want := urlSet(t, ref)
	for u := range want {
		if strings.HasSuffix(u, "7") {
			t.Fatalf("the reference output has the excluded %s: --records fetched did not filter", u)
		}
	}
	srv.Reset()
	crashResume(t, srv, want, args, 8, len(site.HostNames()), filepath.Join(dir, "kills"), site.Root())
}
