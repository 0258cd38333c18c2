package parse

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"trawl/internal/urlpath"
)

// Normalize returns the deduplication key of an absolute http(s) URL and its
// politeness host key.
//
// The key is built as follows (RFC 3986 §6.2.2 plus the usual crawler rules):
//   - the scheme is lower-cased and must be http or https;
//   - the host is lower-cased; a non-ASCII host is converted to ASCII with
//     the IDNA Lookup profile (golang.org/x/net/idna); an ASCII host may only
//     hold letters, digits, '-', '_' and '.' (no empty label except one
//     trailing dot, labels of at most 63 bytes); an IPv6 literal is written
//     in its canonical form ("[2001:db8::1]") and may not carry a zone;
//   - the port is dropped when it is the scheme's default (80 for http, 443
//     for https) and written without leading zeros otherwise;
//   - the path is "/" when empty; percent-encoded unreserved characters
//     (ALPHA DIGIT - . _ ~) are decoded, other percent-encodings get upper-case
//     hex, reserved characters stay encoded or unencoded as written, and bytes
//     that may not appear unencoded (space, non-ASCII, '"', '<', …) are
//     percent-encoded; then "." and ".." segments are removed;
//   - the query keeps its order, its "+" and its reserved characters as
//     written, with the same percent-encoding normalization as the path; an
//     empty query ("http://a/?") is dropped;
//   - the fragment is dropped.
//
// URLs with userinfo ("http://user:pass@host/") are rejected: a crawler
// should neither send credentials it found in a page nor store them in its
// records, and keeping them out of the key while requesting them would make
// two different requests share one key.
//
// The host key is the lower-case (ASCII) host with ":port" when the port is
// not the scheme's default, for example "example.com" or "example.com:8080";
// it is a substring of key. Normalize returns an error for a nil URL, a
// scheme other than http or https, a missing or invalid host or port, and
// userinfo. Normalize is idempotent: normalizing a key yields the key again.
// It is safe for concurrent use and does not modify u.
//
// The path and query rules are trawl/internal/urlpath's, which fetch also
// uses to match robots.txt rules, so that two URLs with the same key get
// the same robots.txt verdict.
func Normalize(u *url.URL) (key, host string, err error) {
	if u == nil {
		return "", "", errors.New("parse: normalize nil URL")
	}
	var scheme string
	switch {
	case u.Scheme == "http" || strings.EqualFold(u.Scheme, "http"):
		scheme = "http"
	case u.Scheme == "https" || strings.EqualFold(u.Scheme, "https"):
		scheme = "https"
	default:
		return "", "", fmt.Errorf("parse: normalize %q: unsupported scheme %q", u.Redacted(), u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return "", "", fmt.Errorf("parse: normalize %q: missing host", u.Redacted())
	}
	if u.User != nil {
		return "", "", fmt.Errorf("parse: normalize %q: userinfo not allowed", u.Redacted())
	}

	hostname, port := splitHostPort(u.Host)
	hostname, err = normalizeHost(hostname)
	if err != nil {
		return "", "", fmt.Errorf("parse: normalize %q: %w", u.Redacted(), err)
	}
	if port != "" {
		n, perr := strconv.ParseUint(port, 10, 16)
		if perr != nil || n == 0 {
			return "", "", fmt.Errorf("parse: normalize %q: invalid port %q", u.Redacted(), port)
		}
		switch {
		case scheme == "http" && n == 80, scheme == "https" && n == 443:
			port = ""
		case port[0] == '0':
			port = strconv.FormatUint(n, 10)
		}
	}

	// A path and query that need no change are copied as they are;
	// otherwise both are normalized into a scratch buffer first, because
	// dot-segment removal needs the percent-decoded form (RFC 3986 §6.2.2.3:
	// "%2E" is ".").
	var scratch [256]byte
	path, query := urlpath.Escaped(u), u.RawQuery
	var pq []byte
	if !urlpath.IsNormalPath(path) || !urlpath.IsNormal(query) {
		pq = urlpath.AppendPathQuery(scratch[:0], path, query)
		path, query = "", ""
	}

	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(hostname) + 1 + len(port) + len(path) + len(pq) + 1 + len(query) + 8)
	b.WriteString(scheme)
	b.WriteString("://")
	start := b.Len()
	b.WriteString(hostname)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	end := b.Len()
	b.WriteString(path)
	b.Write(pq)
	if query != "" {
		b.WriteByte('?')
		b.WriteString(query)
	}
	key = b.String()
	return key, key[start:end], nil
}

// NormalizeString parses raw with url.Parse and normalizes it (see
// Normalize). It is safe for concurrent use.
func NormalizeString(raw string) (key, host string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("parse: normalize: %w", err)
	}
	return Normalize(u)
}

// splitHostPort splits u.Host into host name and port like url.URL.Hostname
// and url.URL.Port, keeping the brackets of an IPv6 literal on the host.
func splitHostPort(hostport string) (host, port string) {
	colon := strings.LastIndexByte(hostport, ':')
	if colon < 0 || strings.LastIndexByte(hostport, ']') > colon {
		return hostport, ""
	}
	for i := colon + 1; i < len(hostport); i++ {
		if c := hostport[i]; c < '0' || c > '9' {
			// Not a port: leave it in the host, which then fails validation.
			return hostport, ""
		}
	}
	return hostport[:colon], hostport[colon+1:]
}

// normalizeHost lower-cases and validates a host name, converting
// internationalized names to ASCII and IPv6 literals to canonical form. It
// allocates only when the host is not already in normal form.
func normalizeHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("missing host")
	}
	if h[0] == '[' {
		if h[len(h)-1] != ']' {
			return "", fmt.Errorf("invalid host %q", h)
		}
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("invalid host %q", h)
		}
		return "[" + a.String() + "]", nil
	}
	upper, ascii := false, true
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 0x80 {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if !ascii {
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return "", fmt.Errorf("invalid host %q: %w", h, err)
		}
		h, upper = a, false
	}
	if !validASCIIHost(h) {
		return "", fmt.Errorf("invalid host %q", h)
	}
	if upper {
		h = strings.ToLower(h)
	}
	return h, nil
}

// validASCIIHost reports whether h is a plausible DNS name or IPv4 address:
// letters, digits, '-', '_' and '.', non-empty labels of at most 63 bytes,
// optionally one trailing dot, at most 254 bytes.
func validASCIIHost(h string) bool {
	if len(h) == 0 || len(h) > 254 || h[0] == '.' {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			label++
			if label > 63 {
				return false
			}
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
	}
	return true
}

// isUnreserved reports whether c is an RFC 3986 unreserved character (see
// urlpath.IsUnreserved).
func isUnreserved(c byte) bool { return urlpath.IsUnreserved(c) }

// hasDotSegment reports whether the absolute path p has a "." or ".."
// segment (see urlpath.HasDotSegment).
func hasDotSegment(p string) bool { return urlpath.HasDotSegment(p) }
