package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"trawl/store"
)

// Status is what trawl state shows of a crawl on Redis.
type Status struct {
	Crawl    string
	Meta     []byte // the crawl's identity, as Join stored it; nil if none yet
	Frontier store.FrontierStats
	// Failed and Skipped count the acks whose outcome had an Error or a
	// Skipped reason; Done counts all.
	Failed, Skipped int64
	// QueueFull counts the URLs refused because their host's queue was
	// full (Options.MaxQueuePerHost); they are seen, not done.
	QueueFull int64
	// Outbox is the number of records not yet exported; Exported those
	// committed by every output, by name.
	Outbox   int64
	Exported map[string]int64
	Hosts    []HostStatus // the hosts with queued or in-flight entries, most queued first, at most 20
	Workers  []Worker     // the workers seen in the last minute, by name
	Now      time.Time    // Redis's time when read
}

// HostStatus is one host's share of a crawl.
type HostStatus struct {
	Host             string
	Queued, InFlight int
	// NextAllowed is when the host may be claimed from again, by its
	// interval or a back-off; the zero time if nothing holds it back.
	NextAllowed time.Time
}

// Worker is a process working on a crawl.
type Worker struct {
	Name     string
	LastSeen time.Time
	InFlight int // leases it holds
}

// Bounds of Inspect.
const (
	inspectHosts   = 20
	inspectWorkers = time.Minute
)

// Inspect reads crawl's status without joining it. A crawl that does not
// exist gives ErrNoCrawl; one made by another schema, ErrSchema.
func Inspect(ctx context.Context, c goredis.UniversalClient, crawl string) (Status, error) {
	if err := checkName(crawl); err != nil {
		return Status{}, err
	}
	p := crawlPrefix(crawl)
	var (
		schema, meta    *goredis.StringCmd
		stats, exports  *goredis.MapStringStringCmd
		inflight, hosts *goredis.IntCmd
		outbox          *goredis.IntCmd
		top, workers    *goredis.ZSliceCmd
		leases          *goredis.StringSliceCmd
		now             *goredis.TimeCmd
		errWrap         = func(err error) error { return fmt.Errorf("redis: inspect crawl %s: %w", crawl, err) }
		fromRedis       = func(err error) bool { return err != nil && !errors.Is(err, goredis.Nil) }
	)
	// One MULTI: a consistent snapshot.
	_, err := c.TxPipelined(ctx, func(pp goredis.Pipeliner) error {
		schema = pp.Get(ctx, p+"schema")
		meta = pp.Get(ctx, p+"meta")
		stats = pp.HGetAll(ctx, p+"stats")
		inflight = pp.ZCard(ctx, p+"lease")
		hosts = pp.ZCard(ctx, p+"active")
		outbox = pp.XLen(ctx, p+"out")
		exports = pp.HGetAll(ctx, p+"exports")
		top = pp.ZRevRangeWithScores(ctx, p+"active", 0, inspectHosts-1)
		workers = pp.ZRangeWithScores(ctx, p+"workers", 0, -1)
		leases = pp.HVals(ctx, p+"ld")
		now = pp.Time(ctx)
		return nil
	})
	if fromRedis(err) {
		return Status{}, errWrap(err)
	}
	switch v, err := schema.Result(); {
	case errors.Is(err, goredis.Nil):
		return Status{}, fmt.Errorf("%w: %s", ErrNoCrawl, crawl)
	case err != nil:
		return Status{}, errWrap(err)
	case v != strconv.Itoa(SchemaVersion):
		return Status{}, fmt.Errorf("%w: crawl %s has schema %s, this trawl %d", ErrSchema, crawl, v, SchemaVersion)
	}
	for _, cmd := range []goredis.Cmder{meta, stats, inflight, hosts, outbox, exports, top, workers, leases, now} {
		if fromRedis(cmd.Err()) {
			return Status{}, errWrap(cmd.Err())
		}
	}

	st := Status{Crawl: crawl, Now: now.Val(), Exported: map[string]int64{}, Outbox: outbox.Val()}
	if m, err := meta.Bytes(); err == nil {
		st.Meta = m
	}
	n := func(k string) int64 { v, _ := strconv.ParseInt(stats.Val()[k], 10, 64); return v }
	st.Frontier = store.FrontierStats{
		Queued:     int(n("queued")),
		InFlight:   int(inflight.Val()),
		Seen:       n("seen"),
		Duplicates: n("dups"),
		Done:       n("done"),
		Retries:    n("retries"),
		Hosts:      int(hosts.Val()),
	}
	st.Failed, st.Skipped, st.QueueFull = n("failed"), n("skipped"), n("qfull")
	for name, v := range exports.Val() {
		st.Exported[name], _ = strconv.ParseInt(v, 10, 64)
	}

	// The workers, with the leases each holds.
	held := map[string]int{}
	for _, d := range leases.Val() {
		if w, _, ok := strings.Cut(d, "\n"); ok {
			held[w]++
		}
	}
	since := st.Now.Add(-inspectWorkers)
	for _, z := range workers.Val() {
		w := Worker{Name: fmt.Sprint(z.Member), LastSeen: fromMs(int64(z.Score))}
		if w.LastSeen.Before(since) {
			continue
		}
		w.InFlight = held[w.Name]
		st.Workers = append(st.Workers, w)
	}
	slices.SortFunc(st.Workers, func(a, b Worker) int { return cmp.Compare(a.Name, b.Name) })

	// The hosts with most queued, with their in-flight counts and times.
	if len(top.Val()) > 0 {
		cmds := make([]*goredis.SliceCmd, len(top.Val()))
		_, err := c.Pipelined(ctx, func(pp goredis.Pipeliner) error {
			for i, z := range top.Val() {
				cmds[i] = pp.HMGet(ctx, p+"h:"+fmt.Sprint(z.Member), "n", "bo", "na")
			}
			return nil
		})
		if fromRedis(err) {
			return Status{}, errWrap(err)
		}
		for i, z := range top.Val() {
			h := HostStatus{Host: fmt.Sprint(z.Member), Queued: int(z.Score)}
			var v [3]int64
			for j, x := range cmds[i].Val() {
				if s, ok := x.(string); ok {
					v[j], _ = strconv.ParseInt(s, 10, 64)
				}
			}
			h.InFlight = int(v[0])
			if at := max(v[1], v[2]); at > toMs(st.Now) {
				h.NextAllowed = fromMs(at)
			}
			st.Hosts = append(st.Hosts, h)
		}
	}
	return st, nil
}
