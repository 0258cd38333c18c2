package render

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProxyRoute checks the browser's flags for a proxy: every request goes
// to the proxy, loopback included, and host names are not resolved by the
// browser (the page's host does not exist). The proxy here is a stand-in
// that serves the site itself.
func TestProxyRoute(t *testing.T) {
	s := newSite(t)
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String())
		mu.Unlock()
		if r.Method == http.MethodConnect || !r.URL.IsAbs() {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, s.URL+r.URL.RequestURI(), r.Body)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()

	r := newRenderer(t, Options{ProxyURL: proxy.URL, Clicks: -1})
	ctx := testContext(t, 60*time.Second)
	res, err := r.Render(ctx, "http://pages.invalid/kinds.html", PageOptions{})
	if err != nil {
		t.Fatalf("Render through the proxy: %v", err)
	}
	if res.Status != 200 || len(res.Requests) < 5 {
		t.Errorf("status %d, %d requests: want the page and its 5 requests", res.Status, len(res.Requests))
	}
	if _, err := r.Render(ctx, s.URL+"/plain.html", PageOptions{}); err != nil {
		t.Fatalf("Render of a loopback URL: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	got := strings.Join(seen, "\n")
	t.Logf("the proxy saw:\n%s", got)
	for _, want := range []string{
		"GET http://pages.invalid/kinds.html",
		"GET http://pages.invalid/assets/app.js",
		"GET http://pages.invalid/api/fetch",
		"GET " + s.URL + "/plain.html",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the proxy did not see %q; it saw:\n%s", want, got)
		}
	}
	if n := len(s.requests("GET", "/plain.html")); n != 1 {
		t.Errorf("the site got /plain.html %d times, want once, from the proxy", n)
	}
}
