package parse

import (
	"fmt"
	"net/url"
	"strings"
)

// referenceHTML is HTML as it was before the streaming pass, the reference
// the differential tests hold it to: it decodes without the shortcut,
// builds the tree and walks it (dom.go), and resolves every link with
// ResolveReference, deduplicating by key alone.
func referenceHTML(body []byte, contentType string, pageURL *url.URL) (*Page, error) {
	return referenceHTMLWith(body, contentType, pageURL, false)
}

// referenceHTMLWith is referenceHTML with Options.GuessLinks set to guess.
func referenceHTMLWith(body []byte, contentType string, pageURL *url.URL, guess bool) (*Page, error) {
	var page url.URL
	if pageURL != nil {
		page = *pageURL
	}
	text, err := decodeFull(body, contentType)
	if err != nil {
		return nil, fmt.Errorf("parse: html %q: %w", page.Redacted(), err)
	}
	root, err := parseTree(text)
	if err != nil {
		return nil, fmt.Errorf("parse: html %q: %w", page.Redacted(), err)
	}
	s := scan{scanConfig: scanConfig{guess: guess}}
	s.walk(root)
	base := page
	p := &Page{
		Title:       s.title,
		Description: collapseSpace(s.description),
		Lang:        strings.Trim(s.lang, asciiSpace),
		Base:        &base,
		NoFollow:    s.noFollow,
		NoIndex:     s.noIndex,
	}
	if s.hasBase {
		if b, ok := referenceResolve(p.Base, s.baseHref); ok {
			p.Base = b
		}
	}
	if s.canonical != "" {
		if c, ok := referenceResolve(p.Base, s.canonical); ok {
			c.Fragment, c.RawFragment = "", ""
			p.Canonical = c.String()
		}
	}
	p.Links = referenceLinks(p.Base, &page, s.refs)
	return p, nil
}

func referenceLinks(base, page *url.URL, refs []ref) []Link {
	if len(refs) == 0 {
		return nil
	}
	self, _, err := Normalize(page)
	if err != nil {
		self = ""
	}
	var all []ref
	for _, r := range refs {
		if !r.guess {
			all = append(all, r)
			continue
		}
		for _, g := range GuessLinks([]byte(r.href), base, "script") {
			m := mNone
			if g.Kind == KindForm {
				m = mGet
				if g.Method == "POST" {
					m = mPost
				}
			}
			all = append(all, ref{href: g.URL, src: srcScript, nest: r.nest, kind: g.Kind, method: m})
		}
	}
	// The rank of a kind: page, sitemap, GET form, asset, POST form.
	order := func(r ref) int {
		switch {
		case r.kind == KindPage:
			return 0
		case r.kind == KindSitemap:
			return 1
		case r.kind == KindForm && r.method != mPost:
			return 2
		case r.kind == KindAsset:
			return 3
		}
		return 4
	}
	out := make([]Link, 0, len(refs))
	best := make([]ref, 0, len(refs))
	seen := make(map[string]int, len(refs))
	for _, r := range all {
		u, ok := referenceResolve(base, r.href)
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
			if order(r) < order(best[i]) {
				best[i] = r
			}
			continue
		}
		seen[key] = len(out)
		out = append(out, Link{URL: u.String(), Key: key, Host: host, NoFollow: r.noFollow})
		best = append(best, r)
	}
	for i, r := range best {
		prefix := ""
		for c := r.nest; c > 0; c /= 3 {
			prefix = map[uint8]string{1: "iframe[srcdoc] ", 2: "comment "}[c%3] + prefix
		}
		out[i].Kind = r.kind
		out[i].Source = prefix + sourceNames[r.src]
		out[i].Method = map[method]string{mGet: "GET", mPost: "POST"}[r.method]
	}
	return out
}

func referenceResolve(base *url.URL, href string) (*url.URL, bool) {
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
