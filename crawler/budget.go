package crawler

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"trawl/fetch"
	"trawl/store"
)

// This file holds the crawl's budgets besides MaxPages and MaxTime: the
// per-host error budget (Config.MaxHostFailures), which gives up on a
// host that cannot be reached, and the byte budget (Config.MaxBytes),
// which stops the crawl.

// errMaxBytes is the cause of the context that Config.MaxBytes ends.
var errMaxBytes = errors.New("crawler: max bytes reached")

// maxBudgetHosts is the most hosts the error budget remembers, failing
// and unreachable ones together.
const maxBudgetHosts = 100_000

// hostBudget counts, per host, the connection failures in a row (see
// hostVerdict) and declares a host unreachable at the limit. The zero
// value counts nothing; init sets the limit. It is safe for concurrent
// use; with no host failing or unreachable, its checks take no lock.
//
// Its memory is bounded: a host that answers is forgotten (a count of 0
// takes no room), and when failing and unreachable hosts reach max, an
// eighth of them is forgotten at random, failing hosts first: a failing
// host forgotten starts its count again, an unreachable one is tried
// again. The state lives in memory only: a resumed crawl starts every
// count anew.
type hostBudget struct {
	limit int // failures in a row that make a host unreachable; 0: never
	max   int // most hosts remembered

	mu      sync.Mutex
	failing map[string]hostFailures // hosts failing now, not yet unreachable
	dead    map[string]struct{}     // hosts declared unreachable

	nFailing, nDead atomic.Int64 // len(failing), len(dead), for the checks without the lock
	declared        atomic.Int64 // hosts declared unreachable, for Stats
}

// hostFailures is a failing host's count.
type hostFailures struct {
	n int
	// robots is the robots.txt failure counted last: the fetcher hands
	// the same *fetch.Error to every caller while it caches the failure,
	// and only a new request counts.
	robots *fetch.Error
}

// init readies b for MaxHostFailures limit, as withDefaults left it:
// negative means off.
func (b *hostBudget) init(limit int) {
	b.limit, b.max = max(limit, 0), maxBudgetHosts
}

// unreachable reports whether host was declared unreachable.
func (b *hostBudget) unreachable(host string) bool {
	if b.nDead.Load() == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.dead[host]
	return ok
}

// answered notes that host answered a request: its count starts again.
func (b *hostBudget) answered(host string) {
	if b.nFailing.Load() == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.failing[host]; ok {
		delete(b.failing, host)
		b.nFailing.Store(int64(len(b.failing)))
	}
}

// failed notes a failed request to host (robots.txt's with robots) and
// reports whether it made the host unreachable, with the failures in a
// row counted.
func (b *hostBudget) failed(host string, err error, robots bool) (declared bool, n int) {
	if b.limit <= 0 {
		return false, 0
	}
	switch hostVerdict(err) {
	case verdictAnswered:
		b.answered(host)
		return false, 0
	case verdictNone:
		return false, 0
	}
	var fe *fetch.Error
	errors.As(err, &fe)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.dead[host]; ok {
		return false, 0 // a request in flight when the host was declared
	}
	f, ok := b.failing[host]
	if robots && fe != nil {
		if fe == f.robots {
			return false, 0 // the cached failure of a request counted already
		}
		f.robots = fe
	}
	f.n++
	if f.n < b.limit {
		if !ok {
			b.makeRoom()
		}
		if b.failing == nil {
			b.failing = make(map[string]hostFailures)
		}
		b.failing[host] = f
		b.nFailing.Store(int64(len(b.failing)))
		return false, f.n
	}
	delete(b.failing, host)
	b.makeRoom()
	if b.dead == nil {
		b.dead = make(map[string]struct{})
	}
	b.dead[host] = struct{}{}
	b.nFailing.Store(int64(len(b.failing)))
	b.nDead.Store(int64(len(b.dead)))
	b.declared.Add(1)
	return true, f.n
}

// makeRoom forgets an eighth of the hosts, failing ones first, when the
// budget holds max of them. It requires b.mu held.
func (b *hostBudget) makeRoom() {
	if len(b.failing)+len(b.dead) < b.max {
		return
	}
	drop := max(b.max/8, 1)
	for h := range b.failing { // in random order
		if drop == 0 {
			break
		}
		delete(b.failing, h)
		drop--
	}
	for h := range b.dead {
		if drop == 0 {
			break
		}
		delete(b.dead, h)
		drop--
	}
	b.nFailing.Store(int64(len(b.failing)))
	b.nDead.Store(int64(len(b.dead)))
}

// What a failed request says about its host.
type verdict int

const (
	verdictNone        verdict = iota // nothing: cancelled, or refused by the crawl itself
	verdictUnreachable                // the host could not be reached
	verdictAnswered                   // the host answered, then the exchange failed
)

// hostVerdict sorts a fetch error by its kind (fetch.KindOf). The host
// could not be reached when the name did not resolve (dns), the
// connection was refused, the host or network was unreachable, the TLS
// handshake or certificate failed (the crawl cannot talk to the host), or
// the connection broke or timed out before any answer (reset, timeout):
// none of these goes away by asking the host for another URL. A reset or
// timeout while the body was read, a body that does not decode, headers
// too large, too many redirects and a robots.txt answered with 5xx mean
// the host answered. A cancelled request, a bad URL, the address guard
// and a request vetoed by OnRequest say nothing about the host, nor does
// any other failure.
func hostVerdict(err error) verdict {
	switch fetch.KindOf(err) {
	case fetch.KindDNS, fetch.KindRefused, fetch.KindTLS:
		return verdictUnreachable
	case fetch.KindTimeout, fetch.KindReset:
		if readingBody(err) {
			return verdictAnswered
		}
		return verdictUnreachable
	case fetch.KindOther:
		if errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
			errors.Is(err, syscall.EHOSTDOWN) || errors.Is(err, syscall.ENETDOWN) {
			return verdictUnreachable
		}
	case fetch.KindDecode, fetch.KindTooLarge, fetch.KindTooManyRedirects, fetch.KindRobotsUnavailable:
		return verdictAnswered
	}
	return verdictNone
}

// readingBody reports whether a failure came while the body was read,
// after the response's headers (fetch.Error.InBody).
func readingBody(err error) bool {
	var fe *fetch.Error
	return errors.As(err, &fe) && fe.InBody
}

// hostFailed counts a failed request of l's turn to its host (robots.txt's
// with robots) against the error budget, and logs the host when this
// failure makes it unreachable.
func (r *run) hostFailed(ctx context.Context, l store.Lease, err error, robots bool) {
	if declared, n := r.hosts.failed(l.Host, err, robots); declared {
		r.logUnreachable(ctx, l.Host, n, err)
	}
}

// countBytes stops the crawl, as MaxTime does, once the decoded body
// bytes kept by this run and the earlier runs of a resumed crawl reach
// MaxBytes. The first call past the limit logs it.
func (r *run) countBytes(ctx context.Context) {
	if r.cfg.MaxBytes <= 0 || r.stopBytes == nil {
		return
	}
	n := r.priorBytes + r.counters.bytes.Load()
	if n < r.cfg.MaxBytes || !r.bytesOut.CompareAndSwap(false, true) {
		return
	}
	r.logMaxBytes(ctx, n)
	r.stopBytes(errMaxBytes)
}
