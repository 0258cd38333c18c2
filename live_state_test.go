package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/store"
	"trawl/store/disk"
)

// TestStateWhileRunning runs "trawl state DIR" while a crawl holds DIR:
// it prints the status the crawl published, whose counts are those of the
// output up to the size it gives; after the crawl is interrupted, it
// prints the saved counts, which are those of the whole output.
func TestStateWhileRunning(t *testing.T) {
	site := fixtures.Synthetic{Pages: 2000, Links: 5, Size: 500, Hosts: 1, Seed: 5, Latency: 20 * time.Millisecond}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "crawl.state"), filepath.Join(dir, "out.jsonl")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "-q", "--rate", "-1", "--per-host", "2",
		"--resolve", site.HostNames()[0]+":80:"+srv.Addr(), "--state", state, "-o", out, site.Root())
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // if the test fails before it is interrupted
	waitStatus(ctx, t, state, func(st crawler.Status) bool { return st.Running && st.Counts.Records() >= 20 })

	// (a) While the crawl runs: its status.
	stdout, stderr, code := trawl(t, "state", state)
	if code != exitOK {
		t.Fatalf("trawl state while crawling: exit %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if want := fmt.Sprintf("crawl running (pid %d), as of ", cmd.Process.Pid); !strings.Contains(stdout, want) {
		t.Errorf("trawl state while crawling printed\n%s\nwant a line with %q", stdout, want)
	}
	if q := stateNumber(t, stdout, "urls", "seen, ", " queued"); q == 0 {
		t.Errorf("trawl state while crawling printed\n%s\nwant URLs queued", stdout)
	}
	got := stateCounts(t, stdout)
	pos := stateNumber(t, stdout, "output", "", " bytes written")
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) < pos {
		t.Fatalf("the status says %d bytes written, the output has %d", pos, len(data))
	}
	if got.Records() == 0 {
		t.Errorf("trawl state while crawling printed\n%s\nwant records", stdout)
	}
	checkCounts(t, "while crawling", got, readRecords(t, data[:pos]))

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("crawl: exit %d (%v), want 130; stderr:\n%s", code, err, errb.String())
	}

	// (b) After it: the saved state, whose counts are the output's.
	stdout, stderr, code = trawl(t, "state", state)
	if code != exitOK {
		t.Fatalf("trawl state after the crawl: exit %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if strings.Contains(stdout, "crawl running") {
		t.Errorf("trawl state after the crawl printed\n%s\nwant no running crawl", stdout)
	}
	data, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if pos := stateNumber(t, stdout, "output", "", " bytes committed"); pos != int64(len(data)) {
		t.Errorf("trawl state after the crawl says %d bytes committed, the output has %d", pos, len(data))
	}
	checkCounts(t, "after the crawl", stateCounts(t, stdout), readRecords(t, data))
}

// TestStateCounts crawls a site with a record of every kind (fetched with
// several statuses, a redirect, an error, and skipped by robots.txt, depth,
// --exclude and length, the last two never queued) and checks that "trawl
// state" counts the output's records, with no status for the skipped ones.
func TestStateCounts(t *testing.T) {
	long := "/" + strings.Repeat("x", 100)
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<a href="/a">a</a> <a href="/missing">m</a> <a href="/private/x">p</a> <a href="/private/y">p</a>
<a href="/old">o</a> <a href="/broken">b</a> <a href="/skip/me">e</a> <a href="%s">l</a>`, long)
	})
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/deep">d</a>`)
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "new") })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	srv := fixtures.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "crawl.state"), filepath.Join(dir, "out.jsonl")
	_, stderr, code := trawl(t, "-q", "--rate", "-1", "--retries", "-1", "--depth", "1", "--exclude", "/skip/",
		"--max-url-length", "60", "--resolve", "counts.trawl.test:80:"+srv.Addr(),
		"--state", state, "-o", out, "http://counts.trawl.test/")
	if code != 0 {
		t.Fatalf("crawl: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := trawl(t, "state", state)
	if code != exitOK {
		t.Fatalf("trawl state: exit %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, data)
	got := stateCounts(t, stdout)
	checkCounts(t, "", got, recs)
	if _, ok := got.Status[0]; ok {
		t.Errorf("trawl state printed\n%s\nwant no status 0", stdout)
	}
	want := crawler.Counts{Fetched: 5, Errors: 1, // /, /a, /missing, /old, /new; /broken
		Skipped: map[string]int64{"robots": 2, "depth": 1, "excluded": 1, "url-too-long": 1},
		Status:  map[int]int64{200: 3, 301: 1, 404: 1}}
	if !countsEqual(got, want) {
		t.Errorf("trawl state printed\n%s\nwant the counts %+v", stdout, want)
	}
}

// waitStatus waits until the crawl holding dir has published a status
// that ok accepts, and returns it.
func waitStatus(ctx context.Context, t *testing.T, dir string, ok func(crawler.Status) bool) crawler.Status {
	t.Helper()
	for {
		if data, err := disk.ReadStatus(dir); err == nil {
			var st crawler.Status
			if err := json.Unmarshal(data, &st); err != nil {
				t.Fatalf("status %s: %v", data, err)
			}
			if ok(st) {
				return st
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no status as wanted in %s: %v", dir, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stateLine returns the text after the label of the line of "trawl state"
// output that has it, such as "records".
func stateLine(t *testing.T, out, label string) string {
	t.Helper()
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, label+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("trawl state printed\n%s\nwant a line %q", out, label)
	return ""
}

// stateNumber returns the number between before and after on the line
// with label.
func stateNumber(t *testing.T, out, label, before, after string) int64 {
	t.Helper()
	line := stateLine(t, out, label)
	_, s, ok := strings.Cut(line, before)
	if before == "" {
		s, ok = line, true
	}
	if ok {
		s, _, ok = strings.Cut(s, after)
	}
	if !ok {
		t.Fatalf("line %q: want a number between %q and %q", line, before, after)
	}
	if i := strings.LastIndexByte(s, ' '); i >= 0 {
		s = s[i+1:]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	return n
}

// stateCounts parses the "records" and "status" lines of "trawl state":
//
//	records  N: F fetched, E errors, S skipped (robots: 2, depth: 1)
//	status   200: 5, 404: 1
func stateCounts(t *testing.T, out string) crawler.Counts {
	t.Helper()
	line := stateLine(t, out, "records")
	var c crawler.Counts
	var n, skipped int64
	if _, err := fmt.Sscanf(line, "%d: %d fetched, %d errors, %d skipped", &n, &c.Fetched, &c.Errors, &skipped); err != nil {
		t.Fatalf("records line %q: %v", line, err)
	}
	if _, reasons, ok := strings.Cut(line, "("); ok {
		c.Skipped = map[string]int64{}
		for _, part := range strings.Split(strings.TrimSuffix(reasons, ")"), ", ") {
			reason, v, _ := strings.Cut(part, ": ")
			k, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("records line %q: %v", line, err)
			}
			c.Skipped[reason] = k
		}
	}
	if c.Records() != n || c.Records()-c.Fetched-c.Errors != skipped {
		t.Errorf("records line %q does not add up", line)
	}
	if !strings.Contains(out, "\nstatus ") {
		return c
	}
	c.Status = map[int]int64{}
	for _, part := range strings.Split(stateLine(t, out, "status"), ", ") {
		code, v, _ := strings.Cut(part, ": ")
		s, err1 := strconv.Atoi(code)
		k, err2 := strconv.ParseInt(v, 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("status line: bad %q", part)
		}
		c.Status[s] = k
	}
	return c
}

// recordCounts counts recs as the summary does: skipped (by reason),
// else errors, else fetched (by status).
func recordCounts(recs []store.Record) crawler.Counts {
	var c crawler.Counts
	for _, r := range recs {
		switch {
		case r.Skipped != "":
			if c.Skipped == nil {
				c.Skipped = map[string]int64{}
			}
			c.Skipped[r.Skipped]++
		case r.Error != "":
			c.Errors++
		default:
			if c.Status == nil {
				c.Status = map[int]int64{}
			}
			c.Fetched++
			c.Status[r.Status]++
		}
	}
	return c
}

func countsEqual(a, b crawler.Counts) bool {
	return a.Fetched == b.Fetched && a.Errors == b.Errors && maps.Equal(a.Skipped, b.Skipped) && maps.Equal(a.Status, b.Status)
}

// checkCounts checks that the counts trawl state printed are those of
// the records in the output.
func checkCounts(t *testing.T, when string, got crawler.Counts, recs []store.Record) {
	t.Helper()
	if want := recordCounts(recs); !countsEqual(got, want) || got.Records() != int64(len(recs)) {
		t.Errorf("trawl state %s: got %d records %+v, the output has %d: %+v", when, got.Records(), got, len(recs), want)
	}
}
