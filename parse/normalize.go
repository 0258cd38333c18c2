package parse

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
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

	// A path or query that needs no change is copied as is; otherwise it is
	// normalized into a scratch buffer first, because dot-segment removal
	// needs the percent-decoded form (RFC 3986 §6.2.2.3: "%2E" is ".").
	var scratch [256]byte
	path := escapedPath(u)
	var p []byte
	if path == "" || path[0] != '/' || !isNormal(path) || hasDotSegment(path) {
		p = appendPct(scratch[:0], path)
		if len(p) == 0 || p[0] != '/' {
			p = append(p, 0)
			copy(p[1:], p)
			p[0] = '/'
		}
		if hasDotSegment(p) {
			p = removeDotSegments(p)
		}
		path = ""
	}

	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(hostname) + 1 + len(port) + len(path) + len(p) + 1 + len(u.RawQuery) + 8)
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
	b.Write(p)
	if q := u.RawQuery; q != "" {
		b.WriteByte('?')
		if isNormal(q) {
			b.WriteString(q)
		} else {
			b.Write(appendPct(scratch[:0], q))
		}
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

// escapedPath returns u's path as it was written when u.RawPath holds a
// consistent encoding of u.Path (even one url.URL.EscapedPath would refuse,
// such as a raw non-ASCII byte next to "%2F"), and u.EscapedPath() otherwise.
func escapedPath(u *url.URL) string {
	if u.RawPath != "" {
		if p, err := url.PathUnescape(u.RawPath); err == nil && p == u.Path {
			return u.RawPath
		}
	}
	return u.EscapedPath()
}

const upperHex = "0123456789ABCDEF"

// appendPct appends s to dst with percent-encoding normalized: encoded
// unreserved characters are decoded, other encodings get upper-case hex,
// characters allowed unencoded in a path or query (unreserved, sub-delims,
// ':', '@', '/', '?', '[' and ']') are kept as written, and everything else
// (including a '%' that starts no valid escape) is percent-encoded.
func appendPct(dst []byte, s string) []byte {
	i := 0
	for i < len(s) && rawOK[s[i]] {
		i++
	}
	dst = append(dst, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(v) {
				dst = append(dst, v)
			} else {
				dst = append(dst, '%', upperHex[v>>4], upperHex[v&15])
			}
			i += 2
			continue
		}
		if rawOK[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// rawOK holds the bytes that may stay unencoded in a normalized path or
// query: unreserved characters, sub-delims, ':', '@', '/', '?', '[' and ']'.
var rawOK = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isUnreserved(byte(c))
	}
	for _, c := range []byte("!$&'()*+,;=:@/?[]") {
		t[c] = true
	}
	return t
}()

// isNormal reports whether s needs no percent-encoding normalization: it
// holds only bytes in rawOK (no '%' at all).
func isNormal(s string) bool {
	for i := 0; i < len(s); i++ {
		if !rawOK[s[i]] {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// hasDotSegment reports whether the absolute path p has a "." or ".."
// segment.
func hasDotSegment[T string | []byte](p T) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' || i+1 >= len(p) || p[i+1] != '.' {
			continue
		}
		j := i + 2
		if j < len(p) && p[j] == '.' {
			j++
		}
		if j == len(p) || p[j] == '/' {
			return true
		}
	}
	return false
}

// removeDotSegments removes "." and ".." segments from the absolute path p
// in place (RFC 3986 §5.2.4) and returns the shortened slice. ".." above the
// root is dropped; a path ending in a dot segment keeps its trailing slash.
func removeDotSegments(p []byte) []byte {
	w := 0 // p[:w] is the output; it never overtakes the reader
	for r := 0; r < len(p); {
		// p[r] == '/'; the segment runs to the next '/' or the end.
		end := r + 1
		for end < len(p) && p[end] != '/' {
			end++
		}
		seg := p[r+1 : end]
		last := end == len(p)
		switch {
		case len(seg) == 1 && seg[0] == '.':
			if last {
				p[w] = '/'
				w++
			}
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			for w > 0 {
				w--
				if p[w] == '/' {
					break
				}
			}
			if last {
				p[w] = '/'
				w++
			}
		default:
			w += copy(p[w:], p[r:end])
		}
		r = end
	}
	if w == 0 {
		p[0] = '/'
		w = 1
	}
	return p[:w]
}
