package crawler_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

// logLine is one JSON log line.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }
func (l logLine) num(k string) int    { f, _ := l[k].(float64); return int(f) }

// parseLogs parses JSON log lines, one per line, and fails on a line that
// is not JSON or lacks time, level or msg.
func parseLogs(t *testing.T, data []byte) []logLine {
	t.Helper()
	var lines []logLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		for _, k := range []string{slog.TimeKey, slog.LevelKey, slog.MessageKey} {
			if _, ok := l[k]; !ok {
				t.Errorf("log line %q has no %q", sc.Text(), k)
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// closedPort returns "127.0.0.1:port" where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestLogs crawls the basic site, plus a URL that answers 500 and a host
// where nothing listens, with a JSON logger at Debug, and checks every
// line: one "fetch" line per request, with url, host, status and
// duration, matching the records; an "error" line for each failed
// record; "retry" and "back-off" lines with their reasons; "start" and
// "end".
func TestLogs(t *testing.T) {
	defer goleak.VerifyNone(t)
	site := fixtures.SiteHandler(fixtures.Basic())
	srv := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail500" {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		site.ServeHTTP(w, r)
	}))
	defer srv.Close()
	const down = "down.trawl.test"
	resolve := srv.Resolve(fixtures.WWW, fixtures.Blog)
	resolve[down+":80"] = closedPort(t)

	var buf lockedBuffer
	sink := &records{}
	stats, err := runCrawl(t, crawler.Config{
		Resolve:      resolve,
		Rate:         50,
		Retries:      1,
		RetryBackoff: time.Millisecond,
		Scope:        crawler.ScopeDomain,
		Sink:         sink,
		Logger:       slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, "http://"+fixtures.WWW+"/", "http://"+fixtures.WWW+"/fail500", "http://"+down+"/")
	if err != nil {
		t.Fatal(err)
	}
	lines := parseLogs(t, buf.Bytes())

	byMsg := map[string][]logLine{}
	for _, l := range lines {
		byMsg[l.str("msg")] = append(byMsg[l.str("msg")], l)
	}
	type attempt struct {
		url string
		n   int
	}
	fetches := map[attempt]logLine{}
	for _, l := range byMsg["fetch"] {
		if l.str("level") != "DEBUG" {
			t.Errorf("fetch line at %s, want DEBUG: %v", l.str("level"), l)
		}
		for _, k := range []string{"url", "host", "status", "duration", "bytes", "attempt", "depth"} {
			if _, ok := l[k]; !ok {
				t.Errorf("fetch line without %q: %v", k, l)
			}
		}
		a := attempt{l.str("url"), l.num("attempt")}
		if _, dup := fetches[a]; dup {
			t.Errorf("two fetch lines for %s attempt %d", a.url, a.n)
		}
		fetches[a] = l
	}

	recs := sink.all()
	errLines := map[string]logLine{}
	for _, l := range byMsg["error"] {
		errLines[l.str("url")] = l
	}
	fetched := 0
	for _, r := range recs {
		if r.Status != 0 {
			fetched++
			switch l, ok := fetches[attempt{r.URL, r.Attempts}]; {
			case !ok:
				t.Errorf("no fetch line for %s attempt %d", r.URL, r.Attempts)
			case l.num("status") != r.Status || l.str("error") != r.Error || int64(l.num("bytes")) != r.Bytes:
				t.Errorf("fetch line %v, want status %d, error %q and bytes %d of the record", l, r.Status, r.Error, r.Bytes)
			case time.Duration(l.num("duration")).Milliseconds() != r.DurationMS:
				t.Errorf("fetch line duration %v, want the record's %d ms", time.Duration(l.num("duration")), r.DurationMS)
			}
		}
		if r.Error != "" && r.Skipped == "" {
			switch l, ok := errLines[r.URL]; {
			case !ok:
				t.Errorf("no error line for failed %s (%s)", r.URL, r.Error)
			case l.str("level") != "INFO" || l.str("error") != r.Error || l.num("attempts") != r.Attempts || l.str("host") == "":
				t.Errorf("error line %v, want INFO with the record's error %q and attempts %d", l, r.Error, r.Attempts)
			}
		}
	}
	if fetched < len(fixtures.BasicExpect.Fetched) {
		t.Errorf("%d fetched records, want at least %d", fetched, len(fixtures.BasicExpect.Fetched))
	}
	if int64(len(errLines)) != stats.Errors || stats.Errors == 0 {
		t.Errorf("%d error lines, want one per failed record (%d, at least the down host's)", len(errLines), stats.Errors)
	}
	// Each fetch line is a request for a record or an attempt retried
	// (or a probe of /sitemap.xml, which has no record when it finds none).
	retried := map[attempt]bool{}
	for _, l := range append(byMsg["retry"], byMsg["back-off"]...) {
		retried[attempt{l.str("url"), l.num("attempt")}] = true
	}
	recorded := map[attempt]bool{}
	for _, r := range recs {
		recorded[attempt{r.URL, r.Attempts}] = true
	}
	for a, l := range fetches {
		if !recorded[a] && !retried[a] && l.str("kind") != "sitemap" {
			t.Errorf("fetch line for %s attempt %d: no record or retry of it", a.url, a.n)
		}
	}

	fail500 := "http://" + fixtures.WWW + "/fail500"
	if l := findLine(byMsg["retry"], fail500); l == nil || l.str("reason") != "5xx" || l.num("status") != 500 || l.num("attempt") != 1 || l["wait"] == nil {
		t.Errorf("retry line for %s: %v, want reason 5xx, status 500, attempt 1 and a wait", fail500, l)
	}
	downURL := "http://" + down + "/"
	if l := findLine(byMsg["robots.txt failed"], downURL); l == nil || l.str("host") != down || l.str("error") == "" {
		t.Errorf("robots.txt failed line for %s: %v, want its host and error", downURL, l)
	}
	if l := findLine(byMsg["back-off"], downURL); l == nil || l.str("reason") != "robots" || l.str("host") != down {
		t.Errorf("back-off line for %s: %v, want reason robots", downURL, l)
	}
	if l := byMsg["start"]; len(l) != 1 || l[0].num("seeds") != 3 || l[0].str("scope") != "domain" {
		t.Errorf("start lines %v, want one with 3 seeds and scope domain", l)
	}
	if l := byMsg["end"]; len(l) != 1 || int64(l[0].num("fetched")) != stats.Fetched || int64(l[0].num("errors")) != stats.Errors || int64(l[0].num("records")) != stats.Records() {
		t.Errorf("end lines %v, want one with the stats' counts (%d fetched, %d errors)", l, stats.Fetched, stats.Errors)
	}
	if first, last := lines[0].str("msg"), lines[len(lines)-1].str("msg"); first != "start" || last != "end" {
		t.Errorf("first line %q, last %q, want start and end", first, last)
	}
}

// findLine returns the first line of url, or nil.
func findLine(lines []logLine, url string) logLine {
	for _, l := range lines {
		if l.str("url") == url {
			return l
		}
	}
	return nil
}

// TestLogsOff: a crawl without a Logger logs nothing, not even through
// slog's default logger; one at Info writes no fetch line.
func TestLogsOff(t *testing.T) {
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer srv.Close()
	cfg := crawler.Config{
		Resolve:      srv.Resolve(fixtures.WWW, fixtures.Blog),
		Rate:         -1,
		IgnoreRobots: true, // no Crawl-delay: a quick crawl
		Scope:        crawler.ScopeDomain,
	}
	seed := "http://" + fixtures.WWW + "/"

	t.Run("nil", func(t *testing.T) {
		var def lockedBuffer
		old := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(&def, &slog.HandlerOptions{Level: slog.LevelDebug})))
		defer slog.SetDefault(old)
		stats, err := runCrawl(t, cfg, seed)
		if err != nil || stats.Fetched == 0 {
			t.Fatalf("got %d fetched, error %v; want a crawl", stats.Fetched, err)
		}
		if out := def.Bytes(); len(out) > 0 {
			t.Errorf("slog's default logger got:\n%s\nwant nothing from a crawl without a Logger", out)
		}
	})
	t.Run("info", func(t *testing.T) {
		var buf lockedBuffer
		cfg := cfg
		cfg.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
		if _, err := runCrawl(t, cfg, seed); err != nil {
			t.Fatal(err)
		}
		msgs := map[string]int{}
		for _, l := range parseLogs(t, buf.Bytes()) {
			msgs[l.str("msg")]++
		}
		if msgs["fetch"] != 0 || msgs["start"] != 1 || msgs["end"] != 1 {
			t.Errorf("messages %v, want start and end, and no fetch at Info", msgs)
		}
	})
}

// TestLogsStopping: a sink failure that stops the crawl is logged at
// Warn, and the end line carries Run's error.
func TestLogsStopping(t *testing.T) {
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer srv.Close()
	var buf lockedBuffer
	full := errors.New("disk full")
	_, err := runCrawl(t, crawler.Config{
		Resolve:      srv.Resolve(fixtures.WWW, fixtures.Blog),
		Rate:         -1,
		IgnoreRobots: true,
		Sink:         crawler.SinkFunc(func(context.Context, store.Record) error { return full }),
		Logger:       slog.New(slog.NewJSONHandler(&buf, nil)),
	}, "http://"+fixtures.WWW+"/")
	if !errors.Is(err, full) {
		t.Fatalf("Run: %v, want the sink's error", err)
	}
	var warn, end logLine
	for _, l := range parseLogs(t, buf.Bytes()) {
		switch l.str("msg") {
		case "stopping":
			warn = l
		case "end":
			end = l
		}
	}
	if warn == nil || warn.str("level") != "WARN" || !strings.Contains(warn.str("error"), "disk full") {
		t.Errorf("stopping line %v, want WARN with the sink's error", warn)
	}
	if end == nil || end.str("error") != fmt.Sprint(err) {
		t.Errorf("end line %v, want Run's error %q", end, err)
	}
}

// TestLogsResume: a crawl that continues saved state logs "resume", with
// what was done, before "start".
func TestLogsResume(t *testing.T) {
	site := fixtures.Synthetic{Pages: 100, Links: 4, Size: 500, Hosts: 1, Seed: 7}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	var buf lockedBuffer
	cfg := crawler.Config{Resolve: srv.Resolve(site.HostNames()...), Rate: -1, IgnoreRobots: true,
		Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	if _, err := stateCrawl(t, cfg, state, out, 20, site.Root()); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it cancelled", err)
	}
	first := len(buf.Bytes())
	if _, err := stateCrawl(t, cfg, state, out, 0, site.Root()); err != nil {
		t.Fatalf("second run: %v", err)
	}
	var msgs []string
	var resume logLine
	for _, l := range parseLogs(t, buf.Bytes()[first:]) {
		msgs = append(msgs, l.str("msg"))
		if l.str("msg") == "resume" {
			resume = l
		}
	}
	if len(msgs) < 3 || msgs[0] != "resume" || msgs[1] != "start" || msgs[len(msgs)-1] != "end" {
		t.Errorf("second run's messages %v, want resume, start, ..., end", msgs)
	}
	if resume == nil || resume.num("done") < 20 || resume.num("runs") != 1 {
		t.Errorf("resume line %v, want at least 20 done and 1 earlier run", resume)
	}
}
