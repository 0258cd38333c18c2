package sched

import (
	"slices"
	"testing"
	"time"
)

// fakeQueue is a host queue as Hosts sees it: n entries, the first
// claimable from at (Never: at once).
type fakeQueue struct {
	n  int
	at int64
}

func (q *fakeQueue) head() (bool, int64) { return q.n > 0, q.at }

const sec = int64(time.Second)

// t0 is the fake clock's start, in Unix nanoseconds.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()

// testHosts is a Hosts over fakeQueues with a fake clock, recording the
// hosts it forgets.
type testHosts struct {
	*Hosts[fakeQueue, string]
	now       int64
	forgotten []string
}

func newTestHosts(lim Limits) *testHosts {
	th := &testHosts{now: t0}
	th.Hosts = NewHosts[fakeQueue, string](Config[fakeQueue]{
		Limits: lim,
		Now:    func() time.Time { return time.Unix(0, th.now) },
		Head:   (*fakeQueue).head,
		Forget: func(h *Host[fakeQueue]) { th.forgotten = append(th.forgotten, h.Name) },
	})
	return th
}

// push queues n entries on host name, as a backend's Push does.
func (th *testHosts) push(name string, n int) *Host[fakeQueue] {
	h := th.Get(name)
	h.Queue.n += n
	th.Refresh(h)
	return h
}

// claim claims up to max entries at th.now, as a backend's Claim does,
// and returns the leases.
func (th *testHosts) claim(max int) []*Lease[fakeQueue, string] {
	var ls []*Lease[fakeQueue, string]
	for len(ls) < max {
		h := th.Ready(th.now)
		if h == nil {
			break
		}
		h.Queue.n--
		ls = append(ls, th.Claim(h, th.now, h.Name))
	}
	return ls
}

// claimNames claims up to max entries and returns their hosts' names.
func (th *testHosts) claimNames(max int) []string {
	var names []string
	for _, l := range th.claim(max) {
		names = append(names, l.Item)
	}
	return names
}

// ack settles l as a backend's Ack does.
func (th *testHosts) ack(l *Lease[fakeQueue, string]) {
	th.Settle(l)
	th.Refresh(l.Host)
	th.Park(l.Host)
}

func TestHostsRoundRobin(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 1})
	th.push("a", 3)
	th.push("b", 3)
	th.push("c", 1)
	if got, want := th.claimNames(10), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("first claim: got %v, want %v (one per host, in push order)", got, want)
	}
	if got := th.InFlight(); got != 3 {
		t.Fatalf("InFlight = %d, want 3", got)
	}
	if got := th.Active(); got != 3 {
		t.Fatalf("Active = %d, want 3", got)
	}
	// Every host is full: nothing is ready and nothing waits on time.
	if h := th.Ready(th.now); h != nil {
		t.Fatalf("Ready = %s with every slot taken, want nil", h.Name)
	}
	if next := th.Next(time.Unix(0, th.now), th.now); !next.IsZero() {
		t.Fatalf("Next = %v, want zero", next)
	}
}

func TestHostsReadyLongestFirst(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 1})
	th.push("a", 2)
	th.push("b", 2)
	ls := th.claim(2) // a, b
	// b's slot frees first, then a's: both are ready at once, and the one
	// served longest ago goes first.
	th.ack(ls[1])
	th.ack(ls[0])
	if got, want := th.claimNames(2), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestHostsPerHost(t *testing.T) {
	cases := []struct {
		perHost int
		want    int
	}{
		{1, 1},
		{2, 2},
		{Unlimited, 5},
	}
	for _, tc := range cases {
		th := newTestHosts(Limits{PerHost: tc.perHost})
		th.push("a", 5)
		if got := len(th.claim(10)); got != tc.want {
			t.Errorf("PerHost %d: claimed %d, want %d", tc.perHost, got, tc.want)
		}
	}
}

func TestHostsInterval(t *testing.T) {
	th := newTestHosts(Limits{PerHost: Unlimited, Interval: 2 * time.Second})
	th.push("a", 3)
	if got := len(th.claim(10)); got != 1 {
		t.Fatalf("claimed %d, want 1", got)
	}
	nowT := time.Unix(0, th.now)
	if got, want := th.Next(nowT, th.now), nowT.Add(2*time.Second); !got.Equal(want) {
		t.Fatalf("Next = %v, want %v", got, want)
	}
	th.now += 2*sec - 1
	if h := th.Ready(th.now); h != nil {
		t.Fatalf("Ready before the interval passed = %s, want nil", h.Name)
	}
	th.now++
	if got := len(th.claim(10)); got != 1 {
		t.Fatalf("claimed %d after the interval, want 1", got)
	}
}

func TestHostsHeadAt(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 1})
	h := th.Get("a")
	h.Queue = fakeQueue{n: 1, at: t0 + 5*sec} // a retried entry, not before +5s
	th.Refresh(h)
	if th.Active() != 1 {
		t.Fatalf("Active = %d, want 1", th.Active())
	}
	nowT := time.Unix(0, th.now)
	if got, want := th.Next(nowT, th.now), nowT.Add(5*time.Second); !got.Equal(want) {
		t.Fatalf("Next = %v, want %v", got, want)
	}
	th.now += 5*sec - 1
	if th.Ready(th.now) != nil {
		t.Fatal("ready before its entry's time")
	}
	th.now++
	if th.Ready(th.now) != h {
		t.Fatal("not ready at its entry's time")
	}
}

func TestHostsBackoff(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 1})
	h := th.push("a", 2)
	l := th.claim(1)[0]
	if !th.RaiseBackoff(h, t0+10*sec) {
		t.Fatal("RaiseBackoff to a later time = false, want true")
	}
	if th.RaiseBackoff(h, t0+5*sec) {
		t.Fatal("RaiseBackoff to an earlier time = true, want false")
	}
	if h.Backoff != t0+10*sec {
		t.Fatalf("Backoff = %d, want +10s", h.Backoff-t0)
	}
	th.ack(l)
	th.now += 10*sec - 1
	if th.Ready(th.now) != nil {
		t.Fatal("ready during its back-off")
	}
	th.now++
	if th.Ready(th.now) != h {
		t.Fatal("not ready when its back-off ended")
	}
}

func TestHostsLeaseExpiry(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 1, TTL: 10 * time.Second})
	h := th.push("a", 2)
	ls := th.claim(2)
	if len(ls) != 1 {
		t.Fatalf("claimed %d, want 1", len(ls))
	}
	l := ls[0]
	if l.Exp != t0+10*sec {
		t.Fatalf("Exp = +%v, want +10s", time.Duration(l.Exp-t0))
	}
	nowT := time.Unix(0, th.now)
	if got, want := th.Expires(nowT), nowT.Add(10*time.Second); !got.Equal(want) {
		t.Fatalf("Expires = %v, want %v", got, want)
	}
	if got, want := th.Next(nowT, th.now), nowT.Add(10*time.Second); !got.Equal(want) {
		t.Fatalf("Next = %v, want the expiry %v", got, want)
	}
	if th.PopExpired(t0+10*sec-1) != nil {
		t.Fatal("PopExpired before the expiry returned a lease")
	}
	if got := th.PopExpired(t0 + 10*sec); got != l {
		t.Fatalf("PopExpired at the expiry = %v, want the lease", got)
	}
	if th.InFlight() != 0 || th.Lease(l.ID) != nil {
		t.Fatalf("expired lease still live: InFlight %d", th.InFlight())
	}
	// Its slot is free: the host is ready again.
	th.Refresh(h)
	th.now = t0 + 10*sec
	if th.Ready(th.now) != h {
		t.Fatal("host not ready after its lease expired")
	}
}

func TestHostsNoExpiry(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 1}) // TTL 0: leases do not expire
	th.push("a", 1)
	l := th.claim(1)[0]
	if l.Exp != NoExpiry {
		t.Fatalf("Exp = %d, want NoExpiry", l.Exp)
	}
	if got := th.Expires(time.Unix(0, th.now)); !got.IsZero() {
		t.Fatalf("Expires = %v, want zero", got)
	}
	if next := th.Next(time.Unix(0, th.now), th.now); !next.IsZero() {
		t.Fatalf("Next = %v, want zero", next)
	}
	if th.PopExpired(1<<62) != nil {
		t.Fatal("a lease without expiry expired")
	}
}

func TestHostsSettle(t *testing.T) {
	th := newTestHosts(Limits{PerHost: Unlimited})
	th.SetLastID(41)
	th.push("a", 2)
	ls := th.claim(2)
	if ls[0].ID != 42 || ls[1].ID != 43 {
		t.Fatalf("IDs %d, %d; want 42, 43", ls[0].ID, ls[1].ID)
	}
	if th.Lease(42) != ls[0] || th.Lease(7) != nil {
		t.Fatal("Lease does not find the live lease by ID")
	}
	th.ack(ls[0])
	if th.Lease(42) != nil || th.InFlight() != 1 || th.Active() != 1 {
		t.Fatalf("after one ack: lease found %v, InFlight %d, Active %d; want none, 1, 1",
			th.Lease(42) != nil, th.InFlight(), th.Active())
	}
	th.ack(ls[1])
	if th.InFlight() != 0 || th.Active() != 0 {
		t.Fatalf("after both acks: InFlight %d, Active %d; want 0, 0", th.InFlight(), th.Active())
	}
}

// TestHostsForget checks that a host without work is remembered until
// its next-allowed time passes, then forgotten, and that Forget hears of
// it.
func TestHostsForget(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 1, Interval: time.Second})
	th.push("a", 1)
	th.ack(th.claim(1)[0])
	if th.Len() != 1 || th.Idle() != 1 {
		t.Fatalf("after its last ack: %d hosts, %d idle; want 1, 1", th.Len(), th.Idle())
	}
	th.ForgetIdle(t0 + sec - 1)
	if th.Lookup("a") == nil {
		t.Fatal("forgotten before its next-allowed time")
	}
	th.ForgetIdle(t0 + sec)
	if th.Lookup("a") != nil || th.Len() != 0 || th.Idle() != 0 {
		t.Fatalf("not forgotten after its next-allowed time: %d hosts, %d idle", th.Len(), th.Idle())
	}
	if !slices.Equal(th.forgotten, []string{"a"}) {
		t.Fatalf("Forget heard of %v, want [a]", th.forgotten)
	}

	// Without an interval, nothing holds the host: it is forgotten at once.
	th = newTestHosts(Limits{PerHost: 1})
	th.push("b", 1)
	th.ack(th.claim(1)[0])
	if th.Len() != 0 || !slices.Equal(th.forgotten, []string{"b"}) {
		t.Fatalf("%d hosts, forgotten %v; want 0, [b]", th.Len(), th.forgotten)
	}

	// A host that gets work while idle leaves the idle heap.
	th = newTestHosts(Limits{PerHost: 1, Interval: time.Second})
	th.push("c", 1)
	th.ack(th.claim(1)[0])
	th.push("c", 1)
	if th.Idle() != 0 || th.Active() != 1 {
		t.Fatalf("%d idle, %d active; want 0, 1", th.Idle(), th.Active())
	}
	th.ForgetIdle(t0 + time.Hour.Nanoseconds())
	if th.Lookup("c") == nil {
		t.Fatal("a host with work was forgotten")
	}
}

func TestHostsSetInterval(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 1, Interval: time.Second})
	h := th.push("a", 2)
	l := th.claim(1)[0]
	th.SetInterval(h, 5*time.Second)
	if h.Interval != 5*time.Second {
		t.Fatalf("Interval = %v, want 5s", h.Interval)
	}
	th.ack(l)
	// It applies to the claim already made.
	th.now += 5*sec - 1
	if th.Ready(th.now) != nil {
		t.Fatal("ready before the raised interval passed")
	}
	th.now++
	th.ack(th.claim(1)[0])

	// Below the frontier's interval, the frontier's holds.
	th.SetInterval(h, time.Millisecond)
	if h.Interval != time.Second {
		t.Fatalf("Interval = %v, want the frontier's 1s", h.Interval)
	}
	// Lowered while idle, past its next-allowed time, the host goes.
	th.now += 2 * sec
	th.SetInterval(h, 0)
	if th.Lookup("a") != nil || th.Idle() != 0 {
		t.Fatalf("host kept after its interval was lowered: %d hosts, %d idle", th.Len(), th.Idle())
	}
}

// TestHostsResume checks that restored hosts count as claimed from at
// the resume time, and that those without work are parked.
func TestHostsResume(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 1, Interval: time.Second})
	a := th.Get("a")
	a.Queue.n = 1
	b := th.Get("b") // a record only, with a back-off
	b.Backoff = t0 + 10*sec
	c := th.Get("c") // nothing to remember past the interval
	c.Interval = 3 * time.Second
	th.Resume(t0)
	if th.Len() != 3 || th.Idle() != 2 || th.Active() != 1 {
		t.Fatalf("%d hosts, %d idle, %d active; want 3, 2, 1", th.Len(), th.Idle(), th.Active())
	}
	if th.Ready(t0+sec-1) != nil || th.Ready(t0+sec) != a {
		t.Fatal("a restored host is not spaced from the resume time")
	}
	th.ForgetIdle(t0 + 3*sec)
	if th.Lookup("c") != nil || th.Lookup("b") == nil {
		t.Fatal("c not forgotten after its interval, or b before its back-off")
	}
}

func TestHostsClaimCap(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 2})
	for _, name := range []string{"a", "b", "c"} {
		th.push(name, 100)
	}
	if got := th.ClaimCap(64, 300); got != 6 {
		t.Fatalf("ClaimCap = %d, want 6 (3 ready hosts, 2 slots each)", got)
	}
}

// TestHostsClaimAllocs checks that a claim and its settling allocate
// only the lease.
func TestHostsClaimAllocs(t *testing.T) {
	th := newTestHosts(Limits{PerHost: 2, TTL: time.Minute})
	for i := range 100 {
		th.push(string(rune('a'+i%26))+"x", 1<<20)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		h := th.Ready(th.now)
		h.Queue.n--
		l := th.Claim(h, th.now, h.Name)
		th.Settle(l)
		th.Refresh(h)
		th.Park(h)
	})
	if allocs != 1 {
		t.Fatalf("%v allocations per claim and settle, want 1 (the lease)", allocs)
	}
}

func BenchmarkHostsClaimSettle(b *testing.B) {
	th := newTestHosts(Limits{PerHost: 2, TTL: time.Minute})
	for i := range 1000 {
		th.push("h"+string(rune('a'+i%26))+string(rune('a'+i/26)), 1<<30)
	}
	b.ReportAllocs()
	for b.Loop() {
		h := th.Ready(th.now)
		h.Queue.n--
		l := th.Claim(h, th.now, h.Name)
		th.Settle(l)
		th.Refresh(h)
		th.Park(h)
	}
}
