package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"trawl/crawler/bench"
	"trawl/store/redis"
)

const benchUsageText = `trawl bench: crawl a generated site on loopback and measure.

Usage:
  trawl bench [flags]                  serve the site in-process and crawl it
  trawl bench --serve 127.0.0.1:PORT   only serve the site, until Ctrl-C
  trawl bench --site 127.0.0.1:PORT    crawl a site started with --serve
  trawl bench --redis URL --workers N  crawl it with N trawl processes sharing
                                       one crawl on Redis (--site optional)

The crawl uses the real pipeline with politeness off, checks that every page
was fetched exactly once (exit status 1 if not), and reports pages/s, MB/s,
CPU, allocations and peak RSS, next to a bare net/http loop and a parse-only
pass. Give --serve and --site the same site flags. To pin each side to a core:
  taskset -c 1 trawl bench --serve 127.0.0.1:18080 &
  taskset -c 0 trawl bench --site 127.0.0.1:18080

With --redis URL, the bench starts --workers copies of itself, each running
"trawl --redis URL --crawl NAME -o FILE" with -c and --per-host set to
--concurrency, politeness off as above, on a fresh crawl NAME; it reports
pages/s from the first start to the last exit, the workers' CPU, and the
Redis server's CPU, memory and script calls (round trips) per page, from
its INFO before and after (use a server of its own). For example:
  trawl bench --serve 127.0.0.1:18080 --hosts 10 --latency 20ms &
  trawl bench --site 127.0.0.1:18080 --hosts 10 --latency 20ms -c 8 \
              --redis redis://127.0.0.1:6379/0 --workers 4

Flags:
`

// benchOptions are the parsed "trawl bench" command line.
type benchOptions struct {
	o       bench.Options
	serve   string
	json    bool
	redis   string // --redis: measure worker processes sharing a crawl on this server
	workers int    // --workers, with --redis
}

// runBench is the "trawl bench" command, with its exit code.
func runBench(args []string, stdout, stderr io.Writer) int {
	bo, err := parseBenchArgs(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "trawl bench: %v (see trawl bench --help)\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if bo.serve != "" {
		srv, err := bench.Serve(ctx, bo.serve, bo.o)
		if err != nil {
			fmt.Fprintf(stderr, "trawl bench: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(stderr, "trawl bench: serving the synthetic site on %s until interrupted (%s)\n", srv.Addr(), siteFlags(bo.o))
		if err := srv.Wait(); err != nil {
			fmt.Fprintf(stderr, "trawl bench: %v\n", err)
			return exitFailure
		}
		return exitOK
	}

	if bo.redis != "" {
		return runBenchWorkers(ctx, bo, stdout, stderr)
	}
	res, err := bench.Run(ctx, bo.o)
	if err != nil {
		return benchFailed(ctx, stderr, err)
	}
	return printBench(res, res.Verify, bo.json, stdout, stderr)
}

// benchFailed reports a bench that failed, and returns its exit code:
// interrupted when ctx ended (Ctrl-C), else failure.
func benchFailed(ctx context.Context, stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "trawl bench: %v\n", err)
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitFailure
}

// runBenchWorkers is "trawl bench --redis URL --workers N", with its
// exit code.
func runBenchWorkers(ctx context.Context, bo *benchOptions, stdout, stderr io.Writer) int {
	client, err := dialRedis(ctx, bo.redis)
	if err != nil {
		fmt.Fprintf(stderr, "trawl bench: %v\n", err)
		return exitFailure
	}
	defer client.Close()
	res, err := bench.RunWorkers(ctx, bench.WorkersOptions{
		Options: bo.o,
		Redis:   bo.redis,
		Workers: bo.workers,
		Info: func(ctx context.Context, section string) (string, error) {
			return client.Info(ctx, section).Result()
		},
	})
	if err != nil {
		return benchFailed(ctx, stderr, err)
	}
	return printBench(res, res.Verify, bo.json, stdout, stderr)
}

// printBench prints a benchmark's result, as JSON with --json, and
// returns the exit code: a failure when its verification failed.
func printBench(res interface{ WriteText(io.Writer) }, v bench.Verification, asJSON bool, stdout, stderr io.Writer) int {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "trawl bench: %v\n", err)
			return exitFailure
		}
	} else {
		res.WriteText(stdout)
	}
	if !v.OK {
		fmt.Fprintf(stderr, "trawl bench: verification failed: %s\n", v)
		return exitFailure
	}
	return exitOK
}

// siteFlags spells the site options of o as flags.
func siteFlags(o bench.Options) string {
	return fmt.Sprintf("--pages %d --links %d --size %d --hosts %d --seed %d --latency %v",
		o.Pages, o.Links, o.Size, o.Hosts, o.Seed, o.Latency)
}

// parseBenchArgs turns the "trawl bench" command line into options.
// Errors are one line.
func parseBenchArgs(args []string, stderr io.Writer) (*benchOptions, error) {
	bo := &benchOptions{}
	o := &bo.o
	fs := pflag.NewFlagSet("trawl bench", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.IntVar(&o.Pages, "pages", bench.DefaultPages, "pages in the generated site")
	fs.IntVar(&o.Links, "links", bench.DefaultLinks, "links per page")
	fs.IntVar(&o.Size, "size", bench.DefaultSize, "approximate bytes per page")
	fs.IntVar(&o.Hosts, "hosts", bench.DefaultHosts, "host names the pages are spread over (h0.bench.test, ...)")
	fs.Int64Var(&o.Seed, "seed", bench.DefaultSeed, "seed of the generated links and text")
	fs.DurationVar(&o.Latency, "latency", 0, "the site waits this long before every response (e.g. 5ms)")
	fs.IntVarP(&o.Concurrency, "concurrency", "c", bench.DefaultConcurrency, "crawler workers and per-host connections; the bare loop's connections")
	fs.StringVar(&o.Site, "site", "", "crawl the site served by \"trawl bench --serve\" at `ADDR` (127.0.0.1:PORT)")
	fs.StringVar(&bo.serve, "serve", "", "only serve the site on `ADDR` (127.0.0.1:PORT) until interrupted")
	fs.BoolVar(&o.State, "state", false, "keep the crawl's state on disk as --state does, records to a JSONL file, and compare with the same crawl in memory")
	fs.BoolVar(&o.WARC, "warc", false, "archive every request and response as --warc does, to a temporary directory, and compare with the same crawl without it")
	fs.IntVar(&o.WARCGzipLevel, "warc-gzip-level", 1, "with --warc: the gzip `LEVEL` of the records, as for a crawl")
	fs.BoolVar(&o.JSONL, "jsonl", false, "write the records to a JSON Lines file, as -o out.jsonl does (in a temporary directory), instead of only counting them")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write the measured crawl's CPU profile to `FILE`, for go tool pprof")
	fs.BoolVar(&o.Baselines, "baselines", true, "also measure the bare net/http loop and the parse-only pass (--baselines=false to skip; not with --redis)")
	fs.StringVar(&bo.redis, "redis", "", "crawl with --workers trawl processes sharing one crawl on the Redis server at `URL` (redis://HOST:PORT/DB)")
	fs.IntVar(&bo.workers, "workers", 1, "with --redis: the number of worker processes")
	fs.BoolVar(&bo.json, "json", false, "print the result as JSON")
	fs.BoolP("help", "h", false, "show this help")
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsageText+strings.ReplaceAll(fs.FlagUsages(), "[=true|false]", "             "))
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
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--pages", o.Pages}, {"--links", o.Links}, {"--size", o.Size}, {"--hosts", o.Hosts}, {"--concurrency", o.Concurrency}} {
		if f.v < 1 {
			return nil, fmt.Errorf("%s %d must be at least 1", f.name, f.v)
		}
	}
	if o.Seed == 0 {
		return nil, errors.New("--seed 0: pick a non-zero seed (0 means the default, 1)")
	}
	if o.Latency < 0 {
		return nil, fmt.Errorf("--latency %v is negative", o.Latency)
	}
	if bo.serve != "" && o.Site != "" {
		return nil, errors.New("--serve and --site exclude each other: run one process of each")
	}
	switch {
	case bo.redis == "" && fs.Changed("workers"):
		return nil, errors.New("--workers needs --redis URL: the workers share their crawl on Redis")
	case bo.redis == "":
	case bo.workers < 1:
		return nil, fmt.Errorf("--workers %d must be at least 1", bo.workers)
	case bo.serve != "":
		return nil, errors.New("--redis with --serve: serve the site in one process and give --redis to the one with --site")
	case o.State || o.WARC:
		return nil, errors.New("--redis with --state or --warc: they are measured in one process, without --redis")
	case fs.Changed("baselines") && o.Baselines:
		return nil, errors.New("--redis with --baselines: the baselines are measured in one process, without --redis")
	default:
		o.Baselines = false
		if err := redis.CheckURL(bo.redis); err != nil {
			return nil, fmt.Errorf("--redis %q: %v", bo.redis, err)
		}
	}
	for _, f := range []struct{ name, addr string }{{"--serve", bo.serve}, {"--site", o.Site}} {
		if f.addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(f.addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("%s %q: want a loopback address like 127.0.0.1:18080", f.name, f.addr)
		}
	}
	return bo, nil
}
