package render

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// initJS runs in every document of a tab before the page's scripts: it
// counts DOM mutations and pending short timers, and records window.open
// calls instead of opening windows.
//
//go:embed js/init.js
var initJS string

// tab is one browser tab, used by one Render call at a time.
type tab struct {
	b      *browser
	ctx    context.Context    // the tab's chromedp context: a handle (see Renderer.root)
	cancel context.CancelFunc // closes the tab; waits for it a few seconds at most
	target *chromedp.Target
	pages  int // pages loaded; only the Render call holding the tab uses it

	crashed atomic.Bool // the renderer crashed or the target detached
	spoiled atomic.Bool // hung, or left in a state unfit for another page

	mu  sync.Mutex
	job *job // the page being rendered, if any; guarded by mu
}

// acquire returns a tab for one page: an idle one of the live browser, or a
// new one. It waits for a free slot, and for the browser while it starts.
func (r *Renderer) acquire(ctx context.Context) (*tab, error) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			<-r.slots
			return nil, ErrClosed
		}
		b := r.cur
		if b == nil && !r.starting {
			err := r.downErr
			r.mu.Unlock()
			<-r.slots
			return nil, fmt.Errorf("%w: %w", ErrBrowserDown, err)
		}
		if b == nil || b.ctx.Err() != nil {
			// Starting, or dead and the supervisor has not noticed yet
			// (it will soon): wait for the change.
			changed := r.changed
			r.mu.Unlock()
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				<-r.slots
				return nil, ctx.Err()
			}
		}
		if n := len(b.idle); n > 0 {
			t := b.idle[n-1]
			b.idle = b.idle[:n-1]
			if t.crashed.Load() { // while idle
				r.closeTabLocked(t)
				r.mu.Unlock()
				continue
			}
			r.mu.Unlock()
			return t, nil
		}
		r.mu.Unlock()

		t, err := r.newTab(ctx, b)
		if err == nil {
			return t, nil
		}
		if ctx.Err() != nil {
			<-r.slots
			return nil, ctx.Err()
		}
		select {
		case <-b.lost:
			continue // the browser died meanwhile: wait for the next one
		default:
		}
		<-r.slots
		return nil, err
	}
}

// release gives t back after a page: to the idle tabs of its browser when
// reuse is set and t may serve more pages, else to be closed. It frees the
// slot.
func (r *Renderer) release(t *tab, reuse bool) {
	r.mu.Lock()
	if reuse && !r.closed && t.b == r.cur && !t.crashed.Load() && !t.spoiled.Load() &&
		(r.opts.TabPages < 0 || t.pages < r.opts.TabPages) {
		t.b.idle = append(t.b.idle, t)
	} else {
		r.closeTabLocked(t)
	}
	r.mu.Unlock()
	<-r.slots
}

// closeTabLocked closes t in the background (r.wg waits for it), or at once
// when the Renderer is closed or t's browser is gone, as that is fast. It
// requires r.mu.
func (r *Renderer) closeTabLocked(t *tab) {
	if r.closed || t.b.ctx.Err() != nil {
		t.cancel()
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t.cancel()
	}()
}

// newTab opens a tab in b and prepares it: the init script, and only the
// protocol domains Render uses. ctx bounds the work.
func (r *Renderer) newTab(ctx context.Context, b *browser) (*tab, error) {
	t := &tab{b: b}
	t.ctx, t.cancel = chromedp.NewContext(b.ctx, chromedp.WithListener(t.onEvent))

	// The first call on t.ctx creates the target and ties its event loop to
	// the context it is given, so it gets t.ctx itself; ctx and a time limit
	// are watched aside.
	done := make(chan error, 1)
	go func() {
		done <- chromedp.Do(t.ctx, chromedp.Func(func(cctx context.Context, target *chromedp.Target) error {
			t.target = target
			return nil
		}))
	}()
	timer := time.NewTimer(tabStartTimeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t.cancel() // ends the start
		<-done
		return nil, ctx.Err()
	case <-timer.C:
		t.cancel()
		<-done
		return nil, errors.New("opening a tab: timed out")
	}
	if err != nil {
		t.cancel()
		return nil, fmt.Errorf("opening a tab: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, tabStartTimeout)
	defer cancel()
	if err := t.setup(sctx); err != nil {
		t.cancel()
		return nil, fmt.Errorf("setting up a tab: %w", err)
	}
	r.tabsMade.Add(1)
	return t, nil
}

// tabStartTimeout bounds the opening and the set-up of a tab.
const tabStartTimeout = 10 * time.Second

// setup installs the init script and turns off the protocol domains that
// chromedp enables but Render does not use (their events cost time).
func (t *tab) setup(ctx context.Context) error {
	_, err := cdp.Call(ctx, t.target, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: initJS})
	if err != nil {
		return err
	}
	for _, c := range []cdp.Command[cdp.Empty, cdp.Empty]{css.Disable, dom.Disable, log.Disable} {
		if _, err := cdp.Call(ctx, t.target, c, cdp.Empty{}); err != nil {
			return err
		}
	}
	// A service worker a page installs would serve later pages of its
	// origin from its own cache, out of sight of the tab's network events.
	_, err = cdp.Call(ctx, t.target, network.SetBypassServiceWorker, network.SetBypassServiceWorkerParams{Bypass: true})
	return err
}

// onEvent receives every event of the tab, on chromedp's goroutine that reads
// the tab's messages: it must return fast and send no command.
func (t *tab) onEvent(ev any) {
	switch ev := ev.(type) {
	case *inspector.EventTargetCrashed:
		t.crashed.Store(true)
		if j := t.current(); j != nil {
			j.abort(ErrCrashed)
		}
		return
	case *inspector.EventDetached:
		t.crashed.Store(true)
		if j := t.current(); j != nil {
			j.abort(fmt.Errorf("%w: detached: %s", ErrCrashed, ev.Reason))
		}
		return
	}
	if j := t.current(); j != nil {
		j.event(ev)
	}
}

// current returns the job of the page being rendered, or nil.
func (t *tab) current() *job {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.job
}

// setJob makes j (nil: none) the job that receives the tab's events.
func (t *tab) setJob(j *job) {
	t.mu.Lock()
	t.job = j
	t.mu.Unlock()
}
