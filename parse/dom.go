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
		if !s.hasLang && n.Namespace == "" {
			s.lang, s.hasLang = attr(n, "lang")
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
			s.robots([]byte(content))
		}
	case atom.Template:
		return false
	}
	return true
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
