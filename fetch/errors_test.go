package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// closedAddr returns the address of a loopback listener closed again: a
// connection to it is refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// hangUp is a handler that takes the connection over and drops it with a
// TCP reset, before any response.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// offlineDNSTransport resolves every name with Go's resolver, whose DNS
// server cannot be reached: lookups fail with a *net.DNSError without
// leaving the machine.
func offlineDNSTransport() *http.Transport {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		return nil, errors.New("no DNS server in tests")
	}}
	return &http.Transport{DialContext: (&net.Dialer{Resolver: r}).DialContext}
}

// TestErrorKinds produces every kind of Error against loopback servers and
// checks the kind, the URL, the message prefix, the errors in the chain
// and Retryable.
func TestErrorKinds(t *testing.T) {
	stop := make(chan struct{})
	errVeto := errors.New("not this one")
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow", "/robots.txt/slow":
			select {
			case <-r.Context().Done():
			case <-stop:
			case <-time.After(10 * time.Second):
			}
		case "/reset":
			hangUp(w, r)
		case "/garbage":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				io.WriteString(conn, "NOT HTTP AT ALL\r\n\r\n")
				conn.Close()
			}
		case "/big-headers":
			w.Header().Set("X-Big", strings.Repeat("a", 2<<20))
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/bad-gzip":
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, "this is not gzip")
		case "/robots.txt":
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	t.Cleanup(func() { close(stop) }) // runs before ts.Close
	tlsServer := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	refused := "http://" + closedAddr(t)

	fetch := func(cfg Config, ctx context.Context, u string) (string, error) {
		cfg.Rate = -1
		c := newClient(t, cfg)
		_, err := c.Fetch(ctx, Request{URL: u})
		return u, err
	}
	bg := context.Background()
	tests := []struct {
		name      string // the Kind's String
		kind      ErrorKind
		run       func(t *testing.T) (url string, err error)
		is        []error // errors.Is must hold
		isNot     []error // errors.Is must not hold
		retryable bool
	}{
		{"timeout", KindTimeout, func(t *testing.T) (string, error) {
			return fetch(Config{Timeout: 100 * time.Millisecond}, bg, ts.URL+"/slow")
		}, []error{ErrTimeout, context.DeadlineExceeded}, nil, true},
		{"dns", KindDNS, func(t *testing.T) (string, error) {
			return fetch(Config{Transport: offlineDNSTransport()}, bg, "http://nonexistent.invalid/")
		}, nil, nil, false},
		{"refused", KindRefused, func(t *testing.T) (string, error) {
			return fetch(Config{}, bg, refused+"/")
		}, []error{syscall.ECONNREFUSED}, nil, true},
		{"reset", KindReset, func(t *testing.T) (string, error) {
			return fetch(Config{}, bg, ts.URL+"/reset")
		}, nil, nil, true},
		{"tls", KindTLS, func(t *testing.T) (string, error) {
			return fetch(Config{}, bg, tlsServer.URL+"/")
		}, nil, nil, false},
		{"too-large", KindTooLarge, func(t *testing.T) (string, error) {
			return fetch(Config{}, bg, ts.URL+"/big-headers")
		}, nil, nil, false},
		{"too-many-redirects", KindTooManyRedirects, func(t *testing.T) (string, error) {
			c := newClient(t, Config{MaxRedirects: 1, Rate: -1})
			resp, err := c.Fetch(bg, Request{URL: ts.URL + "/loop"})
			if err != nil {
				t.Fatalf("got %v, want the 3xx Response", err)
			}
			return ts.URL + "/loop", resp.RedirectErr
		}, []error{ErrTooManyRedirects}, nil, false},
		{"blocked-address", KindBlockedAddress, func(t *testing.T) (string, error) {
			c := newGuardedClient(t, Config{Rate: -1})
			_, err := c.Fetch(bg, Request{URL: ts.URL + "/"})
			return ts.URL + "/", err
		}, []error{ErrBlockedAddress}, nil, false},
		{"decode", KindDecode, func(t *testing.T) (string, error) {
			return fetch(Config{}, bg, ts.URL+"/bad-gzip")
		}, []error{ErrDecode}, nil, false},
		{"bad-url", KindBadURL, func(t *testing.T) (string, error) {
			return fetch(Config{}, bg, "ftp://example.com/")
		}, []error{ErrBadURL}, nil, false},
		{"vetoed", KindVetoed, func(t *testing.T) (string, error) {
			veto := func(context.Context, *http.Request) error { return errVeto }
			return fetch(Config{OnRequest: veto}, bg, ts.URL+"/")
		}, []error{ErrVetoed, errVeto}, nil, false},
		{"robots-unavailable", KindRobotsUnavailable, func(t *testing.T) (string, error) {
			c := newClient(t, Config{Rate: -1})
			_, err := c.Robots(bg, mustURL(t, ts.URL))
			return ts.URL + "/robots.txt", err
		}, []error{ErrRobotsUnavailable}, nil, true},
		{"refused", KindRefused, func(t *testing.T) (string, error) { // robots.txt: the failure's own kind
			c := newClient(t, Config{Rate: -1})
			_, err := c.Robots(bg, mustURL(t, refused))
			return refused + "/robots.txt", err
		}, []error{ErrRobotsUnavailable, syscall.ECONNREFUSED}, nil, true},
		{"canceled", KindCanceled, func(t *testing.T) (string, error) {
			ctx, cancel := context.WithCancel(bg)
			cancel()
			return fetch(Config{}, ctx, ts.URL+"/")
		}, []error{context.Canceled}, []error{ErrTimeout}, false},
		{"canceled", KindCanceled, func(t *testing.T) (string, error) { // the caller's deadline
			ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
			defer cancel()
			return fetch(Config{Timeout: 10 * time.Second}, ctx, ts.URL+"/slow")
		}, []error{context.DeadlineExceeded}, []error{ErrTimeout}, false},
		{"other", KindOther, func(t *testing.T) (string, error) {
			return fetch(Config{}, bg, ts.URL+"/garbage")
		}, nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := tc.run(t)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want a *Error", err, err)
			}
			if fe.Kind != tc.kind || KindOf(err) != tc.kind {
				t.Errorf("got Kind %v, KindOf %v, want %v; error %v", fe.Kind, KindOf(err), tc.kind, err)
			}
			if got := fe.Kind.String(); got != tc.name {
				t.Errorf("got Kind.String() %q, want %q", got, tc.name)
			}
			if fe.URL != u || !strings.HasPrefix(err.Error(), "fetch "+u+": ") {
				t.Errorf("got URL %q, message %q, want URL %q and the \"fetch <url>: \" prefix", fe.URL, err, u)
			}
			if !errors.Is(err, fe.Err) || errors.Unwrap(fe) != fe.Err {
				t.Errorf("Unwrap: got %v, want the cause %v", errors.Unwrap(fe), fe.Err)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false, want true", err, target)
				}
			}
			for _, target := range tc.isNot {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = true, want false", err, target)
				}
			}
			if got := Retryable(err); got != tc.retryable {
				t.Errorf("Retryable(%v): got %v, want %v", err, got, tc.retryable)
			}
			if tc.kind == KindDNS {
				var dnsErr *net.DNSError
				if !errors.As(err, &dnsErr) || dnsErr.Name != "nonexistent.invalid" {
					t.Errorf("got %v, want a *net.DNSError for nonexistent.invalid", err)
				}
			}
		})
	}
}

func TestErrorKindString(t *testing.T) {
	tests := []struct {
		kind ErrorKind
		want string
	}{
		{KindOther, "other"},
		{KindTimeout, "timeout"},
		{KindDNS, "dns"},
		{KindRefused, "refused"},
		{KindReset, "reset"},
		{KindTLS, "tls"},
		{KindTooLarge, "too-large"},
		{KindTooManyRedirects, "too-many-redirects"},
		{KindBlockedAddress, "blocked-address"},
		{KindDecode, "decode"},
		{KindBadURL, "bad-url"},
		{KindVetoed, "vetoed"},
		{KindRobotsUnavailable, "robots-unavailable"},
		{KindCanceled, "canceled"},
		{ErrorKind(-1), "other"},
		{ErrorKind(1000), "other"},
	}
	for _, tc := range tests {
		if got := tc.kind.String(); got != tc.want {
			t.Errorf("ErrorKind(%d).String(): got %q, want %q", int(tc.kind), got, tc.want)
		}
	}
	var zero ErrorKind
	if zero != KindOther {
		t.Errorf("got zero ErrorKind %v, want KindOther", zero)
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want ErrorKind
	}{
		{"nil", nil, KindOther},
		{"not an Error", errors.New("x"), KindOther},
		{"sentinel without Error", ErrTimeout, KindOther},
		{"Error", &Error{Kind: KindDNS, URL: "http://x/", Err: errors.New("x")}, KindDNS},
		{"wrapped Error", fmt.Errorf("crawler: %w", &Error{Kind: KindReset, Err: io.EOF}), KindReset},
	}
	for _, tc := range tests {
		if got := KindOf(tc.err); got != tc.want {
			t.Errorf("%s: KindOf(%v): got %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: KindRefused, URL: "http://a/", Err: errors.New("dial tcp: connection refused")}, "fetch http://a/: dial tcp: connection refused"},
		{&Error{Kind: KindTimeout, URL: "http://a/"}, "fetch http://a/: timeout"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestSentinelMessages checks that errors read as before Error existed:
// "fetch <url>: <cause>", the cause unchanged.
func TestSentinelMessages(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	c := newClient(t, Config{Rate: -1, OnRequest: func(_ context.Context, r *http.Request) error {
		if r.URL.Path == "/veto" {
			return errors.New("no thanks")
		}
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, canceled := c.Fetch(ctx, Request{URL: ts.URL})
	_, badURL := c.Fetch(context.Background(), Request{URL: "ftp://example.com/"})
	_, badMethod := c.Fetch(context.Background(), Request{URL: ts.URL, Method: "POST"})
	_, vetoed := c.Fetch(context.Background(), Request{URL: ts.URL + "/veto"})
	_, robots := c.Robots(context.Background(), mustURL(t, ts.URL))
	tests := []struct {
		err  error
		want string
	}{
		{canceled, "fetch " + ts.URL + ": context canceled"},
		{badURL, "fetch ftp://example.com/: bad url: need an absolute http(s) URL"},
		{badMethod, "fetch " + ts.URL + ": bad url: method \"POST\" not supported, only GET and HEAD"},
		{vetoed, "fetch " + ts.URL + "/veto: request vetoed: no thanks"},
		{robots, "fetch " + ts.URL + "/robots.txt: robots.txt unavailable (status 500)"},
	}
	for _, tc := range tests {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("got %v, want %q", tc.err, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://example.com/a?b=c", "http://example.com/a?b=c"},
		{"http://example.com/user@example.org", "http://example.com/user@example.org"},
		{"http://user:secret@example.com/", "http://user:xxxxx@example.com/"},
		{"http://user@example.com/", "http://user@example.com/"},
		{"http://user:secret@exa mple.com/", "http://xxxxx@exa mple.com/"},
		{"http://user:se@cret@[bad/x@y", "http://xxxxx@[bad/x@y"},
		{"no scheme @ all", "no scheme @ all"},
	}
	for _, tc := range tests {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRedirectErrKinds: a redirect the client declines itself is a *Error
// in Response.RedirectErr; one Request.CheckRedirect declines keeps the
// hook's error as it is.
func TestRedirectErrKinds(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-ftp":
			http.Redirect(w, r, "ftp://example.com/f", http.StatusFound)
		case "/to-other":
			http.Redirect(w, r, "/other", http.StatusFound)
		}
	})
	errHook := errors.New("hook says no")
	c := newClient(t, Config{Rate: -1, MaxRedirects: 2})
	hook := func(_ context.Context, to *url.URL) error {
		if to.Path == "/other" {
			return errHook
		}
		return nil
	}
	tests := []struct {
		path     string
		wantKind ErrorKind
		wantIs   error
		wantMsg  string
	}{
		{"/loop", KindTooManyRedirects, ErrTooManyRedirects,
			"fetch " + ts.URL + "/loop: too many redirects (limit 2) at " + ts.URL + "/loop"},
		{"/to-ftp", KindBadURL, ErrBadURL,
			"fetch " + ts.URL + "/to-ftp: bad url: redirect to unsupported scheme \"ftp\": ftp://example.com/f"},
		{"/to-other", KindOther, errHook, "hook says no"},
	}
	for _, tc := range tests {
		resp, err := c.Fetch(context.Background(), Request{URL: ts.URL + tc.path, CheckRedirect: hook})
		if err != nil {
			t.Fatalf("%s: got %v, want the 3xx Response", tc.path, err)
		}
		re := resp.RedirectErr
		if KindOf(re) != tc.wantKind || !errors.Is(re, tc.wantIs) || re.Error() != tc.wantMsg {
			t.Errorf("%s: got RedirectErr %q of kind %v, want %q of kind %v", tc.path, re, KindOf(re), tc.wantMsg, tc.wantKind)
		}
		if tc.wantKind == KindOther && re != errHook {
			t.Errorf("%s: got RedirectErr %#v, want the hook's error itself", tc.path, re)
		}
	}
}

// TestErrorInBody: an Error says whether the server had answered before
// the fetch failed: a body cut off or that does not decode did; a refused
// connection or a reset before any answer did not.
func TestErrorInBody(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cut":
			conn, bw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
			bw.Flush()
			conn.Close()
		case "/bad-gzip":
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, "this is not gzip")
		case "/reset":
			hangUp(w, r)
		}
	})
	c := newClient(t, Config{Rate: -1})
	for _, tc := range []struct {
		url    string
		inBody bool
	}{
		{ts.URL + "/cut", true},
		{ts.URL + "/bad-gzip", true},
		{ts.URL + "/reset", false},
		{"http://" + closedAddr(t) + "/", false},
	} {
		_, err := c.Fetch(context.Background(), Request{URL: tc.url})
		var fe *Error
		if !errors.As(err, &fe) {
			t.Fatalf("%s: %v, want an *Error", tc.url, err)
		}
		if fe.InBody != tc.inBody {
			t.Errorf("%s: %v: InBody %v, want %v", tc.url, err, fe.InBody, tc.inBody)
		}
	}
}
