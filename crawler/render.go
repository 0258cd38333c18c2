package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"trawl/fetch"
	"trawl/fetch/render"
	"trawl/parse"
	"trawl/store"
)

// This file is rendering (Config.Render): loading HTML pages in headless
// Chromium after they are fetched, and reading links from what the
// browser saw. rendergate.go holds the gate every request of the browser
// passes, governor.go the per-host politeness both share.

// RenderConfig turns on rendering (Config.Render) and tunes it. The zero
// value renders with the defaults of package trawl/fetch/render: the
// browser found by render.FindBrowser, 2 tabs per CPU, a 30 s page timeout,
// the network idle for 100 ms (waited for at most 5 s) and 20 clicks per
// page.
//
// As everywhere in Config, zero means the default and a negative number
// "off" (no limit, or none).
type RenderConfig struct {
	// Browser is the path of the Chromium binary. Empty means
	// render.FindBrowser's search: chromium-headless-shell, then chromium.
	Browser string
	// Tabs is the number of pages rendered at once, each in a tab of the
	// one browser. Zero means render.DefaultTabs() (2 × CPUs). It must not
	// be negative.
	Tabs int
	// TabPages is the number of pages after which a tab is replaced,
	// which bounds its memory. Zero means render.DefaultTabPages;
	// negative means never.
	TabPages int
	// PageTimeout bounds the rendering of one page once it has a tab:
	// loading, waiting, the Script and the clicks. Zero means
	// render.DefaultPageTimeout (30 s); negative means no limit.
	PageTimeout time.Duration
	// IdleQuiet is how long the network must be quiet for a page to be
	// done loading. Zero means render.DefaultIdleQuiet (100 ms); negative
	// means no quiet period.
	IdleQuiet time.Duration
	// IdleMax bounds the wait for the network to be quiet, after the DOM
	// is loaded and after each click. Zero means render.DefaultIdleMax
	// (5 s); negative means no wait.
	IdleMax time.Duration
	// EvalTimeout bounds each evaluation in a page; a page that does not
	// answer in time fails as hung. Zero means render.DefaultEvalTimeout
	// (5 s); negative means no limit but PageTimeout.
	EvalTimeout time.Duration
	// Clicks is the number of interactive elements clicked per page, each
	// from a fresh state, to find the navigations and requests they cause.
	// Zero means render.DefaultClicks (20); negative means none.
	Clicks int
	// Script, if set, is a JavaScript expression evaluated in every page
	// once it is idle, before any click; a promise is awaited. Its value,
	// as JSON, is in Page.Rendered.ScriptResult for OnPage (and the
	// exception it threw in ScriptError). This is the hook to act in the
	// page (scroll, fill a field, dismiss a banner) or to read what the
	// DOM does not hold.
	Script string
	// Logf, if set, receives the browser's diagnostics. It is called from
	// many goroutines at once.
	Logf func(format string, args ...any)
}

// validate returns the problems of c, for Config.validate.
func (c *RenderConfig) validate() []string {
	var errs []string
	if c.Tabs < 0 {
		errs = append(errs, fmt.Sprintf("Render.Tabs %d is negative", c.Tabs))
	}
	return errs
}

// renderState is the rendering of one Run: its gate and governor, and the
// browser with its proxy, started at the first page to render and stopped
// when the crawl ends. It is nil without Config.Render.
type renderState struct {
	cfg  RenderConfig
	gate *gate
	gov  *governor

	mu      sync.Mutex
	started chan struct{} // closed once the start ended, well or not; nil before it; requires mu
	closed  bool          // requires mu
	rr      *render.Renderer
	proxy   *render.Proxy
	err     error // why the browser did not start
}

func newRenderState(r *run) *renderState {
	if r.cfg.Render == nil {
		return nil
	}
	return &renderState{cfg: *r.cfg.Render, gate: newGate(r), gov: newGovernor(r.cfg.PerHost)}
}

// renderer returns the Renderer, starting it and its proxy at the first
// call. A browser that does not start fails every call with the same
// error.
func (s *renderState) renderer(ctx context.Context) (*render.Renderer, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, render.ErrClosed
	}
	if s.started != nil {
		started := s.started
		s.mu.Unlock()
		select {
		case <-started:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return s.rr, s.err
	}
	s.started = make(chan struct{})
	s.mu.Unlock()

	proxy, err := render.NewProxy(s.gate)
	var rr *render.Renderer
	if err == nil {
		rr, err = render.New(ctx, render.Options{
			Browser:  s.cfg.Browser,
			ProxyURL: proxy.URL(),
			// The browser accepts the proxy's certificates, which end
			// its https tunnels; the gate's Fetcher checks the servers'.
			ProxyCertSPKI: proxy.CertSPKI(),
			Tabs:          s.cfg.Tabs,
			TabPages:      s.cfg.TabPages,
			PageTimeout:   s.cfg.PageTimeout,
			IdleQuiet:     s.cfg.IdleQuiet,
			IdleMax:       s.cfg.IdleMax,
			EvalTimeout:   s.cfg.EvalTimeout,
			Clicks:        s.cfg.Clicks,
			Script:        s.cfg.Script,
			Logf:          s.cfg.Logf,
		})
		if err != nil {
			proxy.Close()
			proxy = nil
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rr, s.proxy, s.err = rr, proxy, err
	if s.closed && rr != nil { // closed while starting
		rr.Close()
		proxy.Close()
		s.rr, s.proxy, s.err = nil, nil, render.ErrClosed
	}
	close(s.started)
	return s.rr, s.err
}

// close stops the browser, then the proxy (which waits for the gate's
// calls in flight). It is safe to call on a nil state, and more than once.
func (s *renderState) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.closed = true
	rr, proxy := s.rr, s.proxy
	s.rr, s.proxy = nil, nil
	s.mu.Unlock()
	if rr != nil {
		rr.Close()
	}
	if proxy != nil {
		proxy.Close()
	}
}

// wants reports whether the page of l, fetched as resp, is rendered: a 200
// text/html answer to a page (or form) link, over http or https (the
// proxy ends the browser's https tunnels itself, and so sees every request
// inside: see render.Proxy).
func (s *renderState) wants(l store.Lease, resp *fetch.Response) bool {
	return s != nil && resp.Status == http.StatusOK && len(resp.Body) > 0 &&
		(l.Kind == parse.KindPage || l.Kind == parse.KindForm) &&
		mediaType(resp.ContentType) == "text/html" &&
		(hasPrefixFold(resp.FinalURL, "http://") || hasPrefixFold(resp.FinalURL, "https://"))
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// fetchPage fetches l's URL for handle. With rendering, the request takes
// its host's turn from the governor, which the browser's requests share.
func (r *run) fetchPage(ctx context.Context, l store.Lease) (*fetch.Response, error) {
	req := fetch.Request{URL: l.URL, Method: r.cfg.Method}
	if r.rend == nil {
		return r.fetcher.Fetch(ctx, req)
	}
	done, err := r.rend.gov.turn(ctx, l.Host, max(l.Interval, r.interval))
	if err != nil {
		return nil, err
	}
	defer done()
	return r.fetcher.Fetch(ctx, req)
}

// errAbandoned says that a render stopped because the crawl is ending: the
// lease is abandoned, as a fetch cut short is.
var errAbandoned = errors.New("crawler: render abandoned")

// renderPage loads l's page, fetched as resp, in the browser, and keeps
// the result in rec for page to read. It returns a reason to try the URL
// again (the browser or the tab failed, and the URL has attempts left);
// errAbandoned when ctx ended; another error when the crawl must stop (the
// browser would not start, the archive or the frontier failed). A render
// that failed otherwise leaves an error of kind "render" in rec, whose
// page is then read as served.
func (r *run) renderPage(ctx context.Context, l store.Lease, rec *result, resp *fetch.Response) (retry string, err error) {
	rr, err := r.rend.renderer(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", errAbandoned
		}
		return "", fmt.Errorf("crawler: render: %w", err)
	}
	key, _, err := parse.NormalizeString(resp.FinalURL)
	if err != nil {
		return "", nil // unreachable: the page was fetched from it
	}
	unpin := r.rend.gate.pin(key, resp)
	res, err := rr.Render(ctx, resp.FinalURL, render.PageOptions{})
	unpin()
	if ferr := r.rend.gate.failure(); ferr != nil {
		return "", ferr
	}
	switch {
	case err == nil:
		r.counters.rendered.Add(1)
		rec.rendered = res
		rec.Rendered, rec.RenderRequests, rec.RenderClicks = true, len(res.Requests), res.Clicks
		return "", nil
	case ctx.Err() != nil:
		return "", errAbandoned
	}
	r.counters.renderFailures.Add(1)
	reason := "render: " + err.Error()
	transient := errors.Is(err, render.ErrBrowserExited) || errors.Is(err, render.ErrBrowserDown) ||
		errors.Is(err, render.ErrCrashed) || errors.Is(err, render.ErrHung) || errors.Is(err, render.ErrTimeout)
	if transient && l.Attempt < r.cfg.Retries {
		return reason, nil
	}
	rec.Error, rec.errKind = reason, errKindRender
	return "", nil
}

// renderedLinks returns, for a page rendered as res and served as static
// (whose links, with those of its headers, are links), the rendered DOM as
// parsed, the links of both documents and of what the browser saw, and
// whether either document's robots meta says nofollow. final is the
// page's URL.
//
// A page whose script loaded another document in its place (location =
// ..., while it loaded) left a DOM that is not its own: the page is then
// read as served, and the other document's URL is a link of it.
func (r *run) renderedLinks(res *render.Result, static *parse.Page, links []parse.Link, final *url.URL) (*parse.Page, []parse.Link, bool) {
	own, _, _ := parse.Normalize(final)
	found := browserLinks(res, own)
	u, err := url.Parse(res.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return static, parse.MergeLinks(links, found), static.NoFollow
	}
	u.Fragment, u.RawFragment = "", ""
	if key, host, err := parse.Normalize(u); err == nil && !sameDocument(res, own, key) {
		away := parse.Link{URL: u.String(), Key: key, Host: host, Kind: parse.KindPage, Source: navSources[render.NavDocument]}
		return static, parse.MergeLinks(links, found, []parse.Link{away}), static.NoFollow
	}
	doc, err := parse.HTMLWith([]byte(res.HTML), "text/html; charset=utf-8", u, parse.Options{GuessLinks: r.cfg.GuessLinks})
	if err != nil {
		return static, parse.MergeLinks(links, found), static.NoFollow // UTF-8 text always parses
	}
	return doc, parse.MergeLinks(doc.Links, links, found), doc.NoFollow || static.NoFollow
}

// sameDocument reports whether the document whose DOM res holds, at key,
// is the page's own (key own): the same URL, or one the page moved to by
// history.pushState or replaceState.
func sameDocument(res *render.Result, own, key string) bool {
	if key == own {
		return true
	}
	for _, n := range res.Navigations {
		if n.Kind == render.NavHistory {
			if k, _, err := parse.NormalizeString(n.URL); err == nil && k == key {
				return true
			}
		}
	}
	return false
}

// browserLinks turns what the browser saw a page do into links: its
// requests (a request other than GET or HEAD as a form link with its
// method, which is recorded and never followed; frames' documents as
// pages; XHR and fetch, scripts, stylesheets, images and the rest as
// assets, what the page loads to show itself, followed with Config.Assets
// only: the browser has just fetched them) and the
// navigations it attempted (as pages, or as forms for a POST). Their
// Source is "render:" and the request's kind ("render:fetch",
// "render:script", ...), or for a navigation "render:navigation" (a new
// document), "render:history" (pushState, replaceState) or
// "render:window" (window.open); after "click " when a click caused them. URLs other than http(s), and the page's own (key own), are left
// out.
func browserLinks(res *render.Result, own string) []parse.Link {
	out := make([]parse.Link, 0, len(res.Requests)+len(res.Navigations))
	add := func(raw, method string, kind parse.Kind, source, element string) {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return
		}
		u.Fragment, u.RawFragment = "", ""
		key, host, err := parse.Normalize(u)
		if err != nil || key == own {
			return
		}
		method = strings.ToUpper(method)
		if method != "" && method != http.MethodGet && method != http.MethodHead {
			kind = parse.KindForm
		} else if kind != parse.KindForm {
			method = ""
		}
		if element != "" {
			source = "click " + source
		}
		out = append(out, parse.Link{URL: u.String(), Key: key, Host: host, Kind: kind, Source: source, Method: method})
	}
	for _, q := range res.Requests {
		kind := parse.KindAsset
		if q.Kind == render.KindDocument {
			kind = parse.KindPage
		}
		add(q.URL, q.Method, kind, "render:"+string(q.Kind), q.Element)
	}
	for _, n := range res.Navigations {
		src := navSources[n.Kind]
		if src == "" {
			src = "render:" + string(n.Kind)
		}
		add(n.URL, n.Method, parse.KindPage, src, n.Element)
	}
	return out
}

// navSources are the sources of the links of navigations.
var navSources = map[render.NavKind]string{
	render.NavDocument: "render:navigation",
	render.NavHistory:  "render:history",
	render.NavWindow:   "render:window",
}
