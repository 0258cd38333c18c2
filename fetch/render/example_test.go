package render_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"trawl/fetch/render"
)

// A Renderer renders pages in headless Chromium: the DOM once the page's
// scripts ran, the requests it made, and the navigations its interactive
// elements cause when clicked. (Not run: it needs a browser.)
func Example() {
	ctx := context.Background()
	r, err := render.New(ctx, render.Options{
		// Route every request of the browser through a proxy that applies
		// the crawl's rules; the browser resolves no name itself.
		ProxyURL: "http://127.0.0.1:8080",
		Script:   `document.title`, // a hook: its JSON value is ScriptResult
	})
	if err != nil {
		log.Fatal(err) // no browser: the error says how to install one
	}
	defer r.Close()

	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := r.Render(pctx, "https://example.com/app/", render.PageOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.URL, len(res.HTML), string(res.ScriptResult))
	for _, q := range res.Requests {
		fmt.Println("request", q.Method, q.Kind, q.URL)
	}
	for _, n := range res.Navigations {
		fmt.Println("navigation", n.Kind, n.Method, n.URL, "after clicking", n.Element)
	}
}
