package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"trawl/crawler"
)

func TestProgressLine(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		s    crawler.Stats
		want string
	}{
		{"no politeness", crawler.Stats{Fetched: 10, Elapsed: 5 * time.Second}, "10 pages  2.0/s  0 queued  0 in flight  0 errors  5s"},
		{"crawl-delay", crawler.Stats{CrawlDelayHosts: 3, CrawlDelayMax: time.Second}, " | Crawl-delay on 3 hosts (up to 1s)"},
		{"paused", crawler.Stats{PausedHosts: 4, Paused: []crawler.HostPause{
			{Host: "a.test", Reason: "retry-after", Until: now.Add(40 * time.Second)},
			{Host: "b.test", Reason: "back-off", Until: now.Add(2 * time.Second)},
			{Host: "c.test", Reason: "retry-after", Until: now.Add(50 * time.Second)},
			{Host: "d.test", Reason: "retry-after", Until: now.Add(60 * time.Second)},
		}}, " | Retry-After: a.test 40s, c.test 50s, +1 | back-off: b.test 2s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := progressLine(tc.s, now); !strings.HasSuffix(got, tc.want) {
				t.Errorf("got %q, want it to end in %q", got, tc.want)
			}
		})
	}
}

func TestWaitingLine(t *testing.T) {
	s := crawler.Stats{CrawlDelayHosts: 3, CrawlDelayMax: time.Second, Waited: []crawler.HostWait{
		{Host: "slow.test", Reason: "crawl-delay", Waited: 12 * time.Second},
		{Host: "a.test", Reason: "retry-after", Waited: time.Minute},
	}}
	want := "robots.txt Crawl-delay spaced 3 hosts (up to 1s, over --rate); most held back: slow.test 12s (crawl-delay), a.test 1m0s (retry-after)"
	if got := waitingLine(s); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := waitingLine(crawler.Stats{}); got != "" {
		t.Errorf("no waits: got %q, want nothing", got)
	}
}

func TestCleanError(t *testing.T) {
	tests := []struct{ in, want string }{
		{"crawler: sink: store: jsonl: write: write /dev/full: no space left on device", "output: write /dev/full: no space left on device"},
		{"write output: store: jsonl: write /dev/full: no space left on device", "output: write /dev/full: no space left on device"},
		{"crawler: checkpoint: store: sync: input/output error", "save state: sync: input/output error"},
		{"crawler: config: Concurrency -1 is negative", "config: Concurrency -1 is negative"},
	}
	for _, tc := range tests {
		if got := cleanError(errors.New(tc.in)); got != tc.want {
			t.Errorf("cleanError(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	if got := cleanError(fmt.Errorf("crawler: sink: %w", errors.New("store: csv: write: broken pipe"))); got != "output: write: broken pipe" {
		t.Errorf("wrapped: got %q", got)
	}
}
