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
	"math"
	"net/http"
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
	cfg        crawler.Config
	output     string
	format     string
	quiet      bool
	demo       bool
	demoSite   string // basic or hostile
	records    string // all, fetched or errors
	cookies    []string
	cookieFile string
	seeds      []string
	version    bool
	state      string
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
	switch opts.records {
	case "fetched":
		opts.cfg.Sink = store.Filter(sink, store.Fetched)
	case "errors":
		opts.cfg.Sink = store.Filter(sink, store.Failed)
	default:
		opts.cfg.Sink = sink
	}
	if len(opts.cookies) > 0 || opts.cookieFile != "" {
		jar, err := cookieJar(opts.cookies, opts.cookieFile, opts.seeds)
		if err != nil {
			fmt.Fprintf(stderr, "trawl: %v\n", err)
			return exitUsage
		}
		opts.cfg.Jar = jar
	}

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
	// Every number maps one to one onto crawler.Config: 0 is the default
	// shown, -1 is "off" (no limit, or none).
	fs.StringVarP(&opts.output, "output", "o", "", "write records to `FILE` instead of stdout")
	fs.StringVar(&opts.format, "format", "", "output `FORMAT`: jsonl or csv (default: from the -o extension, else jsonl)")
	fs.StringVar(&opts.records, "records", "all", "which records to write: all (one per URL decided about), fetched (URLs that answered) or errors (URLs that failed)")
	fs.IntVarP(&cfg.Concurrency, "concurrency", "c", crawler.DefaultConcurrency, "fetch workers in all")
	fs.IntVar(&cfg.PerHost, "per-host", crawler.DefaultPerHost, "requests in flight to one host")
	fs.Float64Var(&cfg.Rate, "rate", crawler.DefaultRate, "requests per second to one host (-1 = no limit)")
	fs.StringVar(&cfg.UserAgent, "user-agent", fetch.DefaultUserAgent, "User-Agent header; also picks the robots.txt group")
	headers := fs.StringArrayP("header", "H", nil, "send this `\"Name: value\"` header with every request (repeatable)")
	cookies := fs.StringArray("cookie", nil, "send this `name=value` cookie to the seeds' hosts (repeatable)")
	cookieFile := fs.String("cookie-file", "", "load cookies from a Netscape cookies.txt `FILE` (as curl and wget write it)")
	fs.BoolVar(&cfg.NoCookies, "no-cookies", false, "neither keep nor send cookies (by default a crawl keeps the cookies sites set, as a browser does)")
	proxy := fs.String("proxy", "", "send requests through this proxy `URL` (default: HTTP_PROXY, HTTPS_PROXY and NO_PROXY from the environment, unless --resolve is given)")
	fs.StringVar(&cfg.Method, "method", "GET", "request `METHOD`: GET, or HEAD to check that pages exist without fetching their bodies (no links are found)")
	fs.BoolVar(&cfg.IgnoreRobots, "ignore-robots", false, "do not fetch or obey robots.txt")
	fs.DurationVar(&cfg.Timeout, "timeout", crawler.DefaultTimeout, "limit for one fetch: connect, headers and body (-1s = no limit)")
	maxBody := fs.String("max-body", "10MiB", "keep at most this `SIZE` of a decoded body (e.g. 512KiB, 10MiB; -1 = no limit); longer bodies are truncated")
	fs.IntVar(&cfg.Retries, "retries", crawler.DefaultRetries, "retries after a network error, 429 or 5xx (-1 = none)")
	fs.IntVar(&cfg.MaxRedirects, "max-redirects", crawler.DefaultMaxRedirects, "redirects followed in a row from one link, each recorded as its own URL (-1 = none)")
	fs.DurationVar(&cfg.MaxRetryWait, "max-retry-wait", crawler.DefaultMaxRetryWait, "longest Retry-After or back-off waited for; a server asking for more gets its answer recorded and its host paused this long (-1s = no limit)")
	fs.DurationVar(&cfg.MaxCrawlDelay, "max-crawl-delay", crawler.DefaultMaxCrawlDelay, "cap on a robots.txt Crawl-delay; the summary names the hosts capped (-1s = no cap)")
	fs.DurationVar(&cfg.MaxTime, "max-time", 0, "stop the crawl cleanly after this long; with --state it can be resumed (0 = no limit)")
	fs.IntVar(&cfg.MaxURLLength, "max-url-length", crawler.DefaultMaxURLLength, "longest URL followed, in bytes; longer ones are recorded as skipped url-too-long (-1 = no limit)")
	fs.IntVar(&cfg.MaxLinks, "max-links", crawler.DefaultMaxLinks, "most distinct links followed from one page; the summary counts the rest (-1 = no limit)")
	fs.BoolVar(&cfg.AllowPrivate, "allow-private", false, "allow connections to loopback, private and link-local addresses (by default only the seeds' hosts and --resolve hosts may be there)")
	scope := fs.String("scope", "host", "follow links within `SCOPE`: host (the seeds' hosts), domain (their registrable domains) or any")
	include := fs.StringArray("include", nil, "follow only links whose normalized URL (https://host/path?query) matches this regular `expression` (repeatable)")
	exclude := fs.StringArray("exclude", nil, "do not follow links whose normalized URL matches this regular `expression` (repeatable)")
	fs.IntVar(&cfg.MaxDepth, "depth", 0, "most link hops from a seed (0 = no limit, -1 = the seeds only)")
	fs.IntVar(&cfg.MaxPages, "max-pages", 0, "most URLs fetched, seeds included (0 = no limit)")
	fs.StringVar(&opts.state, "state", "", "keep the crawl's state in `DIR`: run the same command again to resume after a stop or crash (needs -o)")
	fs.DurationVar(&cfg.CheckpointInterval, "checkpoint-interval", crawler.DefaultCheckpointInterval, "with --state: sync the state to disk on this period; a crash of the machine redoes up to that much work, one of trawl only the URLs in flight (-1s = sync before each worker goes on: slower)")
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
			cfg.Rate = demoRate
		}
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("--concurrency %d is negative", cfg.Concurrency)
	}
	if cfg.PerHost < 0 {
		return nil, fmt.Errorf("--per-host %d is negative", cfg.PerHost)
	}
	switch cfg.Method = strings.ToUpper(cfg.Method); cfg.Method {
	case "GET", "HEAD":
	default:
		return nil, fmt.Errorf("--method %q: want GET or HEAD", cfg.Method)
	}
	switch opts.records {
	case "all", "fetched", "errors":
	default:
		return nil, fmt.Errorf("--records %q: want all, fetched or errors", opts.records)
	}
	var err error
	if cfg.Header, err = parseHeaders(*headers); err != nil {
		return nil, err
	}
	if *proxy != "" {
		u, err := url.Parse(*proxy)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			return nil, fmt.Errorf("--proxy %q: want http://HOST:PORT, https://… or socks5://…", *proxy)
		}
		cfg.Proxy = http.ProxyURL(u)
	}
	if (len(*cookies) > 0 || *cookieFile != "") && cfg.NoCookies {
		return nil, errors.New("--no-cookies with --cookie or --cookie-file: choose one")
	}
	opts.cookies, opts.cookieFile = *cookies, *cookieFile
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

// parseHeaders turns "Name: value" flags into a header.
func parseHeaders(specs []string) (http.Header, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	h := http.Header{}
	for _, s := range specs {
		name, value, ok := strings.Cut(s, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
			return nil, fmt.Errorf("-H %q: want \"Name: value\"", s)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
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

// parseSize parses a byte size like 512, 64KB, 10MiB or 1G; 0 is the
// default and -1 (any negative number) no limit, as the library reads them.
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
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("bad size %q (want e.g. 512KiB or 10MiB, or -1 for no limit)", s)
	}
	if n < 0 {
		return -1, nil
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
