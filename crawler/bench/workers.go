package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"trawl/store"
)

// WorkersOptions describe a scaling run (RunWorkers): Workers trawl
// processes crawl the synthetic site together through one Redis server,
// each as "trawl --redis URL --crawl NAME -o FILE" does on a machine of
// a crawl shared by many.
type WorkersOptions struct {
	// Options are the site and each worker's Concurrency, which is its
	// -c and its --per-host, as the in-memory run's connections are both:
	// with the default 10 hosts and -c 8, no host's limit caps even four
	// workers (32 requests in flight against 10×8 allowed). Site empty
	// means the site is served by this process. State, WARC and
	// Baselines must be off: they are measured by Run.
	Options
	// Redis is the workers' --redis URL (redis://HOST:PORT/DB). Required.
	Redis string
	// Workers is the number of worker processes. Zero means 1.
	Workers int
	// Command is the trawl executable the workers run. Empty means this
	// process's own (os.Executable): "trawl bench" starts copies of
	// itself.
	Command string
	// Crawl names the crawl on Redis, which must not exist. Empty means a
	// fresh "bench-" name. Its keys stay on the server afterwards, for
	// "trawl state --redis URL --crawl NAME".
	Crawl string
	// Info returns the text of the Redis server's INFO for section
	// ("cpu", "memory", "commandstats"), read before and after the crawl
	// for Result.Redis. Nil means no Redis figures.
	Info func(ctx context.Context, section string) (string, error) `json:"-"`
}

// WorkersResult is what RunWorkers measured. Rates are per second of
// wall-clock time, from the start of the first worker to the exit of the
// last.
type WorkersResult struct {
	Options   WorkersOptions `json:"options"` // as run, defaults applied
	Crawl     string         `json:"crawl"`
	SiteAddr  string         `json:"site_addr"`
	InProcess bool           `json:"in_process"` // the site ran in this process (SiteCPU)
	NumCPU    int            `json:"num_cpu"`    // CPUs usable by this process
	GoVersion string         `json:"go_version"`

	Workers     []WorkerRun   `json:"workers"`
	Pages       int64         `json:"pages"`   // pages recorded once with status 200, all outputs together
	Records     int64         `json:"records"` // records in all outputs
	Elapsed     time.Duration `json:"elapsed_ns"`
	PagesPerSec float64       `json:"pages_per_sec"`

	// WorkerCPU is the user+system CPU time of all the workers together;
	// WorkerCPUPer1000 is in seconds per 1,000 pages.
	WorkerCPU        time.Duration `json:"worker_cpu_ns"`
	WorkerCPUPer1000 float64       `json:"worker_cpu_sec_per_1000_pages"`
	// SiteCPU is this process's CPU time during the crawl: the site's,
	// when InProcess; zero otherwise.
	SiteCPU time.Duration `json:"site_cpu_ns,omitempty"`

	// Redis is what the crawl cost the Redis server; nil without
	// WorkersOptions.Info.
	Redis *RedisCost `json:"redis,omitempty"`

	// Verify checks, from the site's request counts and from the records
	// of all the outputs, that every page was fetched and recorded
	// exactly once.
	Verify Verification `json:"verify"`
}

// WorkerRun is one worker process of a scaling run.
type WorkerRun struct {
	Elapsed time.Duration `json:"elapsed_ns"` // from the first worker's start to this one's exit
	CPU     time.Duration `json:"cpu_ns"`     // user+system
	Records int64         `json:"records"`    // lines of its output
}

// RedisCost is the difference between the Redis server's INFO before and
// after a scaling run. Other clients of the server count too: run it on
// a server of its own.
type RedisCost struct {
	// CPU is used_cpu_user+used_cpu_sys (INFO cpu); CPUPer1000 in seconds
	// per 1,000 pages.
	CPU        time.Duration `json:"cpu_ns"`
	CPUPer1000 float64       `json:"cpu_sec_per_1000_pages"`
	// Memory is the growth of used_memory (INFO memory), in bytes: what
	// the finished crawl keeps (its seen-set, its counters, its outbox
	// after export); MemoryPer1000 is per 1,000 pages.
	Memory        int64   `json:"memory"`
	MemoryPer1000 float64 `json:"memory_per_1000_pages"`
	// Scripts counts the calls of EVAL, EVALSHA and their _RO forms
	// (INFO commandstats): a round trip each, every change of the
	// crawl's state being one script. ScriptsPerPage is per page.
	Scripts        int64   `json:"scripts"`
	ScriptsPerPage float64 `json:"scripts_per_page"`
	// Commands counts every command the server ran, those run by
	// scripts included; CommandsPerPage is per page.
	Commands        int64   `json:"commands"`
	CommandsPerPage float64 `json:"commands_per_page"`
}

// withDefaults returns o with zero fields replaced by their defaults, or
// an error naming the invalid fields.
func (o WorkersOptions) withDefaults() (WorkersOptions, error) {
	var err error
	if o.Options, err = o.Options.withDefaults(); err != nil {
		return o, err
	}
	var errs []error
	switch {
	case o.Workers < 0:
		errs = append(errs, fmt.Errorf("workers %d is negative", o.Workers))
	case o.Workers == 0:
		o.Workers = 1
	}
	if o.Redis == "" {
		errs = append(errs, errors.New("no Redis URL"))
	}
	if o.State || o.WARC || o.Baselines {
		errs = append(errs, errors.New("state, warc and baselines are measured by Run, not with workers"))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("bench: options: %w", err)
	}
	if o.Command == "" {
		if o.Command, err = os.Executable(); err != nil {
			return o, fmt.Errorf("bench: the trawl executable: %w", err)
		}
	}
	if o.Crawl == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Crawl = "bench-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
	}
	return o, nil
}

// workerArgs returns the command line of worker i, whose output is out:
// politeness off, as in Run (no rate limit, robots.txt ignored, no
// sitemaps, Concurrency connections to each host), domain scope.
func (o WorkersOptions) workerArgs(i int, siteAddr, out string) []string {
	c := strconv.Itoa(o.Concurrency)
	args := []string{
		"--redis", o.Redis, "--crawl", o.Crawl, "--worker", fmt.Sprintf("%s-w%d", o.Crawl, i),
		"-o", out, "-q", "-c", c, "--per-host", c, "--rate", "-1",
		"--ignore-robots", "--no-sitemaps", "--scope", "domain",
	}
	site := o.synthetic()
	for _, h := range site.HostNames() {
		args = append(args, "--resolve", h+":80:"+siteAddr)
	}
	return append(args, site.Root())
}

// RunWorkers measures a crawl of the synthetic site by o.Workers trawl
// processes sharing crawl o.Crawl on the Redis server at o.Redis: it
// starts them together, each with an output file of its own in a
// temporary directory (removed afterwards), waits for all to exit, and
// verifies the union of their outputs against the site's request counts.
//
// A crawl that does not fetch and record every page exactly once is not
// an error: the Result's Verify says so. RunWorkers returns an error for
// bad options, a site it cannot reach or that serves different options,
// a worker that exits with a non-zero status (with the end of its
// stderr), an INFO that fails, or the end of ctx, which interrupts the
// workers (SIGINT, then SIGKILL after ten seconds).
func RunWorkers(ctx context.Context, o WorkersOptions) (*WorkersResult, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	res := &WorkersResult{Options: o, Crawl: o.Crawl, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version()}
	ctl, cnt, addr, closeSite, err := openSite(ctx, o.Options)
	if err != nil {
		return nil, err
	}
	defer closeSite()
	res.SiteAddr, res.InProcess = addr, o.Site == ""
	dir, err := os.MkdirTemp("", "trawl-bench-workers-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := ctl.reset(ctx); err != nil {
		return nil, err
	}

	var info0 redisInfo
	if o.Info != nil {
		if info0, err = readRedisInfo(ctx, o.Info); err != nil {
			return nil, err
		}
	}
	outs := make([]string, o.Workers)
	for i := range outs {
		outs[i] = filepath.Join(dir, fmt.Sprintf("w%d.jsonl", i))
	}
	cpu0 := cpuTime()
	runs, elapsed, err := startWorkers(ctx, o, res.SiteAddr, outs)
	res.Elapsed = elapsed
	if res.InProcess {
		res.SiteCPU = cpuTime() - cpu0
	}
	if err != nil {
		return nil, err
	}
	res.Workers = runs
	for _, w := range runs {
		res.WorkerCPU += w.CPU
	}

	good := make([]uint32, o.Pages)
	var bad int64
	for i, out := range outs {
		n, err := countRecords(out, cnt, good, &bad)
		if err != nil {
			return nil, err
		}
		res.Workers[i].Records = n
		res.Records += n
	}
	for _, n := range good {
		if n > 0 {
			res.Pages++ // a page recorded twice counts once, and in Verify
		}
	}
	if s := res.Elapsed.Seconds(); s > 0 {
		res.PagesPerSec = float64(res.Pages) / s
	}
	if res.Pages > 0 {
		res.WorkerCPUPer1000 = res.WorkerCPU.Seconds() * 1000 / float64(res.Pages)
	}
	if o.Info != nil {
		info1, err := readRedisInfo(ctx, o.Info)
		if err != nil {
			return nil, err
		}
		res.Redis = info1.since(info0, res.Pages)
	}
	h, err := ctl.hits(ctx)
	if err != nil {
		return nil, err
	}
	if len(h.Hits) != o.Pages {
		return nil, fmt.Errorf("bench: site at %s reports %d pages, want %d", res.SiteAddr, len(h.Hits), o.Pages)
	}
	res.Verify = check(h, good, bad)
	return res, nil
}

// startWorkers runs the workers, one per output, and returns what each
// used and the time from the first start to the last exit. Every worker
// is waited for, whatever happens.
func startWorkers(ctx context.Context, o WorkersOptions, siteAddr string, outs []string) ([]WorkerRun, time.Duration, error) {
	type proc struct {
		cmd    *exec.Cmd
		stderr bytes.Buffer // read after Wait
		end    time.Time
		err    error
	}
	procs := make([]*proc, len(outs))
	var wg sync.WaitGroup
	start := time.Now()
	var startErr error
	for i, out := range outs {
		p := &proc{cmd: exec.CommandContext(ctx, o.Command, o.workerArgs(i, siteAddr, out)...)}
		p.cmd.Stderr = &p.stderr
		p.cmd.Cancel = func() error { return p.cmd.Process.Signal(os.Interrupt) }
		p.cmd.WaitDelay = 10 * time.Second
		if err := p.cmd.Start(); err != nil {
			startErr = fmt.Errorf("bench: start worker %d (%s): %w", i, o.Command, err)
			break
		}
		procs[i] = p
		wg.Go(func() {
			p.err = p.cmd.Wait()
			p.end = time.Now()
		})
	}
	if startErr != nil {
		for _, p := range procs {
			if p != nil {
				_ = p.cmd.Process.Kill()
			}
		}
	}
	wg.Wait()
	if startErr != nil {
		return nil, 0, startErr
	}
	runs := make([]WorkerRun, len(procs))
	var last time.Time
	var errs []error
	for i, p := range procs {
		if p.end.After(last) {
			last = p.end
		}
		if ps := p.cmd.ProcessState; ps != nil {
			runs[i] = WorkerRun{Elapsed: p.end.Sub(start), CPU: ps.UserTime() + ps.SystemTime()}
		}
		if p.err != nil {
			errs = append(errs, fmt.Errorf("bench: worker %d: %w; its stderr ends:\n%s", i, p.err, tail(p.stderr.String(), 2000)))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("bench: workers: %w", err)
	}
	return runs, last.Sub(start), errors.Join(errs...)
}

// tail returns the last n bytes of s, at most.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// countRecords reads the JSON Lines output at path, adds one to good[i]
// for each record of page i fetched with status 200, and one to *bad for
// every other record. It returns the number of records.
func countRecords(path string, cnt *counter, good []uint32, bad *int64) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil // a worker that exported nothing leaves no file
	}
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r store.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return n, fmt.Errorf("bench: %s: line %d: %w", path, n+1, err)
		}
		n++
		i, ok := cnt.pageOfURL(r.URL)
		if !ok || r.Status != http.StatusOK || r.Error != "" || r.Skipped != "" || r.FinalURL != "" {
			*bad++
			continue
		}
		good[i]++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("bench: %s: %w", path, err)
	}
	return n, nil
}

// redisInfo holds the INFO fields a scaling run compares.
type redisInfo struct {
	cpu      float64 // used_cpu_user + used_cpu_sys, seconds
	memory   int64   // used_memory
	scripts  int64   // calls of eval, evalsha, eval_ro, evalsha_ro
	commands int64   // calls of every command
}

// readRedisInfo reads the fields of redisInfo with info.
func readRedisInfo(ctx context.Context, info func(ctx context.Context, section string) (string, error)) (redisInfo, error) {
	var ri redisInfo
	for _, section := range []string{"cpu", "memory", "commandstats"} {
		text, err := info(ctx, section)
		if err != nil {
			return ri, fmt.Errorf("bench: redis INFO %s: %w", section, err)
		}
		if err := ri.parse(text); err != nil {
			return ri, fmt.Errorf("bench: redis INFO %s: %w", section, err)
		}
	}
	return ri, nil
}

// parse adds the fields of INFO's text to ri.
func (ri *redisInfo) parse(text string) error {
	for line := range strings.Lines(text) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch {
		case k == "used_cpu_user" || k == "used_cpu_sys":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			ri.cpu += f
		case k == "used_memory":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			ri.memory = n
		case strings.HasPrefix(k, "cmdstat_"):
			// cmdstat_evalsha:calls=12,usec=345,...
			calls, _, _ := strings.Cut(strings.TrimPrefix(v, "calls="), ",")
			n, err := strconv.ParseInt(calls, 10, 64)
			if err != nil || !strings.HasPrefix(v, "calls=") {
				return fmt.Errorf("%s: no calls in %q", k, v)
			}
			ri.commands += n
			switch strings.TrimPrefix(k, "cmdstat_") {
			case "eval", "evalsha", "eval_ro", "evalsha_ro":
				ri.scripts += n
			}
		}
	}
	return nil
}

// since returns the cost from before to ri for pages pages.
func (ri redisInfo) since(before redisInfo, pages int64) *RedisCost {
	c := &RedisCost{
		CPU:      time.Duration((ri.cpu - before.cpu) * float64(time.Second)),
		Memory:   ri.memory - before.memory,
		Scripts:  ri.scripts - before.scripts,
		Commands: ri.commands - before.commands,
	}
	if pages > 0 {
		n := float64(pages)
		c.CPUPer1000 = c.CPU.Seconds() * 1000 / n
		c.MemoryPer1000 = float64(c.Memory) * 1000 / n
		c.ScriptsPerPage = float64(c.Scripts) / n
		c.CommandsPerPage = float64(c.Commands) / n
	}
	return c
}

// describe returns the one-line description of the run's setup.
func (r *WorkersResult) describe() string {
	o := r.Options
	where := "served by another process"
	if r.InProcess {
		where = "served by this process"
	}
	return fmt.Sprintf("%d pages x %d links x %d B on %d hosts, seed %d, latency %v; %d workers of -c %d --per-host %d on Redis %s, crawl %s; site %s %s",
		o.Pages, o.Links, o.Size, o.Hosts, o.Seed, o.Latency, o.Workers, o.Concurrency, o.Concurrency, o.Redis, r.Crawl, r.SiteAddr, where)
}

// WriteText writes r as a small human-readable table. Write errors are
// ignored: w is usually a terminal.
func (r *WorkersResult) WriteText(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "trawl bench: %s\n", r.describe())
	fmt.Fprintf(&b, "  machine     %d CPUs usable by this process, %s\n", r.NumCPU, r.GoVersion)
	fmt.Fprintf(&b, "  crawl       %d pages in %v: %.0f pages/s (first start to last exit)\n",
		r.Pages, r.Elapsed.Round(time.Millisecond), r.PagesPerSec)
	for i, wr := range r.Workers {
		fmt.Fprintf(&b, "  worker %-4d %d records exported, exit after %v, CPU %v\n",
			i, wr.Records, wr.Elapsed.Round(time.Millisecond), wr.CPU.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "  worker cpu  %.3f s per 1000 pages (user+sys of all workers, %v in all)\n",
		r.WorkerCPUPer1000, r.WorkerCPU.Round(time.Millisecond))
	if r.InProcess {
		fmt.Fprintf(&b, "  site cpu    %v (this process)\n", r.SiteCPU.Round(time.Millisecond))
	}
	if c := r.Redis; c != nil {
		fmt.Fprintf(&b, "  redis cpu   %.3f s per 1000 pages (used_cpu_user+sys, %v in all)\n", c.CPUPer1000, c.CPU.Round(time.Millisecond))
		fmt.Fprintf(&b, "  redis mem   %.0f bytes per 1000 pages (used_memory %+d)\n", c.MemoryPer1000, c.Memory)
		fmt.Fprintf(&b, "  redis calls %.2f scripts per page (round trips); %.1f commands per page, the scripts' own included\n",
			c.ScriptsPerPage, c.CommandsPerPage)
	}
	fmt.Fprintf(&b, "  verified    %s\n", r.Verify)
	_, _ = io.WriteString(w, b.String())
}
