package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"trawl/fetch"
)

const usageText = `trawl: a concurrent, polite web crawler.

Usage:
  trawl [flags] URL...    crawl from the seed URLs, one JSON record per URL
  trawl demo [flags]      crawl the embedded example site offline (no network);
                          --site hostile crawls a misbehaving one, --site links
                          one that links URLs in every way a page can
  trawl state DIR         show what a --state directory holds
  trawl bench [flags]     benchmark the crawler on a generated local site
  trawl help [demo|state|bench]

Examples:
  trawl demo
  trawl --contact https://example.org/crawl.html --depth 2 -o pages.jsonl https://example.com/
  trawl --scope domain --max-pages 500 --rate 1 https://www.example.com/
  trawl --exclude '/tag/' --include '/docs/' -o docs.csv https://example.com/docs/
  trawl --state crawl.state -o pages.jsonl https://example.com/   (run again to resume)
  trawl --assets --links -o site.jsonl https://example.com/       (pages, their assets, the link graph)
  trawl --sitemap https://example.com/sitemap.xml --depth 1       (the URLs a sitemap lists)
  trawl --warc site.warc.gz -o site.jsonl https://example.com/    (keep every page as WARC)
  trawl --extract 'price=.price' --extract 'img=img.hero@src' --extract-jsonld -i urls.txt

Politeness is on by default: robots.txt is obeyed, at most --per-host
requests are in flight and --rate requests per second go to one host; a
robots.txt Crawl-delay can only slow a host down further. Records are
written as each URL is decided (flushed at least every 200ms).

The User-Agent is "` + fetch.DefaultUserAgent + `"; for a real crawl give
--contact URL, a page that says who runs the crawl and how to reach you.
Requests go through HTTP_PROXY / HTTPS_PROXY (minus NO_PROXY) when set,
except with --resolve; --proxy applies in every case.

Exit status:
  0    the crawl finished (or stopped at --max-time or --max-bytes) and
       fetched at least one URL; any HTTP status counts, a 404 too
  1    an I/O error: the output or the --state could not be written or
       opened, or another trawl holds the --state
  2    bad usage: a flag, a URL, a missing folder, or a --state that belongs
       to another crawl or another -o file
  3    nothing was fetched: every seed failed or was skipped (each is named,
       with its cause)
  130  interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM)

Flags:
`

const demoUsageText = `trawl demo: crawl an embedded site served on 127.0.0.1, offline.

Usage:
  trawl demo [flags]                 the example site (two hosts, ~50 pages)
  trawl demo --site hostile [flags]  a server misbehaving in every way trawl
                                     guards against
  trawl demo --site links [flags]    a page for every way a page can link a
                                     URL (try --links and --assets)

The demo never leaves loopback: its requests are dialed only to its own
server, and a link to any other host fails at once as an error record, so
--scope any is safe. It crawls --scope domain at --rate %d unless told
otherwise; every other flag works as it does for a real crawl (--resolve and
--proxy excepted: they would lead elsewhere).

Flags:
`

const stateUsageText = `trawl state: show what a --state directory holds.

Usage:
  trawl state DIR

It prints the saved crawl's seeds and scope, its runs, its records (fetched,
errors, skipped by reason, by HTTP status: the names of the summary, and
exactly the records in the output) and what is left. It opens the state
read-only and changes nothing in DIR. While a crawl runs on the state, it
shows the status that crawl publishes at its checkpoints and flushes (at
most a quarter second old). To continue the crawl, run the command that
started it again, with the same --state DIR and -o FILE.
`

// helpTopics are the topics of "trawl help TOPIC".
var helpTopics = []string{"demo", "state", "bench"}

// runHelp is "trawl help [TOPIC]": the help of trawl or of a command, on
// stdout.
func runHelp(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		printUsage(stdout, false)
		return exitOK
	case len(args) > 1 || !slices.Contains(helpTopics, args[0]):
		fmt.Fprintf(stderr, "trawl: help %s: want one of %s (see trawl help)\n", strings.Join(args, " "), strings.Join(helpTopics, ", "))
		return exitUsage
	}
	switch args[0] {
	case "demo":
		printUsage(stdout, true)
	case "state":
		fmt.Fprint(stdout, stateUsageText)
	case "bench":
		parseBenchArgs([]string{"--help"}, stdout)
	}
	return exitOK
}

// wantsHelp reports whether args ask for help (-h or --help before a
// "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--help":
			return true
		}
	}
	return false
}

// printUsage writes the help of trawl, or of trawl demo, to w.
func printUsage(w io.Writer, demo bool) {
	fs, _ := newFlagSet(demo)
	writeUsage(w, fs, demo)
}

// writeUsage writes the help text with fs's flags to w.
func writeUsage(w io.Writer, fs *pflag.FlagSet, demo bool) {
	head := usageText
	if demo {
		head = fmt.Sprintf(demoUsageText, demoRate)
	}
	// pflag 1.1 spells every boolean "--flag[=true|false]"; a bare --flag
	// is what people type.
	fmt.Fprint(w, head+strings.ReplaceAll(fs.FlagUsages(), "[=true|false]", "             "))
}
