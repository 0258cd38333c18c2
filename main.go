// Command trawl is a concurrent, polite web crawler.
//
//	trawl [flags] URL...     crawl from the seed URLs
//	trawl demo [flags]       crawl the embedded fixture site, offline
//	trawl state DIR          show what a --state directory holds
//	trawl export [flags]     take a Redis crawl's records into a file
//	trawl bench [flags]      benchmark the crawler on a generated site
//	trawl help [TOPIC]       the help of trawl, demo, state, export or bench
//
// Run "trawl --help" for the flags and the exit codes. The crawl engine is
// the trawl/crawler package; this file turns flags into a crawler.Config,
// runs the crawl and handles signals. help.go has the help, output.go the
// output, exit.go the exit codes and refused starts, seeds.go why nothing
// was fetched, report.go the progress line and the summary, demo.go the
// demo, redis.go a crawl shared on Redis (--redis) and export.go trawl
// export.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/spf13/pflag"

	"trawl/crawler"
	"trawl/crawler/bench"
	"trawl/fetch"
	"trawl/parse"
	"trawl/store"
)

const version = "0.1.0"

// hostileHost is the host of the hostile demo site (trawl demo --site
// hostile); its Crawl-delay twin is "slow." + hostileHost.
const hostileHost = "hostile.trawl.test"

// demoRate is the demo's per-host rate unless --rate is given: the
// fixture site is local, so it may go faster than a real one.
const demoRate = 10

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
	input      string // -i: a file of seeds, "-" for stdin
	version    bool
	state      string
	warc       string // --warc: the WARC files' name
	warcOpts   store.WARCOptions
	log        logOptions    // --log, --log-format, -v (logs.go)
	metrics    string        // --metrics: the address of /metrics (metrics.go)
	cpuprofile string        // --cpuprofile: the crawl's CPU profile (hidden)
	config     configOptions // --config, --print-config (config.go)
	redis      redisOptions  // --redis, --crawl, --worker (redis.go)
	render     renderOptions // --render, --chrome-path, --render-* (render.go)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, with its exit code (see exit.go).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "bench":
			if wantsHelp(args[1:]) {
				return runBench(args[1:], stdout, stdout) // help goes to stdout
			}
			return runBench(args[1:], stdout, stderr)
		case "state":
			if wantsHelp(args[1:]) {
				fmt.Fprint(stdout, stateUsageText)
				return exitOK
			}
			return runState(args[1:], stdout, stderr)
		case "export":
			return runExport(args[1:], stdout, stderr)
		case "help":
			return runHelp(args[1:], stdout, stderr)
		}
	}
	opts, err := parseArgs(args, stdout)
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
	if opts.config.print != "" {
		return printConfig(stdout, stderr, opts)
	}
	if err := readSeeds(opts, stderr); err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitUsage
	}
	// No browser, no crawl: before any file is created.
	if code := checkBrowser(stderr, &opts.cfg); code >= 0 {
		return code
	}
	// Refuse a missing folder before anything is created.
	if err := checkPaths(opts.output, opts.state, opts.warc, opts.log.file); err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitUsage
	}
	// Listen before anything is created, too: an address in use fails alone.
	ms, err := listenMetrics(opts.metrics, opts.quiet, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	defer ms.close()
	if opts.redis.url != "" {
		return runRedis(opts, ms, stdout, stderr)
	}
	if opts.demo {
		srv := startDemo(opts)
		defer srv.Close()
		if !opts.quiet {
			fmt.Fprintf(stderr, "trawl: demo site %s served on %s\n", strings.Join(demoHosts(opts.demoSite), " and "), srv.Addr())
		}
	}

	if len(opts.cookies) > 0 || opts.cookieFile != "" {
		jar, err := cookieJar(opts.cookies, opts.cookieFile, slices.Concat(opts.seeds, opts.cfg.Sitemaps))
		if err != nil {
			fmt.Fprintf(stderr, "trawl: %v\n", err)
			return exitUsage
		}
		opts.cfg.Jar = jar
	}

	out, err := openOutput(opts.output, opts.state != "", stdout)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	defer out.Close()
	archive, err := openArchive(opts)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		out.discard()
		return exitFailure
	}
	if archive != nil {
		defer archive.Close()
		opts.cfg.Archive = archive
	}
	logger, closeLog, err := openLog(opts.log, opts.quiet, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		out.discard()
		return exitFailure
	}
	defer closeLog()
	opts.cfg.Logger = logger
	var sink interface {
		crawler.Sink
		Flush() error
	}
	if opts.format == "csv" {
		sink = store.NewCSV(out.w)
	} else {
		sink = store.NewJSONL(out.w)
	}
	watch := newSeedWatch(slices.Concat(opts.seeds, opts.cfg.Sitemaps))
	keep := map[string]func(store.Record) bool{"fetched": store.Fetched, "errors": store.Failed}[opts.records]
	// Filter keeps the sink a crawler.SyncSink, as --state needs.
	opts.cfg.Sink = store.Filter(sink, watch.keep(keep))
	opts.cfg.OnError = watch.onError(opts.cfg.OnError)
	if opts.state != "" {
		opts.cfg.NewFrontier = openFrontier(opts.state)
	}
	c, err := crawler.New(opts.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", cleanError(err))
		out.discard()
		return exitUsage
	}
	stopProfile, err := startProfile(opts.cpuprofile)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		out.discard()
		return exitFailure
	}
	ms.serve(c)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sig := handleSignals(ctx, stop, stderr)

	var bg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(ctx)
	if !opts.quiet && isTerminal(stderr) {
		bg.Go(func() { showProgress(bgCtx, stderr, c, progressLine) })
	}
	bg.Go(func() { flushLoop(bgCtx, sink, flushEvery) })

	stats, runErr := c.Run(ctx, opts.seeds...)
	stopBg()
	bg.Wait()
	if err := stopProfile(); err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
	}

	return finish(stderr, opts, out, sink, archive, watch, stats, runErr, sig.Load())
}

// finish reports the end of a crawl and returns the exit code: one clear
// line and no summary for a start that was refused, else the summary,
// then what went wrong, if anything.
func finish(stderr io.Writer, opts *options, out *output, sink interface{ Flush() error }, archive *store.WARC,
	watch *seedWatch, stats crawler.Stats, runErr error, sig int32) int {
	if runErr != nil && errors.Is(runErr, context.Canceled) && sig != 0 {
		runErr = nil // the signal says it
	}
	var writeErr error
	if err := sink.Flush(); err != nil {
		writeErr = err
	} else if err := out.Sync(); err != nil {
		writeErr = err
	}
	if runErr != nil && watch.written() == 0 && stats.Records() == 0 {
		// Refused before the first URL was decided: nothing to summarize.
		code := explainRefusal(stderr, runErr, opts)
		out.discard()
		return code
	}

	if !opts.quiet {
		printSummary(stderr, stats, sig != 0)
		printArchive(stderr, archive)
	}
	code := exitOK
	switch {
	case runErr != nil:
		fmt.Fprintf(stderr, "trawl: %v\n", cleanError(runErr))
		code = exitFailure
	case writeErr != nil:
		fmt.Fprintf(stderr, "trawl: %v\n", cleanError(fmt.Errorf("write output: %w", writeErr)))
		code = exitFailure
	}
	switch {
	case sig != 0:
		code = 128 + int(sig) // exitInterrupted, exitTerminated
	case code == exitOK && nothingFetched(stats, watch):
		watch.explain(stderr, stats, opts)
		code = exitNothing
	}
	if code != exitOK && watch.written() == 0 && opts.state == "" {
		out.discard() // no 0-byte file from a run that failed
	}
	return code
}

// newFlagSet defines the flags of trawl, or of trawl demo, on a new
// FlagSet whose values are the returned flagValues.
func newFlagSet(demo bool) (*pflag.FlagSet, *flagValues) {
	v := &flagValues{opts: &options{demo: demo}}
	opts := v.opts
	fs := pflag.NewFlagSet("trawl", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	if demo {
		fs.StringVar(&opts.demoSite, "site", "basic", "demo `SITE`: basic (the example site), hostile (a server misbehaving in every way trawl guards against) or links (a page for every way a page can link a URL: try --links and --assets)")
	}
	addConfigFlags(fs, &opts.config)
	cfg := &opts.cfg
	// Every number maps one to one onto crawler.Config: 0 is the default
	// shown, -1 is "off" (no limit, or none).
	fs.StringVarP(&opts.output, "output", "o", "", "write records to `FILE` instead of stdout; its folder must exist")
	fs.StringVar(&opts.format, "format", "", "output `FORMAT`: jsonl or csv (default: from the -o extension, else jsonl)")
	if !demo {
		fs.StringVarP(&opts.input, "input", "i", "", "read seed URLs from `FILE`, one per line (- for stdin; # starts a comment); bad lines are reported with their numbers and skipped")
	}
	fs.StringVar(&opts.warc, "warc", "", "also archive every request and response, robots.txt and redirects included, as WARC 1.1 in `FILE` (NAME.warc.gz gives NAME-00000.warc.gz, NAME-00001.warc.gz, …)")
	v.warcMaxSize = fs.String("warc-max-size", "1GiB", "start the next WARC file past this `SIZE` (-1 = one file)")
	fs.IntVar(&opts.warcOpts.GzipLevel, "warc-gzip-level", 1, "gzip `LEVEL` of the WARC records: 1 (fastest) to 9 (smallest), -2 (Huffman only: faster, bigger) or -1 (not compressed: fastest, biggest)")
	v.extract = fs.StringArray("extract", nil, "put the text of the first element matching a CSS selector (or, with @ATTR, its attribute) in each page's record data: `NAME=SELECTOR[@ATTR]` (repeatable)")
	v.extractAll = fs.StringArray("extract-all", nil, "as --extract, but a list of every match: `NAME=SELECTOR[@ATTR]` (repeatable)")
	fs.BoolVar(&cfg.ExtractJSONLD, "extract-jsonld", false, "put each page's JSON-LD objects in its record data, as \"jsonld\"")
	fs.StringVar(&opts.records, "records", "all", "which records to write: all (one per URL decided about: the audit trail), fetched (URLs that answered: with --max-pages N, at most N lines) or errors (URLs that failed)")
	fs.IntVarP(&cfg.Concurrency, "concurrency", "c", crawler.DefaultConcurrency, "fetch workers in all")
	fs.IntVar(&cfg.PerHost, "per-host", crawler.DefaultPerHost, "requests in flight to one host")
	fs.Float64Var(&cfg.Rate, "rate", crawler.DefaultRate, "requests per second to one host (-1 = no limit); a robots.txt Crawl-delay can only slow a host down")
	fs.StringVar(&cfg.UserAgent, "user-agent", fetch.DefaultUserAgent, "User-Agent header; also picks the robots.txt group")
	v.contact = fs.String("contact", "", "a `URL` saying who runs the crawl (a web page or mailto:); the User-Agent becomes \"trawl/"+version+" (+URL)\". Recommended for real crawls")
	v.headers = fs.StringArrayP("header", "H", nil, "send this `\"Name: value\"` header with every request (repeatable)")
	v.cookies = fs.StringArray("cookie", nil, "send this `name=value` cookie to the seeds' hosts (repeatable)")
	v.cookieFile = fs.String("cookie-file", "", "load cookies from a Netscape cookies.txt `FILE` (as curl and wget write it)")
	fs.BoolVar(&cfg.NoCookies, "no-cookies", false, "neither keep nor send cookies (by default a crawl keeps the cookies sites set, as a browser does)")
	v.proxy = fs.String("proxy", "", "send every request through this proxy `URL` (default: HTTP_PROXY, HTTPS_PROXY and NO_PROXY from the environment, unless --resolve is given)")
	fs.StringVar(&cfg.Method, "method", "GET", "request `METHOD`: GET, or HEAD to check that pages exist without fetching their bodies (no links are found)")
	fs.BoolVar(&cfg.IgnoreRobots, "ignore-robots", false, "do not fetch or obey robots.txt")
	fs.DurationVar(&cfg.Timeout, "timeout", crawler.DefaultTimeout, "limit for one fetch: connect, headers and body (-1s = no limit)")
	v.maxBody = fs.String("max-body", "10MiB", "keep at most this `SIZE` of a decoded body (e.g. 512KiB, 10MiB; -1 = no limit); longer bodies are truncated")
	fs.IntVar(&cfg.Retries, "retries", crawler.DefaultRetries, "retries after a network error, 429 or 5xx (-1 = none)")
	fs.IntVar(&cfg.MaxRedirects, "max-redirects", crawler.DefaultMaxRedirects, "redirects followed in a row from one link, each recorded as its own URL (-1 = none)")
	fs.DurationVar(&cfg.MaxRetryWait, "max-retry-wait", crawler.DefaultMaxRetryWait, "longest Retry-After or back-off waited for; a server asking for more gets its answer recorded and its host paused this long (-1s = no limit)")
	fs.DurationVar(&cfg.MaxCrawlDelay, "max-crawl-delay", crawler.DefaultMaxCrawlDelay, "cap on a robots.txt Crawl-delay; the summary names the hosts capped (-1s = no cap)")
	fs.DurationVar(&cfg.MaxTime, "max-time", 0, "stop the crawl cleanly after this long; with --state it can be resumed (0 = no limit)")
	v.maxBytes = fs.String("max-bytes", "0", "stop the crawl cleanly once the decoded bodies kept (what the records' bytes sum to) reach this `SIZE`, e.g. 10GiB; with --state it can be resumed, earlier runs counted (0 = no limit)")
	fs.BoolVar(&cfg.AutoThrottle, "auto-throttle", false, "space each host's requests by its latency, as Scrapy's AutoThrottle does: slower when it slows down or fails, back when it recovers; never faster than --rate, --per-host, Crawl-delay or Retry-After allow")
	fs.Float64Var(&cfg.AutoThrottleTarget, "auto-throttle-target", crawler.DefaultAutoThrottleTarget, "with --auto-throttle: the requests a host should have in flight on average (its spacing is its latency divided by this)")
	fs.DurationVar(&cfg.AutoThrottleMax, "auto-throttle-max", crawler.DefaultAutoThrottleMax, "with --auto-throttle: the longest spacing given to a host")
	fs.IntVar(&cfg.MaxHostFailures, "max-host-failures", crawler.DefaultMaxHostFailures, "give a host up after this many connection failures in a row (DNS, refused, unreachable, TLS, reset or timeout before an answer): its other URLs are recorded as skipped host-unreachable (-1 = never)")
	fs.IntVar(&cfg.MaxURLLength, "max-url-length", crawler.DefaultMaxURLLength, "longest URL followed, in bytes; longer ones are recorded as skipped url-too-long (-1 = no limit)")
	fs.IntVar(&cfg.MaxLinks, "max-links", crawler.DefaultMaxLinks, "most distinct links followed from one page; the summary counts the rest (-1 = no limit)")
	fs.BoolVar(&cfg.Assets, "assets", false, "also fetch the in-scope images, scripts, stylesheets, media and other assets pages load (stylesheets are read for more URLs); by default they are found and counted, not fetched")
	v.sitemaps = fs.StringArray("sitemap", nil, "start from this sitemap or feed `URL`, as a seed whose URLs are one hop away (repeatable; with it, page URLs are optional)")
	fs.BoolVar(&cfg.NoSitemaps, "no-sitemaps", false, "do not look for sitemaps (by default each in-scope host's robots.txt Sitemap lines and /sitemap.xml are read)")
	fs.BoolVar(&cfg.GuessLinks, "guess-links", false, "also take URLs written as text in inline scripts, JSON and text files (more links, and some that are not)")
	fs.BoolVar(&cfg.RecordLinks, "links", false, "add each page's out-links (url, kind, source, nofollow) to its record as \"outlinks\"")
	addRenderFlags(fs, &opts.render)
	fs.BoolVar(&cfg.AllowPrivate, "allow-private", false, "allow connections to loopback, private and link-local addresses (by default only the seeds' hosts and --resolve hosts may be there)")
	v.scope = fs.String("scope", "host", "follow links within `SCOPE`: host (the seeds' hosts), domain (their registrable domains) or any")
	v.include = fs.StringArray("include", nil, "follow only links whose normalized URL (https://host/path?query) matches this regular `expression` (repeatable)")
	v.exclude = fs.StringArray("exclude", nil, "do not follow links whose normalized URL matches this regular `expression` (repeatable)")
	fs.IntVar(&cfg.MaxDepth, "depth", 0, "most link hops from a seed (0 = no limit, -1 = the seeds only)")
	fs.IntVar(&cfg.MaxPages, "max-pages", 0, "most URLs fetched, seeds included (0 = no limit)")
	fs.IntVar(&cfg.MaxPerHost, "max-per-host", 0, "most URLs fetched from one host, seeds included; the host's further URLs are recorded as skipped budget: a cap on spider traps (0 = no limit)")
	fs.StringVar(&opts.state, "state", "", "keep the crawl's state in `DIR` (its folder must exist): run the same command again to resume after a stop or crash (needs -o)")
	fs.DurationVar(&cfg.CheckpointInterval, "checkpoint-interval", crawler.DefaultCheckpointInterval, "with --state: sync the state to disk on this period; a crash of the machine redoes up to that much work, one of trawl only the URLs in flight (-1s = sync before each worker goes on: slower)")
	if !demo {
		addRedisFlags(fs, &opts.redis)
	}
	fs.BoolVar(&cfg.ResumeAnyway, "resume-anyway", false, "continue a --state crawl, or join a --redis crawl, even though its seeds or scope differ")
	fs.BoolVar(&cfg.Overwrite, "overwrite", false, "let a new --state crawl replace a non-empty -o file and --warc files; with --redis, replace a non-empty -o file that the crawl has exported nothing to")
	v.resolve = fs.StringArray("resolve", nil, "connect to `HOST:PORT:ADDR` instead of resolving HOST, like curl (repeatable); turns the environment's proxy off")
	addLogFlags(fs, &opts.log)
	addMetricsFlag(fs, &opts.metrics)
	fs.StringVar(&opts.cpuprofile, "cpuprofile", "", "write the crawl's CPU profile to `FILE`, for go tool pprof")
	fs.MarkHidden("cpuprofile") // for developers: see BENCHMARKS.md
	fs.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress line, no summary and no logs on stderr (a --log file is still written)")
	fs.BoolVar(&opts.version, "version", false, "print the version and exit")
	fs.BoolP("help", "h", false, "show this help")
	return fs, v
}

// flagValues are the flags that parseArgs checks or converts before they
// become options.
type flagValues struct {
	opts                                        *options
	contact, cookieFile, proxy, maxBody, scope  *string
	headers, cookies, include, exclude, resolve *[]string
	sitemaps, extract, extractAll               *[]string
	warcMaxSize, maxBytes                       *string
}

// parseArgs turns the command line into options. Errors are one line.
// --help prints the help to stdout and returns pflag.ErrHelp.
func parseArgs(args []string, stdout io.Writer) (_ *options, err error) {
	demo := len(args) > 0 && args[0] == "demo"
	if demo {
		args = args[1:]
	}
	fs, v := newFlagSet(demo)
	opts, cfg := v.opts, &v.opts.cfg
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			writeUsage(stdout, fs, demo)
		}
		return nil, err
	}
	if h, _ := fs.GetBool("help"); h {
		writeUsage(stdout, fs, demo)
		return nil, pflag.ErrHelp
	}
	if opts.version {
		return opts, nil
	}
	// Flags not on the command line come from the --config file: the
	// checks below see the merged values, and their errors name the file.
	if err := opts.config.load(fs, demo); err != nil {
		return nil, err
	}
	defer func() { err = opts.config.blame(err) }()

	// The demo site spans two hosts of one domain and is ours to load.
	if opts.demo {
		if opts.demoSite != "basic" && opts.demoSite != "hostile" && opts.demoSite != "links" {
			return nil, fmt.Errorf("--site %q: want basic, hostile or links", opts.demoSite)
		}
		for _, f := range []string{"resolve", "proxy"} {
			if fs.Changed(f) {
				return nil, fmt.Errorf("demo crawls only its own site on loopback: --%s does not apply", f)
			}
		}
		if !fs.Changed("scope") {
			*v.scope = "domain"
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
	if *v.contact != "" {
		if fs.Changed("user-agent") {
			return nil, errors.New("--contact with --user-agent: choose one (put the contact URL in your User-Agent)")
		}
		u, err := url.Parse(*v.contact)
		if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") || strings.ContainsAny(*v.contact, " ()\r\n") {
			return nil, fmt.Errorf("--contact %q: want a URL such as https://example.org/crawl.html or mailto:you@example.org", *v.contact)
		}
		cfg.UserAgent = contactUserAgent(*v.contact)
	}
	if cfg.Header, err = parseHeaders(*v.headers); err != nil {
		return nil, err
	}
	if *v.proxy != "" {
		u, err := url.Parse(*v.proxy)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			return nil, fmt.Errorf("--proxy %q: want http://HOST:PORT, https://… or socks5://…", *v.proxy)
		}
		cfg.Proxy = http.ProxyURL(u)
	}
	if (len(*v.cookies) > 0 || *v.cookieFile != "") && cfg.NoCookies {
		return nil, errors.New("--no-cookies with --cookie or --cookie-file: choose one")
	}
	opts.cookies, opts.cookieFile = *v.cookies, *v.cookieFile
	n, err := parseSize(*v.maxBody)
	if err != nil {
		return nil, fmt.Errorf("--max-body: %v", err)
	}
	cfg.MaxBody = n
	if cfg.MaxBytes, err = parseSize(*v.maxBytes); err != nil {
		return nil, fmt.Errorf("--max-bytes: %v", err)
	}
	if opts.warcOpts.MaxSize, err = parseSize(*v.warcMaxSize); err != nil {
		return nil, fmt.Errorf("--warc-max-size: %v", err)
	}
	if opts.warcOpts.MaxSize == 0 {
		return nil, errors.New("--warc-max-size 0: want a size, or -1 for one file")
	}
	switch l := opts.warcOpts.GzipLevel; {
	case l == -2, l == -1, l >= 1 && l <= 9:
	default:
		return nil, fmt.Errorf("--warc-gzip-level %d: want 1 to 9, -2 or -1", l)
	}
	for _, spec := range *v.extract {
		e, err := parse.ParseExtractor(spec, false)
		if err != nil {
			return nil, fmt.Errorf("--extract: %v", err)
		}
		cfg.Extract = append(cfg.Extract, e)
	}
	for _, spec := range *v.extractAll {
		e, err := parse.ParseExtractor(spec, true)
		if err != nil {
			return nil, fmt.Errorf("--extract-all: %v", err)
		}
		cfg.Extract = append(cfg.Extract, e)
	}
	if cfg.Scope, err = crawler.ParseScope(*v.scope); err != nil {
		return nil, fmt.Errorf("--scope %q: want host, domain or any", *v.scope)
	}
	if cfg.Include, err = compileAll("--include", *v.include); err != nil {
		return nil, err
	}
	if cfg.Exclude, err = compileAll("--exclude", *v.exclude); err != nil {
		return nil, err
	}
	if cfg.Resolve, err = parseResolve(*v.resolve); err != nil {
		return nil, err
	}
	if err := opts.render.apply(cfg); err != nil {
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
	if err := opts.log.check(); err != nil {
		return nil, err
	}

	if opts.state != "" && (opts.output == "" || opts.output == "-") {
		return nil, errors.New("--state needs -o FILE: a resumed crawl cuts its output back to the last checkpoint")
	}
	if err := opts.redis.check(opts); err != nil {
		return nil, err
	}
	opts.seeds = slices.Concat(fs.Args(), opts.config.seeds) // the command line's, then the file's
	if opts.demo {
		if len(opts.seeds) > 0 {
			return nil, fmt.Errorf("demo takes no URL (got %q)", opts.seeds[0])
		}
		return opts, nil
	}
	cfg.Sitemaps = *v.sitemaps
	if len(opts.seeds) == 0 && len(cfg.Sitemaps) == 0 && opts.input == "" && opts.config.print == "" && opts.redis.url == "" {
		return nil, errors.New("no URL to crawl")
	}
	for _, s := range slices.Concat(opts.seeds, cfg.Sitemaps) {
		if err := checkSeed(s); err != nil {
			return nil, err
		}
	}
	return opts, nil
}

// stdin is where -i - reads seeds from; tests replace it.
var stdin io.Reader = os.Stdin

// readSeeds adds the seeds of the -i file to opts, reporting its bad
// lines on stderr; it fails only when the file cannot be read, or when
// the crawl is left with no URL at all.
func readSeeds(opts *options, stderr io.Writer) error {
	if opts.input == "" {
		return nil
	}
	r, name := stdin, "stdin"
	if opts.input != "-" {
		f, err := os.Open(opts.input)
		if err != nil {
			return fmt.Errorf("-i %s: %v", opts.input, innermost(err))
		}
		defer f.Close()
		r, name = f, opts.input
	}
	seeds, bad, err := crawler.ReadSeeds(r)
	for _, b := range bad {
		fmt.Fprintf(stderr, "trawl: -i %s: %v (skipped)\n", name, b.Error())
	}
	if err != nil {
		return fmt.Errorf("-i %s: %v", name, innermost(err))
	}
	opts.seeds = append(opts.seeds, seeds...)
	if len(opts.seeds) == 0 && len(opts.cfg.Sitemaps) == 0 {
		return fmt.Errorf("no URL to crawl: -i %s has none", name)
	}
	return nil
}

// contactUserAgent is the User-Agent of --contact URL.
func contactUserAgent(contact string) string {
	return "trawl/" + version + " (+" + contact + ")"
}

// checkSeed rejects a seed that is not an absolute http(s) URL with a host.
func checkSeed(s string) error { return crawler.CheckSeed(s) }

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
// The number of the first signal is stored in the result, 0 until one
// comes.
func handleSignals(ctx context.Context, stop context.CancelFunc, stderr io.Writer) *atomic.Int32 {
	var got atomic.Int32
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(ch)
		var first os.Signal
		select {
		case first = <-ch:
		case <-ctx.Done():
			return
		}
		got.Store(signalNumber(first))
		if first == syscall.SIGTERM {
			fmt.Fprintln(stderr, "\ntrawl: terminated (SIGTERM): stopping, flushing output (a second signal quits at once)")
		} else {
			fmt.Fprintln(stderr, "\ntrawl: interrupted: stopping, flushing output (Ctrl-C again to quit at once)")
		}
		stop()
		second := <-ch
		os.Exit(128 + int(signalNumber(second)))
	}()
	return &got
}

// signalNumber is s's number: 2 for SIGINT, 15 for SIGTERM.
func signalNumber(s os.Signal) int32 {
	if n, ok := s.(syscall.Signal); ok {
		return int32(n)
	}
	return int32(syscall.SIGINT)
}

// startProfile starts the CPU profile of --cpuprofile to path, if set, and
// returns the function that stops it and closes its file.
func startProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	stopCPU, err := bench.StartCPUProfile(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() error {
		if err := stopCPU(); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return nil
	}, nil
}
