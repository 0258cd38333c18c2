package crawler

// Internal tests of the budgets (budget.go): the host error budget's
// bookkeeping and how it sorts failures, and crawls that meet a dead
// host, a flaky one and a spider trap bigger than the byte budget.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"trawl/fetch"
	"trawl/fixtures"
	"trawl/store"
	"trawl/store/disk"
)

// budgetSink keeps every record.
type budgetSink struct {
	mu   sync.Mutex
	list []store.Record
}

func (s *budgetSink) Put(_ context.Context, r store.Record) error {
	s.mu.Lock()
	s.list = append(s.list, r)
	s.mu.Unlock()
	return nil
}

var _ Sink = (*budgetSink)(nil)

// byURL returns the records by URL and fails on a second record for one.
func (s *budgetSink) byURL(t *testing.T) map[string]store.Record {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]store.Record, len(s.list))
	for _, r := range s.list {
		if _, dup := m[r.URL]; dup {
			t.Errorf("two records for %s", r.URL)
		}
		m[r.URL] = r
	}
	return m
}

// refusedAddr returns a loopback address whose port refuses connections:
// a listener's, closed at once.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hostFetches is a Fetcher that counts the page fetches to one host.
type hostFetches struct {
	Fetcher
	host string
	n    *atomic.Int64
}

func (f hostFetches) Fetch(ctx context.Context, req fetch.Request) (*fetch.Response, error) {
	if u, err := url.Parse(req.URL); err == nil && u.Host == f.host {
		f.n.Add(1)
	}
	return f.Fetcher.Fetch(ctx, req)
}

// The hosts of the budget tests: a good one whose page links to 30 URLs
// of the other, which is dead, flaky or broken.
const (
	goodHost  = "good.budget.test"
	otherHost = "other.budget.test"
	linked    = 30
)

// linkingPage serves, on goodHost, a page linking to linked URLs of
// otherHost.
func linkingPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	for i := range linked {
		fmt.Fprintf(w, `<a href="http://%s/p%d">p%d</a>`+"\n", otherHost, i, i)
	}
}

// budgetConfig is the Config of a crawl from goodHost to otherHost,
// counting the page fetches to otherHost in n.
func budgetConfig(resolve map[string]string, sink Sink, n *atomic.Int64) Config {
	return Config{
		Resolve:      resolve,
		Rate:         -1,
		PerHost:      2,
		Retries:      2,
		RetryBackoff: time.Millisecond,
		IgnoreRobots: true,
		NoSitemaps:   true,
		Scope:        ScopeDomain, // budget.test
		Sink:         sink,
		WrapFetcher:  func(f Fetcher) Fetcher { return hostFetches{f, otherHost, n} },
	}
}

func budgetRun(t *testing.T, cfg Config, seeds ...string) Stats {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := c.Run(ctx, seeds...)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return stats
}

// TestHostUnreachable: a host that refuses connections, with 30 URLs
// queued, is given up after MaxHostFailures failures in a row, plus the
// requests in flight then; its other URLs, queued or waiting for a retry,
// are recorded as skipped host-unreachable without a request, each once.
// With -1 every URL is tried with all its retries.
func TestHostUnreachable(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		name  string
		limit int
	}{{"limit 3", 3}, {"off", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fixtures.NewServer(http.HandlerFunc(linkingPage))
			defer srv.Close()
			resolve := srv.Resolve(goodHost)
			resolve[otherHost+":80"] = refusedAddr(t)
			sink := &budgetSink{}
			var attempts atomic.Int64
			var logs bytes.Buffer // slog's handler serializes its writes
			cfg := budgetConfig(resolve, sink, &attempts)
			cfg.MaxHostFailures = tc.limit
			cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			stats := budgetRun(t, cfg, "http://"+goodHost+"/")

			recs := sink.byURL(t)
			var skipped, failed int64
			for i := range linked {
				u := fmt.Sprintf("http://%s/p%d", otherHost, i)
				r, ok := recs[u]
				switch {
				case !ok:
					t.Errorf("%s: no record", u)
				case r.Skipped == SkipHostUnreachable && r.Attempts == 0 && r.Error == "":
					skipped++
				case r.Skipped == "" && strings.Contains(r.Error, "refused"):
					failed++
				default:
					t.Errorf("%s: got %+v, want an error (refused) or skipped %s", u, r, SkipHostUnreachable)
				}
			}
			pages := int64(linked * (cfg.Retries + 1))
			if tc.limit < 0 {
				if got := attempts.Load(); got != pages || failed != linked || stats.UnreachableHosts != 0 {
					t.Errorf("off: %d attempts, %d errors, %d unreachable hosts; want %d (every URL with its retries), %d, 0",
						got, failed, stats.UnreachableHosts, pages, linked)
				}
				return
			}
			// Counted failures, plus the requests in flight to the host
			// when it was declared (at most PerHost-1 besides the last).
			most := int64(tc.limit + cfg.PerHost - 1)
			if got := attempts.Load(); got < int64(tc.limit) || got > most {
				t.Errorf("%d requests to the dead host, want %d to %d", got, tc.limit, most)
			}
			if skipped < linked-most || stats.Skipped[SkipHostUnreachable] != skipped {
				t.Errorf("%d URLs skipped %s (Stats: %d), want at least %d and the same in Stats",
					skipped, SkipHostUnreachable, stats.Skipped[SkipHostUnreachable], linked-most)
			}
			if stats.UnreachableHosts != 1 {
				t.Errorf("Stats.UnreachableHosts = %d, want 1", stats.UnreachableHosts)
			}
			var line map[string]any
			for _, l := range bytes.Split(logs.Bytes(), []byte("\n")) {
				var m map[string]any
				if json.Unmarshal(l, &m) == nil && m["msg"] == "host unreachable" {
					if line != nil {
						t.Error("two \"host unreachable\" lines")
					}
					line = m
				}
			}
			if line == nil || line["host"] != otherHost || line["failures"] != float64(tc.limit) || !strings.Contains(fmt.Sprint(line["error"]), "refused") {
				t.Errorf("log line %v, want msg \"host unreachable\", host %s, failures %d and the refused error", line, otherHost, tc.limit)
			}
		})
	}
}

// TestHostRecovers: a host whose connections break twice before each
// answer fails far more than MaxHostFailures times in all, but never 3
// times in a row, so it is not given up. One request at a time makes the
// order of the failures the server's.
func TestHostRecovers(t *testing.T) {
	defer goleak.VerifyNone(t)
	var n, resets atomic.Int64
	srv := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fixtures.Hostname(r.Host) == goodHost {
			linkingPage(w, r)
			return
		}
		if n.Add(1)%3 != 0 { // the 1st, 2nd, 4th, 5th, ...: no answer
			resets.Add(1)
			resetConn(w)
			return
		}
		w.Header().Set("Connection", "close") // each request a new connection, never retried by the transport
		fmt.Fprint(w, "<p>up</p>")
	}))
	defer srv.Close()
	sink := &budgetSink{}
	var attempts atomic.Int64
	cfg := budgetConfig(srv.Resolve(goodHost, otherHost), sink, &attempts)
	cfg.PerHost = 1
	cfg.MaxHostFailures = 3
	stats := budgetRun(t, cfg, "http://"+goodHost+"/")

	if stats.UnreachableHosts != 0 || stats.Skipped[SkipHostUnreachable] != 0 {
		t.Errorf("%d hosts unreachable, %d URLs skipped %s; want none", stats.UnreachableHosts, stats.Skipped[SkipHostUnreachable], SkipHostUnreachable)
	}
	if resets.Load() < 10 {
		t.Errorf("%d connections broken, want many more than MaxHostFailures", resets.Load())
	}
	recs := sink.byURL(t)
	for i := range linked {
		u := fmt.Sprintf("http://%s/p%d", otherHost, i)
		if r, ok := recs[u]; !ok || r.Skipped != "" {
			t.Errorf("%s: got %+v, want a fetch or an error", u, r)
		}
	}
}

// resetConn breaks the connection of w with a TCP RST, no response.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// TestHostRobotsUnreachable: robots.txt requests count. The first URLs'
// robots.txt request is refused; with MaxHostFailures 1 the host is given
// up at once, and only the URLs that were already past the check (at
// most PerHost) end as errors.
func TestHostRobotsUnreachable(t *testing.T) {
	srv := fixtures.NewServer(http.HandlerFunc(linkingPage))
	defer srv.Close()
	resolve := srv.Resolve(goodHost)
	resolve[otherHost+":80"] = refusedAddr(t)
	sink := &budgetSink{}
	var attempts atomic.Int64
	cfg := budgetConfig(resolve, sink, &attempts)
	cfg.IgnoreRobots = false
	cfg.Retries = -1
	cfg.MaxHostFailures = 1
	stats := budgetRun(t, cfg, "http://"+goodHost+"/")
	if stats.UnreachableHosts != 1 || stats.Skipped[SkipHostUnreachable] < int64(linked-cfg.PerHost) {
		t.Errorf("%d hosts unreachable, %d URLs skipped %s; want 1 and at least %d", stats.UnreachableHosts,
			stats.Skipped[SkipHostUnreachable], SkipHostUnreachable, linked-cfg.PerHost)
	}
	if attempts.Load() != 0 {
		t.Errorf("%d page requests to the dead host, want none: its robots.txt failed", attempts.Load())
	}
}

// TestHostRobotsCachedFailure: the fetcher hands one robots.txt failure
// to the host's URLs for 30 s; only its request counts, not each URL that
// reads it. With MaxHostFailures 2 and no retries, the host is not given
// up: its URLs end as errors.
func TestHostRobotsCachedFailure(t *testing.T) {
	srv := fixtures.NewServer(http.HandlerFunc(linkingPage))
	defer srv.Close()
	resolve := srv.Resolve(goodHost)
	resolve[otherHost+":80"] = refusedAddr(t)
	sink := &budgetSink{}
	var attempts atomic.Int64
	cfg := budgetConfig(resolve, sink, &attempts)
	cfg.IgnoreRobots = false
	cfg.Retries = -1
	cfg.MaxHostFailures = 2
	stats := budgetRun(t, cfg, "http://"+goodHost+"/")
	if stats.UnreachableHosts != 0 || stats.Errors != linked {
		t.Errorf("%d hosts unreachable, %d errors; want 0 and %d: one robots.txt request failed", stats.UnreachableHosts, stats.Errors, linked)
	}
}

// TestHostBodyFailure: a host that answers and then breaks off the body
// (a connection reset or a timeout while reading it) answered: it is
// never given up. The default fetcher marks such an error InBody, which
// readingBody reads.
func TestHostBodyFailure(t *testing.T) {
	srv := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fixtures.Hostname(r.Host) == goodHost {
			linkingPage(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, strings.Repeat("<p>short</p>", 5)) // then hangs up
	}))
	defer srv.Close()
	sink := &budgetSink{}
	var attempts atomic.Int64
	var mu sync.Mutex
	var errs []error
	cfg := budgetConfig(srv.Resolve(goodHost, otherHost), sink, &attempts)
	cfg.Retries = -1
	cfg.MaxHostFailures = 2
	cfg.OnError = func(_ context.Context, _ string, err error) error {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		return nil
	}
	stats := budgetRun(t, cfg, "http://"+goodHost+"/")
	if stats.UnreachableHosts != 0 || stats.Errors != linked {
		t.Errorf("%d hosts unreachable, %d errors; want 0 and %d", stats.UnreachableHosts, stats.Errors, linked)
	}
	for _, err := range errs {
		if fetch.KindOf(err) != fetch.KindReset || !readingBody(err) || hostVerdict(err) != verdictAnswered {
			t.Errorf("error %v: kind %v, reading body %v; want reset while reading the body", err, fetch.KindOf(err), readingBody(err))
		}
	}
}

// TestHostVerdict sorts the errors of real fetches, and of a DNS failure
// made up (the tests do not resolve names).
func TestHostVerdict(t *testing.T) {
	srv := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/reset":
			resetConn(w)
		case "/never":
			<-r.Context().Done()
		case "/slow-body":
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "<p>")
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		case "/500":
			http.Error(w, "down", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	refused := refusedAddr(t)
	client := fetch.New(fetch.Config{
		Resolve:      map[string]string{"up.test:80": srv.Addr(), "down.test:80": refused},
		Timeout:      200 * time.Millisecond,
		Rate:         -1,
		MaxRedirects: -1,
	})
	defer client.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	ctx := context.Background()
	dnsErr := &fetch.Error{Kind: fetch.KindDNS, URL: "http://nowhere.test/", Err: &net.DNSError{Err: "no such host", Name: "nowhere.test", IsNotFound: true}}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		url  string
		err  error // instead of a fetch of url
		want verdict
	}{
		{"refused", ctx, "http://down.test/", nil, verdictUnreachable},
		{"reset before an answer", ctx, "http://up.test/reset", nil, verdictUnreachable},
		{"timeout before an answer", ctx, "http://up.test/never", nil, verdictUnreachable},
		{"timeout reading the body", ctx, "http://up.test/slow-body", nil, verdictAnswered},
		{"dns", ctx, "", dnsErr, verdictUnreachable},
		{"unreachable network", ctx, "", &fetch.Error{Kind: fetch.KindOther, Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}}, verdictUnreachable},
		{"robots.txt 5xx", ctx, "", &fetch.Error{Kind: fetch.KindRobotsUnavailable, Err: fetch.ErrRobotsUnavailable}, verdictAnswered},
		{"cancelled", cancelled, "http://up.test/", nil, verdictNone},
		{"blocked address", ctx, "http://" + srv.Addr() + "/", nil, verdictNone}, // loopback, not named
		{"bad url", ctx, "ftp://up.test/", nil, verdictNone},
		{"not a fetch error", ctx, "", errors.New("something"), verdictNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err
			if err == nil {
				resp, ferr := client.Fetch(tc.ctx, fetch.Request{URL: tc.url})
				if ferr == nil {
					t.Fatalf("got status %d, want an error", resp.Status)
				}
				err = ferr
			}
			if got := hostVerdict(err); got != tc.want {
				t.Errorf("hostVerdict(%v) (kind %v) = %d, want %d", err, fetch.KindOf(err), got, tc.want)
			}
		})
	}
}

// TestHostBudget: the bookkeeping, on its own: failures in a row,
// an answer starting the count again, one robots.txt failure counted
// once, and the bound on the hosts kept.
func TestHostBudget(t *testing.T) {
	refused := &fetch.Error{Kind: fetch.KindRefused, Err: errors.New("connection refused")}
	t.Run("in a row", func(t *testing.T) {
		var b hostBudget
		b.init(3)
		for i, want := range []bool{false, false, false, false, true} {
			if i == 2 {
				b.answered("a")
			}
			if got, _ := b.failed("a", refused, false); got != want {
				t.Fatalf("failure %d: declared %v, want %v", i+1, got, want)
			}
		}
		if !b.unreachable("a") || b.unreachable("b") || b.declared.Load() != 1 {
			t.Errorf("unreachable a %v, b %v, declared %d; want true, false, 1", b.unreachable("a"), b.unreachable("b"), b.declared.Load())
		}
		if got, _ := b.failed("a", refused, false); got {
			t.Error("a host declared twice")
		}
	})
	t.Run("robots.txt failure cached", func(t *testing.T) {
		var b hostBudget
		b.init(2)
		cached := &fetch.Error{Kind: fetch.KindRefused, Err: errors.New("connection refused")}
		for range 5 {
			if got, _ := b.failed("a", cached, true); got {
				t.Fatal("one robots.txt failure, read by many URLs, made the host unreachable")
			}
		}
		if got, n := b.failed("a", refused, true); !got || n != 2 {
			t.Errorf("a second robots.txt failure: declared %v after %d; want true after 2", got, n)
		}
	})
	t.Run("off", func(t *testing.T) {
		var b hostBudget
		b.init(-1)
		for range 100 {
			if got, _ := b.failed("a", refused, false); got {
				t.Fatal("declared with the budget off")
			}
		}
	})
	t.Run("bounded", func(t *testing.T) {
		var b hostBudget
		b.init(2)
		b.max = 8
		for i := range 6 { // 6 unreachable
			b.failed(fmt.Sprint("dead", i), refused, false)
			b.failed(fmt.Sprint("dead", i), refused, false)
		}
		b.failed("failing0", refused, false)
		b.failed("failing1", refused, false) // full: 8
		b.failed("failing2", refused, false) // forgets one failing host, no dead one
		if len(b.dead) != 6 || len(b.failing) != 2 || b.nDead.Load() != 6 || b.nFailing.Load() != 2 {
			t.Errorf("%d dead, %d failing (counters %d, %d); want 6 and 2", len(b.dead), len(b.failing), b.nDead.Load(), b.nFailing.Load())
		}
		for i := range 100 {
			b.failed(fmt.Sprint("more", i), refused, false)
			if n := len(b.dead) + len(b.failing); n > b.max {
				t.Fatalf("%d hosts kept, want at most %d", n, b.max)
			}
		}
		for h := range b.failing {
			b.answered(h)
		}
		if len(b.failing) != 0 || b.nFailing.Load() != 0 {
			t.Errorf("%d failing hosts after each answered, want 0", len(b.failing))
		}
	})
}

// TestMaxBytes: a spider trap (the hostile fixtures' page of 20,000
// links, MaxLinks of them followed) stops at MaxBytes, cleanly: no error,
// Stats.Stopped says so, the bytes kept reach the budget and pass it by
// at most the responses in flight. A resumed crawl counts the bytes of
// the first run, so it stops at once; one with the budget lifted
// finishes with one record per URL.
func TestMaxBytes(t *testing.T) {
	defer goleak.VerifyNone(t)
	const host = "trap.budget.test"
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	seed := "http://" + host + "/hostile/manylinks"
	resp, err := srv.HostClient(host).Get(seed)
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	const (
		concurrency = 4
		maxBody     = 1 << 20
		links       = 300
	)
	limit := page + 20_000 // the trap page and a hundred small ones
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	cfg := Config{
		Resolve:      srv.Resolve(host),
		Rate:         -1,
		Concurrency:  concurrency,
		IgnoreRobots: true,
		NoSitemaps:   true,
		MaxBody:      maxBody,
		MaxLinks:     links,
		Exclude:      []*regexp.Regexp{regexp.MustCompile(`/index\.html$`)}, // the hostile index, out of the trap
		MaxBytes:     limit,
	}
	crawl := func(cfg Config) Stats {
		t.Helper()
		f, err := store.OpenFile(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cfg.Sink = store.NewJSONL(f)
		cfg.NewFrontier = func(opts store.FrontierOptions) (Frontier, error) {
			return disk.Open(state, disk.Options{FrontierOptions: opts})
		}
		return budgetRun(t, cfg, seed)
	}

	first := crawl(cfg)
	if first.Stopped != StopMaxBytes {
		t.Fatalf("first run: stopped %q, want %q", first.Stopped, StopMaxBytes)
	}
	if first.Bytes < limit || first.Bytes > limit+concurrency*maxBody {
		t.Errorf("first run kept %d bytes, want %d to %d (the budget, and at most the responses in flight)", first.Bytes, limit, limit+concurrency*maxBody)
	}
	if first.Fetched >= links {
		t.Errorf("first run fetched %d pages, want fewer than the trap's %d", first.Fetched, links+1)
	}
	if recs, bytes := outputRecords(t, out); int64(len(recs)) != first.Records() || bytes != first.Bytes {
		t.Errorf("output: %d records of %d bytes, want %d of %d", len(recs), bytes, first.Records(), first.Bytes)
	}

	second := crawl(cfg)
	if second.Stopped != StopMaxBytes || second.Fetched != 0 || second.Resumed == nil {
		t.Errorf("resumed: stopped %q, %d fetched, resumed %v; want %q at once, with the first run's bytes counted",
			second.Stopped, second.Fetched, second.Resumed, StopMaxBytes)
	}

	cfg.MaxBytes = -1
	third := crawl(cfg)
	if third.Stopped != "" {
		t.Errorf("without the budget: stopped %q, want the end", third.Stopped)
	}
	recs, bytes := outputRecords(t, out)
	if len(recs) != 1+links+1 {
		t.Errorf("%d URLs recorded, want the trap page, its %d links and the index they link to (excluded)", len(recs), links)
	}
	for u, n := range recs {
		if n != 1 {
			t.Errorf("%s: %d records, want 1", u, n)
		}
	}
	if want := first.Bytes + third.Bytes; bytes != want {
		t.Errorf("output holds %d bytes of bodies, want the runs' %d", bytes, want)
	}
}

// outputRecords reads a JSONL output: the records by URL, and the bytes
// they kept in all.
func outputRecords(t *testing.T, path string) (map[string]int, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs := map[string]int{}
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r store.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("a record that is not whole: %q: %v", sc.Text(), err)
		}
		recs[r.URL]++
		n += r.Bytes
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs, n
}
