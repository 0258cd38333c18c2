package fetch

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"

	"golang.org/x/net/publicsuffix"
)

// This file shapes the requests the client sends: their method and
// headers, cookies (Config.Jar), basic auth by host (Config.Credentials)
// and the Config.OnRequest hook.

// NewJar returns a new, empty cookie jar for Config.Jar: a
// net/http/cookiejar.Jar with the public suffix list of
// golang.org/x/net/publicsuffix, so that a site cannot set cookies for a
// whole public suffix (such as "co.uk"). It is safe for concurrent use.
func NewJar() http.CookieJar {
	j, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		panic("fetch: " + err.Error()) // cookiejar.New never fails
	}
	return &jar{Jar: j}
}

// jar is a cookiejar.Jar that skips its lookup while it was never given a
// cookie: for each request, the lookup costs a public suffix lookup, two
// address parses and a lock, and most sites a crawl visits set no cookie.
type jar struct {
	*cookiejar.Jar
	given atomic.Bool // SetCookies was called with a cookie
}

func (j *jar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if len(cookies) > 0 {
		j.given.Store(true) // before they are in: a Cookies call that sees false could not have seen them
	}
	j.Jar.SetCookies(u, cookies)
}

func (j *jar) Cookies(u *url.URL) []*http.Cookie {
	if !j.given.Load() {
		return nil
	}
	return j.Jar.Cookies(u)
}

// defaultAccept is the Accept header the client sends unless told
// otherwise.
const defaultAccept = "text/html,application/xhtml+xml,*/*;q=0.8"

// acceptEncoding is the Accept-Encoding header the client always sends: it
// decodes these itself.
const acceptEncoding = "gzip, deflate, br"

// baseHeader returns the headers of every request of a client with user
// agent ua and extra headers extra (Config.Header).
func baseHeader(ua string, extra http.Header) http.Header {
	h := http.Header{
		"User-Agent": {ua},
		"Accept":     {defaultAccept},
	}
	overlay(h, extra)
	h["Accept-Encoding"] = []string{acceptEncoding}
	return h
}

// overlay sets in h the headers of extra, each name's values replacing
// h's, except Accept-Encoding, which the client owns. Names are
// canonicalized.
func overlay(h, extra http.Header) {
	for k, vs := range extra {
		k = http.CanonicalHeaderKey(k)
		if k == "Accept-Encoding" {
			continue
		}
		h[k] = append([]string(nil), vs...)
	}
}

// requestMethod returns the method of a Request: GET for "", GET or HEAD
// in any case; anything else is an error wrapping ErrBadURL.
func requestMethod(m string) (string, error) {
	switch {
	case m == "" || m == http.MethodGet:
		return http.MethodGet, nil
	case m == http.MethodHead:
		return http.MethodHead, nil
	case strings.EqualFold(m, http.MethodGet):
		return http.MethodGet, nil
	case strings.EqualFold(m, http.MethodHead):
		return http.MethodHead, nil
	}
	return "", fmt.Errorf("%w: method %q not supported, only GET and HEAD", ErrBadURL, m)
}

// credentials returns Config.Credentials keyed canonically (see
// credKey), without entries that cannot match: nil userinfo, keys that are
// not "host:port". It returns nil when none is left.
func credentials(m map[string]*url.Userinfo) map[string]*url.Userinfo {
	var out map[string]*url.Userinfo
	for k, u := range m {
		host, port, err := net.SplitHostPort(k)
		if u == nil || err != nil || host == "" || port == "" {
			continue
		}
		if out == nil {
			out = make(map[string]*url.Userinfo, len(m))
		}
		out[net.JoinHostPort(strings.ToLower(host), port)] = u
	}
	return out
}

// credKey is the Config.Credentials key of u: lower-case host and the
// port, explicit ("example.com:443", "[::1]:8080").
func credKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// hookTransport adds the basic auth of Config.Credentials to requests for
// their exact host and port and calls Config.OnRequest, on a copy of each
// request it carries: what it adds is never copied by net/http to the next
// redirect hop. It is the innermost of the client's transports but for
// the capture of Config.Capture (which then sees what it set), so it
// sees every request (pages, redirect hops, robots.txt) with all the
// client's headers and cookies, and only requests that the address guard
// and the host limiter let through.
type hookTransport struct {
	creds     map[string]*url.Userinfo // see credentials; nil if none
	onRequest func(ctx context.Context, req *http.Request) error
	next      http.RoundTripper
}

func (t *hookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if t.creds != nil {
		if u := t.creds[credKey(r.URL)]; u != nil && r.Header.Get("Authorization") == "" {
			pass, _ := u.Password()
			r.SetBasicAuth(u.Username(), pass)
		}
	}
	if t.onRequest != nil {
		if err := t.onRequest(r.Context(), r); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, fmt.Errorf("%w: %w", ErrVetoed, err)
		}
	}
	return t.next.RoundTrip(r)
}

// CloseIdleConnections forwards to the wrapped transport.
func (t *hookTransport) CloseIdleConnections() {
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}
