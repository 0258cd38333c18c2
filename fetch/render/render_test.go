package render

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDiscovery renders pages whose targets exist only through JavaScript,
// and checks that each target is found where it should be, and that the
// page as served does not hold it.
func TestDiscovery(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{})
	cases := []struct {
		name   string
		page   string
		target string // a path
		// where the target must be: "html" (a link in the rendered DOM),
		// or a navigation or request of this kind.
		in      string
		nav     NavKind
		method  string // of the navigation; empty means GET
		element bool   // the navigation names the clicked element
	}{
		{name: "inserted after fetch", page: "fetch.html", target: "/found/fetch", in: "html"},
		{name: "string concatenation", page: "concat.html", target: "/found/concat", in: "html"},
		{name: "setTimeout", page: "timeout.html", target: "/found/timeout", in: "html"},
		{name: "client-side router", page: "router.html", target: "/app/settings", in: "nav", nav: NavHistory, element: true},
		{name: "router second route", page: "router.html", target: "/app/profile", in: "nav", nav: NavHistory, element: true},
		{name: "addEventListener click", page: "click.html", target: "/found/click", in: "nav", nav: NavDocument, element: true},
		{name: "two-step click", page: "twostep.html", target: "/found/twostep", in: "nav", nav: NavDocument, element: true},
		{name: "form posted by navigation", page: "formnav.html", target: "/found/formpost", in: "nav", nav: NavDocument, method: "POST", element: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			static, err := os.ReadFile(filepath.Join("testdata", "site", tc.page))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(static), tc.target) {
				t.Fatalf("%s as served holds %s: the test proves nothing", tc.page, tc.target)
			}
			ctx := testContext(t, 60*time.Second)
			start := time.Now()
			res, err := r.Render(ctx, s.URL+"/"+tc.page, PageOptions{})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			t.Logf("%s: %v, %d clicks, requests %+v, navigations %+v", tc.page, time.Since(start).Round(time.Millisecond),
				res.Clicks, res.Requests, res.Navigations)
			switch tc.in {
			case "html":
				if !strings.Contains(res.HTML, `href="`+tc.target+`"`) {
					t.Errorf("rendered DOM has no link to %s:\n%s", tc.target, res.HTML)
				}
			case "nav":
				var found *Navigation
				method := tc.method
				if method == "" {
					method = "GET"
				}
				for i, n := range res.Navigations {
					if n.URL == s.URL+tc.target && n.Kind == tc.nav && n.Method == method {
						found = &res.Navigations[i]
					}
				}
				if found == nil {
					t.Fatalf("no %s navigation to %s in %+v", tc.nav, tc.target, res.Navigations)
				}
				if tc.element && found.Element == "" {
					t.Errorf("navigation %+v names no element", *found)
				}
			}
			if got := append(s.requests("GET", tc.target), s.requests("POST", tc.target)...); tc.in == "nav" && tc.nav == NavDocument && len(got) != 0 {
				t.Errorf("the site got %d requests for %s: the navigation was not stopped", len(got), tc.target)
			}
		})
	}
}

// TestFormPost checks that a form sent by fetch with POST is recorded as a
// POST request, and that the server got it once, from the page: not again
// when the page is reloaded between clicks. The page also posts a beacon on
// every load, which must leave once.
func TestFormPost(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{})
	ctx := testContext(t, 60*time.Second)
	res, err := r.Render(ctx, s.URL+"/form.html", PageOptions{})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	t.Logf("%d clicks; requests %+v; navigations %+v", res.Clicks, res.Requests, res.Navigations)
	if res.Clicks < 2 {
		t.Errorf("got %d clicks, want at least 2 (the form's button and the other)", res.Clicks)
	}
	want := map[string]bool{"/api/submit": true, "/api/beacon": false} // path: caused by a click
	for path, byClick := range want {
		var found *Request
		for i, q := range res.Requests {
			if q.URL == s.URL+path {
				found = &res.Requests[i]
			}
		}
		if found == nil {
			t.Errorf("no request for %s in %+v", path, res.Requests)
			continue
		}
		if found.Method != "POST" || found.Kind != KindFetch {
			t.Errorf("%s: got %s %s, want POST fetch", path, found.Method, found.Kind)
		}
		if byClick != (found.Element != "") {
			t.Errorf("%s: Element %q, want it set: %v", path, found.Element, byClick)
		}
		got := s.requests("POST", path)
		if len(got) != 1 {
			t.Errorf("the site got %d POST %s, want 1", len(got), path)
			continue
		}
		if ref := got[0].Header.Get("Referer"); !strings.HasSuffix(ref, "/form.html") {
			t.Errorf("POST %s: Referer %q, want the page", path, ref)
		}
		if mode := got[0].Header.Get("Sec-Fetch-Mode"); mode != "cors" && mode != "same-origin" {
			t.Errorf("POST %s: Sec-Fetch-Mode %q, want a request of the page's script", path, mode)
		}
	}
	s.mu.Lock()
	var body string
	for q, b := range s.body {
		if q.URL.Path == "/api/submit" {
			body = b
		}
	}
	s.mu.Unlock()
	if !strings.Contains(body, "hello") {
		t.Errorf("POST /api/submit body %q, want the form's data", body)
	}
	if n := len(s.requests("GET", "/form.html")); n < 2 {
		t.Errorf("the page was loaded %d times, want a reload between clicks", n)
	}
}

// TestRequests checks the kinds of the requests a page makes, and the
// result's other fields.
func TestRequests(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Clicks: -1})
	ctx := testContext(t, 60*time.Second)
	res, err := r.Render(ctx, s.URL+"/kinds.html", PageOptions{})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := map[string]Kind{
		"/assets/style.css": KindStylesheet,
		"/assets/app.js":    KindScript,
		"/assets/pixel.gif": KindImage,
		"/api/xhr":          KindXHR,
		"/api/fetch":        KindFetch,
	}
	got := make(map[string]Kind)
	for _, q := range res.Requests {
		got[strings.TrimPrefix(q.URL, s.URL)] = q.Kind
		if q.Method != "GET" || q.Element != "" {
			t.Errorf("%+v: want GET, by the page itself", q)
		}
	}
	for path, kind := range want {
		if got[path] != kind {
			t.Errorf("%s: kind %q, want %q", path, got[path], kind)
		}
	}
	if res.Status != 200 || res.URL != s.URL+"/kinds.html" || res.Clicks != 0 {
		t.Errorf("got status %d, URL %s, %d clicks; want 200, the page, 0", res.Status, res.URL, res.Clicks)
	}
	if !strings.HasPrefix(res.HTML, "<!DOCTYPE html>\n<html>") {
		t.Errorf("HTML starts %.40q, want the doctype and the root element", res.HTML)
	}

	res, err = r.Render(ctx, s.URL+"/status/404", PageOptions{})
	if err != nil {
		t.Fatalf("Render 404: %v", err)
	}
	if res.Status != 404 || !strings.Contains(res.HTML, "Not here.") {
		t.Errorf("404 page: status %d, HTML %q", res.Status, res.HTML)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()
	_, err = r.Render(ctx, closed, PageOptions{})
	if !errors.Is(err, ErrNavigation) || !strings.Contains(err.Error(), "ERR_CONNECTION_REFUSED") {
		t.Errorf("refused connection: got %v, want ErrNavigation, ERR_CONNECTION_REFUSED", err)
	}
	_, err = r.Render(ctx, "http://unreachable.example/", PageOptions{})
	if err == nil || !strings.Contains(err.Error(), "ERR_NAME_NOT_RESOLVED") {
		t.Errorf("a host name with LoopbackOnly: got %v, want ERR_NAME_NOT_RESOLVED", err)
	}
	if _, err := r.Render(ctx, "file:///etc/passwd", PageOptions{}); err == nil {
		t.Error("a file URL was rendered")
	}
}

// TestScript checks the script hook: its JSON value, an awaited promise, an
// exception, and a per-call script replacing the Renderer's.
func TestScript(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Clicks: -1, Script: `({title: document.title, links: document.links.length})`})
	ctx := testContext(t, 60*time.Second)
	cases := []struct {
		name, script, result, err string
	}{
		{name: "options", result: `{"title":"fetch","links":2}`},
		{name: "promise", script: `new Promise((ok) => setTimeout(() => ok([1, "two"]), 20))`, result: `[1,"two"]`},
		{name: "exception", script: `(() => { throw new Error("boom") })()`, err: "boom"},
		{name: "undefined", script: `void 0`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Render(ctx, s.URL+"/fetch.html", PageOptions{Script: tc.script})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if tc.result != "" {
				var got, want any
				if err := json.Unmarshal(res.ScriptResult, &got); err != nil {
					t.Fatalf("ScriptResult %q: %v", res.ScriptResult, err)
				}
				json.Unmarshal([]byte(tc.result), &want)
				if g, w := jsonString(got), jsonString(want); g != w {
					t.Errorf("ScriptResult %s, want %s", g, w)
				}
			} else if res.ScriptResult != nil {
				t.Errorf("ScriptResult %s, want none", res.ScriptResult)
			}
			if !strings.Contains(res.ScriptError, tc.err) || (tc.err == "") != (res.ScriptError == "") {
				t.Errorf("ScriptError %q, want %q", res.ScriptError, tc.err)
			}
		})
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestTabReplacement checks that a tab is replaced after TabPages pages.
func TestTabReplacement(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Tabs: 1, TabPages: 3, Clicks: -1})
	ctx := testContext(t, 60*time.Second)
	for i := range 7 {
		if _, err := r.Render(ctx, s.URL+"/concat.html", PageOptions{}); err != nil {
			t.Fatalf("Render %d: %v", i, err)
		}
	}
	if got := r.tabsMade.Load(); got != 3 {
		t.Errorf("%d tabs made for 7 pages, 3 per tab; want 3", got)
	}
}

// TestClose checks that Render fails with ErrClosed after Close.
func TestClose(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Clicks: -1})
	ctx := testContext(t, 30*time.Second)
	if _, err := r.Render(ctx, s.URL+"/plain.html", PageOptions{}); err != nil {
		t.Fatalf("Render: %v", err)
	}
	r.Close()
	if _, err := r.Render(ctx, s.URL+"/plain.html", PageOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Render after Close: got %v, want ErrClosed", err)
	}
	r.Close()
}

func TestFindBrowser(t *testing.T) {
	if _, err := FindBrowser("/nonexistent/chromium"); !errors.Is(err, ErrNoBrowser) {
		t.Errorf("a missing explicit path: %v, want an error wrapping ErrNoBrowser", err)
	}
	saved := browserPaths
	browserPaths = []string{"/nonexistent/chromium-headless-shell"}
	_, err := FindBrowser("")
	browserPaths = saved
	if !errors.Is(err, ErrNoBrowser) || !strings.Contains(err.Error(), "apt-get install chromium-headless-shell") {
		t.Errorf("no browser: got %v, want ErrNoBrowser with the hint", err)
	}
	p := requireBrowser(t)
	if isScript(p) {
		t.Errorf("FindBrowser returned the script %s, want the binary", p)
	}
	t.Logf("browser: %s", p)
}

// TestConcurrent renders pages from more goroutines than tabs, with clicks,
// and checks each result: tabs are shared safely.
func TestConcurrent(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Tabs: 2, TabPages: 4})
	ctx := testContext(t, 90*time.Second)
	pages := map[string]func(*Result) bool{
		"click.html": func(res *Result) bool {
			return len(res.Navigations) == 1 && res.Navigations[0].URL == s.URL+"/found/click"
		},
		"concat.html": func(res *Result) bool { return strings.Contains(res.HTML, `href="/found/concat"`) },
		"twostep.html": func(res *Result) bool {
			return len(res.Navigations) == 1 && res.Navigations[0].URL == s.URL+"/found/twostep"
		},
		"fetch.html": func(res *Result) bool { return strings.Contains(res.HTML, `href="/found/fetch2"`) },
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 3 {
				for page, ok := range pages {
					res, err := r.Render(ctx, s.URL+"/"+page, PageOptions{})
					if err != nil {
						t.Errorf("worker %d, round %d, %s: %v", w, i, page, err)
						continue
					}
					if !ok(res) {
						t.Errorf("worker %d, round %d, %s: wrong result %+v", w, i, page, res.Navigations)
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("48 pages, %d tabs made", r.tabsMade.Load())
}
