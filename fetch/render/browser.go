package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// ErrNoBrowser is wrapped by FindBrowser's error when no browser is found.
var ErrNoBrowser = errors.New(`render: no Chromium found: install one with "apt-get install chromium-headless-shell" (or any Chromium, and name it with --chrome-path)`)

// browserPaths are the places FindBrowser looks, in order: the real
// binaries, not the wrapper scripts some distributions put on PATH (Debian's
// /usr/bin/chromium adds flags of its own). chromium-headless-shell comes
// first: it is lighter, faster and makes no background connections.
var browserPaths = []string{
	"/usr/lib/chromium/chromium-headless-shell", // Debian chromium-headless-shell
	"/usr/lib/chromium-headless-shell/chromium-headless-shell",
	"/headless-shell/headless-shell", // chromedp/headless-shell image
	"chrome-headless-shell",          // Puppeteer's and Chrome for Testing's name
	"headless-shell",
	"chromium-headless-shell",
	"/usr/lib/chromium/chromium",                 // Debian chromium
	"/usr/lib/chromium-browser/chromium-browser", // older Ubuntu
	"chromium",
	"chromium-browser",
	"google-chrome-stable",
	"google-chrome",
	"chrome",
}

// FindBrowser returns the Chromium binary to run. A non-empty path is used as
// given (after a PATH lookup for a bare name), whatever it is. Otherwise
// FindBrowser looks for chromium-headless-shell, then for chromium, in
// their usual places and on PATH, skipping shell scripts that wrap them. The
// error when nothing is found wraps ErrNoBrowser, whose text says how to
// install a browser. A path that is given is used as it is, or looked up
// on PATH when it has no slash; when it is not found, the error wraps
// ErrNoBrowser too.
func FindBrowser(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("render: browser %s: %w: %w", path, err, ErrNoBrowser)
		}
		return p, nil
	}
	for _, name := range browserPaths {
		p, err := exec.LookPath(name)
		if err != nil || isScript(p) {
			continue
		}
		return p, nil
	}
	return "", ErrNoBrowser
}

// isScript reports whether the file at p starts with "#!".
func isScript(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 2)
	_, err = io.ReadFull(f, head)
	return err == nil && bytes.Equal(head, []byte("#!"))
}

// allocatorOptions returns the options of the exec allocator for the binary
// exec and the Renderer's options o. It starts from nothing rather than
// chromedp's defaults, so that every flag is chosen here.
func allocatorOptions(exec string, o Options) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exec),
		chromedp.NoSandbox, // needed as root, as in containers
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 800),
		// No background traffic of the browser's own.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-crash-reporter", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-field-trial-config", true),
		chromedp.Flag("dns-prefetch-disable", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,"+
			"CertificateTransparencyComponentUpdater,AutofillServerCommunication,InterestFeedContentSuggestions,"+
			"BackForwardCache,Prerender2,NetworkPrediction,PrivacySandboxSettings4,ChromeWhatsNewUI"),
		// Pages in every tab run at full speed.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-hang-monitor", true),
		chromedp.Flag("disable-ipc-flooding-protection", true),
		chromedp.Flag("disable-prompt-on-repost", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("mute-audio", true),
	}
	if o.UserAgent != "" {
		opts = append(opts, chromedp.UserAgent(o.UserAgent))
	}
	switch {
	case o.ProxyURL != "":
		u, _ := url.Parse(o.ProxyURL) // checked by New
		opts = append(opts,
			chromedp.ProxyServer(o.ProxyURL),
			// Chromium sends loopback requests direct unless told not to.
			chromedp.Flag("proxy-bypass-list", "<-loopback>"),
			chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE "+u.Hostname()),
		)
		if o.ProxyCertSPKI != "" {
			// The proxy's certificates, by their one key. Chromium
			// honours this only with --user-data-dir, which chromedp
			// always passes (a temporary directory).
			opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", o.ProxyCertSPKI))
		}
	case o.LoopbackOnly:
		opts = append(opts,
			chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"))
	}
	return opts
}

// browser is one browser process.
type browser struct {
	// ctx is the chromedp context that owns the process: a handle (see
	// Renderer.root), done once the browser is gone.
	ctx         context.Context
	cancel      context.CancelFunc // of ctx; waits for the process to exit
	allocCancel context.CancelFunc // of the allocator; waits for its clean-up
	lost        <-chan struct{}    // closed when the connection to the process drops
	pid         int
	started     time.Time

	idle []*tab // tabs ready for a page; guarded by the Renderer's mu
}

// startBrowser starts a browser. ctx bounds the start only.
func (r *Renderer) startBrowser(ctx context.Context) (*browser, error) {
	start := time.Now()
	r.mu.Lock()
	allocs := r.allocs
	r.mu.Unlock()
	actx, acancel := chromedp.NewExecAllocator(r.root, allocs...)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithBrowserOption(
		chromedp.WithBrowserLogf(r.opts.Logf),
		chromedp.WithBrowserErrorf(r.opts.Logf),
		chromedp.WithConsolef(r.opts.Logf),
	))
	b := &browser{ctx: bctx, cancel: bcancel, allocCancel: acancel, started: start}

	// The first call on bctx starts the process and ties it to bctx, so it
	// must not get ctx's deadline: it runs here, and ctx is watched aside.
	done := make(chan error, 1)
	go func() {
		_, err := chromedp.Targets(bctx)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		b.close(false)
		<-done
		return nil, fmt.Errorf("starting %s: %w", filepath.Base(r.exec), ctx.Err())
	}
	if err != nil {
		b.close(false)
		return nil, fmt.Errorf("starting %s: %w", r.exec, err)
	}
	c := chromedp.FromContext(bctx)
	b.lost = c.Browser.LostConnection
	if p := c.Browser.Process(); p != nil {
		b.pid = p.Pid
	}
	// Downloads are refused: a crawl only reads pages.
	_, err = cdp.Call(ctx, c.Browser, cdpbrowser.SetDownloadBehavior,
		cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny})
	if err != nil {
		b.close(false)
		return nil, fmt.Errorf("setting up %s: %w", r.exec, err)
	}
	return b, nil
}

// close stops the browser and waits for its process to exit and for its
// temporary profile to be removed. graceful asks the browser to close
// first (bounded by a few seconds); otherwise, or then, it is killed.
func (b *browser) close(graceful bool) {
	if graceful && b.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		chromedp.Cancel(ctx) // its error: the browser is killed below anyway
		cancel()
	}
	b.cancel()
	b.allocCancel()
}

// Back-off of restarts: the first restart is immediate, then each one waits
// twice as long as the previous one, from restartMin up to restartMax. A
// browser that ran restartReset or longer resets the back-off.
const (
	restartMin   = 250 * time.Millisecond
	restartMax   = 30 * time.Second
	restartReset = 30 * time.Second
)

// supervise restarts the browser when it dies, until the Renderer is
// closed. It owns b and the browsers it starts; r.wg waits for it.
func (r *Renderer) supervise(b *browser) {
	defer r.wg.Done()
	var delay time.Duration
	for {
		select {
		case <-b.ctx.Done():
		case <-r.root.Done():
			return
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		idle := b.idle
		b.idle = nil
		if time.Since(b.started) >= restartReset {
			delay = 0
		}
		r.cur = nil
		// Calls wait for an immediate restart, and fail fast during a
		// back-off.
		r.starting = delay == 0
		if !r.starting {
			r.downErr = fmt.Errorf("the browser exited again soon after a restart; restarting in %v", delay)
		}
		r.notifyLocked()
		r.mu.Unlock()

		b.close(false)
		for _, t := range idle {
			t.cancel() // fails fast: the browser is gone
		}
		for {
			if delay > 0 {
				timer := time.NewTimer(delay)
				select {
				case <-timer.C:
				case <-r.root.Done():
					timer.Stop()
					return
				}
			}
			delay = min(max(2*delay, restartMin), restartMax)
			r.mu.Lock()
			if r.closed {
				r.mu.Unlock()
				return
			}
			r.starting = true
			r.notifyLocked()
			r.mu.Unlock()

			nb, err := r.startBrowser(r.root)

			r.mu.Lock()
			r.starting = false
			if r.closed {
				r.notifyLocked()
				r.mu.Unlock()
				if nb != nil {
					nb.close(false)
				}
				return
			}
			if err == nil {
				r.cur, r.downErr = nb, nil
				r.notifyLocked()
				r.mu.Unlock()
				r.restarts.Add(1)
				b = nb
				break
			}
			r.downErr = err
			r.notifyLocked()
			r.mu.Unlock()
			r.opts.Logf("render: restarting the browser: %v", err)
		}
	}
}
