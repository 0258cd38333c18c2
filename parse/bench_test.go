package parse

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"trawl/fixtures"
)

// benchURL is a typical 60-byte URL.
const benchURL = "https://www.example.com/blog/2024/05/an-article-title?id=42"

func BenchmarkNormalize(b *testing.B) {
	u, err := url.Parse(benchURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("URL", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Normalize(u); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("String", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := NormalizeString(benchURL); err != nil {
				b.Fatal(err)
			}
		}
	})
	messy, err := url.Parse("HTTPS://WWW.Example.COM:443/blog/./2024/../2024/%7ean-article?id=%2a")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Messy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Normalize(messy); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchPage returns a page of about 10 KB with 20 links, half relative and
// half absolute, like the synthetic site in DESIGN.md.
func benchPage() []byte {
	var sb strings.Builder
	sb.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Benchmark page</title><meta name="description" content="A page used to benchmark parsing.">
<link rel="canonical" href="/bench/page.html"></head><body><h1>Benchmark page</h1>
`)
	for i := range 20 {
		fmt.Fprintf(&sb, "<p>%s</p>\n", strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 8))
		if i%2 == 0 {
			fmt.Fprintf(&sb, "<p><a href=\"/bench/page-%d.html\">page %d</a></p>\n", i, i)
		} else {
			fmt.Fprintf(&sb, "<p><a href=\"https://www.example.com/bench/other/%d?ref=home\">other %d</a></p>\n", i, i)
		}
	}
	sb.WriteString("</body></html>\n")
	return []byte(sb.String())
}

func BenchmarkHTML(b *testing.B) {
	body := benchPage()
	u, err := url.Parse("https://www.example.com/bench/page.html")
	if err != nil {
		b.Fatal(err)
	}
	p, err := HTML(body, "text/html", u)
	if err != nil || len(p.Links) != 20 {
		b.Fatalf("HTML: %d links, %v; want 20", len(p.Links), err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HTML(body, "text/html", u); err != nil {
			b.Fatal(err)
		}
	}
}

// benchAssetsPage returns a page of about 12 KB rich in assets: style
// sheets, scripts, meta images and a <style> in the head; images with
// srcsets, pictures, style attributes and classes in the body; and 20
// links, as in benchPage.
func benchAssetsPage() []byte {
	var sb strings.Builder
	sb.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Assets page</title><meta name="description" content="A page used to benchmark asset extraction.">
<link rel="canonical" href="https://www.example.com/bench/assets.html">
<meta property="og:url" content="https://www.example.com/bench/assets.html">
<meta property="og:image" content="https://cdn.example.com/img/og-card.jpg">
<meta name="twitter:image" content="https://cdn.example.com/img/twitter-card.jpg">
<link rel="stylesheet" href="/static/css/main.css?v=3"><link rel="stylesheet" href="https://cdn.example.com/css/vendor.min.css">
<link rel="icon" href="/favicon.ico"><link rel="apple-touch-icon" href="/static/img/touch-icon.png">
<link rel="preload" href="/static/fonts/body.woff2" as="font" crossorigin><link rel="preconnect" href="https://cdn.example.com">
<script src="/static/js/app.js" defer></script><script src="https://cdn.example.com/js/analytics.js" async></script>
<style>body { background: url(/static/img/bg.png) } @import url("/static/css/print.css") print;</style>
</head><body class="page assets"><header style="background-image: url('/static/img/header.jpg')"><h1>Assets page</h1></header>
`)
	for i := range 20 {
		fmt.Fprintf(&sb, "<div class=\"card card-%d\" style=\"color: #333; margin: 0 auto\"><p class=\"text\">%s</p>\n", i, strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 3))
		switch i % 4 {
		case 0:
			fmt.Fprintf(&sb, "<img src=\"/static/img/photo-%d.jpg\" srcset=\"/static/img/photo-%d-2x.jpg 2x, /static/img/photo-%d-3x.jpg 3x\" alt=\"photo %d\" loading=\"lazy\">\n", i, i, i, i)
		case 1:
			fmt.Fprintf(&sb, "<picture><source srcset=\"https://cdn.example.com/img/%d.webp 1x, https://cdn.example.com/img/%d@2x.webp 2x\" type=\"image/webp\"><img src=\"https://cdn.example.com/img/%d.jpg\" alt=\"\"></picture>\n", i, i, i)
		case 2:
			fmt.Fprintf(&sb, "<div class=\"thumb\" style=\"background-image: url(/static/img/thumb-%d.png)\"></div>\n", i)
		case 3:
			fmt.Fprintf(&sb, "<span class=\"icon icon-%d\"></span><img src=\"/static/img/icon-%d.svg\" width=\"16\" height=\"16\" alt=\"\">\n", i, i)
		}
		if i%2 == 0 {
			fmt.Fprintf(&sb, "<p><a href=\"/bench/page-%d.html\" class=\"more\">page %d</a></p></div>\n", i, i)
		} else {
			fmt.Fprintf(&sb, "<p><a href=\"https://www.example.com/bench/other/%d?ref=home\">other %d</a></p></div>\n", i, i)
		}
	}
	sb.WriteString("<script src=\"/static/js/footer.js\"></script></body></html>\n")
	return []byte(sb.String())
}

// BenchmarkHTMLAssets is HTML on benchAssetsPage: link extraction from a
// page that loads many assets.
func BenchmarkHTMLAssets(b *testing.B) {
	body := benchAssetsPage()
	u, err := url.Parse("https://www.example.com/bench/assets.html")
	if err != nil {
		b.Fatal(err)
	}
	p, err := HTML(body, "text/html", u)
	if err != nil || len(p.Links) < 60 {
		b.Fatalf("HTML: %d links, %v; want 60 or more", len(p.Links), err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HTML(body, "text/html", u); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSite is the synthetic site of the targets: 10 KB pages with
// 20 links each (root-relative, absolute to other hosts, fragments and
// duplicates mixed in).
var benchSite = fixtures.Synthetic{Pages: 100, Links: 20, Size: 10000, Hosts: 4, Seed: 1}

// synthPages returns benchSite's pages and URLs.
func synthPages(b *testing.B) (bodies [][]byte, urls []*url.URL, size int64) {
	for i := range benchSite.Pages {
		bodies = append(bodies, benchSite.Page(i))
		urls = append(urls, mustURL(b, benchSite.URL(i)))
		size += int64(len(bodies[i]))
	}
	return bodies, urls, size / int64(len(bodies))
}

// BenchmarkHTMLSynthetic is HTML on benchSite's pages in turn: link
// extraction alone (1e9 / ns/op pages per second).
func BenchmarkHTMLSynthetic(b *testing.B) {
	bodies, urls, size := synthPages(b)
	b.SetBytes(size)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := HTML(bodies[i], "text/html; charset=utf-8", urls[i]); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(bodies)
	}
}

// BenchmarkHTMLWithDocument is HTML followed by Document on benchSite's
// pages: the cost for a caller that wants the goquery document.
func BenchmarkHTMLWithDocument(b *testing.B) {
	bodies, urls, size := synthPages(b)
	b.SetBytes(size)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p, err := HTML(bodies[i], "text/html; charset=utf-8", urls[i])
		if err != nil {
			b.Fatal(err)
		}
		if p.Document() == nil {
			b.Fatal("no document")
		}
		i = (i + 1) % len(bodies)
	}
}

// BenchmarkHTMLTree is the DOM walk HTML falls back to (and the tests'
// reference) on benchSite's pages: what HTML cost when it always built the
// tree.
func BenchmarkHTMLTree(b *testing.B) {
	bodies, urls, size := synthPages(b)
	b.SetBytes(size)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := extract(bodies[i], "text/html; charset=utf-8", urls[i], true); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(bodies)
	}
}

// BenchmarkTokensSynthetic is the streaming pass alone (tokens) on
// benchSite's pages: HTML without decoding, resolving and deduplicating.
func BenchmarkTokensSynthetic(b *testing.B) {
	bodies, _, size := synthPages(b)
	b.SetBytes(size)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := tokens(bodies[i], true, scanConfig{}); !ok {
			b.Fatal("the streaming pass gave up")
		}
		i = (i + 1) % len(bodies)
	}
}

// BenchmarkLinksSynthetic is links alone on the refs of benchSite's pages:
// resolving, normalizing and deduplicating.
func BenchmarkLinksSynthetic(b *testing.B) {
	bodies, urls, size := synthPages(b)
	refs := make([][]ref, len(bodies))
	for i, body := range bodies {
		s, _ := tokens(body, true, scanConfig{})
		refs[i] = s.refs
	}
	b.SetBytes(size)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		links(urls[i], urls[i], refs[i])
		i = (i + 1) % len(bodies)
	}
}
