package crawler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
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
	SkipRobots         = "robots"          // robots.txt disallows it
	SkipDepth          = "depth"           // deeper than MaxDepth
	SkipMaxPages       = "max-pages"       // past the MaxPages budget
	SkipBudget         = "budget"          // past its host's MaxPerHost budget
	SkipExcluded       = "excluded"        // Include or Exclude filtered it out
	SkipURLTooLong     = "url-too-long"    // longer than MaxURLLength
	SkipBlockedAddress = "blocked-address" // the address guard refused its host's address
	SkipVetoed         = "vetoed"          // Config.OnRequest vetoed its request
	// SkipHostUnreachable: its host was declared unreachable after
	// Config.MaxHostFailures connection failures in a row.
	SkipHostUnreachable = "host-unreachable"
)

// Why a crawl stopped early without an error (Stats.Stopped).
const (
	StopMaxTime   = "max-time"  // Config.MaxTime ran out
	StopMaxBytes  = "max-bytes" // the bytes kept reached Config.MaxBytes
	StopRequested = "stop"      // a hook returned ErrStop
)

// ErrStop, returned by OnPage, OnResponse or OnError, ends the crawl
// after the URL at hand: its record (and Page.Data) is kept, URLs in
// flight are abandoned (a resumed crawl fetches them again), and Run
// returns a nil error with Stats.Stopped set to StopRequested.
var ErrStop = errors.New("crawler: stop")

// errMaxTime is the cause of the context that Config.MaxTime ends.
var errMaxTime = errors.New("crawler: max time reached")

// run is the state of one crawl.
type run struct {
	cfg      Config
	fetcher  Fetcher
	frontier Frontier
	outbox   Outbox // the frontier, if it keeps the records itself; then sink is unused
	sink     Sink
	scope    hostSet       // allowed hosts (ScopeHost) or domains (ScopeDomain)
	interval time.Duration // the frontier's spacing of a host's requests unless raised

	scopeMu    sync.Mutex
	scopeAdded []string    // scope keys seed redirects added, in order; kept in the state
	domains    domainCache // registrable domains of hosts, for ScopeDomain

	met           metHosts      // hosts met, for their sitemaps, without robots.txt
	capped        cappedDelays  // hosts whose robots.txt Crawl-delay was capped
	throttle      throttle      // what politeness held back
	auto          *autoThrottle // Config.AutoThrottle; nil without it
	rend          *renderState  // Config.Render; nil without it
	stopped       atomic.Pointer[string]
	releaseBodies bool // see releasesBodies

	counters counters
	started  time.Time
	ended    atomic.Pointer[time.Time]
	finished atomic.Bool // frontier closed: snapshot must not touch it
	final    atomic.Pointer[store.FrontierStats]

	budgetMu sync.Mutex   // serializes admission against MaxPages and MaxPerHost
	admitted atomic.Int64 // URLs pushed into the frontier, for MaxPages
	// hostPages counts the URLs pushed per host, for MaxPerHost. hostMu
	// guards it and is never held while taking another lock: admission
	// takes commitMu (to record skips) under budgetMu, and a checkpoint
	// copies hostPages under commitMu.
	hostMu    sync.Mutex
	hostPages map[string]int

	hosts      hostBudget              // MaxHostFailures (budget.go)
	priorBytes int64                   // bytes kept by earlier runs of a resumed crawl; set before the workers start
	stopBytes  context.CancelCauseFunc // ends the crawl at MaxBytes; nil without it
	bytesOut   atomic.Bool             // MaxBytes was reached

	// With a checkpointing frontier: a record's sink write and its
	// frontier change happen under commitMu read-locked; a checkpoint
	// takes it exclusively, so it never splits the two.
	cp       Checkpointer
	flusher  Flusher  // cp, if it can flush
	syncSink SyncSink // the sink, if it can sync
	// syncArchive is Config.Archive, with a checkpointing frontier.
	syncArchive SyncArchive

	commitMu sync.RWMutex
	commits  commits
	busy     atomic.Int32            // workers handling a lease, waits for durability included
	state    *State                  // what the next checkpoint records; guarded by commitMu
	counted  Counts                  // records of earlier runs of a resumed crawl; guarded by commitMu
	statusAt time.Time               // when the last status was published; guarded by commitMu
	closing  atomic.Bool             // the last checkpoint of the run is next
	resumed  atomic.Pointer[Resumed] // set when the crawl continued saved state
	began    bool                    // the start was logged (logStart); Run's goroutine only
}

func newRun(cfg Config, f Fetcher, fr Frontier) *run {
	r := &run{cfg: cfg, fetcher: f, frontier: fr, sink: cfg.Sink, started: time.Now(), interval: rateInterval(cfg.Rate), auto: newAutoThrottle(cfg)}
	r.hosts.init(cfg.MaxHostFailures)
	r.rend = newRenderState(r)
	r.releaseBodies = releasesBodies(cfg)
	if r.sink == nil {
		r.sink = SinkFunc(func(context.Context, store.Record) error { return nil })
	}
	r.outbox, _ = fr.(Outbox)
	r.counters.init()
	r.commits.gen = make(chan struct{})
	r.commits.signal = make(chan struct{}, 1)
	r.commits.full = make(chan struct{}, 1)
	if cp, ok := fr.(Checkpointer); ok && r.outbox == nil { // an Outbox keeps the records itself
		r.cp = cp
		r.flusher, _ = cp.(Flusher)
		r.syncSink, _ = r.sink.(SyncSink) // Run made sure it is one, unless Sink is nil
		r.syncArchive, _ = cfg.Archive.(SyncArchive)
	}
	return r
}

// releasesBodies reports whether a crawl configured by cfg needs no page's
// body once its URL is handled: no hook or renderer can keep it, and the
// fetcher is the crawl's own, whose buffers fetch.Response.Release gives
// back for later fetches.
func releasesBodies(cfg Config) bool {
	return cfg.Fetcher == nil && cfg.WrapFetcher == nil && cfg.OnResponse == nil && cfg.OnPage == nil && cfg.Render == nil
}

// scopeKey returns the key a host is scoped by: the host itself, or for
// ScopeDomain its registrable domain (eTLD+1).
func (r *run) scopeKey(host string) string {
	if r.cfg.Scope != ScopeDomain {
		return host
	}
	return r.domains.get(host)
}

// domainCache remembers the registrable domains of the hosts seen: a
// crawl asks for the domain of the same few hosts over and over, once per
// link, and the public suffix lookup was a good part of a link's cost. It
// holds at most maxDomains hosts and starts again empty when full. It is
// safe for concurrent use; the zero value is ready.
type domainCache struct {
	mu sync.RWMutex
	m  map[string]string // host -> scope key; requires mu
}

// maxDomains bounds a domainCache.
const maxDomains = 1 << 14

// get returns host's registrable domain (eTLD+1), or for an IP address,
// localhost or a bare public suffix, its host name.
func (c *domainCache) get(host string) string {
	c.mu.RLock()
	d, ok := c.m[host]
	c.mu.RUnlock()
	if ok {
		return d
	}
	d = hostname(host)
	if etld1, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		d = etld1
	} // else an IP address, localhost, a bare TLD: itself
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDomains {
		c.m = make(map[string]string)
	}
	c.m[host] = d
	c.mu.Unlock()
	return d
}

func (r *run) inScope(host string) bool {
	return r.cfg.Scope == ScopeAny || r.scope.has(r.scopeKey(host))
}

// widen brings host into the scope, for the redirect of a seed (say
// http://example.com/ to https://www.example.com/), and remembers it for
// the state, so that a resumed crawl keeps it.
func (r *run) widen(host string) {
	k := r.scopeKey(host)
	if !r.scope.first(k) {
		return
	}
	r.scopeMu.Lock()
	r.scopeAdded = append(r.scopeAdded, k)
	r.scopeMu.Unlock()
}

// widened returns the scope keys seed redirects added.
func (r *run) widened() []string {
	r.scopeMu.Lock()
	defer r.scopeMu.Unlock()
	return slices.Clone(r.scopeAdded)
}

// crawl seeds the frontier and runs the scheduler until the crawl is done.
func (r *run) crawl(parent context.Context, seeds []store.Entry) error {
	defer func() {
		now := time.Now()
		r.ended.Store(&now)
	}()
	ctx := parent
	if r.cfg.MaxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(parent, r.cfg.MaxTime, errMaxTime)
		defer cancel()
	}
	if r.cfg.MaxBytes > 0 {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		r.stopBytes = cancel
	}
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
	if err := r.admit(ctx, seeds); err != nil {
		return err
	}
	if r.cp != nil {
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
	}
	r.logStart(ctx, seeds)
	r.countBytes(ctx) // earlier runs may have kept MaxBytes already
	err := r.schedule(ctx)
	r.rend.close() // no page renders now: the browser and its proxy go before the last checkpoint
	if err != nil && parent.Err() == nil {
		// A stop by the clock or by the bytes kept: a normal end,
		// resumable like any other.
		stop := ""
		switch context.Cause(ctx) {
		case errMaxTime:
			stop = StopMaxTime
		case errMaxBytes:
			stop = StopMaxBytes
		}
		if stop != "" {
			err = nil
			r.stopped.Store(&stop)
		}
	}
	if r.cp != nil {
		// A clean stop, cancelled or not: save what was done.
		r.closing.Store(true)
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
	stopping := false             // a hook returned ErrStop
	finished := func(err error) { // a worker is done with a lease
		inflight--
		switch {
		case errors.Is(err, ErrStop):
			if !stopping {
				stopping = true
				cancel()
			}
		case err != nil && fatal == nil && ctx.Err() == nil:
			fatal = err
			r.logStop(ctx, err)
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
			if stopping && parent.Err() == nil {
				stop := StopRequested
				r.stopped.Store(&stop)
				return nil
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
			// look again in case another process sharing the frontier
			// settles it or queues the links it found: every second, or
			// every sharedPoll with a frontier made for sharing.
			poll := time.Second
			if r.outbox != nil {
				poll = sharedPoll
			}
			if next.IsZero() || time.Until(next) > poll {
				next = time.Now().Add(poll)
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
	rec := &result{Record: store.Record{URL: l.URL, Depth: l.Depth, Parent: l.Parent, Attempts: l.Attempt + 1, Kind: l.Kind}}
	if r.hosts.unreachable(l.Host) {
		rec.Skipped = SkipHostUnreachable
		return r.settle(ctx, l, rec)
	}
	u, err := url.Parse(l.URL)
	if err != nil {
		rec.Error, rec.errKind = fmt.Sprintf("bad url: %v", err), fetch.KindBadURL.String()
		return r.settle(ctx, l, rec)
	}

	if !r.cfg.IgnoreRobots {
		start := time.Now()
		rob, err := r.fetcher.Robots(ctx, u)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.logRobots(ctx, l, err)
			r.hostFailed(ctx, l, err, true)
			return r.failed(ctx, l, rec, err, true)
		}
		if ex := rob.TakeExchanges(); len(ex) > 0 && r.cfg.Archive != nil {
			if err := r.archive(ctx, ex, nil); err != nil {
				return err
			}
		}
		r.counters.robots(!rob.FetchedAt().Before(start))
		if !rob.FetchedAt().Before(start) {
			r.hosts.answered(l.Host)
			if r.rend != nil {
				r.rend.gov.note(l.Host, rob.FetchedAt(), r.interval) // the browser's requests are spaced from it too
			}
		}
		iv, err := r.crawlDelay(ctx, l, rob)
		if err != nil {
			return err
		}
		if iv > r.interval {
			r.throttle.delay(l.Host, iv, iv-r.interval)
		}
		if !rob.FetchedAt().Before(start) {
			// This turn fetched the host's robots.txt: the crawl meets
			// the host, and looks for its sitemaps.
			if err := r.hostSitemaps(ctx, u, rob); err != nil {
				return err
			}
		}
		if !rob.Allowed(u) {
			rec.Skipped = SkipRobots
			return r.settle(ctx, l, rec)
		}
		if iv > 0 && !rob.FetchedAt().Before(start) {
			// This turn's request to the host fetched its robots.txt:
			// the page waits for the host's next turn in the frontier,
			// not in this worker.
			return r.release(ctx, l, time.Now().Add(iv))
		}
	}

	if r.cfg.IgnoreRobots && r.metHost(l.Host) {
		if err := r.hostSitemaps(ctx, u, nil); err != nil {
			return err
		}
	}

	if r.rend != nil {
		// The browser met a Retry-After of the host the frontier does
		// not know about: the page waits for the pause's end.
		if until := r.rend.gov.pausedUntil(l.Host); !until.IsZero() {
			return r.release(ctx, l, until)
		}
	}
	sent := time.Now()
	resp, err := r.fetchPage(ctx, l)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		rec.FetchedAt = time.Now().UTC().Truncate(time.Millisecond)
		rec.DurationMS = time.Since(sent).Milliseconds()
		r.hostFailed(ctx, l, err, false)
		r.adaptSpacing(ctx, l, time.Since(sent), 0, err)
		return r.failed(ctx, l, rec, err, false)
	}
	if r.releaseBodies {
		// Nothing keeps the body past this call: the parsers copy what
		// they take from it.
		defer resp.Release()
	}
	r.hosts.answered(l.Host)
	r.adaptSpacing(ctx, l, cmp.Or(resp.TTFB, resp.Duration), resp.Status, nil)
	rec.exchanges = resp.Exchanges
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
	rec.fetchTime, rec.ttfb = resp.Duration, resp.TTFB
	stop, err := r.hook(r.cfg.OnResponse != nil, func() error { return r.cfg.OnResponse(ctx, resp) }, "response hook")
	if err != nil {
		return err
	}

	switch {
	case resp.Status == 429 || resp.Status >= 500:
		hostWide := resp.Status == 429 || resp.Status == 503 || resp.RetryAfter > 0
		if l.Attempt < r.cfg.Retries {
			return stopAfter(stop, r.retryOrFail(ctx, l, rec, "", resp.RetryAfter, hostWide))
		}
	case resp.RedirectErr != nil:
		// A Fetcher that follows redirects itself stopped following.
		rec.FinalURL = resp.RedirectTo
		rec.Error, rec.errKind = resp.RedirectErr.Error(), fetch.KindOf(resp.RedirectErr).String()
	case resp.Status >= 300 && resp.Status < 400 && resp.Header.Get("Location") != "":
		return stopAfter(stop, r.redirect(ctx, l, rec, resp))
	case resp.Status >= 200 && resp.Status < 300:
		if r.rend.wants(l, resp) {
			switch reason, err := r.renderPage(ctx, l, rec, resp); {
			case errors.Is(err, errAbandoned):
				return nil
			case err != nil:
				return err
			case reason != "":
				return stopAfter(stop, r.retryOrFail(ctx, l, rec, reason, 0, false))
			}
		}
		pstop, err := r.content(ctx, l, rec, resp)
		if err != nil {
			return err
		}
		stop = stop || pstop
	}
	return stopAfter(stop, r.settle(ctx, l, rec))
}

// failed settles an attempt at l that got no response, robots.txt's
// (robots) or the page's: OnError sees it; a blocked or vetoed request
// makes the URL a skip; a robots.txt failure holds the host back and is
// tried again, as a transient page failure is; anything else is the
// URL's error.
func (r *run) failed(ctx context.Context, l store.Lease, rec *result, err error, robots bool) error {
	rec.errKind = fetch.KindOf(err).String()
	stop, herr := r.hook(r.cfg.OnError != nil, func() error { return r.cfg.OnError(ctx, l.URL, err) }, "error hook")
	if herr != nil {
		return herr
	}
	switch {
	case errors.Is(err, fetch.ErrBlockedAddress):
		rec.Skipped = SkipBlockedAddress
	case errors.Is(err, fetch.ErrVetoed):
		rec.Skipped = SkipVetoed
	case robots || fetch.Retryable(err):
		return stopAfter(stop, r.retryOrFail(ctx, l, rec, err.Error(), 0, robots))
	default:
		rec.Error = err.Error()
	}
	return stopAfter(stop, r.settle(ctx, l, rec))
}

// hook calls a user hook if it is set and sorts its result: ErrStop asks
// the crawl to stop after the URL at hand; another error stops it now.
func (r *run) hook(set bool, call func() error, what string) (stop bool, err error) {
	if !set {
		return false, nil
	}
	switch err := call(); {
	case err == nil:
		return false, nil
	case errors.Is(err, ErrStop):
		return true, nil
	default:
		return false, fmt.Errorf("crawler: %s: %w", what, err)
	}
}

// stopAfter returns err, or ErrStop when the URL was settled and a hook
// asked to stop.
func stopAfter(stop bool, err error) error {
	if err == nil && stop {
		return ErrStop
	}
	return err
}

// crawlDelay hands the frontier the host's robots.txt Crawl-delay, capped
// by MaxCrawlDelay, when the lease shows that the frontier spaces the host
// otherwise (it forgets the intervals of idle hosts), and returns the
// host's spacing.
func (r *run) crawlDelay(ctx context.Context, l store.Lease, rob *fetch.Robots) (time.Duration, error) {
	d := rob.CrawlDelay()
	if limit := r.cfg.MaxCrawlDelay; limit >= 0 && d > limit {
		r.capped.note(l.Host, d)
		d = limit
	}
	want := max(d, r.interval)
	set := d
	if r.auto != nil {
		set = r.auto.spacing(l.Host, d) // the adaptive throttle's, if longer
	}
	if max(set, r.interval) == l.Interval {
		return want, nil
	}
	if err := r.frontier.SetHostInterval(ctx, l.Host, set); err != nil {
		if ctx.Err() != nil {
			return want, nil
		}
		return 0, fmt.Errorf("crawler: set host interval: %w", err)
	}
	if asked := rob.CrawlDelay(); asked > d {
		r.logCapped(ctx, l.Host, asked, d)
	}
	return want, nil
}

// release gives l back to the frontier unsettled, claimable at at.
func (r *run) release(ctx context.Context, l store.Lease, at time.Time) error {
	if err := r.frontier.Release(context.WithoutCancel(ctx), l, at); err != nil && !errors.Is(err, store.ErrStaleLease) {
		return fmt.Errorf("crawler: release: %w", err)
	}
	return nil
}

// redirect records a 3xx answer hop by hop: rec, the source's record,
// keeps its status and gets the absolute target as Location; the target
// is considered like a link, as a URL of its own with its own record: the
// same depth, the source as parent and one more redirect hop. A seed's
// redirects may lead out of scope: they bring their target's host in.
func (r *run) redirect(ctx context.Context, l store.Lease, rec *result, resp *fetch.Response) error {
	loc := resp.Header.Get("Location")
	base, err := url.Parse(resp.FinalURL)
	if err != nil {
		base, _ = url.Parse(l.URL)
	}
	to, err := base.Parse(loc)
	if err != nil {
		rec.Error = fmt.Sprintf("bad redirect location %q: %v", loc, errors.Unwrap(err))
		rec.errKind = fetch.KindBadURL.String()
		return r.settle(ctx, l, rec)
	}
	to.Fragment, to.RawFragment = "", ""
	rec.Location = to.String()
	switch {
	case r.cfg.MaxRedirects < 0:
		return r.settle(ctx, l, rec) // recorded, not followed
	case l.Redirects >= r.cfg.MaxRedirects:
		rec.Error = fmt.Sprintf("too many redirects: this one not followed after %d in a row (max redirects %d)", l.Redirects, r.cfg.MaxRedirects)
		rec.errKind = fetch.KindTooManyRedirects.String()
		return r.settle(ctx, l, rec)
	}
	key, host, err := parse.Normalize(to)
	if err != nil {
		rec.Error = fmt.Sprintf("redirect not followed: %v", err)
		rec.errKind = fetch.KindBadURL.String()
		return r.settle(ctx, l, rec)
	}
	e := store.Entry{URL: rec.Location, Key: key, Host: host, Depth: l.Depth, Parent: l.URL, Redirects: l.Redirects + 1, Kind: l.Kind}
	if isProbe(l.Entry) {
		e.Parent = "" // the redirect of a probe is still a probe
	}
	if err := r.consider(ctx, []store.Entry{e}, l.Depth == 0); err != nil {
		return err
	}
	return r.settle(ctx, l, rec)
}

// consider decides about discovered URLs (a page's links, a redirect's
// target): out of scope ones are counted, unless seedChain says they are
// the redirect of a seed, which brings their host into scope; too long,
// filtered and too deep ones are recorded as skipped (once per URL); the
// rest are admitted into the frontier. A seed's redirect, like a seed, is
// not filtered by Include and Exclude.
func (r *run) consider(ctx context.Context, entries []store.Entry, seedChain bool) error {
	n := 0
	var scope scopeMemo
	for _, e := range entries {
		if !scope.in(r, e.Host) {
			if !seedChain {
				r.counters.outOfScope.Add(1)
				continue
			}
			r.widen(e.Host)
		}
		reason := ""
		switch {
		case r.cfg.MaxURLLength >= 0 && len(e.URL) > r.cfg.MaxURLLength:
			reason = SkipURLTooLong
		case !seedChain && !r.included(e.Key):
			reason = SkipExcluded
		case e.Depth > 0 && e.Kind != parse.KindAsset && (r.cfg.MaxDepth < 0 || (r.cfg.MaxDepth > 0 && e.Depth > r.cfg.MaxDepth)):
			reason = SkipDepth
		}
		switch {
		case isProbe(e):
			// Unrecorded unless it finds a sitemap, outside the budget.
			if reason == "" {
				if err := r.push(ctx, []store.Entry{e}); err != nil {
					return err
				}
			}
			continue
		case reason != "":
			if err := r.skip(ctx, e, reason); err != nil {
				return err
			}
			continue
		}
		entries[n] = e
		n++
	}
	return r.admit(ctx, entries[:n])
}

// scopeMemo remembers the scope of the last few hosts asked about: a
// page's links name a few hosts many times over, and a scope lookup costs
// two map lookups and a lock. The zero value is ready; it is meant to live
// for one call of consider, so that scope widened meanwhile is seen by the
// next.
type scopeMemo struct {
	n     int       // hosts asked about; the last len(hosts) are kept
	hosts [4]string // ring of hosts
	ins   [4]bool   // whether hosts[i] is in scope
}

// in reports r.inScope(host), from memory if host was asked about.
func (m *scopeMemo) in(r *run, host string) bool {
	for i := range min(m.n, len(m.hosts)) {
		if m.hosts[i] == host {
			return m.ins[i]
		}
	}
	in := r.inScope(host)
	i := m.n % len(m.hosts)
	m.hosts[i], m.ins[i] = host, in
	m.n++
	return in
}

// push pushes entries into the frontier outside the MaxPages budget.
func (r *run) push(ctx context.Context, entries []store.Entry) error {
	added, err := r.frontier.Push(ctx, entries)
	if err != nil {
		return fmt.Errorf("crawler: push: %w", err)
	}
	r.counters.duplicates.Add(int64(len(entries) - added))
	return nil
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

// admit pushes entries into the frontier, within the MaxPages and
// MaxPerHost budgets; new URLs past a budget are recorded as skipped.
func (r *run) admit(ctx context.Context, entries []store.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if r.cfg.MaxPages == 0 && r.cfg.MaxPerHost == 0 {
		return r.push(ctx, entries)
	}
	r.budgetMu.Lock()
	defer r.budgetMu.Unlock()
	if r.cfg.MaxPerHost > 0 {
		return r.admitPerHost(ctx, entries)
	}
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

// admitPerHost is admit with a MaxPerHost budget (and perhaps MaxPages):
// entries are pushed one by one, so that each host is charged only for
// the URLs that are new. It requires budgetMu.
func (r *run) admitPerHost(ctx context.Context, entries []store.Entry) error {
	for i, e := range entries {
		r.hostMu.Lock()
		used := r.hostPages[e.Host]
		r.hostMu.Unlock()
		reason := ""
		switch {
		case r.cfg.MaxPages > 0 && int(r.admitted.Load()) >= r.cfg.MaxPages:
			reason = SkipMaxPages
		case used >= r.cfg.MaxPerHost:
			reason = SkipBudget
		}
		if reason != "" {
			if err := r.skip(ctx, e, reason); err != nil {
				return err
			}
			continue
		}
		added, err := r.frontier.Push(ctx, entries[i:i+1])
		if err != nil {
			return fmt.Errorf("crawler: push: %w", err)
		}
		r.admitted.Add(int64(added))
		if added > 0 {
			r.hostMu.Lock()
			if r.hostPages == nil {
				r.hostPages = make(map[string]int)
			}
			r.hostPages[e.Host] += added
			r.hostMu.Unlock()
		}
		r.counters.duplicates.Add(int64(1 - added))
	}
	return nil
}

// hostPagesCopy returns a copy of the URLs admitted per host against
// MaxPerHost, for a checkpoint; nil without the budget.
func (r *run) hostPagesCopy() map[string]int {
	if r.cfg.MaxPerHost == 0 {
		return nil
	}
	r.hostMu.Lock()
	defer r.hostMu.Unlock()
	return maps.Clone(r.hostPages)
}

// skip records e as skipped for reason, unless its URL was seen before.
func (r *run) skip(ctx context.Context, e store.Entry, reason string) error {
	if r.outbox != nil {
		return r.skipOutbox(ctx, e, reason)
	}
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
	rec := store.Record{URL: e.URL, Depth: e.Depth, Parent: e.Parent, Skipped: reason, Kind: e.Kind}
	if err := r.sink.Put(ctx, rec); err != nil {
		return fmt.Errorf("crawler: sink: %w", err)
	}
	r.counters.record(&rec)
	return nil
}

// retryOrFail puts l back for another attempt after a back-off, or, when
// its attempts are used up, records it as failed with reason (or, for an
// HTTP status, as fetched with that status). A wait longer than
// MaxRetryWait is not waited for: the URL is recorded as it is, and with
// hostWide its host pauses MaxRetryWait.
func (r *run) retryOrFail(ctx context.Context, l store.Lease, rec *result, reason string, retryAfter time.Duration, hostWide bool) error {
	if l.Attempt >= r.cfg.Retries {
		rec.Error = reason
		return r.settle(ctx, l, rec)
	}
	wait := max(backoff(r.cfg.RetryBackoff, l.Attempt), retryAfter)
	if limit := r.cfg.MaxRetryWait; limit >= 0 && wait > limit {
		switch {
		case retryAfter > limit:
			rec.Error = fmt.Sprintf("server asked to retry after %v, longer than the %v the crawl waits (max retry wait)", retryAfter, limit)
			if reason != "" {
				rec.Error = reason + "; " + rec.Error
			}
		default:
			rec.Error = fmt.Sprintf("%s; not retried: the back-off of %v is longer than the %v the crawl waits (max retry wait)",
				cmp.Or(reason, http.StatusText(rec.Status)), wait.Round(time.Millisecond), limit)
		}
		if reason == "" { // an HTTP status; a failure keeps its kind
			rec.errKind = errKindRetryWait
		}
		var pause time.Time
		if hostWide {
			pause = time.Now().Add(limit)
			r.throttle.pause(l.Host, pauseReason(retryAfter), pause)
			if r.rend != nil {
				r.rend.gov.pause(l.Host, pause)
			}
			r.logPause(ctx, l, rec, reason, limit, retryAfter)
		}
		return r.settleUntil(ctx, l, rec, pause)
	}
	if hostWide {
		r.throttle.pause(l.Host, pauseReason(retryAfter), time.Now().Add(wait))
		if r.rend != nil {
			r.rend.gov.pause(l.Host, time.Now().Add(wait))
		}
	}
	r.counters.retries.Add(1)
	r.logRetry(ctx, l, rec, reason, wait, retryAfter, hostWide)
	retry := func() error {
		if err := r.frontier.Retry(context.WithoutCancel(ctx), l, time.Now().Add(wait), hostWide); err != nil && !errors.Is(err, store.ErrStaleLease) {
			return fmt.Errorf("crawler: retry: %w", err)
		}
		return nil
	}
	if len(rec.exchanges) > 0 && r.cfg.Archive != nil {
		// The response that is retried is archived too, exactly when
		// the retry is kept.
		return r.archive(ctx, rec.exchanges, retry)
	}
	return retry()
}

// pauseReason names why a host pauses: the server asked (Retry-After), or
// the crawl backs off after an error.
func pauseReason(retryAfter time.Duration) string {
	if retryAfter > 0 {
		return "retry-after"
	}
	return "back-off"
}

// backoff is the wait before attempt+2: base·2^attempt, with ±50% jitter.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 16)
	if d <= 0 {
		return 0 // RetryBackoff negative: no back-off (rand.N panics on 0)
	}
	return d/2 + rand.N(d)
}

// write puts l's record into the sink and acks its lease, under
// commitMu so that no checkpoint falls between the two; with an Outbox it
// hands the record to the frontier with the ack, in one step. It runs even when
// ctx has just ended: the work is done and must not be repeated. With
// group commit it returns the channel closed when the write is durable.
func (r *run) write(ctx context.Context, l store.Lease, rec *result, pause time.Time) (durable <-chan struct{}, err error) {
	ctx = context.WithoutCancel(ctx)
	r.commitMu.RLock()
	defer r.commitMu.RUnlock()
	durable = r.dirty(true)
	if rec.Skipped != "" {
		rec.Attempts, rec.DurationMS = 0, 0 // a skipped URL was never requested
	}
	if len(rec.exchanges) > 0 && r.cfg.Archive != nil {
		ref, err := r.cfg.Archive.Write(rec.exchanges)
		if err != nil {
			return nil, fmt.Errorf("crawler: archive: %w", err)
		}
		rec.WARCFile, rec.WARCOffset = ref.File, ref.Offset
	}
	if r.outbox != nil {
		return durable, r.writeOutbox(ctx, l, rec, store.Outcome{Status: rec.Status, Error: rec.Error, Skipped: rec.Skipped, HostBackoff: pause})
	}
	if !unrecorded(l, rec) {
		if err := r.sink.Put(ctx, rec.Record); err != nil {
			return nil, fmt.Errorf("crawler: sink: %w", err)
		}
		r.counters.recordResult(rec)
		if rec.Bytes > 0 {
			r.countBytes(ctx)
		}
	}
	o := store.Outcome{Status: rec.Status, Error: rec.Error, Skipped: rec.Skipped, HostBackoff: pause}
	if err := r.frontier.Ack(ctx, l, o); err != nil && !errors.Is(err, store.ErrStaleLease) {
		return nil, fmt.Errorf("crawler: ack: %w", err)
	}
	return durable, nil
}

// settle writes l's record, acks its lease and, with group commit, waits
// until that is durable, so that a crash redoes at most the URLs in
// flight. The wait ends early when ctx does: the last checkpoint, when
// Run stops, covers it.
func (r *run) settle(ctx context.Context, l store.Lease, rec *result) error {
	return r.settleUntil(ctx, l, rec, time.Time{})
}

// settleUntil is settle for a lease whose host must make no claim before
// pause (unless it is zero).
func (r *run) settleUntil(ctx context.Context, l store.Lease, rec *result, pause time.Time) error {
	done, err := r.write(ctx, l, rec, pause)
	r.logSettled(ctx, l, rec)
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
