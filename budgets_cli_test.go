package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trawl/crawler"
	"trawl/fixtures"
)

// TestMaxBytesFlag: --max-bytes stops the demo crawl cleanly: exit 0, a
// summary saying why, and records whose bytes reach the budget.
func TestMaxBytesFlag(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	_, stderr, code := trawl(t, "demo", "--rate", "-1", "--max-bytes", "20KiB", "-o", out)
	if code != 0 || !strings.Contains(stderr, "stopped at --max-bytes") {
		t.Fatalf("exit %d, want 0 with a summary saying the crawl stopped at --max-bytes:\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range readRecords(t, data) {
		sum += r.Bytes
	}
	if sum < 20<<10 {
		t.Errorf("records keep %d bytes, want at least the 20 KiB budget", sum)
	}
}

// TestBudgetFlags: the budgets map one to one onto crawler.Config, and a
// value that is not one is a usage error (exit 2).
func TestBudgetFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   func(c crawler.Config) bool
		want string
	}{
		{nil, func(c crawler.Config) bool {
			return c.MaxBytes == 0 && c.MaxHostFailures == crawler.DefaultMaxHostFailures
		}, "no byte budget, the default host budget"},
		{[]string{"--max-bytes", "10GiB"}, func(c crawler.Config) bool { return c.MaxBytes == 10<<30 }, "MaxBytes 10 GiB"},
		{[]string{"--max-bytes", "-1"}, func(c crawler.Config) bool { return c.MaxBytes == -1 }, "MaxBytes -1: no limit"},
		{[]string{"--max-host-failures", "0"}, func(c crawler.Config) bool { return c.MaxHostFailures == 0 }, "MaxHostFailures 0: the default"},
		{[]string{"--max-host-failures", "-1"}, func(c crawler.Config) bool { return c.MaxHostFailures == -1 }, "MaxHostFailures -1: never give up"},
		{[]string{"--max-host-failures", "-5"}, func(c crawler.Config) bool { return c.MaxHostFailures == -5 }, "MaxHostFailures -5: negative, never give up"},
		{[]string{"--max-host-failures", "3"}, func(c crawler.Config) bool { return c.MaxHostFailures == 3 }, "MaxHostFailures 3"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			opts, err := parseArgs(append(tc.args, "http://x.test/"), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.ok(opts.cfg) {
				t.Errorf("got MaxBytes %d, MaxHostFailures %d; want %s", opts.cfg.MaxBytes, opts.cfg.MaxHostFailures, tc.want)
			}
			if _, err := crawler.New(opts.cfg); err != nil {
				t.Errorf("crawler.New: %v", err)
			}
		})
	}
	for _, args := range [][]string{
		{"--max-bytes", "lots"},
		{"--max-bytes", "1.5GiB"},
		{"--max-host-failures", "many"},
		{"--max-host-failures", "2.5"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := trawl(t, append(args, "http://x.test/")...)
			if code != 2 || !strings.Contains(stderr, args[0]) {
				t.Errorf("exit %d, stderr %q; want 2 and a line naming %s", code, stderr, args[0])
			}
		})
	}
}

// TestMaxHostFailuresFlag: a host that refuses connections is given up
// after --max-host-failures failures; its other URLs are recorded as
// skipped host-unreachable and the summary says so.
func TestMaxHostFailuresFlag(t *testing.T) {
	const good, dead = "good.budget.test", "dead.budget.test"
	srv := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for i := range 20 {
			fmt.Fprintf(w, `<a href="http://%s/p%d">p%d</a>`+"\n", dead, i, i)
		}
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	_, stderr, code := trawl(t, "--rate", "-1", "--retries", "-1", "--ignore-robots", "--no-sitemaps", "--scope", "domain",
		"--max-host-failures", "2", "--resolve", good+":80:"+srv.Addr(), "--resolve", dead+":80:"+refused,
		"-o", out, "http://"+good+"/")
	if code != 0 || !strings.Contains(stderr, "gave up  1 host unreachable") {
		t.Fatalf("exit %d, want 0 with a summary naming the host given up:\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	skipped := 0
	for _, r := range readRecords(t, data) {
		if r.Skipped == crawler.SkipHostUnreachable {
			skipped++
		}
	}
	if want := 20 - 2 - 1; skipped < want { // counted failures, and one more in flight
		t.Errorf("%d records skipped %s, want at least %d", skipped, crawler.SkipHostUnreachable, want)
	}
}

// TestMaxPerHostFlag: --max-per-host caps each host of the demo site, and
// the URLs past it are recorded as skipped budget.
func TestMaxPerHostFlag(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	_, stderr, code := trawl(t, "demo", "--rate", "-1", "--max-per-host", "5", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	requested := map[string]int{}
	budget := 0
	for _, r := range readRecords(t, data) {
		host := strings.SplitN(strings.TrimPrefix(r.URL, "http://"), "/", 2)[0]
		switch r.Skipped {
		case crawler.SkipBudget:
			budget++
		case "":
			requested[host]++
		}
	}
	for host, n := range requested {
		if n > 5 {
			t.Errorf("%s: %d URLs requested, want at most 5", host, n)
		}
	}
	if budget == 0 || !strings.Contains(stderr, "budget: ") {
		t.Errorf("%d budget records; summary:\n%s", budget, stderr)
	}
	if _, stderr, code := trawl(t, "demo", "--max-per-host", "many"); code != 2 || strings.Count(stderr, "\n") != 1 {
		t.Errorf("--max-per-host many: exit %d, want 2 with one line: %q", code, stderr)
	}
}
