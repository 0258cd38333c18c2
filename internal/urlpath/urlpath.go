// Package urlpath is trawl's single definition of how the path and query of
// a URL are normalized. It is shared by parse, whose deduplication keys use
// it (parse.Normalize), and by fetch, which matches robots.txt rules against
// it, so that two URLs trawl treats as the same page also get the same
// robots.txt verdict.
//
// The normal form follows RFC 3986 §6.2.2: percent-encoded unreserved
// characters (ALPHA DIGIT - . _ ~) are decoded, other percent-encodings get
// upper-case hex, reserved characters stay encoded or unencoded as written,
// and bytes that may not appear unencoded (space, non-ASCII, '"', '<', a '%'
// that starts no valid escape, …) are percent-encoded; in a path, "." and
// ".." segments are then removed (RFC 3986 §5.2.4).
//
// The package is internal because fetch and parse must not import each
// other (each may be used without the other), yet must agree byte for byte.
// Every function is safe for concurrent use; none keeps its arguments.
package urlpath

import (
	"net/url"
	"strings"
)

// Escaped returns u's path in escaped form: u.RawPath when it is a
// consistent encoding of u.Path (even one url.URL.EscapedPath would refuse,
// such as a raw non-ASCII byte next to "%2F", so that an encoded '/' stays
// encoded), and u.EscapedPath() otherwise. It does not allocate when
// u.RawPath is used.
func Escaped(u *url.URL) string {
	if u.RawPath != "" && unescapesTo(u.RawPath, u.Path) {
		return u.RawPath
	}
	return u.EscapedPath()
}

// unescapesTo reports whether url.PathUnescape(raw) would succeed and
// return p, without allocating.
func unescapesTo(raw, p string) bool {
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return false
			}
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		}
		if j >= len(p) || p[j] != c {
			return false
		}
		j++
	}
	return j == len(p)
}

// IsNormalPath reports whether the escaped path p is certainly in normal
// form, so that AppendPath would append it unchanged: it starts with '/',
// holds only bytes allowed unencoded (see IsNormal) and has no dot segment.
// It reports false for some normal paths (any with a '%'), never true for
// one that is not.
func IsNormalPath(p string) bool {
	return p != "" && p[0] == '/' && IsNormal(p) && !HasDotSegment(p)
}

// AppendPath appends the normal form of the escaped path p to dst: "/" when
// p is empty, a '/' put in front of a path that lacks one, percent-encoding
// normalized (see AppendNormal), then "." and ".." segments removed (after
// decoding, so "/a/%2E%2E/b" becomes "/b").
func AppendPath(dst []byte, p string) []byte {
	start := len(dst)
	if p == "" || p[0] != '/' {
		// The first byte of the output is '/' exactly when p's is: an
		// escape that decodes stays a non-'/' unreserved character.
		dst = append(dst, '/')
	}
	dst = AppendNormal(dst, p)
	if HasDotSegment(dst[start:]) {
		dst = dst[:start+len(RemoveDotSegments(dst[start:]))]
	}
	return dst
}

// AppendPathQuery appends to dst the normal form of the escaped path and
// the raw query (without its '?') of a URL, as parse.Normalize writes them
// in a deduplication key: the path as AppendPath makes it, then, if query
// is not empty, '?' and the query with its percent-encoding normalized (see
// AppendNormal; its order, '+' and reserved characters are kept). An empty
// query is the same as none.
func AppendPathQuery(dst []byte, path, query string) []byte {
	dst = AppendPath(dst, path)
	if query != "" {
		dst = append(dst, '?')
		dst = AppendNormal(dst, query)
	}
	return dst
}

const upperHex = "0123456789ABCDEF"

// AppendNormal appends s to dst with percent-encoding normalized: encoded
// unreserved characters are decoded, other encodings get upper-case hex,
// characters allowed unencoded in a path or query (unreserved, sub-delims,
// ':', '@', '/', '?', '[' and ']') are kept as written, and everything else
// (including a '%' that starts no valid escape) is percent-encoded, a
// non-ASCII character as the escapes of its bytes. It is the normalization
// of a path before its dot segments are removed, and of a query.
func AppendNormal(dst []byte, s string) []byte {
	i := 0
	for i < len(s) && rawOK[s[i]] {
		i++
	}
	dst = append(dst, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if IsUnreserved(v) {
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

// IsUnreserved reports whether c is an RFC 3986 unreserved character:
// ALPHA, DIGIT, '-', '.', '_' or '~'.
func IsUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// rawOK holds the bytes that may stay unencoded in a normalized path or
// query: unreserved characters, sub-delims, ':', '@', '/', '?', '[' and ']'.
var rawOK = func() (t [256]bool) {
	for c := range 256 {
		t[c] = IsUnreserved(byte(c))
	}
	for _, c := range []byte("!$&'()*+,;=:@/?[]") {
		t[c] = true
	}
	return t
}()

// IsNormal reports whether s certainly needs no percent-encoding
// normalization, so that AppendNormal would append it unchanged: it holds
// only bytes allowed unencoded (and so no '%' at all).
func IsNormal(s string) bool {
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

// HasDotSegment reports whether the absolute path p has a "." or ".."
// segment. It looks at the bytes as they are: an encoded dot ("%2E") does
// not count, so decode unreserved escapes first (AppendNormal).
func HasDotSegment[T string | []byte](p T) bool {
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

// RemoveDotSegments removes "." and ".." segments from the absolute path p
// in place (RFC 3986 §5.2.4) and returns the shortened slice. ".." above the
// root is dropped; a path ending in a dot segment keeps its trailing slash.
// p must start with '/'.
func RemoveDotSegments(p []byte) []byte {
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

// StringIs reports whether u.String() == s, without building u.String().
// It may report false when they are equal, and does so unless u has a
// scheme and a host and no userinfo, opaque part, raw path or fragment,
// and its host and path hold only characters that url.URL.String never
// escapes there (letters, digits, "-._~", and ':' in the host, '/' in
// the path). u.String() is then the scheme, "://", the host, the path
// and, if ForceQuery is set or RawQuery is not empty, '?' and RawQuery as
// they are. Most URLs a crawl meets are of that form, and u.String() costs
// an allocation and a pass of escaping.
func StringIs(u *url.URL, s string) bool {
	if u.Scheme == "" || u.Host == "" || u.User != nil || u.Opaque != "" || u.RawPath != "" ||
		u.Fragment != "" || u.RawFragment != "" || u.OmitHost ||
		u.Path != "" && u.Path[0] != '/' {
		return false
	}
	n := len(u.Scheme) + len("://") + len(u.Host) + len(u.Path)
	query := u.ForceQuery || u.RawQuery != ""
	if query {
		n += 1 + len(u.RawQuery)
	}
	if len(s) != n {
		return false
	}
	for i := 0; i < len(u.Host); i++ {
		if c := u.Host[i]; !IsUnreserved(c) && c != ':' {
			return false
		}
	}
	for i := 0; i < len(u.Path); i++ {
		if c := u.Path[i]; !IsUnreserved(c) && c != '/' {
			return false
		}
	}
	s, ok := strings.CutPrefix(s, u.Scheme)
	if !ok {
		return false
	}
	if s, ok = strings.CutPrefix(s, "://"); !ok {
		return false
	}
	if s, ok = strings.CutPrefix(s, u.Host); !ok {
		return false
	}
	if s, ok = strings.CutPrefix(s, u.Path); !ok {
		return false
	}
	if query {
		return len(s) > 0 && s[0] == '?' && s[1:] == u.RawQuery
	}
	return s == ""
}
