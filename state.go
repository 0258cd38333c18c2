package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"trawl/crawler"
	"trawl/store"
	"trawl/store/disk"
)

// openState returns the crawler's frontier constructor for --state DIR.
func openState(dir string) func(store.FrontierOptions) (crawler.Frontier, error) {
	return func(opts store.FrontierOptions) (crawler.Frontier, error) {
		d, err := disk.Open(dir, disk.Options{FrontierOptions: opts})
		if err != nil {
			return nil, err
		}
		return d, nil
	}
}

// runState is "trawl state DIR": what a saved crawl holds. It opens the
// state read-only and changes nothing in DIR; while a crawl has the state
// open it fails (disk.ErrLocked).
func runState(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "trawl: usage: trawl state DIR (see trawl --help)")
		return exitUsage
	}
	dir := args[0]
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(stderr, "trawl: no crawl state: %v\n", err)
		return exitFailure
	}
	d, err := disk.Open(dir, disk.Options{ReadOnly: true})
	if err != nil {
		if errors.Is(err, disk.ErrLocked) {
			err = fmt.Errorf("%w (is a crawl running on it?)", err)
		}
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	defer d.Close()
	fs, err := d.Stats(context.Background())
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "state    %s\n", dir)
	st, err := crawler.SavedState(d)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	if st != nil {
		fmt.Fprintf(stdout, "seeds    %s\n", strings.Join(st.Crawl.Seeds, " "))
		fmt.Fprintf(stdout, "scope    %s", st.Crawl.Scope)
		if st.Crawl.MaxDepth != 0 {
			fmt.Fprintf(stdout, ", max depth %d", st.Crawl.MaxDepth)
		}
		if st.Crawl.MaxPages != 0 {
			fmt.Fprintf(stdout, ", max pages %d", st.Crawl.MaxPages)
		}
		for _, re := range st.Crawl.Include {
			fmt.Fprintf(stdout, ", include %q", re)
		}
		for _, re := range st.Crawl.Exclude {
			fmt.Fprintf(stdout, ", exclude %q", re)
		}
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "runs     %d, started %s, last saved %s (%s ago)\n", st.Runs,
			st.Started.Format(time.RFC3339), st.Updated.Format(time.RFC3339), time.Since(st.Updated).Round(time.Second))
		if ck := d.LastCheckpoint(); !ck.IsZero() {
			n, dropped := d.Replayed()
			fmt.Fprintf(stdout, "synced   %s, then %d flushes in the journal", ck.UTC().Format(time.RFC3339), n)
			if dropped > 0 {
				fmt.Fprintf(stdout, " (and %d bytes of a torn or damaged write after them, ignored)", dropped)
			}
			fmt.Fprintln(stdout)
		}
		if st.Output >= 0 {
			fmt.Fprintf(stdout, "output   %d bytes committed\n", st.Output)
		}
	} else {
		fmt.Fprintln(stdout, "(no checkpoint yet)")
	}
	fmt.Fprintf(stdout, "urls     %d seen, %d done, %d queued, %d in flight at the last stop\n", fs.Seen, fs.Done, fs.Queued, fs.InFlight)
	fetched, failed, skipped := d.Outcomes()
	fmt.Fprintf(stdout, "done     %d fetched, %d failed, %d skipped\n", fetched, failed, skipped)
	if st := d.Statuses(); len(st) > 0 {
		codes := slices.Sorted(maps.Keys(st))
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = fmt.Sprintf("%d: %d", c, st[c])
		}
		fmt.Fprintf(stdout, "status   %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(stdout, "hosts    %d with work left\n", fs.Hosts)
	return exitOK
}
