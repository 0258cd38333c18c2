package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"

	"github.com/spf13/pflag"

	"trawl/crawler"
	"trawl/fetch/render"
)

// This file is --render and its flags: pages loaded in headless Chromium
// (crawler.Config.Render).

// renderOptions are --render, --chrome-path and the --render-* flags.
type renderOptions struct {
	on  bool
	cfg crawler.RenderConfig
}

// installHint says how to get a browser.
const installHint = `install one with "apt-get install chromium-headless-shell" (or any Chromium, and name it with --chrome-path)`

// addRenderFlags defines the flags of rendering on fs.
func addRenderFlags(fs *pflag.FlagSet, o *renderOptions) {
	fs.BoolVar(&o.on, "render", false, "also load each HTML page in headless Chromium and follow the links its JavaScript makes: the rendered DOM's, the requests it sends and where clicking its buttons and click handlers leads (non-GET requests are recorded, never sent). Every request of the browser goes through the crawl's scope, robots.txt, --per-host, --rate and --max-body. Needs chromium-headless-shell or Chromium")
	fs.StringVar(&o.cfg.Browser, "chrome-path", "", "with --render: the Chromium binary `PATH` (default: chromium-headless-shell, else chromium)")
	fs.IntVar(&o.cfg.Tabs, "render-tabs", render.DefaultTabs(), "with --render: pages rendered at once, each in a tab of one browser (0 = 2 × cores)")
	fs.DurationVar(&o.cfg.PageTimeout, "render-timeout", render.DefaultPageTimeout, "with --render: limit for rendering one page: loading, waiting and clicking (-1s = no limit)")
	fs.DurationVar(&o.cfg.IdleMax, "render-idle", render.DefaultIdleMax, "with --render: longest wait for a page's network to be quiet (--render-quiet), after it loads and after each click (-1s = no wait)")
	fs.DurationVar(&o.cfg.IdleQuiet, "render-quiet", render.DefaultIdleQuiet, "with --render: how long a page's network must be quiet (no request in flight, no short timer pending) for the page to be done loading (-1s = not at all)")
	fs.DurationVar(&o.cfg.EvalTimeout, "render-eval-timeout", render.DefaultEvalTimeout, "with --render: limit for each evaluation in a page (reading its DOM, each click); a page that does not answer in time fails as hung and its tab is replaced (-1s = --render-timeout alone)")
	fs.IntVar(&o.cfg.Clicks, "render-clicks", render.DefaultClicks, "with --render: interactive elements clicked per page, each from a fresh state, to find where they lead (-1 = none)")
}

// apply checks the flags of rendering and sets cfg.Render with --render.
// Without --render the other flags are ignored (a --config file or
// --print-config may hold them).
func (o *renderOptions) apply(cfg *crawler.Config) error {
	if !o.on {
		return nil
	}
	if o.cfg.Tabs < 0 {
		return fmt.Errorf("--render-tabs %d: want 1 or more (0 = 2 × cores)", o.cfg.Tabs)
	}
	if cfg.Method == "HEAD" {
		return errors.New("--render with --method HEAD: HEAD answers have no page to render")
	}
	rc := o.cfg
	cfg.Render = &rc
	return nil
}

// checkBrowser makes sure, before anything is created, that a crawl with
// --render has a browser to run. It prints one line with the install hint
// and returns the exit code if not, else -1: exitFailure when none is
// installed (the machine must change), exitUsage when --chrome-path names
// no executable (the command must change).
func checkBrowser(w io.Writer, cfg *crawler.Config) int {
	if cfg.Render == nil {
		return -1
	}
	_, err := render.FindBrowser(cfg.Render.Browser)
	switch {
	case err == nil:
		return -1
	case cfg.Render.Browser == "":
		fmt.Fprintf(w, "trawl: --render: no Chromium found: %s\n", installHint)
		return exitFailure
	}
	why := err.Error()
	if e := (*exec.Error)(nil); errors.As(err, &e) {
		why = e.Err.Error() // "executable file not found in $PATH", "no such file or directory"
	} else if e := (*fs.PathError)(nil); errors.As(err, &e) {
		why = e.Err.Error()
	}
	fmt.Fprintf(w, "trawl: --chrome-path %s: not a browser to run (%s); %s\n", cfg.Render.Browser, why, installHint)
	return exitUsage
}

// renderLine is the summary's line about rendering, or "" without it.
func renderLine(s crawler.Stats) string {
	if s.Rendered+s.RenderFailures+s.BrowserRequests+s.BrowserCached+s.BrowserRefused == 0 {
		return ""
	}
	line := plural(s.Rendered, "page")
	if s.RenderFailures > 0 {
		line += fmt.Sprintf(" (%d renders failed)", s.RenderFailures)
	}
	return line + fmt.Sprintf("; the browser's requests: %d sent, %d from memory, %d refused (out of scope, robots.txt, not GET, ...)",
		s.BrowserRequests, s.BrowserCached, s.BrowserRefused)
}
