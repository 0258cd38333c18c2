package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"trawl/crawler/bench"
	"trawl/store/redis/redistest"
)

// TestBenchWorkersFlags: --redis and --workers are parsed, and refused
// where they do not apply, each in one line.
func TestBenchWorkersFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		err     string // empty: parsed
		workers int
	}{
		{"two workers", []string{"--redis", "redis://127.0.0.1:6379/0", "--workers", "2", "-c", "8"}, "", 2},
		{"one by default", []string{"--redis", "redis://127.0.0.1:6379/0"}, "", 1},
		{"on a site", []string{"--redis", "redis://127.0.0.1:6379/0", "--workers", "4", "--site", "127.0.0.1:18080", "--baselines=false"}, "", 4},
		{"workers without redis", []string{"--workers", "2"}, "--workers needs --redis URL", 0},
		{"zero workers", []string{"--redis", "redis://127.0.0.1:6379/0", "--workers", "0"}, "--workers 0 must be at least 1", 0},
		{"serve", []string{"--redis", "redis://127.0.0.1:6379/0", "--serve", "127.0.0.1:18080"}, "--redis with --serve", 0},
		{"state", []string{"--redis", "redis://127.0.0.1:6379/0", "--state"}, "--redis with --state or --warc", 0},
		{"warc", []string{"--redis", "redis://127.0.0.1:6379/0", "--warc"}, "--redis with --state or --warc", 0},
		{"baselines", []string{"--redis", "redis://127.0.0.1:6379/0", "--baselines"}, "--redis with --baselines", 0},
		{"bad url", []string{"--redis", "http://127.0.0.1:6379/0"}, "want redis://HOST:PORT/DB", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bo, err := parseBenchArgs(tc.args, io.Discard)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("parseBenchArgs(%q): got error %v, want one containing %q", tc.args, err, tc.err)
			case tc.err != "":
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q: want one line", err)
				}
			case err != nil:
				t.Fatalf("parseBenchArgs(%q): %v", tc.args, err)
			case bo.workers != tc.workers || bo.redis != "redis://127.0.0.1:6379/0" || bo.o.Baselines:
				t.Errorf("parseBenchArgs(%q): workers %d, redis %q, baselines %v; want %d, the URL, false",
					tc.args, bo.workers, bo.redis, bo.o.Baselines, tc.workers)
			}
		})
	}
}

// TestBenchWorkers runs "trawl bench --redis URL --workers 2" on a small
// site against a real redis-server: two worker processes crawl it
// together, and the result counts every page once, with the workers' and
// Redis's costs.
func TestBenchWorkers(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const pages = 400
	cmd := exec.CommandContext(ctx, binary, "bench", "--json", "--redis", rs.URL(), "--workers", "2",
		"--pages", "400", "--links", "8", "--size", "1000", "--hosts", "3", "--latency", "2ms", "-c", "4")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("trawl bench --redis: %v; stderr:\n%s", err, stderr.String())
	}
	var res bench.WorkersResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("trawl bench --json: %v:\n%s", err, stdout.String())
	}
	if !res.Verify.OK || res.Pages != pages || res.Records != pages {
		t.Errorf("got %d pages, %d records, %s; want %d, %d, OK", res.Pages, res.Records, res.Verify, pages, pages)
	}
	if len(res.Workers) != 2 || res.Options.Workers != 2 || res.Options.Concurrency != 4 {
		t.Errorf("got %d workers (options %d) of -c %d, want 2 of -c 4", len(res.Workers), res.Options.Workers, res.Options.Concurrency)
	}
	var sum int64
	for i, w := range res.Workers {
		sum += w.Records
		if w.CPU <= 0 || w.Elapsed <= 0 || w.Elapsed > res.Elapsed {
			t.Errorf("worker %d: CPU %v, elapsed %v (run %v): want both positive, within the run", i, w.CPU, w.Elapsed, res.Elapsed)
		}
	}
	if sum != res.Records {
		t.Errorf("the workers exported %d records, the run counts %d", sum, res.Records)
	}
	if res.PagesPerSec <= 0 || res.WorkerCPU <= 0 || !res.InProcess || res.SiteCPU <= 0 {
		t.Errorf("pages/s %v, worker CPU %v, in process %v, site CPU %v: want all positive and the site in process",
			res.PagesPerSec, res.WorkerCPU, res.InProcess, res.SiteCPU)
	}
	if r := res.Redis; r == nil || r.Scripts < pages || r.Commands < r.Scripts || r.Memory <= 0 || r.CPU <= 0 {
		t.Errorf("Redis cost %+v: want at least a script per page, more commands, memory and CPU", r)
	}
	if !strings.HasPrefix(res.Crawl, "bench-") {
		t.Errorf("crawl %q, want a fresh bench- name", res.Crawl)
	}
	// The crawl is left on the server, finished.
	out, errs, code := trawl(t, "state", "--redis", rs.URL(), "--crawl", res.Crawl)
	if code != 0 || !strings.Contains(out, " 0 queued, 0 in flight") {
		t.Errorf("trawl state --crawl %s: exit %d:\n%s%s", res.Crawl, code, out, errs)
	}
}
