package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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
func TestCrashResume(t *testing.T) {
	site := fixtures.Synthetic{Pages: 800, Links: 8, Size: 2000, Hosts: 3, Seed: 11, Latency: 3 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	const concurrency = 8
	args := []string{"-q", "--rate", "0", "--per-host", "4", "-c", "8", "--scope", "domain"}
	for _, h := range site.HostNames() {
		args = append(args, "--resolve", h+":80:"+srv.Addr())
	}
	dir := t.TempDir()

	// The reference: one uninterrupted crawl.
	ref := filepath.Join(dir, "ref.jsonl")
	if _, stderr, code := trawl(t, append(args, "--state", filepath.Join(dir, "ref-state"), "-o", ref, site.Root())...); code != 0 {
		t.Fatalf("reference crawl: exit %d: %s", code, stderr)
	}
	want := urlSet(t, ref)
	srv.Reset()

	out := filepath.Join(dir, "out.jsonl")
	state := filepath.Join(dir, "state")
	run := append(args, "--state", state, "-o", out, site.Root())
	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	for kills < 4 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, binary, run...)
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		wait := time.Duration(100+rng.IntN(400)) * time.Millisecond
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			cancel()
			t.Fatalf("crawl ended (%v) before the kill at %v: make the site bigger", err, wait)
		case <-time.After(wait):
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-exited
		cancel()
		kills++
		if data, err := os.ReadFile(out); err == nil {
			t.Logf("kill %d after %v: output %d bytes", kills, wait, len(data))
		}
	}
	_, stderr, code := trawl(t, run...)
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
	if repeats > kills*concurrency {
		t.Errorf("%d URLs fetched more than once, want at most kills×concurrency = %d", repeats, kills*concurrency)
	}
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
