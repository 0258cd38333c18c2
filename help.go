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
  trawl state --redis URL --crawl NAME
                          show a crawl that trawl processes share on Redis
  trawl export --redis URL --crawl NAME -o FILE
                          take a Redis crawl's records into a file
  trawl bench [flags]     benchmark the crawler on a generated local site
  trawl help [demo|state|export|bench]

Examples:
  trawl demo
  trawl --contact https://example.org/crawl.html --depth 2 -o pages.jsonl https://example.com/
  trawl --scope domain --max-pages 500 --rate 1 https://www.example.com/
  trawl --exclude '/tag/' --include '/docs/' -o docs.csv https://example.com/docs/
  trawl --state crawl.state -o pages.jsonl https://example.com/   (run again to resume)
  trawl --assets --links -o site.jsonl https://example.com/       (pages, their assets, the link graph)
  trawl --sitemap https://example.com/sitemap.xml --depth 1       (the URLs a sitemap lists)
  trawl --warc site.warc.gz -o site.jsonl https://example.com/    (keep every page as WARC)
  trawl --render --depth 2 -o app.jsonl http://app.example.com/  (pages built by JavaScript)
  trawl --extract 'price=.price' --extract 'img=img.hero@src' --extract-jsonld -i urls.txt
  trawl --redis redis://db:6379/0 --crawl big -o part1.jsonl https://example.com/
                                  (run on any number of machines: one crawl)

Politeness is on by default: robots.txt is obeyed, at most --per-host
requests are in flight and --rate requests per second go to one host; a
robots.txt Crawl-delay can only slow a host down further. Records are
written as each URL is decided (flushed at least every 200ms).

With --render, HTML pages are also loaded in headless Chromium
(apt-get install chromium-headless-shell): their links are those of the
rendered DOM, of the requests the page sends and of where clicking its
buttons leads; their records say "rendered". The browser reaches nothing
but through trawl, whose rules (scope, robots.txt, --per-host, --rate,
--max-body, the address guard) hold for each of its requests, together
with the page fetches; what they refuse, and any request but GET or HEAD,
never leaves (https included: trawl ends the browser's TLS itself).

With --redis URL --crawl NAME, any number of trawl processes, on any
machines, crawl as one: the queue, the URLs seen, the per-host limits
(--per-host, --rate, Crawl-delay, Retry-After) and the records live in
Redis, and a killed process's URLs are taken up by the others. Each URL's
record is written exactly once in all the -o files together (a process
without -o leaves them for trawl export). --max-pages, --max-per-host,
--max-bytes, --max-time and the counts of the summary are each process's.
A process may join without URLs: it crawls the crawl's seeds.

The User-Agent is "` + fetch.DefaultUserAgent + `"; for a real crawl give
--contact URL, a page that says who runs the crawl and how to reach you.
Requests go through HTTP_PROXY / HTTPS_PROXY (minus NO_PROXY) when set,
except with --resolve; --proxy applies in every case.

Exit status:
  0    the crawl finished (or stopped at --max-time or --max-bytes) and
       fetched at least one URL; any HTTP status counts, a 404 too
  1    an I/O error: the output or the --state could not be written or
       opened, or another trawl holds the --state; the Redis server cannot
       be reached, or the --crawl does not exist (joining without URLs) or
       was made by an incompatible trawl; --render and no browser installed
  2    bad usage: a flag, a URL, a missing folder, a --state or --crawl that
       belongs to another crawl, a --state of another -o file, or a
       --chrome-path that names no browser
  3    nothing was fetched: every seed failed or was skipped (each is named,
       with its cause); not with --redis, where other processes may have
       fetched them
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

const stateUsageText = `trawl state: show what a --state directory holds, or a crawl on Redis.

Usage:
  trawl state DIR
  trawl state --redis URL --crawl NAME

It prints the saved crawl's seeds and scope, its runs, its records (fetched,
errors, skipped by reason, by HTTP status: the names of the summary, and
exactly the records in the output) and what is left. It opens the state
read-only and changes nothing in DIR. While a crawl runs on the state, it
shows the status that crawl publishes at its checkpoints and flushes (at
most a quarter second old). To continue the crawl, run the command that
started it again, with the same --state DIR and -o FILE.

With --redis URL --crawl NAME it shows a crawl that trawl processes share
(trawl --redis URL --crawl NAME), read without joining it: its seeds and
scope, its URLs (seen, queued, in flight, done, failed and skipped), the
records waiting in its outbox, what each output took (exported under its
name; records taken and not committed are taken again by the next export
under that name), the hosts with the most work queued (with their next
allowed request) and the workers seen in the last minute (with the leases
they hold).
`

// helpTopics are the topics of "trawl help TOPIC".
var helpTopics = []string{"demo", "state", "export", "bench"}

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
	case "export":
		runExport([]string{"--help"}, stdout, stderr)
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
