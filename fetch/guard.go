package fetch

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
)

// The address guard (see Config.AllowPrivate) refuses connections to
// addresses of the client's own network, in two places:
//
//   - at dial time, on every address the dialer is about to connect to,
//     after DNS (net.Dialer.ControlContext runs before connect(2)), so no
//     packet reaches a refused address, whatever name led to it: a link, a
//     redirect hop, a DNS answer that changed (rebinding);
//   - before a request is sent or waits for its host's limiter, when the
//     URL's host is an IP literal: a cheap early refusal, which also covers
//     requests that a proxy would connect for.
//
// Hosts the user named (Config.AllowHosts, the hosts of Config.Resolve) and
// the proxies taken from the environment are dialed without the check.

// blocked4 lists the IPv4 ranges the guard refuses, with the reason given.
var blocked4 = []struct {
	p      netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},     // "this network" (RFC 791); 0.0.0.0 reaches the local host
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},        // RFC 1918
	{netip.MustParsePrefix("100.64.0.0/10"), "cgnat"},       // RFC 6598 shared address space
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},      // RFC 1122
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"}, // RFC 3927; cloud metadata at 169.254.169.254
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},     // RFC 1918
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},     // RFC 6890 IETF protocol assignments
	{netip.MustParsePrefix("192.0.2.0/24"), "reserved"},     // RFC 5737 documentation (TEST-NET-1)
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},    // RFC 1918
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved"},    // RFC 2544 benchmarking
	{netip.MustParsePrefix("198.51.100.0/24"), "reserved"},  // RFC 5737 documentation (TEST-NET-2)
	{netip.MustParsePrefix("203.0.113.0/24"), "reserved"},   // RFC 5737 documentation (TEST-NET-3)
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},     // RFC 5771
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},      // RFC 1112, with broadcast 255.255.255.255
}

// IPv6 prefixes with a rule of their own in blockedIPv6.
var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052: IPv4 in the last 32 bits
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215 local-use NAT64
	siteLocal      = netip.MustParsePrefix("fec0::/10")      // RFC 3879, deprecated but routable on a site
	teredo         = netip.MustParsePrefix("2001::/32")      // RFC 4380
	benchmark6     = netip.MustParsePrefix("2001:2::/48")    // RFC 5180
	doc6           = netip.MustParsePrefix("2001:db8::/32")  // RFC 3849 documentation
	doc6b          = netip.MustParsePrefix("3fff::/20")      // RFC 9637 documentation
	sixToFour      = netip.MustParsePrefix("2002::/16")      // RFC 3056: IPv4 in bits 16-48
)

// blockedAddr reports whether the address guard refuses to connect to ip,
// and why: "unspecified", "loopback", "private", "link-local", "cgnat",
// "multicast" or "reserved". A zone (fe80::1%eth0) is ignored.
//
// IPv4: the ranges in blocked4 (RFC 6890 special-purpose addresses that are
// not globally reachable, with the documentation ranges).
//
// IPv6: only global unicast (2000::/3) and the well-known NAT64 prefix
// 64:ff9b::/96 are allowed, less these ranges:
//
//   - an address that embeds an IPv4 address is judged by it: IPv4-mapped
//     ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:AABB:CCDD::/48,
//     Teredo 2001::/32 (refused if its server or its client address is);
//     IPv4-compatible ::a.b.c.d (deprecated, RFC 4291) is refused even for
//     a public IPv4 address, as "reserved";
//   - documentation (2001:db8::/32, 3fff::/20) and benchmarking
//     (2001:2::/48): "reserved"; local-use NAT64 64:ff9b:1::/48: "private".
//
// Outside 2000::/3 everything else is refused: ::, ::1, fc00::/7 (unique
// local, "private"), fec0::/10 (site-local, "private"), fe80::/10
// (link-local), ff00::/8 (multicast), and the rest ("reserved": unassigned,
// discard-only 100::/64, IPv4-translated ::ffff:0:a.b.c.d, SRv6 5f00::/16).
func blockedAddr(ip netip.Addr) (reason string, blocked bool) {
	ip = ip.WithZone("")
	switch {
	case !ip.IsValid():
		return "invalid", true
	case ip.Is4In6():
		return blockedIPv4(ip.Unmap())
	case ip.Is4():
		return blockedIPv4(ip)
	}
	return blockedIPv6(ip)
}

func blockedIPv4(ip netip.Addr) (string, bool) {
	for _, b := range blocked4 {
		if b.p.Contains(ip) {
			return b.reason, true
		}
	}
	return "", false
}

func blockedIPv6(ip netip.Addr) (string, bool) {
	b := ip.As16()
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte(b[i : i+4])) }
	switch {
	case ip == netip.IPv6Unspecified():
		return "unspecified", true
	case ip == netip.IPv6Loopback():
		return "loopback", true
	case ip.IsMulticast():
		return "multicast", true
	case ip.IsLinkLocalUnicast():
		return "link-local", true
	case ip.IsPrivate(), siteLocal.Contains(ip), nat64Local.Contains(ip):
		return "private", true
	case [12]byte(b[:12]) == [12]byte{}: // IPv4-compatible ::a.b.c.d
		if r, bad := blockedIPv4(v4(12)); bad {
			return r, true
		}
		return "reserved", true
	case nat64WellKnown.Contains(ip):
		return blockedIPv4(v4(12))
	case sixToFour.Contains(ip):
		return blockedIPv4(v4(2))
	case teredo.Contains(ip):
		if r, bad := blockedIPv4(v4(4)); bad { // the Teredo server
			return r, true
		}
		client := [4]byte(b[12:16]) // stored inverted
		for i := range client {
			client[i] ^= 0xff
		}
		return blockedIPv4(netip.AddrFrom4(client))
	case benchmark6.Contains(ip), doc6.Contains(ip), doc6b.Contains(ip):
		return "reserved", true
	case b[0]&0xe0 != 0x20: // not global unicast 2000::/3
		return "reserved", true
	}
	return "", false
}

// guard is the address guard of the transport New builds. A nil *guard
// allows everything (AllowPrivate, or a Config.Transport). It is safe for
// concurrent use; only proxies changes after newGuard.
type guard struct {
	names   map[string]struct{}     // host names the user named: lower case, no trailing dot
	ips     map[netip.Addr]struct{} // IP literals the user named: unmapped, no zone
	proxies sync.Map                // "host:port" (lower case) of proxies the transport uses -> struct{}
}

// newGuard returns the guard for cfg, or nil when it does not apply.
func newGuard(cfg Config) *guard {
	if cfg.AllowPrivate || cfg.Transport != nil {
		return nil
	}
	g := &guard{names: make(map[string]struct{}), ips: make(map[netip.Addr]struct{})}
	add := func(h string) {
		h = strings.TrimSpace(h)
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host // tolerate "host:port" and "[::1]:port"
		}
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if ip, err := netip.ParseAddr(h); err == nil {
			g.ips[ip.Unmap().WithZone("")] = struct{}{}
		} else if h != "" {
			g.names[canonName(h)] = struct{}{}
		}
	}
	for _, h := range cfg.AllowHosts {
		add(h)
	}
	for hp := range cfg.Resolve {
		add(hp)
	}
	return g
}

// canonName is the form host names are compared in: lower case, without a
// trailing dot.
func canonName(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// ipLiteral parses host (without brackets) as an IP address when it looks
// like one; ok is false for host names. The look is checked first so that
// names cost no parse error.
func ipLiteral(host string) (ip netip.Addr, ok bool) {
	if host == "" {
		return ip, false
	}
	if strings.IndexByte(host, ':') < 0 {
		for i := 0; i < len(host); i++ {
			if c := host[i]; (c < '0' || c > '9') && c != '.' {
				return ip, false
			}
		}
	}
	ip, err := netip.ParseAddr(host)
	return ip, err == nil
}

// named reports whether the user named host (without brackets or port).
func (g *guard) named(host string) bool {
	if ip, ok := ipLiteral(host); ok {
		_, named := g.ips[ip.Unmap().WithZone("")]
		return named
	}
	_, named := g.names[canonName(host)]
	return named
}

// checkURL is the early check: it refuses u when its host is an IP literal
// in a refused range that the user did not name. Host names pass; their
// addresses are checked when dialed.
func (g *guard) checkURL(u *url.URL) error {
	if g == nil {
		return nil
	}
	host := u.Hostname()
	ip, ok := ipLiteral(host)
	if !ok {
		return nil
	}
	if _, named := g.ips[ip.Unmap().WithZone("")]; named {
		return nil
	}
	if reason, bad := blockedAddr(ip); bad {
		return blockedError(ip, reason, host)
	}
	return nil
}

func blockedError(ip netip.Addr, reason, host string) error {
	return fmt.Errorf("%w %s (%s) for host %s; allow it with Config.AllowHosts or Config.AllowPrivate",
		ErrBlockedAddress, ip.WithZone(""), reason, host)
}

// checkDialed is the dial-time check of address ("ip:port", as about to be
// connected to) dialed for host. An address that does not parse is refused.
func checkDialed(host, address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot check address %q dialed for host %s", ErrBlockedAddress, address, host)
	}
	if reason, bad := blockedAddr(ap.Addr()); bad {
		return blockedError(ap.Addr(), reason, host)
	}
	return nil
}

// control returns the net.Dialer.ControlContext that checks every address
// dialed for host before connect(2).
func (g *guard) control(host string) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(_ context.Context, _, address string, _ syscall.RawConn) error {
		return checkDialed(host, address)
	}
}

// dial connects to addr ("host:port", the URL's host or a proxy) through d,
// checking each resolved address unless the host was named or addr is a
// proxy in use.
func (g *guard) dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	host, exempt := g.exempt(addr)
	if exempt {
		return d.DialContext(ctx, network, addr)
	}
	gd := *d
	gd.ControlContext = g.control(host)
	return gd.DialContext(ctx, network, addr)
}

// exempt reports whether a dial of addr ("host:port") goes unchecked: its
// host was named, or addr is a proxy in use.
func (g *guard) exempt(addr string) (host string, exempt bool) {
	host, _, err := net.SplitHostPort(addr)
	if err == nil && g.named(host) {
		return host, true
	}
	_, proxy := g.proxies.Load(strings.ToLower(addr))
	return host, proxy
}

// proxyFunc wraps an http.Transport.Proxy so that the proxies it returns
// are dialed without the check: they are the user's configuration. The
// targets behind a proxy are then connected to by the proxy; only IP
// literals among them are checked (checkURL).
func (g *guard) proxyFunc(proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(req *http.Request) (*url.URL, error) {
		u, err := proxy(req)
		if u != nil && err == nil {
			port := u.Port()
			if port == "" {
				switch strings.ToLower(u.Scheme) { // as net/http's canonicalAddr
				case "http":
					port = "80"
				case "https":
					port = "443"
				case "socks5", "socks5h":
					port = "1080"
				}
			}
			addr := strings.ToLower(net.JoinHostPort(u.Hostname(), port))
			if _, ok := g.proxies.Load(addr); !ok {
				g.proxies.Store(addr, struct{}{})
			}
		}
		return u, err
	}
}

// guardTransport refuses requests to IP literals in refused ranges before
// they wait for a limiter or are sent (guard.checkURL); the dial-time check
// does the rest.
type guardTransport struct {
	g    *guard
	next http.RoundTripper
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.g.checkURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// CloseIdleConnections forwards to the wrapped transport.
func (t *guardTransport) CloseIdleConnections() {
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}
