package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"trawl/fixtures"
	"trawl/store/redis/redistest"
)

// These tests run trawl worker processes (the binary TestMain builds)
// against a real redis-server (redistest: skipped when it is missing,
// failed with TRAWL_REQUIRE_REDIS=1) and a multi-host fixture site on
// loopback, and kill workers or the server with SIGKILL.

// fleetSite is the site of the process tests: 600 pages on 10 hosts of
// one domain, each answering after 250 ms, so that a crawl takes several
// seconds, and a host would have more than --per-host 2 requests in
// flight if the limit were not held across the workers: 250 ms of
// latency against a request every 100 ms at --rate 10 makes 2.5.
var fleetSite = fixtures.Synthetic{Pages: 600, Links: 6, Size: 600, Hosts: 10, Seed: 41, Latency: 250 * time.Millisecond}

// The limits of the process tests' workers. Three workers of -c 8 could
// have 24 requests in flight, more than the 20 the per-host limit allows
// on the 10 hosts.
const (
	fleetPerHost     = 2
	fleetRate        = 10 // requests per second to one host
	fleetConcurrency = 8  // -c of each worker
)

// fleetArgs are the flags every worker of crawl name on the Redis server
// at url runs with, the seed included; the caller adds --worker and -o.
func fleetArgs(web *fixtures.Server, url, name string) []string {
	args := append(resolveAll(web, fleetSite.HostNames()...),
		"-q", "--redis", url, "--crawl", name, "--scope", "domain",
		"--per-host", strconv.Itoa(fleetPerHost), "--rate", strconv.Itoa(fleetRate),
		"-c", strconv.Itoa(fleetConcurrency))
	return append(args, fleetSite.Root())
}

// proc is a trawl process started by startProc.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr bytes.Buffer  // read only after done is closed
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's, set before done is closed
}

// startProc starts the trawl binary with args; ctx bounds its life (it
// is killed when ctx ends).
func startProc(ctx context.Context, t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, binary, args...)
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// kill kills the process with SIGKILL and waits for it to exit; the test
// fails if it had exited already.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("%s exited (%v) before it was killed: %s", p.name, p.err, p.stderr.String())
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// wait waits for the process to exit, or for ctx to end, and fails the
// test unless it exited 0.
func (p *proc) wait(ctx context.Context, t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s: still running at the test's deadline; stderr:\n%s", p.name, p.stderr.String())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("%s: exit %d (%v), want 0; stderr:\n%s", p.name, code, p.err, p.stderr.String())
	}
}

// lineCount returns the number of complete lines in the files (missing
// files count 0).
func lineCount(files ...string) int {
	n := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		n += bytes.Count(data, []byte{'\n'})
	}
	return n
}

// waitLines waits until the files hold at least n lines together, looking
// every 50 ms, and fails the test if ctx ends or one of the workers exits
// first.
func waitLines(ctx context.Context, t *testing.T, n int, workers []*proc, files ...string) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for lineCount(files...) < n {
		for _, w := range workers {
			select {
			case <-w.done:
				t.Fatalf("%s exited (%v) before the outputs held %d lines (%d): make the site bigger; stderr:\n%s",
					w.name, w.err, n, lineCount(files...), w.stderr.String())
			default:
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %d lines in %v: %v (%d so far)", n, files, ctx.Err(), lineCount(files...))
		case <-tick.C:
		}
	}
}

// checkFleetRecords fails the test unless the files hold one record for
// every page of fleetSite, each once, and no other record.
func checkFleetRecords(t *testing.T, files ...string) {
	t.Helper()
	want := make(map[string]bool, fleetSite.Pages)
	for i := range fleetSite.Pages {
		want[fleetSite.URL(i)] = true
	}
	got := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range readRecords(t, data) {
			got[r.URL]++
			n++
			if r.Status != 200 || r.Error != "" {
				t.Errorf("%s: record of %s: status %d, error %q; want 200 and no error", filepath.Base(f), r.URL, r.Status, r.Error)
			}
		}
		t.Logf("%s: %d records", filepath.Base(f), n)
	}
	var twice, extra, missing []string
	for u, n := range got {
		switch {
		case !want[u]:
			extra = append(extra, u)
		case n > 1:
			twice = append(twice, fmt.Sprintf("%s (%d records)", u, n))
		}
	}
	for u := range want {
		if got[u] == 0 {
			missing = append(missing, u)
		}
	}
	for _, l := range []struct {
		what string
		urls []string
	}{{"recorded more than once", twice}, {"recorded, but not a page of the site", extra}, {"missing from the outputs", missing}} {
		if len(l.urls) > 0 {
			slices.Sort(l.urls)
			t.Errorf("%d URLs %s: %s", len(l.urls), l.what, strings.Join(l.urls[:min(len(l.urls), 10)], ", "))
		}
	}
}

// refetches returns the requests of reqs beyond the first for each URL,
// robots.txt aside, and the URLs fetched more than once.
func refetches(reqs []fixtures.Request) (n int, urls []string) {
	var pages []fixtures.Request
	for _, r := range reqs {
		if r.Path != "/robots.txt" {
			pages = append(pages, r)
		}
	}
	urls = fixtures.Duplicates(pages)
	return len(pages) - len(fixtures.URLs(pages)), urls
}

// politenessTolerance is how much earlier than the rate allows a request
// may reach the server: 40% of fleetRate's interval. The frontier spaces
// the claims of a host's URLs (on Redis's clock), and a request reaches
// the server some time after its claim, more or less late: a goroutine to
// wake, a connection to dial, race-built processes on a busy 2-core
// machine, and the server in the test process, which may stall too.
// Watching the claims with MONITOR showed them 50 ms apart or more at
// --rate 20 while requests arrived 17 to 34 ms apart after stalls of up
// to 33 ms; a crawl by one process without Redis shows the same spread.
// The lateness does not add up over a run of requests, so the check of
// runs (see checkPoliteness) still catches a rate held by each worker
// alone: three workers would make 10 requests in about 300 ms, not 860.
const politenessTolerance = time.Second / fleetRate * 4 / 10

// checkPoliteness fails the test if the server saw more than perHost
// requests in flight for a host, or, all workers together, requests for a
// host faster than one per interval: any k+1 consecutive requests must
// span at least k intervals less politenessTolerance (k = 1 is two
// requests closer than the interval). It returns the smallest gap
// between two requests for a host.
func checkPoliteness(t *testing.T, web *fixtures.Server, hosts []string, perHost int, interval time.Duration) time.Duration {
	t.Helper()
	reqs := web.Requests()
	smallest := time.Duration(-1)
	for _, h := range hosts {
		if n := web.MaxInFlight(h); n > perHost {
			t.Errorf("%s: %d requests in flight at once, want at most --per-host %d", h, n, perHost)
		}
		var at []fixtures.Request
		for _, r := range reqs {
			if r.Host == h {
				at = append(at, r)
			}
		}
		slices.SortStableFunc(at, func(a, b fixtures.Request) int { return a.Time.Compare(b.Time) })
		bad := 0
		for i := range at {
			if i > 0 {
				if gap := at[i].Time.Sub(at[i-1].Time); smallest < 0 || gap < smallest {
					smallest = gap
				}
			}
			for j := i + 1; j < len(at); j++ {
				span, want := at[j].Time.Sub(at[i].Time), time.Duration(j-i)*interval-politenessTolerance
				if span >= want {
					continue
				}
				if bad++; bad <= 3 {
					t.Errorf("%s: %d requests in %v (%s %s by %s, ..., %s %s by %s), want at least %v between the first and the last (--rate %d, less %v)",
						h, j-i+1, span, at[i].Time.Format("15:04:05.000"), at[i].Path, at[i].UserAgent,
						at[j].Time.Format("15:04:05.000"), at[j].Path, at[j].UserAgent, want+politenessTolerance, fleetRate, politenessTolerance)
				}
			}
		}
		if bad > 3 {
			t.Errorf("%s: %d runs of requests faster than --rate %d in all", h, bad, fleetRate)
		}
	}
	return smallest
}

// TestRedisWorkersKilled runs three worker processes on one crawl and
// kills one of them with SIGKILL twice, restarting it each time with the
// same command. Every page must be recorded once in the outputs
// together; the fixture server must see no host above --per-host
// requests in flight or --rate requests per second, all workers
// together; and at most kills × -c URLs may be fetched again.
//
// The killed worker runs under a fixed --worker name, so that its
// restart gives back the leases it held at once: a killed worker's
// leases otherwise last redis.DefaultLeaseTTL (a minute), and the CLI has
// no flag to shorten it.
func TestRedisWorkersKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	rs := redistest.Start(t, redistest.Options{AppendOnly: true})
	web := fixtures.NewServer(fleetSite.Handler())
	defer web.Close()
	dir := t.TempDir()
	args := fleetArgs(web, rs.URL(), "kills")
	outs := make([]string, 3)
	workers := make([]*proc, 3)
	run := func(i int) *proc {
		return startProc(ctx, t, fmt.Sprint("worker ", i), append(slices.Clone(args), "--worker", fmt.Sprint("w", i),
			"--user-agent", fmt.Sprintf("trawl-test (w%d)", i), "-o", outs[i])...)
	}
	for i := range workers {
		outs[i] = filepath.Join(dir, fmt.Sprintf("w%d.jsonl", i))
		workers[i] = run(i)
	}

	// Kill worker 2 once the crawl is under way, and again once it has
	// gone on for a while after the restart.
	const victim = 2
	kills := 0
	for _, at := range []int{100, 330} {
		waitLines(ctx, t, at, workers, outs...)
		workers[victim].kill(t)
		kills++
		t.Logf("kill %d at %s (%v): %d lines in the outputs, %d in %s", kills, time.Now().Format("15:04:05.000000"), time.Since(start).Round(time.Millisecond),
			lineCount(outs...), lineCount(outs[victim]), filepath.Base(outs[victim]))
		workers[victim] = run(victim)
	}
	for _, w := range workers {
		w.wait(ctx, t)
	}
	t.Logf("crawl done at %v", time.Since(start).Round(time.Millisecond))

	// Nothing is left in the outbox; an export takes nothing more.
	stdout, stderr, code := trawl(t, "state", "--redis", rs.URL(), "--crawl", "kills")
	if code != 0 {
		t.Fatalf("trawl state: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "outbox   0 records waiting") || !strings.Contains(stdout, " 0 queued, 0 in flight") {
		t.Errorf("trawl state after the crawl:\n%s\nwant nothing queued or in flight and nothing in the outbox", stdout)
	}
	rest := filepath.Join(dir, "rest.jsonl")
	if _, stderr, code := trawl(t, "export", "-q", "--redis", rs.URL(), "--crawl", "kills", "-o", rest); code != 0 {
		t.Fatalf("trawl export: exit %d: %s", code, stderr)
	}
	if n := lineCount(rest); n > 0 {
		t.Errorf("trawl export after the crawl took %d records, want none: the workers' outputs should have taken them all", n)
	}

	checkFleetRecords(t, append(outs, rest)...)
	gap := checkPoliteness(t, web, fleetSite.HostNames(), fleetPerHost, time.Second/fleetRate)
	n, urls := refetches(web.Requests())
	t.Logf("%d requests; smallest gap between two requests to a host %v; %d fetches again (%d URLs): %v",
		len(web.Requests()), gap, n, len(urls), urls)
	if limit := kills * fleetConcurrency; n > limit {
		t.Errorf("%d fetches of a URL fetched before, want at most kills × -c = %d", n, limit)
	}
}
