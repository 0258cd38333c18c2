package redis

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"trawl/store"
)

// maxSettleBatch bounds the settles of one script call.
const maxSettleBatch = 256

// maxBatchedPush bounds the entries of a Push that goes with the
// settles (see pushBatched); a larger one is a script call of its own.
const maxBatchedPush = 64

// settleOp is one Ack, AckRecord, Retry or Release, or one Push of at
// most maxBatchedPush entries, on its way to Redis.
type settleOp struct {
	op    string // "a" ack, "t" retry, "r" release (see luaSettle), "p" push
	lease store.Lease
	a, b  string
	rec   []byte
	push  []any // for "p": four values per entry (see luaBatch)
	added int   // for "p", once done: the entries queued

	done chan error // receives the outcome once
	mu   sync.Mutex
	sent bool // in a batch: too late to take back
	gone bool // its caller stopped waiting before it was sent
}

// settler queues settles for the frontier's settle loop, which sends
// each batch of those waiting in one script call.
type settler struct {
	mu    sync.Mutex
	queue []*settleOp
	wake  chan struct{} // one pending signal
}

func (s *settler) init() { s.wake = make(chan struct{}, 1) }

// settle runs op in the next batch and waits for its outcome. A caller
// whose ctx ends before the batch is sent takes op back; after, op may
// be applied although settle returned ctx's error, as with a lost reply.
func (f *Frontier) settle(ctx context.Context, op *settleOp) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op.done = make(chan error, 1)
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return store.ErrClosed
	}
	f.settles.mu.Lock()
	f.settles.queue = append(f.settles.queue, op)
	f.settles.mu.Unlock()
	f.mu.Unlock()
	select {
	case f.settles.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		op.mu.Lock()
		op.gone = !op.sent
		op.mu.Unlock()
		return ctx.Err()
	}
}

// settleLoop sends the queued settles, a batch per script call, until
// the frontier is closed; settles queued then fail with ErrClosed.
func (f *Frontier) settleLoop() {
	for {
		select {
		case <-f.settles.wake:
		case <-f.closing:
			f.settles.mu.Lock()
			q := f.settles.queue
			f.settles.queue = nil
			f.settles.mu.Unlock()
			for _, op := range q {
				op.done <- store.ErrClosed
			}
			return
		}
		for {
			f.settles.mu.Lock()
			q := f.settles.queue
			if len(q) > maxSettleBatch {
				f.settles.queue = q[maxSettleBatch:]
				q = q[:maxSettleBatch:maxSettleBatch]
			} else {
				f.settles.queue = nil
			}
			f.settles.mu.Unlock()
			if len(q) == 0 {
				break
			}
			f.runSettles(q)
		}
	}
}

// pushBatched is push for a few entries: it goes to Redis with the
// settles that wait for the next batch, in the same script call, and
// waits for its outcome as settle does.
func (f *Frontier) pushBatched(ctx context.Context, args []any) (added int, err error) {
	op := &settleOp{op: "p", push: args}
	if err := f.settle(ctx, op); err != nil {
		return 0, err
	}
	return op.added, nil
}

// runSettles sends the settles and pushes q in one script call and hands
// each its outcome.
func (f *Frontier) runSettles(q []*settleOp) {
	ops := q[:0:0]
	for _, op := range q {
		op.mu.Lock()
		if !op.gone {
			op.sent = true
			ops = append(ops, op)
		}
		op.mu.Unlock()
	}
	if len(ops) == 0 {
		return
	}
	// The pushes go first, in the order they came, then the settles.
	pushes, settles := ops[:0:0], ops[:0:0]
	n := 0
	for _, op := range ops {
		if op.op == "p" {
			pushes = append(pushes, op)
			n += len(op.push)
		} else {
			settles = append(settles, op)
		}
	}
	args := make([]any, 0, 5+len(pushes)+n+6*len(settles))
	args = append(args, f.nowArg(), f.perHost, f.interval, f.maxQueue, len(pushes))
	for _, op := range pushes {
		args = append(args, len(op.push)/4)
	}
	for _, op := range pushes {
		args = append(args, op.push...)
	}
	for _, op := range settles {
		args = append(args, op.op, strconv.FormatUint(op.lease.ID, 10), fpBytes(op.lease.Key), op.a, op.b, op.rec)
	}
	// The settles' own contexts only decide how long each caller waits;
	// a batch is bounded by the outage limit and Close.
	v, err := f.eval(context.Background(), scriptBatch, args...)
	res, _ := v.([]any)
	if err == nil && len(res) != len(ops) {
		err = fmt.Errorf("unexpected reply of %d values for %d pushes and leases", len(res), len(ops))
	}
	if err == nil && len(settles) > 0 {
		// Settled or stale, the leases are no longer this process's to
		// extend. After an error they may or may not be: they stay, and
		// Close gives back those that still are.
		f.mu.Lock()
		for _, op := range settles {
			delete(f.held, op.lease.ID)
		}
		f.mu.Unlock()
	}
	for i, op := range pushes {
		if err != nil {
			op.done <- fmt.Errorf("redis: push: %w", err)
			continue
		}
		op.added = int(toInt64(res[i]))
		op.done <- nil
	}
	for i, op := range settles {
		switch {
		case err != nil:
			op.done <- fmt.Errorf("redis: %s: %w", opName(op.op), err)
		case res[len(pushes)+i] == int64(1):
			op.done <- nil
		default:
			op.done <- store.ErrStaleLease
		}
	}
}

func opName(op string) string {
	switch op {
	case "a":
		return "ack"
	case "t":
		return "retry"
	}
	return "release"
}
