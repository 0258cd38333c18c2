package parse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// JSONLDKey is the key under which Extract puts a page's JSON-LD objects.
// No Extractor may take it as its Name.
const JSONLDKey = "jsonld"

// Extractor takes one field from an HTML page: the text of the first
// element a CSS selector matches, or one of its attributes; with All, of
// every element matched, as a list.
//
// Most callers make Extractors with ParseExtractor, which checks the name
// and compiles the selector once. An Extractor written as a literal is
// compiled on every call to Extract, and matches nothing if its Selector
// does not compile. An Extractor is not modified by Extract, so one may
// serve several goroutines at once.
type Extractor struct {
	// Name is the key of the value in the record's data: ASCII letters,
	// digits, '_', '-' and '.', and not JSONLDKey.
	Name string
	// Selector is a CSS selector or a comma-separated group of them, as
	// github.com/andybalholm/cascadia (goquery's engine) reads it.
	Selector string
	// Attr is the name of the attribute to take, compared without regard
	// to case ("xlink:href" for SVG's namespaced one); "" means the
	// element's text. The value is the attribute as written in the page,
	// trimmed: a relative URL in href or src stays relative.
	Attr string
	// All takes the value of every element matched, in document order,
	// instead of the first one's.
	All bool

	sel cascadia.SelectorGroup // Selector compiled; nil for a literal
}

// ParseExtractor reads an extractor written "NAME=SELECTOR" or
// "NAME=SELECTOR@ATTR", as on the command line (--extract; --extract-all
// sets all, which becomes Extractor.All). Spaces around the whole spec,
// NAME and SELECTOR are ignored.
//
// NAME ends at the first '='. ATTR starts after the last '@' that is
// outside brackets, parentheses and quotes, is not escaped with a
// backslash, and is followed by an attribute name (an ASCII letter or '_',
// then letters, digits, '_', '-', '.' or ':') up to the end of the spec.
// So `a[href^="mailto:x@y"]` is a selector with no attribute, `img@src`
// takes src, `a[title="@x"]@href` takes href and `.w\@lg` is a selector
// for the class "w@lg".
//
// The error, on one line, quotes spec and says what is wrong with it:
// `parse: extract "price=": empty selector`.
func ParseExtractor(spec string, all bool) (Extractor, error) {
	fail := func(format string, args ...any) (Extractor, error) {
		return Extractor{}, fmt.Errorf("parse: extract %q: "+format, append([]any{spec}, args...)...)
	}
	name, rest, ok := strings.Cut(strings.TrimSpace(spec), "=")
	if !ok {
		return fail("want NAME=SELECTOR or NAME=SELECTOR@ATTR")
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return fail("empty name")
	case !validName(name):
		return fail("name %q may hold only ASCII letters, digits, '_', '-' and '.'", name)
	case name == JSONLDKey:
		return fail("name %q is reserved for the page's JSON-LD", name)
	}
	selector, attr, err := splitAttr(rest)
	if err != nil {
		return fail("%v", err)
	}
	selector = strings.TrimSpace(selector)
	if selector == "" {
		return fail("empty selector")
	}
	sel, err := cascadia.ParseGroup(selector)
	if err != nil {
		return fail("bad selector %q: %s", selector, selectorError(selector, err))
	}
	return Extractor{Name: name, Selector: selector, Attr: attr, All: all, sel: sel}, nil
}

// splitAttr splits s (SELECTOR or SELECTOR@ATTR) at the last '@' outside
// brackets, parentheses, quotes and escapes that is followed by an
// attribute name to the end. A trailing '@' is an error.
func splitAttr(s string) (selector, attr string, err error) {
	at := -1 // the last '@' at top level
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++ // the escaped character counts for nothing
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')':
			if depth > 0 {
				depth--
			}
		case c == '@' && depth == 0:
			at = i
		}
	}
	if at < 0 {
		return s, "", nil
	}
	name := s[at+1:]
	if name == "" {
		return "", "", fmt.Errorf("empty attribute name after '@'")
	}
	if !validAttr(name) {
		return s, "", nil // not an attribute: the selector will say what is wrong
	}
	return s[:at], name, nil
}

// validName reports whether s is a valid Extractor.Name (but JSONLDKey).
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return s != ""
}

// validAttr reports whether s is an attribute name as ParseExtractor
// accepts it after '@'.
func validAttr(s string) bool {
	if s == "" || !isLetter(s[0]) && s[0] != '_' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' && c != ':' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool { return isLetter(c) || '0' <= c && c <= '9' }

// selectorError returns cascadia's error for selector on one line, and
// what it did not read rather than how many bytes that is.
func selectorError(selector string, err error) string {
	msg := err.Error()
	var n int
	if _, e := fmt.Sscanf(msg, "parsing %q: %d bytes left over", new(string), &n); e == nil && 0 < n && n <= len(selector) {
		return fmt.Sprintf("unexpected %q", selector[len(selector)-n:])
	}
	return strings.Join(strings.Fields(msg), " ")
}

// Extract adds to data each extractor's value for doc and, with jsonLD,
// the page's JSON-LD objects as a []any under JSONLDKey (an empty list
// when there are none); it returns data, which it makes when nil and
// there is something to add. It is the usual entry point; doc is
// normally Page.Document, so that a crawl that extracts nothing never
// builds a tree.
//
// An extractor's value is a string: the text of the first element its
// selector matches (see Extractor), with runs of ASCII whitespace
// collapsed to one space and trimmed, taking the text of <script>,
// <style> and <template> descendants out and putting a space where a
// block element (p, div, li, td, br, ...) starts or ends, roughly as a
// browser's innerText; or the attribute Attr of that element, trimmed.
// When nothing matches, or the first match lacks Attr, the key is not
// set. With All the value is a []any of such strings, one for each
// element matched (those lacking Attr are left out), in document order:
// an empty list, but present, when none, so that every record of a crawl
// has the field. A later extractor of the same name replaces an earlier
// one's value; other keys of data are left alone.
//
// A nil doc is an empty page. Extract only reads doc, so several
// goroutines may call it on one document.
func Extract(doc *goquery.Document, exs []Extractor, jsonLD bool, data map[string]any) map[string]any {
	roots := docRoots(doc)
	set := func(k string, v any) {
		if data == nil {
			data = make(map[string]any, len(exs)+1)
		}
		data[k] = v
	}
	var text textBuilder
	for i := range exs {
		e := &exs[i]
		sel := e.sel
		if sel == nil {
			sel, _ = cascadia.ParseGroup(e.Selector) // nil on error: matches nothing
		}
		if e.All {
			vals := []any{}
			for _, r := range roots {
				for _, n := range cascadia.QueryAll(r, sel) {
					if v, ok := value(n, e.Attr, &text); ok {
						vals = append(vals, v)
					}
				}
			}
			set(e.Name, vals)
			continue
		}
		for _, r := range roots {
			if n := cascadia.Query(r, sel); n != nil {
				if v, ok := value(n, e.Attr, &text); ok {
					set(e.Name, v)
				}
				break
			}
		}
	}
	if jsonLD {
		set(JSONLDKey, JSONLD(doc))
	}
	return data
}

// docRoots returns the nodes under which doc's elements are found.
func docRoots(doc *goquery.Document) []*html.Node {
	if doc == nil || doc.Selection == nil {
		return nil
	}
	return doc.Nodes
}

// value returns the value of element n for an extractor of attribute attr.
func value(n *html.Node, attr string, text *textBuilder) (string, bool) {
	if attr == "" {
		return text.of(n), true
	}
	for _, a := range n.Attr {
		if attrIs(a, attr) {
			return strings.Trim(a.Val, asciiSpace), true
		}
	}
	return "", false
}

// attrIs reports whether a is the attribute named name, case-insensitively;
// a namespaced attribute (SVG's xlink:href) is named with its prefix.
func attrIs(a html.Attribute, name string) bool {
	if a.Namespace == "" {
		return strings.EqualFold(a.Key, name)
	}
	prefix, key, ok := strings.Cut(name, ":")
	return ok && strings.EqualFold(a.Namespace, prefix) && strings.EqualFold(a.Key, key)
}

// textBuilder makes Extract's text of an element; its buffer is reused.
type textBuilder struct {
	b     []byte
	space bool // a space is due before the next character
}

// of returns the text of element n (see Extract).
func (t *textBuilder) of(n *html.Node) string {
	t.b, t.space = t.b[:0], false
	// Walk n's subtree without recursion: the tree may be 512 deep.
	for c := n.FirstChild; c != nil; {
		descend := false
		switch c.Type {
		case html.TextNode:
			t.write(c.Data)
		case html.ElementNode:
			switch c.DataAtom {
			case atom.Script, atom.Style, atom.Template:
			default:
				t.block(c) // c starts
				descend = true
			}
		}
		if descend && c.FirstChild != nil {
			c = c.FirstChild
			continue
		}
		for c.NextSibling == nil {
			c = c.Parent
			if c == n {
				return string(t.b)
			}
			t.block(c) // c ends
		}
		c = c.NextSibling
	}
	return string(t.b)
}

// block marks a space at the start or end of element n if it is a block.
func (t *textBuilder) block(n *html.Node) {
	if n.Namespace == "" && blockElements[n.DataAtom] {
		t.space = true
	}
}

// write appends s with runs of ASCII whitespace as one space, none at the
// start.
func (t *textBuilder) write(s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isASCIISpace(c) {
			t.space = true
			continue
		}
		if t.space && len(t.b) > 0 {
			t.b = append(t.b, ' ')
		}
		t.space = false
		t.b = append(t.b, c)
	}
}

// blockElements are the elements around which Extract's text has a
// space: those a browser renders as blocks, table cells or line breaks.
var blockElements = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Br: true, atom.Caption: true, atom.Dd: true, atom.Details: true,
	atom.Dialog: true, atom.Div: true, atom.Dl: true, atom.Dt: true,
	atom.Fieldset: true, atom.Figcaption: true, atom.Figure: true, atom.Footer: true,
	atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Header: true, atom.Hgroup: true, atom.Hr: true,
	atom.Legend: true, atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true,
	atom.Option: true, atom.P: true, atom.Pre: true, atom.Section: true,
	atom.Summary: true, atom.Table: true, atom.Tbody: true, atom.Td: true,
	atom.Tfoot: true, atom.Th: true, atom.Thead: true, atom.Tr: true, atom.Ul: true,
}

// JSONLD returns the objects of the page's <script
// type="application/ld+json"> elements, in document order: a script
// holding an object gives it, one holding an array gives the objects in
// it, and other values are left out. Objects are as encoding/json decodes
// them into any, but numbers are json.Number, so that large ones keep
// their digits; an "@graph" stays inside its object. The type is compared
// without regard to case, its parameters ignored; an HTML comment or
// CDATA wrapper around the JSON is removed. A script that is not valid
// JSON is skipped. Scripts inside <template> are inert and ignored.
//
// The result is never nil: a page without JSON-LD (or a nil doc) gives
// an empty list.
func JSONLD(doc *goquery.Document) []any {
	out := []any{}
	for _, root := range docRoots(doc) {
		n := root
		for n != nil {
			descend := true
			if n.Type == html.ElementNode {
				switch {
				case n.DataAtom == atom.Template:
					descend = false
				case n.DataAtom == atom.Script && isJSONLD(n):
					out = appendJSONLD(out, scriptText(n))
					descend = false
				}
			}
			n = nextNode(root, n, descend)
		}
	}
	return out
}

// nextNode returns the node after n in a walk of root's subtree in
// document order, skipping n's children unless descend is set; nil at
// the end.
func nextNode(root, n *html.Node, descend bool) *html.Node {
	if descend && n.FirstChild != nil {
		return n.FirstChild
	}
	for n != root {
		if n.NextSibling != nil {
			return n.NextSibling
		}
		n = n.Parent
	}
	return nil
}

// isJSONLD reports whether script element n has type application/ld+json.
func isJSONLD(n *html.Node) bool {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == "type" {
			return strings.EqualFold(mediaType(a.Val), "application/ld+json")
		}
	}
	return false
}

// scriptText returns the text of script element n.
func scriptText(n *html.Node) []byte {
	var b []byte
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b = append(b, c.Data...)
		}
	}
	return b
}

// jsonLDWrappers are the ways pages wrap JSON in a script so that old
// parsers skip it, outermost first.
var jsonLDWrappers = [][2]string{
	{"<!--", "-->"},
	{"<![CDATA[", "]]>"},
	{"//<![CDATA[", "//]]>"},
	{"/*<![CDATA[*/", "/*]]>*/"},
}

// appendJSONLD appends the objects of the JSON-LD script text b to out.
func appendJSONLD(out []any, b []byte) []any {
	b = bytes.TrimSpace(b)
	for _, w := range jsonLDWrappers {
		if rest, ok := bytes.CutPrefix(b, []byte(w[0])); ok {
			rest = bytes.TrimSpace(rest)
			rest, _ = bytes.CutSuffix(rest, []byte(w[1]))
			b = bytes.TrimSpace(rest)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return out
	}
	if _, err := dec.Token(); err != io.EOF {
		return out // more than one value, or garbage after it
	}
	switch v := v.(type) {
	case map[string]any:
		out = append(out, v)
	case []any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}
