package fetch

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Exchange is one HTTP request and its response as they went over the
// wire, kept when Config.Capture is set so that they can be archived
// (store.WARC writes them as WARC request and response records).
//
// The request and the response header are the bytes exchanged: the
// request line and header fields as sent, the status line and header
// fields as received, in their order and case, 1xx interim responses
// left out. The payload is the entity body as received, before content
// decoding (a gzip body stays gzip) and after transfer decoding: a
// chunked body is stored unchunked and its Transfer-Encoding field is
// removed from Response, which leaves the message's end to the archive
// record's length. When the bytes cannot be seen (HTTP/2, HTTPS through a
// proxy, a custom Config.Transport), Request and Response are rebuilt
// from the parsed message as HTTP/1.1 and Raw is false.
type Exchange struct {
	// URL is the request's URL, as sent (its password hidden).
	URL string
	// Method is the request's method.
	Method string
	// Started is when the request was sent.
	Started time.Time
	// IP is the address of the server that answered, without port; empty
	// when not known (through a proxy, a custom Transport).
	IP string
	// Request is the request line and header block as sent, ending in an
	// empty line ("\r\n\r\n"). Requests have no body (GET and HEAD).
	Request []byte
	// Response is the status line and header block as received, ending in
	// an empty line, without a Transfer-Encoding field.
	Response []byte
	// Status is the response's status code.
	Status int
	// Payload is the entity body as received (transfer coding removed,
	// content coding kept). For a body without content coding it shares
	// its bytes with Response.Body: do not change it.
	Payload []byte
	// Truncated is set when Payload is not the whole body: the body was
	// longer than what was read (Config.MaxBody, or the body of a
	// redirect hop that was not read to its end). For a content-coded
	// body it means the wire body was not read to its end: a gzip body
	// received whole whose decoded form was cut at MaxBody is whole here.
	// A HEAD response has no body, and is not truncated.
	Truncated bool
	// Raw is true when Request and Response are the bytes on the wire,
	// false when they were rebuilt from the parsed messages.
	Raw bool
}

// This file keeps the Exchanges of Config.Capture. Three pieces work
// together:
//
//   - captureConn wraps each connection of the transport New builds (plain
//     TCP, or the TLS connection it then dials itself, see captureDialers)
//     and records, for the request it currently serves, the bytes written
//     and the bytes read up to the end of the final response header block;
//   - captureTransport, the innermost of the client's RoundTrippers, sees
//     every request as sent (redirect hops included), learns through
//     httptrace which connection carried it and makes its Exchange,
//     rebuilt from the parsed messages when the bytes were not seen;
//   - captureBody, the response body it hands on, keeps the bytes read
//     from it as the Exchange's payload (readBody shares Response.Body
//     instead when the body has no content coding).

// captureTLSConfig returns the base configuration of the TLS connections
// the transport dials itself when Config.Capture is set; nil means the
// defaults (system roots). Tests replace it to trust their servers.
var captureTLSConfig = func() *tls.Config { return nil }

// captureHeaderSlack is how much a response header block may exceed the
// transport's MaxResponseHeaderBytes and still be recorded.
const captureHeaderSlack = 64 << 10

// dialFunc is the signature of http.Transport.DialContext.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// captureDialers makes t dial, through dial (newTransport's dialer, with
// the address guard and Resolve), connections that record what they carry,
// and do TLS itself for https without a proxy, offering HTTP/1.1 only: t
// cannot speak HTTP/2 over a connection that is not a *tls.Conn, and
// HTTP/1.1's bytes are what an archive stores. t's TLSHandshakeTimeout does
// not apply to a custom TLS dialer, so it is applied here.
func captureDialers(t *http.Transport, dial dialFunc) {
	limit := int(t.MaxResponseHeaderBytes) + captureHeaderSlack
	timeout := t.TLSHandshakeTimeout
	base := captureTLSConfig()
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &captureConn{Conn: conn, addr: addr, limit: limit}, nil
	}
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := &tls.Config{}
		if base != nil {
			cfg = base.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		hctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			conn.Close()
			if ctx.Err() == nil && hctx.Err() != nil {
				err = tlsHandshakeTimeout{}
			}
			return nil, err
		}
		return &captureConn{Conn: tc, addr: addr, limit: limit}, nil
	}
}

// tlsHandshakeTimeout is the failure of a handshake that outlasted the
// transport's TLSHandshakeTimeout; net/http reports its own likewise.
type tlsHandshakeTimeout struct{}

func (tlsHandshakeTimeout) Error() string   { return "fetch: TLS handshake timeout" }
func (tlsHandshakeTimeout) Timeout() bool   { return true }
func (tlsHandshakeTimeout) Temporary() bool { return true }

// captureConn is a connection that records the bytes of the request it
// serves into a recording. An HTTP/1.1 connection serves one request at a
// time: captureTransport points cur at a request's recording when the
// transport hands the connection to the request (httptrace's GotConn,
// before the request is written), and the connection stops recording at
// the end of the final response header block. The transport's read loop
// reads while the request's goroutine starts and ends recordings: mu
// guards cur and the recording it points to.
type captureConn struct {
	net.Conn
	addr  string // "host:port" as dialed: the URL's for a direct connection
	limit int    // most bytes recorded of a request or of a response header

	mu  sync.Mutex
	cur *recording // nil: not recording
}

func (c *captureConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if r := c.cur; r != nil && r.read(p[:n], c.limit) {
			c.cur = nil
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *captureConn) Write(p []byte) (int, error) {
	// Recorded before it is written: the response may be read before
	// Write returns.
	c.mu.Lock()
	if r := c.cur; r != nil && r.write(p, c.limit) {
		c.cur = nil
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// begin makes c record into r, emptied, from now on.
func (c *captureConn) begin(r *recording) {
	c.mu.Lock()
	*r = recording{}
	c.cur = r
	c.mu.Unlock()
}

// end stops c recording into r, if it still does, and returns r's state.
func (c *captureConn) end(r *recording) recording {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == r {
		c.cur = nil
	}
	return *r
}

// direct reports whether c was dialed to u's host and port rather than to
// a proxy. The transport dials "host:port" with the URL's host in ASCII
// (IDNA) and the scheme's port when the URL has none.
func (c *captureConn) direct(u *url.URL) bool {
	host := u.Hostname()
	for i := 0; i < len(host); i++ {
		if host[i] >= utf8.RuneSelf {
			if a, err := idna.Lookup.ToASCII(host); err == nil {
				host = a
			}
			break
		}
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	dialedHost, dialedPort, err := net.SplitHostPort(c.addr)
	return err == nil && dialedPort == port && strings.EqualFold(dialedHost, host)
}

// ip is the address c is connected to, without port.
func (c *captureConn) ip() string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return ""
	}
	return host
}

// recording is what a captureConn records for one request: the bytes
// written, and the bytes read up to the end of the final response header
// block, 1xx interim blocks left out. Its fields are guarded by the mu of
// the conn whose cur points to it (see captureConn.end).
type recording struct {
	req  []byte
	resp []byte
	scan int  // where to resume looking for the end of the header block in resp
	done bool // resp is the final header block, whole
	over bool // more than the limit: what was recorded is not whole
}

// write records p, about to be written, and reports whether the
// recording is over.
func (r *recording) write(p []byte, limit int) bool {
	if len(r.req)+len(p) > limit {
		r.over = true
		return true
	}
	r.req = append(r.req, p...)
	return false
}

// read records p, just read, and reports whether the recording is over:
// the final header block is whole, or it would exceed limit bytes.
func (r *recording) read(p []byte, limit int) bool {
	if len(r.resp) == 0 {
		// Most header blocks arrive whole in one read: find their end in
		// p, and keep an exact copy rather than the read's buffer.
		for len(p) > 0 {
			end, _ := headerEnd(p, 0)
			if end < 0 {
				break
			}
			if interim(p[:end]) {
				p = p[end:]
				continue
			}
			if end > limit {
				r.over = true
				return true
			}
			r.resp, r.done = bytes.Clone(p[:end]), true
			return true
		}
		if len(p) == 0 {
			return false
		}
		r.scan = 0
	}
	cut := len(p) > limit-len(r.resp)
	if cut {
		p = p[:limit-len(r.resp)]
	}
	r.resp = append(r.resp, p...)
	for {
		end, next := headerEnd(r.resp, r.scan)
		if end < 0 {
			r.scan = next
			r.over = cut
			return cut
		}
		if interim(r.resp[:end]) {
			r.resp = r.resp[:copy(r.resp, r.resp[end:])]
			r.scan = 0
			continue
		}
		r.resp, r.done = r.resp[:end:end], true
		return true
	}
}

// headerEnd returns the length of the header block at the start of b, up
// to and including the empty line that ends it ("\r\n\r\n", or a bare
// "\n\n"), or -1 when b does not hold its end yet; the search starts at
// from, and next is where to resume it once b has grown.
func headerEnd(b []byte, from int) (end, next int) {
	for {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return -1, len(b)
		}
		i += from
		switch {
		case i+1 == len(b):
			return -1, i
		case b[i+1] == '\n':
			return i + 2, 0
		case b[i+1] == '\r':
			if i+2 == len(b) {
				return -1, i
			}
			if b[i+2] == '\n' {
				return i + 3, 0
			}
		}
		from = i + 1
	}
}

// interim reports whether the header block b is a 1xx interim response,
// which another block follows. 101 Switching Protocols is final, as for
// net/http.
func interim(b []byte) bool {
	_, status, ok := bytes.Cut(b, []byte(" "))
	status = bytes.TrimLeft(status, " ")
	if !ok || len(status) < 3 || status[0] != '1' {
		return false
	}
	digit := func(c byte) bool { return '0' <= c && c <= '9' }
	return digit(status[1]) && digit(status[2]) && string(status[:3]) != "101"
}

// dropField removes from the header block b, in place, the field lines
// named name (compared without regard to case) with their obs-fold
// continuation lines, keeping every other byte. The start line is kept.
func dropField(b []byte, name string) []byte {
	i := bytes.IndexByte(b, '\n') + 1
	if i == 0 {
		return b
	}
	out := i
	for i < len(b) {
		end := len(b)
		if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
			end = i + j + 1
		}
		line := b[i:end]
		i = end
		if len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(string(line[:len(name)]), name) {
			for i < len(b) && (b[i] == ' ' || b[i] == '\t') { // obs-fold
				end = len(b)
				if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
					end = i + j + 1
				}
				i = end
			}
			continue
		}
		out += copy(b[out:], line)
	}
	return b[:out]
}

// captureTransport makes the Exchange of every request it carries and
// appends it to the fetchState of the request's context; requests without
// one pass as they are. It is the innermost of the client's transports
// (inside hookTransport), so it sees the requests as they are sent, the
// hops net/http follows included.
type captureTransport struct {
	next http.RoundTripper
}

// hop is what captureTransport learns of one request through httptrace.
type hop struct {
	mu      sync.Mutex
	conn    *captureConn // that served the request; nil if none of ours
	started time.Time    // when the connection was handed to the request
	rec     recording    // guarded by conn.mu
}

// gotConn is the request's httptrace.ClientTrace.GotConn.
func (h *hop) gotConn(info httptrace.GotConnInfo) {
	cc, _ := info.Conn.(*captureConn)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil && h.conn != cc { // the transport retried on another connection
		h.conn.end(&h.rec)
	}
	if cc != nil {
		cc.begin(&h.rec)
	}
	h.conn, h.started = cc, time.Now()
}

// done ends the recording of the request and returns what h learnt.
func (h *hop) done() (conn *captureConn, rec recording, started time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil {
		rec = h.conn.end(&h.rec)
	}
	return h.conn, rec, h.started
}

func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st, _ := req.Context().Value(stateKey{}).(*fetchState)
	if st == nil {
		return t.next.RoundTrip(req)
	}
	h := &hop{}
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: h.gotConn})
	sent := time.Now()
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	conn, rec, started := h.done()
	if err != nil {
		return nil, err
	}
	if started.IsZero() {
		started = sent // a custom transport that does not trace
	}
	ex := &Exchange{
		URL:     urlString(req.URL),
		Method:  req.Method,
		Started: started,
		Status:  resp.StatusCode,
	}
	if conn != nil {
		direct := conn.direct(req.URL)
		if direct {
			ex.IP = conn.ip()
		}
		if rec.done && !rec.over {
			ex.Request, ex.Response, ex.Raw = rec.req, dropField(rec.resp, "Transfer-Encoding"), true
			if !direct { // the proxy's credentials are not the exchange's
				ex.Request = dropField(ex.Request, "Proxy-Authorization")
			}
		}
	}
	if !ex.Raw {
		ex.Request, ex.Response = rebuildRequest(req), rebuildResponse(resp)
	}
	if resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = &captureBody{ReadCloser: resp.Body, ex: ex, size: resp.ContentLength, keep: true}
		ex.Truncated = true // until read to its end
	}
	st.exchanges = append(st.exchanges, ex)
	return resp, nil
}

// CloseIdleConnections forwards to the wrapped transport.
func (t *captureTransport) CloseIdleConnections() {
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

var (
	rebuildRequestSkip  = map[string]bool{"Host": true}
	rebuildResponseSkip = map[string]bool{"Transfer-Encoding": true}
)

// rebuildRequest writes req as HTTP/1.1 would send it, for a request whose
// bytes were not seen: request line, Host, the header fields (in
// http.Header.Write's order) and the empty line.
func rebuildRequest(req *http.Request) []byte {
	var b bytes.Buffer
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	b.WriteString(req.Method)
	b.WriteByte(' ')
	b.WriteString(req.URL.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(host)
	b.WriteString("\r\n")
	req.Header.WriteSubset(&b, rebuildRequestSkip)
	b.WriteString("\r\n")
	return b.Bytes()
}

// rebuildResponse writes the header block of resp as HTTP/1.1, without
// Transfer-Encoding, for a response whose bytes were not seen.
func rebuildResponse(resp *http.Response) []byte {
	var b bytes.Buffer
	status := resp.Status
	if status == "" {
		status = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	b.WriteString("HTTP/1.1 ")
	b.WriteString(status)
	b.WriteString("\r\n")
	resp.Header.WriteSubset(&b, rebuildResponseSkip)
	b.WriteString("\r\n")
	return b.Bytes()
}

// captureBody is a response body that appends the bytes read from it to
// its Exchange's Payload and clears Truncated once it is read to its end.
// It is read by one goroutine at a time, as every body: the http.Client
// for a redirect hop, the fetch for the final response.
type captureBody struct {
	io.ReadCloser
	ex   *Exchange
	size int64 // Content-Length; -1 if unknown
	n    int64 // bytes read
	keep bool  // copy what is read to ex.Payload
}

func (b *captureBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		if b.keep {
			if b.ex.Payload == nil && b.size > 0 {
				// Sized for the whole body, but a redirect's body, or a
				// coded body cut at MaxBody, is seldom read to its end.
				b.ex.Payload = make([]byte, 0, min(b.size, 64<<10))
			}
			b.ex.Payload = append(b.ex.Payload, p[:n]...)
		}
		b.n += int64(n)
	}
	if err == io.EOF || b.n == b.size {
		b.ex.Truncated = false
	}
	return n, err
}

// share stops b from copying what is read: the caller reads a body
// without content coding and will give its bytes (see setPayload).
func (b *captureBody) share() { b.keep = false }

// setPayload makes body, what was read of a body without content coding,
// the Exchange's Payload; truncated tells that the body was longer.
func (b *captureBody) setPayload(body []byte, truncated bool) {
	b.ex.Payload, b.ex.Truncated = body, truncated
}

// exchangeBytes is the memory ex holds beyond body, which the payload of
// the last exchange may share.
func exchangeBytes(ex []*Exchange, body []byte) int {
	n := 0
	for _, e := range ex {
		n += len(e.Request) + len(e.Response)
		if len(e.Payload) == 0 || len(body) == 0 || &e.Payload[0] != &body[0] {
			n += len(e.Payload)
		}
	}
	return n
}
