package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"trawl/store/redis"
)

// This file is trawl export: it takes the records of a crawl on Redis
// from the crawl's outbox into a file, as a worker's -o does, exactly
// once across every output of the crawl.

const exportUsageText = `trawl export: take a Redis crawl's records into a file.

Usage:
  trawl export --redis URL --crawl NAME -o FILE [--format jsonl|csv]
               [--name NAME] [--follow] [--overwrite]

The workers of a crawl on Redis (trawl --redis URL --crawl NAME) keep each
URL's record in the crawl's outbox; a worker with -o FILE moves them into
its file as it crawls. trawl export does the same without crawling: the
records it takes are in FILE and in no other output of the crawl.

It returns once nothing is left to take; with --follow it goes on until the
crawl is finished (nothing queued, nothing in flight) and every record is
taken, or until SIGINT or SIGTERM. Run it again on the same FILE to go on:
FILE is first cut back to the last records the export committed, so a
killed export loses and duplicates nothing.

FILE is named to the crawl by --name, by default this host's name and the
file's absolute path, as a worker's -o FILE is: a worker and trawl export
on the same FILE continue the same output. A FILE that holds data the crawl
did not export to it is refused, unless --overwrite empties it.

Flags:
`

// exportOptions are the flags of trawl export.
type exportOptions struct {
	redis, crawl, output, format, name string
	follow, overwrite, quiet           bool
}

// followEvery is how often export --follow looks whether the crawl is
// finished.
var followEvery = time.Second

// runExport is "trawl export": it moves the crawl's records into -o FILE.
func runExport(args []string, stdout, stderr io.Writer) int {
	var o exportOptions
	fs := pflag.NewFlagSet("trawl export", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&o.redis, "redis", "", "the crawl's Redis server, at `URL` redis://HOST:PORT/DB")
	fs.StringVar(&o.crawl, "crawl", "", "the crawl's `NAME`")
	fs.StringVarP(&o.output, "output", "o", "", "write the records to `FILE`; its folder must exist")
	fs.StringVar(&o.format, "format", "", "output `FORMAT`: jsonl or csv (default: from the -o extension, else jsonl)")
	fs.StringVar(&o.name, "name", "", "the `NAME` FILE is exported under (default: HOST:ABSOLUTE-PATH of FILE)")
	fs.BoolVar(&o.follow, "follow", false, "keep taking records until the crawl is finished (nothing queued or in flight) and all are taken")
	fs.BoolVar(&o.overwrite, "overwrite", false, "empty a FILE that holds data the crawl did not export to it")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no summary on stderr")
	fs.BoolP("help", "h", false, "show this help")
	if wantsHelp(args) {
		fmt.Fprint(stdout, exportUsageText+strings.ReplaceAll(fs.FlagUsages(), "[=true|false]", "             "))
		return exitOK
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "trawl: export: %v (see trawl help export)\n", err)
		return exitUsage
	}
	if err := o.check(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "trawl: export: %v (see trawl help export)\n", err)
		return exitUsage
	}
	if err := checkPaths(o.output, "", "", ""); err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitUsage
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	client, err := dialRedis(ctx, o.redis)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return exitFailure
	}
	defer client.Close()
	before, err := client.inspect(ctx, o.crawl, false, "")
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		return redisExit(err)
	}
	if o.name == "" {
		if o.name, err = exportName(o.output); err != nil {
			fmt.Fprintf(stderr, "trawl: %v\n", err)
			return exitFailure
		}
	}
	out, err := openRedisOutput(o.output, o.format, o.name, before, o.overwrite)
	if err != nil {
		fmt.Fprintf(stderr, "trawl: %v\n", err)
		if errors.Is(err, redis.ErrOutputNotEmpty) {
			return exitUsage
		}
		return exitFailure
	}
	defer out.Close()

	sig := handleSignals(ctx, stop, stderr)
	var done chan struct{} // nil: stop at once
	var wg sync.WaitGroup
	if o.follow {
		done = make(chan struct{})
		wg.Go(func() { waitFinished(ctx, client, o.crawl, done) })
	}
	runErr := redis.Export(ctx, client, o.crawl, o.name, out.sink, done)
	stop() // ends waitFinished
	wg.Wait()
	if errors.Is(runErr, context.Canceled) && sig.Load() != 0 {
		runErr = nil // the signal says it
	}
	if runErr != nil {
		if errors.Is(runErr, redis.ErrOutputNotEmpty) {
			fmt.Fprintf(stderr, "trawl: -o %s already holds data that crawl %s did not export to it: use --overwrite to replace it, or give another -o FILE\n", o.output, o.crawl)
			out.discard()
			return exitUsage
		}
		fmt.Fprintf(stderr, "trawl: export: %v\n", cleanError(client.explain(runErr, o.crawl)))
		out.discard()
		return exitFailure
	}
	if !o.quiet {
		after, err := client.inspect(context.Background(), o.crawl, false, "")
		if err == nil {
			a, b := after.Exported[o.name], before.Exported[o.name]
			fmt.Fprintf(stderr, "trawl: exported crawl %s into %s (as %s): %s added, %s in all; %d records left in the outbox\n",
				o.crawl, o.output, o.name, humanBytes(a-b), humanBytes(a), after.Outbox)
		}
	}
	if s := sig.Load(); s != 0 {
		return 128 + int(s)
	}
	return exitOK
}

// check refuses missing and conflicting flags of trawl export.
func (o *exportOptions) check(args []string) error {
	switch {
	case len(args) > 0:
		return fmt.Errorf("takes no argument (got %q)", args[0])
	case o.redis == "":
		return errors.New("needs --redis URL")
	case o.crawl == "":
		return errors.New("needs --crawl NAME")
	case o.output == "":
		return errors.New("needs -o FILE")
	case o.output == "-":
		return errors.New("-o -: records are exported exactly once into a file that can be cut back to its last commit, and stdout cannot; give -o FILE")
	}
	switch o.format {
	case "":
		o.format = "jsonl"
		if strings.EqualFold(filepath.Ext(o.output), ".csv") {
			o.format = "csv"
		}
	case "jsonl", "csv":
	default:
		return fmt.Errorf("--format %q: want jsonl or csv", o.format)
	}
	return nil
}

// waitFinished closes done once the crawl has nothing queued and nothing
// in flight, looking every followEvery, or returns when ctx ends. A
// failure to read the crawl is not the export's: it looks again.
func waitFinished(ctx context.Context, c *redisClient, crawl string, done chan<- struct{}) {
	t := time.NewTicker(followEvery)
	defer t.Stop()
	for {
		if st, err := redis.Inspect(ctx, c, crawl); err == nil && st.Frontier.Queued == 0 && st.Frontier.InFlight == 0 {
			close(done)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
