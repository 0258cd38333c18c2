package parse

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// This file holds the streaming extraction HTML uses by default: one pass of
// the golang.org/x/net/html tokenizer, no tree. It must find exactly what
// the DOM walk (dom.go) finds in the tree html.Parse builds, so it models the
// parts of tree construction that decide what that walk sees:
//
//   - raw text: the tokenizer switches to raw text after <script>, <style>,
//     <title>, <textarea>, <iframe>, <xmp>, <noembed>, <noframes>,
//     <noscript> and <plaintext> by itself; like the parser (scripting
//     disabled), the pass turns that off for <noscript> and for every start
//     tag in foreign content;
//   - foreign content: <svg> and <math> open a stack of foreign elements
//     (their <title> is not the page's; <a>, <base>, <link>, <iframe> and
//     <frame> in them still count, as in the tree), closed by matching end
//     tags and by the "breakout" start tags (<p>, <div>, <meta>, ...);
//     CDATA sections are recognized only there;
//   - templates: everything inside an HTML <template> (or a foreign element
//     named template) is inert, and a template whose first start tag is
//     <col> ignores all but <col> and <template>;
//   - the first <html> start tag outside templates that has a lang attribute
//     gives Lang (the parser merges the attributes of later <html> tags);
//   - <frame> counts only in a frameset (or in foreign content).
//
// Where the outcome depends on tree construction that is not modelled — a
// <frameset> start tag, an HTML start tag inside an SVG or MathML
// integration point (<foreignObject>, <desc>, <title>, <mi>, ...), an end
// tag in foreign content that closes none of the open foreign elements —
// the pass gives up and HTML falls back to the DOM walk. Element order can
// differ where the tree builder moves elements away from source order: it
// moves ("foster-parents") content misplaced inside a <table> before the
// table, and its adoption agency algorithm moves a block out of misnested
// formatting elements (an <a> left open around a <p>, then another <a>).
// There the tree's document order, and with it the order of Links (and, in
// tables, which of several titles, bases or canonicals comes first), can
// differ from the source order this pass uses; the set of links does not.
//
// Speed comes from skipReader, which hands the tokenizer only what the pass
// needs: text in the tokenizer's data state, and in HTML content the start
// and end tags the pass ignores (<p>, <div>, </a>, ...), are skipped with
// bytes.IndexByte and a scan of the tag's extent instead of being
// tokenized byte by byte.

// skipReader is the io.Reader the tokenizer reads text from. It hands the
// tokenizer only what the pass needs. Each Read ends just after a '>' (or at
// the end of text), so that after a tag token the tokenizer's buffer is
// usually empty. When skip is set at that point, the tokenizer is in its
// data state, and Read leaves out the text up to the next '<': it cannot
// affect any later token. When skipTags is set too, the pass is in HTML
// content where most tags do not matter to it (see tagMatters), and Read
// also leaves out the start and end tags that do not, and the text after
// them; tagEnd finds where they end exactly as the tokenizer would. None of
// them can leave the tokenizer outside its data state, so the tokens the
// tokenizer still reads are the ones it would have read. Start tags the
// pass only reads attributes from (attrsOnly) reach the tokenizer as
// "<name>", and the pass reads their attributes from tag: the tokenizer's
// attribute handling costs two allocations per attribute.
type skipReader struct {
	b              []byte
	off            int
	skip, skipTags bool
	tag            []byte // the tag the last Read shortened to "<name>", or nil
}

func (r *skipReader) Read(p []byte) (int, error) {
	r.tag = nil
	if r.skip {
		r.skip = false
		for {
			i := bytes.IndexByte(r.b[r.off:], '<')
			if i < 0 {
				r.off = len(r.b)
				break
			}
			r.off += i
			if !r.skipTags {
				break
			}
			n, short := skippable(r.b[r.off:])
			if short != nil && len(p) >= len(short)+2 {
				// The tokenizer reads "<name>"; the pass reads the
				// attributes from r.tag.
				r.tag = r.b[r.off : r.off+n]
				r.off += n
				n = copy(p, "<")
				n += copy(p[n:], short)
				n += copy(p[n:], ">")
				return n, nil
			}
			if n == 0 {
				break
			}
			r.off += n
		}
	}
	rest := r.b[r.off:]
	if len(rest) == 0 {
		return 0, io.EOF
	}
	if i := bytes.IndexByte(rest, '>'); i >= 0 {
		rest = rest[:i+1]
	}
	n := copy(p, rest)
	r.off += n
	return n, nil
}

// skippable looks at the tag at the start of b (b[0] == '<') in HTML
// content. If it is a start or end tag that does not matter there, it
// returns its length n. If it is a start tag the pass only reads attributes
// from (attrsOnly), it returns its length and its name: the tokenizer may
// read just "<name>" instead, which costs it no attribute. Otherwise it
// returns 0.
func skippable(b []byte) (n int, name []byte) {
	switch {
	case len(b) > 1 && isLetter(b[1]):
		name = tagName(b, 1)
		if !tagMatters(name) {
			return tagEnd(b, 1), nil
		}
		if !attrsOnly(name) {
			return 0, nil
		}
		if n = tagEnd(b, 1); n == 0 {
			return 0, nil
		}
		return n, name
	case len(b) > 2 && b[1] == '/' && isLetter(b[2]):
		if equalFold(tagName(b, 2), "template") {
			return 0, nil
		}
		return tagEnd(b, 2), nil
	}
	return 0, nil
}

// attrsOnly reports whether, in HTML content, the pass only reads the
// attributes of a start tag named name: its raw-text state and whether it
// is self-closing do not matter.
func attrsOnly(name []byte) bool {
	if len(name) > len("iframe") {
		return false
	}
	var buf [len("iframe")]byte
	switch atom.Lookup(lowerInto(buf[:], name)) {
	case atom.A, atom.Area, atom.Link, atom.Meta, atom.Base, atom.Html, atom.Frame:
		return true
	}
	return false
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// tagMatters reports whether the pass must see a start tag named name (as
// written) in HTML content outside an undecided or column-group template:
// the tags startHTML acts on and those after which the tokenizer reads raw
// text.
func tagMatters(name []byte) bool {
	if len(name) > len("plaintext") {
		return false
	}
	var buf [len("plaintext")]byte
	switch atom.Lookup(lowerInto(buf[:], name)) {
	case atom.A, atom.Area, atom.Frame, atom.Iframe, atom.Html, atom.Base, atom.Link, atom.Meta,
		atom.Title, atom.Template, atom.Svg, atom.Math, atom.Noscript, atom.Frameset,
		atom.Script, atom.Style, atom.Textarea, atom.Xmp, atom.Noembed, atom.Noframes, atom.Plaintext:
		return true
	}
	return false
}

// Namespaces of open elements.
const (
	nsHTML uint8 = iota
	nsSVG
	nsMath
)

// Integration points (HTML §13.2.6.5): elements in foreign content whose
// content is parsed as HTML.
const (
	pointNone     uint8 = iota
	pointHTML           // SVG foreignObject, desc, title; MathML annotation-xml with an HTML encoding
	pointMathText       // MathML mi, mo, mn, ms, mtext
)

// Modes of an open HTML template (its insertion mode, as far as it matters).
const (
	tmplUndecided uint8 = iota // no start tag yet: "in template"
	tmplColgroup               // first start tag was <col>: "in column group", everything but <col> and <template> is ignored
	tmplOther
)

// open is an element the pass tracks on its stack of open elements: an HTML
// template or a foreign element. HTML elements other than templates are not
// tracked; foreign content never holds one (the pass gives up first).
type open struct {
	name     string // lower-case tag name (foreign elements)
	ns       uint8
	point    uint8 // foreign elements
	mode     uint8 // HTML templates
	template bool  // an HTML template or a foreign element named template: its content is inert
}

// tokenPass is the state of one streaming extraction.
type tokenPass struct {
	s        scan
	hrefs    strings.Builder // see addRef
	z        *html.Tokenizer
	strict   bool // give up on constructs that are not modelled; otherwise do the obvious thing
	stack    []open
	inert    int  // templates on stack
	overflow bool // push met maxOpen
	stackA   [8]open
}

// tokens extracts what HTML needs from text in one tokenizer pass. It
// reports false when strict is set and text holds a construct the pass does
// not model (see the comment at the top of this file).
func tokens(text []byte, strict bool) (scan, bool) {
	r := &skipReader{b: text}
	t := tokenPass{z: html.NewTokenizer(r), strict: strict}
	t.stack = t.stackA[:0]
	s := &t.s
	z := t.z
	raw := false   // the tokenizer reads the next token as raw text
	title := false // the next token, if text, is the page title
	for {
		foreign := t.foreign()
		z.AllowCDATA(foreign)
		r.skip = !raw && len(z.Buffered()) == 0
		r.skipTags = r.skip && t.htmlContent()
		r.tag = nil
		tt := z.Next()
		wasTitle := title
		raw, title = false, false
		switch tt {
		case html.ErrorToken:
			return t.finish(), true
		case html.TextToken:
			if wasTitle {
				s.title = collapseSpace(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tag := z.Raw()
			if r.tag != nil {
				tag = r.tag
			}
			name := tagName(tag, 1)
			raw = isRawTag(name)
			var a atom.Atom
			if len(name) <= maxAtomLen {
				var buf [maxAtomLen]byte
				a = atom.Lookup(lowerInto(buf[:], name))
			}
			switch t.start(tag, name, a, tt == html.SelfClosingTagToken) {
			case notRaw:
				z.NextIsNotRawText()
				raw = false
			case isTitle:
				title = raw
			case giveUp:
				return scan{}, false
			}
			if t.overflow && strict {
				return scan{}, false
			}
		case html.EndTagToken:
			if !t.end(tagName(z.Raw(), 2)) {
				return scan{}, false
			}
		}
	}
}

// maxAtomLen is the longest tag name the pass looks up ("annotation-xml").
const maxAtomLen = 14

// Results of tokenPass.start.
const (
	asIs    = iota
	notRaw  // the token's content is not raw text, whatever the tokenizer thinks
	isTitle // the page's <title>
	giveUp
)

func (t *tokenPass) top() *open {
	if len(t.stack) == 0 {
		return nil
	}
	return &t.stack[len(t.stack)-1]
}

// foreign reports whether the current node is a foreign element.
func (t *tokenPass) foreign() bool {
	n := t.top()
	return n != nil && n.ns != nsHTML
}

// htmlContent reports whether the current node is an HTML element outside
// a template whose mode still matters: where only the tags in tagMatters
// and </template> change anything.
func (t *tokenPass) htmlContent() bool {
	n := t.top()
	return n == nil || n.ns == nsHTML && n.mode == tmplOther
}

// maxOpen bounds the stack: the tree builder refuses documents with more
// than 512 open elements, so a strict pass gives up beyond it, and a pass
// that is not strict stops tracking elements beyond it (which keeps the
// work per token bounded).
const maxOpen = 512

func (t *tokenPass) push(o open) {
	if len(t.stack) >= maxOpen {
		t.overflow = true
		return
	}
	if o.template {
		t.inert++
	}
	t.stack = append(t.stack, o)
}

// popTo pops the elements from index i up.
func (t *tokenPass) popTo(i int) {
	for _, o := range t.stack[i:] {
		if o.template {
			t.inert--
		}
	}
	t.stack = t.stack[:i]
}

// unsupported reports whether the pass gives up on a construct it does not
// model; when not strict it goes on as best it can.
func (t *tokenPass) unsupported() bool {
	return t.strict
}

// start handles a start tag: tag is its raw text, name its name as written
// (lower-cased by the caller only for the atom lookup) and a its atom.
func (t *tokenPass) start(tag, name []byte, a atom.Atom, selfClosing bool) int {
	if n := t.top(); n != nil && n.ns != nsHTML {
		// The current node is foreign: §13.2.6 tree construction dispatcher.
		asHTML := n.point == pointHTML ||
			n.point == pointMathText && a != atom.Mglyph && a != atom.Malignmark ||
			n.ns == nsMath && n.name == "annotation-xml" && a == atom.Svg
		switch {
		case asHTML && (a == atom.Svg || a == atom.Math):
			// In body: a new foreign subtree in its own namespace.
			ns := nsSVG
			if a == atom.Math {
				ns = nsMath
			}
			if !selfClosing {
				t.push(open{name: a.String(), ns: ns})
			}
			return asIs
		case asHTML:
			if t.unsupported() {
				return giveUp
			}
			return t.startHTML(tag, a, selfClosing)
		case isBreakout(tag, a):
			i := len(t.stack)
			for i > 0 && t.stack[i-1].ns != nsHTML && t.stack[i-1].point == pointNone {
				i--
			}
			t.popTo(i)
			if i > 0 && t.stack[i-1].ns != nsHTML {
				// Stopped at an integration point.
				if t.unsupported() {
					return giveUp
				}
			}
			return t.startHTML(tag, a, selfClosing)
		}
		// A foreign element in the current node's namespace.
		o := open{name: lowerName(name, a), ns: n.ns, template: a == atom.Template}
		switch {
		case o.ns == nsSVG && (a == atom.Desc || a == atom.Title || o.name == "foreignobject"):
			o.point = pointHTML
		case o.ns == nsMath && (a == atom.Mi || a == atom.Mo || a == atom.Mn || a == atom.Ms || a == atom.Mtext):
			o.point = pointMathText
		case o.ns == nsMath && a == atom.AnnotationXml:
			var at attrs
			at.scan(tag, wantEncoding)
			if at.has&wantEncoding != 0 && (bytes.EqualFold(at.encoding, []byte("text/html")) ||
				bytes.EqualFold(at.encoding, []byte("application/xhtml+xml"))) {
				o.point = pointHTML
			}
		}
		if t.inert == 0 {
			// What the DOM walk counts regardless of namespace.
			switch a {
			case atom.A, atom.Area, atom.Frame, atom.Iframe, atom.Base, atom.Link:
				t.element(tag, a)
			}
		}
		if !selfClosing {
			t.push(o)
		}
		return notRaw
	}
	return t.startHTML(tag, a, selfClosing)
}

// startHTML handles a start tag in HTML content (the current node is an
// HTML element).
func (t *tokenPass) startHTML(tag []byte, a atom.Atom, selfClosing bool) int {
	if n := t.top(); n != nil && n.ns == nsHTML {
		// The current node is a template (HTML content holds no tracked
		// element but templates).
		switch n.mode {
		case tmplColgroup:
			// "In column group" with a template as current node: all but
			// these are ignored (a <noscript> stays raw text).
			switch a {
			case atom.Template:
				t.push(open{ns: nsHTML, template: true})
			}
			return asIs
		case tmplUndecided:
			switch a {
			case atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta, atom.Noframes,
				atom.Script, atom.Style, atom.Template, atom.Title:
				// Processed as in head; the template's mode stays.
			case atom.Col:
				n.mode = tmplColgroup
				return asIs
			default:
				n.mode = tmplOther
			}
		}
	}
	res := asIs
	switch a {
	case atom.Svg, atom.Math:
		if !selfClosing {
			ns := nsSVG
			if a == atom.Math {
				ns = nsMath
			}
			t.push(open{name: a.String(), ns: ns})
		}
		return asIs
	case atom.Template:
		t.push(open{ns: nsHTML, template: true})
		return asIs
	case atom.Noscript:
		return notRaw // scripting is disabled
	case atom.Frameset:
		// Outside templates the parser may replace the body with a
		// frameset and then ignore most tags; inside one it is ignored.
		if t.inert == 0 && t.unsupported() {
			return giveUp
		}
		return asIs
	case atom.Frame:
		return asIs // ignored outside a frameset
	case atom.Title:
		res = isTitle
	}
	if t.inert > 0 {
		return asIs
	}
	if res == isTitle {
		if t.s.hasTitle {
			return asIs
		}
		t.s.hasTitle = true
	}
	t.element(tag, a)
	return res
}

// end handles an end tag named name (as written). It reports false when the
// pass gives up.
func (t *tokenPass) end(name []byte) bool {
	if t.foreign() {
		// Look for a match among the open foreign elements (§13.2.6.5,
		// "any other end tag").
		i := len(t.stack) - 1
		for ; i >= 0 && t.stack[i].ns != nsHTML; i-- {
			if sameName(name, t.stack[i].name) {
				t.popTo(i)
				return true
			}
		}
		// None matches: the end tag is processed as in HTML content.
		switch {
		case equalFold(name, "template"):
		case equalFold(name, "body"), equalFold(name, "html"):
			return true // changes the insertion mode only
		default:
			return !t.unsupported()
		}
	}
	if !equalFold(name, "template") {
		return true
	}
	for i := len(t.stack) - 1; i >= 0; i-- {
		if t.stack[i].ns == nsHTML {
			t.popTo(i)
			break
		}
	}
	return true
}

// element records what an element that is not inert contributes, like
// scan.element does for a tree node. a is one of the atoms the DOM walk
// looks at.
func (t *tokenPass) element(tag []byte, a atom.Atom) {
	s := &t.s
	var at attrs
	switch a {
	case atom.A, atom.Area:
		at.scan(tag, wantHref|wantRel)
		if at.has&wantHref != 0 {
			t.addRef(at.href, hasTokenBytes(at.rel, "nofollow"))
		}
	case atom.Frame, atom.Iframe:
		at.scan(tag, wantSrc)
		if at.has&wantSrc != 0 {
			t.addRef(at.src, false)
		}
	case atom.Html:
		if !s.hasLang {
			at.scan(tag, wantLang)
			if at.has&wantLang != 0 {
				s.hasLang, s.lang = true, string(at.lang)
			}
		}
	case atom.Title:
		// Its text is the next token.
	case atom.Base:
		if !s.hasBase {
			at.scan(tag, wantHref)
			if at.has&wantHref != 0 {
				s.hasBase, s.baseHref = true, string(at.href)
			}
		}
	case atom.Link:
		if s.canonical == "" {
			at.scan(tag, wantRel|wantHref)
			if hasTokenBytes(at.rel, "canonical") {
				s.canonical = string(at.href)
			}
		}
	case atom.Meta:
		at.scan(tag, wantName|wantContent)
		switch {
		case bytes.EqualFold(at.name, []byte("description")): // strings.EqualFold, as the DOM walk
			if !s.hasDescription {
				s.hasDescription = true
				s.description = string(at.content)
			}
		case bytes.EqualFold(at.name, []byte("robots")):
			s.robots(at.content)
		}
	}
}

// addRef records a link target. Its href is copied into t.hrefs, which
// holds all of them; finish sets the refs' href fields once it is complete,
// so that a page's hrefs cost one allocation, not one each.
func (t *tokenPass) addRef(href []byte, noFollow bool) {
	if t.s.refs == nil {
		t.s.refs = make([]ref, 0, 32) // most pages need no more
		t.hrefs.Grow(1024)
	}
	t.s.refs = append(t.s.refs, ref{noFollow: noFollow, end: t.hrefs.Len() + len(href)})
	t.hrefs.Write(href)
}

// finish returns the scan with the refs' hrefs set.
func (t *tokenPass) finish() scan {
	all := t.hrefs.String()
	start := 0
	for i := range t.s.refs {
		r := &t.s.refs[i]
		r.href = all[start:r.end]
		start = r.end
	}
	return t.s
}

// isBreakout reports whether a start tag ends foreign content (§13.2.6.5).
func isBreakout(tag []byte, a atom.Atom) bool {
	switch a {
	case atom.B, atom.Big, atom.Blockquote, atom.Body, atom.Br, atom.Center, atom.Code, atom.Dd,
		atom.Div, atom.Dl, atom.Dt, atom.Em, atom.Embed, atom.H1, atom.H2, atom.H3, atom.H4,
		atom.H5, atom.H6, atom.Head, atom.Hr, atom.I, atom.Img, atom.Li, atom.Listing, atom.Menu,
		atom.Meta, atom.Nobr, atom.Ol, atom.P, atom.Pre, atom.Ruby, atom.S, atom.Small, atom.Span,
		atom.Strong, atom.Strike, atom.Sub, atom.Sup, atom.Table, atom.Tt, atom.U, atom.Ul, atom.Var:
		return true
	case atom.Font:
		var at attrs
		at.presence(tag, wantFontAttrs)
		return at.has&wantFontAttrs != 0
	}
	return false
}

// rawTags are the start tags after which the tokenizer reads raw text.
var rawTags = [...]string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp"}

// isRawTag reports whether the tokenizer switches to raw text after a start
// tag named name (as written), exactly as its startTagIn does.
func isRawTag(name []byte) bool {
	if len(name) < 3 || len(name) > 9 {
		return false
	}
	for _, r := range rawTags {
		if equalFold(name, r) {
			return true
		}
	}
	return false
}

// tagName returns the name of the tag token raw as written: from raw[i]
// (after "<" or "</") up to the first ASCII space, '/' or '>', like the
// tokenizer's readTagName.
func tagName(raw []byte, i int) []byte {
	if i >= len(raw) {
		return nil
	}
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case ' ', '\n', '\r', '\t', '\f', '/', '>':
			return raw[i:j]
		}
	}
	return raw[i:]
}

// lowerInto lower-cases ASCII b into buf (len(buf) >= len(b)).
func lowerInto(buf, b []byte) []byte {
	buf = buf[:len(b)]
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf
}

// lowerName returns name lower-cased as a string, without allocating when it
// is a known atom. A NUL becomes U+FFFD, as the tokenizer's TagName does.
func lowerName(name []byte, a atom.Atom) string {
	if a != 0 {
		return a.String()
	}
	b := make([]byte, 0, len(name))
	for _, c := range name {
		switch {
		case c == 0:
			b = append(b, "\ufffd"...)
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// equalFold reports whether b, a name as written, equals the lower-case
// name s once the tokenizer has lower-cased it and turned each NUL into
// U+FFFD.
func equalFold(b []byte, s string) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return lowerName(b, 0) == s
	}
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// sameName reports whether an end tag named name (as written) closes the
// foreign element named elem: x/net/html compares them with
// strings.EqualFold, which also folds some non-ASCII letters.
func sameName(name []byte, elem string) bool {
	for _, c := range name {
		if c >= utf8.RuneSelf {
			return strings.EqualFold(lowerName(name, 0), elem)
		}
	}
	for i := 0; i < len(elem); i++ {
		if elem[i] >= utf8.RuneSelf {
			return strings.EqualFold(lowerName(name, 0), elem)
		}
	}
	return equalFold(name, elem)
}

// Attributes attrs.scan can pick out of a start tag.
const (
	wantHref uint16 = 1 << iota
	wantRel
	wantSrc
	wantLang
	wantName
	wantContent
	wantEncoding
	wantFontAttrs // color, face or size; presence only
)

var attrKeys = [...]struct {
	key  string
	want uint16
}{
	{"href", wantHref}, {"rel", wantRel}, {"src", wantSrc}, {"lang", wantLang},
	{"name", wantName}, {"content", wantContent}, {"encoding", wantEncoding},
	{"color", wantFontAttrs}, {"face", wantFontAttrs}, {"size", wantFontAttrs},
}

// attrs holds the values of the wanted attributes of one start tag, as
// (*html.Tokenizer).TagAttr would return them. The values may alias the
// tokenizer's buffer: they are valid until its next Next.
type attrs struct {
	has                                           uint16
	href, rel, src, lang, name, content, encoding []byte
}

func (at *attrs) set(w uint16, v []byte) {
	at.has |= w
	switch w {
	case wantHref:
		at.href = v
	case wantRel:
		at.rel = v
	case wantSrc:
		at.src = v
	case wantLang:
		at.lang = v
	case wantName:
		at.name = v
	case wantContent:
		at.content = v
	case wantEncoding:
		at.encoding = v
	}
}

// which returns the want bit of an attribute key as written (only ASCII
// letters can match: the tokenizer lower-cases ASCII and turns NUL into
// U+FFFD).
func which(key []byte) uint16 {
	if bytes.IndexByte(key, 0) >= 0 {
		return 0
	}
	for _, k := range attrKeys {
		if equalFold(key, k.key) {
			return k.want
		}
	}
	return 0
}

// scan finds the wanted attributes in raw, the raw text of a start tag,
// reading it the way the tokenizer's readTag does: the first of several
// attributes with the same (case-insensitive) key wins. When a wanted value
// holds '&', '\r' or NUL, which the tokenizer decodes, scan takes all
// values from the tokenizer's TagAttr instead, tokenizing raw on its own
// (a tag's attributes do not depend on what precedes it).
func (at *attrs) scan(raw []byte, want uint16) {
	if at.find(raw, want, true) {
		return
	}
	*at = attrs{}
	z := html.NewTokenizer(bytes.NewReader(raw))
	z.Next()
	for more := true; more; {
		var key, val []byte
		key, val, more = z.TagAttr()
		if w := which(key) & want; w != 0 && at.has&w == 0 {
			at.set(w, val)
		}
	}
}

// presence finds which of the wanted attributes raw has, without their
// values.
func (at *attrs) presence(raw []byte, want uint16) {
	at.find(raw, want, false)
}

// find is scan without the decoding: it reports false if values matters
// and a wanted value needs decoding.
func (at *attrs) find(raw []byte, want uint16, values bool) bool {
	p := afterName(raw, 1)
	for p < len(raw) && raw[p] != '>' {
		var ks, ke, vs, ve int
		ks, ke, vs, ve, p = attrAt(raw, p)
		if ks == ke {
			continue
		}
		if w := which(raw[ks:ke]) & want; w != 0 && at.has&w == 0 {
			v := raw[vs:ve]
			if values && needsDecoding(v) {
				return false
			}
			at.set(w, v)
		}
	}
	return true
}

// afterName returns the position after the name of the tag in b whose first
// letter is b[i], and after the white space that follows it, like the
// tokenizer's readTagName and skipWhiteSpace.
func afterName(b []byte, i int) int {
	p := i + 1
	for p < len(b) {
		c := b[p]
		if c == '/' || c == '>' {
			break
		}
		p++
		if isASCIISpace(c) {
			break
		}
	}
	return skipSpace(b, p)
}

// attrAt reads the attribute at b[p] (p < len(b), b[p] != '>') like the
// tokenizer's readTagAttrKey and readTagAttrVal: it returns the spans of its
// key and value (either may be empty) and the position after it and the
// white space that follows.
func attrAt(b []byte, p int) (ks, ke, vs, ve, next int) {
	n := len(b)
	ks = p
	for p < n {
		c := b[p]
		p++
		if c == '=' && p == ks+1 {
			continue // a leading '=' is part of the key
		}
		if c == '=' || c == '/' || c == '>' || isASCIISpace(c) {
			p--
			break
		}
	}
	ke = p
	vs, ve = p, p
	p = skipSpace(b, p)
	if p < n {
		c := b[p]
		p++
		switch {
		case c == '/':
		case c != '=':
			p--
		default:
			p = skipSpace(b, p)
			if p >= n {
				break
			}
			q := b[p]
			p++
			switch q {
			case '>':
				p--
			case '"', '\'':
				vs = p
				for p < n && b[p] != q {
					p++
				}
				ve = p
				if p < n {
					p++
				}
			default:
				vs = p - 1
				ve = n
				for p < n {
					c := b[p]
					p++
					if isASCIISpace(c) {
						ve = p - 1
						break
					}
					if c == '>' {
						p--
						ve = p
						break
					}
				}
			}
		}
	}
	return ks, ke, vs, ve, skipSpace(b, p)
}

// tagEnd returns the length of the start or end tag at the start of b
// whose name's first letter is b[i], up to and including its '>', as the
// tokenizer reads it; 0 if b ends first.
func tagEnd(b []byte, i int) int {
	p := afterName(b, i)
	for p < len(b) {
		if b[p] == '>' {
			return p + 1
		}
		_, _, _, _, p = attrAt(b, p)
	}
	return 0
}

func needsDecoding(v []byte) bool {
	for _, c := range v {
		if c == '&' || c == '\r' || c == 0 {
			return true
		}
	}
	return false
}

func skipSpace(b []byte, p int) int {
	for p < len(b) && isASCIISpace(b[p]) {
		p++
	}
	return p
}
