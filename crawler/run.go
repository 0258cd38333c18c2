package crawler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/publicsuffix"

	"trawl/fetch"
	"trawl/parse"
	"trawl/store"
)

// Skip reasons written in records.
const (
	SkipRobots            = "robots"
	SkipDepth             = "depth"
	SkipMaxPages          = "max-pages"
	SkipExcluded          = "excluded"
	SkipRedirectScope     = "redirect-out-of-scope"
	SkipRedirectRobots    = "redirect-robots"
	SkipRedirectDuplicate = "redirect-duplicate"
)

// run is the state of one crawl.
type run struct {
	cfg      Config
	fetcher  Fetcher
	frontier Frontier
	sink     Sink
	scope    hostSet // allowed hosts (ScopeHost) or domains (ScopeDomain)
	robotsOK hostSet // hosts whose Crawl-delay was handed to the frontier

	counters counters
	started  time.Time
	ended    atomic.Pointer[time.Time]
	finished atomic.Bool // frontier closed: snapshot must not touch it
	final    atomic.Pointer[store.FrontierStats]

	budgetMu sync.Mutex   // serializes admission against MaxPages
	admitted atomic.Int64 // URLs pushed into the frontier, for MaxPages

	// With a checkpointing frontier: a record's sink write and its
	// frontier change happen under commitMu read-locked; a checkpoint
	// takes it exclusively, so it never splits the two.
	cp        Checkpointer
	flusher   Flusher   // cp, if it can flush
	syncSink  SyncSink  // the sink, if it can sync
	flushSink flushSink // the sink, if it buffers but cannot sync
	commitMu  sync.RWMutex
	commits   commits
	busy      atomic.Int32            // workers handling a lease, waits for durability included
	state     *State                  // what the next checkpoint records; guarded by commitMu
	resumed   atomic.Pointer[Resumed] // set when the crawl continued saved state
}

func newRun(cfg Config, f Fetcher, fr Frontier) *run {
	r := &run{cfg: cfg, fetcher: f, frontier: fr, sink: cfg.Sink, started: time.Now()}
	if r.sink == nil {
		r.sink = SinkFunc(func(context.Context, store.Record) error { return nil })
	}
	r.counters.skipped = map[string]int64{}
	r.counters.status = map[int]int64{}
	r.commits.gen = make(chan struct{})
	r.commits.signal = make(chan struct{}, 1)
	r.commits.full = make(chan struct{}, 1)
	if cp, ok := fr.(Checkpointer); ok {
		r.cp = cp
		r.flusher, _ = cp.(Flusher)
		r.syncSink, _ = r.sink.(SyncSink)
		if r.syncSink == nil {
			r.flushSink, _ = r.sink.(flushSink)
		}
	}
	return r
}

// scopeKey returns the key a host is scoped by: the host itself, or for
// ScopeDomain its registrable domain (eTLD+1). It does not allocate.
func (r *run) scopeKey(host string) string {
	if r.cfg.Scope != ScopeDomain {
		return host
	}
	h := host
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i] // drop the port
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if d, err := publicsuffix.EffectiveTLDPlusOne(h); err == nil {
		return d
	}
	return h // an IP address, localhost, a bare TLD: itself
}

func (r *run) inScope(host string) bool {
	return r.cfg.Scope == ScopeAny || r.scope.has(r.scopeKey(host))
}

// crawl seeds the frontier and runs the scheduler until the crawl is done.
func (r *run) crawl(ctx context.Context, seeds []store.Entry) error {
	defer func() {
		now := time.Now()
		r.ended.Store(&now)
	}()
	for _, e := range seeds {
		r.scope.add(r.scopeKey(e.Host))
	}
	if r.cp != nil {
		urls := make([]string, len(seeds))
		for i, e := range seeds {
			urls[i] = e.URL
		}
		if err := r.resume(ctx, urls); err != nil {
			return err
		}
	}
	if err := r.admit(ctx, seeds, ""); err != nil {
		return err
	}
	if r.cp != nil {
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
	}
	err := r.schedule(ctx)
	if r.cp != nil {
		// A clean stop, cancelled or not: save what was done.
		if cerr := r.checkpoint(ctx); cerr != nil && (err == nil || errors.Is(err, context.Canceled)) {
			err = cerr
		}
	}
	if fs, ferr := r.frontier.Stats(context.WithoutCancel(ctx)); ferr == nil {
		r.final.Store(&fs)
	}
	return err
}

// schedule claims work from ready hosts for idle workers and hands it out,
// until nothing is queued and nothing is in flight, or ctx ends. It owns
// the workers: it returns only after all of them have exited.
func (r *run) schedule(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	n := r.cfg.Concurrency
	jobs := make(chan store.Lease, n) // never blocks: at most n in flight
	done := make(chan error, n)       // never blocks: one result per job
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range jobs {
				r.busy.Add(1)
				err := r.handle(ctx, l)
				r.busy.Add(-1)
				done <- err
			}
		}()
	}
	// Stop the workers, then the committer, and wait for all of them.
	defer func() {
		close(jobs)
		cancel()
		wg.Wait()
	}()

	var fatal error
	inflight := 0
	finished := func(err error) { // a worker is done with a lease
		inflight--
		if err != nil && fatal == nil && ctx.Err() == nil {
			fatal = err
			cancel()
		}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	if r.cp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.commitLoop(ctx); err != nil {
				cancel() // the error is sticky in r.commits
			}
		}()
	}

	for {
		// Collect every result that is ready without waiting.
		for drained := false; !drained; {
			select {
			case err := <-done:
				finished(err)
			default:
				drained = true
			}
		}
		if ctx.Err() != nil {
			for inflight > 0 {
				finished(<-done)
			}
			if fatal != nil {
				return fatal
			}
			if err := r.commitErr(); err != nil {
				return err
			}
			return parent.Err()
		}

		var next time.Time
		if free := n - inflight; free > 0 {
			leases, nx, err := r.frontier.Claim(ctx, free)
			if err != nil {
				if ctx.Err() == nil {
					fatal = fmt.Errorf("crawler: claim: %w", err)
					cancel()
				}
				continue
			}
			next = nx
			for _, l := range leases {
				jobs <- l
				inflight++
			}
			if len(leases) > 0 && len(leases) == free {
				continue
			}
		}
		if inflight == 0 {
			fs, err := r.frontier.Stats(ctx)
			if err != nil {
				if ctx.Err() == nil {
					fatal = fmt.Errorf("crawler: frontier stats: %w", err)
					cancel()
				}
				continue
			}
			if fs.Queued == 0 && fs.InFlight == 0 {
				return nil
			}
			// Work remains but none of it is ours: wait for its time, and
			// look again at least every second in case another process
			// sharing the frontier settles it.
			if next.IsZero() || time.Until(next) > time.Second {
				next = time.Now().Add(time.Second)
			}
		}

		var wake <-chan time.Time
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), 0))
			wake = timer.C
		}
		select {
		case err := <-done:
			finished(err)
		case <-wake:
		case <-ctx.Done():
		}
		if wake != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// handle fetches one leased URL and settles its lease. It returns an error
// only for failures that must stop the crawl (sink, frontier, page hook);
// per-URL failures become records.
func (r *run) handle(ctx context.Context, l store.Lease) error {
	if ctx.Err() != nil {
		return nil // abandoned: the lease stays in flight and expires
	}
	rec := &store.Record{URL: l.URL, Depth: l.Depth, Parent: l.Parent, Attempts: l.Attempt + 1}
	u, err := url.Parse(l.URL)
	if err != nil {
		rec.Error = fmt.Sprintf("bad url: %v", err)
		return r.settle(ctx, l, rec)
	}

	if !r.cfg.IgnoreRobots {
		allowed, err := r.robotsAllow(ctx, u, l.Host)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return r.retryOrFail(ctx, l, rec, err.Error(), 0, true)
		}
		if !allowed {
			rec.Skipped = SkipRobots
			return r.settle(ctx, l, rec)
		}
	}

	resp, err := r.fetcher.Fetch(ctx, fetch.Request{URL: l.URL, CheckRedirect: r.checkRedirect(l)})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if fetch.Retryable(err) {
			return r.retryOrFail(ctx, l, rec, err.Error(), 0, false)
		}
		rec.Error = err.Error()
		return r.settle(ctx, l, rec)
	}
	rec.FinalURL = resp.FinalURL
	if rec.FinalURL == rec.URL {
		rec.FinalURL = ""
	}
	rec.Status = resp.Status
	rec.ContentType = resp.ContentType
	rec.Bytes = int64(len(resp.Body))
	rec.Truncated = resp.Truncated
	rec.FetchedAt = time.Now().UTC().Truncate(time.Millisecond)
	rec.DurationMS = resp.Duration.Milliseconds()

	if resp.Status == 429 || resp.Status >= 500 {
		hostWide := resp.Status == 429 || resp.Status == 503 || resp.RetryAfter > 0
		if l.Attempt < r.cfg.Retries {
			return r.retryOrFail(ctx, l, rec, "", resp.RetryAfter, hostWide)
		}
		return r.settle(ctx, l, rec)
	}
	if resp.RedirectErr != nil {
		rec.FinalURL = resp.RedirectTo
		var skip *skipError
		switch {
		case errors.As(resp.RedirectErr, &skip):
			rec.Skipped = skip.reason
			if skip.reason == SkipRedirectDuplicate {
				r.counters.duplicates.Add(1)
			}
		default:
			rec.Error = resp.RedirectErr.Error()
		}
		return r.settle(ctx, l, rec)
	}
	if resp.Status >= 200 && resp.Status < 300 && parse.IsHTML(resp.ContentType, resp.Body) {
		if err := r.page(ctx, l, rec, resp); err != nil {
			return err
		}
	}
	return r.settle(ctx, l, rec)
}

// page parses an HTML response, runs the page hook and queues the links.
func (r *run) page(ctx context.Context, l store.Lease, rec *store.Record, resp *fetch.Response) error {
	final, err := url.Parse(resp.FinalURL)
	if err != nil {
		final, _ = url.Parse(l.URL)
	}
	doc, err := parse.HTML(resp.Body, resp.ContentType, final)
	if err != nil {
		rec.Error = err.Error()
		return nil
	}
	rec.Title = doc.Title
	rec.Canonical = doc.Canonical
	rec.Description = doc.Description
	rec.Lang = doc.Lang
	rec.Links = len(doc.Links)

	links := doc.Links
	if r.cfg.OnPage != nil {
		p := &Page{URL: final, Depth: l.Depth, Response: resp, HTML: doc, Links: links}
		if err := r.cfg.OnPage(ctx, p); err != nil {
			return fmt.Errorf("crawler: page hook for %s: %w", resp.FinalURL, err)
		}
		links, rec.Data = p.Links, p.Data
	}
	if doc.NoFollow {
		r.counters.noFollow.Add(int64(len(links)))
		return nil
	}
	return r.follow(ctx, l.Depth+1, resp.FinalURL, links)
}

// follow decides about the links found on a page: out of scope and
// nofollow links are counted; filtered and too deep ones are recorded as
// skipped (once per URL); the rest are admitted into the frontier.
func (r *run) follow(ctx context.Context, depth int, parent string, links []parse.Link) error {
	entries := make([]store.Entry, 0, len(links))
	for _, ln := range links {
		switch {
		case ln.NoFollow:
			r.counters.noFollow.Add(1)
			continue
		case !r.inScope(ln.Host):
			r.counters.outOfScope.Add(1)
			continue
		}
		reason := ""
		switch {
		case !r.included(ln.Key):
			reason = SkipExcluded
		case r.cfg.MaxDepth < 0 || (r.cfg.MaxDepth > 0 && depth > r.cfg.MaxDepth):
			reason = SkipDepth
		}
		e := store.Entry{URL: ln.URL, Key: ln.Key, Host: ln.Host, Depth: depth, Parent: parent}
		if reason != "" {
			if err := r.skip(ctx, e, reason); err != nil {
				return err
			}
			continue
		}
		entries = append(entries, e)
	}
	return r.admit(ctx, entries, parent)
}

// included applies the Include and Exclude expressions to a link's key.
func (r *run) included(key string) bool {
	for _, re := range r.cfg.Exclude {
		if re.MatchString(key) {
			return false
		}
	}
	if len(r.cfg.Include) == 0 {
		return true
	}
	for _, re := range r.cfg.Include {
		if re.MatchString(key) {
			return true
		}
	}
	return false
}

// admit pushes entries into the frontier, within the MaxPages budget;
// new URLs past the budget are recorded as skipped.
func (r *run) admit(ctx context.Context, entries []store.Entry, parent string) error {
	if len(entries) == 0 {
		return nil
	}
	if r.cfg.MaxPages == 0 {
		added, err := r.frontier.Push(ctx, entries)
		if err != nil {
			return fmt.Errorf("crawler: push: %w", err)
		}
		r.counters.duplicates.Add(int64(len(entries) - added))
		return nil
	}
	r.budgetMu.Lock()
	defer r.budgetMu.Unlock()
	if r.cfg.MaxPages-int(r.admitted.Load()) >= len(entries) {
		added, err := r.frontier.Push(ctx, entries)
		if err != nil {
			return fmt.Errorf("crawler: push: %w", err)
		}
		r.admitted.Add(int64(added))
		r.counters.duplicates.Add(int64(len(entries) - added))
		return nil
	}
	for i := range entries {
		if int(r.admitted.Load()) < r.cfg.MaxPages {
			added, err := r.frontier.Push(ctx, entries[i:i+1])
			if err != nil {
				return fmt.Errorf("crawler: push: %w", err)
			}
			r.admitted.Add(int64(added))
			r.counters.duplicates.Add(int64(1 - added))
			continue
		}
		if err := r.skip(ctx, entries[i], SkipMaxPages); err != nil {
			return err
		}
	}
	return nil
}

// skip records e as skipped for reason, unless its URL was seen before.
func (r *run) skip(ctx context.Context, e store.Entry, reason string) error {
	r.commitMu.RLock()
	defer r.commitMu.RUnlock()
	r.dirty(false)
	first, err := r.frontier.MarkSeen(ctx, e.Key)
	if err != nil {
		return fmt.Errorf("crawler: mark seen: %w", err)
	}
	if !first {
		r.counters.duplicates.Add(1)
		return nil
	}
	rec := store.Record{URL: e.URL, Depth: e.Depth, Parent: e.Parent, Skipped: reason}
	if err := r.sink.Put(ctx, rec); err != nil {
		return fmt.Errorf("crawler: sink: %w", err)
	}
	r.counters.record(&rec)
	return nil
}

// robotsAllow reports whether robots.txt lets us fetch u, and hands the
// host's Crawl-delay to the frontier the first time it is known.
func (r *run) robotsAllow(ctx context.Context, u *url.URL, host string) (bool, error) {
	rob, err := r.fetcher.Robots(ctx, u)
	if err != nil {
		return false, err
	}
	if d := rob.CrawlDelay(); d > 0 && r.robotsOK.first(host) {
		if err := r.frontier.SetHostInterval(ctx, host, d); err != nil {
			return false, fmt.Errorf("crawler: set host interval: %w", err)
		}
	}
	return rob.Allowed(u), nil
}

// skipError stops a redirect chain for a reason that is a skip, not a
// failure.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "redirect not followed: " + e.reason }

// checkRedirect returns the hook that vets each redirect hop of l: the
// target must be in scope, allowed by robots.txt and not seen before. A
// seed's redirect brings its target host into scope, so that
// http://example.com/ -> https://www.example.com/ crawls the latter.
func (r *run) checkRedirect(l store.Lease) func(ctx context.Context, to *url.URL) error {
	chain := []string{l.Key} // keys of this fetch's hops so far
	return func(ctx context.Context, to *url.URL) error {
		key, host, err := parse.Normalize(to)
		if err != nil {
			return fmt.Errorf("redirect to %s: %w", to, err)
		}
		if slices.Contains(chain, key) {
			return fmt.Errorf("redirect loop: %s", to)
		}
		chain = append(chain, key)
		if !r.inScope(host) {
			if l.Depth != 0 {
				return &skipError{SkipRedirectScope}
			}
			r.scope.add(r.scopeKey(host))
		}
		if !r.cfg.IgnoreRobots {
			allowed, err := r.robotsAllow(ctx, to, host)
			if err != nil {
				return fmt.Errorf("redirect to %s: %w", to, err)
			}
			if !allowed {
				return &skipError{SkipRedirectRobots}
			}
		}
		first, err := r.frontier.MarkSeen(ctx, key)
		if err != nil {
			return fmt.Errorf("redirect to %s: %w", to, err)
		}
		// A retried fetch meets the targets its earlier attempt marked.
		if !first && l.Attempt == 0 {
			return &skipError{SkipRedirectDuplicate}
		}
		return nil
	}
}

// retryOrFail puts l back for another attempt after a back-off, or, when
// its attempts are used up, records it as failed with reason (or, for an
// HTTP status, as fetched with that status).
func (r *run) retryOrFail(ctx context.Context, l store.Lease, rec *store.Record, reason string, retryAfter time.Duration, hostWide bool) error {
	if l.Attempt >= r.cfg.Retries {
		rec.Error = reason
		return r.settle(ctx, l, rec)
	}
	wait := max(backoff(r.cfg.RetryBackoff, l.Attempt), retryAfter)
	r.counters.retries.Add(1)
	if err := r.frontier.Retry(context.WithoutCancel(ctx), l, time.Now().Add(wait), hostWide); err != nil && !errors.Is(err, store.ErrStaleLease) {
		return fmt.Errorf("crawler: retry: %w", err)
	}
	return nil
}

// backoff is the wait before attempt+2: base·2^attempt, with ±50% jitter.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 16)
	return d/2 + rand.N(d)
}

// write puts l's record into the sink and acks its lease, under
// commitMu so that no checkpoint falls between the two. It runs even when
// ctx has just ended: the work is done and must not be repeated. With
// group commit it returns the channel closed when the write is durable.
func (r *run) write(ctx context.Context, l store.Lease, rec *store.Record) (durable <-chan struct{}, err error) {
	ctx = context.WithoutCancel(ctx)
	r.commitMu.RLock()
	defer r.commitMu.RUnlock()
	durable = r.dirty(true)
	if err := r.sink.Put(ctx, *rec); err != nil {
		return nil, fmt.Errorf("crawler: sink: %w", err)
	}
	r.counters.record(rec)
	o := store.Outcome{Status: rec.Status, Error: rec.Error, Skipped: rec.Skipped}
	if err := r.frontier.Ack(ctx, l, o); err != nil && !errors.Is(err, store.ErrStaleLease) {
		return nil, fmt.Errorf("crawler: ack: %w", err)
	}
	return durable, nil
}

// settle writes l's record, acks its lease and, with group commit, waits
// until that is durable, so that a crash redoes at most the URLs in
// flight. The wait ends early when ctx does: the last checkpoint, when
// Run stops, covers it.
func (r *run) settle(ctx context.Context, l store.Lease, rec *store.Record) error {
	done, err := r.write(ctx, l, rec)
	if err != nil || done == nil {
		return err
	}
	select {
	case <-done:
		return r.commitErr()
	case <-ctx.Done():
		return nil
	}
}
