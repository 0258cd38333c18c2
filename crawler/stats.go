package crawler

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"trawl/store"
)

// Stats counts what a crawl did. Records fall in exactly one of Fetched,
// Errors and Skipped.
type Stats struct {
	Fetched int64            // records of URLs fetched (any HTTP status)
	Errors  int64            // records of URLs that failed
	Skipped map[string]int64 // records of URLs not fetched, by reason
	Status  map[int]int64    // fetched records by HTTP status
	Bytes   int64            // decoded body bytes kept, summed

	Retries    int64 // attempts put back for a later try
	OutOfScope int64 // links and redirects outside the scope: counted, not recorded
	NoFollow   int64 // nofollow links not followed: counted, not recorded
	Duplicates int64 // links and redirects to URLs already seen
	// LinksDropped counts the links past Config.MaxLinks on a page.
	LinksDropped int64

	// CrawlDelayCapped lists hosts whose robots.txt Crawl-delay was
	// longer than Config.MaxCrawlDelay, with the delay they asked for
	// (at most maxCappedListed hosts); CrawlDelayCappedHosts counts them
	// all.
	CrawlDelayCapped      map[string]time.Duration
	CrawlDelayCappedHosts int64

	// Stopped says why the crawl ended before running out of work
	// without an error: StopMaxTime, or empty.
	Stopped string

	Queued   int // URLs waiting in the frontier at the snapshot
	InFlight int // URLs being fetched at the snapshot

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

// PagesPerSecond is the rate of fetched records over the elapsed time.
func (s Stats) PagesPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Fetched) / s.Elapsed.Seconds()
}

// counters is a run's live statistics, safe for concurrent use.
type counters struct {
	fetched, errors, bytes        atomic.Int64
	retries, outOfScope, noFollow atomic.Int64
	duplicates, linksDropped      atomic.Int64

	mu      sync.Mutex // guards skipped and status
	skipped map[string]int64
	status  map[int]int64
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
		Started:      r.started,
		Resumed:      r.resumed.Load(),
	}
	s.CrawlDelayCapped, s.CrawlDelayCappedHosts = r.capped.snapshot()
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
		s.Queued, s.InFlight = fs.Queued, fs.InFlight
	} else if !r.finished.Load() {
		if fs, err := r.frontier.Stats(ctx); err == nil {
			s.Queued, s.InFlight = fs.Queued, fs.InFlight
		}
	}
	return s
}

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
