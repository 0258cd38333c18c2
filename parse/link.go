package parse

import (
	"fmt"
	"net/http"
	"net/url"
)

// Kind says what a discovered link is for, which decides whether a crawl
// follows it: a crawler follows page and sitemap links (and GET forms) by
// default, and asset links only when asked to.
type Kind uint8

const (
	// KindPage is a document a person navigates to: a[href], frame and
	// iframe src, a meta refresh, link rel=next, a Location header, ...
	KindPage Kind = iota
	// KindAsset is a resource a page loads to display itself: images,
	// scripts, stylesheets, media, fonts, objects, CSS url() and @import.
	KindAsset
	// KindForm is a URL a browser sends data to: a form's action (Method
	// says GET or POST), and the endpoints browsers POST to on their own
	// (a[ping], link rel=pingback, a CSP report-uri). A GET form is
	// followed as its action URL with no fields filled in; the others are
	// recorded, never requested.
	KindForm
	// KindSitemap is a list of URLs: a sitemap, sitemap index or feed
	// (robots.txt Sitemap lines, link rel=sitemap, RSS and Atom
	// alternates).
	KindSitemap
)

var kindNames = [...]string{KindPage: "page", KindAsset: "asset", KindForm: "form", KindSitemap: "sitemap"}

// String returns "page", "asset", "form" or "sitemap".
func (k Kind) String() string {
	if k.Valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is one of the kinds parse defines.
func (k Kind) Valid() bool { return int(k) < len(kindNames) }

// MarshalText returns k.String().
func (k Kind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("parse: unknown link kind %d", uint8(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText parses what MarshalText writes.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// ParseKind parses "page", "asset", "form" or "sitemap".
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if s == name {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("parse: unknown link kind %q (want page, asset, form or sitemap)", s)
}

// Follows reports whether a link of kind k and method is requested by a
// crawl that fetches assets or not: pages, sitemaps and GET forms always,
// assets with assets set, POST forms never.
func Follows(k Kind, method string, assets bool) bool {
	switch k {
	case KindPage, KindSitemap:
		return true
	case KindAsset:
		return assets
	case KindForm:
		return method == "" || method == http.MethodGet
	}
	return false
}

// Options changes what HTMLWith extracts. The zero Options is what HTML
// uses.
type Options struct {
	// GuessLinks also finds URLs written as text in inline scripts and
	// JSON data blocks (see GuessLinks). Off by default: such text holds
	// as many false positives as links.
	GuessLinks bool
}

// HTMLWith is HTML with options.
func HTMLWith(body []byte, contentType string, pageURL *url.URL, opts Options) (*Page, error) {
	p, _, err := extractWith(body, contentType, pageURL, false, opts)
	return p, err
}
