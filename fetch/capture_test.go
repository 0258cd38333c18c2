package fetch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// rawServer is an HTTP/1.1 server on 127.0.0.1 that answers with
// hand-written bytes and keeps the bytes of each request it read.
type rawServer struct {
	URL string

	mu    sync.Mutex
	reqs  [][]byte // each request as received, in order
	conns int      // connections accepted
}

// newRawServer starts a rawServer answering each request with
// respond(req), keeping connections alive; it is closed, its goroutines
// ended, at the end of the test.
func newRawServer(t testing.TB, respond func(*http.Request) string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{URL: "http://" + ln.Addr().String()}
	var (
		wg    sync.WaitGroup
		cmu   sync.Mutex
		open  []net.Conn
		ended bool
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			if ended {
				cmu.Unlock()
				conn.Close()
				return
			}
			open = append(open, conn)
			cmu.Unlock()
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serveConn(conn, respond)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		cmu.Lock()
		ended = true
		for _, c := range open {
			c.Close()
		}
		cmu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *rawServer) serveConn(conn net.Conn, respond func(*http.Request) string) {
	defer conn.Close()
	var in bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &in))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		// The client sends one request and waits: what was read is it.
		s.mu.Lock()
		s.reqs = append(s.reqs, bytes.Clone(in.Bytes()))
		s.mu.Unlock()
		in.Reset()
		if _, err := io.WriteString(conn, respond(req)); err != nil {
			return
		}
	}
}

// requests returns the requests received so far and the connections
// accepted.
func (s *rawServer) requests() ([][]byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs, s.conns
}

// fetchOne fetches u with c and returns the Response, which must carry
// exactly one exchange.
func fetchOne(t *testing.T, c *Client, u string) (*Response, *Exchange) {
	t.Helper()
	resp, err := c.Fetch(context.Background(), Request{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Exchanges) != 1 {
		t.Fatalf("got %d exchanges, want 1", len(resp.Exchanges))
	}
	return resp, resp.Exchanges[0]
}

// sameBytes reports whether a and b share their first byte (both empty
// counts too).
func sameBytes(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	return &a[0] == &b[0]
}

// TestCaptureRaw: the bytes exchanged are kept as they went: the
// response header in its order and case, without Transfer-Encoding, 1xx
// blocks left out; the request as sent, with what OnRequest added and the
// lines the transport writes (Host, User-Agent).
func TestCaptureRaw(t *testing.T) {
	const chunked = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-After: 1\r\n\r\n"
	tests := []struct {
		path         string
		send         string // response written
		wantResponse string
		wantPayload  string
	}{
		{
			path:         "/path",
			send:         "HTTP/1.1 200 OK\r\nx-Lower: a\r\nContent-Type: text/plain\r\nX-UPPER: b\r\nContent-Length: 5\r\n\r\nhello",
			wantResponse: "HTTP/1.1 200 OK\r\nx-Lower: a\r\nContent-Type: text/plain\r\nX-UPPER: b\r\nContent-Length: 5\r\n\r\n",
			wantPayload:  "hello",
		},
		{
			path:         "/chunked",
			send:         chunked + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
			wantResponse: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-After: 1\r\n\r\n",
			wantPayload:  "hello world",
		},
		{
			path:         "/chunked-lower",
			send:         "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nX-After: 1\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			wantResponse: "HTTP/1.1 200 OK\r\nX-After: 1\r\n\r\n",
			wantPayload:  "ok",
		},
		{
			path:         "/early-hints",
			send:         "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantResponse: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
			wantPayload:  "ok",
		},
		{
			path:         "/bare-lf",
			send:         "HTTP/1.1 404 Not Found\nContent-Length: 4\n\ngone",
			wantResponse: "HTTP/1.1 404 Not Found\nContent-Length: 4\n\n",
			wantPayload:  "gone",
		},
	}
	byPath := make(map[string]string)
	for _, tc := range tests {
		byPath[tc.path] = tc.send
	}
	srv := newRawServer(t, func(r *http.Request) string { return byPath[r.URL.Path] })
	c := newClient(t, Config{Rate: -1, Capture: true, UserAgent: "capturebot/1.0",
		OnRequest: func(_ context.Context, r *http.Request) error {
			r.Header.Set("X-Hook", "1")
			return nil
		}})
	host := strings.TrimPrefix(srv.URL, "http://")
	for i, tc := range tests {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			resp, ex := fetchOne(t, c, srv.URL+tc.path)
			if string(ex.Response) != tc.wantResponse {
				t.Errorf("got Response %q, want %q", ex.Response, tc.wantResponse)
			}
			if !ex.Raw || ex.IP != "127.0.0.1" {
				t.Errorf("got Raw %v IP %q, want true and 127.0.0.1", ex.Raw, ex.IP)
			}
			if string(ex.Payload) != tc.wantPayload || ex.Truncated {
				t.Errorf("got Payload %q Truncated %v, want %q and false", ex.Payload, ex.Truncated, tc.wantPayload)
			}
			if !sameBytes(ex.Payload, resp.Body) {
				t.Error("Payload is a copy of the identity Body, want the same bytes")
			}
			req := string(ex.Request)
			for _, want := range []string{"Host: " + host + "\r\n", "User-Agent: capturebot/1.0\r\n", "X-Hook: 1\r\n"} {
				if !strings.Contains(req, want) {
					t.Errorf("Request %q lacks %q", req, want)
				}
			}
			if !strings.HasPrefix(req, "GET "+tc.path+" HTTP/1.1\r\n") || !strings.HasSuffix(req, "\r\n\r\n") {
				t.Errorf("got Request %q, want a GET of %s ending in an empty line", req, tc.path)
			}
			if got, _ := srv.requests(); len(got) <= i || !bytes.Equal(got[i], ex.Request) {
				t.Errorf("Request %q is not the bytes the server read", req)
			}
			if ex.URL != srv.URL+tc.path || ex.Method != "GET" || ex.Status != resp.Status || ex.Started.IsZero() {
				t.Errorf("got URL %q Method %q Status %d Started %v", ex.URL, ex.Method, ex.Status, ex.Started)
			}
		})
	}
}

// TestCaptureKeepAlive: two fetches over one connection each get their
// own bytes, not what the connection carried before.
func TestCaptureKeepAlive(t *testing.T) {
	header := func(id string) string {
		return "HTTP/1.1 200 OK\r\nX-Id: " + id + "\r\nContent-Length: 3\r\n\r\n"
	}
	srv := newRawServer(t, func(r *http.Request) string {
		id := strings.TrimPrefix(r.URL.Path, "/")
		return header(id) + id
	})
	c := newClient(t, Config{Rate: -1, Capture: true})
	var exs []*Exchange
	for _, id := range []string{"one", "two"} {
		_, ex := fetchOne(t, c, srv.URL+"/"+id)
		exs = append(exs, ex)
	}
	reqs, conns := srv.requests()
	if conns != 1 {
		t.Fatalf("server saw %d connections, want 1", conns)
	}
	for i, id := range []string{"one", "two"} {
		if got := string(exs[i].Response); got != header(id) {
			t.Errorf("fetch %d: got Response %q, want %q", i, got, header(id))
		}
		if !bytes.Equal(exs[i].Request, reqs[i]) {
			t.Errorf("fetch %d: got Request %q, want %q", i, exs[i].Request, reqs[i])
		}
		if string(exs[i].Payload) != id {
			t.Errorf("fetch %d: got Payload %q, want %q", i, exs[i].Payload, id)
		}
	}
}

// pseudoRandom returns n bytes that do not compress, the same every time.
func pseudoRandom(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// TestCapturePayload: the payload is the body as sent, before content
// decoding, and what was read of it when the body was cut at MaxBody.
func TestCapturePayload(t *testing.T) {
	page := bytes.Repeat([]byte("capture "), 500)
	gz := encode(t, "gzip", page)
	noise := pseudoRandom(200 << 10)
	gzNoise := encode(t, "gzip", noise)
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz)
		case "/gzip-long":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzNoise)
		default:
			w.Write(page)
		}
	})
	c := newClient(t, Config{Rate: -1, Capture: true, MaxBody: 1000})
	t.Run("gzip", func(t *testing.T) {
		c := newClient(t, Config{Rate: -1, Capture: true})
		resp, ex := fetchOne(t, c, ts.URL+"/gzip")
		if !bytes.Equal(resp.Body, page) {
			t.Errorf("got Body of %d bytes, want the decoded %d", len(resp.Body), len(page))
		}
		if !bytes.Equal(ex.Payload, gz) || ex.Truncated {
			t.Errorf("got Payload of %d bytes, Truncated %v; want the %d gzip bytes sent, false", len(ex.Payload), ex.Truncated, len(gz))
		}
		if !bytes.Contains(ex.Response, []byte("Content-Encoding: gzip\r\n")) {
			t.Errorf("Response %q lacks its Content-Encoding", ex.Response)
		}
	})
	t.Run("identity-cut", func(t *testing.T) {
		resp, ex := fetchOne(t, c, ts.URL+"/plain")
		if !resp.Truncated || len(resp.Body) != 1000 {
			t.Fatalf("got Body of %d bytes, Truncated %v; want 1000, true", len(resp.Body), resp.Truncated)
		}
		if !ex.Truncated || !bytes.Equal(ex.Payload, page[:1000]) || !sameBytes(ex.Payload, resp.Body) {
			t.Errorf("got Payload of %d bytes, Truncated %v; want Body's 1000 bytes, true", len(ex.Payload), ex.Truncated)
		}
	})
	t.Run("gzip-cut", func(t *testing.T) {
		resp, ex := fetchOne(t, c, ts.URL+"/gzip-long")
		if !resp.Truncated || !bytes.Equal(resp.Body, noise[:1000]) {
			t.Fatalf("got Body of %d bytes, Truncated %v; want 1000, true", len(resp.Body), resp.Truncated)
		}
		if !ex.Truncated || len(ex.Payload) == 0 || len(ex.Payload) >= len(gzNoise) || !bytes.HasPrefix(gzNoise, ex.Payload) {
			t.Errorf("got Payload of %d bytes, Truncated %v; want a start of the %d gzip bytes, true", len(ex.Payload), ex.Truncated, len(gzNoise))
		}
	})
	t.Run("head", func(t *testing.T) {
		resp, err := c.Fetch(context.Background(), Request{URL: ts.URL + "/plain", Method: "HEAD"})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Exchanges) != 1 {
			t.Fatalf("got %d exchanges, want 1", len(resp.Exchanges))
		}
		ex := resp.Exchanges[0]
		if ex.Method != "HEAD" || len(ex.Payload) != 0 || ex.Truncated || !strings.HasPrefix(string(ex.Request), "HEAD /plain HTTP/1.1\r\n") {
			t.Errorf("got Method %q Payload %q Truncated %v Request %q; want an empty HEAD", ex.Method, ex.Payload, ex.Truncated, ex.Request)
		}
	})
}

// TestReadBodyPayload: readBody gives a captured body without content
// coding its own bytes as the payload, without a copy made while reading,
// and lets a coded body keep the bytes as sent.
func TestReadBodyPayload(t *testing.T) {
	page := bytes.Repeat([]byte("shared "), 200)
	gz := encode(t, "gzip", page)
	for _, tc := range []struct {
		name      string
		enc       string
		wire      []byte
		maxBody   int64
		payload   []byte
		truncated bool
	}{
		{"identity", "", page, 10_000, page, false},
		{"identity-cut", "", page, 100, page[:100], true},
		{"gzip", "gzip", gz, 10_000, gz, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := &Exchange{}
			wire := &stepReader{b: tc.wire, step: 64}
			if tc.enc == "" {
				wire.check = func() {
					if len(ex.Payload) > 0 {
						t.Fatal("an identity body is copied as it is read")
					}
				}
			}
			resp := &http.Response{
				Header:        http.Header{"Content-Encoding": {tc.enc}},
				ContentLength: -1,
				Body:          &captureBody{ReadCloser: io.NopCloser(wire), ex: ex, size: -1, keep: true},
			}
			body, _, truncated, err := readBody(resp, tc.maxBody)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ex.Payload, tc.payload) || ex.Truncated != tc.truncated || truncated != tc.truncated {
				t.Errorf("got Payload of %d bytes, Truncated %v (body %v), want %d bytes, %v", len(ex.Payload), ex.Truncated, truncated, len(tc.payload), tc.truncated)
			}
			if shared := sameBytes(ex.Payload, body); shared != (tc.enc == "") {
				t.Errorf("Payload shares Body's bytes: %v, want %v", shared, tc.enc == "")
			}
		})
	}
}

// stepReader reads b at most step bytes at a time, calling check, if set,
// before each read.
type stepReader struct {
	b     []byte
	step  int
	check func()
}

func (r *stepReader) Read(p []byte) (int, error) {
	if r.check != nil {
		r.check()
	}
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// trustServer makes the TLS connections of clients created from now on
// trust ts's certificate, until the end of the test.
func trustServer(t *testing.T, ts *httptest.Server) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	old := captureTLSConfig
	captureTLSConfig = func() *tls.Config { return &tls.Config{RootCAs: pool} }
	t.Cleanup(func() { captureTLSConfig = old })
}

// TestCaptureHTTPS: the client does TLS itself and offers HTTP/1.1 only,
// so a server that speaks HTTP/2 answers in HTTP/1.1 and the bytes are
// seen; its TLS failures keep their kind.
func TestCaptureHTTPS(t *testing.T) {
	var proto atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int64(r.ProtoMajor))
		w.Header().Set("X-Secure", "yes")
		fmt.Fprint(w, "secret")
	}))
	var offered atomic.Value // the ALPN protocols of the last ClientHello
	ts.TLS = &tls.Config{GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		offered.Store(strings.Join(hi.SupportedProtos, ","))
		return nil, nil
	}}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake fails, as expected
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)

	t.Run("untrusted", func(t *testing.T) {
		c := newClient(t, Config{Rate: -1, Capture: true})
		_, err := c.Fetch(context.Background(), Request{URL: ts.URL + "/tls"})
		if KindOf(err) != KindTLS {
			t.Errorf("got error %v of kind %v, want %v", err, KindOf(err), KindTLS)
		}
	})
	t.Run("trusted", func(t *testing.T) {
		trustServer(t, ts)
		c := newClient(t, Config{Rate: -1, Capture: true})
		resp, ex := fetchOne(t, c, ts.URL+"/tls")
		if string(resp.Body) != "secret" {
			t.Errorf("got Body %q, want %q", resp.Body, "secret")
		}
		if p, o := proto.Load(), offered.Load(); p != 1 || o != "http/1.1" {
			t.Errorf("server saw HTTP/%d, offered %q; want HTTP/1, offered \"http/1.1\" only", p, o)
		}
		if !ex.Raw || ex.IP != "127.0.0.1" {
			t.Errorf("got Raw %v IP %q, want true and 127.0.0.1", ex.Raw, ex.IP)
		}
		if !strings.HasPrefix(string(ex.Response), "HTTP/1.1 200 OK\r\n") || !bytes.Contains(ex.Response, []byte("\r\nX-Secure: yes\r\n")) {
			t.Errorf("got Response %q, want the plaintext HTTP/1.1 header", ex.Response)
		}
		if !strings.HasPrefix(string(ex.Request), "GET /tls HTTP/1.1\r\n") || string(ex.Payload) != "secret" {
			t.Errorf("got Request %q Payload %q", ex.Request, ex.Payload)
		}
	})
}

// TestCaptureRedirects: one exchange per hop, in order, each with the
// payload read of it.
func TestCaptureRedirects(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			w.Header().Set("Location", "/b")
			w.WriteHeader(http.StatusFound)
			fmt.Fprint(w, "moved")
		case "/big":
			// A body longer than net/http reads of a hop before closing it.
			w.Header().Set("Location", "/b")
			w.Header().Set("Content-Length", "10000")
			w.WriteHeader(http.StatusMovedPermanently)
			w.Write(bytes.Repeat([]byte("m"), 10000))
		case "/b":
			fmt.Fprint(w, "final")
		}
	})
	c := newClient(t, Config{Rate: -1, Capture: true, MaxRedirects: 5})
	for _, tc := range []struct {
		from          string
		status        int
		payload       string
		truncated     bool
		wantRedirects int
	}{
		{"/a", http.StatusFound, "moved", false, 1},
		{"/big", http.StatusMovedPermanently, "", true, 1},
	} {
		t.Run(strings.TrimPrefix(tc.from, "/"), func(t *testing.T) {
			resp, err := c.Fetch(context.Background(), Request{URL: ts.URL + tc.from})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Exchanges) != 2 {
				t.Fatalf("got %d exchanges, want 2", len(resp.Exchanges))
			}
			hop, last := resp.Exchanges[0], resp.Exchanges[1]
			if hop.URL != ts.URL+tc.from || hop.Status != tc.status || string(hop.Payload) != tc.payload || hop.Truncated != tc.truncated {
				t.Errorf("got hop %s %d Payload %q Truncated %v, want %s %d %q %v",
					hop.URL, hop.Status, hop.Payload, hop.Truncated, ts.URL+tc.from, tc.status, tc.payload, tc.truncated)
			}
			if !strings.HasPrefix(string(hop.Request), "GET "+tc.from+" HTTP/1.1\r\n") || !hop.Raw {
				t.Errorf("got hop Request %q Raw %v", hop.Request, hop.Raw)
			}
			if last.URL != ts.URL+"/b" || last.Status != 200 || string(last.Payload) != "final" || last.Truncated {
				t.Errorf("got last %s %d Payload %q Truncated %v, want %s/b 200 \"final\" false",
					last.URL, last.Status, last.Payload, last.Truncated, ts.URL)
			}
			if !strings.HasPrefix(string(last.Request), "GET /b HTTP/1.1\r\n") {
				t.Errorf("got last Request %q", last.Request)
			}
		})
	}
}

// TestCaptureRobots: the exchanges of a robots.txt fetch are taken once;
// rules from the caches have none.
func TestCaptureRobots(t *testing.T) {
	const rules = "User-agent: *\nDisallow: /secret\n"
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			http.Redirect(w, r, "/moved/robots.txt", http.StatusMovedPermanently)
		case "/moved/robots.txt":
			fmt.Fprint(w, rules)
		}
	})
	u := mustURL(t, ts.URL)
	cache := &mapRobotsCache{m: map[string]cachedRobots{}}
	c := newClient(t, Config{Rate: -1, Capture: true, RobotsCache: cache})
	rb, err := c.Robots(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	ex := rb.TakeExchanges()
	if len(ex) != 2 {
		t.Fatalf("got %d exchanges, want 2", len(ex))
	}
	if ex[0].URL != ts.URL+"/robots.txt" || ex[0].Status != 301 || ex[1].URL != ts.URL+"/moved/robots.txt" || ex[1].Status != 200 {
		t.Errorf("got %s %d then %s %d, want the redirect then the file", ex[0].URL, ex[0].Status, ex[1].URL, ex[1].Status)
	}
	if string(ex[1].Payload) != rules {
		t.Errorf("got Payload %q, want %q", ex[1].Payload, rules)
	}
	if again := rb.TakeExchanges(); again != nil {
		t.Errorf("second TakeExchanges gave %d exchanges, want nil", len(again))
	}
	rb2, err := c.Robots(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if got := rb2.TakeExchanges(); got != nil {
		t.Errorf("rules from the memory cache gave %d exchanges, want nil", len(got))
	}
	c2 := newClient(t, Config{Rate: -1, Capture: true, RobotsCache: cache}) // a resumed crawl
	rb3, err := c2.Robots(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if rb3.Allowed(mustURL(t, ts.URL+"/secret")) {
		t.Error("rules from the RobotsCache not applied")
	}
	if got := rb3.TakeExchanges(); got != nil {
		t.Errorf("rules from the RobotsCache gave %d exchanges, want nil", len(got))
	}
}

// TestCaptureCustomTransport: with a Transport of the caller's, the bytes
// are not seen: the messages are rebuilt, the payload still kept.
func TestCaptureCustomTransport(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test", "1")
		fmt.Fprint(w, "custom")
	})
	c := newClient(t, Config{Rate: -1, Capture: true, Transport: &http.Transport{DisableCompression: true}})
	_, ex := fetchOne(t, c, ts.URL+"/custom?q=1")
	if ex.Raw || ex.IP != "" {
		t.Errorf("got Raw %v IP %q, want false and none", ex.Raw, ex.IP)
	}
	host := strings.TrimPrefix(ts.URL, "http://")
	req := string(ex.Request)
	if !strings.HasPrefix(req, "GET /custom?q=1 HTTP/1.1\r\nHost: "+host+"\r\n") || !strings.HasSuffix(req, "\r\n\r\n") ||
		!strings.Contains(req, "\r\nUser-Agent: "+DefaultUserAgent+"\r\n") {
		t.Errorf("got Request %q, want it rebuilt", req)
	}
	resp := string(ex.Response)
	if !strings.HasPrefix(resp, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(resp, "\r\n\r\n") || !strings.Contains(resp, "\r\nX-Test: 1\r\n") {
		t.Errorf("got Response %q, want it rebuilt", resp)
	}
	if string(ex.Payload) != "custom" || ex.Truncated {
		t.Errorf("got Payload %q Truncated %v, want %q false", ex.Payload, ex.Truncated, "custom")
	}
}

// TestCaptureCustomBody: a body that reports its end only on the read
// after its last byte is whole once Content-Length bytes were read, as of
// a redirect hop that net/http reads up to 2 KiB of.
func TestCaptureCustomBody(t *testing.T) {
	hopBody := bytes.Repeat([]byte("h"), 2048)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp := &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Request: r,
			ContentLength: 4, Body: io.NopCloser(strings.NewReader("done"))}
		if r.URL.Path == "/hop" {
			resp.StatusCode, resp.Status = 302, "302 Found"
			resp.Header.Set("Location", "/done")
			resp.ContentLength = int64(len(hopBody))
			resp.Body = io.NopCloser(&stepReader{b: hopBody, step: 1 << 20})
		}
		return resp, nil
	})
	c := newClient(t, Config{Rate: -1, Capture: true, Transport: rt})
	resp, err := c.Fetch(context.Background(), Request{URL: "http://a.fetch.test/hop"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Exchanges) != 2 {
		t.Fatalf("got %d exchanges, want 2", len(resp.Exchanges))
	}
	if hop := resp.Exchanges[0]; !bytes.Equal(hop.Payload, hopBody) || hop.Truncated {
		t.Errorf("got hop Payload of %d bytes, Truncated %v; want %d, false", len(hop.Payload), hop.Truncated, len(hopBody))
	}
	if last := resp.Exchanges[1]; string(last.Payload) != "done" || last.Truncated || last.Started.IsZero() {
		t.Errorf("got Payload %q Truncated %v Started %v", last.Payload, last.Truncated, last.Started)
	}
}

// TestCaptureConcurrent: fetches sharing connections each get their own
// bytes, also when a response without a body hands its connection back
// before its RoundTrip returns.
func TestCaptureConcurrent(t *testing.T) {
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.Path)
		if r.URL.Path[1] == 'e' {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		fmt.Fprint(w, r.URL.Path)
	})
	c := newClient(t, Config{Rate: -1, Capture: true, MaxConnsPerHost: 2})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				method, path := "GET", fmt.Sprintf("/g%d-%d", g, i)
				if i%2 == 0 {
					method, path = "HEAD", fmt.Sprintf("/h%d-%d", g, i)
				}
				if i%3 == 0 {
					path = fmt.Sprintf("/e%d-%d", g, i) // 204
				}
				resp, err := c.Fetch(context.Background(), Request{URL: ts.URL + path, Method: method})
				if err != nil {
					t.Error(err)
					return
				}
				if len(resp.Exchanges) != 1 {
					t.Errorf("%s: got %d exchanges, want 1", path, len(resp.Exchanges))
					return
				}
				ex := resp.Exchanges[0]
				if !ex.Raw || !strings.HasPrefix(string(ex.Request), method+" "+path+" HTTP/1.1\r\n") ||
					!bytes.Contains(ex.Response, []byte("\r\nX-Path: "+path+"\r\n")) {
					t.Errorf("%s %s: got Raw %v Request %q Response %q", method, path, ex.Raw, ex.Request, ex.Response)
				}
			}
		}()
	}
	wg.Wait()
}

// TestCaptureOff: without Config.Capture, nothing is kept.
func TestCaptureOff(t *testing.T) {
	ts, _ := robotsServer(t, 200, "User-agent: *\nDisallow: /x\n")
	c := newClient(t, Config{Rate: -1})
	resp, err := c.Fetch(context.Background(), Request{URL: ts.URL + "/robots.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Exchanges != nil {
		t.Errorf("got %d exchanges, want nil", len(resp.Exchanges))
	}
	rb, err := c.Robots(context.Background(), mustURL(t, ts.URL))
	if err != nil {
		t.Fatal(err)
	}
	if got := rb.TakeExchanges(); got != nil {
		t.Errorf("got %d robots.txt exchanges, want nil", len(got))
	}
}

// scriptConn is a net.Conn that reads in from at most step bytes at a time
// and keeps what is written.
type scriptConn struct {
	net.Conn // nil: other methods are not used
	in       []byte
	step     int
	out      bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.step)], c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *scriptConn) Write(p []byte) (int, error) { return c.out.Write(p) }

// TestCaptureConnRecording: the header block recorded whatever the reads'
// sizes: its end found across reads, interim blocks dropped, the body and
// what is written after the header left out, a block over the limit given
// up.
func TestCaptureConnRecording(t *testing.T) {
	const get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	tests := []struct {
		name string
		in   string
		want string // "" with over
		over bool
	}{
		{"crlf", "HTTP/1.1 200 OK\r\nA: 1\r\n\r\nbody\r\n\r\n", "HTTP/1.1 200 OK\r\nA: 1\r\n\r\n", false},
		{"lf", "HTTP/1.1 200 OK\nA: 1\n\nbody\n\n", "HTTP/1.1 200 OK\nA: 1\n\n", false},
		{"lf-crlf", "HTTP/1.1 200 OK\nA: 1\n\r\nbody", "HTTP/1.1 200 OK\nA: 1\n\r\n", false},
		{"interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <x>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n", false},
		{"101 is final", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", false},
		{"over", "HTTP/1.1 200 OK\r\nA: " + strings.Repeat("x", 100) + "\r\n\r\n", "", true},
	}
	for _, tc := range tests {
		for _, step := range []int{1, 2, 3, 5, 4096} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, step), func(t *testing.T) {
				sc := &scriptConn{in: []byte(tc.in), step: step}
				cc := &captureConn{Conn: sc, limit: 80}
				var rec recording
				cc.begin(&rec)
				if _, err := io.WriteString(cc, get); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadAll(cc); err != nil {
					t.Fatal(err)
				}
				io.WriteString(cc, "GET /next HTTP/1.1\r\n\r\n") // after the header: not this request's
				got := cc.end(&rec)
				if got.over != tc.over || (!tc.over && (!got.done || string(got.resp) != tc.want)) {
					t.Errorf("got done %v over %v %q, want over %v %q", got.done, got.over, got.resp, tc.over, tc.want)
				}
				if !tc.over && string(got.req) != get {
					t.Errorf("got request %q, want %q", got.req, get)
				}
			})
		}
	}
}

func TestDropField(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTP/1.1 200 OK\r\nA: 1\r\nTransfer-Encoding: chunked\r\nB: 2\r\n\r\n", "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n"},
		{"HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: gzip\r\ntransfer-encoding: chunked\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n \tchunked\r\nB: 2\r\n\r\n", "HTTP/1.1 200 OK\r\nB: 2\r\n\r\n"},
		{"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nB: 2\n\n", "HTTP/1.1 200 OK\nB: 2\n\n"},
		{"HTTP/1.1 200 OK\r\nX-Transfer-Encoding: a\r\nTransfer-Encodings: b\r\n\r\n", "HTTP/1.1 200 OK\r\nX-Transfer-Encoding: a\r\nTransfer-Encodings: b\r\n\r\n"},
		{"Transfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding: chunked\r\n\r\n"}, // a start line is kept
	}
	for _, tc := range tests {
		if got := dropField([]byte(tc.in), "Transfer-Encoding"); string(got) != tc.want {
			t.Errorf("dropField(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func BenchmarkFetchCapture(b *testing.B) {
	page := bytes.Repeat([]byte("<p>0123456789 abcdefghijklmnopqrstuvwxyz</p>\n"), 300)[:10_000]
	ts := serve(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write(page)
	})
	for _, capture := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[capture]
		b.Run(name, func(b *testing.B) {
			c := newClient(b, Config{Rate: -1, Capture: capture})
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				resp, err := c.Fetch(ctx, Request{URL: ts.URL})
				if err != nil || len(resp.Body) != len(page) || (len(resp.Exchanges) == 1) != capture {
					b.Fatalf("got %v, %d bytes, %d exchanges", err, len(resp.Body), len(resp.Exchanges))
				}
			}
		})
	}
}
