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

	"trawl/internal/urlpath"
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
	// Kind says what the link is for (see Kind). A URL found in several
	// places gets the kind of the occurrence a crawl is most likely to
	// follow: page, then sitemap, then GET form, then asset, then POST
	// form (the first occurrence among equals).
	Kind Kind
	// Source is where the link was found, as element[attribute] for
	// markup ("a[href]", "img[srcset]", "meta[refresh]"), "style" and
	// "[style]" for CSS in a <style> element and a style attribute
	// (with "@import" appended for imports), "css" in a stylesheet,
	// "header:link" and the like for HTTP headers, "sitemap" for a
	// sitemap. Links found inside an iframe's srcdoc or an IE conditional
	// comment have "iframe[srcdoc] " or "comment " before the source
	// inside. It goes with Kind: the occurrence that gave the kind.
	Source string
	// Method is the HTTP method of a KindForm link: "GET" or "POST". It
	// is empty for the other kinds.
	Method string
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
	// Links are the page's http(s) links, unique by Key, in document
	// order: where people navigate (a, area, iframe and frame, forms,
	// citations, a meta refresh, link rel=next, ...), what the page loads
	// (images and srcsets, scripts, stylesheets, media, objects, the URLs
	// in <style> and style attributes, ...), and where it posts (a[ping],
	// a CSP report-uri); see HTML for the full list, and Link.Kind and
	// Link.Source for what each is. Links that normalize to the page's
	// own key (such as "#top", or a form without action) are left out.
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
// blocks out of misnested formatting elements (an <a> left open around a
// <p>), and comments after </body> after the body's content; Links then
// keep source order, and in such tables the first of two titles (bases,
// canonicals, descriptions) is the first in the source.
//
// Links come from these places, with the kind of link they make (Link.Kind;
// Link.Source names the place, such as "img[srcset]"):
//
//   - pages: a[href], area[href] (rel=nofollow sets Link.NoFollow), SVG
//     a[xlink:href], iframe[src], frame[src] (in a frameset),
//     blockquote, q, del and ins [cite], img[longdesc], head[profile],
//     the URL of a <meta http-equiv="refresh">, a meta og:url,
//     twitter:url or msapplication-starturl, and link[href] with a rel
//     such as canonical, next or alternate (RelKind decides the kind of
//     every link[href]: a stylesheet or icon is an asset, an RSS or Atom
//     alternate or rel=sitemap a sitemap, a pingback a POST form; a
//     dns-prefetch or preconnect is not a link);
//   - forms: form[action] (GET, or POST for method=post; a method=dialog
//     form submits nothing), button and input [formaction] (the method
//     is their formmethod, else their form's), isindex[action] (GET);
//     and the endpoints a browser posts to on its own: a[ping],
//     area[ping] and the report-uri of a <meta
//     http-equiv="Content-Security-Policy"> (POST);
//   - assets: img[src], img[srcset], img[lowsrc], img[dynsrc], source[src]
//     and source[srcset], audio, video and track [src], video[poster],
//     script[src] (SVG script[href] and [xlink:href]), SVG image[href]
//     and [xlink:href], embed[src], object[data] and [codebase],
//     applet[codebase] and [archive], param[value] for a URL-bearing
//     name (movie, src, url, ...) or an absolute URL, input[src] for
//     type=image, body, table, td and th [background], html[manifest],
//     the doctype's system identifier, meta og:image, twitter:image and
//     the like, and the url()s and @imports of <style> elements and of
//     style attributes (on any element);
//   - with Options.GuessLinks, what GuessLinks finds in the text of inline
//     scripts (JSON data blocks included).
//
// The markup of an iframe's srcdoc and of an IE conditional comment
// ("<!--[if IE]>...<![endif]-->") is read as a document of its own (at
// most three deep), whose links are resolved against the page's Base.
//
// Broken HTML does not fail; HTML returns an error only when body cannot be
// decoded. A nil pageURL is treated as an empty URL (relative links are then
// dropped). HTML does not modify body, but the Page keeps a reference to it
// (or to its UTF-8 conversion) until Document is first called: the caller
// must not modify body while it may still call Document. HTML is safe for
// concurrent use.
func HTML(body []byte, contentType string, pageURL *url.URL) (*Page, error) {
	p, _, err := extractWith(body, contentType, pageURL, false, Options{})
	return p, err
}

// extract is HTML. With tree set it walks the tree instead of streaming
// (the tests' reference); fellBack reports that the streaming pass gave up
// and the tree was walked.
func extract(body []byte, contentType string, pageURL *url.URL, tree bool) (p *Page, fellBack bool, err error) {
	return extractWith(body, contentType, pageURL, tree, Options{})
}

// extractWith is extract with options.
func extractWith(body []byte, contentType string, pageURL *url.URL, tree bool, opts Options) (p *Page, fellBack bool, err error) {
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

	cfg := scanConfig{guess: opts.GuessLinks}
	var s scan
	ok := false
	if !tree {
		s, ok = tokens(text, true, cfg)
	}
	if !ok {
		// A construct the streaming pass does not model: walk the tree.
		fellBack = !tree
		root, err := parseTree(text)
		switch {
		case err == nil:
			s = walkTree(root, cfg)
			pa.lazy.once.Do(func() { pa.lazy.setRoot(root) })
		case tree:
			return nil, false, fmt.Errorf("parse: html %q: %w", page.Redacted(), err)
		default:
			s, _ = tokens(text, false, cfg)
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

// ref is a link target as written in the document, and where it was
// found. Its fields other than href are small integers: a page's refs cost
// no allocation but their hrefs' (see tokenPass.addRef).
type ref struct {
	href     string
	end      int // the streaming pass's end of href in its buffer; -1 once href is set
	src      source
	nest     uint8 // see nestSrcdoc
	kind     Kind
	method   method
	noFollow bool // an a or area with rel=nofollow
	guess    bool // href is the text of an inline script, for GuessLinks
}

// scanConfig says what a scan looks for.
type scanConfig struct {
	guess bool  // Options.GuessLinks: keep the text of inline scripts
	depth uint8 // nesting of the document: 0 for the page, 1 for a srcdoc in it, ...
	nest  uint8 // the nest code of the document's refs (see nestSrcdoc)
}

// child returns the configuration of a document nested in this one with
// prefix nestSrcdoc or nestComment.
func (c scanConfig) child(prefix uint8) scanConfig {
	return scanConfig{guess: c.guess, depth: c.depth + 1, nest: c.nest*3 + prefix}
}

// scan collects what HTML needs from a document, in one walk of its tree
// (dom.go) or one pass of its tokens (tokens.go).
type scan struct {
	scanConfig
	title, description, canonical, lang        string
	baseHref                                   string
	hasBase, hasTitle, hasDescription, hasLang bool
	noFollow, noIndex                          bool
	refs                                       []ref
}

// nestedRefs returns the refs of text, a document nested in another one
// (which c describes), found by the streaming pass, or by the tree walk
// when tree is set or the streaming pass gives up, or by the best-effort
// streaming pass when the tree builder refuses text: what extractWith
// does for a page.
func nestedRefs(text []byte, c scanConfig, tree bool) []ref {
	if !tree {
		if s, ok := tokens(text, true, c); ok {
			return s.refs
		}
	}
	root, err := parseTree(text)
	if err != nil {
		s, _ := tokens(text, false, c)
		return s.refs
	}
	return walkTree(root, c).refs
}

// walkTree returns what the DOM walk finds under root.
func walkTree(root *html.Node, c scanConfig) scan {
	s := &scan{scanConfig: c} // on the heap: the walk's refSink points to it
	s.walk(root)
	return *s
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
// non-http(s) targets, unparsable ones and those whose key is page's. The
// text of inline scripts (guess refs) goes to GuessLinks, whose links take
// the script's place. A Link gets the kind, source and method of the
// occurrence of its key that ranks first (see rank), the first of equals.
func links(base, page *url.URL, refs []ref) []Link {
	if len(refs) == 0 {
		return nil
	}
	self, _, err := Normalize(page)
	if err != nil {
		self = ""
	}
	l := linker{base: base, self: self, out: make([]Link, 0, len(refs))}
	if self != "" && *base == *page && isSelfPath(page) {
		l.page = page
	}
	l.origin, l.hostStart = fastOrigin(base)
	// seen maps each key, and each href already handled (pages repeat
	// links), to the index of its Link in out, or to -1 when it was left
	// out. Hrefs and keys share the map safely: an href that equals a key
	// is an absolute URL in normal form, which resolves to that very key
	// whatever the base.
	seen := seenPool.Get().(map[string]int)
	defer putSeen(seen)
	for i := range refs {
		r := &refs[i]
		if !r.guess {
			l.add(seen, r)
			continue
		}
		for _, g := range GuessLinks([]byte(r.href), base, sourceNames[srcScript]) {
			l.add(seen, &ref{href: g.URL, src: srcScript, nest: r.nest, kind: g.Kind, method: methodOf(g.Kind, g.Method)})
		}
	}
	return l.out
}

// seenPool holds links' seen maps, cleared, so that a page's map reuses
// the memory of an earlier page's instead of allocating its own. The map
// holds strings of the page (its hrefs and keys) only while links runs.
var seenPool = sync.Pool{New: func() any { return make(map[string]int, 64) }}

// maxPooledSeen is the most entries a seen map may have had to go back to
// seenPool: a map does not shrink, and one grown on a page of thousands of
// links would make clearing it cost as much for every later page.
const maxPooledSeen = 256

// putSeen clears seen and returns it to seenPool, unless it grew large.
func putSeen(seen map[string]int) {
	if len(seen) > maxPooledSeen {
		return
	}
	clear(seen)
	seenPool.Put(seen)
}

// linker is the state of links.
type linker struct {
	base      *url.URL
	self      string
	page      *url.URL // the page, if isSelf may look at it
	origin    string   // the base's scheme, "://" and host, if fastKey may use it (see fastOrigin)
	hostStart int      // where the host key starts in origin
	out       []Link
}

// isSelfPath reports whether the page URL u, which is also the base, is one
// whose own path and URL isSelf recognizes: an absolute path of letters,
// digits, "-._~" and '/', and no query.
func isSelfPath(u *url.URL) bool {
	if u.RawQuery != "" || u.ForceQuery || u.RawPath != "" || u.Opaque != "" || u.Path == "" || u.Path[0] != '/' {
		return false
	}
	for i := 0; i < len(u.Path); i++ {
		if c := u.Path[i]; !isUnreserved(c) && c != '/' {
			return false
		}
	}
	return true
}

// isSelf reports, without parsing href, that it resolves to the page (and
// so to its key): href is the page's path or its scheme, "://", host and
// path, as written in the page URL p. It holds only when p is l.page: the
// base is the page URL, whose key is self, and isSelfPath holds for it.
// Resolving the path keeps the page's scheme and host (and userinfo, but
// a page with userinfo has no key); resolving the whole URL gives the page
// URL without userinfo and fragment; Normalize ignores the fragment. Most
// pages name themselves in a canonical link or og:url.
func isSelf(p *url.URL, href string) bool {
	if href == p.Path {
		return true
	}
	rest, ok := strings.CutPrefix(href, p.Scheme)
	if !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, "://"); !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, p.Host); !ok {
		return false
	}
	return rest == p.Path
}

// add adds the Link of r, or gives the one of its key r's kind if r ranks
// first; seen is links' map.
func (l *linker) add(seen map[string]int, r *ref) {
	i, done := seen[r.href]
	if !done {
		i = l.link(seen, r)
		seen[r.href] = i
	}
	if i < 0 {
		return
	}
	link := &l.out[i]
	if !r.noFollow {
		link.NoFollow = false
	}
	if r.kind != link.Kind || methodNames[r.method] != link.Method {
		if linkRank(r.kind, methodNames[r.method]) < linkRank(link.Kind, link.Method) {
			link.Kind, link.Source, link.Method = r.kind, sourceName(r.src, r.nest), methodNames[r.method]
		}
	}
}

// link returns the index in l.out of the Link of r's href, not seen
// before, adding it if its key is new, or -1 if it is left out.
func (l *linker) link(seen map[string]int, r *ref) int {
	if l.page != nil && isSelf(l.page, r.href) {
		return -1
	}
	// Most hrefs take the fast path, which builds the key on the stack
	// and allocates it only when it is new. The Link's strings are that
	// copy, not parts of href: a page's hrefs share one buffer (see
	// tokenPass.addRef), which a Link kept in a crawl's frontier must not
	// hold on to.
	var buf [128]byte
	if k, n, hs, he, ok := l.fastKey(buf[:0], r.href); ok {
		if string(k) == l.self {
			return -1
		}
		if j, dup := seen[string(k)]; dup {
			return j
		}
		key := string(k)
		return l.push(seen, r, key[:n], key, key[hs:he])
	}
	u, ok := resolve(l.base, r.href)
	if !ok {
		return -1
	}
	u.Fragment, u.RawFragment = "", ""
	key, host, err := Normalize(u)
	if err != nil || key == l.self {
		return -1
	}
	if j, dup := seen[key]; dup {
		return j
	}
	url := key
	if !urlpath.StringIs(u, key) {
		url = u.String()
	}
	return l.push(seen, r, url, key, host)
}

// push adds the Link of r with a key not seen before, and returns its
// index in l.out.
func (l *linker) push(seen map[string]int, r *ref, url, key, host string) int {
	i := len(l.out)
	seen[key] = i
	l.out = append(l.out, Link{URL: url, Key: key, Host: host, NoFollow: true,
		Kind: r.kind, Source: sourceName(r.src, r.nest), Method: methodNames[r.method]})
	return i
}

// fastOrigin returns the origin that fastKey puts before an absolute path,
// and where the host key starts in it: the base's scheme, "://" and host
// as written, provided that they are already the start of the key
// Normalize gives every URL with that scheme and host, and that
// url.URL.String writes them as they are (see urlpath.StringIs). It returns ""
// otherwise (a base with userinfo, an upper-case host, a default port,
// ...), and link then resolves absolute paths the slow way. It costs one
// Normalize per page, not per link.
func fastOrigin(base *url.URL) (origin string, hostStart int) {
	if base == nil || base.Scheme != "http" && base.Scheme != "https" ||
		base.Host == "" || base.User != nil || base.Opaque != "" {
		return "", 0
	}
	for i := 0; i < len(base.Host); i++ {
		if c := base.Host[i]; !isUnreserved(c) && c != ':' {
			return "", 0
		}
	}
	key, host, err := Normalize(&url.URL{Scheme: base.Scheme, Host: base.Host})
	if err != nil || host != base.Host {
		return "", 0
	}
	// The key is the scheme, "://", the host key and '/'.
	return key[:len(key)-1], len(base.Scheme) + len("://")
}

// fastKey appends to dst the key of href as link's slow path makes it
// (resolve, then Normalize), without parsing href, and returns it with
// the length of the URL at its start (the URL is the key, or the key
// without its final '/' when href has an empty path) and the bounds of
// the host key in it. It knows two shapes of href, those most pages hold:
//
//   - an absolute URL in normal form: "http://" or "https://", a host of
//     lower-case letters, digits and "-._" that Normalize keeps as it is
//     (validASCIIHost, no port), and an empty path or one of unreserved
//     characters and '/' without dot segments. url.Parse then gives this
//     scheme, host and path, which resolve keeps, Normalize copies (adding
//     '/' for the empty path) and url.URL.String writes as they are;
//   - an absolute path of the same form, when the base has an origin (see
//     fastOrigin). resolve then gives the base's scheme, host and
//     userinfo (which it has not) with this path.
//
// Either may end in a fragment of printable ASCII without '%' or space,
// which url.Parse accepts and link drops. For anything else (a query, a
// '%', upper case, a port, whitespace that resolve would remove, ...)
// ok is false, and link takes the slow path: fastKey may miss, but never
// gives another answer.
func (l *linker) fastKey(dst []byte, href string) (key []byte, urlLen, hostStart, hostEnd int, ok bool) {
	var rest string
	switch {
	case len(href) > 0 && href[0] == '/' && (len(href) == 1 || href[1] != '/'):
		if l.origin == "" {
			return nil, 0, 0, 0, false
		}
		dst = append(dst, l.origin...)
		hostStart, hostEnd = l.hostStart, len(l.origin)
		rest = href
	case strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://"):
		hostStart = strings.IndexByte(href, ':') + len("://")
		hostEnd = hostStart
		for hostEnd < len(href) && isHostByte(href[hostEnd]) {
			hostEnd++
		}
		if !validASCIIHost(href[hostStart:hostEnd]) {
			return nil, 0, 0, 0, false
		}
		dst = append(dst, href[:hostEnd]...)
		rest = href[hostEnd:]
	default:
		return nil, 0, 0, 0, false
	}
	n := 0
	for n < len(rest) && (isUnreserved(rest[n]) || rest[n] == '/') {
		n++
	}
	path := rest[:n]
	if n < len(rest) && (rest[n] != '#' || !isFastFragment(rest[n+1:])) {
		return nil, 0, 0, 0, false
	}
	if path == "" {
		// Only an absolute URL gets here: an absolute path starts with '/'.
		dst = append(dst, '/')
		return dst, len(dst) - 1, hostStart, hostEnd, true
	}
	if path[0] != '/' || hasDotSegment(path) {
		return nil, 0, 0, 0, false
	}
	dst = append(dst, path...)
	return dst, len(dst), hostStart, hostEnd, true
}

// isHostByte reports whether c may be in a host that fastKey accepts.
func isHostByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_'
}

// isFastFragment reports whether fastKey accepts the fragment f (after its
// '#'): printable ASCII other than space and '%'. url.Parse rejects only
// control characters and bad percent-escapes in a fragment.
func isFastFragment(f string) bool {
	for i := 0; i < len(f); i++ {
		if c := f[i]; c <= ' ' || c >= 0x7f || c == '%' {
			return false
		}
	}
	return true
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
