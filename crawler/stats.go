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
	OutOfScope int64 // links outside the scope: counted, not recorded
	NoFollow   int64 // nofollow links not followed: counted, not recorded
	Duplicates int64 // links and redirects to URLs already seen

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
	duplicates                    atomic.Int64

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
		Fetched:    c.fetched.Load(),
		Errors:     c.errors.Load(),
		Bytes:      c.bytes.Load(),
		Retries:    c.retries.Load(),
		OutOfScope: c.outOfScope.Load(),
		NoFollow:   c.noFollow.Load(),
		Duplicates: c.duplicates.Load(),
		Started:    r.started,
		Resumed:    r.resumed.Load(),
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
