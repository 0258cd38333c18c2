package parse

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
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
