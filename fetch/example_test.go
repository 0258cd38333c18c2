package fetch_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"trawl/fetch"
)

func ExampleClient_Fetch() {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprint(zw, "<title>hello</title>")
		zw.Close()
	}))
	defer ts.Close()

	// The test server listens on 127.0.0.1, which the client refuses to
	// connect to unless the host is named.
	c := fetch.New(fetch.Config{Rate: 10, AllowHosts: []string{"127.0.0.1"}})
	defer c.Close()
	resp, err := c.Fetch(context.Background(), fetch.Request{URL: ts.URL + "/old"})
	if err != nil {
		fmt.Println("error:", err, "retryable:", fetch.Retryable(err))
		return
	}
	fmt.Println(resp.Status, len(resp.Redirects), resp.ContentType)
	fmt.Println(string(resp.Body))
	// Output:
	// 200 1 text/html
	// <title>hello</title>
}

func ExampleClient_Robots() {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /\n\nUser-agent: trawl\nDisallow: /private/\nCrawl-delay: 1\n")
	}))
	defer ts.Close()

	c := fetch.New(fetch.Config{AllowHosts: []string{"127.0.0.1"}})
	defer c.Close()
	base, _ := url.Parse(ts.URL)
	rules, err := c.Robots(context.Background(), base)
	if err != nil {
		fmt.Println("robots.txt unavailable; treat the host as disallowed for now:", err)
		return
	}
	for _, p := range []string{"/", "/private/x"} {
		fmt.Println(p, rules.Allowed(base.JoinPath(p)))
	}
	fmt.Println("crawl delay:", rules.CrawlDelay())
	// Output:
	// / true
	// /private/x false
	// crawl delay: 1s
}
