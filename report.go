package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"trawl/crawler"
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth returns the width of the terminal w is, or 0.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// showProgress redraws one status line, line of c's Stats at now, on w
// every 250 ms until ctx ends, then clears it.
func showProgress(ctx context.Context, w io.Writer, c *crawler.Crawler, line func(crawler.Stats, time.Time) string) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprint(w, "\r\033[K")
			return
		case now := <-t.C:
			l := line(c.Stats(), now)
			if width := terminalWidth(w); width > 1 && len(l) >= width {
				l = l[:width-1] // a wrapped line cannot be redrawn
			}
			fmt.Fprintf(w, "\r\033[K%s", l)
		}
	}
}

// progressLine is the status line of a crawl at now: its counts, then
// what politeness holds back, if anything, e.g.
//
//	120 pages  3.9/s  40 queued  2 in flight  0 errors  31s | Crawl-delay on 3 hosts (up to 1s) | Retry-After: a.test 40s
func progressLine(s crawler.Stats, now time.Time) string {
	line := fmt.Sprintf("%d pages  %.1f/s  %d queued  %d in flight  %d errors  %s",
		s.Fetched, s.PagesPerSecond(), s.Queued, s.InFlight, s.Errors, s.Elapsed.Round(time.Second))
	if s.CrawlDelayHosts > 0 {
		line += fmt.Sprintf(" | Crawl-delay on %s (up to %v)", plural(s.CrawlDelayHosts, "host"), s.CrawlDelayMax)
	}
	for _, reason := range []string{"retry-after", "back-off"} {
		var parts []string
		n := 0
		for _, p := range s.Paused {
			if p.Reason != reason {
				continue
			}
			if n++; n <= 2 {
				parts = append(parts, fmt.Sprintf("%s %v", p.Host, roundWait(max(p.Until.Sub(now), 0))))
			}
		}
		if n == 0 {
			continue
		}
		if n > 2 {
			parts = append(parts, fmt.Sprintf("+%d", n-2))
		}
		name := map[string]string{"retry-after": "Retry-After", "back-off": "back-off"}[reason]
		line += fmt.Sprintf(" | %s: %s", name, strings.Join(parts, ", "))
	}
	if extra := s.PausedHosts - len(s.Paused); extra > 0 {
		line += fmt.Sprintf(" (+%d paused)", extra)
	}
	return line
}

// plural spells n things: "1 host", "3 hosts".
func plural(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// printSummary writes the end-of-crawl summary.
func printSummary(w io.Writer, s crawler.Stats, interrupted bool) {
	how := "done"
	switch {
	case interrupted:
		how = "interrupted"
	case s.Stopped == crawler.StopMaxTime:
		how = "stopped at --max-time"
	case s.Stopped == crawler.StopMaxBytes:
		how = "stopped at --max-bytes"
	}
	var skipped int64
	for _, n := range s.Skipped {
		skipped += n
	}
	fmt.Fprintf(w, "trawl: %s in %s: %d fetched (%.1f pages/s), %d errors, %d skipped, %s\n",
		how, s.Elapsed.Round(time.Millisecond), s.Fetched, s.PagesPerSecond(), s.Errors, skipped, humanBytes(s.Bytes))
	if len(s.Status) > 0 {
		fmt.Fprintf(w, "  status   %s\n", countList(s.Status))
	}
	if len(s.Skipped) > 0 {
		fmt.Fprintf(w, "  skipped  %s\n", countList(s.Skipped))
	}
	if n := s.UnreachableHosts; n > 0 {
		fmt.Fprintf(w, "  gave up  %s unreachable after --max-host-failures connection failures in a row\n", plural(n, "host"))
	}
	if r := s.Resumed; r != nil {
		fmt.Fprintf(w, "  resumed  %d done, %d queued (run %d)\n", r.Done, r.Queued, r.Runs+1)
	}
	if len(s.Links) > 0 {
		fmt.Fprintf(w, "  found    %s (links by kind, counted once per page)\n", countList(s.Links))
	}
	fmt.Fprintf(w, "  links    %d out of scope, %d nofollow, %d duplicates", s.OutOfScope, s.NoFollow, s.Duplicates)
	if s.LinksDropped > 0 {
		fmt.Fprintf(w, ", %d over --max-links", s.LinksDropped)
	}
	fmt.Fprintf(w, "; %d retries\n", s.Retries)
	if line := renderLine(s); line != "" {
		fmt.Fprintf(w, "  rendered %s\n", line)
	}
	if line := waitingLine(s); line != "" {
		fmt.Fprintf(w, "  waiting  %s\n", line)
	}
	if n := s.AutoThrottledHosts; n > 0 {
		parts := make([]string, 0, len(s.AutoThrottled))
		for _, h := range s.AutoThrottled {
			parts = append(parts, fmt.Sprintf("%s %v", h.Host, h.Delay.Round(time.Millisecond)))
		}
		more := ""
		if n > len(parts) {
			more = fmt.Sprintf(" and %d more", n-len(parts))
		}
		fmt.Fprintf(w, "  throttle %s spaced by their latency now: %s%s\n", plural(int64(n), "host"), strings.Join(parts, ", "), more)
	}
	if n := s.CrawlDelayCappedHosts; n > 0 {
		hosts := slices.Sorted(maps.Keys(s.CrawlDelayCapped))
		const show = 5
		parts := make([]string, 0, show)
		for _, h := range hosts[:min(len(hosts), show)] {
			parts = append(parts, fmt.Sprintf("%s asked %v", h, s.CrawlDelayCapped[h]))
		}
		more := ""
		if n > int64(len(parts)) {
			more = fmt.Sprintf(" and %d more", n-int64(len(parts)))
		}
		fmt.Fprintf(w, "  capped   robots.txt Crawl-delay of %d hosts at --max-crawl-delay: %s%s\n", n, strings.Join(parts, ", "), more)
	}
	if (interrupted || s.Stopped != "") && s.Queued > 0 {
		fmt.Fprintf(w, "  left     %d queued, not fetched\n", s.Queued)
	}
}

// waitingLine says what politeness held the crawl back by, or "": the
// hosts a robots.txt Crawl-delay spaced beyond --rate, and the hosts that
// waited longest, e.g.
//
//	robots.txt Crawl-delay spaced 3 hosts (up to 1s, over --rate); most held back: slow.test 12s (crawl-delay), a.test 1m0s (retry-after)
func waitingLine(s crawler.Stats) string {
	var parts []string
	if s.CrawlDelayHosts > 0 {
		parts = append(parts, fmt.Sprintf("robots.txt Crawl-delay spaced %s (up to %v, over --rate)", plural(s.CrawlDelayHosts, "host"), s.CrawlDelayMax))
	}
	var held []string
	for _, w := range s.Waited[:min(len(s.Waited), 3)] {
		held = append(held, fmt.Sprintf("%s %v (%s)", w.Host, roundWait(w.Waited), w.Reason))
	}
	if len(held) > 0 {
		parts = append(parts, "most held back: "+strings.Join(held, ", "))
	}
	return strings.Join(parts, "; ")
}

// roundWait rounds a wait for people: to the second from a second up,
// else to the millisecond.
func roundWait(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// countList formats counts by key, keys in order: "200: 5, 404: 1".
func countList[K cmp.Ordered](m map[K]int64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%v: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
