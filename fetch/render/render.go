// Package render loads pages in headless Chromium, for the pages whose links
// exist only once their JavaScript has run.
//
// Most programs find a browser with FindBrowser, make one Renderer with New,
// call Renderer.Render for each page and Close the Renderer when done. A
// Renderer runs one browser process with a pool of reused tabs; it is safe
// for concurrent use, and as many Render calls run at once as it has tabs
// (Options.Tabs), the others wait for a tab.
//
// Render navigates a tab to the page, waits for the load event and for the
// network to be idle, and returns the rendered DOM, the requests the page
// made and, unless Options.Clicks is negative, the navigations caused by
// clicking the page's interactive elements (found by their click listeners,
// as the DevTools protocol's DOMDebugger reports them, and as buttons and
// [onclick] elements). A navigation caused by a click is recorded and
// stopped: the tab never leaves the page for it. Requests other than GET
// are recorded and never sent again by the Renderer: during click
// exploration, a non-GET request the page already made is refused.
//
// # Containment
//
// With Options.ProxyURL the browser's only route out is that proxy: it
// resolves no host name itself (resolver rules map every name to "not
// found" except the proxy's host) and sends every request, loopback
// included, to the proxy, which applies the crawl's rules. A [Proxy] sees
// https requests too: it ends the browser's CONNECT tunnels itself, with
// certificates of its own that the browser accepts by their key
// (Options.ProxyCertSPKI, from Proxy.CertSPKI), and hands each request
// inside to its Gate, whose client makes the real TLS connection and
// checks the server's certificate. WebSockets are refused, ws:// and
// wss:// alike. Without a proxy,
// Options.LoopbackOnly makes the browser reach nothing but loopback, for
// tests. The flags that stop Chromium's own background traffic (updates,
// sync, metrics, safe browsing, ...) are always set.
//
// # Failures
//
// The browser is restarted, with back-off, when its process dies; the
// Render calls in flight then fail with an error wrapping ErrBrowserExited
// (within milliseconds), and later calls wait for the new browser (or fail
// at once with ErrBrowserDown while it cannot be started). A tab
// whose renderer crashed (ErrCrashed), that stopped answering (ErrHung) or
// whose page ran out of time (ErrTimeout) is closed and replaced; only the
// Render call that was using it fails. A navigation error (a refused
// connection, a name not resolved) is an error too (ErrNavigation); an HTTP
// error status is not, it is Result.Status.
//
// # Zero values and -1
//
// As everywhere in trawl, a zero number in Options means its documented
// default and a negative one means "off".
package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/chromedp"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultTabPages    = 100
	DefaultPageTimeout = 30 * time.Second
	DefaultIdleQuiet   = 100 * time.Millisecond
	DefaultIdleMax     = 5 * time.Second
	DefaultEvalTimeout = 5 * time.Second
	DefaultClicks      = 20
)

// DefaultTabs is the number of tabs of a Renderer whose Options.Tabs is zero:
// twice the number of CPUs, which suits chromium-headless-shell (the full
// Chromium gains less from extra tabs).
func DefaultTabs() int { return 2 * runtime.NumCPU() }

// Errors of Render, to be tested with errors.Is. Each is wrapped with the
// page's URL ("render <url>: tab crashed").
var (
	// ErrBrowserExited: the browser process died during the call. The
	// Renderer starts a new one; the call may be retried.
	ErrBrowserExited = errors.New("browser exited")
	// ErrBrowserDown: the browser could not be restarted; the error wraps
	// the reason. Later calls try again once the back-off allows.
	ErrBrowserDown = errors.New("browser down")
	// ErrCrashed: the tab's renderer process crashed (Inspector.targetCrashed);
	// the tab was closed and replaced.
	ErrCrashed = errors.New("tab crashed")
	// ErrHung: the tab did not answer an evaluation within
	// Options.EvalTimeout; it was closed and replaced.
	ErrHung = errors.New("tab hung")
	// ErrTimeout: the page took longer than Options.PageTimeout; the tab
	// was closed and replaced.
	ErrTimeout = errors.New("page timeout")
	// ErrClosed: the Renderer is closed.
	ErrClosed = errors.New("renderer closed")
	// ErrNavigation: the browser could not load the page (a refused
	// connection, a name not resolved, a download): the text says why, in
	// the browser's words ("navigation failed: net::ERR_CONNECTION_REFUSED").
	// The tab is fine.
	ErrNavigation = errors.New("navigation failed")
)

// Options configures a Renderer. The zero value is usable once a browser is
// installed: every zero field means its documented default.
type Options struct {
	// Browser is the path of the Chromium binary. Empty means
	// FindBrowser(""): chromium-headless-shell, then chromium.
	Browser string
	// ProxyURL, if set, is the browser's only route out, for example
	// "http://127.0.0.1:8080": every request goes to it, loopback included
	// (--proxy-server, --proxy-bypass-list=<-loopback>), and the browser
	// resolves no host name but the proxy's (--host-resolver-rules). Empty
	// means no proxy: the browser connects by itself, to anything unless
	// LoopbackOnly is set.
	ProxyURL string
	// ProxyCertSPKI, with ProxyURL, is the base64 SHA-256 hash of the
	// SubjectPublicKeyInfo of the key of the certificates the proxy shows
	// in the CONNECT tunnels it ends itself (Proxy.CertSPKI): the browser
	// accepts the certificates with that key, whoever signed them and
	// whatever their names and dates, and no other certificate error
	// (--ignore-certificate-errors-spki-list). So https pages render
	// through a Proxy. This trusts nothing else: the browser's every
	// connection is to the proxy, whose client checks the servers' own
	// certificates. Empty means the browser checks certificates as usual,
	// so that https pages fail to load through a Proxy.
	ProxyCertSPKI string
	// LoopbackOnly, without ProxyURL, makes the browser resolve no host
	// name and reach nothing but 127.0.0.1 and localhost. For tests on
	// local servers. Implied by ProxyURL.
	LoopbackOnly bool
	// UserAgent replaces the browser's User-Agent. Empty means the
	// browser's own.
	UserAgent string
	// Tabs is the number of tabs, hence of Render calls that run at once.
	// Zero (or negative) means DefaultTabs() (2 × CPUs).
	Tabs int
	// TabPages is the number of pages after which a tab is closed and
	// replaced by a new one, which bounds the growth of its memory. Zero
	// means DefaultTabPages (100); negative means never.
	TabPages int
	// PageTimeout bounds one Render call once it has a tab: loading,
	// waiting, evaluating and clicking. Zero means DefaultPageTimeout
	// (30s); negative means no limit but the caller's ctx. Click
	// exploration stops early, without an error, when it would not fit.
	PageTimeout time.Duration
	// IdleQuiet is how long the network must have no request in flight
	// (and the page no short timer pending) for the page to be idle. Zero
	// means DefaultIdleQuiet (100ms); negative means no quiet period.
	IdleQuiet time.Duration
	// IdleMax bounds the wait for the load event and network idle after
	// DOMContentLoaded, and the wait for idle after each click. Zero means
	// DefaultIdleMax (5s); negative means no wait: the DOM is read as soon
	// as DOMContentLoaded fired.
	IdleMax time.Duration
	// EvalTimeout bounds each evaluation in the page (reading the DOM,
	// Script, each click). A tab that does not answer in time is hung: the
	// call fails with ErrHung and the tab is replaced. Zero means
	// DefaultEvalTimeout (5s); negative means no limit but PageTimeout.
	EvalTimeout time.Duration
	// Clicks is the number of interactive elements clicked per page to
	// find the navigations and requests they cause. Zero means
	// DefaultClicks (20); negative means none.
	Clicks int
	// Script, if set, is a JavaScript expression evaluated in every page
	// once it is idle, before any click, in the page's own world; a promise
	// is awaited. Its value, as JSON, is Result.ScriptResult; an exception
	// or a rejection is Result.ScriptError, not an error of Render. A
	// script that does not settle within EvalTimeout makes the tab hung
	// (ErrHung). See PageOptions.Script.
	Script string
	// Logf receives chromedp's and the browser's diagnostics, from many
	// goroutines at once. nil means they are discarded.
	Logf func(format string, args ...any)
}

// PageOptions adjusts one Render call. The zero value means the Renderer's
// Options.
type PageOptions struct {
	// Script replaces Options.Script for this page. Empty means
	// Options.Script.
	Script string
	// Clicks replaces Options.Clicks for this page. Zero means
	// Options.Clicks; negative means none.
	Clicks int
}

// Kind is the kind of a request a page made, from the resource type the
// browser reports.
type Kind string

// Kinds of requests. Every resource type not listed (fonts, media,
// beacons, WebSockets, ...) is KindOther.
const (
	KindDocument   Kind = "document" // a frame's document
	KindScript     Kind = "script"
	KindStylesheet Kind = "stylesheet"
	KindImage      Kind = "image"
	KindXHR        Kind = "xhr"
	KindFetch      Kind = "fetch"
	KindOther      Kind = "other"
)

// Request is a request the page made (not the page's own document).
type Request struct {
	URL    string
	Method string
	Kind   Kind
	// Element is the CSS path of the element whose click caused the
	// request; empty for requests the page made by itself.
	Element string
}

// NavKind is how a navigation happened.
type NavKind string

// Kinds of navigations.
const (
	// NavDocument: the page asked to load another document (a link, a
	// location change, a form submission); it was stopped.
	NavDocument NavKind = "document"
	// NavHistory: the URL changed within the document (history.pushState,
	// replaceState or a fragment), as client-side routers do.
	NavHistory NavKind = "history"
	// NavWindow: the page called window.open; no window was opened.
	NavWindow NavKind = "window"
)

// Navigation is a navigation the page attempted.
type Navigation struct {
	URL string
	// Method is GET, or POST for a form posted by navigation.
	Method string
	Kind   NavKind
	// Element is the CSS path of the clicked element that caused it; empty
	// when the page navigated by itself.
	Element string
}

// Result is a rendered page.
type Result struct {
	// URL is the document's URL once idle: after redirects and client-side
	// route changes. Links in HTML resolve against it (or its <base>).
	URL string
	// Status is the HTTP status of the page's document; zero if unknown
	// (for example a document from the browser's cache).
	Status int
	// HTML is the rendered DOM, serialized (document.documentElement's
	// outer HTML, after the doctype), read once the page was idle and
	// before any click.
	HTML string
	// Requests are the requests the page made while loading and while its
	// elements were clicked, once each (by method and URL), in order.
	Requests []Request
	// Navigations are those the page attempted, by itself or because of a
	// click, once each (by kind, method and URL), in order.
	Navigations []Navigation
	// Clicks is the number of elements clicked.
	Clicks int
	// ScriptResult is the JSON value of the script (PageOptions.Script or
	// Options.Script); nil without a script or when it failed.
	ScriptResult json.RawMessage
	// ScriptError is the exception the script threw or the promise's
	// rejection; empty when it succeeded.
	ScriptError string
}

// Renderer loads pages in one headless Chromium with a pool of reused tabs.
// Create it with New; the zero value is not usable. A Renderer is safe for
// concurrent use by multiple goroutines; Close it when done.
type Renderer struct {
	opts Options // with defaults applied
	exec string

	// root is the parent of every browser's context: chromedp ties a
	// browser's life to a context, so the Renderer keeps this one (and each
	// browser and tab keeps its own) as a handle, canceled by Close. No
	// call's ctx is ever stored.
	root context.Context
	stop context.CancelFunc

	slots chan struct{} // one per tab in use; a Render call holds one

	mu       sync.Mutex
	allocs   []chromedp.ExecAllocatorOption // how to start a browser; guarded by mu (tests change it)
	cur      *browser                       // the live browser; nil while down; guarded by mu
	starting bool                           // a start is under way; guarded by mu
	downErr  error                          // why the last start failed, while down; guarded by mu
	changed  chan struct{}                  // closed (and replaced) when cur, starting or closed change; guarded by mu
	closed   bool                           // guarded by mu

	wg sync.WaitGroup // the supervisor and the goroutines closing tabs

	tabsMade atomic.Int64 // tabs created, for tests and benchmarks
	restarts atomic.Int64 // browsers started after the first

	// afterIdle, set by tests, runs once the page is idle, before its DOM is
	// read; its error ends the call.
	afterIdle func(ctx context.Context, j *job) error
}

// New starts a browser and returns its Renderer. ctx bounds the start only;
// the browser runs until Close. New fails when no browser is found (the
// error says how to install one) or when it does not start.
func New(ctx context.Context, opts Options) (*Renderer, error) {
	exec, err := FindBrowser(opts.Browser)
	if err != nil {
		return nil, err
	}
	if opts.ProxyURL != "" {
		u, err := url.Parse(opts.ProxyURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("render: proxy URL %q: want scheme://host:port", opts.ProxyURL)
		}
	}
	r := &Renderer{opts: withDefaults(opts), exec: exec, changed: make(chan struct{})}
	r.allocs = allocatorOptions(r.exec, r.opts)
	r.slots = make(chan struct{}, r.opts.Tabs)
	r.root, r.stop = context.WithCancel(context.Background())

	b, err := r.startBrowser(ctx)
	if err != nil {
		r.stop()
		return nil, fmt.Errorf("render: %w", err)
	}
	r.cur = b
	r.wg.Add(1)
	go r.supervise(b)
	return r, nil
}

// withDefaults returns o with its zero fields set to their defaults.
func withDefaults(o Options) Options {
	if o.Tabs <= 0 {
		o.Tabs = DefaultTabs()
	}
	if o.TabPages == 0 {
		o.TabPages = DefaultTabPages
	}
	if o.PageTimeout == 0 {
		o.PageTimeout = DefaultPageTimeout
	}
	if o.IdleQuiet == 0 {
		o.IdleQuiet = DefaultIdleQuiet
	} else if o.IdleQuiet < 0 {
		o.IdleQuiet = 0
	}
	if o.IdleMax == 0 {
		o.IdleMax = DefaultIdleMax
	}
	if o.EvalTimeout == 0 {
		o.EvalTimeout = DefaultEvalTimeout
	}
	if o.Clicks == 0 {
		o.Clicks = DefaultClicks
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// Render loads rawURL (http or https) in a tab and returns the rendered
// page. It waits for a free tab, and for the browser while it restarts.
// ctx bounds the whole call, Options.PageTimeout the part with a tab.
func (r *Renderer) Render(ctx context.Context, rawURL string, po PageOptions) (*Result, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("render %s: not an http(s) URL", rawURL)
	}
	t, err := r.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", rawURL, err)
	}
	clicks := r.opts.Clicks
	if po.Clicks != 0 {
		clicks = po.Clicks
	}
	script := r.opts.Script
	if po.Script != "" {
		script = po.Script
	}
	res, reuse, err := r.renderOn(ctx, t, rawURL, script, clicks)
	r.release(t, reuse)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", rawURL, err)
	}
	return res, nil
}

// Close stops the browser and waits for it to exit. Render calls in flight
// fail with ErrClosed, and so do later ones. Close is idempotent.
func (r *Renderer) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	b := r.cur
	r.cur = nil
	r.notifyLocked()
	r.mu.Unlock()

	if b != nil {
		b.close(true)
	}
	r.stop()
	r.wg.Wait()
	return nil
}

// notifyLocked wakes the goroutines waiting for a change of the browser's
// state. It requires r.mu.
func (r *Renderer) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}
