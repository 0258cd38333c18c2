package parse

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// Link is one out-link found on a page.
type Link struct {
	// URL is the absolute URL as the page wrote it, resolved against the
	// page's base, without its fragment. It is what gets requested.
	URL string
	// Key is the deduplication key of URL (see Normalize).
	Key string
	// Host is the politeness host key of URL (see Normalize).
	Host string
	// NoFollow is set when every occurrence of the link on the page carries
	// rel="nofollow"; one followable occurrence clears it.
	NoFollow bool
}

// Page is what HTML extracts from one document. A Page is not modified after
// HTML returns it, so reading its fields from several goroutines is safe;
// so is calling Document, which builds the goquery document once. The
// goquery document itself is not safe for concurrent modification.
type Page struct {
	// Title is the text of the first HTML <title> (not an SVG one), with
	// runs of whitespace collapsed to one space and trimmed; empty if none.
	Title string
	// Description is the content of the first <meta name="description">,
	// whitespace collapsed and trimmed; empty if none.
	Description string
	// Canonical is the href of the first <link rel="canonical">, resolved
	// against Base, without fragment; empty if none or not http(s).
	Canonical string
	// Lang is the lang attribute of <html>, trimmed; empty if none.
	Lang string
	// Base is the URL links are resolved against: the first <base href>
	// resolved against the page URL when it is an http(s) URL, otherwise a
	// copy of the page URL. It is never nil.
	Base *url.URL
	// Links are the page's http(s) out-links from a[href], area[href],
	// frame[src] and iframe[src], unique by Key, in document order. Links
	// that normalize to the page's own key (such as "#top") are left out.
	// Links are listed even when NoFollow is set; the caller decides.
	Links []Link
	// NoFollow and NoIndex come from <meta name="robots" content="...">:
	// a comma-separated, case-insensitive list in which "nofollow",
	// "noindex" and "none" (both) are recognized. Several robots metas add up.
	NoFollow, NoIndex bool

	lazy *lazyDoc // nil for a Page that HTML did not make
}

// lazyDoc builds a Page's goquery document on first use.
type lazyDoc struct {
	once sync.Once
	text []byte  // the page as UTF-8, until doc is built
	url  url.URL // doc.Url points here
	doc  *goquery.Document
}

func (l *lazyDoc) build() {
	root, err := parseTree(l.text)
	if err != nil {
		// The tree builder refuses documents nested more than 512 deep.
		root = &html.Node{Type: html.DocumentNode}
	}
	l.setRoot(root)
}

func (l *lazyDoc) setRoot(root *html.Node) {
	l.doc = goquery.NewDocumentFromNode(root)
	l.doc.Url = &l.url
	l.text = nil
}

// pageAlloc holds a Page and what it points to in one allocation.
type pageAlloc struct {
	page Page
	lazy lazyDoc
	base url.URL
}

// Document returns the goquery document of the page, so a user hook can
// extract its own data. Its Url is the page URL. The document is built on
// the first call (HTML itself does not build a tree) and the same one is
// returned afterwards; concurrent first calls build it once. If the HTML5
// tree builder refuses the page (it is nested more than 512 elements deep),
// the document is empty. Document returns nil for a nil Page or one that
// HTML did not return.
func (p *Page) Document() *goquery.Document {
	if p == nil || p.lazy == nil {
		return nil
	}
	p.lazy.once.Do(p.lazy.build)
	return p.lazy.doc
}

// HTML parses body (raw bytes as served) whose Content-Type header value is
// contentType, fetched from pageURL (the final URL after redirects).
//
// The character encoding comes from, in order, a byte order mark, the charset
// parameter of contentType, and a <meta charset> or <meta http-equiv> in the
// first 1024 bytes (golang.org/x/net/html/charset); a document declaring none
// is UTF-8 when it is valid UTF-8 and windows-1252 otherwise. Text fields
// come out as UTF-8.
//
// The document is read as HTML5 with scripting disabled: a crawler runs no
// scripts, so like a browser with JavaScript off it sees the content of
// <noscript> as markup. Links inside <template> are inert and ignored.
// HTML extracts the Page in one streaming pass of the HTML5 tokenizer that
// follows the tree builder's rules where they decide what is found; it
// builds the tree only when Page.Document is called (or for the rare page,
// such as a frameset, whose outcome only the tree builder can tell). The
// one known difference from walking the tree is order in broken markup:
// the tree builder moves content misplaced in a <table> before the table,
// and blocks out of misnested formatting elements (an <a> left open around
// a <p>); Links then keep source order, and in such tables the first of
// two titles (bases, canonicals, descriptions) is the first in the source.
//
// Broken HTML does not fail; HTML returns an error only when body cannot be
// decoded. A nil pageURL is treated as an empty URL (relative links are then
// dropped). HTML does not modify body, but the Page keeps a reference to it
// (or to its UTF-8 conversion) until Document is first called: the caller
// must not modify body while it may still call Document. HTML is safe for
// concurrent use.
func HTML(body []byte, contentType string, pageURL *url.URL) (*Page, error) {
	p, _, err := extract(body, contentType, pageURL, false)
	return p, err
}

// extract is HTML. With tree set it walks the tree instead of streaming
// (the tests' reference); fellBack reports that the streaming pass gave up
// and the tree was walked.
func extract(body []byte, contentType string, pageURL *url.URL, tree bool) (p *Page, fellBack bool, err error) {
	pa := new(pageAlloc)
	if pageURL != nil {
		pa.lazy.url = *pageURL
	}
	page := &pa.lazy.url
	text, err := decode(body, contentType)
	if err != nil {
		return nil, false, fmt.Errorf("parse: html %q: %w", page.Redacted(), err)
	}
	pa.lazy.text = text

	var s scan
	ok := false
	if !tree {
		s, ok = tokens(text, true)
	}
	if !ok {
		// A construct the streaming pass does not model: walk the tree.
		fellBack = !tree
		root, err := parseTree(text)
		switch {
		case err == nil:
			s = scan{}
			s.walk(root)
			pa.lazy.once.Do(func() { pa.lazy.setRoot(root) })
		case tree:
			return nil, false, fmt.Errorf("parse: html %q: %w", page.Redacted(), err)
		default:
			s, _ = tokens(text, false)
		}
	}

	pa.base = *page // copy: Page.Base must not alias doc.Url or the caller's URL
	p = &pa.page
	*p = Page{
		Title:       s.title,
		Description: collapseSpace(s.description),
		Lang:        strings.Trim(s.lang, asciiSpace),
		Base:        &pa.base,
		NoFollow:    s.noFollow,
		NoIndex:     s.noIndex,
		lazy:        &pa.lazy,
	}
	if s.hasBase {
		if b, ok := resolve(p.Base, s.baseHref); ok {
			p.Base = b
		}
	}
	if s.canonical != "" {
		if c, ok := resolve(p.Base, s.canonical); ok {
			c.Fragment, c.RawFragment = "", ""
			p.Canonical = c.String()
		}
	}
	p.Links = links(p.Base, page, s.refs)
	return p, fellBack, nil
}

// ref is a link target as written in the document.
type ref struct {
	href     string
	noFollow bool
	end      int // used by the streaming pass while it collects hrefs
}

// scan collects what HTML needs from a document, in one walk of its tree
// (dom.go) or one pass of its tokens (tokens.go).
type scan struct {
	title, description, canonical, lang        string
	baseHref                                   string
	hasBase, hasTitle, hasDescription, hasLang bool
	noFollow, noIndex                          bool
	refs                                       []ref
}

// robots applies the directives of a <meta name="robots"> content: a
// comma-separated list, case-insensitive, of which "nofollow", "noindex" and
// "none" count.
func (s *scan) robots(content []byte) {
	for tok := range bytes.SplitSeq(content, []byte(",")) {
		tok = bytes.Trim(tok, asciiSpace)
		switch {
		case bytes.EqualFold(tok, []byte("nofollow")):
			s.noFollow = true
		case bytes.EqualFold(tok, []byte("noindex")):
			s.noIndex = true
		case bytes.EqualFold(tok, []byte("none")):
			s.noFollow, s.noIndex = true, true
		}
	}
}

// IsHTML reports whether a Content-Type header value names HTML (text/html or
// application/xhtml+xml, parameters ignored, case-insensitive). An empty
// value is sniffed from body with http.DetectContentType.
func IsHTML(contentType string, body []byte) bool {
	mt := mediaType(contentType)
	if mt == "" {
		mt = mediaType(http.DetectContentType(body))
	}
	return strings.EqualFold(mt, "text/html") || strings.EqualFold(mt, "application/xhtml+xml")
}

func mediaType(contentType string) string {
	if i := strings.IndexByte(contentType, ';'); i >= 0 {
		contentType = contentType[:i]
	}
	return strings.TrimSpace(contentType)
}

// links resolves, normalizes and deduplicates refs against base, leaving out
// non-http(s) targets, unparsable ones and those whose key is page's.
func links(base, page *url.URL, refs []ref) []Link {
	if len(refs) == 0 {
		return nil
	}
	self, _, err := Normalize(page)
	if err != nil {
		self = ""
	}
	out := make([]Link, 0, len(refs))
	// seen maps each key, and each href already handled (pages repeat
	// links), to the index of its Link in out, or to -1 when it was left
	// out. Hrefs and keys share the map safely: an href that equals a key
	// is an absolute URL in normal form, which resolves to that very key
	// whatever the base.
	seen := make(map[string]int, 2*len(refs))
	for _, r := range refs {
		i, done := seen[r.href]
		if !done {
			i = -1
			if u, ok := resolve(base, r.href); ok {
				u.Fragment, u.RawFragment = "", ""
				if key, host, err := Normalize(u); err == nil && key != self {
					if j, dup := seen[key]; dup {
						i = j
					} else {
						i = len(out)
						seen[key] = i
						l := Link{URL: key, Key: key, Host: host, NoFollow: true}
						if !stringIs(u, key) {
							l.URL = u.String()
						}
						out = append(out, l)
					}
				}
			}
			seen[r.href] = i
		}
		if i >= 0 && !r.noFollow {
			out[i].NoFollow = false
		}
	}
	return out
}

// stringIs reports whether u.String() == s, without building u.String(),
// for a URL without fragment. It may report false when they are equal,
// and does so unless u has a scheme and a host and no userinfo, opaque
// part, raw path or fragment, and its host and path hold only characters
// that url.URL.String never escapes there (letters, digits, "-._~", and
// ':' in the host, '/' in the path). u.String() is then the scheme, "://",
// the host, the path and, if ForceQuery is set or RawQuery is not empty,
// '?' and RawQuery as they are.
func stringIs(u *url.URL, s string) bool {
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
		if c := u.Host[i]; !isUnreserved(c) && c != ':' {
			return false
		}
	}
	for i := 0; i < len(u.Path); i++ {
		if c := u.Path[i]; !isUnreserved(c) && c != '/' {
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

// resolve cleans href (trims ASCII whitespace, removes tabs and newlines as
// browsers do), parses it once and resolves it against base. It reports false
// for an empty href, a scheme other than http(s) (checked before parsing), a
// parse error or a result that is not http(s).
func resolve(base *url.URL, href string) (*url.URL, bool) {
	href = strings.Trim(href, asciiSpace)
	if strings.ContainsAny(href, "\t\n\r") {
		href = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, href)
	}
	if href == "" {
		return nil, false
	}
	if scheme, ok := refScheme(href); ok && !isHTTP(scheme) {
		return nil, false
	}
	u, err := url.Parse(href)
	if err != nil {
		return nil, false
	}
	u = resolveRef(base, u)
	if !isHTTP(u.Scheme) {
		return nil, false
	}
	return u, true
}

// resolveRef returns base.ResolveReference(ref), reusing ref (which it may
// modify) when that gives the same result without copying ref and
// rebuilding its path.
func resolveRef(base, ref *url.URL) *url.URL {
	if !resolvesToItself(ref) {
		return base.ResolveReference(ref)
	}
	if ref.Scheme == "" {
		ref.Scheme = base.Scheme
		if ref.Host == "" && ref.User == nil {
			ref.Host, ref.User = base.Host, base.User
		}
	}
	return ref
}

// resolvesToItself reports whether (*url.URL).ResolveReference(ref) returns
// a copy of ref whose only changes are the base's scheme when ref has none,
// and the base's host and userinfo when ref has neither (RFC 3986 §5.2.2).
// That holds when ref has a scheme, a host or userinfo, or its path is
// absolute, and its path needs no dot-segment removal and is in the form
// EscapedPath gives (RawPath empty): ResolveReference then sets the path
// to resolvePath(ref.EscapedPath(), "") or resolvePath(base path,
// ref.EscapedPath()), which both return ref's escaped path unchanged.
func resolvesToItself(ref *url.URL) bool {
	if ref.RawPath != "" || ref.Opaque != "" {
		return false
	}
	if ref.Path == "" {
		return ref.Scheme != "" || ref.Host != "" || ref.User != nil
	}
	return ref.Path[0] == '/' && !hasDotSegment(ref.Path)
}

// refScheme returns the scheme of href if it starts with one (RFC 3986 §3.1,
// the same test url.Parse applies).
func refScheme(href string) (string, bool) {
	for i := 0; i < len(href); i++ {
		c := href[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return "", false
			}
		case c == ':':
			return href[:i], i > 0
		default:
			return "", false
		}
	}
	return "", false
}

func isHTTP(scheme string) bool {
	return strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https")
}

// hasToken reports whether the whitespace-separated list contains tok,
// case-insensitively (strings.Fields and strings.EqualFold semantics).
func hasToken(list, tok string) bool {
	for f := range strings.FieldsSeq(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

// hasTokenBytes is hasToken for a []byte list.
func hasTokenBytes(list []byte, tok string) bool {
	for f := range bytes.FieldsSeq(list) {
		if bytes.EqualFold(f, []byte(tok)) {
			return true
		}
	}
	return false
}

// asciiSpace is HTML's ASCII whitespace.
const asciiSpace = " \t\n\f\r"

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// collapseSpace replaces runs of ASCII whitespace with one space and trims
// the ends. Other spaces, such as U+00A0 from &nbsp;, are kept. It allocates
// only when s changes.
func collapseSpace(s string) string {
	s = strings.Trim(s, asciiSpace)
	clean := true
	for i := 0; i < len(s); i++ {
		if isASCIISpace(s[i]) && (s[i] != ' ' || isASCIISpace(s[i+1])) {
			clean = false // s is trimmed, so s[i+1] exists
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		if isASCIISpace(s[i]) {
			space = true
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, s[i])
	}
	return string(b)
}

var boms = [][]byte{{0xEF, 0xBB, 0xBF}, {0xFE, 0xFF}, {0xFF, 0xFE}}

// decode returns body converted to UTF-8 (see HTML for the order of
// sources), without a byte order mark. It returns body itself when no
// conversion is needed.
func decode(body []byte, contentType string) ([]byte, error) {
	if unchanged(body, contentType) {
		return body, nil
	}
	return decodeFull(body, contentType)
}

// unchanged reports, without parsing contentType or running the charset
// prescan, that decodeFull(body, contentType) returns body itself. It holds
//   - when contentType is exactly the usual "text/html; charset=utf-8"
//     (any case, with or without the space) and body has no byte order
//     mark: the header's charset is certain;
//   - when contentType declares no charset and body is ASCII: then every
//     ASCII-compatible encoding leaves it as it is, and the prescan of the
//     first 1024 bytes cannot find one that is not (ISO-2022-JP or the
//     replacement encoding), because their labels ("iso-2022-jp",
//     "csiso2022kr", "hz-gb-2312", "replacement", ...) all hold "2022",
//     "hz-gb-2312" or "replacement", which would have to be written out
//     (a '&' could spell them with character references, so none may
//     appear either). UTF-16 labels in a <meta> mean UTF-8.
func unchanged(body []byte, contentType string) bool {
	switch {
	case len(contentType) == len("text/html; charset=utf-8") && strings.EqualFold(contentType, "text/html; charset=utf-8"),
		len(contentType) == len("text/html;charset=utf-8") && strings.EqualFold(contentType, "text/html;charset=utf-8"):
		for _, b := range boms {
			if bytes.HasPrefix(body, b) {
				return false
			}
		}
		return true
	case containsFold(contentType, "charset"):
		return false
	}
	if !isASCII(body) {
		return false
	}
	var buf [1024]byte
	prefix := lowerInto(buf[:], body[:min(len(body), len(buf))])
	return bytes.IndexByte(prefix, '&') < 0 && !bytes.Contains(prefix, []byte("2022")) &&
		!bytes.Contains(prefix, []byte("hz-gb-2312")) && !bytes.Contains(prefix, []byte("replacement"))
}

// decodeFull is decode without the shortcut.
func decodeFull(body []byte, contentType string) ([]byte, error) {
	prefix := body[:min(len(body), 1024)]
	var (
		enc     encoding.Encoding
		name    string
		certain bool
		bom     int
	)
	for _, b := range boms {
		if bytes.HasPrefix(body, b) {
			bom = len(b)
		}
	}
	declared := containsFold(prefix, "charset")
	if bom > 0 || declared || containsFold(contentType, "charset") {
		enc, name, certain = charset.DetermineEncoding(body, contentType)
	}
	body = body[bom:]
	if name == "" || (!certain && !declared && name == "windows-1252") {
		// Nothing declared: WHATWG's fallback, except that the UTF-8 check
		// covers the whole body, not only its first 1024 bytes.
		if utf8.Valid(body) {
			return body, nil
		}
		enc, name = charmap.Windows1252, "windows-1252"
	}
	switch name {
	case "utf-8":
		return body, nil
	case "utf-16be", "utf-16le", "iso-2022-jp", "replacement":
		// Not ASCII-compatible: always decode.
	default:
		if isASCII(body) {
			return body, nil
		}
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return out, nil
}

func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains the lower-case ASCII word w,
// ignoring ASCII case, without allocating.
func containsFold[T string | []byte](b T, w string) bool {
	for i := 0; i+len(w) <= len(b); i++ {
		j := 0
		for j < len(w) && b[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}
