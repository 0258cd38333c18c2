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
)

const benchUsageText = `trawl bench: crawl a generated site on loopback and measure.

Usage:
  trawl bench [flags]                  serve the site in-process and crawl it
  trawl bench --serve 127.0.0.1:PORT   only serve the site, until Ctrl-C
  trawl bench --site 127.0.0.1:PORT    crawl a site started with --serve

The crawl uses the real pipeline with politeness off, checks that every page
was fetched exactly once (exit status 1 if not), and reports pages/s, MB/s,
CPU, allocations and peak RSS, next to a bare net/http loop and a parse-only
pass. Give --serve and --site the same site flags. To pin each side to a core:
  taskset -c 1 trawl bench --serve 127.0.0.1:18080 &
  taskset -c 0 trawl bench --site 127.0.0.1:18080

Flags:
`

// benchOptions are the parsed "trawl bench" command line.
type benchOptions struct {
	o     bench.Options
	serve string
	json  bool
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

	res, err := bench.Run(ctx, bo.o)
	if err != nil {
		fmt.Fprintf(stderr, "trawl bench: %v\n", err)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitFailure
	}
	if bo.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "trawl bench: %v\n", err)
			return exitFailure
		}
	} else {
		res.WriteText(stdout)
	}
	if !res.Verify.OK {
		fmt.Fprintf(stderr, "trawl bench: verification failed: %s\n", res.Verify)
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
	fs.BoolVar(&o.Baselines, "baselines", true, "also measure the bare net/http loop and the parse-only pass (--baselines=false to skip)")
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
