package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"trawl/crawler"
	"trawl/store"
	"trawl/store/redis"
)

// This file is a crawl that many trawl processes share on Redis:
// trawl --redis URL --crawl NAME [-o FILE] [URL...], and trawl state
// --redis URL --crawl NAME. Each process is a worker of the crawl; the
// frontier, the politeness and the records live in Redis (trawl/store/
// redis), and each worker exports the crawl's records into its -o file,
// exactly once across all the files (see crawler.Outbox).

// redisOptions are --redis, --crawl and --worker.
type redisOptions struct {
	url    string // --redis: redis://[:PASSWORD@]HOST:PORT/DB
	crawl  string // --crawl: the crawl's name
	worker string // --worker: this process's name among the workers
}

// addRedisFlags defines --redis, --crawl and --worker on fs.
func addRedisFlags(fs *pflag.FlagSet, o *redisOptions) {
	fs.StringVar(&o.url, "redis", "", "share the crawl with other trawl processes through the Redis (or Valkey) server at `URL` (redis://HOST:PORT/DB): queue, politeness and records live there; needs --crawl")
	fs.StringVar(&o.crawl, "crawl", "", "with --redis: the `NAME` of the crawl to start or join (letters, digits, . _ -); URLs are optional when joining: the crawl's seeds are used")
	fs.StringVar(&o.worker, "worker", "", "with --redis: this process's `NAME` among the crawl's workers, as trawl state lists them (default: HOST:PID:RANDOM)")
}

// check refuses the flags that do not go with --redis, or that need it.
func (o redisOptions) check(opts *options) error {
	switch {
	case o.url == "" && o.crawl != "":
		return errors.New("--crawl needs --redis URL: the crawl lives on a Redis server")
	case o.url == "" && o.worker != "":
		return errors.New("--worker needs --redis URL and --crawl NAME")
	case o.url == "":
		return nil
	case o.crawl == "":
		return errors.New("--redis needs --crawl NAME: the name of the crawl to start or join")
	case opts.state != "":
		return errors.New("--redis with --state: choose one (with --redis the crawl's state is kept in Redis)")
	case opts.output == "-":
		return errors.New("-o - with --redis: records are exported exactly once into a file that can be cut back to its last commit, and stdout cannot; give -o FILE, or no -o to leave them for trawl export")
	}
	if err := redis.CheckURL(o.url); err != nil {
		return fmt.Errorf("--redis %q: %v", o.url, err)
	}
	return nil
}

// redisClient is a connection to the Redis server of --redis, and where it
// is, for messages.
type redisClient struct {
	redis.Client
	url  string // as given, without its password
	addr string // HOST:PORT
}

// dialRedis connects to the server at rawURL and checks that it answers.
// Its error is one line that names the server.
func dialRedis(ctx context.Context, rawURL string) (*redisClient, error) {
	if err := redis.CheckURL(rawURL); err != nil {
		return nil, fmt.Errorf("--redis %q: %v", rawURL, err)
	}
	// The command says what failed in one line of its own; go-redis's
	// log would add one each time its pool retries.
	redis.QuietClientLogs()
	shown := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		shown = u.Redacted()
	}
	c, err := redis.Connect(ctx, rawURL)
	if err != nil {
		if !errors.Is(err, redis.ErrUnreachable) {
			return nil, fmt.Errorf("--redis %s: %v", shown, err)
		}
		// "redis: cannot reach the server at HOST:PORT: dial tcp ...".
		return nil, fmt.Errorf("--redis %s: %v%w", shown, strings.TrimPrefix(err.Error(), "redis: "), errQuiet{redis.ErrUnreachable})
	}
	return &redisClient{Client: c, url: shown, addr: redisAddr(rawURL)}, nil
}

// redisAddr is the HOST:PORT of a Redis URL that CheckURL accepted.
func redisAddr(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "6379")
	}
	return u.Host
}

// inspect reads the crawl's status. A crawl that does not exist is a
// Status without Meta and a nil error when missingOK, else an error
// wrapping redis.ErrNoCrawl that ends with hint.
func (c *redisClient) inspect(ctx context.Context, crawl string, missingOK bool, hint string) (redis.Status, error) {
	st, err := redis.Inspect(ctx, c, crawl)
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, redis.ErrNoCrawl) && missingOK:
		return redis.Status{Crawl: crawl}, nil
	case errors.Is(err, redis.ErrNoCrawl):
		return st, fmt.Errorf("--crawl %s: there is no such crawl on %s%s%w", crawl, c.url, hint, errQuiet{redis.ErrNoCrawl})
	}
	return st, c.explain(err, crawl)
}

// errQuiet wraps an error whose message is said already: it adds nothing
// to a message but keeps errors.Is.
type errQuiet struct{ err error }

func (e errQuiet) Error() string { return "" }
func (e errQuiet) Unwrap() error { return e.err }

// explain turns an error of the Redis frontier into one line in the
// command's words.
func (c *redisClient) explain(err error, crawl string) error {
	switch {
	case errors.Is(err, redis.ErrSchema):
		return fmt.Errorf("--crawl %s on %s was made by an incompatible version of trawl (%s): use another crawl name%w", crawl, c.url, detailAfter(err, redis.ErrSchema), errQuiet{redis.ErrSchema})
	case errors.Is(err, redis.ErrBadName):
		return fmt.Errorf("%s%w", detailAfter(err, redis.ErrBadName), errQuiet{redis.ErrBadName})
	case errors.Is(err, redis.ErrUnreachable):
		return fmt.Errorf("--redis %s: cannot reach the server at %s (%s)%w", c.url, c.addr, detailAfter(err, redis.ErrUnreachable), errQuiet{redis.ErrUnreachable})
	}
	return fmt.Errorf("--redis %s: crawl %s: %s", c.url, crawl, cleanError(err))
}

// exportName is the default name under which a process exports a crawl's
// records into path: the host's name and the file's absolute path, as
// crawler.Config.ExportName's default is, so that a worker and trawl
// export on the same file continue the same export.
func exportName(path string) (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("export name: %v", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("export name: %v", err)
	}
	return host + ":" + abs, nil
}

// redisOutput is the -o file of a Redis crawl or of trawl export: a
// store.File under a JSONL or CSV sink, which the export cuts back to its
// last commit.
type redisOutput struct {
	file    *store.File
	path    string
	created bool // this run created the file
	sink    interface {
		store.Output
		Flush() error
	}
}

// openRedisOutput opens path for an export of crawl under name, in format
// (jsonl or csv). A file that holds data while the crawl has committed
// nothing under name is not the crawl's export: it is refused, or
// emptied with overwrite. A refusal is errRefused, said on stderr.
func openRedisOutput(path, format, name string, st redis.Status, overwrite bool) (*redisOutput, error) {
	o := &redisOutput{path: path}
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		o.created = true
	}
	f, err := store.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("-o %s: %v", path, innermost(err))
	}
	o.file = f
	if f.Size() > 0 && st.Exported[name] == 0 {
		if !overwrite {
			f.Close()
			return nil, fmt.Errorf("%w: -o %s already holds data (%d bytes) that crawl %s did not export to it: use --overwrite to replace it, or give another -o FILE", redis.ErrOutputNotEmpty, path, f.Size(), st.Crawl)
		}
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("-o %s: %v", path, innermost(err))
		}
	}
	if format == "csv" {
		o.sink = &lazyCSV{file: f}
	} else {
		o.sink = store.NewJSONL(f)
	}
	return o, nil
}

// Close closes the file.
func (o *redisOutput) Close() error { return o.file.Close() }

// discard removes the file if this run created it and wrote nothing.
func (o *redisOutput) discard() {
	o.file.Close()
	if o.created && o.file.Size() == 0 {
		os.Remove(o.path)
	}
}

// lazyCSV is store.CSV over a store.File that writes its header only
// with its first row, or when it is cut back to nothing. store.NewCSV
// buffers the header at once, so an export's first Sync would find a new
// output holding data (redis.ErrOutputNotEmpty). It is safe for
// concurrent use.
type lazyCSV struct {
	file *store.File
	mu   sync.Mutex
	csv  *store.CSV
}

// sink returns the CSV sink, made now if create is set; else nil if it is
// not made yet.
func (l *lazyCSV) sink(create bool) *store.CSV {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.csv == nil && create {
		l.csv = store.NewCSV(l.file)
	}
	return l.csv
}

func (l *lazyCSV) Name() string                                  { return l.file.Name() }
func (l *lazyCSV) Put(ctx context.Context, r store.Record) error { return l.sink(true).Put(ctx, r) }
func (l *lazyCSV) Rewind(pos int64) error                        { return l.sink(true).Rewind(pos) }
func (l *lazyCSV) Mark() (store.Span, error)                     { return l.sink(true).Mark() }
func (l *lazyCSV) Verify(s store.Span) error                     { return l.sink(true).Verify(s) }

func (l *lazyCSV) Sync() (int64, error) {
	if s := l.sink(false); s != nil {
		return s.Sync()
	}
	return l.file.Sync()
}

func (l *lazyCSV) Flush() error {
	if s := l.sink(false); s != nil {
		return s.Flush()
	}
	return nil
}

// runRedis is the crawl of a worker of --redis URL --crawl NAME, from
// where run has checked the flags, and its exit code.
func runRedis(opts *options, ms *metricsServer, stdout, stderr io.Writer) int {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ro := opts.redis
	client, err := dialRedis(ctx, ro.url)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	defer client.Close()
	st, err := client.inspect(ctx, ro.crawl, len(opts.seeds) > 0 || len(opts.cfg.Sitemaps) > 0, ": give seed URLs to start it")
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return redisExit(err)
	}
	if len(opts.seeds) == 0 && len(opts.cfg.Sitemaps) == 0 {
		// A worker joining without seeds crawls the crawl's own.
		m, err := crawler.ParseCrawlMeta(st.Meta)
		if err != nil || len(m.Crawl.Seeds) == 0 {
			fmt.Fprintf(stderr, "trawl: --crawl %s on %s has no seeds yet (is its first worker starting?): give the seed URLs\n", ro.crawl, client.url)
			return exitFailure
		}
		opts.seeds = m.Crawl.Seeds
	}
	if len(opts.cookies) > 0 || opts.cookieFile != "" {
		jar, err := cookieJar(opts.cookies, opts.cookieFile, slices.Concat(opts.seeds, opts.cfg.Sitemaps))
		if err != nil {
			fmt.Fprintf(stderr, "trawl: %v\n", err)
			return exitUsage
		}
		opts.cfg.Jar = jar
	}

	var out *redisOutput
	watch := newSeedWatch(slices.Concat(opts.seeds, opts.cfg.Sitemaps))
	if opts.output != "" {
		name, err := exportName(opts.output)
		if err != nil {
			fmt.Fprintf(stderr, "trawl: %v\n", err)
			return exitFailure
		}
		if out, err = openRedisOutput(opts.output, opts.format, name, st, opts.cfg.Overwrite); err != nil {
			fmt.Fprintf(stderr, "trawl: %v\n", err)
			if errors.Is(err, redis.ErrOutputNotEmpty) {
				return exitUsage
			}
			return exitFailure
		}
		defer out.Close()
		keep := map[string]func(store.Record) bool{"fetched": store.Fetched, "errors": store.Failed}[opts.records]
		opts.cfg.Sink = store.Filter(out.sink, watch.keep(keep))
		opts.cfg.ExportName = name
	} else if !opts.quiet {
		fmt.Fprintf(stderr, "trawl: no -o: the records stay in crawl %s's outbox on Redis; take them with trawl export --redis %s --crawl %s -o FILE\n", ro.crawl, client.url, ro.crawl)
	}
	discard := func() {
		if out != nil {
			out.discard()
		}
	}
	archive, err := openArchive(opts)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		discard()
		return exitFailure
	}
	if archive != nil {
		defer archive.Close()
		opts.cfg.Archive = archive
	}
	logger, closeLog, err := openLog(opts.log, opts.quiet, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		discard()
		return exitFailure
	}
	defer closeLog()
	opts.cfg.Logger = logger
	opts.cfg.OnError = watch.onError(opts.cfg.OnError)
	// The frontier extends the leases of a live worker: a short lease
	// only bounds how long a killed worker's URLs wait for another.
	opts.cfg.LeaseTTL = redis.DefaultLeaseTTL
	opts.cfg.NewFrontier = func(fo store.FrontierOptions) (crawler.Frontier, error) {
		f, err := redis.Open(ctx, client, redis.Options{FrontierOptions: fo, Crawl: ro.crawl, Worker: ro.worker})
		if err != nil {
			return nil, client.explain(err, ro.crawl)
		}
		return f, nil
	}
	c, err := crawler.New(opts.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", cleanError(err))
		discard()
		return exitUsage
	}
	ms.serve(c)
	sig := handleSignals(ctx, stop, stderr)

	var bg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(ctx)
	if !opts.quiet && isTerminal(stderr) {
		bg.Go(func() {
			// This worker's pages and errors, then the crawl's queue, all
			// workers together.
			showProgress(bgCtx, stderr, c, func(s crawler.Stats, now time.Time) string { return redisProgressLine(s, ro.crawl, now) })
		})
	}
	stats, runErr := c.Run(ctx, opts.seeds...)
	stopBg()
	bg.Wait()
	return finishRedis(stderr, opts, client, out, archive, stats, runErr, sig.Load())
}

// redisExit is the exit code of a failure to reach or read a crawl:
// exitUsage for a bad name, else exitFailure.
func redisExit(err error) int {
	if errors.Is(err, redis.ErrBadName) {
		return exitUsage
	}
	return exitFailure
}

// finishRedis reports the end of a worker's crawl and returns the exit
// code, as finish does for a crawl of one process: one clear line and no
// summary for a start that was refused, else the summary, this worker's,
// with the crawl's own numbers after it.
func finishRedis(stderr io.Writer, opts *options, client *redisClient, out *redisOutput, archive *store.WARC,
	stats crawler.Stats, runErr error, sig int32) int {
	if runErr != nil && errors.Is(runErr, context.Canceled) && sig != 0 {
		runErr = nil // the signal says it
	}
	if runErr != nil && stats.Records() == 0 && stats.FrontierDone == 0 && stats.Fetched == 0 {
		code := explainRedisRefusal(stderr, runErr, opts, client)
		if out != nil {
			out.discard()
		}
		return code
	}
	if !opts.quiet {
		printSummary(stderr, stats, sig != 0)
		printArchive(stderr, archive)
		fmt.Fprintf(stderr, "  crawl    %s: %d queued, %d in flight, %d done by all its workers\n", opts.redis.crawl, stats.Queued, stats.InFlight, stats.FrontierDone)
		if stats.StaleAcks > 0 {
			fmt.Fprintf(stderr, "  lapsed   %d URLs not recorded by this worker: their leases had lapsed, and other workers recorded them\n", stats.StaleAcks)
		}
		if out != nil {
			fmt.Fprintf(stderr, "  output   %s: the crawl's records exported so far (other workers' included)\n", opts.output)
		}
	}
	if runErr != nil {
		if errors.Is(runErr, redis.ErrOutputNotEmpty) {
			fmt.Fprintf(stderr, "trawl: -o %s already holds data that crawl %s did not export to it: use --overwrite to replace it, or give another -o FILE\n", opts.output, opts.redis.crawl)
			return exitUsage
		}
		fmt.Fprintf(stderr, "trawl: %v\n", cleanError(runErr))
		return exitFailure
	}
	if sig != 0 {
		return 128 + int(sig)
	}
	return exitOK
}

// explainRedisRefusal prints why a worker could not start, in one line
// (a mismatch with the crawl's settings as a --state mismatch is
// printed), and returns the exit code.
func explainRedisRefusal(w io.Writer, err error, opts *options, client *redisClient) int {
	var mismatch *crawler.MismatchError
	switch {
	case errors.As(err, &mismatch):
		printMismatch(w, mismatch, "--crawl "+opts.redis.crawl, "--crawl NAME")
		return exitUsage
	case errors.Is(err, redis.ErrOutputNotEmpty):
		fmt.Fprintf(w, "trawl: -o %s already holds data that crawl %s did not export to it: use --overwrite to replace it, or give another -o FILE\n", opts.output, opts.redis.crawl)
		return exitUsage
	case errors.Is(err, redis.ErrBadName):
		fmt.Fprintf(w, "trawl: %s\n", detailAfter(err, redis.ErrBadName))
		return exitUsage
	case errors.Is(err, redis.ErrSchema), errors.Is(err, redis.ErrUnreachable):
		fmt.Fprintf(w, "trawl: %v\n", client.explain(err, opts.redis.crawl))
		return exitFailure
	}
	fmt.Fprintf(w, "trawl: %s\n", cleanError(err))
	return exitFailure
}

// redisProgressLine is the status line of a worker, e.g.
//
//	120 pages  3.9/s  0 errors  31s | crawl big: 40 queued  2 in flight  500 done | Crawl-delay on 3 hosts (up to 1s)
func redisProgressLine(s crawler.Stats, crawl string, now time.Time) string {
	line := fmt.Sprintf("%d pages  %.1f/s  %d errors  %s | crawl %s: %d queued  %d in flight  %d done",
		s.Fetched, s.PagesPerSecond(), s.Errors, s.Elapsed.Round(time.Second), crawl, s.Queued, s.InFlight, s.FrontierDone)
	if full := progressLine(s, now); strings.Contains(full, " | ") {
		line += full[strings.Index(full, " | "):] // what politeness holds back
	}
	return line
}

// runRedisState is "trawl state --redis URL --crawl NAME": what a crawl
// on Redis holds, read without joining it.
func runRedisState(args []string, stdout, stderr io.Writer) int {
	var o redisOptions
	fs := pflag.NewFlagSet("trawl state", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.url, "redis", "", "")
	fs.StringVar(&o.crawl, "crawl", "", "")
	if err := fs.Parse(args); err != nil || len(fs.Args()) > 0 || o.url == "" || o.crawl == "" {
		fmt.Fprintln(stderr, "trawl: usage: trawl state --redis URL --crawl NAME (see trawl help state)")
		return exitUsage
	}
	ctx := context.Background()
	client, err := dialRedis(ctx, o.url)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	defer client.Close()
	st, err := client.inspect(ctx, o.crawl, false, "")
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return redisExit(err)
	}
	pending, err := redis.Pending(ctx, client, o.crawl)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", client.explain(err, o.crawl))
		return redisExit(err)
	}
	printRedisState(stdout, client.url, st, pending)
	return exitOK
}

// printRedisState prints a crawl's status, as trawl state does a saved
// crawl's.
func printRedisState(w io.Writer, url string, st redis.Status, pending map[string]int64) {
	now := st.Now
	if now.IsZero() {
		now = time.Now()
	}
	since := func(t time.Time) time.Duration { return now.Sub(t).Round(time.Second) }
	fmt.Fprintf(w, "crawl    %s on %s, as of %s\n", st.Crawl, url, now.Local().Format(time.TimeOnly))
	if m, err := crawler.ParseCrawlMeta(st.Meta); err == nil {
		printCrawl(w, &crawler.State{Crawl: m.Crawl})
		fmt.Fprintf(w, "started  %s (%s ago)\n", m.Started.Format(time.RFC3339), since(m.Started))
	} else if st.Meta == nil {
		fmt.Fprintln(w, "seeds    none yet: no worker has joined")
	}
	fs := st.Frontier
	fmt.Fprintf(w, "urls     %d seen, %d queued, %d in flight, %d done (%d failed, %d skipped), %d retries\n",
		fs.Seen, fs.Queued, fs.InFlight, fs.Done, st.Failed, st.Skipped, fs.Retries)
	if st.QueueFull > 0 {
		fmt.Fprintf(w, "         %d refused: their host's queue was full (recorded as skipped %s)\n", st.QueueFull, redis.SkipQueueFull)
	}
	fmt.Fprintf(w, "outbox   %d records waiting for an export\n", st.Outbox)
	names := slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, m := range []map[string]int64{st.Exported, pending} {
			for n := range m {
				if !seen[n] && !yield(n) {
					return
				}
				seen[n] = true
			}
		}
	})
	for _, n := range names {
		line := fmt.Sprintf("exported %s: %d bytes committed", n, st.Exported[n])
		if p := pending[n]; p > 0 {
			line += fmt.Sprintf(", %d records taken and not committed (the next export under this name takes them again)", p)
		}
		fmt.Fprintln(w, line)
	}
	if len(names) == 0 {
		fmt.Fprintln(w, "exported nothing yet")
	}
	fmt.Fprintf(w, "hosts    %d with work left\n", fs.Hosts)
	if len(st.Hosts) > 0 {
		width := len("host")
		for _, h := range st.Hosts {
			width = max(width, len(h.Host))
		}
		fmt.Fprintf(w, "  %-*s  %8s  %9s  %s\n", width, "host", "queued", "in flight", "next allowed")
		for _, h := range st.Hosts {
			next := "now"
			if d := h.NextAllowed.Sub(now); d > 0 {
				next = "in " + roundWait(d).String()
			}
			fmt.Fprintf(w, "  %-*s  %8d  %9d  %s\n", width, h.Host, h.Queued, h.InFlight, next)
		}
	}
	fmt.Fprintf(w, "workers  %d alive\n", len(st.Workers))
	for _, wk := range st.Workers {
		fmt.Fprintf(w, "  %s  last seen %s ago, %d leases\n", wk.Name, since(wk.LastSeen), wk.InFlight)
	}
}
