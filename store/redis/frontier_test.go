package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"trawl/parse"
	"trawl/store"
	"trawl/store/redis/redistest"
	"trawl/store/storetest"
)

// ftEnv is a Redis (miniredis or a real server) with a fake clock and a
// crawl that the frontiers a test opens share, as workers do.
type ftEnv struct {
	t     *testing.T
	mr    *miniredis.Miniredis // nil on a real server
	srv   *redistest.Server    // nil on miniredis
	c     *goredis.Client
	clock *storetest.Clock
	crawl string
	ctx   context.Context
	// redisClock makes open leave Now nil: the frontiers use Redis's
	// clock (miniredis's is the wall clock unless SetTime was called).
	redisClock bool
}

// ftMini returns an env on a fresh miniredis.
func ftMini(t *testing.T) *ftEnv {
	t.Helper()
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { c.Close() })
	return &ftEnv{t: t, mr: mr, c: c, clock: storetest.NewClock(storetest.Start), crawl: ftCrawlName(), ctx: context.Background()}
}

// ftReal returns an env on a fresh redis-server.
func ftReal(t *testing.T, opts redistest.Options) *ftEnv {
	t.Helper()
	srv := redistest.Start(t, opts)
	return &ftEnv{t: t, srv: srv, c: srv.Client(t), clock: storetest.NewClock(storetest.Start), crawl: ftCrawlName(), ctx: context.Background()}
}

// open opens a frontier (a worker) on the env's crawl with the fake
// clock, unless opts.Now is set, and with lease extension off unless
// opts.ExtendEvery is set.
func (e *ftEnv) open(opts Options) *Frontier {
	e.t.Helper()
	if opts.Crawl == "" {
		opts.Crawl = e.crawl
	}
	if opts.Now == nil && !e.redisClock {
		opts.Now = e.clock.Now
	}
	if opts.ExtendEvery == 0 {
		opts.ExtendEvery = -1
	}
	f, err := Open(e.ctx, e.c, opts)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.t.Cleanup(func() { f.Close() })
	return f
}

// outbox returns the records in the crawl's outbox, oldest first.
func (e *ftEnv) outbox() []string {
	e.t.Helper()
	msgs, err := e.c.XRange(e.ctx, crawlPrefix(e.crawl)+"out", "-", "+").Result()
	if err != nil {
		e.t.Fatalf("XRANGE: %v", err)
	}
	var recs []string
	for _, m := range msgs {
		if len(m.Values) != 1 {
			e.t.Fatalf("outbox entry %s has fields %v, want only r", m.ID, m.Values)
		}
		recs = append(recs, fmt.Sprint(m.Values["r"]))
	}
	return recs
}

// abandon stops f's background work as a kill -9 would: its leases stay
// in flight, unextended, and it stays in the list of workers.
func (f *Frontier) abandon() { f.stop() }

func ftEntry(host, path string) store.Entry {
	u := "http://" + host + "/" + path
	return store.Entry{URL: u, Key: u, Host: host}
}

func ftPush(t *testing.T, f *Frontier, want int, es ...store.Entry) {
	t.Helper()
	n, err := f.Push(context.Background(), es)
	if err != nil || n != want {
		t.Fatalf("Push(%d entries) = %d, %v; want %d", len(es), n, err, want)
	}
}

func ftClaim(t *testing.T, f *Frontier, max, want int) ([]store.Lease, time.Time) {
	t.Helper()
	ls, next, err := f.Claim(context.Background(), max)
	if err != nil || len(ls) != want {
		t.Fatalf("Claim(%d) = %d leases, %v; want %d", max, len(ls), err, want)
	}
	return ls, next
}

func ftAck(t *testing.T, f *Frontier, l store.Lease) {
	t.Helper()
	if err := f.Ack(context.Background(), l, store.Outcome{Status: 200}); err != nil {
		t.Fatalf("Ack(%s): %v", l.Key, err)
	}
}

// TestSharedPerHost checks that PerHost holds across two workers.
func TestSharedPerHost(t *testing.T) {
	e := ftMini(t)
	opts := Options{FrontierOptions: store.FrontierOptions{PerHost: 2, Interval: -1}}
	a, b := e.open(opts), e.open(opts)
	ftPush(t, a, 4, ftEntry("a.test", "1"), ftEntry("a.test", "2"), ftEntry("a.test", "3"), ftEntry("a.test", "4"))
	la, _ := ftClaim(t, a, 1, 1)
	ftClaim(t, b, 1, 1)
	ftClaim(t, a, 10, 0) // the host's two slots are taken, one by each
	ftClaim(t, b, 10, 0)
	ftAck(t, a, la[0]) // a frees a slot: b may take it
	ftClaim(t, b, 10, 1)
	ftClaim(t, a, 10, 0)
}

// TestSharedInterval checks that the interval, SetHostInterval and a
// host back-off hold across two workers.
func TestSharedInterval(t *testing.T) {
	e := ftMini(t)
	opts := Options{FrontierOptions: store.FrontierOptions{PerHost: -1, Interval: time.Second, LeaseTTL: time.Hour}}
	a, b := e.open(opts), e.open(opts)
	for i := range 5 {
		ftPush(t, a, 1, ftEntry("a.test", fmt.Sprint(i)))
	}
	ftClaim(t, a, 10, 1)
	_, next := ftClaim(t, b, 10, 0)
	if want := storetest.Start.Add(time.Second); !next.Equal(want) {
		t.Fatalf("b's next = %v, want %v", next, want)
	}
	e.clock.Advance(time.Second)
	ls, _ := ftClaim(t, b, 10, 1)

	// a raises the interval (Crawl-delay): b waits for it.
	if err := a.SetHostInterval(e.ctx, "a.test", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	_, next = ftClaim(t, b, 10, 0)
	if want := storetest.Start.Add(6 * time.Second); !next.Equal(want) {
		t.Fatalf("after SetHostInterval b's next = %v, want %v", next, want)
	}
	e.clock.Advance(4 * time.Second)
	ls2, _ := ftClaim(t, b, 10, 1)
	if ls2[0].Interval != 5*time.Second {
		t.Fatalf("lease Interval = %v, want 5s", ls2[0].Interval)
	}

	// b acks with a host back-off (Retry-After): a waits for it.
	if err := b.Ack(e.ctx, ls[0], store.Outcome{Status: 429, HostBackoff: e.clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Second)
	_, next = ftClaim(t, a, 10, 0)
	if want := storetest.Start.Add(6*time.Second + time.Minute); !next.Equal(want) {
		t.Fatalf("after a back-off a's next = %v, want %v", next, want)
	}
}

// TestKilledWorker checks that the leases of a worker killed without
// Close are claimed by another after they expire, and that an ack of the
// old lease is stale and writes no record.
func TestKilledWorker(t *testing.T) {
	e := ftMini(t)
	const ttl = time.Minute
	opts := Options{FrontierOptions: store.FrontierOptions{PerHost: 1, Interval: -1, LeaseTTL: ttl}}
	a, b := e.open(opts), e.open(opts)
	ftPush(t, a, 2, ftEntry("a.test", "1"), ftEntry("b.test", "1"))
	old, _ := ftClaim(t, a, 2, 2)
	a.abandon()

	_, next := ftClaim(t, b, 10, 0)
	if want := storetest.Start.Add(ttl); !next.Equal(want) {
		t.Fatalf("next = %v, want the leases' expiry %v", next, want)
	}
	e.clock.Advance(ttl)
	ls, _ := ftClaim(t, b, 10, 2)
	for _, l := range ls {
		for _, o := range old {
			if l.Key == o.Key && l.ID == o.ID {
				t.Fatalf("%s re-claimed with its old lease ID %d", l.Key, l.ID)
			}
		}
	}

	// The killed worker's ack, had it come late, is stale and writes
	// nothing; the new holder's writes its record once.
	c := e.open(opts)
	if err := c.AckRecord(e.ctx, old[0], store.Outcome{Status: 200}, []byte(`{"url":"late"}`)); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("ack of the expired lease = %v, want ErrStaleLease", err)
	}
	for _, l := range ls {
		if err := b.AckRecord(e.ctx, l, store.Outcome{Status: 200}, []byte(`{"url":"`+l.URL+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.outbox(); len(got) != 2 || slices.Contains(got, `{"url":"late"}`) {
		t.Fatalf("outbox = %q, want the two records of the new leases", got)
	}
}

// TestCloseGivesBack checks that Close gives back the leases a worker
// holds, and that a worker opened again under the name of one that was
// killed gets its leases back at once.
func TestCloseGivesBack(t *testing.T) {
	e := ftMini(t)
	opts := Options{FrontierOptions: store.FrontierOptions{PerHost: -1, Interval: -1}}
	a := e.open(opts)
	ftPush(t, a, 3, ftEntry("a.test", "1"), ftEntry("a.test", "2"), ftEntry("a.test", "3"))
	ftClaim(t, a, 2, 2)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := e.open(opts)
	ls, _ := ftClaim(t, b, 10, 3)
	if s, _ := b.Stats(e.ctx); s.InFlight != 3 || s.Queued != 0 {
		t.Fatalf("Stats = %+v, want 3 in flight", s)
	}

	named := opts
	named.Worker = "fixed"
	c := e.open(named)
	ftPush(t, c, 1, ftEntry("b.test", "1"))
	cl, _ := ftClaim(t, c, 10, 1)
	c.abandon() // killed: its lease stays
	c2 := e.open(named)
	got, _ := ftClaim(t, c2, 10, 1) // at once, not after the lease time
	if got[0].Key != cl[0].Key || got[0].ID == cl[0].ID {
		t.Fatalf("reopened worker claimed %s #%d, want %s under a new ID", got[0].Key, got[0].ID, cl[0].Key)
	}
	for _, l := range ls {
		ftAck(t, b, l) // b's leases were not taken
	}
}

// TestLeaseExtension checks, on Redis's own clock, that a live worker
// keeps a lease longer than its lease time, and that once it stops
// (killed) another worker gets the entry after the lease time.
func TestLeaseExtension(t *testing.T) {
	t.Run("miniredis", func(t *testing.T) { ftLeaseExtension(t, ftMini(t)) }) // TIME is the wall clock
	t.Run("redis", func(t *testing.T) { ftLeaseExtension(t, ftReal(t, redistest.Options{})) })
}

func ftLeaseExtension(t *testing.T, e *ftEnv) {
	e.redisClock = true
	// The lease lasts 20 extension periods, so that a loaded machine
	// (CI under -race) that delays the extender does not let it lapse.
	const ttl = time.Second
	wall := Options{FrontierOptions: store.FrontierOptions{PerHost: 1, Interval: -1, LeaseTTL: ttl}}
	a := e.open(Options{FrontierOptions: wall.FrontierOptions, ExtendEvery: 50 * time.Millisecond})
	b := e.open(wall)
	ftPush(t, a, 1, ftEntry("a.test", "1"))
	ftClaim(t, a, 1, 1)
	deadline := time.Now().Add(3 * ttl)
	for time.Now().Before(deadline) {
		ftClaim(t, b, 1, 0)
		time.Sleep(20 * time.Millisecond)
	}
	a.abandon()
	deadline = time.Now().Add(10 * time.Second)
	for {
		ls, _, err := b.Claim(e.ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the entry of a stopped worker was not claimable 10s after its lease time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHeartbeat checks, on a real server and its clock, that a worker
// beats while it lives and leaves the list when closed, as Inspect shows.
func TestHeartbeat(t *testing.T) {
	defer func(d time.Duration) { heartbeatEvery = d }(heartbeatEvery)
	heartbeatEvery = 20 * time.Millisecond
	e := ftReal(t, redistest.Options{})
	e.redisClock = true
	f := e.open(Options{Worker: "beating"})
	ftPush(t, f, 1, ftEntry("a.test", "1"))
	ftClaim(t, f, 1, 1)
	key := crawlPrefix(e.crawl) + "workers"
	first, err := e.c.ZScore(e.ctx, key, "beating").Result()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s, _ := e.c.ZScore(e.ctx, key, "beating").Result(); s > first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no heartbeat in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := Inspect(e.ctx, e.c, e.crawl)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Workers) != 1 || st.Workers[0].Name != "beating" || st.Workers[0].InFlight != 1 ||
		st.Now.Sub(st.Workers[0].LastSeen).Abs() > time.Second {
		t.Fatalf("Workers = %+v at %v, want beating, just seen, with 1 lease", st.Workers, st.Now)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = Inspect(e.ctx, e.c, e.crawl); err != nil || len(st.Workers) != 0 || st.Frontier.InFlight != 0 {
		t.Fatalf("after Close Inspect = %+v, %v; want no workers, nothing in flight", st, err)
	}
}

// TestReissuedLeaseID checks that a lease ID handed out again after
// Redis lost writes (its counter went back) does not let the first
// holder settle the other URL.
func TestReissuedLeaseID(t *testing.T) {
	e := ftMini(t)
	f := e.open(Options{FrontierOptions: store.FrontierOptions{PerHost: -1, Interval: -1}})
	ftPush(t, f, 2, ftEntry("a.test", "1"), ftEntry("b.test", "1"))
	la, _ := ftClaim(t, f, 1, 1)
	// Redis "forgets" the claim's counter increment: the next claim gets
	// the same ID for the other URL.
	if err := e.c.Set(e.ctx, crawlPrefix(e.crawl)+"seq", la[0].ID-1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	lb, _ := ftClaim(t, f, 1, 1)
	if lb[0].ID != la[0].ID || lb[0].Key == la[0].Key {
		t.Fatalf("test setup: leases %d %s and %d %s", la[0].ID, la[0].Key, lb[0].ID, lb[0].Key)
	}
	for _, call := range []func() error{
		func() error { return f.AckRecord(e.ctx, la[0], store.Outcome{}, []byte("{}")) },
		func() error { return f.Retry(e.ctx, la[0], time.Time{}, false) },
		func() error { return f.Release(e.ctx, la[0], time.Time{}) },
	} {
		if err := call(); !errors.Is(err, store.ErrStaleLease) {
			t.Fatalf("settle of the first holder = %v, want ErrStaleLease", err)
		}
	}
	if n := len(e.outbox()); n != 0 {
		t.Fatalf("outbox has %d records, want none", n)
	}
	ftAck(t, f, lb[0])
}

// TestQueueBound checks that a URL pushed to a full host queue is marked
// seen, not queued, and recorded once as skipped, with the fields
// store.Record would write; on miniredis and on a real server (whose
// cjson escapes differently).
func TestQueueBound(t *testing.T) {
	for _, env := range []struct {
		name string
		new  func(t *testing.T) *ftEnv
	}{
		{"miniredis", ftMini},
		{"redis", func(t *testing.T) *ftEnv { return ftReal(t, redistest.Options{}) }},
	} {
		t.Run(env.name, func(t *testing.T) {
			e := env.new(t)
			f := e.open(Options{MaxQueuePerHost: 2})
			ftPush(t, f, 2, ftEntry("a.test", "1"), ftEntry("a.test", "2"))
			refused := []store.Entry{
				{URL: "https://a.test/x?q=\"/</\\", Key: "https://a.test/x?q=%22", Host: "a.test", Depth: 3, Parent: "http://a.test/p", Kind: parse.KindAsset},
				{URL: "http://a.test/é\u2028", Key: "http://a.test/é", Host: "a.test", Kind: parse.KindSitemap},
			}
			ftPush(t, f, 1, refused[0], ftEntry("b.test", "1"), refused[1], refused[0])
			s, err := f.Stats(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s.Queued != 3 || s.Seen != 5 || s.Duplicates != 1 {
				t.Fatalf("Stats = %+v, want Queued 3, Seen 5, Duplicates 1", s)
			}
			if first, _ := f.MarkSeen(e.ctx, refused[0].Key); first {
				t.Fatal("a refused URL is not seen")
			}
			got := e.outbox()
			if len(got) != len(refused) {
				t.Fatalf("outbox = %q, want %d records", got, len(refused))
			}
			for i, en := range refused {
				want, _ := store.Record{URL: en.URL, Depth: en.Depth, Parent: en.Parent, Skipped: SkipQueueFull, Kind: en.Kind}.MarshalJSON()
				var gm, wm map[string]any
				if err := json.Unmarshal([]byte(got[i]), &gm); err != nil {
					t.Fatalf("record %q: %v", got[i], err)
				}
				_ = json.Unmarshal(want, &wm)
				if !reflect.DeepEqual(gm, wm) {
					t.Errorf("record %s\n got %s\nwant %s", en.URL, got[i], want)
				}
			}
		})
	}
}

// TestOutboxOnce checks that MarkSeenRecord and AckRecord write their
// record exactly when they decide the URL.
func TestOutboxOnce(t *testing.T) {
	e := ftMini(t)
	f := e.open(Options{FrontierOptions: store.FrontierOptions{Interval: -1}})
	for i, want := range []bool{true, false} {
		first, err := f.MarkSeenRecord(e.ctx, "http://a.test/r", []byte(`{"url":"r"}`))
		if err != nil || first != want {
			t.Fatalf("MarkSeenRecord #%d = %v, %v; want %v", i+1, first, err, want)
		}
	}
	ftPush(t, f, 1, ftEntry("a.test", "1"))
	ls, _ := ftClaim(t, f, 1, 1)
	if err := f.AckRecord(e.ctx, ls[0], store.Outcome{Status: 200}, []byte(`{"url":"1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := f.AckRecord(e.ctx, ls[0], store.Outcome{Status: 200}, []byte(`{"url":"1"}`)); !errors.Is(err, store.ErrStaleLease) {
		t.Fatalf("second AckRecord = %v, want ErrStaleLease", err)
	}
	if got, want := e.outbox(), []string{`{"url":"r"}`, `{"url":"1"}`}; !slices.Equal(got, want) {
		t.Fatalf("outbox = %q, want %q", got, want)
	}
}

// TestJoin checks that the first meta given is the crawl's.
func TestJoin(t *testing.T) {
	e := ftMini(t)
	a, b := e.open(Options{}), e.open(Options{})
	for _, c := range []struct {
		f          *Frontier
		meta, want string
	}{{a, "one", "one"}, {b, "two", "one"}, {a, "one", "one"}} {
		got, err := c.f.Join(e.ctx, []byte(c.meta))
		if err != nil || string(got) != c.want {
			t.Fatalf("Join(%s) = %q, %v; want %q", c.meta, got, err, c.want)
		}
	}
}

// TestRobotsShared checks that one worker's robots.txt is another's.
func TestRobotsShared(t *testing.T) {
	e := ftMini(t)
	a, b := e.open(Options{}), e.open(Options{})
	if _, _, ok := b.LoadRobots("https://a.test"); ok {
		t.Fatal("LoadRobots found a file never stored")
	}
	at := time.Date(2025, 5, 6, 7, 8, 9, 123e6, time.UTC)
	body := []byte("User-agent: *\nDisallow: /private|x\n")
	for origin, body := range map[string][]byte{"https://a.test": body, "http://b.test:8080": {}} {
		if err := a.StoreRobots(origin, body, at); err != nil {
			t.Fatal(err)
		}
		got, when, ok := b.LoadRobots(origin)
		if !ok || string(got) != string(body) || !when.Equal(at) {
			t.Fatalf("LoadRobots(%s) = %q, %v, %v; want %q, %v", origin, got, when, ok, body, at)
		}
	}
	if ttl := e.mr.TTL(crawlPrefix(e.crawl) + "robots:https://a.test"); ttl != robotsKeep {
		t.Fatalf("robots key TTL = %v, want %v", ttl, robotsKeep)
	}
	b.Close()
	if _, _, ok := b.LoadRobots("https://a.test"); ok {
		t.Fatal("LoadRobots answered after Close")
	}
}

// TestInspect checks every field of Status.
func TestInspect(t *testing.T) {
	e := ftMini(t)
	if _, err := Inspect(e.ctx, e.c, e.crawl); !errors.Is(err, ErrNoCrawl) {
		t.Fatalf("Inspect of no crawl = %v, want ErrNoCrawl", err)
	}
	now := storetest.Start
	e.mr.SetTime(now) // Inspect reads Redis's clock
	opts := Options{FrontierOptions: store.FrontierOptions{PerHost: 2, Interval: time.Second}, MaxQueuePerHost: 3}
	opts.Worker = "w1"
	w1 := e.open(opts)
	opts.Worker = "w2"
	w2 := e.open(opts)
	if _, err := w1.Join(e.ctx, []byte(`{"seeds":["x"]}`)); err != nil {
		t.Fatal(err)
	}
	var es []store.Entry
	for i := range 4 {
		es = append(es, ftEntry("a.test", fmt.Sprint(i)))
	}
	es = append(es, ftEntry("b.test", "1"), ftEntry("b.test", "2"), ftEntry("c.test", "1"))
	ftPush(t, w1, 6, es...) // a.test/3 refused: queue full
	ftPush(t, w1, 0, es[0])
	l1, _ := ftClaim(t, w1, 3, 3) // one per host
	e.clock.Advance(time.Second)
	l2, _ := ftClaim(t, w2, 1, 1) // a.test or b.test
	for _, l := range l1 {
		var o store.Outcome
		switch l.Host {
		case "b.test":
			o.Error = "timeout"
		case "c.test":
			o.Skipped = "robots"
		default:
			continue
		}
		if err := w1.AckRecord(e.ctx, l, o, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.c.HSet(e.ctx, crawlPrefix(e.crawl)+"exports", "out.jsonl", 1234).Err(); err != nil {
		t.Fatal(err)
	}

	st, err := Inspect(e.ctx, e.c, e.crawl)
	if err != nil {
		t.Fatal(err)
	}
	want := Status{
		Crawl:     e.crawl,
		Meta:      []byte(`{"seeds":["x"]}`),
		Frontier:  store.FrontierStats{Queued: 2, InFlight: 2, Seen: 7, Duplicates: 1, Done: 2, Hosts: 2},
		Failed:    1,
		Skipped:   1,
		QueueFull: 1,
		Outbox:    3, // the refused URL's record and two acks'
		Exported:  map[string]int64{"out.jsonl": 1234},
		Now:       now,
	}
	var w1n, w2n int
	for _, l := range l1 {
		if l.Host == "a.test" {
			w1n++
		}
	}
	w2n = len(l2)
	want.Workers = []Worker{{Name: "w1", LastSeen: now, InFlight: w1n}, {Name: "w2", LastSeen: now, InFlight: w2n}}
	// The hosts: a.test has 3 pushed, 1 claimed by w1 and maybe one by
	// w2; b.test 2 pushed, 1 claimed and acked by w1, maybe one by w2.
	if !slices.IsSortedFunc(st.Hosts, func(a, b HostStatus) int { return b.Queued - a.Queued }) {
		t.Errorf("Hosts = %+v, want most queued first", st.Hosts)
	}
	wantHosts := map[string]HostStatus{}
	aq, ai, bq, bi := 2, 1, 1, 0
	if l2[0].Host == "a.test" {
		aq, ai = 1, 2
	} else {
		bq, bi = 0, 1
	}
	wantHosts["a.test"] = HostStatus{Host: "a.test", Queued: aq, InFlight: ai}
	if bq+bi > 0 {
		wantHosts["b.test"] = HostStatus{Host: "b.test", Queued: bq, InFlight: bi}
	}
	if len(st.Hosts) != len(wantHosts) {
		t.Errorf("Hosts = %+v, want %d", st.Hosts, len(wantHosts))
	}
	for _, h := range st.Hosts {
		w, ok := wantHosts[h.Host]
		if !ok || h.Queued != w.Queued || h.InFlight != w.InFlight {
			t.Errorf("host %+v, want %+v", h, w)
		}
		// Claimed at Start (and Start+1s): next allowed a second later,
		// but Redis's clock reads Start: in the future.
		if h.NextAllowed.IsZero() || !h.NextAllowed.After(now) {
			t.Errorf("host %s NextAllowed = %v, want after %v", h.Host, h.NextAllowed, now)
		}
	}
	st.Hosts = nil
	if !st.Now.Equal(want.Now) {
		t.Errorf("Now = %v, want %v", st.Now, want.Now)
	}
	st.Now = want.Now
	for i := range st.Workers {
		if i < len(want.Workers) && st.Workers[i].LastSeen.Equal(want.Workers[i].LastSeen) {
			st.Workers[i].LastSeen = want.Workers[i].LastSeen
		}
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Inspect =\n%+v\nwant\n%+v", st, want)
	}

	// A crawl of another schema is refused.
	if err := e.c.Set(e.ctx, crawlPrefix(e.crawl)+"schema", "999", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(e.ctx, e.c, e.crawl); !errors.Is(err, ErrSchema) {
		t.Fatalf("Inspect of another schema = %v, want ErrSchema", err)
	}
	if _, err := Inspect(e.ctx, e.c, "bad name"); !errors.Is(err, ErrBadName) {
		t.Fatalf("Inspect of a bad name = %v, want ErrBadName", err)
	}
}

// TestOpenErrors checks the errors of Open and Dial.
func TestOpenErrors(t *testing.T) {
	e := ftMini(t)
	if err := e.c.Set(e.ctx, crawlPrefix("old")+"schema", "0", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts Options
		want error
	}{
		{Options{Crawl: "old"}, ErrSchema},
		{Options{Crawl: ""}, ErrBadName},
		{Options{Crawl: "a{b}"}, ErrBadName},
		{Options{Crawl: strings.Repeat("x", 65)}, ErrBadName},
		{Options{Crawl: "ok", Worker: "a\nb"}, ErrBadName},
	} {
		if _, err := Open(e.ctx, e.c, c.opts); !errors.Is(err, c.want) {
			t.Errorf("Open(%+v) = %v, want %v", c.opts, err, c.want)
		}
	}
	if _, err := Open(e.ctx, e.c, Options{Crawl: "ok", ExpectedURLs: -1}); err == nil {
		t.Error("Open with negative ExpectedURLs succeeded")
	}
	e.mr.Close()
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	if _, err := Open(ctx, e.c, Options{Crawl: "gone", MaxOutage: -1}); err == nil {
		t.Error("Open with the server gone succeeded")
	}
}

// TestDialUnreachable checks that Dial to a closed port fails at once
// with a one-line error naming the address.
func TestDialUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = Dial(context.Background(), "redis://"+addr+"/0", Options{Crawl: "c"})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Dial = %v, want ErrUnreachable", err)
	}
	if took := time.Since(start); took > dialTimeout+time.Second {
		t.Errorf("Dial took %v", took)
	}
	if msg := err.Error(); !strings.Contains(msg, addr) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming %s", msg, addr)
	}
	if _, err := Dial(context.Background(), "http://x", Options{Crawl: "c"}); err == nil {
		t.Error("Dial of an http URL succeeded")
	}
}

// TestDial checks Dial and that Close closes the connection it made.
func TestDial(t *testing.T) {
	mr := miniredis.RunT(t)
	f, err := Dial(context.Background(), "redis://"+mr.Addr()+"/0", Options{Crawl: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stats(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Ping(context.Background()).Err(); !errors.Is(err, goredis.ErrClosed) {
		t.Fatalf("client after Close: %v, want it closed", err)
	}
}

// TestSettleBatches checks that concurrent acks, batched into shared
// script calls, each get their own outcome.
func TestSettleBatches(t *testing.T) {
	e := ftMini(t)
	f := e.open(Options{FrontierOptions: store.FrontierOptions{PerHost: -1, Interval: -1}})
	const n = 300
	var es []store.Entry
	for i := range n {
		es = append(es, ftEntry(fmt.Sprintf("h%d.test", i%13), fmt.Sprint(i)))
	}
	ftPush(t, f, n, es...)
	ls, _ := ftClaim(t, f, n, n)
	before := f.calls.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for _, l := range ls {
		wg.Go(func() {
			errs <- f.Ack(e.ctx, l, store.Outcome{Status: 200})
			errs <- f.Ack(e.ctx, l, store.Outcome{Status: 200}) // stale
		})
	}
	wg.Wait()
	close(errs)
	var ok, stale int
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrStaleLease):
			stale++
		default:
			t.Fatal(err)
		}
	}
	if ok != n || stale != n {
		t.Fatalf("%d acks accepted and %d stale, want %d each", ok, stale, n)
	}
	t.Logf("%d acks in %d script calls", 2*n, f.calls.Load()-before)
	if s, _ := f.Stats(e.ctx); s.Done != n || s.InFlight != 0 {
		t.Fatalf("Stats = %+v", s)
	}
	// A settle whose caller gives up before it is sent is not applied.
	ftPush(t, f, 1, ftEntry("z.test", "1"))
	lz, _ := ftClaim(t, f, 1, 1)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if err := f.Ack(ctx, lz[0], store.Outcome{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ack with a canceled ctx = %v", err)
	}
}

// TestNoLeak checks that Close ends every goroutine a frontier starts.
func TestNoLeak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	for range 3 {
		f, err := Open(context.Background(), c, Options{Crawl: "leak", ExtendEvery: time.Millisecond, FrontierOptions: store.FrontierOptions{Interval: -1}})
		if err != nil {
			t.Fatal(err)
		}
		ftPush(t, f, 1, ftEntry("a.test", fmt.Sprint(time.Now().UnixNano())))
		ls, _, _ := f.Claim(context.Background(), 1)
		time.Sleep(5 * time.Millisecond) // let it extend
		if len(ls) > 0 {
			ftAck(t, f, ls[0])
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOutage checks, on a real server stopped and started again during
// calls, that the calls wait for it (with AOF, nothing is lost) and
// that one waits no longer than MaxOutage.
func TestOutage(t *testing.T) {
	e := ftReal(t, redistest.Options{AppendOnly: true, Fsync: "always"})
	f := e.open(Options{FrontierOptions: store.FrontierOptions{PerHost: -1, Interval: -1}, MaxOutage: 30 * time.Second})
	ftPush(t, f, 2, ftEntry("a.test", "1"), ftEntry("a.test", "2"))
	ls, _ := ftClaim(t, f, 1, 1)

	e.srv.Stop()
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	type res struct {
		what string
		err  error
	}
	done := make(chan res, 3)
	go func() {
		_, err := f.Push(ctx, []store.Entry{ftEntry("b.test", "1")})
		done <- res{"Push", err}
	}()
	go func() {
		done <- res{"AckRecord", f.AckRecord(ctx, ls[0], store.Outcome{Status: 200}, []byte(`{"url":"1"}`))}
	}()
	go func() {
		_, err := f.Stats(ctx)
		done <- res{"Stats", err}
	}()
	time.Sleep(500 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("%s returned %v while the server was down", r.what, r.err)
	default:
	}
	e.srv.Restart(t)
	for range 3 {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("%s across the outage: %v", r.what, r.err)
			}
		case <-ctx.Done():
			t.Fatal("calls did not resume after the server came back")
		}
	}
	s, err := f.Stats(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Done != 1 || s.Queued != 2 || s.Seen != 3 {
		t.Fatalf("after the outage Stats = %+v, want 1 done, 2 queued, 3 seen", s)
	}
	if got := e.outbox(); len(got) != 1 {
		t.Fatalf("outbox = %q, want the ack's record once", got)
	}

	// With a short MaxOutage, a call gives up.
	g := e.open(Options{MaxOutage: 300 * time.Millisecond})
	e.srv.Kill()
	start := time.Now()
	if _, err := g.Stats(ctx); err == nil {
		t.Fatal("Stats succeeded with the server down")
	}
	// An attempt itself takes a while (go-redis dials 5 times, and
	// retries a command 3 times) before the outage bound is looked at.
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("Stats gave up after %v, want about MaxOutage", took)
	}
}

// TestCodec checks that stored entries decode to what was pushed, for
// the forms elide shortens and those it must not.
func TestCodec(t *testing.T) {
	for _, e := range []store.Entry{
		{URL: "http://a.test/x", Key: "http://a.test/x", Host: "a.test"},
		{URL: "https://a.test:8443/x?y#z", Key: "https://a.test:8443/x?y", Host: "a.test:8443", Depth: 7, Attempt: 3, Redirects: 2, Kind: parse.KindForm, Parent: "https://a.test:8443/"},
		{URL: "http://A.test/", Key: "http://a.test/", Host: "a.test", Parent: "http://b.test/|x|"},
		{URL: "\x01odd", Key: "\x02odd", Host: "a.test", Parent: "\x00"},
		{URL: "", Key: "", Host: "h"},
		{URL: "http://h/é", Key: "", Host: "h", Depth: -1},
	} {
		blob := string(appendEntry(nil, &e))
		got, err := decodeEntry(e.Host, blob)
		if err != nil || got != e {
			t.Errorf("decode(encode(%+v)) = %+v, %v", e, got, err)
		}
		if blob[:8] != fpBytes(e.Key) {
			t.Errorf("%+v: stored without its fingerprint first", e)
		}
	}
	for _, bad := range []string{"", "12345678", "12345678x|", "123456780|0|0|0|0|5|0|0|abc"} {
		if _, err := decodeEntry("h", bad); err == nil {
			t.Errorf("decodeEntry(%q) succeeded", bad)
		}
	}
	for _, c := range []struct {
		n    int64
		want int
	}{{0, 1}, {1000, 2}, {DefaultExpectedURLs, 16}, {100_000_000, 19}, {1 << 62, 32}} {
		if got := seenBits(c.n); got != c.want {
			t.Errorf("seenBits(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestRedisKill kills redis-server (AOF, appendfsync everysec) after a
// burst of acks and starts it again without its last writes (a suffix:
// claims, acks and their records together; lease IDs are handed out
// again), and checks that the crawl goes on to record every URL exactly
// once.
func TestRedisKill(t *testing.T) {
	e := ftReal(t, redistest.Options{AppendOnly: true})
	const n, ttl = 300, time.Minute
	f := e.open(Options{FrontierOptions: store.FrontierOptions{PerHost: -1, Interval: -1, LeaseTTL: ttl}, MaxOutage: 20 * time.Second})
	var es []store.Entry
	for i := range n {
		es = append(es, ftEntry(fmt.Sprintf("h%d.test", i%7), fmt.Sprint(i)))
	}
	ftPush(t, f, n, es...)
	time.Sleep(1500 * time.Millisecond) // the pushes reach the disk
	work := func(max int) int {
		ls, _, err := f.Claim(e.ctx, max)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			err := f.AckRecord(e.ctx, l, store.Outcome{Status: 200}, []byte(l.URL))
			if err != nil && !errors.Is(err, store.ErrStaleLease) {
				t.Fatal(err)
			}
		}
		return len(ls)
	}
	acked := 0
	for acked < n/2 {
		acked += work(30)
	}
	e.srv.Kill()
	// A killed process loses nothing the kernel has: lose the last
	// writes as a crash of the machine would, cutting the AOF at a
	// command boundary (a MULTI cut short is dropped on load).
	ftCutAOF(t, e.srv.Dir(), 0.3)
	e.srv.Restart(t)
	s, err := f.Stats(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Done >= int64(acked) {
		t.Fatalf("after cutting the AOF Redis kept %d of %d acks: nothing lost", s.Done, acked)
	}
	t.Logf("acked %d before the kill; Redis kept %d", acked, s.Done)
	for rounds := 0; ; rounds++ {
		if rounds > 100 {
			t.Fatal("the crawl did not finish")
		}
		if work(50) > 0 {
			continue
		}
		s, err := f.Stats(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Queued == 0 && s.InFlight == 0 {
			if s.Done != n || s.Seen != n {
				t.Fatalf("at the end Stats = %+v, want %d done", s, n)
			}
			break
		}
		e.clock.Advance(ttl) // leases whose acks were lost expire
	}
	recs := map[string]int{}
	for _, r := range e.outbox() {
		recs[r]++
	}
	for _, en := range es {
		if recs[en.URL] != 1 {
			t.Errorf("%s recorded %d times, want once", en.URL, recs[en.URL])
		}
	}
	if len(recs) != n {
		t.Errorf("%d URLs recorded, want %d", len(recs), n)
	}
}

// ftCutAOF drops the last part (frac of its bytes, at least) of the
// server's incremental AOF file, at a command boundary.
func ftCutAOF(t *testing.T, dir string, frac float64) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.incr.aof"))
	if len(files) != 1 {
		t.Fatalf("AOF files %v, want one incremental file", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// Each command is "*N\r\n" and N times "$LEN\r\nDATA\r\n".
	line := func(i int) (string, int) {
		j := bytes.Index(b[i:], []byte("\r\n"))
		if j < 0 {
			t.Fatalf("AOF: no line end after byte %d", i)
		}
		return string(b[i : i+j]), i + j + 2
	}
	keep, limit := 0, int(float64(len(b))*(1-frac))
	for i := 0; i < len(b) && i <= limit; {
		keep = i
		head, next := line(i)
		n, err := strconv.Atoi(strings.TrimPrefix(head, "*"))
		if err != nil || head[0] != '*' {
			t.Fatalf("AOF: %q at byte %d is not a command", head, i)
		}
		for range n {
			head, next = line(next)
			size, err := strconv.Atoi(strings.TrimPrefix(head, "$"))
			if err != nil {
				t.Fatalf("AOF: bad bulk length %q", head)
			}
			next += size + 2
		}
		i = next
	}
	if err := os.WriteFile(files[0], b[:keep], 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBigPush checks a Push too big to ride the settle loop (more than
// maxBatchedPush entries), which goes alone: new entries queued,
// duplicates counted, a full host's refused, and the host still claimable.
func TestBigPush(t *testing.T) {
	e := ftMini(t)
	f := e.open(Options{MaxQueuePerHost: 150, FrontierOptions: store.FrontierOptions{PerHost: -1, Interval: -1}})
	var entries []store.Entry
	for i := range 2 * maxBatchedPush {
		entries = append(entries, ftEntry("a.test", fmt.Sprint(i)))
	}
	entries = append(entries, entries[0], ftEntry("b.test", "1"))
	for i := range 2 * maxBatchedPush {
		entries = append(entries, ftEntry("a.test", fmt.Sprint("more-", i)))
	}
	want := 150 + 1 // a.test up to its bound, and b.test
	ftPush(t, f, want, entries...)
	s, err := f.Stats(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Queued != want || s.Seen != int64(4*maxBatchedPush+1) || s.Duplicates != 1 {
		t.Fatalf("Stats = %+v, want Queued %d, Seen %d, Duplicates 1", s, want, 4*maxBatchedPush+1)
	}
	if got := len(e.outbox()); got != 4*maxBatchedPush-150 {
		t.Fatalf("%d records of refused URLs, want %d", got, 4*maxBatchedPush-150)
	}
	ls, _, err := f.Claim(e.ctx, 1000)
	if err != nil || len(ls) != want {
		t.Fatalf("Claim = %d leases, %v; want %d", len(ls), err, want)
	}
}
