package render

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

var (
	//go:embed js/probe.js
	probeJS string
	//go:embed js/dom.js
	domJS string
)

// Phases of a job: what a main-frame document request means.
const (
	phaseLoad  = iota // the page (or a reload of it) is loading: let it load
	phaseClick        // a click may navigate away: record and stop it
)

// Lifecycle bits of a document, by loader.
const (
	lifeDCL  = 1 << iota // DOMContentLoaded
	lifeLoad             // load
)

// job is the rendering of one page in one tab. Its fields are written by the
// tab's event handler (job.event) and read by the Render call: all of them
// are guarded by mu unless said otherwise.
type job struct {
	r       *Renderer
	t       *tab
	url     string
	abort   context.CancelCauseFunc // ends the call with a cause (ErrCrashed, ...); safe for concurrent use
	wakeCh  chan struct{}           // a buffered signal: the state changed
	pauseCh chan struct{}           // a buffered signal: a request was paused

	mu        sync.Mutex
	phase     int
	frame     cdp.FrameID                     // the main frame
	loader    cdp.LoaderID                    // the main frame's current document
	life      map[cdp.LoaderID]int            // lifecycle bits by loader
	status    int                             // of the page's first document response
	inflight  map[network.RequestID]time.Time // requests not finished, with their start
	activity  time.Time                       // of the last network activity
	element   string                          // the element being clicked, "" if none
	requests  []Request                       // in order
	reqSeen   map[string]network.RequestID    // by method and URL: the first request's ID
	navs      []Navigation                    // in order
	navSeen   map[string]bool                 // by kind, method and URL
	paused    []*fetch.EventRequestPaused     // waiting for an answer (phaseClick)
	changes   int                             // requests and navigations recorded: a click's effects
	mutations int                             // DOM mutations, as last probed
}

func newJob(r *Renderer, t *tab, url string, abort context.CancelCauseFunc) *job {
	return &job{
		r: r, t: t, url: url, abort: abort,
		wakeCh:   make(chan struct{}, 1),
		pauseCh:  make(chan struct{}, 1),
		frame:    cdp.FrameID(t.target.TargetID), // a tab's main frame has its target's ID
		life:     make(map[cdp.LoaderID]int),
		inflight: make(map[network.RequestID]time.Time),
		reqSeen:  make(map[string]network.RequestID),
		navSeen:  make(map[string]bool),
	}
}

// wake signals a change of the job's state to the Render call.
func (j *job) wake() {
	select {
	case j.wakeCh <- struct{}{}:
	default:
	}
}

// event handles one event of the tab (see tab.onEvent): fast, no command.
func (j *job) event(ev any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		if ev.Frame.ParentID != "" {
			return
		}
		j.frame = ev.Frame.ID
		if j.loader != "" && j.loader != ev.Frame.LoaderID && j.phase == phaseClick {
			// A click navigation that was not stopped (none should be).
			j.addNavLocked(ev.Frame.URL+ev.Frame.URLFragment, "GET", NavDocument)
		}
		j.loader = ev.Frame.LoaderID
	case *page.EventLifecycleEvent:
		switch ev.Name {
		case "DOMContentLoaded":
			j.life[ev.LoaderID] |= lifeDCL
		case "load":
			j.life[ev.LoaderID] |= lifeLoad
		default:
			return
		}
	case *page.EventNavigatedWithinDocument:
		if ev.FrameID == j.frame {
			j.addNavLocked(ev.URL, "GET", NavHistory)
		}
	case *network.EventRequestWillBeSent:
		j.activity = time.Now()
		mainDoc := ev.Type == network.ResourceTypeDocument && ev.FrameID == j.frame
		if mainDoc && j.phase == phaseClick {
			return // a click's navigation: recorded by the Fetch handler, and stopped
		}
		if _, ok := j.inflight[ev.RequestID]; !ok { // not a redirect
			j.inflight[ev.RequestID] = j.activity
		}
		if mainDoc {
			return // the page itself, or a reload of it
		}
		j.addRequestLocked(ev.RequestID, ev.Request.URL, ev.Request.Method, ev.Type)
	case *network.EventWebSocketCreated:
		j.addRequestLocked(ev.RequestID, ev.URL, "GET", network.ResourceTypeWebSocket)
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument && ev.FrameID == j.frame && j.status == 0 {
			j.status = int(ev.Response.Status)
		}
	case *network.EventLoadingFinished:
		j.finishLocked(ev.RequestID)
	case *network.EventLoadingFailed:
		j.finishLocked(ev.RequestID)
	case *fetch.EventRequestPaused:
		j.paused = append(j.paused, ev)
		select {
		case j.pauseCh <- struct{}{}:
		default:
		}
		return
	default:
		return
	}
	j.wake()
}

// finishLocked ends a request in flight. It requires j.mu.
func (j *job) finishLocked(id network.RequestID) {
	if _, ok := j.inflight[id]; ok {
		delete(j.inflight, id)
		j.activity = time.Now()
	}
}

// addRequestLocked records a request of the page, once per method and URL.
// It requires j.mu.
func (j *job) addRequestLocked(id network.RequestID, u, method string, typ network.ResourceType) {
	if !crawlable(u) {
		return
	}
	key := method + " " + u
	if _, ok := j.reqSeen[key]; ok {
		return
	}
	j.reqSeen[key] = id
	j.requests = append(j.requests, Request{URL: u, Method: method, Kind: kindOf(typ), Element: j.element})
	j.changes++
}

// addNavLocked records a navigation, once per kind, method and URL. It
// requires j.mu.
func (j *job) addNavLocked(u, method string, kind NavKind) {
	if !crawlable(u) {
		return
	}
	key := string(kind) + " " + method + " " + u
	if j.navSeen[key] {
		return
	}
	j.navSeen[key] = true
	j.navs = append(j.navs, Navigation{URL: u, Method: method, Kind: kind, Element: j.element})
	j.changes++
}

// crawlable reports whether u is worth recording: http(s) and ws(s) URLs.
func crawlable(u string) bool {
	for _, p := range []string{"http://", "https://", "ws://", "wss://"} {
		if len(u) >= len(p) && strings.EqualFold(u[:len(p)], p) {
			return true
		}
	}
	return false
}

// kindOf maps a resource type to a Kind.
func kindOf(t network.ResourceType) Kind {
	switch t {
	case network.ResourceTypeDocument:
		return KindDocument
	case network.ResourceTypeScript:
		return KindScript
	case network.ResourceTypeStylesheet:
		return KindStylesheet
	case network.ResourceTypeImage:
		return KindImage
	case network.ResourceTypeXHR:
		return KindXHR
	case network.ResourceTypeFetch:
		return KindFetch
	}
	return KindOther
}

// renderOn renders rawURL in t. reuse reports whether t may serve another
// page.
func (r *Renderer) renderOn(ctx context.Context, t *tab, rawURL, script string, clicks int) (res *Result, reuse bool, err error) {
	t.pages++
	pctx := ctx
	if r.opts.PageTimeout > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeoutCause(ctx, r.opts.PageTimeout, ErrTimeout)
		defer cancel()
	}
	jctx, abort := context.WithCancelCause(pctx)
	defer abort(nil)
	stop := context.AfterFunc(t.ctx, func() { abort(r.goneCause()) })
	defer stop()

	j := newJob(r, t, rawURL, abort)
	t.setJob(j)
	res, err = j.run(jctx, script, clicks)
	t.setJob(nil)

	if err != nil {
		err = j.classify(ctx, jctx, err)
		var nerr *navError
		if !errors.As(err, &nerr) {
			return nil, false, err
		}
	}
	// Leave the page: its scripts stop, its memory goes, and its late
	// events cannot reach the next job.
	bctx, cancel := context.WithTimeout(context.Background(), r.evalTimeout())
	defer cancel()
	_, berr := cdp.Call(bctx, t.target, page.Navigate, page.NavigateParams{URL: "about:blank"})
	return res, berr == nil, err
}

// crashGrace is how long a navigation aborted for no reason the page gave
// waits for the crash event of its tab's renderer.
const crashGrace = 250 * time.Millisecond

// crashedSoon reports whether t's renderer crashed, waiting up to
// crashGrace for its event after a navigation that nerr, a navigation
// error, says was aborted.
func (t *tab) crashedSoon(ctx context.Context, err error) bool {
	if t.crashed.Load() {
		return true
	}
	var nerr *navError
	if !errors.As(err, &nerr) || !strings.Contains(nerr.text, "ERR_ABORTED") {
		return false
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(crashGrace)
	for time.Now().Before(deadline) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
		if t.crashed.Load() {
			return true
		}
	}
	return false
}

// goneCause is why a tab's context ended: the Renderer was closed, or the
// browser exited.
func (r *Renderer) goneCause() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	return ErrBrowserExited
}

// evalTimeout is the limit of one evaluation, or of a short clean-up step.
func (r *Renderer) evalTimeout() time.Duration {
	if r.opts.EvalTimeout > 0 {
		return r.opts.EvalTimeout
	}
	return DefaultEvalTimeout
}

// navError is the failure of a navigation itself, as the browser reports it
// (net::ERR_CONNECTION_REFUSED, ...): the tab is fine.
type navError struct{ text string }

func (e *navError) Error() string { return ErrNavigation.Error() + ": " + e.text }

func (e *navError) Unwrap() error { return ErrNavigation }

// classify turns err, from a call with ctx (the caller's) and jctx (the
// job's), into the error Render reports: the caller's cancellation, or the
// reason the job was ended.
func (j *job) classify(ctx, jctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if cause := context.Cause(jctx); cause != nil && !errors.Is(cause, context.Canceled) {
		if errors.Is(cause, ErrTimeout) {
			return fmt.Errorf("%w after %v (tab replaced)", ErrTimeout, j.r.opts.PageTimeout)
		}
		return cause
	}
	select {
	case <-j.t.b.lost:
		return j.r.goneCause()
	default:
	}
	if j.t.crashedSoon(ctx, err) {
		// A renderer that died during a navigation aborts it
		// (net::ERR_ABORTED) before its crash event comes: the tab, not
		// the page, failed.
		return ErrCrashed
	}
	return err
}

// run loads the page and collects its result.
func (j *job) run(ctx context.Context, script string, clicks int) (*Result, error) {
	if err := j.load(ctx); err != nil {
		return nil, err
	}
	if j.r.afterIdle != nil {
		if err := j.r.afterIdle(ctx, j); err != nil {
			return nil, err
		}
	}
	var doc struct {
		URL  string `json:"url"`
		HTML string `json:"html"`
	}
	if err := j.evalValue(ctx, domJS, &doc); err != nil {
		return nil, err
	}
	res := &Result{URL: doc.URL, HTML: doc.HTML}
	if script != "" {
		v, err := j.eval(ctx, script, true)
		switch {
		case err != nil:
			var ex *exception
			if !errors.As(err, &ex) {
				return nil, err
			}
			res.ScriptError = ex.text
		case len(v.Value) > 0:
			res.ScriptResult = json.RawMessage(append([]byte(nil), v.Value...))
		}
	}
	if clicks > 0 {
		n, err := j.explore(ctx, clicks)
		res.Clicks = n
		if err != nil {
			return nil, err
		}
	}
	j.mu.Lock()
	res.Status = j.status
	res.Requests = j.requests
	res.Navigations = j.navs
	j.mu.Unlock()
	return res, nil
}

// load navigates to the job's URL (again, for a reload) and waits until the
// page is idle.
func (j *job) load(ctx context.Context) error {
	j.mu.Lock()
	j.phase = phaseLoad
	j.activity = time.Now()
	old := j.loader
	j.mu.Unlock()
	nav, err := cdp.Call(ctx, j.t.target, page.Navigate, page.NavigateParams{URL: j.url})
	if err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return &navError{text: nav.ErrorText}
	}
	if nav.IsDownload {
		return &navError{text: "a download, not a page"}
	}
	j.mu.Lock()
	j.frame = nav.FrameID
	if j.loader == old {
		// The commit's event has not come; a later document (a redirect by
		// script) would have changed j.loader.
		j.loader = nav.LoaderID
	}
	j.mu.Unlock()
	if err := j.waitFor(ctx, func() bool { return j.life[j.loader]&lifeDCL != 0 }); err != nil {
		return err
	}
	if j.r.opts.IdleMax < 0 {
		return nil
	}
	_, err = j.idle(ctx, true, time.Time{})
	return err
}

// waitFor waits until cond, called with j.mu held, is true.
func (j *job) waitFor(ctx context.Context, cond func() bool) error {
	for {
		j.mu.Lock()
		ok := cond()
		j.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-j.wakeCh:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// state is what probe.js reads in the page.
type state struct {
	Timers    int      `json:"timers"`
	Mutations int      `json:"mutations"`
	Opened    []string `json:"opened"`
}

// probe reads the page's state, and records the windows it tried to open.
func (j *job) probe(ctx context.Context) (state, error) {
	var st state
	if err := j.evalValue(ctx, probeJS, &st); err != nil {
		return st, err
	}
	j.mu.Lock()
	j.mutations = st.Mutations
	for _, u := range st.Opened {
		j.addNavLocked(u, "GET", NavWindow)
	}
	j.mu.Unlock()
	return st, nil
}

// idle waits until the page is idle: with load set, its load event fired;
// and for IdleQuiet no request was in flight (of those started at or after
// since: a long poll begun before a click does not hold up the wait after
// it) and no short timer pending. It gives up, without an error, after
// IdleMax. It returns the last state probed.
func (j *job) idle(ctx context.Context, load bool, since time.Time) (state, error) {
	quiet := j.r.opts.IdleQuiet
	deadline := time.Now().Add(j.r.opts.IdleMax)
	poll := max(quiet/2, 10*time.Millisecond)
	var last state
	busy := time.Time{} // when timers were last seen pending
	for {
		now := time.Now()
		j.mu.Lock()
		loaded := !load || j.life[j.loader]&lifeLoad != 0
		n := 0
		for _, start := range j.inflight {
			if !start.Before(since) {
				n++
			}
		}
		since := now.Sub(j.activity)
		j.mu.Unlock()
		if !busy.IsZero() && now.Sub(busy) < since {
			since = now.Sub(busy)
		}
		wait := poll
		if loaded && n == 0 && since >= quiet {
			st, err := j.probe(ctx)
			if err != nil {
				return last, err
			}
			last = st
			if st.Timers == 0 {
				return last, nil
			}
			busy = time.Now()
		} else if loaded && n == 0 {
			wait = quiet - since
		}
		if !now.Before(deadline) {
			st, err := j.probe(ctx)
			if err == nil {
				last = st
			}
			return last, err
		}
		wait = min(wait, time.Until(deadline))
		timer := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-timer.C:
		case <-j.wakeCh:
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			return last, ctx.Err()
		}
	}
}

// exception is a JavaScript exception thrown by an evaluation.
type exception struct{ text string }

func (e *exception) Error() string { return "javascript: " + e.text }

// bounded runs f with ctx limited by EvalTimeout: a tab that does not
// answer in time is hung, and marked not to be reused.
func (j *job) bounded(ctx context.Context, f func(ctx context.Context) error) error {
	d := j.r.opts.EvalTimeout
	if d <= 0 {
		return f(ctx)
	}
	ectx, cancel := context.WithTimeoutCause(ctx, d, ErrHung)
	defer cancel()
	err := f(ectx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(ectx), ErrHung) {
		j.t.spoiled.Store(true)
		return fmt.Errorf("%w: no answer within %v (tab replaced)", ErrHung, d)
	}
	return err
}

// eval evaluates expr in the page's main world, returning its value by
// value, bounded by EvalTimeout. A JavaScript exception is an *exception.
func (j *job) eval(ctx context.Context, expr string, await bool) (*runtime.RemoteObject, error) {
	yes := true
	var res runtime.EvaluateResult
	err := j.bounded(ctx, func(ctx context.Context) error {
		var err error
		res, err = cdp.Call(ctx, j.t.target, runtime.Evaluate, runtime.EvaluateParams{
			Expression:    expr,
			ReturnByValue: &yes,
			AwaitPromise:  &await,
			Silent:        &yes,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if ex := res.ExceptionDetails; ex != nil {
		text := ex.Text
		if ex.Exception != nil && ex.Exception.Description != "" {
			text = ex.Exception.Description
		}
		return nil, &exception{text: text}
	}
	return res.Result, nil
}

// evalValue evaluates expr and decodes its JSON value into v.
func (j *job) evalValue(ctx context.Context, expr string, v any) error {
	res, err := j.eval(ctx, expr, false)
	if err != nil {
		return err
	}
	if len(res.Value) == 0 {
		return fmt.Errorf("evaluation returned %s, not a value", res.Type)
	}
	return json.Unmarshal(res.Value, v)
}
