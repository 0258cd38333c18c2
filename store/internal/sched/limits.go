package sched

import (
	"math"
	"time"
)

// Limits are a frontier's per-host scheduling settings: the PerHost,
// Interval and LeaseTTL fields of store.FrontierOptions. Both backends
// resolve them with Resolve, so that a value means the same in each.
type Limits struct {
	PerHost  int           // leases one host may have at once
	Interval time.Duration // least time between two claims from one host
	TTL      time.Duration // how long a lease lasts
}

// Unlimited is the resolved PerHost of a frontier without a per-host
// lease limit.
const Unlimited = math.MaxInt

// NoExpiry is the expiry time, in Unix nanoseconds, of a lease that does
// not expire. It sorts after every real time (Nanos clamps to it only
// for times after the year 2261), and Expired never reports it.
const NoExpiry = math.MaxInt64

// Resolve applies trawl's convention for option values to opts: a zero
// field takes def's value, and a negative one means off. Resolved, a
// PerHost of Unlimited means no limit, an Interval of 0 no spacing and a
// TTL of 0 leases that do not expire; the other values are opts' own.
// def's fields must be positive.
func Resolve(opts, def Limits) Limits {
	r := opts
	switch {
	case r.PerHost == 0:
		r.PerHost = def.PerHost
	case r.PerHost < 0:
		r.PerHost = Unlimited
	}
	switch {
	case r.Interval == 0:
		r.Interval = def.Interval
	case r.Interval < 0:
		r.Interval = 0
	}
	switch {
	case r.TTL == 0:
		r.TTL = def.TTL
	case r.TTL < 0:
		r.TTL = 0
	}
	return r
}

// Expiry returns the expiry of a lease handed out at now (Unix
// nanoseconds) with the resolved ttl: now+ttl, clamped below NoExpiry, or
// NoExpiry if ttl is 0.
func Expiry(now int64, ttl time.Duration) int64 {
	if ttl <= 0 {
		return NoExpiry
	}
	if now > NoExpiry-1-int64(ttl) {
		return NoExpiry - 1
	}
	return now + int64(ttl)
}

// Expired reports whether a lease with expiry exp has lapsed at now.
func Expired(exp, now int64) bool { return exp != NoExpiry && exp <= now }

// ClaimCap is the capacity to allocate for the leases of a Claim of max
// with queued entries over ready hosts that may each have perHost leases
// (Unlimited included) without overflowing. ready must be positive.
func ClaimCap(max, queued, ready, perHost int) int {
	n := min(max, queued)
	if perHost <= n/ready {
		n = ready * perHost // no overflow: at most n
	}
	return n
}
