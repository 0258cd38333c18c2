package parse

import (
	"bytes"
	"strings"

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
//     tag in foreign content. The text of an HTML <title>, <style> (CSS)
//     and, with Options.GuessLinks, <script> is the token after its start
//     tag;
//   - foreign content: <svg> and <math> open a stack of foreign elements
//     (their <title> and <style> are not the page's; their elements count
//     as the tree's foreign elements do, see elementRefs), closed by
//     matching end tags and by the "breakout" start tags (<p>, <div>,
//     <meta>, ...); CDATA sections are recognized only there;
//   - templates: everything inside an HTML <template> (or a foreign element
//     named template) is inert, and a template whose first start tag is
//     <col> ignores all but <col> and <template>;
//   - the document's start, up to <body> (phase): the doctype counts only
//     as the first token but comments and white space; the <html> and
//     <body> elements are made once, by their first start tag or when a
//     token implies them, and later <html> and <body> tags add the
//     attributes they lack (Lang, html[manifest], body[background] and the
//     style attributes of both come from these merged attributes, and their
//     refs go where the element is made); only the <head> tag that makes
//     the head element counts; a <noscript> in a head's <noscript> is
//     ignored;
//   - elements the tree builder ignores, whose attributes then count for
//     nothing: table parts (<td>, <tr>, <caption>, <col>, ...) outside a
//     table, which a stack of open tables models (a <table> in a cell or
//     caption nests, anywhere else in a table it ends the table), a <form>
//     while the form element pointer is set (from a <form> to any
//     </form>), a second <head>, <frame> outside a frameset;
//   - <frame> counts only in a frameset (or in foreign content).
//
// Where the outcome depends on tree construction that is not modelled — a
// <frameset> start tag, an HTML start tag inside an SVG or MathML
// integration point (<foreignObject>, <desc>, <title>, <mi>, ...), an end
// tag in foreign content that closes none of the open foreign elements, a
// <select> with a style attribute where an earlier <select> may still be
// open (the tree builder then ignores it), a button or input with a
// formaction but no formmethod after a form whose method is not GET (its
// form, and so its method, is the nearest ancestor form in the tree, see
// inheritedMethod), a head element with links (such as a <link>) after
// </head> and after a conditional comment with links there (the tree
// builder moves the element into the head, before the comment), the end
// of a template holding a formatting element (<a>, <b>, ...) and after it
// an <object>, <td> or the like (the tree builder may then reopen a clone
// of the formatting element after the template, see inTemplate) — the
// pass gives up and HTML falls back to the DOM walk. Nested documents (an
// iframe's srcdoc, an IE conditional comment) get a pass of their own,
// which falls back to a tree of their own.
//
// Element order can differ where the tree builder moves elements away
// from source order: it moves ("foster-parents") content misplaced inside
// a <table> before the table; its adoption agency algorithm moves a block
// out of misnested formatting elements (an <a> left open around a <p>,
// then another <a>); and it puts a comment after </body> or </html> after
// the body's content, where later elements go. There the tree's document
// order, and with it the order of Links (and, in tables, which of several
// titles, bases or canonicals comes first, and for a URL found in several
// places with kinds of the same rank, which place is its Source), can
// differ from the source order this pass uses; the set of links does not.
//
// Speed comes from skipReader, which hands the tokenizer only what the pass
// needs: text in the tokenizer's data state, and in HTML content the start
// and end tags the pass ignores (<p>, <div class=x>, </a>, ...), are
// skipped with bytes.IndexByte and a scan of the tag's extent instead of
// being tokenized byte by byte. That scan also looks at the tag's attribute
// names: a tag with none that can hold a URL for its element (see urlAttrs)
// is skipped.

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

// Phases of the tree builder before the body element (its insertion modes
// as far as they matter here).
const (
	phInitial    uint8 = iota // nothing yet but comments and white space: a doctype counts
	phBeforeHTML              // no html element yet
	phBeforeHead              // html element made, no head yet
	phInHead                  // in the head (or a <noscript> in it: headNoscript)
	phAfterHead               // after </head>: head elements still go into the head
	phBody                    // the body element is made
)

// openTable is a table on the stack of open tables, in its innermost
// state: the part of it the tree builder is in.
type openTable struct {
	part    uint8 // tpTable (the table, a row group, a row or a column group), tpTD, tpTH or tpCaption
	section atom.Atom
	row     bool
}

// Parts of a table.
const (
	tpTable uint8 = iota
	tpTD
	tpTH
	tpCaption
)

// tokenPass is the state of one streaming extraction.
type tokenPass struct {
	r        skipReader
	s        scan
	hrefs    strings.Builder // see addRef
	z        *html.Tokenizer
	strict   bool // give up on constructs that are not modelled; otherwise do the obvious thing
	fail     bool // a construct that is not modelled: give up
	stack    []open
	inert    int   // templates on stack
	overflow bool  // push met maxOpen
	at       attrs // the attributes of the current element (see element), reused to spare zeroing them

	// The document's start (see phInitial).
	phase            uint8
	headNoscript     bool
	afterHeadComment bool             // a comment after </head> had links
	htmlAt, bodyAt   int              // index in s.refs where the html and body elements' refs go
	root, body       *attrSet[[]byte] // their merged attributes that may hold URLs, nil if none

	// Formatting elements a template may leave open (see inTemplate).
	tmplFormatting, tmplMarker bool

	// Elements the tree builder ignores.
	formPtr    bool        // the form element pointer is set
	nonGetForm bool        // a form whose method is not GET was made
	selOpen    bool        // a <select> may be open
	selScoped  bool        // an element that ends the scope of a select was opened in it
	tables     []openTable // open tables, innermost last

	stackA [8]open
}

// tokens extracts what HTML needs from text in one tokenizer pass. It
// reports false when strict is set and text holds a construct the pass does
// not model (see the comment at the top of this file).
func tokens(text []byte, strict bool, c scanConfig) (scan, bool) {
	// One allocation holds the pass and its reader, which the tokenizer
	// keeps.
	t := &tokenPass{r: skipReader{b: text}, strict: strict}
	r := &t.r
	t.z = html.NewTokenizer(r)
	t.s.scanConfig = c
	t.stack = t.stackA[:0]
	s := &t.s
	z := t.z
	raw := false     // the tokenizer reads the next token as raw text
	pend := pendNone // what the next token, if text, is
	for {
		foreign := t.foreign()
		z.AllowCDATA(foreign)
		r.skip = !raw && len(z.Buffered()) == 0
		r.skipTags = r.skip && t.htmlContent()
		r.live = t.inert == 0
		r.preBody = r.live && t.phase < phBody
		r.tag = nil
		r.saw = 0
		tt := z.Next()
		wasRaw, wasPend := raw, pend
		raw, pend = false, pendNone
		if r.saw != 0 {
			t.skipped(r.saw)
		}
		switch tt {
		case html.ErrorToken:
			t.toBody()
			return t.finish(), !t.fail
		case html.TextToken:
			switch wasPend {
			case pendTitle:
				s.title = collapseSpace(string(z.Text()))
			case pendStyle:
				cssText(t, z.Text(), srcStyle, srcStyleImport)
			case pendScript:
				t.add(z.Text(), ref{src: srcScript, guess: true})
			default:
				if !wasRaw && t.inert == 0 && t.phase < phBody && !blank(z.Text()) {
					t.toBody()
				}
			}
		case html.CommentToken:
			if t.inert == 0 {
				t.comment(z.Text())
			}
		case html.DoctypeToken:
			if t.inert == 0 && t.phase == phInitial {
				if id, ok := doctypeSystem(z.Text()); ok {
					t.add(id, ref{src: srcDoctype, kind: KindAsset})
				}
				t.phase = phBeforeHTML
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tag := z.Raw()
			if r.tag != nil {
				tag = r.tag
			}
			name := tagName(tag, 1)
			a := lookup(name)
			raw = isRawAtom(a)
			switch res := t.start(tag, name, a, tt == html.SelfClosingTagToken); res {
			case notRaw:
				z.NextIsNotRawText()
				raw = false
			case giveUp:
				return scan{}, false
			case pendTitle, pendStyle, pendScript:
				if raw {
					pend = res
				}
			}
			if t.overflow && strict {
				return scan{}, false
			}
		case html.EndTagToken:
			if !t.end(tagName(z.Raw(), 2)) {
				return scan{}, false
			}
		}
		if t.fail {
			return scan{}, false
		}
	}
}

// maxAtomLen is the longest tag name the pass looks up ("annotation-xml").
const maxAtomLen = 14

// Results of tokenPass.start.
const (
	asIs   = iota
	notRaw // the token's content is not raw text, whatever the tokenizer thinks
	giveUp
	// The next token, if text, is:
	pendTitle  // the page's title
	pendStyle  // the CSS of an HTML <style>
	pendScript // the text of an HTML <script>, for GuessLinks
	pendNone   = asIs
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
// a template whose mode still matters: where only the tags startMatters
// and endMatters name change anything.
func (t *tokenPass) htmlContent() bool {
	n := t.top()
	return n == nil || n.ns == nsHTML && n.mode == tmplOther
}

// maxOpen bounds the stack: the tree builder refuses documents with more
// than 512 open elements, so a strict pass gives up beyond it, and a pass
// that is not strict stops tracking elements beyond it (which keeps the
// work per token bounded). It bounds the stack of open tables too.
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

// unmodelled makes a strict pass give up after the current token.
func (t *tokenPass) unmodelled() {
	if t.unsupported() {
		t.fail = true
	}
}

// start handles a start tag: tag is its raw text, name its name as written
// and a its atom.
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
			if t.inert == 0 {
				t.element(tag, a, ns)
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
			at.scan(tag, atEncoding.bit())
			if enc, ok := at.get(atEncoding); ok && (bytes.EqualFold(enc, []byte("text/html")) ||
				bytes.EqualFold(enc, []byte("application/xhtml+xml"))) {
				o.point = pointHTML
			}
		}
		if t.inert == 0 {
			t.element(tag, a, o.ns)
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
	if a == atom.Image {
		a = atom.Img // the tree builder renames it
	}
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
	if a == atom.A && t.phase == phBody && t.inert == 0 {
		t.element(tag, a, nsHTML) // the usual case, which none of the below concerns
		return asIs
	}
	live := t.inert == 0
	if !live {
		t.inTemplate(a)
	}
	if a == atom.Frameset && live && t.unsupported() {
		// Outside templates the parser may replace the body with a
		// frameset and then ignore most tags; inside one it is ignored.
		return giveUp
	}
	made := live
	if live && t.phase < phBody {
		made = t.preBodyStart(a)
	}
	if made && t.phase == phBody {
		made = t.bodyStart(tag, a)
	}
	before := len(t.s.refs)
	res := asIs
	switch a {
	case atom.Svg, atom.Math:
		ns := nsSVG
		if a == atom.Math {
			ns = nsMath
		}
		if live {
			t.element(tag, a, ns)
		}
		if !selfClosing {
			t.push(open{name: a.String(), ns: ns})
		}
		return asIs
	case atom.Template:
		if live {
			t.element(tag, a, nsHTML)
			t.tmplFormatting, t.tmplMarker = false, false
		}
		t.push(open{ns: nsHTML, template: true})
		return asIs
	case atom.Noscript:
		res = notRaw // scripting is disabled
	case atom.Frameset, atom.Frame:
		return asIs // a frame is ignored outside a frameset
	case atom.Html:
		if live {
			t.merge(&t.root, tag, a)
		}
		return asIs
	case atom.Body:
		if live {
			t.merge(&t.body, tag, a)
		}
		return asIs
	case atom.Title:
		if live && !t.s.hasTitle {
			t.s.hasTitle = true
			res = pendTitle
		}
	case atom.Style:
		res = pendStyle
	case atom.Script:
		if t.s.guess {
			res = pendScript
		}
	}
	if !made {
		if res == notRaw {
			return notRaw
		}
		return asIs
	}
	t.element(tag, a, nsHTML)
	if t.phase == phAfterHead && t.afterHeadComment && len(t.s.refs) > before {
		// The tree builder moves this head element before the comment.
		t.unmodelled()
	}
	return res
}

// inTemplate follows, for a start tag of atom a in a template (in HTML
// content), what the tree builder's list of active formatting elements
// may keep after the template: </template> clears it only up to the last
// marker, so a formatting element (<a>, <b>, ...) followed by an element
// that adds a marker (<object>, <td>, ...) and is still open at
// </template> stays in the list, and the next text or element outside
// the template reopens a clone of it there, attributes and links
// included. The pass does not track which elements are open: after a
// formatting element and then a marker in a template it gives up at the
// template's end (see end).
func (t *tokenPass) inTemplate(a atom.Atom) {
	switch a {
	case atom.A, atom.B, atom.Big, atom.Code, atom.Em, atom.Font, atom.I, atom.Nobr, atom.S,
		atom.Small, atom.Strike, atom.Strong, atom.Tt, atom.U:
		t.tmplFormatting = true
	case atom.Applet, atom.Marquee, atom.Object, atom.Td, atom.Th, atom.Caption:
		t.tmplMarker = t.tmplMarker || t.tmplFormatting
	}
}

// preBodyStart follows the phases before the body for a start tag of atom
// a outside templates (§13.2.6.4.1–6) and reports whether it makes an
// element (a second <head> and a <noscript> in a head's <noscript> are
// ignored; <html> and <body> make theirs or add to them, see merge).
func (t *tokenPass) preBodyStart(a atom.Atom) bool {
	if t.phase <= phBeforeHTML {
		t.htmlAt = len(t.s.refs)
		t.phase = phBeforeHead
		if a == atom.Html {
			return true
		}
	}
	if t.phase == phBeforeHead {
		switch a {
		case atom.Html:
			return true
		case atom.Head:
			t.phase = phInHead
			return true
		}
		t.phase = phInHead // an implied head
	}
	if t.phase == phInHead && t.headNoscript {
		switch a {
		case atom.Html, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta, atom.Noframes, atom.Style:
			return true
		case atom.Head, atom.Noscript:
			return false
		}
		t.headNoscript = false
	}
	if t.phase == phInHead {
		switch a {
		case atom.Html, atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta, atom.Noframes,
			atom.Script, atom.Style, atom.Template, atom.Title:
			return true
		case atom.Head:
			return false
		case atom.Noscript:
			t.headNoscript = true
			return true
		}
		t.phase = phAfterHead
	}
	if t.phase == phAfterHead {
		switch a {
		case atom.Html, atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta, atom.Noframes,
			atom.Script, atom.Style, atom.Template, atom.Title:
			return true // put in the head
		case atom.Head:
			return false
		}
		t.toBody()
	}
	return a != atom.Head
}

// preBodyEnd follows the phases before the body for an end tag of atom a
// (0 for one the pass does not look at) outside templates.
func (t *tokenPass) preBodyEnd(a atom.Atom) {
	if t.phase >= phBody {
		return
	}
	if t.phase == phInitial {
		t.phase = phBeforeHTML
	}
	switch a {
	case atom.Head:
		switch t.phase {
		case phBeforeHTML:
			t.htmlAt = len(t.s.refs)
			t.phase = phAfterHead
		case phBeforeHead:
			t.phase = phAfterHead
		case phInHead:
			if !t.headNoscript {
				t.phase = phAfterHead
			}
		}
	case atom.Body, atom.Html, atom.Br:
		if t.phase == phInHead && t.headNoscript && a != atom.Br {
			return // ignored
		}
		t.toBody()
	case atom.Noscript:
		if t.phase == phInHead {
			t.headNoscript = false
		}
	}
}

// skipped follows the phases before the body for what skipReader left
// out before the current token (the bits of saw, see sawText). Their
// order does not matter: each takes the phase forward, and any start tag
// or text but those of html and head makes the body, which takes it to
// the end.
func (t *tokenPass) skipped(saw uint8) {
	if saw&sawEnd != 0 {
		t.preBodyEnd(0)
	}
	if saw&sawHTML != 0 {
		t.preBodyStart(atom.Html)
	}
	if saw&sawHead != 0 {
		t.preBodyStart(atom.Head)
	}
	if saw&sawHeadEnd != 0 {
		t.preBodyEnd(atom.Head)
	}
	if saw&(sawStart|sawText) != 0 {
		t.toBody()
	}
}

// toBody makes the body element (and the html element before it) if they
// are not made yet.
func (t *tokenPass) toBody() {
	if t.phase >= phBody {
		return
	}
	if t.phase <= phBeforeHTML {
		t.htmlAt = len(t.s.refs)
	}
	t.bodyAt = len(t.s.refs)
	t.phase = phBody
}

// merge adds the attributes of an <html> or <body> start tag (a) that
// its element lacks to e, the attributes of that element, and reads Lang
// from the first <html> with a lang attribute. The element's refs are
// added in finish.
func (t *tokenPass) merge(e **attrSet[[]byte], tag []byte, a atom.Atom) {
	want := urlAttrs(a, nsHTML)
	if a == atom.Html && !t.s.hasLang {
		want |= atLang.bit()
	}
	var at attrs
	at.scan(tag, want)
	if lang, ok := at.get(atLang); ok && a == atom.Html && !t.s.hasLang {
		t.s.hasLang, t.s.lang = true, string(lang)
	}
	for id := atNone + 1; id < numAttrs; id++ {
		if v, ok := at.get(id); ok && id != atLang {
			if *e == nil {
				*e = new(attrSet[[]byte])
			}
			if (*e).has&id.bit() == 0 {
				(*e).set(id, bytes.Clone(v))
			}
		}
	}
}

// bodyStart follows the elements the tree builder ignores in the body, for
// a start tag of atom a outside templates, and reports whether it makes
// an element.
func (t *tokenPass) bodyStart(tag []byte, a atom.Atom) bool {
	switch a {
	case atom.Head:
		return false
	case atom.Form:
		if t.formPtr {
			return false
		}
		t.formPtr = true
	case atom.Select:
		if t.selOpen {
			// Ignored if a select is open and in scope, which the pass
			// does not know: it matters only if the tag has links.
			var at attrs
			if at.presence(tag, urlAttrs(a, nsHTML)); at.has != 0 {
				t.unmodelled()
			}
			return false
		}
		t.selOpen, t.selScoped = true, false
	case atom.Applet, atom.Marquee, atom.Object:
		t.selScoped = t.selOpen
	case atom.Table:
		t.selScoped = t.selOpen
		n := len(t.tables)
		if n > 0 && t.tables[n-1].part == tpTable {
			// A table in a table: ends it, and opens a new one.
			t.tables[n-1] = openTable{}
			return true
		}
		if n >= maxOpen {
			t.overflow = true
			return true
		}
		t.tables = append(t.tables, openTable{})
	case atom.Caption, atom.Colgroup, atom.Col, atom.Tbody, atom.Thead, atom.Tfoot, atom.Tr, atom.Td, atom.Th:
		if a == atom.Caption || a == atom.Td || a == atom.Th {
			t.selScoped = t.selOpen
		}
		if len(t.tables) == 0 {
			return false // outside a table
		}
		tb := &t.tables[len(t.tables)-1]
		if a == atom.Th && tb.part == tpCaption {
			// x/net/html's "in caption" mode, unlike the standard's,
			// ignores <th> (it is not in the list that ends the caption).
			return false
		}
		switch a {
		case atom.Caption:
			*tb = openTable{part: tpCaption}
		case atom.Colgroup, atom.Col:
			*tb = openTable{}
		case atom.Tbody, atom.Thead, atom.Tfoot:
			*tb = openTable{section: a}
		default:
			if tb.section == 0 {
				tb.section = atom.Tbody // implied
			}
			tb.row = true
			switch a {
			case atom.Tr:
				tb.part = tpTable
			case atom.Td:
				tb.part = tpTD
			case atom.Th:
				tb.part = tpTH
			}
		}
	}
	return true
}

// bodyEnd follows the elements the tree builder ignores in the body, for
// an end tag of atom a outside templates.
func (t *tokenPass) bodyEnd(a atom.Atom) {
	switch a {
	case atom.Form:
		t.formPtr = false
	case atom.Select:
		if !t.selScoped {
			t.selOpen = false
		}
	}
	n := len(t.tables)
	if n == 0 {
		return
	}
	tb := &t.tables[n-1]
	switch a {
	case atom.Table:
		t.tables = t.tables[:n-1]
	case atom.Caption:
		if tb.part == tpCaption {
			tb.part = tpTable
		}
	case atom.Td, atom.Th:
		if tb.part == tpTD && a == atom.Td || tb.part == tpTH && a == atom.Th {
			tb.part = tpTable
		}
	case atom.Tr:
		if tb.part != tpCaption && tb.row {
			tb.part, tb.row = tpTable, false
		}
	case atom.Tbody, atom.Thead, atom.Tfoot:
		if tb.part != tpCaption && tb.section == a {
			*tb = openTable{}
		}
	}
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
	a := lookup(name)
	if t.inert == 0 {
		if t.phase < phBody {
			t.preBodyEnd(a)
		} else {
			t.bodyEnd(a)
		}
	}
	if a != atom.Template {
		return true
	}
	for i := len(t.stack) - 1; i >= 0; i-- {
		if t.stack[i].ns == nsHTML {
			t.popTo(i)
			break
		}
	}
	if t.inert == 0 && t.tmplMarker {
		t.unmodelled() // see inTemplate
	}
	return true
}

// element records what a start tag that is not inert contributes, like
// scan.element does for a tree node: tag is its raw text, a its atom (img
// for an HTML <image>) and ns its namespace. <html> and <body> go
// through merge instead.
func (t *tokenPass) element(tag []byte, a atom.Atom, ns uint8) {
	s := &t.s
	at := &t.at
	if a == atom.A && ns == nsHTML {
		// The usual link, as elementRefs adds it, without its dispatch.
		const want = 1<<atHref | 1<<atRel | 1<<atPing | 1<<atStyle
		if at.scan(tag, want); at.has&^(atHref.bit()|atRel.bit()) == 0 {
			if href, ok := at.get(atHref); ok {
				rel, _ := at.get(atRel)
				t.addRef(href, ref{src: srcAHref, kind: KindPage, noFollow: relNoFollow(rel)})
			}
			return
		}
		elementRefs(t, a, ns, &at.attrSet)
		return
	}
	want := readAttrs(a, ns)
	switch a {
	case atom.Base:
		if !s.hasBase {
			want |= atHref.bit()
		}
	case atom.Link:
		if s.canonical == "" {
			want |= atRel.bit() | atHref.bit()
		}
	case atom.Meta:
		want |= atName.bit() | atContent.bit()
	case atom.Form:
		want |= atMethod.bit()
	}
	at.scan(tag, want)
	switch a {
	case atom.Base:
		if href, ok := at.get(atHref); ok && !s.hasBase {
			s.hasBase, s.baseHref = true, string(href)
		}
	case atom.Link:
		if rel, _ := at.get(atRel); s.canonical == "" && hasTokenBytes(rel, "canonical") {
			href, _ := at.get(atHref)
			s.canonical = string(href)
		}
	case atom.Meta:
		name, _ := at.get(atName)
		content, _ := at.get(atContent)
		switch {
		case bytes.EqualFold(name, []byte("description")): // strings.EqualFold, as the DOM walk
			if !s.hasDescription {
				s.hasDescription = true
				s.description = string(content)
			}
		case bytes.EqualFold(name, []byte("robots")):
			s.robots(content)
		}
	case atom.Form:
		if m, _ := at.get(atMethod); ns == nsHTML && formMethod(m) != mGet {
			t.nonGetForm = true
		}
	}
	elementRefs(t, a, ns, &at.attrSet)
}

// comment records the links of an IE conditional comment.
func (t *tokenPass) comment(text []byte) {
	c, ok := conditionalContent(text)
	if !ok {
		return
	}
	before := len(t.s.refs)
	t.nested(c, nestComment)
	if t.phase == phAfterHead && len(t.s.refs) > before {
		t.afterHeadComment = true
	}
}

// add records a ref (a refSink method): see addRef.
func (t *tokenPass) add(href []byte, r ref) {
	t.addRef(href, r)
}

// addString records a ref whose href is already a string.
func (t *tokenPass) addString(href string, r ref) {
	r.href, r.end, r.nest = href, -1, t.s.nest
	t.s.refs = append(t.s.refs, r)
}

// nested adds the refs of a nested document (see refSink).
func (t *tokenPass) nested(doc []byte, prefix uint8) {
	if t.s.depth >= maxNest {
		return
	}
	for _, r := range nestedRefs(doc, t.s.child(prefix), false) {
		r.end = -1
		t.s.refs = append(t.s.refs, r)
	}
}

// inheritedMethod returns GET: the method of a button or input with a
// formaction but no formmethod is that of its nearest ancestor form in the
// tree, which the pass does not know. Until a form whose method is not
// GET is made, it is GET whether there is one or not; after, the pass
// gives up.
func (t *tokenPass) inheritedMethod() method {
	if t.nonGetForm {
		t.unmodelled()
	}
	return mGet
}

// addRef records a ref to href. Its href is copied into t.hrefs, which
// holds all of them; finish sets the refs' href fields once it is
// complete, so that a page's hrefs cost one allocation, not one each.
func (t *tokenPass) addRef(href []byte, r ref) {
	if t.s.refs == nil {
		t.s.refs = make([]ref, 0, 32) // most pages need no more
		t.hrefs.Grow(1024)
	}
	r.end, r.nest = t.hrefs.Len()+len(href), t.s.nest
	t.s.refs = append(t.s.refs, r)
	t.hrefs.Write(href)
}

// finish adds the refs of the html and body elements where they go, and
// returns the scan with the refs' hrefs set.
func (t *tokenPass) finish() scan {
	n0 := len(t.s.refs)
	if t.root != nil {
		elementRefs(t, atom.Html, nsHTML, t.root)
	}
	n1 := len(t.s.refs)
	if t.body != nil {
		elementRefs(t, atom.Body, nsHTML, t.body)
	}
	n2 := len(t.s.refs)
	all := t.hrefs.String()
	start := 0
	for i := range t.s.refs {
		r := &t.s.refs[i]
		if r.end >= 0 {
			r.href = all[start:r.end]
			start = r.end
		}
	}
	if n2 > n0 {
		refs := t.s.refs
		moved := append([]ref(nil), refs[n0:n2]...)
		refs = refs[:n0]
		refs = insertRefs(refs, t.bodyAt, moved[n1-n0:])
		refs = insertRefs(refs, t.htmlAt, moved[:n1-n0])
		t.s.refs = refs
	}
	return t.s
}

// insertRefs inserts add into refs at index i (i <= len(refs)).
func insertRefs(refs []ref, i int, add []ref) []ref {
	if len(add) == 0 {
		return refs
	}
	refs = append(refs, add...)
	copy(refs[i+len(add):], refs[i:len(refs)-len(add)])
	copy(refs[i:], add)
	return refs
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
		at.presence(tag, atFont.bit())
		return at.has != 0
	}
	return false
}

// rawTags are the start tags after which the tokenizer reads raw text.
var rawTags = [...]string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp"}

// isRawAtom reports whether the tokenizer switches to raw text after a
// start tag whose name has atom a (see lookup): isRawTag, for a name
// already looked up.
func isRawAtom(a atom.Atom) bool {
	switch a {
	case atom.Iframe, atom.Noembed, atom.Noframes, atom.Noscript, atom.Plaintext, atom.Script,
		atom.Style, atom.Textarea, atom.Title, atom.Xmp:
		return true
	}
	return false
}

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
