package parse

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// link is the part of a Link the table tests compare; "!" after the URL
// means NoFollow.
func linkStrings(ls []Link) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		s := l.URL
		if l.NoFollow {
			s += " !"
		}
		out = append(out, s)
	}
	return out
}

// htmlLinksTests is TestHTMLLinks's table, at package level so that the
// differential test reuses its documents.
var htmlLinksTests = []struct {
	name, page, body string
	want             []string
}{
	{
		name: "relative and absolute",
		body: `<a href="a.html">a</a><a href="/root">r</a><a href="../up">u</a>
				<a href="//other.example/x">o</a><a href="https://Secure.example:443/y">s</a>
				<a href="?q=1">q</a><a href="sub/dir/">s</a><a href="HTTP://EXAMPLE.com/Case">c</a>`,
		want: []string{
			"http://example.com/dir/a.html", "http://example.com/root", "http://example.com/up",
			"http://other.example/x", "https://Secure.example:443/y",
			"http://example.com/dir/page.html?q=1", "http://example.com/dir/sub/dir/",
			"http://EXAMPLE.com/Case",
		},
	},
	{
		name: "absolute base href",
		body: `<head><base href="http://cdn.example/base/"></head><a href="x">x</a><a href="/y">y</a><a href="#f">f</a>`,
		want: []string{"http://cdn.example/base/x", "http://cdn.example/y", "http://cdn.example/base/"},
	},
	{
		name: "relative base href",
		body: `<base href="../other/"><a href="x">x</a>`,
		want: []string{"http://example.com/other/x"},
	},
	{
		name: "first base wins, even late in the document",
		body: `<a href="x">x</a><base href="/first/"><base href="/second/">`,
		want: []string{"http://example.com/first/x"},
	},
	{
		name: "non-http base ignored",
		body: `<base href="javascript:alert(1)"><base href="ftp://files.example/"><a href="x">x</a>`,
		want: []string{"http://example.com/dir/x"},
	},
	{
		name: "ignored schemes and empty hrefs",
		body: `<a href="javascript:void(0)">j</a><a href=" JavaScript:go()">J</a>
				<a href="mailto:me@example.com">m</a><a href="data:text/html,hi">d</a>
				<a href="tel:+123">t</a><a href="ftp://example.com/f">f</a><a href="file:///etc/passwd">f</a>
				<a href="">e</a><a href="   ">s</a><a>no href</a><a href="http://user:pw@example.com/">u</a>
				<a href="http://exa mple.com/">bad host</a><a href="/ok">ok</a>`,
		want: []string{"http://example.com/ok"},
	},
	{
		name: "self links dropped",
		body: `<a href="#top">t</a><a href="#">h</a><a href="page.html">p</a><a href="page.html#x">x</a>
				<a href="http://EXAMPLE.com:80/dir/./page.html">n</a><a href="page.html?">q</a><a href="page.html?v=2">v</a>`,
		want: []string{"http://example.com/dir/page.html?v=2"},
	},
	{
		name: "fragment removed from URL",
		body: `<a href="/b#sec">b</a><a href="/b#other">b again</a>`,
		want: []string{"http://example.com/b"},
	},
	{
		name: "dedup by key keeps first spelling",
		body: `<a href="/a">1</a><a href="http://EXAMPLE.COM/a">2</a><a href="/%61">3</a><a href="/b">b</a><a href="/a">4</a>`,
		want: []string{"http://example.com/a", "http://example.com/b"},
	},
	{
		name: "frames",
		body: `<html><frameset><frame src="left.html"><frame src="/right.html"><frame></frameset></html>`,
		want: []string{"http://example.com/dir/left.html", "http://example.com/right.html"},
	},
	{
		name: "iframe and area",
		body: `<iframe src="https://video.example/embed/1"></iframe>
				<map name="m"><area href="/region" shape="rect"><area shape="default"></map>`,
		want: []string{"https://video.example/embed/1", "http://example.com/region"},
	},
	{
		name: "rel nofollow",
		body: `<a href="/n" rel="external NoFollow">n</a><a href="/f" rel="follow">f</a>
				<a href="/mixed" rel="nofollow">1</a><a href="/mixed">2</a><a href="/both" rel="nofollow">1</a><a href="/both" rel="nofollow ugc">2</a>
				<a href="/nofollowish" rel="nofollowish">x</a>`,
		want: []string{"http://example.com/n !", "http://example.com/f", "http://example.com/mixed", "http://example.com/both !", "http://example.com/nofollowish"},
	},
	{
		name: "whitespace in href",
		body: "<a href=\"  /spaced \n\">s</a><a href=\"/ta\tb\nle\">t</a><a href=\"\n\tjava\nscript:x()\">j</a>",
		want: []string{"http://example.com/spaced", "http://example.com/table"},
	},
	{
		name: "broken HTML",
		body: `<html><body><div><a href="/one">one<p><a href=/two>two<table><tr><td><a href='/three'>three</td></tr></table><b><i></b>
				<a href="/four" <a href="/five">five`,
		want: []string{"http://example.com/one", "http://example.com/two", "http://example.com/three", "http://example.com/four"},
	},
	{
		name: "noscript content seen, template content inert",
		body: `<noscript><a href="/nojs">n</a></noscript><template><a href="/tpl">t</a></template>`,
		want: []string{"http://example.com/nojs"},
	},
	{
		name: "link elements are not out-links",
		body: `<head><link rel="stylesheet" href="/s.css"><link rel="canonical" href="/c"></head><body><img src="/i.png"></body>`,
		want: nil,
	},
	{
		name: "nil page URL keeps only absolute links",
		page: "-",
		body: `<a href="/rel">r</a><a href="http://example.org/abs">a</a>`,
		want: []string{"http://example.org/abs"},
	},
}

func TestHTMLLinks(t *testing.T) {
	const page = "http://example.com/dir/page.html"
	tests := htmlLinksTests
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pu *url.URL
			switch tc.page {
			case "":
				pu = mustURL(t, page)
			case "-":
			default:
				pu = mustURL(t, tc.page)
			}
			p, err := HTML([]byte(tc.body), "text/html", pu)
			if err != nil {
				t.Fatalf("HTML: %v", err)
			}
			if got := linkStrings(p.Links); !reflect.DeepEqual(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
				t.Errorf("links:\n got %q\nwant %q", got, tc.want)
			}
			for _, l := range p.Links {
				key, host, err := NormalizeString(l.URL)
				if err != nil || key != l.Key || host != l.Host {
					t.Errorf("link %q has key %q host %q; NormalizeString gives %q, %q, %v", l.URL, l.Key, l.Host, key, host, err)
				}
			}
		})
	}
}

// htmlMetaTests is TestHTMLMeta's table, at package level so that the
// differential test reuses its documents.
var htmlMetaTests = []struct {
	name, body string
	want       Page // Base, Links and doc are not compared
}{
	{
		name: "title description canonical lang",
		body: `<!DOCTYPE html><html lang=" en-GB "><head>
				<title>
				  Hello,
				  	world &amp; more&nbsp;stuff </title>
				<meta name="Description" content="  A   page
				 about things. ">
				<meta name="description" content="second ignored">
				<link rel="Canonical" href="/canon/page?x=1#frag">
				<link rel="canonical" href="/second">
				</head><body><title>not this</title></body></html>`,
		want: Page{
			Title:       "Hello, world & more\u00a0stuff",
			Description: "A page about things.",
			Canonical:   "http://example.com/canon/page?x=1",
			Lang:        "en-GB",
		},
	},
	{
		name: "svg title is not the page title",
		body: `<body><svg><title>icon</title></svg><p>text</p></body>`,
		want: Page{},
	},
	{
		name: "title outside head still found",
		body: `<body><p>x</p><title>Late  title</title></body>`,
		want: Page{Title: "Late title"},
	},
	{
		name: "canonical resolved against base, non-http dropped",
		body: `<base href="http://cdn.example/b/"><link rel="canonical" href="c.html">`,
		want: Page{Canonical: "http://cdn.example/b/c.html"},
	},
	{
		name: "canonical with other scheme",
		body: `<link rel="canonical" href="ftp://example.com/c">`,
		want: Page{},
	},
	{name: "robots nofollow", body: `<meta name="robots" content="nofollow">`, want: Page{NoFollow: true}},
	{name: "robots noindex", body: `<meta name="ROBOTS" content="NOINDEX, follow">`, want: Page{NoIndex: true}},
	{name: "robots none", body: `<meta name="robots" content="None">`, want: Page{NoFollow: true, NoIndex: true}},
	{name: "robots list", body: `<meta name="robots" content=" noarchive ,nofollow , noindex">`, want: Page{NoFollow: true, NoIndex: true}},
	{name: "robots metas add up", body: `<meta name="robots" content="noindex"><meta name="robots" content="nofollow">`, want: Page{NoFollow: true, NoIndex: true}},
	{name: "robots all", body: `<meta name="robots" content="index, follow, all">`, want: Page{}},
	{name: "other bots ignored", body: `<meta name="googlebot" content="none"><meta name="trawl" content="none">`, want: Page{}},
	{name: "robots word inside token", body: `<meta name="robots" content="nofollowx, xnoindex">`, want: Page{}},
	{name: "empty document", body: ``, want: Page{}},
}

func TestHTMLMeta(t *testing.T) {
	tests := htmlMetaTests
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := HTML([]byte(tc.body), "text/html; charset=utf-8", mustURL(t, "http://example.com/dir/page.html"))
			if err != nil {
				t.Fatalf("HTML: %v", err)
			}
			got := Page{Title: p.Title, Description: p.Description, Canonical: p.Canonical, Lang: p.Lang, NoFollow: p.NoFollow, NoIndex: p.NoIndex}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func encode(t *testing.T, e encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

// charsetTests is TestHTMLCharset's table, a function so that the
// differential test reuses its documents.
func charsetTests(t *testing.T) []charsetTest {
	const gbkTitle, sjisTitle, latinTitle = "中文网页标题", "日本語のタイトル", "Café crème à la française"
	padding := "<!--" + strings.Repeat("ascii padding ", 100) + "-->"
	return []charsetTest{
		{
			name:        "GBK via meta charset, no header charset",
			body:        encode(t, simplifiedchinese.GBK, `<html><head><meta charset="gbk"><title>`+gbkTitle+`</title></head><body><a href="/x">链接</a></body></html>`),
			contentType: "text/html",
			title:       gbkTitle,
		},
		{
			name:        "Shift_JIS via header",
			body:        encode(t, japanese.ShiftJIS, `<html><head><title>`+sjisTitle+`</title></head><body><a href="/x">リンク</a></body></html>`),
			contentType: "text/html; charset=Shift_JIS",
			title:       sjisTitle,
		},
		{
			name:        "ISO-8859-1 via http-equiv meta",
			body:        encode(t, charmap.ISO8859_1, `<html><head><meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><title>`+latinTitle+`</title></head><body><a href="/x">x</a></body></html>`),
			contentType: "text/html",
			title:       latinTitle,
		},
		{
			name:        "windows-1252 via header",
			body:        encode(t, charmap.Windows1252, `<title>Prix : 5 € – “cité”</title><a href="/x">x</a>`),
			contentType: "text/html; charset=windows-1252",
			title:       "Prix : 5 € – “cité”",
		},
		{
			name:        "UTF-8 BOM",
			body:        append([]byte("\xEF\xBB\xBF"), `<!DOCTYPE html><html><head><title>Über uns</title></head><body><a href="/x">x</a></body></html>`...),
			contentType: "",
			title:       "Über uns",
		},
		{
			name:        "UTF-16LE BOM beats header",
			body:        encode(t, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), `<html><head><title>Ünïcode</title></head><body><a href="/x">x</a></body></html>`),
			contentType: "text/html; charset=iso-8859-1",
			title:       "Ünïcode",
		},
		{
			name:        "header charset beats meta",
			body:        []byte(`<meta charset="gbk"><title>naïve</title><a href="/x">x</a>`),
			contentType: "text/html; charset=UTF-8",
			title:       "naïve",
		},
		{
			name:        "undeclared UTF-8 after 1 KB of ASCII",
			body:        []byte(`<html><head>` + padding + `<title>naïve café</title></head><body><a href="/x">x</a></body></html>`),
			contentType: "text/html",
			title:       "naïve café",
		},
		{
			name:        "unknown header charset, undeclared UTF-8 after 1 KB of ASCII",
			body:        []byte(`<html><head>` + padding + `<title>naïve café</title></head><body><a href="/x">x</a></body></html>`),
			contentType: "text/html; charset=bogus",
			title:       "naïve café",
		},
		{
			name:        "undeclared invalid UTF-8 falls back to windows-1252",
			body:        []byte("<title>caf\xe9 \x80</title><a href=\"/x\">x</a>"),
			contentType: "text/html",
			title:       "café €",
		},
		{
			name:        "unknown header charset falls through to meta",
			body:        encode(t, simplifiedchinese.GBK, `<meta charset="gb2312"><title>`+gbkTitle+`</title><a href="/x">x</a>`),
			contentType: "text/html; charset=bogus",
			title:       gbkTitle,
		},
	}
}

type charsetTest struct {
	name        string
	body        []byte
	contentType string
	title       string
}

func TestHTMLCharset(t *testing.T) {
	tests := charsetTests(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := HTML(tc.body, tc.contentType, mustURL(t, "http://example.com/"))
			if err != nil {
				t.Fatalf("HTML: %v", err)
			}
			if p.Title != tc.title {
				t.Errorf("title = %q, want %q", p.Title, tc.title)
			}
			if got := p.Document().Find("head > title").Length(); got != 1 {
				t.Errorf("head has %d titles, want 1 (a stray BOM would move the title into the body)", got)
			}
			if got := linkStrings(p.Links); !reflect.DeepEqual(got, []string{"http://example.com/x"}) {
				t.Errorf("links = %q, want the one link /x", got)
			}
		})
	}
}

func TestHTMLDocument(t *testing.T) {
	pu := mustURL(t, "http://example.com/p")
	p, err := HTML([]byte(`<h1 class="t"> Heading </h1><ul><li>a</li><li>b</li></ul>`), "text/html", pu)
	if err != nil {
		t.Fatal(err)
	}
	doc := p.Document()
	if doc == nil {
		t.Fatal("Document() = nil")
	}
	if got := doc.Find("h1.t").Text(); got != " Heading " {
		t.Errorf("h1 text = %q, want %q", got, " Heading ")
	}
	if got := doc.Find("li").Length(); got != 2 {
		t.Errorf("li count = %d, want 2", got)
	}
	if doc.Url == nil || doc.Url.String() != pu.String() {
		t.Errorf("doc.Url = %v, want %v", doc.Url, pu)
	}
	if p.Base == pu || p.Base == doc.Url {
		t.Error("Page.Base aliases the caller's URL or the document's")
	}
	if p.Base.String() != pu.String() {
		t.Errorf("Base = %v, want %v", p.Base, pu)
	}
	if (*Page)(nil).Document() != nil {
		t.Error("nil Page has a document")
	}
}

func TestIsHTML(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    bool
	}{
		{"text/html", "text/html", "", true},
		{"with charset", "text/html; charset=utf-8", "", true},
		{"upper case and spaces", " Text/HTML ;charset=UTF-8", "", true},
		{"xhtml", "application/xhtml+xml", "", true},
		{"plain text", "text/plain", "<html><body>x</body></html>", false},
		{"json", "application/json", "{}", false},
		{"image", "image/png", "\x89PNG\r\n\x1a\n", false},
		{"html prefix only", "text/html-sandboxed", "", false},
		{"empty sniffed html", "", "<!DOCTYPE html><html><body>x</body></html>", true},
		{"empty sniffed html after whitespace", "", "  \n<html><head>", true},
		{"empty sniffed text", "", "just some text", false},
		{"empty sniffed binary", "", "\x00\x01\x02\x03", false},
		{"blank header sniffed", "  ", "<p>hello</p>", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsHTML(tc.contentType, []byte(tc.body)); got != tc.want {
				t.Errorf("IsHTML(%q, %q) = %v, want %v", tc.contentType, tc.body, got, tc.want)
			}
		})
	}
}

func TestCollapseSpace(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"a b", "a b"},
		{"  a  b  ", "a b"},
		{"a\tb\nc\r\nd\fe", "a b c d e"},
		{"a\u00a0\u00a0b", "a\u00a0\u00a0b"},
		{" \n ", ""},
	}
	for _, tc := range tests {
		if got := collapseSpace(tc.in); got != tc.want {
			t.Errorf("collapseSpace(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestHTMLConcurrent shares one body and one page URL between goroutines:
// HTML must neither modify nor race on its inputs (run with -race).
func TestHTMLConcurrent(t *testing.T) {
	body := benchPage()
	orig := string(body)
	pu := mustURL(t, "https://www.example.com/bench/page.html")
	want, err := HTML(body, "text/html", pu)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			p, err := HTML(body, "text/html", pu)
			switch {
			case err != nil:
				errs <- err
			case !reflect.DeepEqual(p.Links, want.Links) || p.Title != want.Title:
				errs <- fmt.Errorf("got %d links, title %q; want %d, %q", len(p.Links), p.Title, len(want.Links), want.Title)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if string(body) != orig || pu.String() != "https://www.example.com/bench/page.html" {
		t.Error("HTML modified its inputs")
	}
}
