package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"trawl/fixtures"
)

// redirectView is what must not depend on the order of a crawl in a
// URL's record.
type redirectView struct {
	Status   int
	Location string
	Skipped  string
	Failed   bool
}

// TestRedirectsDeterministic crawls the demo site with one worker and
// with many, with and without rate limits, several times each: every run
// has records for the same URLs, each with the same status, location,
// skip reason and failure, and each redirect's location has a record of
// its own (redirects are recorded hop by hop, whichever path reached the
// target first).
func TestRedirectsDeterministic(t *testing.T) {
	configs := [][]string{
		{"-c", "1"},
		{"-c", "4", "--per-host", "1"},
		{"-c", "16", "--per-host", "8"},
		{"--rate", "-1"},
		{"--rate", "-1", "-c", "16", "--per-host", "8", "--max-crawl-delay", "1ms"},
	}
	const repeats = 2
	type result struct {
		name string
		recs map[string]redirectView
	}
	results := make([]result, len(configs)*repeats)
	dir := t.TempDir()
	t.Run("crawl", func(t *testing.T) {
		for i := range results {
			args := configs[i%len(configs)]
			name := fmt.Sprintf("%s #%d", strings.Join(args, " "), i/len(configs)+1)
			results[i].name = name
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				out := filepath.Join(dir, fmt.Sprintf("run%d.jsonl", i))
				_, stderr, code := trawl(t, append(append([]string{"demo", "-q"}, args...), "-o", out)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				recs := map[string]redirectView{}
				for _, r := range readRecords(t, data) {
					if _, dup := recs[r.URL]; dup {
						t.Errorf("two records for %s", r.URL)
					}
					recs[r.URL] = redirectView{Status: r.Status, Location: r.Location, Skipped: r.Skipped, Failed: r.Error != ""}
				}
				checkRedirects(t, recs)
				results[i].recs = recs
			})
		}
	})
	if t.Failed() {
		return
	}

	first := results[0]
	urls := slices.Sorted(maps.Keys(first.recs))
	for _, res := range results[1:] {
		if got := slices.Sorted(maps.Keys(res.recs)); !slices.Equal(got, urls) {
			t.Errorf("%s: records for %d URLs, %s: %d; only in the first: %v, only in the second: %v",
				first.name, len(urls), res.name, len(got), urlsWithout(urls, res.recs), urlsWithout(got, first.recs))
		}
		for _, u := range urls {
			if got, ok := res.recs[u]; ok && got != first.recs[u] {
				t.Errorf("%s: %s: got %+v, want %+v as in %s", res.name, u, got, first.recs[u], first.name)
			}
		}
	}
}

// checkRedirects checks the demo site's redirects in one run's records:
// each source has its 3xx status and location, and each location URL
// has a record of its own.
func checkRedirects(t *testing.T, recs map[string]redirectView) {
	t.Helper()
	for from, to := range fixtures.BasicExpect.Redirects {
		if r := recs[from]; r.Status/100 != 3 || r.Location != to {
			t.Errorf("%s: got %+v, want a 3xx to %s", from, r, to)
		}
	}
	for u, r := range recs {
		if r.Status/100 != 3 {
			continue
		}
		if r.Location == "" {
			t.Errorf("%s: status %d without a location", u, r.Status)
		} else if _, ok := recs[r.Location]; !ok {
			t.Errorf("%s redirects to %s, which has no record", u, r.Location)
		}
	}
}

// urlsWithout returns the URLs of urls that recs has no record for.
func urlsWithout(urls []string, recs map[string]redirectView) []string {
	var out []string
	for _, u := range urls {
		if _, ok := recs[u]; !ok {
			out = append(out, u)
		}
	}
	return out
}
