package render_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"time"

	"trawl/fetch"
	"trawl/fetch/render"
)

// A Renderer renders pages in headless Chromium: the DOM once the page's
// scripts ran, the requests it made, and the navigations its interactive
// elements cause when clicked. (Not run: it needs a browser.)
func Example() {
	ctx := context.Background()
	r, err := render.New(ctx, render.Options{
		// Route every request of the browser through a proxy that applies
		// the crawl's rules; the browser resolves no name itself. (See
		// ExampleProxy for a render.Proxy, which https pages need.)
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

// A Proxy in front of the browser: every request of the page, https ones
// included, goes through the Gate. The browser accepts the certificates
// the proxy shows in the https tunnels it ends by their key
// (ProxyCertSPKI); the Gate's client checks the servers' own. (Not run:
// it needs a browser and a network.)
func ExampleProxy() {
	ctx := context.Background()
	client := fetch.New(fetch.Config{})
	defer client.Close()
	p, err := render.NewProxy(&render.FetcherGate{
		Fetch: client.Fetch,
		Allow: func(ctx context.Context, u *url.URL, method string) error {
			if u.Hostname() != "example.com" {
				return errors.New("out of scope")
			}
			return nil
		},
		MaxPerHost: 2,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	r, err := render.New(ctx, render.Options{ProxyURL: p.URL(), ProxyCertSPKI: p.CertSPKI()})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	res, err := r.Render(ctx, "https://example.com/", render.PageOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, len(res.Requests))
}
