package render

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"trawl/internal/proctree"
)

// benchPages is the number of pages of the benchmark site.
const benchPages = 100

// newBenchSite serves benchPages pages, each with inline JavaScript that
// builds 20 links and two elements with click listeners (one changes the
// DOM, one navigates), as JS-heavy sites do.
func newBenchSite(tb testing.TB) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/p/"), ".html"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>page %d</title><h1>Page %d</h1><ul id="l"></ul>
<button id="more">More</button><span id="go">Next</span>
<script>
const l = document.getElementById("l");
for (let i = 1; i <= 20; i++) {
  const a = document.createElement("a");
  a.href = "/p/" + ((%d + i) %% %d) + ".html";
  a.textContent = "page " + i;
  const li = document.createElement("li");
  li.append(a);
  l.append(li);
}
document.getElementById("more").addEventListener("click", () => l.append(document.createElement("li")));
document.getElementById("go").addEventListener("click", () => { location.href = "/p/" + (%d + 1) + ".html"; });
</script>`, n, n, n, benchPages, n)
	}))
	tb.Cleanup(ts.Close)
	return ts
}

// BenchmarkRender renders the benchmark site's pages with 1, 2 and 4 tabs,
// as many pages at once as tabs, without and with click exploration, and
// reports pages/s. One iteration is one page.
func BenchmarkRender(b *testing.B) {
	ts := newBenchSite(b)
	for _, clicks := range []int{-1, DefaultClicks} {
		for _, tabs := range []int{1, 2, 4} {
			name := fmt.Sprintf("tabs=%d/clicks=%d", tabs, max(clicks, 0))
			b.Run(name, func(b *testing.B) {
				r := newRenderer(b, Options{Tabs: tabs, Clicks: clicks, TabPages: DefaultTabPages})
				ctx := testContext(b, 10*time.Minute)
				// Warm up: one page per tab.
				renderAll(b, ctx, r, ts.URL, tabs, tabs)
				b.ResetTimer()
				start := time.Now()
				renderAll(b, ctx, r, ts.URL, tabs, b.N)
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
				r.mu.Lock()
				pid := r.cur.pid
				r.mu.Unlock()
				b.ReportMetric(float64(proctree.PSS(pid))/(1<<20), "PSS-MiB")
			})
		}
	}
}

// renderAll renders n pages of the site with workers goroutines.
func renderAll(b *testing.B, ctx context.Context, r *Renderer, base string, workers, n int) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if _, err := r.Render(ctx, fmt.Sprintf("%s/p/%d.html", base, i%benchPages), PageOptions{}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// BenchmarkStart measures New (the browser's start, reported as start-ms)
// and the first page after it (first-page-ms); ns/op includes Close.
func BenchmarkStart(b *testing.B) {
	browser := requireBrowser(b)
	ts := newBenchSite(b)
	var starting, first time.Duration
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t0 := time.Now()
		r, err := New(ctx, Options{Browser: browser, LoopbackOnly: true, Clicks: -1})
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		t1 := time.Now()
		_, err = r.Render(ctx, ts.URL+"/p/1.html", PageOptions{})
		t2 := time.Now()
		cancel()
		r.Close()
		if err != nil {
			b.Fatal(err)
		}
		starting += t1.Sub(t0)
		first += t2.Sub(t1)
	}
	b.ReportMetric(float64(starting.Milliseconds())/float64(b.N), "start-ms")
	b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "first-page-ms")
}
