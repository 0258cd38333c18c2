package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"trawl/store"
)

// Back-off between the attempts of a call while Redis cannot be reached;
// variables so that tests can shorten them.
var (
	outageFirstWait = 50 * time.Millisecond
	outageMaxWait   = 2 * time.Second
)

// eval runs script s with args on the crawl, retrying while Redis cannot
// be reached (see Options.MaxOutage) until ctx ends or the frontier is
// closed. Every script is safe to run again after a lost reply: Push and
// MarkSeen find their keys seen, a settle finds its lease gone (stale),
// and the leases of a lost Claim expire.
func (f *Frontier) eval(ctx context.Context, s *goredis.Script, args ...any) (any, error) {
	var (
		wait     = outageFirstWait
		deadline time.Time
		timer    *time.Timer
	)
	for {
		f.calls.Add(1)
		v, err := s.Run(ctx, f.c, f.keys, args...).Result()
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !transient(err) || f.maxOutage <= 0 {
			return nil, err
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(f.maxOutage)
		}
		if now.After(deadline) {
			return nil, fmt.Errorf("redis: unreachable for %v, gave up: %w", f.maxOutage, err)
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.closing:
			return nil, store.ErrClosed
		case <-timer.C:
		}
		wait = min(2*wait, outageMaxWait)
	}
}

// transient reports whether err says that Redis could not be reached or
// is not ready yet (loading its data after a restart), so that the call
// may succeed later. Errors of a script and of a closed client are not.
func transient(err error) bool {
	if errors.Is(err, goredis.ErrClosed) || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, goredis.ErrPoolTimeout) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	if rerr, ok := errors.AsType[goredis.Error](err); ok {
		msg := rerr.Error()
		for _, p := range []string{"LOADING ", "BUSY ", "TRYAGAIN ", "CLUSTERDOWN ", "MASTERDOWN ", "READONLY "} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return false
}
