package render

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
)

// TestBrowserKilled kills the browser process while a Render call waits for
// a page: the call fails quickly with ErrBrowserExited, and the next call
// works in a new browser.
func TestBrowserKilled(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Clicks: -1})
	ctx := testContext(t, 60*time.Second)
	r.mu.Lock()
	pid := r.cur.pid
	r.mu.Unlock()

	type outcome struct {
		err error
		at  time.Time
	}
	done := make(chan outcome, 1)
	go func() {
		_, err := r.Render(ctx, s.URL+"/hang", PageOptions{})
		done <- outcome{err, time.Now()}
	}()
	s.waitFor(t, ctx, "/hang")
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	var o outcome
	select {
	case o = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Render still running 5s after the browser was killed")
	}
	if !errors.Is(o.err, ErrBrowserExited) {
		t.Errorf("Render: got %v, want ErrBrowserExited", o.err)
	}
	t.Logf("the call failed %v after the kill: %v", o.at.Sub(killed).Round(time.Millisecond), o.err)
	if d := o.at.Sub(killed); d > 2*time.Second {
		t.Errorf("the call failed %v after the kill, want within 2s", d)
	}

	start := time.Now()
	res, err := r.Render(ctx, s.URL+"/concat.html", PageOptions{})
	if err != nil {
		t.Fatalf("Render after the restart: %v", err)
	}
	if res.Status != 200 {
		t.Errorf("status %d after the restart", res.Status)
	}
	t.Logf("the next call took %v, restart included", time.Since(start).Round(time.Millisecond))
	r.mu.Lock()
	newPID := r.cur.pid
	r.mu.Unlock()
	if newPID == pid || r.restarts.Load() != 1 {
		t.Errorf("pid %d (was %d), %d restarts; want a new browser, 1 restart", newPID, pid, r.restarts.Load())
	}
}

// TestTabCrash crashes the renderer of the tab (Page.crash) while an
// evaluation waits for a promise that never settles: the call must fail at
// once with ErrCrashed, not at the evaluation's deadline, and the next call
// works in a new tab.
func TestTabCrash(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Tabs: 1, Clicks: -1, EvalTimeout: 20 * time.Second})
	ctx := testContext(t, 60*time.Second)
	var wg sync.WaitGroup
	defer wg.Wait()
	crash := true
	r.afterIdle = func(ctx context.Context, j *job) error {
		if !crash {
			return nil
		}
		crash = false
		wg.Go(func() {
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return
			}
			// Page.crash gets no answer: the renderer is gone.
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			cdp.Call(cctx, j.t.target, page.Crash, cdp.Empty{})
		})
		_, err := j.eval(ctx, "new Promise(() => {})", true)
		return err
	}
	start := time.Now()
	_, err := r.Render(ctx, s.URL+"/plain.html", PageOptions{})
	if !errors.Is(err, ErrCrashed) {
		t.Fatalf("Render: got %v, want ErrCrashed", err)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the crash was noticed after %v, want well before the 20s evaluation timeout", d)
	}
	if _, err := r.Render(ctx, s.URL+"/plain.html", PageOptions{}); err != nil {
		t.Fatalf("Render after the crash: %v", err)
	}
	if n := r.tabsMade.Load(); n != 2 {
		t.Errorf("%d tabs made, want 2: the crashed one replaced", n)
	}
}

// TestHungTab renders a page whose script never returns: the call fails
// with ErrHung after EvalTimeout, and the next call works in a new tab.
func TestHungTab(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Tabs: 1, Clicks: -1, EvalTimeout: time.Second})
	ctx := testContext(t, 60*time.Second)
	start := time.Now()
	_, err := r.Render(ctx, s.URL+"/hang.html", PageOptions{})
	if !errors.Is(err, ErrHung) {
		t.Fatalf("Render: got %v, want ErrHung", err)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failed after %v, want about the 1s evaluation timeout", d)
	}
	if _, err := r.Render(ctx, s.URL+"/plain.html", PageOptions{}); err != nil {
		t.Fatalf("Render after the hung tab: %v", err)
	}
	if n := r.tabsMade.Load(); n != 2 {
		t.Errorf("%d tabs made, want 2: the hung one replaced", n)
	}
}

// TestPageTimeout renders a page whose server never answers: the call fails
// with ErrTimeout after PageTimeout, and the next call works.
func TestPageTimeout(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Tabs: 1, Clicks: -1, PageTimeout: time.Second})
	ctx := testContext(t, 60*time.Second)
	start := time.Now()
	_, err := r.Render(ctx, s.URL+"/hang", PageOptions{})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Render: got %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("failed after %v, want about the 1s page timeout", d)
	}
	if _, err := r.Render(ctx, s.URL+"/plain.html", PageOptions{}); err != nil {
		t.Fatalf("Render after the timeout: %v", err)
	}
	// The caller's own deadline is the caller's error, not ErrTimeout.
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = r.Render(cctx, s.URL+"/hang", PageOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Errorf("Render with the caller's deadline: got %v, want context.DeadlineExceeded", err)
	}
}

// TestRestartFails kills the browser while its restart cannot succeed (the
// binary is swapped for /bin/false): calls fail fast with ErrBrowserDown
// instead of waiting, and once the binary is back the supervisor's next
// attempt, after its back-off, brings the browser back.
func TestRestartFails(t *testing.T) {
	s := newSite(t)
	r := newRenderer(t, Options{Clicks: -1})
	ctx := testContext(t, 60*time.Second)
	r.mu.Lock()
	good := r.allocs
	r.allocs = allocatorOptions("/bin/false", r.opts)
	pid := r.cur.pid
	r.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}

	// Wait until the first restart failed, then expect fast failures.
	for {
		r.mu.Lock()
		down, changed := r.cur == nil && !r.starting && r.downErr != nil, r.changed
		r.mu.Unlock()
		if down {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatal("the restart did not fail")
		}
	}
	start := time.Now()
	_, err := r.Render(ctx, s.URL+"/plain.html", PageOptions{})
	if !errors.Is(err, ErrBrowserDown) {
		t.Fatalf("Render while down: got %v, want ErrBrowserDown", err)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if d := time.Since(start); d > time.Second {
		t.Errorf("failed after %v, want at once", d)
	}

	r.mu.Lock()
	r.allocs = good
	r.mu.Unlock()
	start = time.Now()
	for {
		_, err := r.Render(ctx, s.URL+"/plain.html", PageOptions{})
		if err == nil {
			break
		}
		if !errors.Is(err, ErrBrowserDown) {
			t.Fatalf("Render: got %v, want success or ErrBrowserDown", err)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("the browser did not come back")
		}
	}
	t.Logf("back after %v", time.Since(start).Round(time.Millisecond))
}
