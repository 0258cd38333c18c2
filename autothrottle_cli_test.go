package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"trawl/fixtures"
)

// TestAutoThrottleFlag: --auto-throttle spaces a slow host by its latency
// and the summary names it with its spacing.
func TestAutoThrottleFlag(t *testing.T) {
	srv := fixtures.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<a href="/a">a</a> <a href="/b">b</a> <a href="/c">c</a>`)
			return
		}
		time.Sleep(200 * time.Millisecond)
		fmt.Fprint(w, "slow")
	}))
	defer srv.Close()
	_, stderr, code := trawl(t, "--rate", "-1", "--ignore-robots", "--no-sitemaps", "--auto-throttle",
		"--resolve", "slow.trawl.test:80:"+srv.Addr(), "-o", t.TempDir()+"/out.jsonl", "http://slow.trawl.test/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "throttle 1 host spaced by their latency now: slow.trawl.test ") {
		t.Errorf("the summary does not name the throttled host:\n%s", stderr)
	}
	if _, stderr, code := trawl(t, "--auto-throttle", "--auto-throttle-target", "-1", "http://slow.trawl.test/"); code != 2 || strings.Count(stderr, "\n") != 1 {
		t.Errorf("--auto-throttle-target -1: exit %d, want 2 with one line: %q", code, stderr)
	}
}
