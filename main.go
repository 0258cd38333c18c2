// Command trawl is a concurrent, polite web crawler.
//
//	trawl [flags] URL...     crawl from the seed URLs
//	trawl demo [flags]       crawl the embedded fixture site, offline
//
// Run "trawl --help" for the flags. The crawl engine is the trawl/crawler
// package; this file only turns flags into a crawler.Config, handles
// signals and prints progress and the summary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"trawl/crawler"
	"trawl/fetch"
	"trawl/fixtures"
	"trawl/store"
)

const version = "0.1.0"

// hostileHost is the host of the hostile demo site (trawl demo --site
// hostile); its Crawl-delay twin is "slow." + hostileHost.
const hostileHost = "hostile.trawl.test"

// demoRate is the demo's per-host rate unless --rate is given: the
// fixture site is local, so it may go faster than a real one.
const demoRate = 10

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

const usageText = `trawl: a concurrent, polite web crawler.

Usage:
  trawl [flags] URL...    crawl from the seed URLs, one JSON record per URL
  trawl demo [flags]      crawl the embedded example site offline (no network);
                          --site hostile crawls a misbehaving one
  trawl state DIR         show what a --state directory holds
  trawl bench [flags]     benchmark the crawler on a generated local site

Examples:
  trawl demo
  trawl --depth 2 -o pages.jsonl https://example.com/
  trawl --scope domain --max-pages 500 --rate 1 https://www.example.com/
  trawl --exclude '/tag/' --include '/docs/' -o docs.csv https://example.com/docs/
  trawl --state crawl.state -o pages.jsonl https://example.com/   (run again to resume)

Politeness is on by default: robots.txt is obeyed, at most --per-host
requests are in flight and --rate requests per second go to one host.

Flags:
`

// options are the parsed command line.
type options struct {
	cfg      crawler.Config
	output   string
	format   string
	quiet    bool
	demo     bool
	demoSite string // basic or hostile
	seeds    []string
	version  bool
	state    string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, with its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bench" {
		return runBench(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "state" {
		return runState(args[1:], stdout, stderr)
	}
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v (see trawl --help)\n", err)
		return exitUsage
	}
	if opts.version {
		fmt.Fprintf(stdout, "trawl %s\n", version)
		return exitOK
	}

	if opts.demo {
		handler, hosts, seed := fixtures.SiteHandler(fixtures.Basic()), []string{fixtures.WWW, fixtures.Blog}, "http://"+fixtures.WWW+"/"
		if opts.demoSite == "hostile" {
			handler, hosts, seed = fixtures.Hostile(), []string{hostileHost, "slow." + hostileHost}, "http://"+hostileHost+"/hostile/"
		}
		srv := fixtures.NewServer(handler)
		defer srv.Close()
		if opts.cfg.Resolve == nil {
			opts.cfg.Resolve = map[string]string{}
		}
		for k, v := range srv.Resolve(hosts...) {
			opts.cfg.Resolve[k] = v
		}
		opts.seeds = []string{seed}
		if !opts.quiet {
			fmt.Fprintf(stderr, "trawl: demo site %s served on %s\n", strings.Join(hosts, " and "), srv.Addr())
		}
	}

	var out io.Writer = stdout
	switch {
	case opts.state != "":
		// The crawler cuts this file back to its last checkpoint.
		f, err := store.OpenFile(opts.output)
		if err != nil {
			fmt.Fprintf(stderr, "trawl: %v\n", err)
			return exitFailure
		}
		defer f.Close()
		out = f
		opts.cfg.NewFrontier = openState(opts.state)
	case opts.output != "" && opts.output != "-":
		f, err := os.Create(opts.output)
		if err != nil {
			fmt.Fprintf(stderr, "trawl: %v\n", err)
			return exitFailure
		}
		defer f.Close()
		out = f
	}
	var sink interface {
		crawler.Sink
		Flush() error
	}
	if opts.format == "csv" {
		sink = store.NewCSV(out)
	} else {
		sink = store.NewJSONL(out)
	}
	opts.cfg.Sink = sink

	c, err := crawler.New(opts.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitUsage
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	interrupted := handleSignals(ctx, stop, stderr)

	var progress sync.WaitGroup
	progressDone := make(chan struct{})
	if !opts.quiet && isTerminal(stderr) {
		progress.Add(1)
		go func() {
			defer progress.Done()
			showProgress(progressDone, c, stderr)
		}()
	}

	stats, runErr := c.Run(ctx, opts.seeds...)
	close(progressDone)
	progress.Wait()

	code := exitOK
	if err := sink.Flush(); err != nil {
		fmt.Fprintf(stderr, "trawl: write output: %v\n", err)
		code = exitFailure
	}
	if f, ok := out.(*os.File); ok && out != stdout {
		if err := f.Sync(); err != nil && code == exitOK {
			fmt.Fprintf(stderr, "trawl: write output: %v\n", err)
			code = exitFailure
		}
	}
	if !opts.quiet {
		printSummary(stderr, stats, interrupted.Load())
	}
	switch {
	case interrupted.Load():
		return exitInterrupted
	case errors.Is(runErr, crawler.ErrStateMismatch):
		fmt.Fprintf(stderr, "trawl: %v\n", strings.Replace(runErr.Error(), "use ResumeAnyway", "use --resume-anyway", 1))
		return exitUsage
	case errors.Is(runErr, crawler.ErrOutputNotEmpty):
		fmt.Fprintf(stderr, "trawl: %s: %v\n", opts.output, strings.Replace(runErr.Error(), "use Overwrite", "use --overwrite", 1))
		return exitUsage
	case runErr != nil:
		fmt.Fprintf(stderr, "trawl: %v\n", runErr)
		return exitFailure
	}
	return code
}

// parseArgs turns the command line into options. Errors are one line.
func parseArgs(args []string, stderr io.Writer) (*options, error) {
	opts := &options{}
	if len(args) > 0 && args[0] == "demo" {
		opts.demo = true
		args = args[1:]
	}
	fs := pflag.NewFlagSet("trawl", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	if opts.demo {
		fs.StringVar(&opts.demoSite, "site", "basic", "demo `SITE`: basic (the example site) or hostile (a server misbehaving in every way trawl guards against)")
	}
	cfg := &opts.cfg
	fs.StringVarP(&opts.output, "output", "o", "", "write records to `FILE` instead of stdout")
	fs.StringVar(&opts.format, "format", "", "output `FORMAT`: jsonl or csv (default: from the -o extension, else jsonl)")
	fs.IntVarP(&cfg.Concurrency, "concurrency", "c", crawler.DefaultConcurrency, "fetch workers in all")
	fs.IntVar(&cfg.PerHost, "per-host", crawler.DefaultPerHost, "requests in flight to one host")
	rate := fs.Float64("rate", crawler.DefaultRate, "requests per second to one host (0 = unlimited)")
	fs.StringVar(&cfg.UserAgent, "user-agent", fetch.DefaultUserAgent, "User-Agent header; also picks the robots.txt group")
	fs.BoolVar(&cfg.IgnoreRobots, "ignore-robots", false, "do not fetch or obey robots.txt")
	fs.DurationVar(&cfg.Timeout, "timeout", crawler.DefaultTimeout, "limit for one fetch: connect, redirects, headers and body")
	maxBody := fs.String("max-body", "10MiB", "keep at most this `SIZE` of a decoded body (e.g. 512KiB, 10MiB); longer bodies are truncated")
	fs.IntVar(&cfg.Retries, "retries", crawler.DefaultRetries, "retries after a network error, 429 or 5xx (0 = none)")
	fs.IntVar(&cfg.MaxRedirects, "max-redirects", crawler.DefaultMaxRedirects, "redirects followed from one link, each recorded as its own URL (0 = none)")
	fs.DurationVar(&cfg.MaxRetryWait, "max-retry-wait", crawler.DefaultMaxRetryWait, "longest Retry-After or back-off waited for; a server asking for more gets its answer recorded and its host paused this long (0 = no limit)")
	fs.DurationVar(&cfg.MaxCrawlDelay, "max-crawl-delay", crawler.DefaultMaxCrawlDelay, "cap on a robots.txt Crawl-delay; the summary names the hosts capped (0 = no cap)")
	fs.DurationVar(&cfg.MaxTime, "max-time", 0, "stop the crawl cleanly after this long; with --state it can be resumed (0 = no limit)")
	fs.IntVar(&cfg.MaxURLLength, "max-url-length", crawler.DefaultMaxURLLength, "longest URL followed, in bytes; longer ones are recorded as skipped url-too-long (0 = no limit)")
	fs.IntVar(&cfg.MaxLinks, "max-links", crawler.DefaultMaxLinks, "most distinct links followed from one page; the summary counts the rest (0 = no limit)")
	fs.BoolVar(&cfg.AllowPrivate, "allow-private", false, "allow connections to loopback, private and link-local addresses (by default only the seeds' hosts and --resolve hosts may be there)")
	scope := fs.String("scope", "host", "follow links within `SCOPE`: host (the seeds' hosts), domain (their registrable domains) or any")
	include := fs.StringArray("include", nil, "follow only links matching this regular `expression` (repeatable)")
	exclude := fs.StringArray("exclude", nil, "do not follow links matching this regular `expression` (repeatable)")
	depth := fs.Int("depth", -1, "most link hops from a seed (0 = seeds only, -1 = unlimited)")
	fs.IntVar(&cfg.MaxPages, "max-pages", 0, "most URLs fetched, seeds included (0 = unlimited)")
	fs.StringVar(&opts.state, "state", "", "keep the crawl's state in `DIR`: run the same command again to resume after a stop or crash (needs -o)")
	fs.DurationVar(&cfg.CheckpointInterval, "checkpoint-interval", crawler.DefaultCheckpointInterval, "with --state: sync the state to disk on this period; a crash of the machine redoes up to that much work, one of trawl only the URLs in flight (0 = sync before each worker goes on: slower)")
	fs.BoolVar(&cfg.ResumeAnyway, "resume-anyway", false, "continue a --state crawl even though its seeds or scope differ")
	fs.BoolVar(&cfg.Overwrite, "overwrite", false, "let a new --state crawl replace a non-empty -o file")
	resolve := fs.StringArray("resolve", nil, "connect to `HOST:PORT:ADDR` instead of resolving HOST, like curl (repeatable)")
	fs.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress line and no summary")
	fs.BoolVar(&opts.version, "version", false, "print the version and exit")
	fs.BoolP("help", "h", false, "show this help")
	fs.Usage = func() {
		// pflag 1.1 spells every boolean "--flag[=true|false]"; a bare
		// --flag is what people type.
		fmt.Fprint(stderr, usageText+strings.ReplaceAll(fs.FlagUsages(), "[=true|false]", "             "))
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fs.Usage()
		}
		return nil, err
	}
	if h, _ := fs.GetBool("help"); h {
		fs.Usage()
		return nil, pflag.ErrHelp
	}
	if opts.version {
		return opts, nil
	}

	// The demo site spans two hosts of one domain and is ours to load.
	if opts.demo {
		if opts.demoSite != "basic" && opts.demoSite != "hostile" {
			return nil, fmt.Errorf("--site %q: want basic or hostile", opts.demoSite)
		}
		if !fs.Changed("scope") {
			*scope = "domain"
		}
		if !fs.Changed("rate") {
			*rate = demoRate
		}
	}
	// Library zero values mean "default"; on the command line 0 means none.
	switch {
	case *rate < 0:
		return nil, fmt.Errorf("--rate %v is negative", *rate)
	case *rate == 0:
		cfg.Rate = -1
	default:
		cfg.Rate = *rate
	}
	if cfg.Retries < 0 {
		return nil, fmt.Errorf("--retries %d is negative", cfg.Retries)
	}
	if cfg.Retries == 0 {
		cfg.Retries = -1
	}
	if cfg.MaxRedirects < 0 {
		return nil, fmt.Errorf("--max-redirects %d is negative", cfg.MaxRedirects)
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = -1
	}
	for _, d := range []struct {
		flag string
		v    *time.Duration
	}{{"--max-retry-wait", &cfg.MaxRetryWait}, {"--max-crawl-delay", &cfg.MaxCrawlDelay}, {"--max-time", &cfg.MaxTime}} {
		switch {
		case *d.v < 0:
			return nil, fmt.Errorf("%s %v is negative", d.flag, *d.v)
		case *d.v == 0 && d.flag != "--max-time":
			*d.v = -1 // the library's "no limit"
		}
	}
	for _, n := range []struct {
		flag string
		v    *int
	}{{"--max-url-length", &cfg.MaxURLLength}, {"--max-links", &cfg.MaxLinks}} {
		switch {
		case *n.v < 0:
			return nil, fmt.Errorf("%s %d is negative", n.flag, *n.v)
		case *n.v == 0:
			*n.v = -1 // the library's "no limit"
		}
	}
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("--concurrency %d must be at least 1", cfg.Concurrency)
	}
	if cfg.PerHost < 1 {
		return nil, fmt.Errorf("--per-host %d must be at least 1", cfg.PerHost)
	}
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("--timeout %v must be positive", cfg.Timeout)
	}
	if cfg.MaxPages < 0 {
		return nil, fmt.Errorf("--max-pages %d is negative", cfg.MaxPages)
	}
	switch {
	case *depth < -1:
		return nil, fmt.Errorf("--depth %d: want -1 (unlimited) or more", *depth)
	case *depth == -1:
		cfg.MaxDepth = 0
	case *depth == 0:
		cfg.MaxDepth = -1
	default:
		cfg.MaxDepth = *depth
	}
	n, err := parseSize(*maxBody)
	if err != nil {
		return nil, fmt.Errorf("--max-body: %v", err)
	}
	cfg.MaxBody = n
	if cfg.Scope, err = crawler.ParseScope(*scope); err != nil {
		return nil, fmt.Errorf("--scope %q: want host, domain or any", *scope)
	}
	if cfg.Include, err = compileAll("--include", *include); err != nil {
		return nil, err
	}
	if cfg.Exclude, err = compileAll("--exclude", *exclude); err != nil {
		return nil, err
	}
	if cfg.Resolve, err = parseResolve(*resolve); err != nil {
		return nil, err
	}

	switch opts.format {
	case "":
		opts.format = "jsonl"
		if strings.EqualFold(filepath.Ext(opts.output), ".csv") {
			opts.format = "csv"
		}
	case "jsonl", "csv":
	default:
		return nil, fmt.Errorf("--format %q: want jsonl or csv", opts.format)
	}

	switch {
	case cfg.CheckpointInterval < 0:
		return nil, fmt.Errorf("--checkpoint-interval %v is negative", cfg.CheckpointInterval)
	case cfg.CheckpointInterval == 0:
		cfg.CheckpointInterval = -1 // the library's "every group"
	}
	if opts.state != "" && (opts.output == "" || opts.output == "-") {
		return nil, errors.New("--state needs -o FILE: a resumed crawl cuts its output back to the last checkpoint")
	}
	opts.seeds = fs.Args()
	if opts.demo {
		if len(opts.seeds) > 0 {
			return nil, fmt.Errorf("demo takes no URL (got %q)", opts.seeds[0])
		}
		return opts, nil
	}
	if len(opts.seeds) == 0 {
		return nil, errors.New("no URL to crawl")
	}
	for _, s := range opts.seeds {
		if err := checkSeed(s); err != nil {
			return nil, err
		}
	}
	return opts, nil
}

// checkSeed rejects a seed that is not an absolute http(s) URL with a host.
func checkSeed(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("bad URL %q: %v", s, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("bad URL %q: want an http:// or https:// URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("bad URL %q: no host", s)
	}
	return nil
}

func compileAll(flag string, exprs []string) ([]*regexp.Regexp, error) {
	var res []*regexp.Regexp
	for _, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", flag, e, err)
		}
		res = append(res, re)
	}
	return res, nil
}

// parseResolve turns "HOST:PORT:ADDR" flags into the dial override map.
func parseResolve(specs []string) (map[string]string, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, s := range specs {
		host, rest, ok1 := strings.Cut(s, ":")
		port, addr, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || host == "" || addr == "" {
			return nil, fmt.Errorf("--resolve %q: want HOST:PORT:ADDR", s)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, fmt.Errorf("--resolve %q: bad port %q", s, port)
		}
		if !strings.Contains(addr, ":") || strings.Count(addr, ":") > 1 && !strings.HasPrefix(addr, "[") {
			addr = addr + ":" + port // ADDR without a port dials PORT
		}
		m[strings.ToLower(host)+":"+port] = addr
	}
	return m, nil
}

// parseSize parses a byte size like 512, 64KB, 10MiB or 1G.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 512KiB or 10MiB)", s)
	}
	return n * mult, nil
}

// handleSignals cancels the crawl on the first SIGINT or SIGTERM, so it
// stops taking work and flushes what it has; a second one exits at once.
func handleSignals(ctx context.Context, stop context.CancelFunc, stderr io.Writer) *atomic.Bool {
	var interrupted atomic.Bool
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(ch)
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		interrupted.Store(true)
		fmt.Fprintln(stderr, "\ntrawl: interrupted: stopping, flushing output (Ctrl-C again to quit at once)")
		stop()
		<-ch
		os.Exit(exitInterrupted)
	}()
	return &interrupted
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// showProgress redraws one status line on w until done is closed.
func showProgress(done <-chan struct{}, c *crawler.Crawler, w io.Writer) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			fmt.Fprint(w, "\r\033[K")
			return
		case <-t.C:
			s := c.Stats()
			fmt.Fprintf(w, "\r\033[K%d pages  %.1f/s  %d queued  %d in flight  %d errors  %s",
				s.Fetched, s.PagesPerSecond(), s.Queued, s.InFlight, s.Errors, s.Elapsed.Round(time.Second))
		}
	}
}

// printSummary writes the end-of-crawl summary.
func printSummary(w io.Writer, s crawler.Stats, interrupted bool) {
	how := "done"
	switch {
	case interrupted:
		how = "interrupted"
	case s.Stopped == crawler.StopMaxTime:
		how = "stopped at --max-time"
	}
	var skipped int64
	for _, n := range s.Skipped {
		skipped += n
	}
	fmt.Fprintf(w, "trawl: %s in %s: %d fetched (%.1f pages/s), %d errors, %d skipped, %s\n",
		how, s.Elapsed.Round(time.Millisecond), s.Fetched, s.PagesPerSecond(), s.Errors, skipped, humanBytes(s.Bytes))
	if len(s.Status) > 0 {
		codes := make([]int, 0, len(s.Status))
		for c := range s.Status {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = fmt.Sprintf("%d: %d", c, s.Status[c])
		}
		fmt.Fprintf(w, "  status   %s\n", strings.Join(parts, ", "))
	}
	if len(s.Skipped) > 0 {
		reasons := make([]string, 0, len(s.Skipped))
		for r := range s.Skipped {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		parts := make([]string, len(reasons))
		for i, r := range reasons {
			parts[i] = fmt.Sprintf("%s: %d", r, s.Skipped[r])
		}
		fmt.Fprintf(w, "  skipped  %s\n", strings.Join(parts, ", "))
	}
	if r := s.Resumed; r != nil {
		fmt.Fprintf(w, "  resumed  %d done, %d queued (run %d)\n", r.Done, r.Queued, r.Runs+1)
	}
	fmt.Fprintf(w, "  links    %d out of scope, %d nofollow, %d duplicates", s.OutOfScope, s.NoFollow, s.Duplicates)
	if s.LinksDropped > 0 {
		fmt.Fprintf(w, ", %d over --max-links", s.LinksDropped)
	}
	fmt.Fprintf(w, "; %d retries\n", s.Retries)
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
