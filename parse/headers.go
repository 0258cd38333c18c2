package parse

import (
	"net/http"
	"net/url"
	"strings"

	"trawl/internal/urlpath"
)

// Headers finds the links in the headers of a response with status
// code status, resolved against base (the response's URL):
//
//   - every Link header target (RFC 8288), with the kind its rel gives
//     (RelKind; anchor parameters other than the response itself are
//     still links), Source "header:link";
//   - a Refresh header's URL ("5; url=/next"), KindPage, "header:refresh";
//   - Content-Location, KindPage, "header:content-location";
//   - Location on a status that is not a redirect (3xx), such as 201
//     Created, KindPage, "header:location". A redirect's Location is
//     the crawler's business, not a link.
//
// Links are unique by Key, in header order (Link, Refresh,
// Content-Location, Location); only http(s) targets count. A URL found
// twice gets the kind a crawl is most likely to follow (see Link.Kind).
//
// Every Link header field is read, each a comma-separated list of
// link-values, with the lenient algorithm of RFC 8288 Appendix B:
// parameter names are case-insensitive, values are tokens or quoted
// strings (with backslash escapes), only the first rel and type count,
// and a rel* parameter (RFC 8187) replaces rel. A link-value that does
// not start with "<uri>", or has anything but parameters after it, is
// skipped, and the next one is read. A link whose rel names no resource
// (RelKind's ok is false, as for preconnect) is left out.
//
// A Refresh header is read as browsers read it (the HTML standard's
// shared declarative refresh steps): "5; url=/next", "0;URL='/x'",
// "5, url=/next" and "5; /next" all name /next; a Refresh without a URL
// reloads the response itself and gives no link. Headers uses the first
// value of Refresh, Content-Location and Location. A nil base is an
// empty URL (relative targets are then dropped).
func Headers(h http.Header, status int, base *url.URL) []Link {
	if len(h["Link"]) == 0 && len(h["Refresh"]) == 0 && len(h["Content-Location"]) == 0 &&
		(len(h["Location"]) == 0 || 300 <= status && status <= 399) {
		return nil // most responses: no allocation
	}
	s := newUniqueLinks(base, 0)
	for _, v := range h.Values("Link") {
		linkValues(v, func(target, rel, typ string) {
			if k, method, ok := RelKind(rel, typ); ok {
				s.add(target, k, "header:link", method)
			}
		})
	}
	if target, ok := refreshHeaderURL(h.Get("Refresh")); ok {
		s.add(target, KindPage, "header:refresh", "")
	}
	if v := h.Get("Content-Location"); v != "" {
		s.add(v, KindPage, "header:content-location", "")
	}
	if v := h.Get("Location"); v != "" && (status < 300 || status > 399) {
		s.add(v, KindPage, "header:location", "")
	}
	return s.out
}

// RelKind returns the kind of a link[href] or Link header target whose
// rel attribute (a space-separated, ASCII case-insensitive list) is rel,
// and its method for KindForm ("POST" for pingback and webmention). ok
// is false for rels that name no resource to fetch: dns-prefetch and
// preconnect (an origin), and a rel list holding only those.
//
//   - stylesheet, icon (and apple-touch-icon,
//     apple-touch-icon-precomposed, mask-icon, shortcut icon), manifest,
//     preload, modulepreload, prefetch, import: KindAsset;
//   - sitemap, and alternate with a type of application/rss+xml or
//     application/atom+xml (typ is the type attribute; its parameters
//     and case are ignored): KindSitemap;
//   - pingback, webmention: KindForm, POST;
//   - anything else (alternate, next, prev, canonical, author, license,
//     help, search, ..., and an empty rel): KindPage.
//
// When rel holds several, the first that is not KindPage wins
// ("alternate stylesheet" is an asset). RelKind does not allocate.
func RelKind(rel, typ string) (k Kind, method string, ok bool) {
	originOnly := false
	for tok := range strings.FieldsSeq(rel) {
		switch {
		case lowerIs(tok, "stylesheet"), lowerIs(tok, "icon"), lowerIs(tok, "apple-touch-icon"),
			lowerIs(tok, "apple-touch-icon-precomposed"), lowerIs(tok, "mask-icon"),
			lowerIs(tok, "manifest"), lowerIs(tok, "preload"), lowerIs(tok, "modulepreload"),
			lowerIs(tok, "prefetch"), lowerIs(tok, "import"):
			return KindAsset, "", true
		case lowerIs(tok, "sitemap"):
			return KindSitemap, "", true
		case lowerIs(tok, "alternate"):
			if t := mediaType(typ); lowerIs(t, "application/rss+xml") || lowerIs(t, "application/atom+xml") {
				return KindSitemap, "", true
			}
			ok = true
		case lowerIs(tok, "pingback"), lowerIs(tok, "webmention"):
			return KindForm, http.MethodPost, true
		case lowerIs(tok, "dns-prefetch"), lowerIs(tok, "preconnect"):
			originOnly = true
		default:
			ok = true
		}
	}
	return KindPage, "", ok || !originOnly
}

// lowerIs reports whether s equals the lower-case ASCII word lower,
// ignoring ASCII case only (so "ſtylesheet", with a long s, is not
// "stylesheet" as strings.EqualFold would have it).
func lowerIs(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// linkValues calls fn, in order, for each well-formed link-value of one
// Link header field value (RFC 8288 §3, read as Appendix B does), with
// its target as written between < and >, and the values of its first
// rel (or its rel*, decoded) and type parameters.
func linkValues(v string, fn func(target, rel, typ string)) {
	for i := 0; i < len(v); {
		i = skipLinkOWS(v, i)
		if i == len(v) {
			return
		}
		if v[i] == ',' { // an empty list element
			i++
			continue
		}
		if v[i] != '<' {
			i = nextLinkValue(v, i)
			continue
		}
		end := strings.IndexByte(v[i+1:], '>')
		if end < 0 {
			return // no other link-value can follow
		}
		target := v[i+1 : i+1+end]
		if k := strings.IndexByte(target, '<'); k >= 0 {
			i += 1 + k // a '>' is missing: start again at the next '<'
			continue
		}
		i += end + 2
		var rel, relStar, typ string
		var hasRel, hasRelStar, hasType, bad bool
		for !bad {
			i = skipLinkOWS(v, i)
			if i == len(v) || v[i] != ';' {
				break
			}
			i = skipLinkOWS(v, i+1)
			j := i
			for j < len(v) && v[j] != '=' && v[j] != ';' && v[j] != ',' {
				j++
			}
			name := strings.TrimRight(v[i:j], " \t")
			i = j
			var val string
			if i < len(v) && v[i] == '=' {
				i = skipLinkOWS(v, i+1)
				if i < len(v) && v[i] == '"' {
					val, i, bad = linkQuoted(v, i)
				} else {
					j := i
					for j < len(v) && v[j] != ';' && v[j] != ',' {
						j++
					}
					val, i = strings.TrimRight(v[i:j], " \t"), j
				}
			}
			switch {
			case lowerIs(name, "rel") && !hasRel:
				rel, hasRel = val, true
			case lowerIs(name, "rel*") && !hasRelStar:
				relStar, hasRelStar = linkExtValue(val)
			case lowerIs(name, "type") && !hasType:
				typ, hasType = val, true
			}
		}
		if bad || i < len(v) && v[i] != ',' {
			i = nextLinkValue(v, i)
			continue
		}
		if hasRelStar {
			rel = relStar
		}
		fn(target, rel, typ)
	}
}

// skipLinkOWS returns the index of the first byte at or after i in v that is
// not optional whitespace (space or tab, RFC 9110 §5.6.3).
func skipLinkOWS(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}

// nextLinkValue returns the index after the first comma at or after i in
// v that is not inside a quoted string or <...>, or len(v): where a
// link-value after a malformed one starts.
func nextLinkValue(v string, i int) int {
	for i < len(v) {
		switch v[i] {
		case ',':
			return i + 1
		case '"':
			_, i, _ = linkQuoted(v, i)
		case '<':
			end := strings.IndexByte(v[i:], '>')
			if end < 0 {
				return len(v)
			}
			i += end + 1
		default:
			i++
		}
	}
	return i
}

// linkQuoted reads the quoted-string that starts at v[i] (a '"'),
// returning its value with backslash escapes removed, the index after
// it, and whether it is unterminated. It allocates only for a value
// holding escapes.
func linkQuoted(v string, i int) (val string, next int, unterminated bool) {
	start := i + 1
	var b []byte
	for j := start; j < len(v); j++ {
		switch v[j] {
		case '"':
			if b == nil {
				return v[start:j], j + 1, false
			}
			return string(append(b, v[start:j]...)), j + 1, false
		case '\\':
			b = append(b, v[start:j]...)
			j++
			start = j // the escaped byte starts the next run
		}
	}
	return "", len(v), true
}

// linkExtValue decodes an RFC 8187 ext-value (charset'language'value with
// percent-encoding), as a rel* parameter holds. ok is false for a
// malformed one, which is then ignored.
func linkExtValue(v string) (string, bool) {
	_, rest, ok := strings.Cut(v, "'")
	if !ok {
		return "", false
	}
	if _, rest, ok = strings.Cut(rest, "'"); !ok {
		return "", false
	}
	s, err := url.PathUnescape(rest)
	return s, err == nil
}

// refreshHeaderURL returns the URL of a Refresh header value, read with the
// HTML standard's shared declarative refresh steps ("5; url=/next",
// "0;URL='/x'", "5, url=/x", "5 /x"). ok is false when the value is
// malformed or names no URL (it reloads the page itself).
func refreshHeaderURL(v string) (string, bool) {
	i := skipSpaceFrom(v, 0)
	digits := i
	for i < len(v) && '0' <= v[i] && v[i] <= '9' {
		i++
	}
	if i == digits && (i == len(v) || v[i] != '.') {
		return "", false
	}
	for i < len(v) && ('0' <= v[i] && v[i] <= '9' || v[i] == '.') {
		i++
	}
	if i < len(v) {
		if v[i] != ';' && v[i] != ',' && !isASCIISpace(v[i]) {
			return "", false
		}
		i = skipSpaceFrom(v, i)
		if i < len(v) && (v[i] == ';' || v[i] == ',') {
			i++
		}
		i = skipSpaceFrom(v, i)
	}
	if i == len(v) {
		return "", false
	}
	target := v[i:]
	if len(v)-i >= 3 && lowerIs(v[i:i+3], "url") {
		j := skipSpaceFrom(v, i+3)
		if j < len(v) && v[j] == '=' {
			i = skipSpaceFrom(v, j+1)
			target = v[i:]
		}
	}
	if target != "" && (target[0] == '"' || target[0] == '\'') {
		target = target[1:]
		if end := strings.IndexByte(target, v[i]); end >= 0 {
			target = target[:end]
		}
	}
	target = strings.Trim(target, asciiSpace)
	return target, target != ""
}

// skipSpaceFrom returns the index of the first byte at or after i in v
// that is not ASCII whitespace.
func skipSpaceFrom(v string, i int) int {
	for i < len(v) && isASCIISpace(v[i]) {
		i++
	}
	return i
}

// uniqueLinks builds a list of links found outside HTML markup (in
// headers, stylesheets, text), unique by Key, in order of first
// occurrence. A URL found again keeps its place and takes the kind,
// source and method of the new occurrence when a crawl is more likely
// to follow that one (see Link.Kind). The zero value is not usable; make
// one with newUniqueLinks.
type uniqueLinks struct {
	base *url.URL
	max  int // no more links than this; 0 means no limit
	out  []Link
	// seen maps each key, and each href already handled, to the index of
	// its Link in out, or to -1 when it was left out. As in links, hrefs
	// and keys share the map safely: an href equal to a key is an
	// absolute URL in normal form, which resolves to that very key.
	seen map[string]int
}

// newUniqueLinks returns an empty list of links resolved against base
// (a nil base is an empty URL), holding at most max links (0 means no
// limit).
func newUniqueLinks(base *url.URL, max int) *uniqueLinks {
	if base == nil {
		base = &url.URL{}
	}
	return &uniqueLinks{base: base, max: max}
}

// full reports whether the list holds its maximum number of links.
func (s *uniqueLinks) full() bool { return s.max > 0 && len(s.out) >= s.max }

// add resolves href and adds it as a link of kind k found in source,
// unless it is not an http(s) URL or the list is full. It reports
// whether href gave a link (new or already in the list).
func (s *uniqueLinks) add(href string, k Kind, source, method string) bool {
	if s.seen == nil {
		s.seen = make(map[string]int)
	}
	i, done := s.seen[href]
	if !done {
		i = -1
		if u, ok := resolve(s.base, href); ok {
			u.Fragment, u.RawFragment = "", ""
			if key, host, err := Normalize(u); err == nil {
				if j, dup := s.seen[key]; dup {
					i = j
				} else if !s.full() {
					i = len(s.out)
					s.seen[key] = i
					l := Link{URL: key, Key: key, Host: host, Kind: k, Source: source, Method: method}
					if !urlpath.StringIs(u, key) {
						l.URL = u.String()
					}
					s.out = append(s.out, l)
					return true
				}
			}
		}
		s.seen[href] = i
	}
	if i < 0 {
		return false
	}
	if l := &s.out[i]; linkRank(k, method) < linkRank(l.Kind, l.Method) {
		l.Kind, l.Source, l.Method = k, source, method
	}
	return true
}
