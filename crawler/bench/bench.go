// Package bench is trawl's reproducible crawl benchmark: it serves a
// deterministic synthetic site (fixtures.Synthetic) on loopback, crawls it
// with the real crawler pipeline and politeness switched off, verifies that
// every page was fetched exactly once, and measures throughput, CPU,
// allocations and peak memory, next to two limits measured in the same
// process: a bare net/http fetch loop and a parse-only pass.
//
// Run is the entry point; Serve runs the site alone, so the crawler and the
// site can be pinned to different cores and Run pointed at it with
// Options.Site. "trawl bench" is the command-line front end.
package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
	"trawl/store/disk"
)

// Defaults used when the matching Options field is zero.
const (
	DefaultPages       = 20_000
	DefaultLinks       = 20
	DefaultSize        = 10_000
	DefaultHosts       = 4
	DefaultSeed        = 1
	DefaultConcurrency = 16
)

// Options describe one benchmark run. The zero value is the standard run:
// 20,000 pages of about 10,000 bytes with 20 links each on 4 hosts, seed 1,
// no latency, 16 connections, the site served in-process, no baselines.
type Options struct {
	// The synthetic site (see fixtures.Synthetic). Zero means the
	// Default* constant; negative values are an error.
	Pages int   `json:"pages"`
	Links int   `json:"links"`
	Size  int   `json:"size"`
	Hosts int   `json:"hosts"`
	Seed  int64 `json:"seed"` // zero means DefaultSeed
	// Latency is waited by the site before every response. Zero means none.
	Latency time.Duration `json:"latency_ns"`

	// Concurrency is the crawler's workers and per-host limit, and the
	// bare loop's connections. Zero means DefaultConcurrency.
	Concurrency int `json:"concurrency"`
	// Site, if set, is the "127.0.0.1:PORT" of a site started with Serve
	// with the same site options; Run crawls it instead of serving its own.
	// Only loopback IP addresses are accepted. Empty means in-process.
	Site string `json:"site,omitempty"`
	// Baselines also runs, after the crawl, the bare net/http loop and the
	// parse-only pass.
	Baselines bool `json:"baselines"`
	// State keeps the crawl's state on disk, as the command line's --state
	// does: a disk.Frontier and a JSON Lines output file (a store.File) in a
	// temporary directory (under $TMPDIR), removed afterwards. The same
	// crawl with the in-memory frontier and the same output is measured
	// first, as Result.Memory.
	State bool `json:"state"`
	// WARC archives every request and response to WARC files in a
	// temporary directory (under $TMPDIR, removed afterwards), as the
	// command line's --warc does. The same crawl without the archive is
	// measured first, as Result.NoWARC. It cannot be combined with State.
	WARC bool `json:"warc"`
	// WARCGzipLevel is the archive's store.WARCOptions.GzipLevel.
	WARCGzipLevel int `json:"warc_gzip_level,omitempty"`
	// JSONL writes the records to a JSON Lines file (a store.File in a
	// temporary directory under $TMPDIR, removed afterwards), as -o
	// out.jsonl does, instead of only counting them. State implies it.
	JSONL bool `json:"jsonl,omitempty"`
	// CPUProfile, if set, is the file to which the measured crawl's CPU
	// profile is written (runtime/pprof), for "go tool pprof": the crawl
	// only, not the site in the same process, the comparison crawls or
	// the baselines.
	CPUProfile string `json:"cpuprofile,omitempty"`

	dupPage int // test hook: page dupPage-1 counts every hit twice; 0 means none
}

// withDefaults returns o with zero fields replaced by their defaults, or
// an error naming the invalid fields.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"pages", &o.Pages, DefaultPages},
		{"links", &o.Links, DefaultLinks},
		{"size", &o.Size, DefaultSize},
		{"hosts", &o.Hosts, DefaultHosts},
		{"concurrency", &o.Concurrency, DefaultConcurrency},
	} {
		switch {
		case *f.v < 0:
			errs = append(errs, fmt.Errorf("%s %d is negative", f.name, *f.v))
		case *f.v == 0:
			*f.v = f.def
		}
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v is negative", o.Latency))
	}
	if o.State && o.WARC {
		errs = append(errs, errors.New("state and warc are measured one at a time"))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("bench: options: %w", err)
	}
	return o, nil
}

// synthetic returns the site o describes (defaults applied).
func (o Options) synthetic() fixtures.Synthetic {
	return fixtures.Synthetic{Pages: o.Pages, Links: o.Links, Size: o.Size, Hosts: o.Hosts, Seed: o.Seed, Latency: o.Latency}
}

// Result is what Run measured. Rates are per second of wall-clock time;
// MB is 10^6 bytes.
type Result struct {
	Options  Options `json:"options"`   // as run, defaults applied
	SiteAddr string  `json:"site_addr"` // where the site was served
	// InProcess is true when the site ran in this process, so its CPU
	// time, allocations and memory are included in the figures below.
	InProcess  bool   `json:"in_process"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"` // CPUs usable by this process (runtime.NumCPU: affinity counts)
	GoVersion  string `json:"go_version"`

	Pages       int64         `json:"pages"`   // URLs fetched (crawler.Stats.Fetched)
	Records     int64         `json:"records"` // records the sink received
	Bytes       int64         `json:"bytes"`   // decoded body bytes (crawler.Stats.Bytes)
	Elapsed     time.Duration `json:"elapsed_ns"`
	PagesPerSec float64       `json:"pages_per_sec"`
	MBPerSec    float64       `json:"mb_per_sec"`

	// CPU is this process's user+system CPU time (getrusage) during the
	// crawl; CPUPer1000 is in seconds per 1,000 pages.
	CPU        time.Duration `json:"cpu_ns"`
	CPUPer1000 float64       `json:"cpu_sec_per_1000_pages"`

	// Allocations during the crawl (runtime.MemStats deltas), in all and
	// per page.
	Allocs            uint64  `json:"allocs"`
	AllocBytes        uint64  `json:"alloc_bytes"`
	AllocsPerPage     float64 `json:"allocs_per_page"`
	AllocBytesPerPage float64 `json:"alloc_bytes_per_page"`

	// PeakRSS is VmHWM in bytes after the crawl, zero if unknown.
	// PeakRSSReset says the high-water mark was reset just before the
	// crawl; when false, PeakRSS is the process's peak since it started.
	PeakRSS      int64 `json:"peak_rss"`
	PeakRSSReset bool  `json:"peak_rss_reset"`

	// Verify is the check that the crawl fetched every page exactly once.
	Verify Verification `json:"verify"`

	// The limits, measured after the crawl when Options.Baselines is set;
	// nil otherwise.
	Bare  *Baseline `json:"bare,omitempty"`  // bare net/http loop, no parsing
	Parse *Baseline `json:"parse,omitempty"` // parse.HTML alone on one goroutine, no fetching
	// Memory is, with Options.State, the same crawl and output with the
	// in-memory frontier; nil otherwise.
	Memory *Baseline `json:"memory,omitempty"`
	// NoWARC is, with Options.WARC, the same crawl without the archive;
	// nil otherwise. WARCBytes is what the archive's files hold.
	NoWARC    *Baseline `json:"no_warc,omitempty"`
	WARCBytes int64     `json:"warc_bytes,omitempty"`
}

// Baseline is one limit the crawl is compared with.
type Baseline struct {
	Pages       int64         `json:"pages"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	PagesPerSec float64       `json:"pages_per_sec"`
	CPUPer1000  float64       `json:"cpu_sec_per_1000_pages"`
	// Ratio is the crawl's pages/s divided by this baseline's.
	Ratio float64 `json:"ratio"`
}

// Verification is the outcome of checking, from the site's own request
// counts and from the crawl's records, that every page was fetched
// exactly once and none was missed.
type Verification struct {
	Pages      int   `json:"pages"`       // pages the site has
	Requested  int   `json:"requested"`   // distinct pages requested at least once
	Duplicates int64 `json:"duplicates"`  // requests beyond the first, summed over pages
	Missing    int   `json:"missing"`     // pages never requested
	Other      int64 `json:"other"`       // requests that named no page of the site (or the wrong host)
	Records    int   `json:"records"`     // pages with exactly one record, fetched with status 200
	BadRecords int64 `json:"bad_records"` // records that are not that: errors, skips, other statuses, repeats, unknown URLs
	OK         bool  `json:"ok"`
}

// String summarizes v in one line.
func (v Verification) String() string {
	verdict := "FAILED"
	if v.OK {
		verdict = "OK"
	}
	return fmt.Sprintf("%s: %d of %d pages requested (%d duplicate requests, %d missing, %d other requests); %d pages with one 200 record, %d bad records",
		verdict, v.Requested, v.Pages, v.Duplicates, v.Missing, v.Other, v.Records, v.BadRecords)
}

// check builds the Verification from the site's hit counts and the
// per-page counts of good records.
func check(h hitsInfo, records []uint32, bad int64) Verification {
	v := Verification{Pages: len(h.Hits), Other: h.Other, BadRecords: bad}
	for _, n := range h.Hits {
		switch {
		case n == 0:
			v.Missing++
		default:
			v.Requested++
			v.Duplicates += int64(n - 1)
		}
	}
	for _, n := range records {
		switch {
		case n == 1:
			v.Records++
		case n > 1:
			v.BadRecords += int64(n - 1)
		}
	}
	v.OK = v.Pages > 0 && v.Requested == v.Pages && v.Duplicates == 0 && v.Missing == 0 &&
		v.Other == 0 && v.Records == v.Pages && v.BadRecords == 0 && len(records) == v.Pages
	return v
}

// control reaches the hit counters of the site being crawled.
// openSite serves the site in this process, or, with o.Site, checks the
// one served there. cnt is the local counter, or one used only to map
// URLs to pages; addr is the site's address; closeSite stops what
// openSite started.
func openSite(ctx context.Context, o Options) (ctl control, cnt *counter, addr string, closeSite func(), err error) {
	if o.Site == "" {
		sctx, cancel := context.WithCancel(ctx)
		srv, err := Serve(sctx, "127.0.0.1:0", o)
		if err != nil {
			cancel()
			return nil, nil, "", nil, err
		}
		return local{srv.c}, srv.c, srv.Addr().String(), func() { cancel(); _ = srv.Wait() }, nil
	}
	if err := checkLoopback(o.Site, false); err != nil {
		return nil, nil, "", nil, fmt.Errorf("bench: site: %w", err)
	}
	r := newRemote(o.Site)
	if err := r.checkSite(ctx, o); err != nil {
		r.close()
		return nil, nil, "", nil, err
	}
	return r, newCounter(o), o.Site, r.close, nil
}

type control interface {
	reset(ctx context.Context) error
	hits(ctx context.Context) (hitsInfo, error)
}

// local is the control of a site served by this process.
type local struct{ c *counter }

func (l local) reset(context.Context) error            { l.c.reset(); return nil }
func (l local) hits(context.Context) (hitsInfo, error) { return l.c.snapshot(), nil }

// Run measures one crawl of the synthetic site described by o, then, if
// o.Baselines is set, the bare fetch loop and the parse-only pass. The
// crawl uses crawler.New with politeness off: no rate limit, robots.txt
// ignored, Concurrency connections to each host, domain scope. The site's
// hit counters are reset before each phase.
//
// A crawl that does not fetch every page exactly once is not an error: the
// Result's Verify says so. Run returns an error for bad options, a site it
// cannot reach or that serves different options, a failed crawl or
// baseline, or the end of ctx.
func Run(ctx context.Context, o Options) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	res := &Result{
		Options:    o,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		GoVersion:  runtime.Version(),
	}
	ctl, cnt, addr, closeSite, err := openSite(ctx, o)
	if err != nil {
		return nil, err
	}
	defer closeSite()
	res.SiteAddr, res.InProcess = addr, o.Site == ""

	if o.State {
		mem := &Result{Options: o, SiteAddr: res.SiteAddr}
		mem.Options.CPUProfile = "" // the measured crawl's only
		if err := crawl(ctx, mem.Options, mem, ctl, cnt, false); err != nil {
			return nil, err
		}
		if !mem.Verify.OK {
			return nil, fmt.Errorf("bench: the in-memory crawl: %s", mem.Verify)
		}
		res.Memory = &Baseline{Pages: mem.Pages, Elapsed: mem.Elapsed, PagesPerSec: mem.PagesPerSec, CPUPer1000: mem.CPUPer1000}
	}
	if o.WARC {
		plain := &Result{Options: o, SiteAddr: res.SiteAddr}
		plain.Options.WARC, plain.Options.CPUProfile = false, ""
		if err := crawl(ctx, plain.Options, plain, ctl, cnt, false); err != nil {
			return nil, err
		}
		if !plain.Verify.OK {
			return nil, fmt.Errorf("bench: the crawl without WARC: %s", plain.Verify)
		}
		res.NoWARC = &Baseline{Pages: plain.Pages, Elapsed: plain.Elapsed, PagesPerSec: plain.PagesPerSec, CPUPer1000: plain.CPUPer1000}
	}
	if err := crawl(ctx, o, res, ctl, cnt, o.State); err != nil {
		return nil, err
	}
	for _, b := range []*Baseline{res.Memory, res.NoWARC} {
		if b != nil && b.PagesPerSec > 0 {
			b.Ratio = res.PagesPerSec / b.PagesPerSec
		}
	}
	if !o.Baselines {
		return res, nil
	}
	if err := ctl.reset(ctx); err != nil {
		return nil, err
	}
	bare, err := bareLoop(ctx, o, res.SiteAddr)
	if err != nil {
		return nil, err
	}
	res.Bare = bare
	if res.Parse, err = parseOnly(ctx, o); err != nil {
		return nil, err
	}
	for _, b := range []*Baseline{res.Bare, res.Parse} {
		if b.PagesPerSec > 0 {
			b.Ratio = res.PagesPerSec / b.PagesPerSec
		}
	}
	return res, nil
}

// crawl runs the measured crawl and fills res. With Options.State it
// writes the records to a file, and with onDisk it keeps the state on disk
// too.
func crawl(ctx context.Context, o Options, res *Result, ctl control, cnt *counter, onDisk bool) error {
	site := o.synthetic()
	resolve := make(map[string]string, o.Hosts)
	for _, h := range site.HostNames() {
		resolve[h+":80"] = res.SiteAddr
	}
	good := make([]atomic.Uint32, o.Pages)
	var records, bad atomic.Int64
	count := func(r store.Record) {
		records.Add(1)
		i, ok := cnt.pageOfURL(r.URL)
		if !ok || r.Status != http.StatusOK || r.Error != "" || r.Skipped != "" || r.FinalURL != "" {
			bad.Add(1)
			return
		}
		good[i].Add(1)
	}
	cfg := crawler.Config{
		Concurrency:  o.Concurrency,
		PerHost:      o.Concurrency,
		Rate:         -1,
		IgnoreRobots: true,
		NoSitemaps:   true, // the site has none: its probes would be the only requests that are not pages
		Scope:        crawler.ScopeDomain,
		Resolve:      resolve,
		Sink: crawler.SinkFunc(func(_ context.Context, r store.Record) error {
			count(r)
			return nil
		}),
	}
	if o.State || o.JSONL {
		dir, err := os.MkdirTemp("", "trawl-bench-")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		f, err := store.OpenFile(filepath.Join(dir, "out.jsonl"))
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		out := store.NewJSONL(f)
		defer out.Flush()
		cfg.Sink = countingSink{out, count}
		if onDisk {
			cfg.NewFrontier = func(opts store.FrontierOptions) (crawler.Frontier, error) {
				return disk.Open(filepath.Join(dir, "state"), disk.Options{FrontierOptions: opts})
			}
		}
	}
	var archive *store.WARC
	if o.WARC {
		dir, err := os.MkdirTemp("", "trawl-bench-warc-")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		if archive, err = store.OpenWARC(filepath.Join(dir, "bench.warc.gz"), store.WARCOptions{GzipLevel: o.WARCGzipLevel}); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer archive.Close()
		cfg.Archive = archive
	}
	c, err := crawler.New(cfg)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := ctl.reset(ctx); err != nil {
		return err
	}

	runtime.GC()
	debug.FreeOSMemory()
	res.PeakRSSReset = resetPeakRSS()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	stopProfile := func() error { return nil }
	if o.CPUProfile != "" {
		if stopProfile, err = StartCPUProfile(o.CPUProfile); err != nil {
			return fmt.Errorf("bench: cpu profile: %w", err)
		}
	}
	cpu0 := cpuTime()
	start := time.Now()
	stats, err := c.Run(ctx, site.Root())
	res.Elapsed = time.Since(start)
	res.CPU = cpuTime() - cpu0
	if perr := stopProfile(); perr != nil && err == nil {
		err = perr
	}
	runtime.ReadMemStats(&m1)
	res.PeakRSS = peakRSS()
	if err != nil {
		return fmt.Errorf("bench: crawl: %w", err)
	}

	res.Pages, res.Records, res.Bytes = stats.Fetched, records.Load(), stats.Bytes
	if archive != nil {
		if err := archive.Close(); err != nil {
			return fmt.Errorf("bench: warc: %w", err)
		}
		for _, f := range archive.Files() {
			if fi, err := os.Stat(f); err == nil {
				res.WARCBytes += fi.Size()
			}
		}
	}
	res.Allocs, res.AllocBytes = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	if s := res.Elapsed.Seconds(); s > 0 {
		res.PagesPerSec = float64(res.Pages) / s
		res.MBPerSec = float64(res.Bytes) / 1e6 / s
	}
	if res.Pages > 0 {
		n := float64(res.Pages)
		res.CPUPer1000 = res.CPU.Seconds() * 1000 / n
		res.AllocsPerPage = float64(res.Allocs) / n
		res.AllocBytesPerPage = float64(res.AllocBytes) / n
	}

	h, err := ctl.hits(ctx)
	if err != nil {
		return err
	}
	if len(h.Hits) != o.Pages {
		return fmt.Errorf("bench: site at %s reports %d pages, want %d", res.SiteAddr, len(h.Hits), o.Pages)
	}
	per := make([]uint32, o.Pages)
	for i := range good {
		per[i] = good[i].Load()
	}
	res.Verify = check(h, per, bad.Load())
	return nil
}

// countingSink counts each record on its way into a JSONL output, which
// stays a crawler.SyncSink.
type countingSink struct {
	*store.JSONL
	count func(store.Record)
}

func (s countingSink) Put(ctx context.Context, r store.Record) error {
	s.count(r)
	return s.JSONL.Put(ctx, r)
}

// describe returns the one-line description of the run's setup.
func (r *Result) describe() string {
	o := r.Options
	where := "served by another process"
	if r.InProcess {
		where = "served in-process (its CPU and memory are counted below)"
	}
	state := ""
	if o.State {
		state = "; state on disk, records to a JSONL file"
	}
	if o.WARC {
		level := cmp.Or(o.WARCGzipLevel, 1) // store.WARCOptions' default
		state = fmt.Sprintf("; every exchange archived to WARC (gzip level %d)", level)
	}
	return fmt.Sprintf("%d pages x %d links x %d B on %d hosts, seed %d, latency %v; %d connections%s; site %s %s",
		o.Pages, o.Links, o.Size, o.Hosts, o.Seed, o.Latency, o.Concurrency, state, r.SiteAddr, where)
}

// WriteText writes r as a small human-readable table. Write errors are
// ignored: w is usually a terminal.
func (r *Result) WriteText(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "trawl bench: %s\n", r.describe())
	fmt.Fprintf(&b, "  machine     %d CPUs usable by this process, GOMAXPROCS %d, %s\n", r.NumCPU, r.GOMAXPROCS, r.GoVersion)
	fmt.Fprintf(&b, "  crawl       %d pages in %v: %.0f pages/s, %.1f MB/s\n",
		r.Pages, r.Elapsed.Round(time.Millisecond), r.PagesPerSec, r.MBPerSec)
	fmt.Fprintf(&b, "  cpu         %.3f s per 1000 pages (user+sys, %v in all)\n", r.CPUPer1000, r.CPU.Round(time.Millisecond))
	fmt.Fprintf(&b, "  allocations %.0f allocs/page, %.1f KB/page\n", r.AllocsPerPage, r.AllocBytesPerPage/1e3)
	switch {
	case r.PeakRSS == 0:
		fmt.Fprintf(&b, "  peak RSS    unknown\n")
	case r.PeakRSSReset:
		fmt.Fprintf(&b, "  peak RSS    %.1f MB (high-water mark reset at the start of the crawl)\n", float64(r.PeakRSS)/1e6)
	default:
		fmt.Fprintf(&b, "  peak RSS    %.1f MB (process peak: could not reset the high-water mark)\n", float64(r.PeakRSS)/1e6)
	}
	fmt.Fprintf(&b, "  verified    %s\n", r.Verify)
	if r.Options.WARC && r.Pages > 0 {
		fmt.Fprintf(&b, "  warc        %.1f MB, %.0f bytes per page\n", float64(r.WARCBytes)/1e6, float64(r.WARCBytes)/float64(r.Pages))
	}
	for _, bl := range []struct {
		name string
		b    *Baseline
	}{{"in-memory  ", r.Memory}, {"no WARC    ", r.NoWARC}, {"bare loop  ", r.Bare}, {"parse only ", r.Parse}} {
		if bl.b == nil {
			continue
		}
		fmt.Fprintf(&b, "  %s %.0f pages/s (%.3f CPU s per 1000 pages); crawl at %.0f%% of it (ratio %.3f)\n",
			bl.name, bl.b.PagesPerSec, bl.b.CPUPer1000, bl.b.Ratio*100, bl.b.Ratio)
	}
	_, _ = io.WriteString(w, b.String())
}

// StartCPUProfile starts a CPU profile (runtime/pprof) to the file path,
// created or truncated, and returns the function that stops it and closes
// the file. The command line's --cpuprofile uses it too.
func StartCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return err
		}
		return nil
	}, nil
}
