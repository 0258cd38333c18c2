package render

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file is the proxy's side of HTTPS: a CONNECT tunnel is not relayed
// to a server but ended in the proxy, which speaks TLS to the browser with
// certificates of its own and serves the requests read from it as it
// serves plain proxy requests (see Proxy).

// Lifetimes and limits of the proxy's certificates.
const (
	caLifetime     = 365 * 24 * time.Hour // the CA's NotAfter, from NewProxy
	leafLifetime   = 7 * 24 * time.Hour   // a leaf certificate's NotAfter, from its making
	leafRenew      = 24 * time.Hour       // a leaf closer than this to its end is made again
	certBackdate   = time.Hour            // NotBefore is this much before now: clocks differ
	maxLeafCerts   = 1000                 // leaf certificates kept, by name
	tunnelSetupMax = proxyReadHeader      // bounds the wait for the ClientHello and the handshake
)

// tunnelCA is the certificate authority of one Proxy, made in memory by
// NewProxy and never written anywhere: it signs a leaf certificate for each
// name the browser asks for, all with one key (so that the browser can be
// told to accept that one key: see Proxy.CertSPKI).
type tunnelCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	leafKey *ecdsa.PrivateKey
	spki    string // base64 SHA-256 of leafKey's SubjectPublicKeyInfo

	mu     sync.Mutex
	leaves map[string]*tls.Certificate // by name; requires mu
}

func newTunnelCA() (*tunnelCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"trawl"}, CommonName: "trawl render proxy CA " + serial.Text(16)[:8]},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&leafKey.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pub)
	return &tunnelCA{
		cert:    cert,
		key:     key,
		leafKey: leafKey,
		spki:    base64.StdEncoding.EncodeToString(sum[:]),
		leaves:  make(map[string]*tls.Certificate),
	}, nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// leaf returns the certificate for name (a host name or an IP address),
// made at the first call and kept while it has more than leafRenew to
// live. At most maxLeafCerts are kept: when full, one is dropped.
func (ca *tunnelCA) leaf(name string) (*tls.Certificate, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name == "" {
		return nil, errors.New("render: no name for the certificate")
	}
	now := time.Now()
	ca.mu.Lock()
	c := ca.leaves[name]
	ca.mu.Unlock()
	if c != nil && now.Before(c.Leaf.NotAfter.Add(-leafRenew)) {
		return c, nil
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-certBackdate),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	if ip, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		tmpl.IPAddresses = []net.IP{ip.Unmap().AsSlice()}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &ca.leafKey.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("render: certificate for %q: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c = &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: ca.leafKey, Leaf: leaf}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if _, ok := ca.leaves[name]; !ok && len(ca.leaves) >= maxLeafCerts {
		for k := range ca.leaves { // drop any one
			delete(ca.leaves, k)
			break
		}
	}
	ca.leaves[name] = c
	return c, nil
}

// CACert returns the certificate of the proxy's own certificate authority,
// made by NewProxy (an ECDSA P-256 key that exists only in this process's
// memory, valid for a year), which signs the certificates the proxy shows
// in the tunnels it ends. A client other than Chromium (a Go http.Client in
// a test, say) that trusts it (tls.Config.RootCAs) can send https requests
// through the proxy. Trust it in nothing else. The caller must not modify
// it.
func (p *Proxy) CACert() *x509.Certificate { return p.ca.cert }

// CertSPKI returns the base64 SHA-256 hash of the SubjectPublicKeyInfo of
// the one key of every certificate the proxy shows in its tunnels (RFC 7469
// section 2.4), for Options.ProxyCertSPKI: the browser then accepts these
// certificates (Chromium's --ignore-certificate-errors-spki-list), and
// renders https pages through the proxy.
func (p *Proxy) CertSPKI() string { return p.ca.spki }

// tunnel is what a request read inside a CONNECT tunnel knows of it.
type tunnel struct {
	host string // hostname of the CONNECT authority, lower-case, without brackets
	port string // its port
}

// origin returns the tunnel's authority as an https URL's host: without
// the default port 443, IPv6 in brackets.
func (t *tunnel) origin() string {
	h := t.host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if t.port == "443" {
		return h
	}
	return h + ":" + t.port
}

// matches reports whether hostport, a Host header or the host of an
// absolute URL, names the tunnel's host and port (443 when it has none).
func (t *tunnel) matches(hostport string) bool {
	host, port := hostport, "443"
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == t.host && port == t.port
}

// requestURL returns the https URL of r, a request read inside t, or the
// error of its refusal with its status.
func (t *tunnel) requestURL(r *http.Request) (*url.URL, int, error) {
	if r.URL.IsAbs() { // absolute form, as a proxy request: allowed if for this tunnel
		if !strings.EqualFold(r.URL.Scheme, "https") || r.URL.Host == "" {
			return nil, http.StatusBadRequest, ErrNotProxyRequest
		}
		if !t.matches(r.URL.Host) {
			return nil, http.StatusForbidden, ErrTunnelHost
		}
	} else if !strings.HasPrefix(r.RequestURI, "/") {
		return nil, http.StatusBadRequest, ErrNotProxyRequest // "*", or an authority
	}
	if r.Host != "" && !t.matches(r.Host) {
		return nil, http.StatusForbidden, ErrTunnelHost
	}
	return &url.URL{
		Scheme:     "https",
		Host:       t.origin(),
		Path:       r.URL.Path,
		RawPath:    r.URL.RawPath,
		RawQuery:   r.URL.RawQuery,
		ForceQuery: r.URL.ForceQuery,
	}, 0, nil
}

// parseAuthority splits a CONNECT authority "host:port" into a tunnel, or
// fails.
func parseAuthority(authority string) (*tunnel, error) {
	host, port, err := net.SplitHostPort(authority)
	if err != nil {
		return nil, err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return nil, fmt.Errorf("bad port %q", port)
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || strings.ContainsAny(host, "/?#@ \t\r\n%") {
		return nil, fmt.Errorf("bad host %q", host)
	}
	return &tunnel{host: host, port: port}, nil
}

// tunnelKey is the context key of a request's *tunnel.
type tunnelKey struct{}

// tunnelOf returns the tunnel r was read from, or nil for a plain proxy
// request.
func tunnelOf(r *http.Request) *tunnel {
	t, _ := r.Context().Value(tunnelKey{}).(*tunnel)
	return t
}

// tunnelConn is a connection of the tunnel server: the TLS connection of
// one CONNECT, its handshake done.
type tunnelConn struct {
	net.Conn // a *tls.Conn
	t        *tunnel
}

// tunnelContext is the tunnel server's ConnContext: it puts the tunnel of
// a connection in the context of its requests.
func tunnelContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tunnelConn); ok {
		return context.WithValue(ctx, tunnelKey{}, tc.t)
	}
	return ctx
}

// connListener is the tunnel server's listener: it hands over the
// connections that connect sends it.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{conns: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

// hand gives c to the server, or closes it and returns false when the
// listener is closed.
func (l *connListener) hand(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		c.Close()
		return false
	}
}

// prefixConn is a connection whose first bytes were already read: Read
// returns them first.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// tlsRecordHandshake is the first byte of a TLS ClientHello (a handshake
// record).
const tlsRecordHandshake = 0x16

// connect answers the CONNECT r (its entry e) by ending the tunnel in the
// proxy: see Proxy. It returns once the tunnel is handed to the tunnel
// server, or failed.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request, e ProxyEntry) ProxyEntry {
	t, err := parseAuthority(r.Host)
	if err != nil {
		return refuse(w, e, http.StatusBadRequest, fmt.Errorf("%w: CONNECT %q: %v", ErrNotProxyRequest, r.Host, err))
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return refuse(w, e, http.StatusInternalServerError, fmt.Errorf("%w: cannot take the connection over", ErrTunnel))
	}
	raw, brw, err := hj.Hijack()
	if err != nil {
		e.Allowed, e.Err = true, err
		return e
	}
	// From here, Close ends the setup by closing the connection.
	stop := context.AfterFunc(p.ctx, func() { raw.Close() })
	handed := false
	defer func() {
		stop()
		if !handed {
			raw.Close()
		}
	}()
	e.Allowed, e.Status = true, http.StatusOK
	raw.SetDeadline(time.Now().Add(tunnelSetupMax))
	if _, err := io.WriteString(raw, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		e.Status, e.Err = 0, err
		return e
	}
	// The bytes the server read past the request, then the connection.
	var prefix []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		prefix = bytes.Clone(b)
	}
	if len(prefix) == 0 {
		b := make([]byte, 1)
		if _, err := io.ReadFull(raw, b); err != nil {
			e.Err = fmt.Errorf("render: tunnel: the browser sent nothing: %w", err)
			return e
		}
		prefix = b
	}
	if prefix[0] != tlsRecordHandshake {
		// Not TLS: a ws:// WebSocket, which Chromium tunnels through
		// an HTTP proxy, or anything else trawl could not check.
		e.Allowed, e.Err = false, ErrTunnel
		return e
	}
	conn := &prefixConn{Conn: raw, r: io.MultiReader(bytes.NewReader(prefix), raw)}
	tc := tls.Server(conn, &tls.Config{
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := hello.ServerName
			if name == "" {
				name = t.host
			}
			return p.ca.leaf(name)
		},
	})
	if err := tc.HandshakeContext(p.ctx); err != nil {
		e.Err = fmt.Errorf("render: tunnel: TLS handshake: %w", err)
		return e
	}
	raw.SetDeadline(time.Time{})
	if !stop() { // the proxy is closing: the AfterFunc closed raw
		e.Err = errProxyClosing
		return e
	}
	handed = p.tunnels.hand(&tunnelConn{Conn: tc, t: t})
	if !handed {
		e.Err = errProxyClosing
	}
	return e
}

// errProxyClosing is the error of a tunnel set up while the proxy closed.
var errProxyClosing = errors.New("render: proxy closing")
