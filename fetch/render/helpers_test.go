package render

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"trawl/internal/browsertest"
)

// TestMain fails the run if a goroutine (of the Renderer or of chromedp)
// outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Every test of the package runs inside the fence, where one can be made
// (see trawl/internal/browsertest): most start a browser, and the others
// are quick.
var _ = browsertest.Register(".")

// TestFenced runs the package's tests inside a loopback-only network
// namespace, where nothing can leave the machine whatever the browser does.
func TestFenced(t *testing.T) { browsertest.RunFenced(t) }

// requireBrowser returns the browser to test with, or skips the test when
// there is none, unless TRAWL_REQUIRE_BROWSER=1 makes that a failure, and
// outside the fence when TestFenced runs it inside (browsertest.Require).
func requireBrowser(tb testing.TB) string {
	tb.Helper()
	return browsertest.Require(tb, FindBrowser)
}

// newRenderer starts a Renderer that reaches nothing but loopback, closed
// when the test ends.
func newRenderer(tb testing.TB, opts Options) *Renderer {
	tb.Helper()
	opts.Browser = requireBrowser(tb)
	if opts.ProxyURL == "" {
		opts.LoopbackOnly = true
	}
	if opts.Tabs == 0 {
		opts.Tabs = 2
	}
	if testing.Verbose() && opts.Logf == nil {
		opts.Logf = tb.Logf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := New(ctx, opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// testContext is bounded, so that no test can hang.
func testContext(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// site serves testdata/site on 127.0.0.1, with a few endpoints, and logs
// every request it gets.
type site struct {
	*httptest.Server
	mu   sync.Mutex
	log  []*http.Request
	body map[*http.Request]string
	hang chan struct{} // closed at the end of the test: /hang's handlers return
	got  chan string   // receives the path of every request, if someone listens
}

func newSite(tb testing.TB) *site {
	tb.Helper()
	s := &site{hang: make(chan struct{}), got: make(chan string, 1000), body: make(map[*http.Request]string)}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/links.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `["/found/fetch", "/found/fetch2"]`)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-s.hang:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/assets/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		io.WriteString(w, "body { color: #333 }")
	})
	mux.HandleFunc("/assets/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, "window.app = 1;")
	})
	mux.HandleFunc("/assets/pixel.gif", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	mux.HandleFunc("/status/404", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<!doctype html><title>gone</title><p>Not here.")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if strings.HasPrefix(name, "app/") {
			name = "router.html" // the router's routes serve the app
		}
		b, err := os.ReadFile(filepath.Join("testdata", "site", filepath.Clean("/"+name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.log = append(s.log, r)
		s.body[r] = string(body)
		s.mu.Unlock()
		select {
		case s.got <- r.URL.Path:
		default:
		}
		mux.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		close(s.hang)
		s.Close()
	})
	return s
}

// requests returns the requests the site got for method and path.
func (s *site) requests(method, path string) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*http.Request
	for _, r := range s.log {
		if r.Method == method && r.URL.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// waitFor waits until the site gets a request for path.
func (s *site) waitFor(tb testing.TB, ctx context.Context, path string) {
	tb.Helper()
	for {
		select {
		case p := <-s.got:
			if p == path {
				return
			}
		case <-ctx.Done():
			tb.Fatalf("no request for %s: %v", path, ctx.Err())
		}
	}
}

// isOneOf reports whether err is one of targets.
func isOneOf(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
