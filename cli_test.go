package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"trawl/fetch"
	"trawl/fixtures"
	"trawl/store"
	"trawl/store/disk"
)

// freePort returns a loopback port that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// smallSite serves a few hosts of test.trawl.test for the CLI tests:
//
//	r500: robots.txt answers 500
//	deny: robots.txt disallows everything
//	slow: robots.txt asks for Crawl-delay: 1; / links to /1, /2, /3
//	auth: every page wants basic auth bob:pw
//	ok:   / links to /a; /a is a page
func smallSite() *fixtures.Server {
	return fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.TrimSuffix(fixtures.Hostname(r.Host), ".trawl.test")
		robots := r.URL.Path == "/robots.txt"
		switch {
		case host == "r500" && robots:
			http.Error(w, "down", http.StatusInternalServerError)
		case host == "deny" && robots:
			fmt.Fprint(w, "User-agent: *\nDisallow: /\n")
		case host == "slow" && robots:
			fmt.Fprint(w, "User-agent: *\nCrawl-delay: 1\n")
		case robots:
			http.NotFound(w, r)
		case host == "auth":
			if u, p, ok := r.BasicAuth(); !ok || u != "bob" || p != "pw" {
				w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
				http.Error(w, "who are you?", http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, "welcome")
		case r.URL.Path == "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<a href="/1">1</a> <a href="/2">2</a> <a href="/3">3</a>`)
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<title>a page</title>")
		}
	}))
}

// resolveAll returns --resolve flags sending each host to srv.
func resolveAll(srv *fixtures.Server, hosts ...string) []string {
	var args []string
	for _, h := range hosts {
		args = append(args, "--resolve", h+":80:"+srv.Addr())
	}
	return args
}

// TestStreaming: records reach a pipe while the crawl runs, not when the
// sink's buffer fills.
func TestStreaming(t *testing.T) {
	site := fixtures.Synthetic{Pages: 2000, Links: 5, Size: 500, Hosts: 1, Seed: 3, Latency: 20 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append(resolveAll(srv, site.HostNames()...), "-q", "--rate", "5", site.Root())...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			t.Fatal("stdout closed without a record")
		}
		var r store.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.URL != site.Root() {
			t.Errorf("first line %q (%v), want the seed's record", l, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no record on stdout within 10s of a running crawl")
	}
	if n := len(srv.Requests()); n >= site.Pages {
		t.Errorf("%d requests: the crawl had ended, the test proves nothing", n)
	}
}

// TestNothingFetched: a crawl whose every seed failed or was skipped
// exits 3 and says, for each seed, why and what to do.
func TestNothingFetched(t *testing.T) {
	srv := smallSite()
	defer srv.Close()
	res := resolveAll(srv, "r500.trawl.test", "deny.trawl.test", "ok.trawl.test")
	closed := fmt.Sprintf("http://127.0.0.1:%d/", freePort(t))
	tests := []struct {
		name  string
		seeds []string
		code  int
		want  []string
	}{
		{"refused", []string{closed}, 3, []string{"trawl: " + closed + ": connection refused", "nothing listens on 127.0.0.1:"}},
		{"robots 500", []string{"http://r500.trawl.test/"}, 3, []string{"trawl: http://r500.trawl.test/: robots.txt of r500.trawl.test answered 500: the host is held back; retry later, or use --ignore-robots if you may"}},
		{"robots disallow", []string{"http://deny.trawl.test/"}, 3, []string{"trawl: http://deny.trawl.test/: robots.txt disallows it: use --ignore-robots if you may"}},
		{"six seeds", []string{closed + "a", closed + "b", closed + "c", closed + "d", closed + "e", closed + "f"}, 3, []string{closed + "e: connection refused", "and 1 more seeds"}},
		{"a 404 is fetched", []string{"http://ok.trawl.test/missing"}, 0, nil},
		{"one of two", []string{"http://deny.trawl.test/", "http://ok.trawl.test/"}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-q", "--retries", "-1", "--rate", "-1"}, res...)
			_, stderr, code := trawl(t, append(args, tc.seeds...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr:\n%s\nwant a line with %q", stderr, w)
				}
			}
			if n := strings.Count(stderr, "\n"); tc.code == 3 && n != min(len(tc.seeds), maxSeedLines+1) {
				t.Errorf("%d lines on stderr, want one per seed (at most %d, then one more):\n%s", n, maxSeedLines, stderr)
			}
			if tc.code == 0 && stderr != "" {
				t.Errorf("stderr %q, want nothing with -q", stderr)
			}
		})
	}
}

// TestCrawlDelayShown: when a robots.txt Crawl-delay, not --rate, limits
// a host, the summary says so and names the host.
func TestCrawlDelayShown(t *testing.T) {
	srv := smallSite()
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	args := append(resolveAll(srv, "slow.trawl.test"), "--rate", "-1", "--per-host", "8", "-o", out, "http://slow.trawl.test/")
	_, stderr, code := trawl(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var line string
	for l := range strings.SplitSeq(stderr, "\n") {
		if strings.HasPrefix(l, "  waiting  ") {
			line = l
		}
	}
	for _, want := range []string{"robots.txt Crawl-delay spaced 1 host (up to 1s", "slow.trawl.test", "(crawl-delay)"} {
		if !strings.Contains(line, want) {
			t.Errorf("summary:\n%s\nwant a waiting line with %q", stderr, want)
		}
	}
}

// TestRecordsFetchedMaxPages: with --records fetched, --max-pages N gives
// at most N lines.
func TestRecordsFetchedMaxPages(t *testing.T) {
	site := fixtures.Synthetic{Pages: 100, Links: 8, Hosts: 1, Seed: 5}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	args := append(resolveAll(srv, site.HostNames()...), "-q", "--rate", "-1", "--max-pages", "5", "--records", "fetched", site.Root())
	stdout, stderr, code := trawl(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := len(readRecords(t, []byte(stdout))); n == 0 || n > 5 {
		t.Errorf("%d records, want 1 to 5", n)
	}
}

// TestStartRefused: a start the state refuses prints what differs or
// what is in the way, in the command's words, and no summary; a -o file
// it created is removed.
func TestStartRefused(t *testing.T) {
	site := fixtures.Synthetic{Pages: 5, Links: 2, Hosts: 1}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	base := append(resolveAll(srv, site.HostNames()...), "--rate", "-1", "--state", state)
	if _, stderr, code := trawl(t, append(base, "-q", "-o", out, site.Root())...); code != 0 {
		t.Fatalf("first crawl: exit %d: %s", code, stderr)
	}

	t.Run("mismatch", func(t *testing.T) {
		_, stderr, code := trawl(t, append(base, "--scope", "domain", "--depth", "3", "-o", out, site.Root())...)
		if code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		for _, want := range []string{`--state \S+ holds another crawl`, `\n  --scope +host +domain\n`, `\n  --depth +no limit +3\n`, `--resume-anyway`} {
			if !regexp.MustCompile(want).MatchString(stderr) {
				t.Errorf("stderr:\n%s\nwant a match for %q", stderr, want)
			}
		}
		if strings.Contains(stderr, "done in") || strings.Contains(stderr, "ResumeAnyway") {
			t.Errorf("stderr:\n%s\nwant no summary and only flag names", stderr)
		}
	})
	t.Run("other output", func(t *testing.T) {
		other := filepath.Join(dir, "other.jsonl")
		_, stderr, code := trawl(t, append(base, "-o", other, site.Root())...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "resume with -o "+out) {
			t.Errorf("exit %d, stderr %q; want 2 and one line naming -o %s", code, stderr, out)
		}
		if _, err := os.Stat(other); err == nil {
			t.Errorf("%s was left behind by a refused start", other)
		}
	})
	t.Run("locked", func(t *testing.T) {
		d, err := disk.Open(state, disk.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		fresh := filepath.Join(dir, "fresh.jsonl")
		_, stderr, code := trawl(t, append(base, "-o", fresh, site.Root())...)
		if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "is in use by another trawl") {
			t.Errorf("exit %d, stderr %q; want 1 and one line saying the state is in use", code, stderr)
		}
		if _, err := os.Stat(fresh); err == nil {
			t.Errorf("%s was left behind by a refused start", fresh)
		}
	})
}

// TestErrorsOnce: an error the CLI prints names each layer once.
func TestErrorsOnce(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	site := fixtures.Synthetic{Pages: 3000, Links: 5, Size: 500, Hosts: 1, Seed: 3, Latency: time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	// The log (which says the error too) goes to a file: stderr is the
	// CLI's summary and error alone.
	logFile := filepath.Join(t.TempDir(), "crawl.log")
	_, stderr, code := trawl(t, append(resolveAll(srv, site.HostNames()...), "--rate", "-1", "--log", logFile, "-o", "/dev/full", site.Root())...)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if last != "trawl: output: write /dev/full: no space left on device" {
		t.Errorf("last line %q, want the write error with each layer once", last)
	}
	if strings.Count(stderr, "no space left") != 1 {
		t.Errorf("stderr:\n%s\nwant the error once", stderr)
	}
}

// TestSIGTERM: SIGTERM stops the crawl as SIGINT does, and exits 143.
func TestSIGTERM(t *testing.T) {
	site := fixtures.Synthetic{Pages: 5000, Links: 5, Size: 1000, Hosts: 1, Seed: 3, Latency: 20 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append(resolveAll(srv, site.HostNames()...), "--rate", "-1", "--per-host", "4", "-o", out, site.Root())...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); len(srv.Requests()) < 20; {
		if time.Now().After(deadline) {
			t.Fatal("crawl did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Fatalf("exit %d (%v), want 143; stderr:\n%s", code, err, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted in") {
		t.Errorf("stderr has no summary:\n%s", errb.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(readRecords(t, data)); n == 0 {
		t.Error("no records after SIGTERM")
	}
}

// TestSeedCredentials: a seed with user:password is sent with basic auth.
func TestSeedCredentials(t *testing.T) {
	srv := smallSite()
	defer srv.Close()
	stdout, stderr, code := trawl(t, append(resolveAll(srv, "auth.trawl.test"), "-q", "http://bob:pw@auth.trawl.test/")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs := readRecords(t, []byte(stdout))
	if len(recs) != 1 || recs[0].Status != 200 || recs[0].URL != "http://auth.trawl.test/" {
		t.Errorf("records %+v, want the seed's 200, without its credentials", recs)
	}
}

// TestHelp: help goes to stdout and exits 0, for trawl and each command.
func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Exit status:"},
		{[]string{"-h"}, "--per-host"},
		{[]string{"--help"}, "--contact"},
		{[]string{"help", "demo"}, "never leaves loopback"},
		{[]string{"demo", "--help"}, "--site"},
		{[]string{"help", "state"}, "trawl state DIR"},
		{[]string{"state", "--help"}, "read-only"},
		{[]string{"help", "bench"}, "--serve"},
		{[]string{"bench", "-h"}, "--pages"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := trawl(t, tc.args...)
			if code != 0 || !strings.Contains(stdout, tc.want) || stderr != "" {
				t.Errorf("exit %d, stdout:\n%s\nstderr %q; want 0 and %q on stdout only", code, stdout, stderr, tc.want)
			}
		})
	}
	if _, stderr, code := trawl(t, "help", "nope"); code != 2 || strings.Count(stderr, "\n") != 1 {
		t.Errorf("help nope: exit %d, stderr %q; want 2 and one line", code, stderr)
	}
}

// TestMissingFolders: -o FILE and --state DIR in a folder that does not
// exist are refused alike, before anything is created.
func TestMissingFolders(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing", "dir")
	for _, args := range [][]string{
		{"-o", filepath.Join(missing, "out.jsonl"), "http://x.test/"},
		{"--state", filepath.Join(missing, "state"), "-o", filepath.Join(dir, "out.jsonl"), "http://x.test/"},
	} {
		_, stderr, code := trawl(t, args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "folder "+missing+" does not exist") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line naming %s", args, code, stderr, missing)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files created in %s, want none", len(ents), dir)
	}
}

// TestNoEmptyOutput: a run that fails before its first record leaves no
// -o file it created, and never removes one that was there.
func TestNoEmptyOutput(t *testing.T) {
	dir := t.TempDir()
	seed := fmt.Sprintf("http://127.0.0.1:%d/", freePort(t))
	out := filepath.Join(dir, "out.jsonl")
	if _, stderr, code := trawl(t, "-q", "--retries", "-1", "--records", "fetched", "-o", out, seed); code != 3 {
		t.Errorf("exit %d, want 3: %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s left behind by a run that wrote nothing", out)
	}
	if err := os.WriteFile(out, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	trawl(t, "-q", "--retries", "-1", "--records", "fetched", "-o", out, seed)
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the -o file that was there before: %v", err)
	}
}

// TestDemoStaysLocal: the demo dials only its own server, whatever the
// scope: a link elsewhere fails at once, without DNS.
func TestDemoStaysLocal(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.jsonl")
	start := time.Now()
	_, stderr, code := trawl(t, "demo", "-q", "--scope", "any", "--rate", "-1", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("the demo took %v", d)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := 0
	for _, r := range readRecords(t, data) {
		if e := strings.ToLower(r.Error); strings.Contains(e, "lookup") || strings.Contains(e, "dns") {
			t.Errorf("%s: %s: the demo resolved a name", r.URL, r.Error)
		}
		if strings.HasPrefix(r.URL, "http://elsewhere.test/") {
			elsewhere++
			if r.Error == "" {
				t.Errorf("%s: %+v, want an error record", r.URL, r)
			}
		}
	}
	if elsewhere == 0 {
		t.Error("no record for elsewhere.test: --scope any did not reach the link")
	}
}

// TestContact: --contact puts a contact URL in the User-Agent; without it
// the User-Agent is fetch.DefaultUserAgent.
func TestContact(t *testing.T) {
	srv := smallSite()
	defer srv.Close()
	res := resolveAll(srv, "ok.trawl.test")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, fetch.DefaultUserAgent},
		{[]string{"--contact", "https://example.org/bot.html"}, "trawl/" + version + " (+https://example.org/bot.html)"},
	} {
		srv.Reset()
		args := append(append(append([]string{"-q", "--depth", "-1"}, res...), tc.args...), "http://ok.trawl.test/")
		if _, stderr, code := trawl(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		for _, r := range srv.Requests() {
			if r.UserAgent != tc.want {
				t.Errorf("%v: %s sent User-Agent %q, want %q", tc.args, r.Path, r.UserAgent, tc.want)
			}
		}
	}
}

// TestStateCSV: a new --state crawl may write CSV (the header the sink
// writes by itself is not data the crawl would cut), and a resume keeps it.
func TestStateCSV(t *testing.T) {
	dir := t.TempDir()
	args := []string{"demo", "-q", "--rate", "-1", "--state", filepath.Join(dir, "st"), "-o", filepath.Join(dir, "x.csv")}
	if _, stderr, code := trawl(t, args...); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	first, err := os.ReadFile(filepath.Join(dir, "x.csv"))
	if err != nil || !strings.HasPrefix(string(first), "url,") {
		t.Fatalf("output %q, %v; want CSV with its header", first[:min(len(first), 20)], err)
	}
	if _, stderr, code := trawl(t, args...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "x.csv")); !bytes.Equal(again, first) {
		t.Errorf("the resume changed the finished output: %d bytes, was %d", len(again), len(first))
	}
}

// TestSchemaCLI holds the command's output to the record schema: JSONL and
// CSV carry the same fields for every URL, fetched_at is fixed-width, and
// requested records have attempts and duration_ms while skipped ones have
// none of the request's fields.
func TestSchemaCLI(t *testing.T) {
	dir := t.TempDir()
	for _, out := range []string{"x.jsonl", "x.csv"} {
		if _, stderr, code := trawl(t, "demo", "-q", "--rate", "-1", "-o", filepath.Join(dir, out)); code != 0 {
			t.Fatalf("%s: exit %d: %s", out, code, stderr)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "x.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]map[string]any{} // url -> JSON object
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		fields[m["url"].(string)] = m
		_, skipped := m["skipped"]
		for _, k := range []string{"fetched_at", "duration_ms", "attempts"} {
			if _, ok := m[k]; ok == skipped {
				t.Errorf("%s: %s present %v, skipped %v; want it exactly on requested records", m["url"], k, ok, skipped)
			}
		}
		if at, ok := m["fetched_at"].(string); ok && len(at) != len("2006-01-02T15:04:05.000Z") {
			t.Errorf("%s: fetched_at %q is not fixed-width", m["url"], at)
		}
	}
	f, err := os.Open(filepath.Join(dir, "x.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := rows[0]
	if len(rows)-1 != len(fields) {
		t.Fatalf("%d CSV records, %d JSONL records", len(rows)-1, len(fields))
	}
	for _, row := range rows[1:] {
		m, ok := fields[row[0]]
		if !ok {
			t.Errorf("CSV has %s, JSONL does not", row[0])
			continue
		}
		for i, name := range header {
			_, inJSON := m[name]
			if inCSV := row[i] != ""; inCSV != inJSON && name != "fetched_at" && name != "duration_ms" {
				t.Errorf("%s: field %s in CSV %v, in JSONL %v", row[0], name, inCSV, inJSON)
			}
		}
	}
}
