package crawler

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"trawl/fetch"
	"trawl/store"
)

// Defaults of the adaptive throttle (Config.AutoThrottle).
const (
	// DefaultAutoThrottleTarget is the requests a throttled host has in
	// flight on average: its spacing follows its latency divided by it.
	DefaultAutoThrottleTarget = 1.0
	// DefaultAutoThrottleMax is the most the throttle spaces a host's
	// requests.
	DefaultAutoThrottleMax = 60 * time.Second
)

// autoThrottleMinBackoff is where a failure starts doubling the spacing
// of a host that had none.
const autoThrottleMinBackoff = 250 * time.Millisecond

// autoThrottleHosts is the most hosts the throttle keeps; past it, hosts
// at their floor are forgotten first.
const autoThrottleHosts = 100_000

// HostDelay is a host the adaptive throttle spaces more than the crawl's
// rate and its robots.txt ask, and the spacing it has now.
type HostDelay struct {
	Host  string
	Delay time.Duration
}

// autoThrottle spaces each host's requests by the latency it shows, as
// Scrapy's AutoThrottle does: after each response the delay moves half
// way to latency / target; a 5xx, a 429 or a failed connection doubles it;
// a response other than 2xx cannot lower it. The spacing the frontier
// applies is the largest of this delay, the rate's interval and the
// host's Crawl-delay, so the throttle only ever slows a host down. It is
// safe for concurrent use.
type autoThrottle struct {
	target float64
	max    time.Duration

	mu    sync.Mutex
	hosts map[string]*hostThrottle
}

type hostThrottle struct {
	delay      time.Duration // what the latency asks for
	crawlDelay time.Duration // the host's Crawl-delay as applied (capped)
}

func newAutoThrottle(cfg Config) *autoThrottle {
	if !cfg.AutoThrottle {
		return nil
	}
	return &autoThrottle{
		target: cmp.Or(cfg.AutoThrottleTarget, DefaultAutoThrottleTarget),
		max:    cmp.Or(cfg.AutoThrottleMax, DefaultAutoThrottleMax),
		hosts:  make(map[string]*hostThrottle),
	}
}

// outcome of one attempt, as the throttle reads it.
type outcome int

const (
	outcomeOK      outcome = iota // a 2xx response
	outcomeOther                  // another response that is no sign of trouble: 3xx, 4xx
	outcomeTrouble                // a 5xx, a 429, a timeout or a failed connection
)

// host returns host's state, making it if needed. It requires a.mu.
func (a *autoThrottle) host(host string) *hostThrottle {
	h := a.hosts[host]
	if h == nil {
		if len(a.hosts) >= autoThrottleHosts {
			a.evict()
		}
		h = &hostThrottle{}
		a.hosts[host] = h
	}
	return h
}

// evict forgets an eighth of the hosts, those that ask for no delay
// first. It requires a.mu.
func (a *autoThrottle) evict() {
	n := len(a.hosts) / 8
	for host, h := range a.hosts {
		if n == 0 {
			return
		}
		if h.delay == 0 {
			delete(a.hosts, host)
			n--
		}
	}
	for host := range a.hosts {
		if n == 0 {
			return
		}
		delete(a.hosts, host)
		n--
	}
}

// observe folds the latency and outcome of one attempt at host into its
// delay, and returns the spacing the host should have: the delay, or its
// Crawl-delay if longer.
func (a *autoThrottle) observe(host string, latency time.Duration, o outcome) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.host(host)
	switch o {
	case outcomeTrouble:
		h.delay = max(2*h.delay, 2*latency, autoThrottleMinBackoff)
	default:
		want := time.Duration(float64(latency) / a.target)
		next := (h.delay + want) / 2
		if o == outcomeOther {
			next = max(next, h.delay)
		}
		h.delay = next
	}
	h.delay = min(h.delay, a.max)
	return max(h.delay, h.crawlDelay)
}

// spacing returns the spacing host should have, and notes its
// Crawl-delay d (already capped).
func (a *autoThrottle) spacing(host string, d time.Duration) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.host(host)
	h.crawlDelay = d
	return max(h.delay, d)
}

// slowed returns the hosts whose delay is longer than floor (the rate's
// interval) and their Crawl-delay, longest first, at most limit of them,
// and how many there are.
func (a *autoThrottle) slowed(floor time.Duration, limit int) ([]HostDelay, int) {
	a.mu.Lock()
	var all []HostDelay
	for host, h := range a.hosts {
		if h.delay > floor && h.delay > h.crawlDelay {
			all = append(all, HostDelay{Host: host, Delay: h.delay})
		}
	}
	a.mu.Unlock()
	slices.SortFunc(all, func(x, y HostDelay) int {
		return cmp.Or(cmp.Compare(y.Delay, x.Delay), cmp.Compare(x.Host, y.Host))
	})
	return all[:min(len(all), limit)], len(all)
}

// adaptSpacing tells the adaptive throttle how an attempt at l went and,
// when the host's spacing should change, hands it to the frontier. err
// is the attempt's error, nil for a response of status.
func (r *run) adaptSpacing(ctx context.Context, l store.Lease, latency time.Duration, status int, err error) {
	if r.auto == nil {
		return
	}
	o := outcomeOK
	switch {
	case err != nil:
		if !fetch.Retryable(err) {
			return // not the host's doing: a bad URL, a veto, a cancel
		}
		o = outcomeTrouble
	case status == 429 || status >= 500:
		o = outcomeTrouble
	case status < 200 || status > 299:
		o = outcomeOther
	}
	want := max(r.auto.observe(l.Host, latency, o), r.interval)
	if want == l.Interval {
		return
	}
	// A failure here costs the host its spacing until its next lease
	// tries again; a frontier that fails ends the crawl elsewhere.
	_ = r.frontier.SetHostInterval(context.WithoutCancel(ctx), l.Host, want)
}
