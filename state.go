package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
// state read-only and changes nothing in DIR. While a crawl has the state
// open (disk.ErrLocked), it reads the status the crawl publishes instead.
// The record counts are those of the output: the saved State's Counts,
// with the names of the end-of-crawl summary.
func runState(args []string, stdout, stderr io.Writer) int {
	if slices.ContainsFunc(args, func(a string) bool { return a == "--redis" || strings.HasPrefix(a, "--redis=") }) {
		return runRedisState(args, stdout, stderr)
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "trawl: usage: trawl state DIR, or trawl state --redis URL --crawl NAME (see trawl --help)")
		return exitUsage
	}
	dir := args[0]
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(stderr, "trawl: no crawl state: %v\n", err)
		return exitFailure
	}
	d, err := disk.Open(dir, disk.Options{ReadOnly: true})
	if errors.Is(err, disk.ErrLocked) {
		return runningState(dir, err, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	defer d.Close()
	fs, err := d.Stats(context.Background())
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	st, err := crawler.SavedState(d)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "state    %s\n", dir)
	if st == nil {
		fmt.Fprintln(stdout, "(no checkpoint yet)")
		printFrontier(stdout, fs, " at the last stop")
		return exitOK
	}
	printCrawl(stdout, st)
	fmt.Fprintf(stdout, "runs     %d, started %s, last saved %s (%s ago)\n", st.Runs,
		st.Started.Format(time.RFC3339), st.Updated.Format(time.RFC3339), ago(st.Updated))
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
	printArchivePos(stdout, st, "committed")
	if st.Counts.Records() == 0 && fs.Done > 0 {
		// A state saved by a trawl that did not count records by outcome.
		fmt.Fprintf(stdout, "records  not counted in this state (saved by an older trawl); %d URLs done\n", fs.Done)
	} else {
		printCounts(stdout, st.Counts)
	}
	printFrontier(stdout, fs, " at the last stop")
	return exitOK
}

// runningState is "trawl state DIR" while a crawl holds DIR (lockErr):
// it prints the status the crawl last published (disk.ReadStatus).
func runningState(dir string, lockErr error, stdout, stderr io.Writer) int {
	data, err := disk.ReadStatus(dir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "trawl: %v (is a crawl running on it?), and it has published no status yet\n", lockErr)
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	var st crawler.Status
	if err := json.Unmarshal(data, &st); err != nil {
		fmt.Fprintf(stderr, "trawl: status of the crawl in %s: %v\n", dir, err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "state    %s\n", dir)
	asOf := fmt.Sprintf("as of %s (%s ago)", st.Updated.Local().Format(time.TimeOnly), ago(st.Updated))
	if st.Running {
		fmt.Fprintf(stdout, "crawl running (pid %d), %s\n", st.PID, asOf)
	} else {
		// The last status of a crawl that has stopped: it is closing the
		// state, or another crawl has it open and has published nothing.
		fmt.Fprintf(stdout, "crawl stopped (pid %d), %s; the state is in use (is a crawl starting on it?)\n", st.PID, asOf)
	}
	printCrawl(stdout, &st.State)
	fmt.Fprintf(stdout, "runs     %d, started %s\n", st.Runs, st.Started.Format(time.RFC3339))
	if st.Output >= 0 {
		fmt.Fprintf(stdout, "output   %d bytes written\n", st.Output)
	}
	printArchivePos(stdout, &st.State, "written")
	printCounts(stdout, st.Counts)
	printFrontier(stdout, st.Frontier, "")
	return exitOK
}

// printCrawl prints the seeds and settings of st's crawl.
func printCrawl(w io.Writer, st *crawler.State) {
	fmt.Fprintf(w, "seeds    %s\n", strings.Join(st.Crawl.Seeds, " "))
	fmt.Fprintf(w, "scope    %s", st.Crawl.Scope)
	if st.Crawl.MaxDepth != 0 {
		fmt.Fprintf(w, ", max depth %d", st.Crawl.MaxDepth)
	}
	if st.Crawl.MaxPerHost != 0 {
		fmt.Fprintf(w, ", max per host %d", st.Crawl.MaxPerHost)
	}
	if st.Crawl.MaxPages != 0 {
		fmt.Fprintf(w, ", max pages %d", st.Crawl.MaxPages)
	}
	for _, re := range st.Crawl.Include {
		fmt.Fprintf(w, ", include %q", re)
	}
	for _, re := range st.Crawl.Exclude {
		fmt.Fprintf(w, ", exclude %q", re)
	}
	fmt.Fprintln(w)
}

// printCounts prints the records of c as the summary names them:
// "records  N: F fetched, E errors, S skipped (robots: 3, ...)", then the
// statuses of the fetched ones.
func printCounts(w io.Writer, c crawler.Counts) {
	var skipped int64
	for _, n := range c.Skipped {
		skipped += n
	}
	fmt.Fprintf(w, "records  %d: %d fetched, %d errors, %d skipped", c.Records(), c.Fetched, c.Errors, skipped)
	if len(c.Skipped) > 0 {
		fmt.Fprintf(w, " (%s)", countList(c.Skipped))
	}
	fmt.Fprintln(w)
	if len(c.Status) > 0 {
		fmt.Fprintf(w, "status   %s\n", countList(c.Status))
	}
}

// printFrontier prints what the frontier holds; when says as of when.
// It leaves out the frontier's Done: it counts the URLs the frontier
// handed out and settled, not the records (a link skipped before it is
// queued has a record and was never queued).
func printFrontier(w io.Writer, fs store.FrontierStats, when string) {
	fmt.Fprintf(w, "urls     %d seen, %d queued, %d in flight%s\n", fs.Seen, fs.Queued, fs.InFlight, when)
	fmt.Fprintf(w, "hosts    %d with work left\n", fs.Hosts)
}

// ago is how long ago t was, to the second.
func ago(t time.Time) time.Duration {
	return time.Since(t).Round(time.Second)
}

// printArchivePos says where the crawl's WARC files end, when it archives.
func printArchivePos(w io.Writer, st *crawler.State, what string) {
	if st.Archive == nil {
		return
	}
	fmt.Fprintf(w, "warc     %s: %d files, the last with %d bytes %s\n", st.ArchiveName, st.Archive.File+1, st.Archive.Offset, what)
}
