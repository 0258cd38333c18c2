package parse

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
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
// HTML returns it; reading it from several goroutines is safe, but the
// goquery document returned by Document is not safe for concurrent
// modification.
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

	doc *goquery.Document
}

// Document returns the goquery document HTML built, so a user hook can
// extract its own data. Its Url is the page URL. It returns nil for a nil
// Page.
func (p *Page) Document() *goquery.Document {
	if p == nil {
		return nil
	}
	return p.doc
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
// The document is parsed as HTML5 with scripting disabled: a crawler runs no
// scripts, so like a browser with JavaScript off it sees the content of
// <noscript> as markup. Links inside <template> are inert and ignored.
// Broken HTML does not fail; HTML returns an error only when body cannot be
// decoded. A nil pageURL is treated as an empty URL (relative links are then
// dropped). HTML is safe for concurrent use.
func HTML(body []byte, contentType string, pageURL *url.URL) (*Page, error) {
	var page url.URL
	if pageURL != nil {
		page = *pageURL
	}
	text, err := decode(body, contentType)
	if err != nil {
		return nil, fmt.Errorf("parse: html %q: %w", page.Redacted(), err)
	}
	root, err := html.ParseWithOptions(bytes.NewReader(text), html.ParseOptionEnableScripting(false))
	if err != nil {
		return nil, fmt.Errorf("parse: html %q: %w", page.Redacted(), err)
	}
	doc := goquery.NewDocumentFromNode(root)
	doc.Url = &page

	var s scan
	s.walk(root)

	base := page // copy: Page.Base must not alias doc.Url or the caller's URL
	p := &Page{
		Title:       s.title,
		Description: collapseSpace(s.description),
		Lang:        strings.Trim(s.lang, asciiSpace),
		Base:        &base,
		NoFollow:    s.noFollow,
		NoIndex:     s.noIndex,
		doc:         doc,
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
	p.Links = links(p.Base, &page, s.refs)
	return p, nil
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

// ref is a link target as written in the document.
type ref struct {
	href     string
	noFollow bool
}

// scan collects what HTML needs in one walk of the tree.
type scan struct {
	title, description, canonical, lang string
	baseHref                            string
	hasBase, hasTitle, hasDescription   bool
	noFollow, noIndex                   bool
	refs                                []ref
}

// walk visits the tree under root in document order without recursion,
// skipping the inert content of <template>.
func (s *scan) walk(root *html.Node) {
	n := root
	for {
		descend := true
		if n.Type == html.ElementNode {
			descend = s.element(n)
		}
		if descend && n.FirstChild != nil {
			n = n.FirstChild
			continue
		}
		for n != root && n.NextSibling == nil {
			n = n.Parent
		}
		if n == root {
			return
		}
		n = n.NextSibling
	}
}

// element records what n contributes and reports whether to visit its
// children.
func (s *scan) element(n *html.Node) bool {
	switch n.DataAtom {
	case atom.A, atom.Area:
		if href, ok := attr(n, "href"); ok {
			rel, _ := attr(n, "rel")
			s.refs = append(s.refs, ref{href: href, noFollow: hasToken(rel, "nofollow")})
		}
	case atom.Frame, atom.Iframe:
		if src, ok := attr(n, "src"); ok {
			s.refs = append(s.refs, ref{href: src})
		}
	case atom.Html:
		if s.lang == "" && n.Namespace == "" {
			s.lang, _ = attr(n, "lang")
		}
	case atom.Title:
		if !s.hasTitle && n.Namespace == "" {
			s.hasTitle = true
			s.title = collapseSpace(textOf(n))
		}
		return n.Namespace != "" // an HTML title holds only text
	case atom.Base:
		if href, ok := attr(n, "href"); ok && !s.hasBase {
			s.hasBase, s.baseHref = true, href
		}
	case atom.Link:
		if s.canonical == "" {
			if rel, _ := attr(n, "rel"); hasToken(rel, "canonical") {
				s.canonical, _ = attr(n, "href")
			}
		}
	case atom.Meta:
		name, _ := attr(n, "name")
		switch {
		case strings.EqualFold(name, "description"):
			if !s.hasDescription {
				s.hasDescription = true
				s.description, _ = attr(n, "content")
			}
		case strings.EqualFold(name, "robots"):
			content, _ := attr(n, "content")
			for tok := range strings.SplitSeq(content, ",") {
				tok = strings.Trim(tok, asciiSpace)
				switch {
				case strings.EqualFold(tok, "nofollow"):
					s.noFollow = true
				case strings.EqualFold(tok, "noindex"):
					s.noIndex = true
				case strings.EqualFold(tok, "none"):
					s.noFollow, s.noIndex = true, true
				}
			}
		}
	case atom.Template:
		return false
	}
	return true
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
	seen := make(map[string]int, len(refs))
	for _, r := range refs {
		u, ok := resolve(base, r.href)
		if !ok {
			continue
		}
		u.Fragment, u.RawFragment = "", ""
		key, host, err := Normalize(u)
		if err != nil || key == self {
			continue
		}
		if i, dup := seen[key]; dup {
			if !r.noFollow {
				out[i].NoFollow = false
			}
			continue
		}
		seen[key] = len(out)
		out = append(out, Link{URL: u.String(), Key: key, Host: host, NoFollow: r.noFollow})
	}
	return out
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
	u = base.ResolveReference(u)
	if !isHTTP(u.Scheme) {
		return nil, false
	}
	return u, true
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

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
}

// hasToken reports whether the ASCII-whitespace-separated list contains tok,
// case-insensitively.
func hasToken(list, tok string) bool {
	for f := range strings.FieldsSeq(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

// textOf returns the concatenated text of n's child text nodes.
func textOf(n *html.Node) string {
	c := n.FirstChild
	if c != nil && c.NextSibling == nil && c.Type == html.TextNode {
		return c.Data
	}
	var b strings.Builder
	for ; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
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
