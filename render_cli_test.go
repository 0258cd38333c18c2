package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fetch/render"
	"trawl/fixtures"
	"trawl/internal/browsertest"
)

// TestRenderFlags: --render and its flags fill crawler.Config.Render one to
// one; without --render they are ignored; bad values are usage errors.
func TestRenderFlags(t *testing.T) {
	opts, err := parseArgs([]string{"--render", "--chrome-path", "/opt/chrome", "--render-tabs", "3", "--render-timeout", "10s",
		"--render-idle", "200ms", "--render-quiet", "50ms", "--render-eval-timeout", "3s", "--render-clicks", "-1", "http://x.test/"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := crawler.RenderConfig{Browser: "/opt/chrome", Tabs: 3, PageTimeout: 10 * time.Second, IdleMax: 200 * time.Millisecond,
		IdleQuiet: 50 * time.Millisecond, EvalTimeout: 3 * time.Second, Clicks: -1}
	if got := opts.cfg.Render; got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("Render %+v, want %+v", got, want)
	}
	if _, err := crawler.New(opts.cfg); err != nil {
		t.Errorf("crawler.New: %v", err)
	}

	opts, err = parseArgs([]string{"--render", "http://x.test/"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want = crawler.RenderConfig{Tabs: render.DefaultTabs(), PageTimeout: render.DefaultPageTimeout, IdleMax: render.DefaultIdleMax,
		IdleQuiet: render.DefaultIdleQuiet, EvalTimeout: render.DefaultEvalTimeout, Clicks: render.DefaultClicks}
	if got := opts.cfg.Render; got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("defaults: Render %+v, want %+v", got, want)
	}

	opts, err = parseArgs([]string{"--render-tabs", "3", "--render-clicks", "5", "http://x.test/"}, io.Discard)
	if err != nil || opts.cfg.Render != nil {
		t.Errorf("--render-* without --render: Render %+v, error %v; want nil, nil", opts.cfg.Render, err)
	}

	for _, args := range [][]string{
		{"--render", "--render-tabs", "-1"},
		{"--render", "--method", "HEAD"},
		{"--render", "--render-timeout", "soon"},
	} {
		_, stderr, code := trawl(t, append(args, "http://x.test/")...)
		if code != exitUsage || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, want %d with one line: %q", args, code, exitUsage, stderr)
		}
	}
}

// TestRenderMissingBrowser: --render with a --chrome-path that names
// nothing fails at start, on one line that says how to install a browser,
// before any request or output file.
func TestRenderMissingBrowser(t *testing.T) {
	srv := fixtures.NewServer(fixtures.JSSite{}.Handler())
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	_, stderr, code := trawl(t, "--render", "--chrome-path", "/nonexistent/chromium", "-o", out,
		"--resolve", fixtures.JSHost+":80:"+srv.Addr(), fixtures.JSSite{}.Seeds()[0])
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--chrome-path /nonexistent/chromium") ||
		!strings.Contains(stderr, `apt-get install chromium-headless-shell`) {
		t.Errorf("stderr %q: want one line naming the path, with the install hint", stderr)
	}
	if n := len(srv.Requests()); n > 0 {
		t.Errorf("the site got %d requests, want none", n)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-o file: %v, want none made", err)
	}
}

// TestRenderCommand, the test that starts a browser, runs inside a
// loopback-only network namespace where one can be made (see
// trawl/internal/browsertest).
var _ = browsertest.Register("^TestRenderCommand$")

// TestRenderFenced runs TestRenderCommand inside the fence.
func TestRenderFenced(t *testing.T) { browsertest.RunFenced(t) }

// TestRenderCommand crawls the JS fixture site with --render: the pages'
// records say rendered, the targets found through JavaScript are
// recorded, and the summary says what the browser did.
func TestRenderCommand(t *testing.T) {
	browsertest.Require(t, render.FindBrowser)
	site := fixtures.JSSite{}
	srv := fixtures.NewServer(site.Handler())
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	_, stderr, code := trawl(t, "--render", "--render-tabs", "2", "--render-idle", "2s", "--rate", "-1", "--no-sitemaps",
		"-o", out, "--resolve", fixtures.JSHost+":80:"+srv.Addr(), site.Seeds()[0])
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]bool{}
	for _, r := range readRecords(t, data) {
		byURL[r.URL] = r.Rendered
	}
	for _, p := range site.Pages() {
		if rendered, ok := byURL[site.URL(p)]; !ok || !rendered {
			t.Errorf("%s: recorded %v, rendered %v; want a rendered record", p, ok, rendered)
		}
	}
	for _, tg := range site.Targets() {
		if _, ok := byURL[site.URL(tg.Path)]; ok != (tg.Method == "GET") {
			t.Errorf("target %s (%s): recorded %v, want %v", tg.Name, tg.Method, ok, tg.Method == "GET")
		}
	}
	if !strings.Contains(stderr, "  rendered ") {
		t.Errorf("the summary has no rendered line:\n%s", stderr)
	}
	if !strings.Contains(string(data), `"rendered":true,"render_requests":`) {
		t.Errorf("no record says rendered with its counts:\n%s", data)
	}
}
