package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
)

// binary is the trawl command built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trawl-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "trawl")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// trawl runs the binary with args and a time limit.
func trawl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("trawl %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// trawlStdin is trawl with input on stdin.
func trawlStdin(t *testing.T, input string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(input), &out, &errb
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("trawl %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func readRecords(t *testing.T, data []byte) []store.Record {
	t.Helper()
	var recs []store.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20) // a sitemap's record with --links holds up to 50,000 links
	for sc.Scan() {
		var r store.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.jsonl")
	stdout, stderr, code := trawl(t, "demo", "--rate", "-1", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing with -o", stdout)
	}
	if !strings.Contains(stderr, "trawl: done in") || !strings.Contains(stderr, "status") {
		t.Errorf("no summary on stderr:\n%s", stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, data)
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.URL] {
			t.Errorf("two records for %s", r.URL)
		}
		seen[r.URL] = true
	}
	if want := len(fixtures.BasicExpect.Fetched); len(recs) < want {
		t.Errorf("%d records, want at least %d", len(recs), want)
	}
}

func TestCSVOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.csv")
	if _, stderr, code := trawl(t, "demo", "-q", "--rate", "-1", "--depth", "1", "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "url,final_url,location,status") {
		t.Errorf("CSV output starts %q", data[:min(len(data), 40)])
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus", "http://x.test/"}, "unknown flag"},
		{[]string{"ftp://x.test/"}, "bad URL"},
		{[]string{"not a url"}, "bad URL"},
		{[]string{"http://"}, "no host"},
		{[]string{}, "no URL"},
		{[]string{"--scope", "planet", "http://x.test/"}, "--scope"},
		{[]string{"--include", "(", "http://x.test/"}, "--include"},
		{[]string{"--max-body", "lots", "http://x.test/"}, "--max-body"},
		{[]string{"--resolve", "x.test", "http://x.test/"}, "--resolve"},
		{[]string{"demo", "http://x.test/"}, "demo takes no URL"},
		{[]string{"demo", "--site", "mars"}, "--site"},
		{[]string{"--per-host", "-1", "http://x.test/"}, "--per-host"},
		{[]string{"--method", "POST", "http://x.test/"}, "--method"},
		{[]string{"--records", "some", "http://x.test/"}, "--records"},
		{[]string{"-H", "no colon", "http://x.test/"}, "-H"},
		{[]string{"--proxy", "nowhere", "http://x.test/"}, "--proxy"},
		{[]string{"--cookie", "novalue", "http://x.test/"}, "--cookie"},
		{[]string{"--no-cookies", "--cookie", "a=b", "http://x.test/"}, "--no-cookies"},
		{[]string{"--contact", "nobody", "http://x.test/"}, "--contact"},
		{[]string{"--contact", "https://x.test/bot", "--user-agent", "me", "http://x.test/"}, "--contact"},
		{[]string{"demo", "--resolve", "www.trawl.test:80:192.0.2.1"}, "--resolve"},
		{[]string{"demo", "--proxy", "http://192.0.2.1:3128"}, "--proxy"},
		{[]string{"help", "me"}, "help me"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := trawl(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if lines := strings.Count(stderr, "\n"); lines != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q, want one line mentioning %q", stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, flag := range []string{"--help", "-h"} {
		stdout, stderr, code := trawl(t, flag)
		if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "--per-host") || !strings.Contains(stdout, "Exit status:") || stderr != "" {
			t.Errorf("%s: exit %d, stdout:\n%s\nstderr %q; want the help on stdout", flag, code, stdout, stderr)
		}
	}
	stdout, _, code := trawl(t, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "trawl ") {
		t.Errorf("--version: exit %d, %q", code, stdout)
	}
}

// TestInterrupt: SIGINT stops the crawl, flushes whole records, prints the
// summary and exits 130.
func TestInterrupt(t *testing.T) {
	site := fixtures.Synthetic{Pages: 5000, Links: 5, Size: 1000, Hosts: 1, Seed: 3, Latency: 20 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	host := site.HostNames()[0]
	out := filepath.Join(t.TempDir(), "out.jsonl")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--rate", "-1", "--per-host", "4",
		"--resolve", host+":80:"+srv.Addr(), "-o", out, site.Root())
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the crawl is under way, as the server sees it.
	for deadline := time.Now().Add(time.Minute); len(srv.Requests()) < 20; {
		if time.Now().After(deadline) {
			t.Fatal("crawl did not start")
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d (%v), want 130; stderr:\n%s", code, err, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("stderr has no interrupted summary:\n%s", errb.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Error("output ends in a partial line")
	}
	if n := len(readRecords(t, data)); n == 0 || n >= site.Pages {
		t.Errorf("%d records after an early interrupt, want some but not all %d", n, site.Pages)
	}
}

// TestHostileDemo crawls the hostile demo site: every behaviour ends in a
// record, the crawl ends, and the summary names the capped Crawl-delay.
func TestHostileDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hostile.jsonl")
	_, stderr, code := trawl(t, "demo", "--site", "hostile", "--rate", "-1", "--timeout", "2s",
		"--max-crawl-delay", "200ms", "--max-retry-wait", "1s", "--max-links", "50", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "capped   robots.txt Crawl-delay of 1 hosts") || !strings.Contains(stderr, "over --max-links") {
		t.Errorf("summary does not name the capped Crawl-delay and the links over the cap:\n%s", stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string]store.Record{}
	for _, r := range readRecords(t, data) {
		if _, dup := recs[r.URL]; dup {
			t.Errorf("two records for %s", r.URL)
		}
		recs[r.URL] = r
	}
	base := "http://" + hostileHost + "/hostile/"
	for _, href := range fixtures.HostileRobotsPrivate {
		if r, ok := recs[base+"robots/"+href]; ok && r.Skipped != "robots" {
			t.Errorf("robots/%s: got %+v, want skipped robots", href, r)
		}
	}
	if r := recs[base+"429/3600"]; r.Status != 429 || !strings.Contains(r.Error, "asked to retry after 1h0m0s") {
		t.Errorf("429/3600: got %+v, want its 429 recorded with the pause it asked for", r)
	}
	if r := recs["http://slow."+hostileHost+"/hostile/slow/2"]; r.Status != 200 {
		t.Errorf("slow/2: got %+v, want 200 (the Crawl-delay of a day is capped)", r)
	}
}

// TestMaxTime: --max-time stops a crawl cleanly, exits 0 and says why.
func TestMaxTime(t *testing.T) {
	site := fixtures.Synthetic{Pages: 2000, Links: 5, Size: 1000, Hosts: 1, Seed: 3, Latency: 20 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	_, stderr, code := trawl(t, "--rate", "-1", "--max-time", "500ms", "--resolve", site.HostNames()[0]+":80:"+srv.Addr(), "-o", out, site.Root())
	if code != 0 || !strings.Contains(stderr, "stopped at --max-time") || !strings.Contains(stderr, "left") {
		t.Fatalf("exit %d, want 0 with a summary saying the crawl stopped at --max-time and what is left:\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(readRecords(t, data)); n == 0 || n >= site.Pages {
		t.Errorf("%d records, want some but not all %d", n, site.Pages)
	}
}

// TestOverwrite: a new --state refuses a non-empty -o file unless
// --overwrite is given.
func TestOverwrite(t *testing.T) {
	site := fixtures.Synthetic{Pages: 5, Links: 2, Hosts: 1}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(out, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-q", "--rate", "-1", "--resolve", site.HostNames()[0] + ":80:" + srv.Addr(), "--state", filepath.Join(dir, "state"), "-o", out, site.Root()}
	_, stderr, code := trawl(t, args...)
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("exit %d, stderr %q; want 2 and one line naming --overwrite", code, stderr)
	}
	if data, _ := os.ReadFile(out); string(data) != "precious\n" {
		t.Fatalf("output now %q, want it untouched", data)
	}
	if _, stderr, code := trawl(t, append([]string{"--overwrite"}, args...)...); code != 0 {
		t.Fatalf("with --overwrite: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(readRecords(t, data)); n != site.Pages {
		t.Errorf("%d records, want %d", n, site.Pages)
	}
}

// TestCSVFormulaCells: a page title that a spreadsheet would run as a
// formula is written as text.
func TestCSVFormulaCells(t *testing.T) {
	srv := fixtures.NewServer(fixtures.Hostile())
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.csv")
	if _, stderr, code := trawl(t, "-q", "--rate", "-1", "--depth", "-1", "--resolve", "bad.trawl.test:80:"+srv.Addr(), "-o", out, "http://bad.trawl.test/hostile/formula"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %d rows, %v; want a header and one record", len(rows), err)
	}
	cell := map[string]string{}
	for i, name := range rows[0] {
		cell[name] = rows[1][i]
	}
	if got, want := cell["title"], "'"+fixtures.HostileFormulaTitle; got != want {
		t.Errorf("title cell %q, want %q", got, want)
	}
}

// TestFlagConventions: every number maps one to one onto crawler.Config,
// where 0 is the default and -1 is "off".
func TestFlagConventions(t *testing.T) {
	tests := []struct {
		args []string
		ok   func(c crawler.Config) bool
		want string
	}{
		{[]string{}, func(c crawler.Config) bool { return c.MaxDepth == 0 && c.Rate == crawler.DefaultRate }, "no depth limit, the default rate"},
		{[]string{"--depth", "0"}, func(c crawler.Config) bool { return c.MaxDepth == 0 }, "MaxDepth 0: no limit"},
		{[]string{"--depth", "-1"}, func(c crawler.Config) bool { return c.MaxDepth == -1 }, "MaxDepth -1: seeds only"},
		{[]string{"--depth", "3"}, func(c crawler.Config) bool { return c.MaxDepth == 3 }, "MaxDepth 3"},
		{[]string{"--rate", "0"}, func(c crawler.Config) bool { return c.Rate == 0 }, "Rate 0: the default"},
		{[]string{"--rate", "-1"}, func(c crawler.Config) bool { return c.Rate == -1 }, "Rate -1: no limit"},
		{[]string{"--retries", "-1"}, func(c crawler.Config) bool { return c.Retries == -1 }, "Retries -1: none"},
		{[]string{"--retries", "0"}, func(c crawler.Config) bool { return c.Retries == 0 }, "Retries 0: the default"},
		{[]string{"--max-redirects", "-1"}, func(c crawler.Config) bool { return c.MaxRedirects == -1 }, "MaxRedirects -1: none"},
		{[]string{"--timeout", "-1s"}, func(c crawler.Config) bool { return c.Timeout < 0 }, "Timeout negative: no limit"},
		{[]string{"--max-body", "-1"}, func(c crawler.Config) bool { return c.MaxBody == -1 }, "MaxBody -1: no limit"},
		{[]string{"--max-body", "0"}, func(c crawler.Config) bool { return c.MaxBody == 0 }, "MaxBody 0: the default"},
		{[]string{"--checkpoint-interval", "-1s"}, func(c crawler.Config) bool { return c.CheckpointInterval < 0 }, "CheckpointInterval negative: every group"},
		{[]string{"--max-retry-wait", "-1s"}, func(c crawler.Config) bool { return c.MaxRetryWait < 0 }, "MaxRetryWait negative: no limit"},
		{[]string{"--max-crawl-delay", "0"}, func(c crawler.Config) bool { return c.MaxCrawlDelay == 0 }, "MaxCrawlDelay 0: the default"},
		{[]string{"--max-links", "-1"}, func(c crawler.Config) bool { return c.MaxLinks == -1 }, "MaxLinks -1: no limit"},
		{[]string{"--max-url-length", "-1"}, func(c crawler.Config) bool { return c.MaxURLLength == -1 }, "MaxURLLength -1: no limit"},
		{[]string{"--max-pages", "-1"}, func(c crawler.Config) bool { return c.MaxPages == -1 }, "MaxPages -1: no limit"},
		{[]string{"--per-host", "0", "-c", "0"}, func(c crawler.Config) bool { return c.PerHost == 0 && c.Concurrency == 0 }, "PerHost and Concurrency 0: the defaults"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			opts, err := parseArgs(append(tc.args, "http://x.test/"), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.ok(opts.cfg) {
				t.Errorf("got %+v, want %s", opts.cfg, tc.want)
			}
			if _, err := crawler.New(opts.cfg); err != nil {
				t.Errorf("crawler.New: %v", err)
			}
		})
	}
}

// TestRequestFlags: headers, cookies, the method and a seed's credentials
// reach the server, and --records fetched writes only what answered.
func TestRequestFlags(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/a">a</a> <a href="/missing">m</a> <a href="/private/x">p</a>`)
	})
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "a") })
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	srv := fixtures.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	jar := filepath.Join(dir, "cookies.txt")
	if err := os.WriteFile(jar, []byte("# Netscape HTTP Cookie File\n.req.trawl.test\tTRUE\t/\tFALSE\t0\tfromfile\t1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	_, stderr, code := trawl(t, "-q", "--rate", "-1", "--resolve", "req.trawl.test:80:"+srv.Addr(),
		"-H", "X-Team: blue", "--cookie", "flag=on", "--cookie-file", jar, "--records", "fetched",
		"-o", out, "http://bob:pw@req.trawl.test/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, r := range srv.Requests() {
		if r.Path != "/" {
			continue
		}
		h := r.Header
		if h.Get("X-Team") != "blue" || !strings.Contains(h.Get("Cookie"), "flag=on") || !strings.Contains(h.Get("Cookie"), "fromfile=1") || !strings.HasPrefix(h.Get("Authorization"), "Basic ") {
			t.Errorf("the seed's request had headers %v; want X-Team, both cookies and basic auth", h)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, data)
	got := map[string]int{}
	for _, r := range recs {
		got[strings.TrimPrefix(r.URL, "http://req.trawl.test")] = r.Status
		if strings.Contains(r.URL, "bob") || strings.Contains(r.URL, "pw@") {
			t.Errorf("record %s carries the seed's credentials", r.URL)
		}
	}
	if want := map[string]int{"/": 200, "/a": 200, "/missing": 404}; !maps.Equal(got, want) {
		t.Errorf("--records fetched wrote %v, want %v (the robots skip left out)", got, want)
	}

	// HEAD: the seed only, no body, no links.
	srv.Reset()
	if _, stderr, code := trawl(t, "-q", "--rate", "-1", "--method", "HEAD", "--resolve", "req.trawl.test:80:"+srv.Addr(), "-o", out, "http://req.trawl.test/"); code != 0 {
		t.Fatalf("HEAD: exit %d: %s", code, stderr)
	}
	for _, r := range srv.Requests() {
		if r.Path == "/" && r.Method != http.MethodHead {
			t.Errorf("the seed was requested with %s, want HEAD", r.Method)
		}
		if r.Path == "/a" {
			t.Error("HEAD found links: /a was requested")
		}
	}
}
