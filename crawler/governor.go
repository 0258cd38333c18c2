package crawler

import (
	"context"
	"sync"
	"time"
)

// governor is the per-host politeness that a crawl with Config.Render
// applies to every request it sends itself, whoever asked for it: the page
// fetches of its workers and the requests the browser makes through the
// gate (rendergate.go). For each host it holds
//
//   - PerHost slots: at most PerHost of those requests are in flight at
//     once;
//   - a spacing: a request starts no sooner than the host's spacing after
//     the previous one started: the largest it was told while it kept the
//     host (Rate's interval, the host's capped robots.txt Crawl-delay, the
//     frontier's spacing of the host, which the adaptive throttle may
//     raise);
//   - a pause: until when the host asked not to be asked (Retry-After, a
//     429 or a 503, from a page or from the browser).
//
// Why a governor besides the frontier: the frontier spaces and counts the
// leases of a host's URLs, but a rendered page holds its lease while the
// browser asks the page's host, and any other host in scope, for scripts,
// images and data. Those requests have no lease. Taking a turn here for
// them alone is not enough either: a page fetch of host B by one worker
// and a script of host B asked for by the page of host A that another
// worker renders would each hold a slot of a different gate. So both take
// their turn here, and PerHost and Rate hold across plain and browser
// requests together. Page fetches still get their lease from the frontier
// first; their turn here is then usually at once, and waits only for
// requests of the browser.
//
// robots.txt fetches take no turn: there is one per host (shared by every
// caller, then cached), made before any other request to the host, and
// the next request is spaced from it (note).
//
// The zero value is not usable; use newGovernor. A governor is safe for
// concurrent use. It is in memory: processes sharing a frontier (an
// Outbox) each have their own.
type governor struct {
	perHost int

	mu    sync.Mutex
	hosts map[string]*govHost // requires mu
}

// govHost is the state of one host. Its fields require the governor's mu,
// except slots, a semaphore.
type govHost struct {
	slots   chan struct{}
	last    time.Time     // when the last request started
	spacing time.Duration // the least time between two starts
	paused  time.Time     // no request before then
	users   int           // turns held or waited for
}

// maxIdleHosts is how many hosts the governor keeps before it forgets
// those that constrain nothing any more.
const maxIdleHosts = 4096

func newGovernor(perHost int) *governor {
	return &governor{perHost: max(perHost, 1), hosts: make(map[string]*govHost)}
}

// hostLocked returns host's state, made if needed. It
// requires g.mu.
func (g *governor) hostLocked(host string) *govHost {
	h := g.hosts[host]
	if h == nil {
		if len(g.hosts) >= maxIdleHosts {
			g.sweepLocked(time.Now())
		}
		h = &govHost{slots: make(chan struct{}, g.perHost)}
		g.hosts[host] = h
	}
	return h
}

// quiet reports whether h constrains nothing at now and no one uses it.
// It requires the governor's mu.
func (h *govHost) quiet(now time.Time) bool {
	return h.users == 0 && !now.Before(h.last.Add(h.spacing)) && !now.Before(h.paused)
}

// sweepLocked forgets the hosts that constrain nothing. It requires g.mu.
func (g *governor) sweepLocked(now time.Time) {
	for k, h := range g.hosts {
		if h.quiet(now) {
			delete(g.hosts, k)
		}
	}
}

// turn waits for a slot of host and for the host's spacing, raised to
// spacing if that is longer, and returns the function that gives the slot
// back once the request is done (its answer read). It returns ctx's error
// if ctx ends first.
func (g *governor) turn(ctx context.Context, host string, spacing time.Duration) (done func(), err error) {
	g.mu.Lock()
	h := g.hostLocked(host)
	h.users++
	h.spacing = max(h.spacing, spacing)
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if h.users--; h.quiet(time.Now()) && g.hosts[host] == h {
			delete(g.hosts, host)
		}
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
	for {
		g.mu.Lock()
		now := time.Now()
		at := h.last.Add(h.spacing)
		if !now.Before(at) {
			h.last = now
			g.mu.Unlock()
			return func() {
				<-h.slots
				leave()
			}, nil
		}
		g.mu.Unlock()
		timer := time.NewTimer(at.Sub(now))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			<-h.slots
			leave()
			return nil, ctx.Err()
		}
	}
}

// note counts a request to host that took no turn, started at at (a
// robots.txt fetch), in the host's spacing, raised to spacing if that is
// longer.
func (g *governor) note(host string, at time.Time, spacing time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.hostLocked(host)
	h.spacing = max(h.spacing, spacing)
	if at.After(h.last) {
		h.last = at
	}
}

// pause holds host back until until (a later pause wins).
func (g *governor) pause(host string, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.hostLocked(host)
	if until.After(h.paused) {
		h.paused = until
	}
}

// pausedUntil returns the end of host's pause, or the zero time if it is
// not paused now.
func (g *governor) pausedUntil(host string) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if h := g.hosts[host]; h != nil && time.Now().Before(h.paused) {
		return h.paused
	}
	return time.Time{}
}
