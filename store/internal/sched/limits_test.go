package sched

import (
	"math"
	"testing"
	"time"
)

func TestResolve(t *testing.T) {
	def := Limits{PerHost: 2, Interval: 500 * time.Millisecond, TTL: 10 * time.Minute}
	cases := []struct {
		name string
		opts Limits
		want Limits
	}{
		{"zero means the defaults", Limits{}, def},
		{"negative means off", Limits{PerHost: -1, Interval: -1, TTL: -1}, Limits{PerHost: Unlimited}},
		{"any negative value", Limits{PerHost: -7, Interval: -time.Hour, TTL: math.MinInt64}, Limits{PerHost: Unlimited}},
		{"explicit values stay", Limits{PerHost: 1, Interval: time.Second, TTL: time.Minute}, Limits{PerHost: 1, Interval: time.Second, TTL: time.Minute}},
		{"mixed", Limits{PerHost: 5, Interval: -1}, Limits{PerHost: 5, TTL: def.TTL}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Resolve(tc.opts, def); got != tc.want {
				t.Errorf("Resolve(%+v) = %+v, want %+v", tc.opts, got, tc.want)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	cases := []struct {
		now  int64
		ttl  time.Duration
		want int64
	}{
		{1000, time.Second, 1000 + int64(time.Second)},
		{1000, 0, NoExpiry},
		{math.MaxInt64 - 5, time.Second, NoExpiry - 1}, // clamped: still expires
	}
	for _, tc := range cases {
		if got := Expiry(tc.now, tc.ttl); got != tc.want {
			t.Errorf("Expiry(%d, %v) = %d, want %d", tc.now, tc.ttl, got, tc.want)
		}
	}
	for _, tc := range []struct {
		exp, now int64
		want     bool
	}{
		{10, 9, false},
		{10, 10, true},
		{NoExpiry, math.MaxInt64, false}, // even at the clamped end of time
		{NoExpiry - 1, math.MaxInt64, true},
	} {
		if got := Expired(tc.exp, tc.now); got != tc.want {
			t.Errorf("Expired(%d, %d) = %v, want %v", tc.exp, tc.now, got, tc.want)
		}
	}
}

func TestClaimCap(t *testing.T) {
	cases := []struct {
		max, queued, ready, perHost, want int
	}{
		{64, 1000, 10, 2, 20},
		{64, 1000, 100, 2, 64},
		{64, 5, 100, 2, 5},
		{64, 1000, 3, Unlimited, 64},
		{math.MaxInt, math.MaxInt, 3, Unlimited, math.MaxInt},
		{math.MaxInt, 1000, 1 << 20, Unlimited, 1000},
		{10, 10, 3, 3, 9},
		{10, 10, 3, 4, 10},
	}
	for _, tc := range cases {
		if got := ClaimCap(tc.max, tc.queued, tc.ready, tc.perHost); got != tc.want {
			t.Errorf("ClaimCap(%d, %d, %d, %d) = %d, want %d", tc.max, tc.queued, tc.ready, tc.perHost, got, tc.want)
		}
	}
}
