package redis

import (
	"context"
	"strconv"
	"time"
)

// heartbeatEvery is how often a worker records that it lives; a variable
// so that tests can shorten it. Inspect lists the workers seen in the
// last minute.
var heartbeatEvery = 5 * time.Second

// start runs fn in a goroutine that Close waits for.
func (f *Frontier) start(fn func()) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		fn()
	}()
}

// heartbeat records the worker's heartbeat every heartbeatEvery until
// the frontier is closed. A beat that fails (Redis is away) is skipped.
func (f *Frontier) heartbeat() {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-f.closing:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(f.bg, heartbeatEvery)
		_ = scriptBeat.Run(ctx, f.c, f.keys, f.nowArg(), f.worker).Err()
		cancel()
	}
}

// extendEvery returns how often the frontier extends its leases; 0 for
// never.
func (f *Frontier) extendEvery() time.Duration {
	switch {
	case f.ttlMs == 0 || f.opts.ExtendEvery < 0:
		return 0
	case f.opts.ExtendEvery > 0:
		return f.opts.ExtendEvery
	}
	return max(f.ttl/3, time.Millisecond)
}

// extendLoop extends the leases the frontier holds every period until
// it is closed.
func (f *Frontier) extendLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-f.closing:
			return
		case <-t.C:
		}
		f.extend(every)
	}
}

// extend moves the expiry of every lease the frontier holds to a lease
// time from now, in one script call per thousand leases (ZADD XX GT: an
// expiry never moves back), and forgets those that are gone. A call
// that fails (Redis is away) is skipped: the next one may be in time.
func (f *Frontier) extend(timeout time.Duration) {
	f.mu.Lock()
	ids := make([]uint64, 0, len(f.held))
	fps := make([]string, 0, len(f.held))
	for id, fp := range f.held {
		ids = append(ids, id)
		fps = append(fps, fp)
	}
	f.mu.Unlock()
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		args := make([]any, 0, 2+2*n)
		args = append(args, f.nowArg(), f.ttlMs)
		for i := range n {
			args = append(args, strconv.FormatUint(ids[i], 10), fps[i])
		}
		ids, fps = ids[n:], fps[n:]
		ctx, cancel := context.WithTimeout(f.bg, max(timeout, time.Second))
		gone, err := scriptExtend.Run(ctx, f.c, f.keys, args...).StringSlice()
		cancel()
		if err != nil {
			continue
		}
		f.mu.Lock()
		for _, g := range gone {
			if id, err := strconv.ParseUint(g, 10, 64); err == nil {
				delete(f.held, id)
			}
		}
		f.mu.Unlock()
	}
}
