package parse

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// This file holds the DOM extraction: html.Parse builds the tree and walk
// visits it. HTML uses it only when the streaming pass (tokens.go) meets a
// construct it does not model; the tests use it as the reference the
// streaming pass must agree with.

// parseTree parses text (UTF-8) as HTML5 with scripting disabled.
func parseTree(text []byte) (*html.Node, error) {
	return html.ParseWithOptions(bytes.NewReader(text), html.ParseOptionEnableScripting(false))
}

// walk visits the tree under root in document order without recursion,
// skipping the inert content of <template>.
func (s *scan) walk(root *html.Node) {
	n := root
	for {
		descend := true
		switch n.Type {
		case html.ElementNode:
			descend = s.element(n)
		case html.CommentNode:
			if c, ok := conditionalContent(n.Data); ok {
				treeSink{s, n}.nested(c, nestComment)
			}
		case html.DoctypeNode:
			for _, a := range n.Attr {
				if a.Key == "system" && a.Namespace == "" {
					s.refs = append(s.refs, ref{href: a.Val, src: srcDoctype, kind: KindAsset, nest: s.nest})
				}
			}
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
	ns := nsHTML
	switch n.Namespace {
	case "svg":
		ns = nsSVG
	case "math":
		ns = nsMath
	}
	var at attrSet[string]
	for _, a := range n.Attr {
		switch {
		case a.Namespace == "":
			if id := which(a.Key); id != atNone {
				at.set(id, a.Val)
			}
		case a.Namespace == "xlink" && a.Key == "href":
			at.set(atXlinkHref, a.Val)
		}
	}
	descend := true
	switch n.DataAtom {
	case atom.Html:
		if !s.hasLang && ns == nsHTML {
			s.lang, s.hasLang = at.get(atLang)
		}
	case atom.Title:
		if !s.hasTitle && ns == nsHTML {
			s.hasTitle = true
			s.title = collapseSpace(textOf(n))
		}
		descend = ns != nsHTML // an HTML title holds only text
	case atom.Base:
		if href, ok := at.get(atHref); ok && !s.hasBase {
			s.hasBase, s.baseHref = true, href
		}
	case atom.Link:
		if s.canonical == "" {
			if rel, _ := at.get(atRel); hasToken(rel, "canonical") {
				s.canonical, _ = at.get(atHref)
			}
		}
	case atom.Meta:
		name, _ := at.get(atName)
		switch {
		case strings.EqualFold(name, "description"):
			if !s.hasDescription {
				s.hasDescription = true
				s.description, _ = at.get(atContent)
			}
		case strings.EqualFold(name, "robots"):
			content, _ := at.get(atContent)
			s.robots([]byte(content))
		}
	case atom.Template:
		descend = false
	}
	sink := treeSink{s, n}
	elementRefs(sink, n.DataAtom, ns, &at)
	if ns == nsHTML {
		switch n.DataAtom {
		case atom.Style:
			cssText(sink, textOf(n), srcStyle, srcStyleImport)
		case atom.Script:
			if text := textOf(n); s.guess && text != "" {
				sink.add(text, ref{src: srcScript, guess: true})
			}
		}
	}
	return descend
}

// treeSink is the refSink of the DOM walk, at node n.
type treeSink struct {
	s *scan
	n *html.Node
}

func (t treeSink) add(href string, r ref) {
	r.href, r.nest = href, t.s.nest
	t.s.refs = append(t.s.refs, r)
}

func (t treeSink) addString(href string, r ref) { t.add(href, r) }

func (t treeSink) nested(doc string, prefix uint8) {
	if t.s.depth < maxNest {
		t.s.refs = append(t.s.refs, nestedRefs([]byte(doc), t.s.child(prefix), true)...)
	}
}

// inheritedMethod returns the method of the nearest ancestor HTML form,
// GET if there is none.
func (t treeSink) inheritedMethod() method {
	for p := t.n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.DataAtom == atom.Form && p.Namespace == "" {
			m, _ := attr(p, "method")
			return formMethod(m)
		}
	}
	return mGet
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
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
