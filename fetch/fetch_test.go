package fetch

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newClient returns a Client closed at the end of the test. Test servers
// listen on 127.0.0.1, which the address guard refuses unless named: unless
// cfg names hosts itself or turns the guard off, 127.0.0.1 is named.
func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	if cfg.AllowHosts == nil && !cfg.AllowPrivate {
		cfg.AllowHosts = []string{"127.0.0.1"}
	}
	return newGuardedClient(t, cfg)
}

// newGuardedClient returns a Client for cfg as given, closed at the end of
// the test.
func newGuardedClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c := New(cfg)
	t.Cleanup(c.Close)
	return c
}

// serve starts a test server on 127.0.0.1 closed at the end of the test.
func serve(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// encode applies one content coding to data.
func encode(t testing.TB, enc string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zlib":
		w = zlib.NewWriter(&buf)
	case "flate":
		fw, err := flate.NewWriter(&buf, flate.DefaultCompression)
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	case "br":
		w = brotli.NewWriter(&buf)
	default:
		t.Fatalf("unknown coding %q", enc)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFetchStatusAndHeaders(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintf(w, "status %d", code)
	})
	c := newClient(t, Config{Rate: -1})
	for _, code := range []int{200, 201, 404, 410, 429, 500, 503} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			u := fmt.Sprintf("%s/%d", ts.URL, code)
			resp, err := c.Fetch(context.Background(), Request{URL: u})
			if err != nil {
				t.Fatalf("got error %v, want a response", err)
			}
			if resp.Status != code {
				t.Errorf("got status %d, want %d", resp.Status, code)
			}
			if want := fmt.Sprintf("status %d", code); string(resp.Body) != want {
				t.Errorf("got body %q, want %q", resp.Body, want)
			}
			if resp.URL != u || resp.FinalURL != u || resp.Redirects != nil {
				t.Errorf("got URL %q FinalURL %q Redirects %v, want %q twice and none", resp.URL, resp.FinalURL, resp.Redirects, u)
			}
			if resp.ContentType != "text/plain; charset=utf-8" || resp.Truncated {
				t.Errorf("got ContentType %q Truncated %v", resp.ContentType, resp.Truncated)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for k, want := range map[string]string{
		"User-Agent":      DefaultUserAgent,
		"Accept":          "text/html,application/xhtml+xml,*/*;q=0.8",
		"Accept-Encoding": "gzip, deflate, br",
	} {
		if g := got.Get(k); g != want {
			t.Errorf("request header %s: got %q, want %q", k, g, want)
		}
	}
}

func TestFetchDecoding(t *testing.T) {
	page := bytes.Repeat([]byte("<p>hello trawl</p>\n"), 200)
	tests := []struct {
		name     string
		encoding string // Content-Encoding sent
		body     []byte
		want     []byte
	}{
		{"identity", "", page, page},
		{"identity named", "identity", page, page},
		{"gzip", "gzip", encode(t, "gzip", page), page},
		{"x-gzip", "x-gzip", encode(t, "gzip", page), page},
		{"deflate zlib", "deflate", encode(t, "zlib", page), page},
		{"deflate raw", "deflate", encode(t, "flate", page), page},
		{"br", "br", encode(t, "br", page), page},
		{"upper case", "GZIP", encode(t, "gzip", page), page},
		{"chain deflate then gzip", "deflate, gzip", encode(t, "gzip", encode(t, "zlib", page)), page},
		{"two gzips", "gzip, gzip", encode(t, "gzip", encode(t, "gzip", page)), page},
		{"two codings and identity", "identity, gzip, identity, br", encode(t, "br", encode(t, "gzip", page)), page},
		{"unknown kept as sent", "compress", []byte("opaque"), []byte("opaque")},
		{"empty gzip", "gzip", nil, nil},
		{"empty br", "br", nil, nil},
		{"empty deflate", "deflate", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.encoding != "" {
					w.Header().Set("Content-Encoding", tc.encoding)
				}
				w.Write(tc.body)
			})
			c := newClient(t, Config{})
			resp, err := c.Fetch(context.Background(), Request{URL: ts.URL})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp.Body, tc.want) {
				t.Errorf("got body of %d bytes %.40q, want %d bytes %.40q", len(resp.Body), resp.Body, len(tc.want), tc.want)
			}
			if resp.Truncated {
				t.Error("got Truncated, want not")
			}
		})
	}
}

func TestFetchDecodeErrors(t *testing.T) {
	gz := encode(t, "gzip", bytes.Repeat([]byte("abc"), 1000))
	tests := []struct {
		name     string
		encoding string
		body     []byte
	}{
		{"not gzip", "gzip", []byte("this is not gzip at all")},
		{"gzip cut short", "gzip", gz[:len(gz)/2]},
		{"gzip bad checksum", "gzip", append(append([]byte{}, gz[:len(gz)-8]...), 1, 2, 3, 4, 5, 6, 7, 8)},
		{"not br", "br", []byte("this is not brotli")},
		{"not deflate", "deflate", []byte{0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", tc.encoding)
				w.Write(tc.body)
			})
			c := newClient(t, Config{})
			resp, err := c.Fetch(context.Background(), Request{URL: ts.URL})
			if err == nil {
				t.Fatalf("got body %q and no error, want ErrDecode", resp.Body)
			}
			if !errors.Is(err, ErrDecode) || Retryable(err) {
				t.Errorf("got %v (Retryable %v), want ErrDecode, not retryable", err, Retryable(err))
			}
			if !strings.HasPrefix(err.Error(), "fetch "+ts.URL+": ") {
				t.Errorf("got message %q, want the fetch <url> prefix", err)
			}
		})
	}
}

// TestFetchTooManyEncodings: more than two stacked content codings are
// refused without reading the body. The server sends the headers and then
// holds the body back: a client that tried to read it would end with its
// Timeout instead.
func TestFetchTooManyEncodings(t *testing.T) {
	tests := []struct {
		name   string
		values []string // Content-Encoding header lines
		n      int
	}{
		{"three", []string{"gzip, gzip, br"}, 3},
		{"over two lines", []string{"gzip", "gzip, br"}, 3},
		{"identity not counted", []string{"identity, gzip, gzip, identity, gzip"}, 3},
		{"many", []string{strings.Repeat("gzip, ", 999) + "gzip"}, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Encoding"] = tc.values
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			})
			c := newClient(t, Config{Timeout: 5 * time.Second})
			_, err := c.Fetch(context.Background(), Request{URL: ts.URL})
			if !errors.Is(err, ErrDecode) || Retryable(err) || errors.Is(err, ErrTimeout) {
				t.Fatalf("got %v (Retryable %v), want ErrDecode at once, not retryable", err, Retryable(err))
			}
			want := fmt.Sprintf("fetch %s: cannot decode body: %d content encodings, at most 2 are decoded", ts.URL, tc.n)
			if err.Error() != want {
				t.Errorf("got message %q, want %q", err, want)
			}
		})
	}
}

func TestFetchBodyCutMidway(t *testing.T) {
	for _, enc := range []string{"", "gzip"} {
		t.Run("encoding="+enc, func(t *testing.T) {
			body := bytes.Repeat([]byte("x"), 100_000)
			if enc != "" {
				body = encode(t, enc, body)
			}
			ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if enc != "" {
					w.Header().Set("Content-Encoding", enc)
				}
				// Declare more than is sent: the server closes the
				// connection after the short body.
				w.Header().Set("Content-Length", strconv.Itoa(len(body)+1000))
				w.Write(body)
			})
			c := newClient(t, Config{})
			_, err := c.Fetch(context.Background(), Request{URL: ts.URL})
			if err == nil {
				t.Fatal("got no error, want a body read error")
			}
			if errors.Is(err, ErrDecode) || !Retryable(err) {
				t.Errorf("got %v (Retryable %v), want a retryable wire error", err, Retryable(err))
			}
		})
	}
}

func TestFetchMaxBody(t *testing.T) {
	const max = 1000
	tests := []struct {
		name          string
		encoding      string
		size          int
		wantTruncated bool
	}{
		{"identity under", "", max - 1, false},
		{"identity exact", "", max, false},
		{"identity over", "", max + 1, true},
		{"identity far over", "", 50 * max, true},
		{"gzip exact", "gzip", max, false},
		{"gzip over decoded, small on the wire", "gzip", 50 * max, true},
		{"br over", "br", 50 * max, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page := bytes.Repeat([]byte("0123456789"), tc.size/10+1)[:tc.size]
			wire := page
			if tc.encoding != "" {
				wire = encode(t, tc.encoding, page)
			}
			ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.encoding != "" {
					w.Header().Set("Content-Encoding", tc.encoding)
				}
				w.Write(wire)
			})
			c := newClient(t, Config{MaxBody: max})
			resp, err := c.Fetch(context.Background(), Request{URL: ts.URL})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Truncated != tc.wantTruncated {
				t.Errorf("got Truncated %v, want %v", resp.Truncated, tc.wantTruncated)
			}
			want := page[:min(len(page), max)]
			if !bytes.Equal(resp.Body, want) {
				t.Errorf("got %d bytes, want the first %d", len(resp.Body), len(want))
			}
		})
	}
}

// TestFetchGzipBomb serves 1 GiB of zeros gzip-compressed (about 1 MiB on the
// wire, as concatenated gzip members) and checks that reading it costs
// memory in proportion to MaxBody, not to the decoded size.
func TestFetchGzipBomb(t *testing.T) {
	const maxBody = 1 << 20
	member := encode(t, "gzip", make([]byte, 1<<20)) // 1 MiB of zeros
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		for range 1024 { // 1 GiB decoded
			if _, err := w.Write(member); err != nil {
				return
			}
		}
	})
	c := newClient(t, Config{MaxBody: maxBody})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := c.Fetch(context.Background(), Request{URL: ts.URL})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Truncated || len(resp.Body) != maxBody {
		t.Fatalf("got Truncated %v and %d bytes, want true and %d", resp.Truncated, len(resp.Body), maxBody)
	}
	if !bytes.Equal(resp.Body, make([]byte, maxBody)) {
		t.Error("body is not all zeros")
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB while reading a 1 GiB bomb with MaxBody %d KiB", alloc>>10, maxBody>>10)
	if alloc > 8*maxBody {
		t.Errorf("allocated %d bytes, want under %d (8*MaxBody)", alloc, 8*maxBody)
	}
}

func TestFetchTimeout(t *testing.T) {
	stop := make(chan struct{})
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		bound := time.NewTimer(10 * time.Second)
		defer bound.Stop()
		switch r.URL.Path {
		case "/drip": // headers at once, then one byte every 50ms
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for range 200 {
				select {
				case <-r.Context().Done():
					return
				case <-stop:
					return
				case <-bound.C:
					return
				case <-tick.C:
					w.Write([]byte("x"))
					w.(http.Flusher).Flush()
				}
			}
		case "/silent": // never answers
			select {
			case <-r.Context().Done():
			case <-stop:
			case <-bound.C:
			}
		}
	})
	t.Cleanup(func() { close(stop) }) // runs before ts.Close
	c := newClient(t, Config{Timeout: 300 * time.Millisecond, Rate: -1})
	for _, path := range []string{"/drip", "/silent"} {
		t.Run(path, func(t *testing.T) {
			resp, err := c.Fetch(context.Background(), Request{URL: ts.URL + path})
			if err == nil {
				t.Fatalf("got status %d and %d bytes, want a timeout error", resp.Status, len(resp.Body))
			}
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
				t.Errorf("got %v, want ErrTimeout matching context.DeadlineExceeded", err)
			}
			if !Retryable(err) {
				t.Errorf("Retryable(%v) = false, want true for our own timeout", err)
			}
		})
	}
}

func TestFetchCallerContext(t *testing.T) {
	started := make(chan struct{}, 1)
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	c := newClient(t, Config{Timeout: 10 * time.Second, Rate: -1})

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-started
			cancel()
		}()
		_, err := c.Fetch(ctx, Request{URL: ts.URL})
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) || Retryable(err) {
			t.Errorf("got %v (Retryable %v), want context.Canceled, not retryable", err, Retryable(err))
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := c.Fetch(ctx, Request{URL: ts.URL})
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) || Retryable(err) {
			t.Errorf("got %v (Retryable %v), want the caller's context.DeadlineExceeded, not retryable", err, Retryable(err))
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Fetch(ctx, Request{URL: ts.URL})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
}

func TestFetchRedirects(t *testing.T) {
	var hits atomic.Int64
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/chain/"): // /chain/3 -> 2 (relative) -> 1 -> 0
			n, _ := strconv.Atoi(strings.TrimPrefix(p, "/chain/"))
			if n == 0 {
				fmt.Fprint(w, "end of chain")
				return
			}
			w.Header().Set("Location", strconv.Itoa(n-1))
			w.WriteHeader(http.StatusFound)
			fmt.Fprint(w, "redirect body")
		case p == "/loop":
			http.Redirect(w, r, "/loop", http.StatusMovedPermanently)
		case p == "/to-blocked":
			http.Redirect(w, r, "/blocked?x=1", http.StatusSeeOther)
		case p == "/to-ftp":
			http.Redirect(w, r, "ftp://example.com/file", http.StatusFound)
		default:
			fmt.Fprint(w, "page "+p)
		}
	})
	errVeto := errors.New("vetoed")
	veto := func(_ context.Context, to *url.URL) error {
		if to.Path == "/blocked" {
			return errVeto
		}
		return nil
	}
	tests := []struct {
		name          string
		cfg           Config
		path          string
		wantStatus    int
		wantFinal     string
		wantRedirects []string
		wantErr       error // errors.Is on RedirectErr; nil means none
		wantTo        string
		wantBody      string
	}{
		{
			name: "followed", path: "/chain/3", wantStatus: 200, wantFinal: "/chain/0",
			wantRedirects: []string{"/chain/2", "/chain/1", "/chain/0"}, wantBody: "end of chain",
		},
		{
			name: "veto", path: "/to-blocked", wantStatus: http.StatusSeeOther, wantFinal: "/to-blocked",
			wantErr: errVeto, wantTo: "/blocked?x=1",
		},
		{
			name: "loop", cfg: Config{MaxRedirects: 3}, path: "/loop", wantStatus: http.StatusMovedPermanently,
			wantFinal: "/loop", wantRedirects: []string{"/loop", "/loop", "/loop"},
			wantErr: ErrTooManyRedirects, wantTo: "/loop",
		},
		{
			name: "chain longer than limit", cfg: Config{MaxRedirects: 2}, path: "/chain/3", wantStatus: http.StatusFound,
			wantFinal: "/chain/1", wantRedirects: []string{"/chain/2", "/chain/1"},
			wantErr: ErrTooManyRedirects, wantTo: "/chain/0",
		},
		{
			name: "not followed", cfg: Config{MaxRedirects: -1}, path: "/chain/1", wantStatus: http.StatusFound,
			wantFinal: "/chain/1", wantBody: "redirect body",
		},
		{
			name: "unsupported scheme", path: "/to-ftp", wantStatus: http.StatusFound, wantFinal: "/to-ftp",
			wantTo: "ftp://example.com/file",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Rate = -1 // hops to one host, not held back
			c := newClient(t, cfg)
			resp, err := c.Fetch(context.Background(), Request{URL: ts.URL + tc.path, CheckRedirect: veto})
			if err != nil {
				t.Fatal(err)
			}
			abs := func(p string) string {
				if strings.Contains(p, "://") {
					return p
				}
				return ts.URL + p
			}
			if resp.Status != tc.wantStatus || resp.FinalURL != abs(tc.wantFinal) {
				t.Errorf("got status %d final %q, want %d %q", resp.Status, resp.FinalURL, tc.wantStatus, abs(tc.wantFinal))
			}
			var wantHops []string
			for _, h := range tc.wantRedirects {
				wantHops = append(wantHops, abs(h))
			}
			if fmt.Sprint(resp.Redirects) != fmt.Sprint(wantHops) {
				t.Errorf("got Redirects %v, want %v", resp.Redirects, wantHops)
			}
			switch {
			case tc.wantErr != nil && !errors.Is(resp.RedirectErr, tc.wantErr):
				t.Errorf("got RedirectErr %v, want %v", resp.RedirectErr, tc.wantErr)
			case tc.wantTo == "" && resp.RedirectErr != nil:
				t.Errorf("got RedirectErr %v, want none", resp.RedirectErr)
			case tc.wantTo != "" && (resp.RedirectErr == nil || resp.RedirectTo != abs(tc.wantTo)):
				t.Errorf("got RedirectErr %v RedirectTo %q, want an error and %q", resp.RedirectErr, resp.RedirectTo, abs(tc.wantTo))
			}
			if string(resp.Body) != tc.wantBody {
				t.Errorf("got body %q, want %q", resp.Body, tc.wantBody)
			}
		})
	}
	if n := hits.Load(); n > 50 {
		t.Errorf("server saw %d requests; redirect loops are not bounded", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"999999999999", MaxRetryAfter},
		{"3601", MaxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), MaxRetryAfter},
		{"Tue, 25 Nov 2025 12:00:30 GMT", 30 * time.Second},
		{"Tuesday, 25-Nov-25 12:00:30 GMT", 30 * time.Second}, // RFC 850
		{"Tue Nov 25 12:00:30 2025", 30 * time.Second},        // asctime
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q): got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFetchRetryAfter(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	c := newClient(t, Config{})
	resp, err := c.Fetch(context.Background(), Request{URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusTooManyRequests || resp.RetryAfter != 7*time.Second {
		t.Errorf("got status %d RetryAfter %v, want 429 and 7s", resp.Status, resp.RetryAfter)
	}
}

func TestFetchBadURL(t *testing.T) {
	c := newClient(t, Config{})
	for _, u := range []string{"", "/relative", "ftp://example.com/", "http://", "http://a b/", "://x"} {
		_, err := c.Fetch(context.Background(), Request{URL: u})
		if !errors.Is(err, ErrBadURL) || Retryable(err) {
			t.Errorf("Fetch(%q): got %v, want ErrBadURL, not retryable", u, err)
		}
	}
}

func TestRetryable(t *testing.T) {
	op := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://x/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"our timeout", fmt.Errorf("fetch x: %w", ErrTimeout), true},
		{"caller cancel", fmt.Errorf("fetch x: %w", context.Canceled), false},
		{"caller deadline", fmt.Errorf("fetch x: %w", context.DeadlineExceeded), false},
		{"refused", op(syscall.ECONNREFUSED), true},
		{"reset", op(syscall.ECONNRESET), true},
		{"broken pipe", op(syscall.EPIPE), true},
		{"eof", fmt.Errorf("fetch x: %w", io.EOF), true},
		{"unexpected eof", fmt.Errorf("fetch x: reading body: %w", io.ErrUnexpectedEOF), true},
		{"no such host", op(&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}), false},
		{"dns timeout", op(&net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}), true},
		{"dns servfail", op(&net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}), true},
		{"unknown CA", fmt.Errorf("fetch x: %w", x509.UnknownAuthorityError{}), false},
		{"bad url", fmt.Errorf("fetch x: %w", ErrBadURL), false},
		{"decode", fmt.Errorf("fetch x: %w", ErrDecode), false},
		{"robots 5xx", fmt.Errorf("fetch x: %w (status 503)", ErrRobotsUnavailable), true},
		{"robots refused", fmt.Errorf("%w: %w", ErrRobotsUnavailable, op(syscall.ECONNREFUSED)), true},
		{"robots no such host", fmt.Errorf("%w: %w", ErrRobotsUnavailable, op(&net.DNSError{IsNotFound: true})), false},
		{"blocked address", op(checkDialed("h", "10.0.0.1:80")), false},
		{"robots of a blocked host", fmt.Errorf("%w: %w", ErrRobotsUnavailable, op(checkDialed("h", "127.0.0.1:80"))), false},
		{"unknown", errors.New("something else"), false},
	}
	for _, tc := range tests {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestFetchNetworkErrors(t *testing.T) {
	c := newClient(t, Config{Timeout: 5 * time.Second})
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = c.Fetch(context.Background(), Request{URL: "http://" + addr + "/"})
		if err == nil || !Retryable(err) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("got %v (Retryable %v), want a retryable connection refused", err, Retryable(err))
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
		ts.StartTLS()
		t.Cleanup(ts.Close)
		_, err := c.Fetch(context.Background(), Request{URL: ts.URL})
		if err == nil || Retryable(err) {
			t.Errorf("got %v (Retryable %v), want a non-retryable certificate error", err, Retryable(err))
		}
	})
}

func TestTransportOverride(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "over tls via "+r.Header.Get("User-Agent"))
	}))
	t.Cleanup(ts.Close)
	c := newClient(t, Config{Transport: ts.Client().Transport, UserAgent: "custombot/2"})
	resp, err := c.Fetch(context.Background(), Request{URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "over tls via custombot/2" {
		t.Errorf("got %q", resp.Body)
	}
}

func TestResolve(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "host "+r.Host)
	})
	c := newClient(t, Config{Resolve: map[string]string{"A.fetch.test:80": ts.Listener.Addr().String()}})
	resp, err := c.Fetch(context.Background(), Request{URL: "http://a.fetch.test/page"})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "host a.fetch.test" {
		t.Errorf("got %q, want %q", resp.Body, "host a.fetch.test")
	}
}

func TestConnectionReuse(t *testing.T) {
	gz := encode(t, "gzip", bytes.Repeat([]byte("reuse "), 1000))
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz)
		case "/missing":
			http.NotFound(w, r)
		case "/redirect":
			http.Redirect(w, r, "/plain", http.StatusFound)
		case "/veto":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.Write(bytes.Repeat([]byte("p"), 10_000))
		}
	}))
	var conns atomic.Int64
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	c := newClient(t, Config{Rate: -1})
	paths := []string{"/plain", "/gzip", "/missing", "/redirect", "/veto"}
	veto := func(_ context.Context, to *url.URL) error {
		if to.Path == "/elsewhere" {
			return errors.New("no")
		}
		return nil
	}
	for i := range 20 {
		if _, err := c.Fetch(context.Background(), Request{URL: ts.URL + paths[i%len(paths)], CheckRedirect: veto}); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 sequential fetches used %d connections, want 1", n)
	}
}

func BenchmarkFetch(b *testing.B) {
	page := bytes.Repeat([]byte("<p>0123456789 abcdefghijklmnopqrstuvwxyz</p>\n"), 300)[:10_000]
	gz := encode(b, "gzip", page)
	ts := serve(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz)
			return
		}
		w.Write(page)
	})
	for _, path := range []string{"/identity", "/gzip"} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			c := newClient(b, Config{Rate: -1})
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				resp, err := c.Fetch(ctx, Request{URL: ts.URL + path})
				if err != nil || len(resp.Body) != len(page) {
					b.Fatalf("got %v, %d bytes", err, len(resp.Body))
				}
			}
		})
	}
	// For comparison: a bare net/http GET and io.ReadAll on the same server.
	b.Run("baseline-net-http", func(b *testing.B) {
		hc := &http.Client{Transport: &http.Transport{}}
		defer hc.CloseIdleConnections()
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			resp, err := hc.Get(ts.URL + "/identity")
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(body) != len(page) {
				b.Fatalf("got %v, %d bytes", err, len(body))
			}
		}
	})
}
