package fetch_test

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

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

// Headers for every request go in Config.Header, those of one request in
// Request.Header; OnRequest sees each request last, hops and robots.txt
// included, and may change it or veto it.
func ExampleClient_Fetch_onRequest() {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		fmt.Fprintf(w, "%s %s lang=%s trace=%s", r.Method, r.URL.Path,
			r.Header.Get("Accept-Language"), r.Header.Get("X-Trace"))
	}))
	defer ts.Close()

	errPrivate := errors.New("private pages are not fetched")
	c := fetch.New(fetch.Config{
		AllowHosts: []string{"127.0.0.1"},
		Rate:       -1, // the caller schedules requests
		Header:     http.Header{"Accept-Language": {"en"}},
		OnRequest: func(ctx context.Context, req *http.Request) error {
			if strings.HasPrefix(req.URL.Path, "/private/") {
				return errPrivate
			}
			req.Header.Set("X-Trace", "t-"+strings.TrimPrefix(req.URL.Path, "/"))
			return nil
		},
	})
	defer c.Close()
	ctx := context.Background()

	resp, err := c.Fetch(ctx, fetch.Request{URL: ts.URL + "/old", Header: http.Header{"Accept-Language": {"fr"}}})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(string(resp.Body))

	_, err = c.Fetch(ctx, fetch.Request{URL: ts.URL + "/private/x"})
	fmt.Println(fetch.KindOf(err), errors.Is(err, fetch.ErrVetoed), errors.Is(err, errPrivate))
	// Output:
	// GET /new lang=fr trace=t-new
	// vetoed true true
}

// A failed fetch is a *fetch.Error: its Kind says what went wrong, for
// records and for deciding whether to try again.
func ExampleError() {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		fmt.Fprint(w, "this is not gzip")
	}))
	defer ts.Close()
	// A port nothing listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()

	c := fetch.New(fetch.Config{AllowHosts: []string{"127.0.0.1"}, Rate: -1})
	defer c.Close()
	for _, u := range []string{ts.URL + "/", closed, "ftp://example.com/"} {
		_, err := c.Fetch(context.Background(), fetch.Request{URL: u})
		var fe *fetch.Error
		if errors.As(err, &fe) {
			fmt.Printf("%s retryable=%v url-ok=%v\n", fe.Kind, fetch.Retryable(err), fe.URL == u)
		}
	}
	// Output:
	// decode retryable=false url-ok=true
	// refused retryable=true url-ok=true
	// bad-url retryable=false url-ok=true
}
