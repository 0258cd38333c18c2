package parse

// This file holds the readers of attribute values that sources.go uses:
// meta names and contents, a refresh's URL, a CSP's report-uri, a
// doctype's system identifier, an IE conditional comment's content, param
// names, rel tokens, and the small generic string helpers they share
// (for values as strings, in the DOM walk, and as []byte, in the
// streaming pass).

// metaNameKinds are the meta names and properties whose content is a URL,
// lower-case, and the kind of that URL.
var metaNameKinds = map[string]Kind{
	"og:url":                          KindPage,
	"twitter:url":                     KindPage,
	"msapplication-starturl":          KindPage,
	"og:image":                        KindAsset,
	"og:image:url":                    KindAsset,
	"og:image:secure_url":             KindAsset,
	"og:video":                        KindAsset,
	"og:video:url":                    KindAsset,
	"og:video:secure_url":             KindAsset,
	"og:audio":                        KindAsset,
	"og:audio:url":                    KindAsset,
	"og:audio:secure_url":             KindAsset,
	"twitter:image":                   KindAsset,
	"twitter:image:src":               KindAsset,
	"twitter:player":                  KindAsset,
	"msapplication-tileimage":         KindAsset,
	"msapplication-config":            KindAsset,
	"msapplication-square70x70logo":   KindAsset,
	"msapplication-square150x150logo": KindAsset,
	"msapplication-wide310x150logo":   KindAsset,
	"msapplication-square310x310logo": KindAsset,
}

// maxMetaName is the length of the longest key of metaNameKinds.
const maxMetaName = len("msapplication-square150x150logo")

// metaNameKind returns the kind of the URL in the content of a meta whose
// name or property is name (ASCII case-insensitive), or false.
func metaNameKind[T string | []byte](name T) (Kind, bool) {
	if len(name) < len("og:url") || len(name) > maxMetaName {
		return 0, false
	}
	var buf [maxMetaName]byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	k, ok := metaNameKinds[string(buf[:len(name)])]
	return k, ok
}

// metaRefs adds the URLs of a meta element: the URL of a refresh, the
// report-uri endpoints of a Content-Security-Policy, and the content of a
// URL-bearing name, then property (see metaNameKinds).
func metaRefs[T string | []byte, S refSink[T]](s S, at *attrSet[T]) {
	content, ok := at.get(atContent)
	if !ok {
		return
	}
	if equiv, ok := at.get(atHTTPEquiv); ok {
		switch {
		case equalFoldASCII(equiv, "refresh"):
			if u, ok := refreshURL(content); ok {
				s.add(u, ref{src: srcMetaRefresh, kind: KindPage})
			}
		case equalFoldASCII(equiv, "content-security-policy"):
			for u, rest := reportURI(content); len(u) > 0; u, rest = nextField(rest) {
				s.add(u, ref{src: srcMetaCSP, kind: KindForm, method: mPost})
			}
		}
	}
	for _, id := range [...]attrID{atName, atProperty} {
		if name, ok := at.get(id); ok {
			if k, ok := metaNameKind(name); ok {
				s.add(content, ref{src: srcMetaContent, kind: k})
			}
		}
	}
}

// refreshURL returns the URL of a refresh declaration ("5; url=/next",
// "0;URL='/x'") as the HTML standard's shared declarative refresh steps
// read it, or false if it has none (a refresh of the page itself) or is
// not valid.
func refreshURL[T string | []byte](v T) (T, bool) {
	var none T
	p := skipSpaceT(v, 0)
	start := p
	for p < len(v) && '0' <= v[p] && v[p] <= '9' {
		p++
	}
	if p == start && (p >= len(v) || v[p] != '.') {
		return none, false
	}
	for p < len(v) && ('0' <= v[p] && v[p] <= '9' || v[p] == '.') {
		p++
	}
	if p < len(v) {
		if c := v[p]; c != ';' && c != ',' && !isASCIISpace(c) {
			return none, false
		}
		p = skipSpaceT(v, p)
		if p < len(v) && (v[p] == ';' || v[p] == ',') {
			p++
		}
		p = skipSpaceT(v, p)
	}
	if p >= len(v) {
		return none, false
	}
	u := v[p:]
	// "url=" is optional, and so are the quotes.
	if v[p]|0x20 == 'u' {
		p++
		if p >= len(v) || v[p]|0x20 != 'r' {
			return u, true
		}
		p++
		if p >= len(v) || v[p]|0x20 != 'l' {
			return u, true
		}
		p = skipSpaceT(v, p+1)
		if p >= len(v) || v[p] != '=' {
			return u, true
		}
		p = skipSpaceT(v, p+1)
	}
	if p < len(v) && (v[p] == '"' || v[p] == '\'') {
		q := v[p]
		u = v[p+1:]
		if i := indexByte(u, q); i >= 0 {
			u = u[:i]
		}
		return u, true
	}
	return v[p:], true
}

// reportURI returns the first URL of the report-uri directive of a
// Content-Security-Policy (directives separated by ';', names ASCII
// case-insensitive, the first of several with the same name counting) and
// the rest of its value list, or an empty first URL if it has none.
func reportURI[T string | []byte](policy T) (first, rest T) {
	for len(policy) > 0 {
		i := indexByte(policy, ';')
		if i < 0 {
			i = len(policy)
		}
		name, values := nextField(policy[:i])
		if equalFoldASCII(name, "report-uri") {
			return nextField(values)
		}
		policy = policy[min(i+1, len(policy)):]
	}
	return first, rest
}

// paramNames are the <param> names (lower-case) whose value is a URL.
var paramNames = [...]string{"movie", "src", "url", "href", "filename", "file", "data", "source"}

func paramName[T string | []byte](name T) bool {
	for _, n := range paramNames {
		if equalFoldASCII(name, n) {
			return true
		}
	}
	return false
}

// isAbsHTTP reports whether v, trimmed, starts with "http:" or "https:"
// (ASCII case-insensitive).
func isAbsHTTP[T string | []byte](v T) bool {
	v = trimSpace(v)
	for _, p := range [...]string{"http:", "https:"} {
		if len(v) >= len(p) && equalFoldASCII(v[:len(p)], p) {
			return true
		}
	}
	return false
}

// doctypeSystem returns the system identifier of a doctype whose token
// text (what follows "<!DOCTYPE") is d, read as x/net/html's parseDoctype
// reads it: the name, then PUBLIC with a public identifier optionally
// followed by a system one, or SYSTEM with a system identifier, each in
// single or double quotes (an unterminated one runs to the end).
func doctypeSystem[T string | []byte](d T) (T, bool) {
	var none T
	i := 0
	for i < len(d) && !isASCIISpace(d[i]) {
		i++
	}
	d = d[skipSpaceT(d, i):]
	if len(d) < 6 {
		return none, false
	}
	var key string
	switch {
	case equalFoldASCII(d[:6], "public"):
		key = "public"
	case equalFoldASCII(d[:6], "system"):
		key = "system"
	}
	d = d[6:]
	for key != "" {
		d = d[skipSpaceT(d, 0):]
		if len(d) == 0 || d[0] != '"' && d[0] != '\'' {
			break
		}
		q := d[0]
		d = d[1:]
		id := d
		if j := indexByte(d, q); j >= 0 {
			id, d = d[:j], d[j+1:]
		} else {
			d = d[len(d):]
		}
		if key == "system" {
			return id, true
		}
		key = "system"
	}
	return none, false
}

// conditionalContent returns the markup an IE downlevel-hidden conditional
// comment hides from other browsers: for a comment whose text is
// "[if IE 6]> ... <![endif]", what lies between the first "]>" and the
// last "<![endif]" (ASCII case-insensitive).
func conditionalContent[T string | []byte](c T) (T, bool) {
	var none T
	if len(c) < len("[if]><![endif]") || !equalFoldASCII(c[:3], "[if") {
		return none, false
	}
	start := -1
	for i := 3; i+1 < len(c); i++ {
		if c[i] == ']' && c[i+1] == '>' {
			start = i + 2
			break
		}
	}
	if start < 0 {
		return none, false
	}
	const endif = "<![endif]"
	for end := len(c) - len(endif); end >= start; end-- {
		if c[end] == '<' && equalFoldASCII(c[end:end+len(endif)], endif) {
			return c[start:end], true
		}
	}
	return none, false
}

// internWord returns v as a string, without allocating when it is empty
// or one of the usual rel and type values (ASCII case-insensitive: RelKind
// ignores case).
func internWord[T string | []byte](v T) string {
	if len(v) == 0 {
		return ""
	}
	for _, w := range commonWords {
		if len(v) == len(w) && equalFoldASCII(v, w) {
			return w
		}
	}
	return string(v)
}

var commonWords = [...]string{
	"stylesheet", "canonical", "icon", "shortcut icon", "apple-touch-icon", "preload",
	"preconnect", "dns-prefetch", "prefetch", "modulepreload", "manifest", "alternate",
	"next", "prev", "author", "license", "search", "pingback", "amphtml", "mask-icon",
	"text/css", "image/x-icon", "image/png", "image/svg+xml", "application/rss+xml",
	"application/atom+xml", "application/json", "application/manifest+json",
}

// Helpers for strings and []byte alike.

func indexByte[T string | []byte](v T, c byte) int {
	for i := 0; i < len(v); i++ {
		if v[i] == c {
			return i
		}
	}
	return -1
}

// equalFoldASCII reports whether v equals the lower-case ASCII word w,
// ignoring ASCII case only.
func equalFoldASCII[T string | []byte](v T, w string) bool {
	if len(v) != len(w) {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

func skipSpaceT[T string | []byte](v T, p int) int {
	for p < len(v) && isASCIISpace(v[p]) {
		p++
	}
	return p
}

func trimSpace[T string | []byte](v T) T {
	i, j := 0, len(v)
	for i < j && isASCIISpace(v[i]) {
		i++
	}
	for j > i && isASCIISpace(v[j-1]) {
		j--
	}
	return v[i:j]
}

// nextField returns the first run of non-ASCII-whitespace in v and what
// follows it; f is empty when v holds none.
func nextField[T string | []byte](v T) (f, rest T) {
	i := skipSpaceT(v, 0)
	j := i
	for j < len(v) && !isASCIISpace(v[j]) {
		j++
	}
	return v[i:j], v[j:]
}

// relNoFollow reports whether a rel list holds "nofollow" the way this
// package has always read it (strings.Fields and strings.EqualFold): the
// list is split on Unicode white space, and no non-ASCII letter folds to
// one of "nofollow".
func relNoFollow[T string | []byte](rel T) bool {
	const tok = "nofollow"
	for i := 0; i < len(rel); {
		n := unicodeSpace(rel, i)
		if n > 0 {
			i += n
			continue
		}
		j := i
		for j < len(rel) && unicodeSpace(rel, j) == 0 {
			j++
		}
		if equalFoldASCII(rel[i:j], tok) {
			return true
		}
		i = j
	}
	return false
}

// unicodeSpace returns the length of the UTF-8 encoding of a white space
// character (unicode.IsSpace) at v[i], or 0.
func unicodeSpace[T string | []byte](v T, i int) int {
	c := v[i]
	if c < 0x80 {
		if isASCIISpace(c) || c == '\v' {
			return 1
		}
		return 0
	}
	// U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F,
	// U+205F, U+3000.
	if i+1 < len(v) && c == 0xC2 && (v[i+1] == 0x85 || v[i+1] == 0xA0) {
		return 2
	}
	if i+2 >= len(v) {
		return 0
	}
	c1, c2 := v[i+1], v[i+2]
	switch {
	case c == 0xE1 && c1 == 0x9A && c2 == 0x80,
		c == 0xE2 && c1 == 0x80 && (0x80 <= c2 && c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF),
		c == 0xE2 && c1 == 0x81 && c2 == 0x9F,
		c == 0xE3 && c1 == 0x80 && c2 == 0x80:
		return 3
	}
	return 0
}
