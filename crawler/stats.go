package crawler

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"trawl/fetch"
	"trawl/parse"
	"trawl/store"
)

// Stats counts what a crawl did. Records fall in exactly one of Fetched,
// Errors and Skipped.
//
// The package trawl/crawler/metrics exposes these numbers to Prometheus.
type Stats struct {
	Fetched int64            // records of URLs fetched (any HTTP status)
	Errors  int64            // records of URLs that failed
	Skipped map[string]int64 // records of URLs not fetched, by reason
	Status  map[int]int64    // fetched records by HTTP status (see StatusClasses)
	Bytes   int64            // decoded body bytes kept, summed

	// ErrorKinds counts the error records (Errors) by kind: the
	// fetch.ErrorKind names ("timeout", "dns", "refused", "reset", "tls",
	// "too-many-redirects", "bad-url", "robots-unavailable", ..., "other")
	// for a failed fetch, a redirect not followed or a bad URL;
	// "max-retry-wait" for a 429 or 5xx answer whose Retry-After or
	// back-off was longer than Config.MaxRetryWait; "parse" for a
	// response whose content could not be read (a sitemap that does not
	// parse); "render" for a page whose rendering failed (Config.Render).
	// The kinds are a fixed set: a map of at most a few dozen keys.
	ErrorKinds map[string]int64

	// FetchDuration is the distribution of the fetch times
	// (fetch.Response.Duration) of the fetched records: once the crawl
	// has ended, its Count is Fetched. TTFB is that of their times to first byte
	// (fetch.Response.TTFB), for those whose fetcher reported one.
	// Attempts that were retried, and errors, are in neither.
	FetchDuration Histogram
	TTFB          Histogram

	// RobotsFetches counts the times a worker got a host's robots.txt
	// rules from a fetch of robots.txt made during its call (an answer,
	// a 404 too, that gives rules; workers that waited for the same fetch
	// each count it); RobotsCacheHits the times a worker found the rules
	// already known to the fetcher. A robots.txt that could not be
	// fetched is in neither: it is retried, and ends as the URL's error.
	// Both are zero with Config.IgnoreRobots.
	RobotsFetches   int64
	RobotsCacheHits int64

	// CheckpointDuration and FlushDuration are the distributions of the
	// times the checkpoints and the flushes of the crawl's state took,
	// from taking the commit lock to the end, with a Checkpointer
	// frontier (such as disk.Frontier); without one they are zero, with
	// no Bounds. FlushDuration stays empty (with Bounds) when the
	// frontier is not a Flusher or CheckpointInterval is negative.
	CheckpointDuration Histogram
	FlushDuration      Histogram

	Retries    int64 // attempts put back for a later try
	OutOfScope int64 // links and redirects outside the scope: counted, not recorded
	NoFollow   int64 // nofollow links not followed: counted, not recorded
	Duplicates int64 // links and redirects to URLs already seen
	// Rendered counts the pages loaded in the browser (Config.Render):
	// those whose records say rendered. RenderFailures counts the renders
	// that failed; the URL was then tried again, or recorded with an error
	// of kind "render".
	Rendered, RenderFailures int64
	// BrowserRequests counts the requests of the browser (Config.Render)
	// that the crawl sent to a server, answered or not; BrowserCached
	// those answered from memory (the page's own document, a resource
	// asked for again); BrowserRefused those that never left: out of
	// scope, filtered, disallowed by robots.txt, blocked by the address
	// guard, of a paused host, not GET or HEAD, WebSockets and tunnels.
	BrowserRequests, BrowserCached, BrowserRefused int64

	// LinksDropped counts the links past Config.MaxLinks on a page.
	LinksDropped int64
	// Links counts the links found in fetched pages, stylesheets,
	// sitemaps and headers, by kind: each response's distinct links,
	// summed over responses (so a link on every page counts once per
	// page). Assets without Config.Assets and POST forms are counted here
	// and nowhere else.
	Links map[parse.Kind]int64

	// CrawlDelayCapped lists hosts whose robots.txt Crawl-delay was
	// longer than Config.MaxCrawlDelay, with the delay they asked for
	// (at most maxCappedListed hosts); CrawlDelayCappedHosts counts them
	// all.
	CrawlDelayCapped      map[string]time.Duration
	CrawlDelayCappedHosts int64

	// Stopped says why the crawl ended before running out of work
	// without an error: StopMaxTime, StopMaxBytes, StopRequested, or
	// empty.
	Stopped string

	// UnreachableHosts counts the hosts this run declared unreachable
	// after Config.MaxHostFailures connection failures in a row; their
	// URLs are skipped SkipHostUnreachable.
	UnreachableHosts int64

	// What politeness, not the network, held back (see HostPause and
	// HostWait): the hosts spaced by a robots.txt Crawl-delay longer than
	// Rate allows and the longest such delay; the hosts paused now by
	// Retry-After or back-off (PausedHosts, the first few in Paused,
	// soonest end first); the hosts that waited longest (Waited, longest
	// first). The tables behind them keep at most 1,000 hosts each.
	CrawlDelayHosts int64
	CrawlDelayMax   time.Duration
	PausedHosts     int
	Paused          []HostPause
	Waited          []HostWait

	// AutoThrottled are the hosts the adaptive throttle (Config.AutoThrottle)
	// spaces more than Rate and their Crawl-delay ask, with their spacing
	// now, longest first (at most 10); AutoThrottledHosts counts them all.
	AutoThrottled      []HostDelay
	AutoThrottledHosts int

	Queued   int // URLs waiting in the frontier at the snapshot
	InFlight int // URLs being fetched at the snapshot
	// Hosts is the number of hosts with URLs queued or in flight at the
	// snapshot (store.FrontierStats.Hosts).
	Hosts int
	// FrontierDone is the number of URLs the frontier has settled
	// (store.FrontierStats.Done) at the snapshot. With a frontier that
	// many processes share (an Outbox), it, Queued, InFlight and Hosts
	// are the whole crawl's, while the record counts are this run's.
	FrontierDone int64

	// StaleAcks counts, with an Outbox, the URLs whose lease had lapsed
	// when their record was written: another worker had claimed the URL
	// again, and writes its record, so this run's was dropped and is in
	// none of the record counts.
	StaleAcks int64

	Started time.Time
	Elapsed time.Duration

	// Resumed is set when the crawl continued a saved state.
	Resumed *Resumed
}

// Records is the number of records written.
func (s Stats) Records() int64 {
	n := s.Fetched + s.Errors
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

// StatusClasses returns the fetched records by HTTP status class: "1xx",
// "2xx", "3xx", "4xx", "5xx", and "other" for a status outside 100-599.
// It is nil when nothing was fetched.
func (s Stats) StatusClasses() map[string]int64 {
	var m map[string]int64
	for code, n := range s.Status {
		if m == nil {
			m = make(map[string]int64, 5)
		}
		m[statusClass(code)] += n
	}
	return m
}

// statusClass names the class of an HTTP status code.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return string(rune('0'+code/100)) + "xx"
}

// PagesPerSecond is the rate of fetched records over the elapsed time.
func (s Stats) PagesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Fetched) / s.Elapsed.Seconds()
}

// counters is a run's live statistics, safe for concurrent use once
// init has run.
type counters struct {
	fetched, errors, bytes        atomic.Int64
	retries, outOfScope, noFollow atomic.Int64
	duplicates, linksDropped      atomic.Int64
	staleAcks                     atomic.Int64
	rendered, renderFailures      atomic.Int64
	browserRequests               atomic.Int64
	browserCached, browserRefused atomic.Int64
	links                         [4]atomic.Int64 // by parse.Kind

	errorKinds                [maxErrorKinds]atomic.Int64 // by index in errorKindNames
	fetchTime, ttfb           histogram
	checkpointTime, flushTime histogram
	robotsFetches, robotsHits atomic.Int64

	mu      sync.Mutex // guards skipped and status
	skipped map[string]int64
	status  map[int]int64
}

// init readies c for use.
func (c *counters) init() {
	c.skipped = map[string]int64{}
	c.status = map[int]int64{}
	c.fetchTime.bounds = fetchBuckets[:]
	c.ttfb.bounds = fetchBuckets[:]
	c.checkpointTime.bounds = commitBuckets[:]
	c.flushTime.bounds = commitBuckets[:]
}

// recordResult counts one terminal record with what the record does not
// hold: the error's kind, the fetch's times.
func (c *counters) recordResult(r *result) {
	c.record(&r.Record)
	switch {
	case r.Skipped != "":
	case r.Error != "":
		kind := r.errKind
		if kind == "" {
			kind = "other"
			if r.Status != 0 {
				kind = errKindParse // an answer whose content failed
			}
		}
		c.errorKinds[errorKindIndex[kind]].Add(1) // "other" is index 0
	default:
		c.fetchTime.observe(r.fetchTime)
		if r.ttfb > 0 {
			c.ttfb.observe(r.ttfb)
		}
	}
}

// robots counts a worker's getting a host's robots.txt rules, by fetching
// them or from the cache.
func (c *counters) robots(fetched bool) {
	if fetched {
		c.robotsFetches.Add(1)
	} else {
		c.robotsHits.Add(1)
	}
}

// commitTimed counts a checkpoint (sync) or flush that started at start.
func (c *counters) commitTimed(sync bool, start time.Time) {
	if sync {
		c.checkpointTime.observe(time.Since(start))
	} else {
		c.flushTime.observe(time.Since(start))
	}
}

// errorKindCounts returns the error records by kind, nil if none.
func (c *counters) errorKindCounts() map[string]int64 {
	var m map[string]int64
	for i, name := range errorKindNames {
		if n := c.errorKinds[i].Load(); n > 0 {
			if m == nil {
				m = make(map[string]int64)
			}
			m[name] = n
		}
	}
	return m
}

// recordMetrics is what result carries for the counters besides its record:
// the kind of its error (a fetch.ErrorKind name or one of the crawler's,
// empty if it has none or it is unknown) and the fetch's times.
type recordMetrics struct {
	errKind         string
	fetchTime, ttfb time.Duration
}

// The error kinds of the crawler's own (see Stats.ErrorKinds).
const (
	errKindRetryWait = "max-retry-wait"
	errKindParse     = "parse"
	errKindRender    = "render"
)

// maxErrorKinds bounds the error kinds counted; more count as "other".
const maxErrorKinds = 32

// errorKindNames are the error kinds counted, "other" first;
// errorKindIndex is their index.
var errorKindNames, errorKindIndex = func() ([]string, map[string]int) {
	names := []string{fetch.KindOther.String()}
	for k := fetch.ErrorKind(1); len(names) < maxErrorKinds-3; k++ {
		if k.String() == names[0] {
			break // past fetch's kinds
		}
		names = append(names, k.String())
	}
	names = append(names, errKindRetryWait, errKindParse, errKindRender)
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	return names, index
}()

// Histogram is a distribution of durations in fixed buckets. The zero
// value has no buckets and no observations.
type Histogram struct {
	// Bounds are the buckets' upper bounds, ascending. Counts[i] counts
	// the observations in (Bounds[i-1], Bounds[i]], and
	// Counts[len(Bounds)] those above the last bound: Counts is not
	// cumulative.
	Bounds []time.Duration
	Counts []int64
	Count  int64         // observations: the sum of Counts
	Sum    time.Duration // of the observations
}

// fetchBuckets are the bounds of the fetch time and TTFB histograms.
var fetchBuckets = [...]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// commitBuckets are the bounds of the checkpoint and flush histograms.
var commitBuckets = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// maxBuckets is the most bounds a histogram has.
const maxBuckets = max(len(fetchBuckets), len(commitBuckets))

// histogram is a live Histogram: observe takes no lock and allocates
// nothing. Its bounds are set before its first use.
type histogram struct {
	bounds []time.Duration
	counts [maxBuckets + 1]atomic.Int64
	sum    atomic.Int64 // nanoseconds
}

func (h *histogram) observe(d time.Duration) {
	i, _ := slices.BinarySearch(h.bounds, d) // the first bound >= d
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// snapshot returns h now. Observations that run meanwhile may be in
// Counts and not yet in Sum.
func (h *histogram) snapshot() Histogram {
	s := Histogram{Bounds: slices.Clone(h.bounds), Counts: make([]int64, len(h.bounds)+1), Sum: time.Duration(h.sum.Load())}
	for i := range s.Counts {
		s.Counts[i] = h.counts[i].Load()
		s.Count += s.Counts[i]
	}
	return s
}

// record counts one terminal record.
func (c *counters) record(r *store.Record) {
	c.bytes.Add(r.Bytes)
	switch {
	case r.Skipped != "":
		c.mu.Lock()
		c.skipped[r.Skipped]++
		c.mu.Unlock()
	case r.Error != "":
		c.errors.Add(1)
	default:
		c.fetched.Add(1)
		c.mu.Lock()
		c.status[r.Status]++
		c.mu.Unlock()
	}
}

// linkCounts returns the links found by kind, nil if none.
func (c *counters) linkCounts() map[parse.Kind]int64 {
	var m map[parse.Kind]int64
	for k := range c.links {
		if n := c.links[k].Load(); n > 0 {
			if m == nil {
				m = make(map[parse.Kind]int64, len(c.links))
			}
			m[parse.Kind(k)] = n
		}
	}
	return m
}

// stats returns the record counts of c: Fetched, Errors, Skipped, Status
// and Bytes.
func (c *counters) stats() Stats {
	s := Stats{Fetched: c.fetched.Load(), Errors: c.errors.Load(), Bytes: c.bytes.Load()}
	c.mu.Lock()
	s.Skipped = maps.Clone(c.skipped)
	s.Status = maps.Clone(c.status)
	c.mu.Unlock()
	return s
}

// snapshot returns the run's statistics now.
func (r *run) snapshot(ctx context.Context) Stats {
	c := &r.counters
	s := Stats{
		Fetched:      c.fetched.Load(),
		Errors:       c.errors.Load(),
		Bytes:        c.bytes.Load(),
		Retries:      c.retries.Load(),
		OutOfScope:   c.outOfScope.Load(),
		NoFollow:     c.noFollow.Load(),
		Duplicates:   c.duplicates.Load(),
		LinksDropped: c.linksDropped.Load(),
		StaleAcks:    c.staleAcks.Load(),
		Links:        c.linkCounts(),
		Started:      r.started,
		Resumed:      r.resumed.Load(),

		Rendered:        c.rendered.Load(),
		RenderFailures:  c.renderFailures.Load(),
		BrowserRequests: c.browserRequests.Load(),
		BrowserCached:   c.browserCached.Load(),
		BrowserRefused:  c.browserRefused.Load(),

		ErrorKinds:      c.errorKindCounts(),
		FetchDuration:   c.fetchTime.snapshot(),
		TTFB:            c.ttfb.snapshot(),
		RobotsFetches:   c.robotsFetches.Load(),
		RobotsCacheHits: c.robotsHits.Load(),

		UnreachableHosts: r.hosts.declared.Load(),
	}
	if r.cp != nil {
		s.CheckpointDuration = c.checkpointTime.snapshot()
		s.FlushDuration = c.flushTime.snapshot()
	}
	s.CrawlDelayCapped, s.CrawlDelayCappedHosts = r.capped.snapshot()
	r.throttle.snapshot(&s)
	if r.auto != nil {
		s.AutoThrottled, s.AutoThrottledHosts = r.auto.slowed(r.interval, maxAutoThrottledListed)
	}
	if p := r.stopped.Load(); p != nil {
		s.Stopped = *p
	}
	c.mu.Lock()
	s.Skipped = maps.Clone(c.skipped)
	s.Status = maps.Clone(c.status)
	c.mu.Unlock()
	if end := r.ended.Load(); end != nil {
		s.Elapsed = end.Sub(r.started)
	} else {
		s.Elapsed = time.Since(r.started)
	}
	if fs := r.final.Load(); fs != nil {
		s.Queued, s.InFlight, s.Hosts, s.FrontierDone = fs.Queued, fs.InFlight, fs.Hosts, fs.Done
	} else if !r.finished.Load() {
		if fs, err := r.frontier.Stats(ctx); err == nil {
			s.Queued, s.InFlight, s.Hosts, s.FrontierDone = fs.Queued, fs.InFlight, fs.Hosts, fs.Done
		}
	}
	return s
}

// maxAutoThrottledListed is how many hosts the adaptive throttle slows
// Stats names.
const maxAutoThrottledListed = 10

// maxCappedListed is how many hosts with a capped Crawl-delay Stats names.
const maxCappedListed = 100

// cappedDelays remembers the hosts whose Crawl-delay was capped: the first
// maxCappedListed by name, and how many in all. It is safe for concurrent
// use.
type cappedDelays struct {
	mu    sync.Mutex
	hosts map[string]time.Duration
	more  int64 // notes of hosts not in hosts, once the list was full
}

// note records that host asked for delay d. A listed host counts once; a
// host past the list counts each time it is noted, which the crawler does
// when the frontier takes up the host again.
func (c *cappedDelays) note(host string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.hosts[host]; ok {
		return
	}
	if len(c.hosts) >= maxCappedListed {
		c.more++
		return
	}
	if c.hosts == nil {
		c.hosts = make(map[string]time.Duration)
	}
	c.hosts[host] = d
}

func (c *cappedDelays) snapshot() (map[string]time.Duration, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.hosts) == 0 {
		return nil, 0
	}
	return maps.Clone(c.hosts), int64(len(c.hosts)) + c.more
}

// HostPause is a host paused by a server's Retry-After or by the back-off
// after errors.
type HostPause struct {
	Host   string
	Reason string // "retry-after" or "back-off"
	Until  time.Time
}

// HostWait is how long politeness held a host back in all: the spacing a
// Crawl-delay added beyond Rate for each request, and the pauses.
type HostWait struct {
	Host   string
	Reason string // what held it back most: "crawl-delay", "retry-after" or "back-off"
	Waited time.Duration
}

// maxThrottled is how many hosts each table of throttle keeps.
const maxThrottled = 1000

// throttle remembers what politeness, not the network, slowed the crawl
// down: hosts spaced by a robots.txt Crawl-delay longer than Rate's
// interval, hosts paused now, and how long each host waited. Each table
// keeps at most maxThrottled hosts (the waits keep the longest), so its
// memory is bounded however many hosts the crawl meets. It is safe for
// concurrent use.
type throttle struct {
	mu         sync.Mutex
	delayed    map[string]time.Duration // host -> the Crawl-delay applied
	moreDelays int64                    // delayed hosts past the table
	maxDelay   time.Duration
	paused     map[string]HostPause
	waited     map[string]*HostWait
	reasons    map[string]map[string]time.Duration // host -> reason -> waited, for the hosts in waited
}

// delay notes that host is spaced by d, a Crawl-delay longer than Rate
// allows, and that this request waited extra for it.
func (t *throttle) delay(host string, d, extra time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maxDelay = max(t.maxDelay, d)
	if _, ok := t.delayed[host]; !ok {
		if len(t.delayed) >= maxThrottled {
			t.moreDelays++
		} else {
			if t.delayed == nil {
				t.delayed = make(map[string]time.Duration)
			}
			t.delayed[host] = d
		}
	} else {
		t.delayed[host] = d
	}
	t.addWait(host, "crawl-delay", extra)
}

// pause notes that host makes no request before until, for reason.
func (t *throttle) pause(host, reason string, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if len(t.paused) >= maxThrottled {
		for h, p := range t.paused {
			if !p.Until.After(now) {
				delete(t.paused, h)
			}
		}
	}
	if _, ok := t.paused[host]; ok || len(t.paused) < maxThrottled {
		if t.paused == nil {
			t.paused = make(map[string]HostPause)
		}
		t.paused[host] = HostPause{Host: host, Reason: reason, Until: until}
	}
	t.addWait(host, reason, until.Sub(now))
}

// addWait adds d to host's wait for reason, keeping the longest waits
// when the table is full. addWait requires t.mu held.
func (t *throttle) addWait(host, reason string, d time.Duration) {
	if d <= 0 {
		return
	}
	w, ok := t.waited[host]
	if !ok {
		if len(t.waited) >= maxThrottled {
			var least *HostWait
			for _, v := range t.waited {
				if least == nil || v.Waited < least.Waited {
					least = v
				}
			}
			if least.Waited >= d {
				return
			}
			delete(t.waited, least.Host)
			delete(t.reasons, least.Host)
		}
		if t.waited == nil {
			t.waited = make(map[string]*HostWait)
			t.reasons = make(map[string]map[string]time.Duration)
		}
		w = &HostWait{Host: host}
		t.waited[host] = w
		t.reasons[host] = make(map[string]time.Duration, 1)
	}
	w.Waited += d
	r := t.reasons[host]
	r[reason] += d
	if w.Reason == "" || r[reason] > r[w.Reason] {
		w.Reason = reason
	}
}

// show is how many paused and waiting hosts Stats lists.
const show = 5

// snapshot fills s's politeness fields.
func (t *throttle) snapshot(s *Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.CrawlDelayHosts = int64(len(t.delayed)) + t.moreDelays
	s.CrawlDelayMax = t.maxDelay
	now := time.Now()
	for _, p := range t.paused {
		if p.Until.After(now) {
			s.Paused = append(s.Paused, p)
		}
	}
	s.PausedHosts = len(s.Paused)
	slices.SortFunc(s.Paused, func(a, b HostPause) int { return a.Until.Compare(b.Until) })
	s.Paused = s.Paused[:min(len(s.Paused), show)]
	for _, w := range t.waited {
		s.Waited = append(s.Waited, *w)
	}
	slices.SortFunc(s.Waited, func(a, b HostWait) int { return cmp.Or(cmp.Compare(b.Waited, a.Waited), cmp.Compare(a.Host, b.Host)) })
	s.Waited = s.Waited[:min(len(s.Waited), show)]
}
