package render

import (
	"context"
	_ "embed"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/domdebugger"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
)

var (
	//go:embed js/candidates.js
	candidatesJS string
	//go:embed js/click.js
	clickJS string
	//go:embed js/mark.js
	markJS string
)

const (
	// maxClickDepth bounds a chain of clicks: a button that reveals a
	// button that reveals the element clicked last.
	maxClickDepth = 3
	// maxListenerNodes bounds the elements with click listeners considered
	// per state of a page.
	maxListenerNodes = 500
	// objectGroup holds the page objects the exploration refers to.
	objectGroup = "trawl-clicks"
)

// clickEvents are the listener types that make an element a candidate.
var clickEvents = map[string]bool{
	"click": true, "mousedown": true, "mouseup": true,
	"pointerdown": true, "pointerup": true, "touchstart": true, "touchend": true,
}

// explore clicks up to limit interactive elements of the page, each in a
// fresh state, and records the navigations and requests the clicks cause.
// It returns the number of clicks made.
//
// A fresh state is the page as loaded: the page is reloaded before a click
// unless the clicks since the last load changed nothing that can be seen
// (no DOM mutation, request or navigation). Elements that a click reveals
// (present and visible after it, not before) are clicked next, after that
// click, up to maxClickDepth clicks in a chain. Every navigation is recorded
// and stopped (Fetch interception of the main frame's document requests),
// and a request other than GET or HEAD that the page already made is
// refused: it leaves at most once per page.
//
// Exploration stops early, without an error, when the page's deadline
// comes near; what it found until then is kept.
func (j *job) explore(ctx context.Context, limit int) (clicks int, err error) {
	if dl, ok := ctx.Deadline(); ok {
		margin := min(time.Second, time.Until(dl)/10)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	// stopped reports whether err only means that exploration ran out of
	// time, and turns it into a nil error.
	stopped := func(e error) error {
		if e != nil && errors.Is(e, context.DeadlineExceeded) && context.Cause(ctx) == context.DeadlineExceeded {
			return nil
		}
		return e
	}

	fresh, err := j.candidates(ctx)
	if err != nil || len(fresh) == 0 {
		return 0, stopped(err)
	}

	// Every request is paused and answered by answer until the end.
	_, err = cdp.Call(ctx, j.t.target, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: "*"}},
	})
	if err != nil {
		return 0, stopped(err)
	}
	done := make(chan struct{})
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		j.answer(done)
	}()
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), j.r.evalTimeout())
		_, derr := cdp.Call(dctx, j.t.target, fetch.Disable, cdp.Empty{})
		cancel()
		close(done)
		<-answered
		if derr != nil {
			j.t.spoiled.Store(true) // requests would stay paused: not to be reused
		}
	}()
	j.mu.Lock()
	j.phase = phaseClick
	j.mu.Unlock()

	var queue [][]string
	for _, c := range fresh {
		queue = append(queue, []string{c})
	}
	known := map[string][]string{"": fresh} // candidates by state
	var state []string                      // the clicks that changed the page since it was loaded
	for len(queue) > 0 && clicks < limit {
		p := queue[0]
		queue = queue[1:]
		prefix, last := p[:len(p)-1], p[len(p)-1]
		if !slices.Equal(state, prefix) {
			if len(state) > 0 {
				if err := j.reload(ctx); err != nil {
					return clicks, stopped(err)
				}
				state = nil
			}
			ok := true
			for _, s := range prefix {
				found, _, err := j.click(ctx, s)
				if err != nil {
					return clicks, stopped(err)
				}
				if !found {
					ok = false
					break
				}
				state = append(state, s)
			}
			if !ok {
				continue
			}
		}
		found, changed, err := j.click(ctx, last)
		if err != nil {
			return clicks, stopped(err)
		}
		if !found {
			continue
		}
		clicks++
		if !changed {
			continue
		}
		before := known[strings.Join(state, "\n")]
		state = append(state, last)
		if len(p) >= maxClickDepth {
			continue
		}
		after, err := j.candidates(ctx)
		if err != nil {
			return clicks, stopped(err)
		}
		known[strings.Join(state, "\n")] = after
		var next [][]string
		for _, c := range after {
			if !slices.Contains(before, c) && !slices.Contains(p, c) {
				next = append(next, append(slices.Clone(p), c))
			}
		}
		queue = append(next, queue...)
	}
	return clicks, nil
}

// reload loads the page again, in the click phase.
func (j *job) reload(ctx context.Context) error {
	if err := j.load(ctx); err != nil {
		return err
	}
	j.mu.Lock()
	j.phase = phaseClick
	j.mu.Unlock()
	return nil
}

// click clicks the element at path and waits until the page is idle again.
// It reports whether the element was found, and whether the click changed
// the page: a DOM mutation, or a request or navigation not recorded yet.
func (j *job) click(ctx context.Context, path string) (found, changed bool, err error) {
	j.mu.Lock()
	j.element = path
	at := time.Now()
	j.activity = at // a full quiet period after the click
	changes, mutations := j.changes, j.mutations
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		j.element = ""
		j.mu.Unlock()
	}()

	res, err := j.eval(ctx, "("+clickJS+")("+strconv.Quote(path)+")", false)
	if err != nil {
		var ex *exception
		if errors.As(err, &ex) {
			return false, false, nil
		}
		return false, false, err
	}
	if string(res.Value) != "true" {
		return false, false, nil
	}
	st, err := j.idle(ctx, false, at)
	if err != nil {
		return true, false, err
	}
	j.mu.Lock()
	changed = j.changes != changes || st.Mutations != mutations
	j.mu.Unlock()
	return true, changed, nil
}

// candidates lists the CSS paths of the elements worth clicking in the
// page's current state (see js/candidates.js): those with a click listener,
// found with DOMDebugger.getEventListeners over the whole document, and
// buttons and the like.
func (j *job) candidates(ctx context.Context) ([]string, error) {
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), j.r.evalTimeout())
		cdp.Call(cctx, j.t.target, runtime.ReleaseObjectGroup, runtime.ReleaseObjectGroupParams{ObjectGroup: objectGroup})
		cancel()
	}()
	err := j.bounded(ctx, func(ctx context.Context) error {
		doc, err := cdp.Call(ctx, j.t.target, runtime.Evaluate, runtime.EvaluateParams{
			Expression: "document", ObjectGroup: objectGroup,
		})
		if err != nil {
			return err
		}
		if doc.Result == nil || doc.Result.ObjectID == "" {
			return errors.New("no document")
		}
		depth := int64(-1)
		ls, err := cdp.Call(ctx, j.t.target, domdebugger.GetEventListeners, domdebugger.GetEventListenersParams{
			ObjectID: doc.Result.ObjectID, Depth: &depth,
		})
		if err != nil {
			return err
		}
		seen := make(map[cdp.BackendNodeID]bool)
		for _, l := range ls.Listeners {
			if l.BackendNodeID == 0 || !clickEvents[l.Type] || seen[l.BackendNodeID] {
				continue
			}
			if len(seen) == maxListenerNodes {
				break
			}
			seen[l.BackendNodeID] = true
			node, err := cdp.Call(ctx, j.t.target, dom.ResolveNode, dom.ResolveNodeParams{
				BackendNodeID: l.BackendNodeID, ObjectGroup: objectGroup,
			})
			if err != nil || node.Object == nil || node.Object.ObjectID == "" {
				continue // gone, or not an element
			}
			_, err = cdp.Call(ctx, j.t.target, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
				FunctionDeclaration: markJS, ObjectID: node.Object.ObjectID,
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var paths []string
	if err := j.evalValue(ctx, candidatesJS, &paths); err != nil {
		return nil, err
	}
	return paths, nil
}

// answer answers the requests paused by Fetch interception until done is
// closed: a click's navigation of the main frame is recorded and stopped, a
// request other than GET or HEAD that the page already made is refused, and
// every other request goes on.
func (j *job) answer(done <-chan struct{}) {
	for {
		j.mu.Lock()
		batch := j.paused
		j.paused = nil
		j.mu.Unlock()
		for _, ev := range batch {
			j.answerOne(ev)
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-j.pauseCh:
		case <-done:
			return
		}
	}
}

// answerOne answers one paused request (see answer).
func (j *job) answerOne(ev *fetch.EventRequestPaused) {
	req := ev.Request
	var reason network.ErrorReason
	j.mu.Lock()
	switch {
	case ev.ResourceType == network.ResourceTypeDocument && ev.FrameID == j.frame && j.phase == phaseClick:
		j.addNavLocked(req.URL+req.URLFragment, req.Method, NavDocument)
		reason = network.ErrorReasonAborted
	case req.Method != "GET" && req.Method != "HEAD":
		if id, ok := j.reqSeen[req.Method+" "+req.URL]; ok && id != ev.NetworkID {
			reason = network.ErrorReasonBlockedByClient
		}
	}
	j.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), j.r.evalTimeout())
	defer cancel()
	if reason != "" {
		cdp.Call(ctx, j.t.target, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: reason})
		return
	}
	// An error means the request or the tab is gone: nothing to answer.
	cdp.Call(ctx, j.t.target, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
}
