package parse

import (
	"fmt"
	"net/http"
	"net/http/httptest"
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

	"trawl/fixtures"
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
		name: "link elements and images are links",
		body: `<head><link rel="stylesheet" href="/s.css"><link rel="canonical" href="/c"></head><body><img src="/i.png"></body>`,
		want: []string{"http://example.com/s.css", "http://example.com/c", "http://example.com/i.png"},
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

// linkDesc describes the fields of a Link that TestHTMLSources compares:
// URL, kind, source, then method for a form and "!" for NoFollow.
func linkDesc(l Link) string {
	s := l.URL + " " + l.Kind.String() + " " + l.Source
	if l.Method != "" {
		s += " " + l.Method
	}
	if l.NoFollow {
		s += " !"
	}
	return s
}

// htmlSourcesTests is TestHTMLSources's table: one case per place HTML
// holds links, at package level so that the differential tests reuse its
// documents. The page is http://example.com/dir/page.html.
var htmlSourcesTests = []struct {
	name, body string
	guess      bool // Options.GuessLinks
	want       []string
}{
	// Navigation.
	{name: "a href", body: `<a href="a">1</a><a href="/n" rel="nofollow">2</a>`,
		want: []string{"http://example.com/dir/a page a[href]", "http://example.com/n page a[href] !"}},
	{name: "a ping", body: `<a href="/t" ping="/p1  http://stats.example/p2">x</a><a ping=/p3>y</a>`,
		want: []string{"http://example.com/t page a[href]", "http://example.com/p1 form a[ping] POST",
			"http://stats.example/p2 form a[ping] POST", "http://example.com/p3 form a[ping] POST"}},
	{name: "area href and ping", body: `<map><area href="/ar" ping="/ap" rel="NoFollow"></map>`,
		want: []string{"http://example.com/ar page area[href] !", "http://example.com/ap form area[ping] POST"}},
	{name: "frame src", body: `<frameset><frame src="/f1"><frame src="f2"></frameset>`,
		want: []string{"http://example.com/f1 page frame[src]", "http://example.com/dir/f2 page frame[src]"}},
	{name: "iframe src", body: `<iframe src="/if"></iframe>`, want: []string{"http://example.com/if page iframe[src]"}},
	{name: "iframe srcdoc", body: `<base href="/b/"><iframe src="/if" srcdoc="<a href=x>x</a><img src=&quot;/i.png&quot;><!--[if IE]><a href=ie></a><![endif]-->"></iframe>`,
		want: []string{"http://example.com/if page iframe[src]", "http://example.com/b/x page iframe[srcdoc] a[href]",
			"http://example.com/i.png asset iframe[srcdoc] img[src]", "http://example.com/b/ie page iframe[srcdoc] comment a[href]"}},
	{name: "iframe srcdoc nested", body: `<iframe srcdoc="<iframe srcdoc='<iframe srcdoc=&amp;quot;<a href=/d3><iframe srcdoc=&amp;amp;quot;<a href=/d4>&amp;amp;quot;></iframe>&amp;quot;></iframe><a href=/d2>'></iframe>"></iframe>`,
		want: []string{"http://example.com/d3 page iframe[srcdoc] iframe[srcdoc] iframe[srcdoc] a[href]",
			"http://example.com/d2 page iframe[srcdoc] iframe[srcdoc] a[href]"}},
	{name: "iframe srcdoc base and title ignored", body: `<iframe srcdoc="<title>no</title><base href=/elsewhere/><link rel=canonical href=/c><a href=y>y</a>"></iframe>`,
		want: []string{"http://example.com/c page iframe[srcdoc] link[href]", "http://example.com/dir/y page iframe[srcdoc] a[href]"}},
	{name: "form action", body: `<form action="/get"></form><form action="/post" method="PoSt"></form><form action="/dlg" method="dialog"></form>` +
		`<form action="/other" method="put"></form><form action=""></form><form></form>`,
		want: []string{"http://example.com/get form form[action] GET", "http://example.com/post form form[action] POST",
			"http://example.com/other form form[action] GET"}},
	{name: "ignored nested form", body: `<form action="/f1"><form action="/f2" style="background:url(/f2.png)"></form><form action="/f3"></form>`,
		want: []string{"http://example.com/f1 form form[action] GET", "http://example.com/f3 form form[action] GET"}},
	{name: "formaction", body: `<form method=get action=/g><button formaction="/b1">1</button><input type=submit formaction="/i1">` +
		`<button formaction="/b2" formmethod="POST">2</button><button formaction="/b3" formmethod=dialog>3</button></form>` +
		`<button formaction="/b4">4</button>`,
		want: []string{"http://example.com/g form form[action] GET", "http://example.com/b1 form button[formaction] GET",
			"http://example.com/i1 form input[formaction] GET", "http://example.com/b2 form button[formaction] POST",
			"http://example.com/b4 form button[formaction] GET"}},
	{name: "formaction in a post form", body: `<form method=post action=/p><button formaction="/b1">1</button><input type=image src=/btn.png formaction="/i1" formmethod=get></form>`,
		want: []string{"http://example.com/p form form[action] POST", "http://example.com/b1 form button[formaction] POST",
			"http://example.com/btn.png asset input[src]", "http://example.com/i1 form input[formaction] GET"}},
	{name: "input src", body: `<input type="IMAGE" src="/a.png"><input type=text src=/no.png><input src=/no2.png>`,
		want: []string{"http://example.com/a.png asset input[src]"}},
	{name: "isindex", body: `<isindex action="/search">`, want: []string{"http://example.com/search form isindex[action] GET"}},
	{name: "cite", body: `<blockquote cite="/bq">x</blockquote><q cite="/q">y</q><del cite="/del">z</del><ins cite="/ins">w</ins>`,
		want: []string{"http://example.com/bq page blockquote[cite]", "http://example.com/q page q[cite]",
			"http://example.com/del page del[cite]", "http://example.com/ins page ins[cite]"}},
	{name: "img longdesc", body: `<img longdesc="/desc.html">`, want: []string{"http://example.com/desc.html page img[longdesc]"}},
	{name: "meta refresh", body: `<meta http-equiv="refresh" content="5; url=/next"><meta http-equiv=Refresh content="0;URL='/q?a=1'x">` +
		`<meta http-equiv=refresh content="3, /comma"><meta http-equiv=refresh content="7"><meta http-equiv=refresh content="url=/no">` +
		`<meta http-equiv=refresh content=" 1.5 ; u = /u"><meta http-equiv=refresh content="2 ur">`,
		want: []string{"http://example.com/next page meta[refresh]", "http://example.com/q?a=1 page meta[refresh]",
			"http://example.com/comma page meta[refresh]", "http://example.com/dir/u%20=%20/u page meta[refresh]",
			"http://example.com/dir/ur page meta[refresh]"}},

	// Embedded resources.
	{name: "img", body: `<img src="/s.png" srcset="/a.png 1x, /b,c.png 2x,/d.png" lowsrc="/low.png" dynsrc="/clip.avi">`,
		want: []string{"http://example.com/s.png asset img[src]", "http://example.com/a.png asset img[srcset]",
			"http://example.com/b,c.png asset img[srcset]", "http://example.com/d.png asset img[srcset]",
			"http://example.com/low.png asset img[lowsrc]", "http://example.com/clip.avi asset img[dynsrc]"}},
	{name: "image is img", body: `<image src="/image.png" srcset="/i2.png 100w">`,
		want: []string{"http://example.com/image.png asset img[src]", "http://example.com/i2.png asset img[srcset]"}},
	{name: "srcset invalid candidates", body: `<img srcset="/ok.png 1x, /bad.png 0w, /dup.png 1x 2x, /h.png 50h, /f.png (a, b) 3x">`,
		want: []string{"http://example.com/ok.png asset img[srcset]"}},
	{name: "picture and media", body: `<picture><source srcset="/p.webp 1x, /p2.webp 2x" type="image/webp"><img src="/p.jpg"></picture>` +
		`<video src="/v.mp4" poster="/poster.png"><source src="/v.webm"><track src="/sub.vtt"></video><audio src="/a.mp3"></audio>`,
		want: []string{"http://example.com/p.webp asset source[srcset]", "http://example.com/p2.webp asset source[srcset]",
			"http://example.com/p.jpg asset img[src]", "http://example.com/v.mp4 asset video[src]",
			"http://example.com/poster.png asset video[poster]", "http://example.com/v.webm asset source[src]",
			"http://example.com/sub.vtt asset track[src]", "http://example.com/a.mp3 asset audio[src]"}},
	{name: "script src", body: `<script src="/app.js"></script><script>var x = "<a href='/no'>";</script>`,
		want: []string{"http://example.com/app.js asset script[src]"}},
	{name: "link rels", body: `<link rel="stylesheet" href="/s.css"><link rel="icon" href="/favicon.ico"><link rel="next" href="/p2">` +
		`<link rel="alternate" type="application/rss+xml" href="/feed.rss"><link rel="pingback" href="/xmlrpc">` +
		`<link rel="dns-prefetch" href="//cdn.example"><link rel=canonical href="/canon"><link href="/norel">`,
		want: []string{"http://example.com/s.css asset link[href]", "http://example.com/favicon.ico asset link[href]",
			"http://example.com/p2 page link[href]", "http://example.com/feed.rss sitemap link[href]",
			"http://example.com/xmlrpc form link[href] POST", "http://example.com/canon page link[href]",
			"http://example.com/norel page link[href]"}},
	{name: "embed object applet", body: `<embed src="/e.swf"><object data="/o.pdf" codebase="/cb/"><param name="Movie" value="/m.swf">` +
		`<param name=quality value=high><param name=flashvars value="http://example.org/abs"><param name=x value=/rel></object>` +
		`<applet codebase="/ac/" archive="/a1.jar, /a2.jar ,,"></applet>`,
		want: []string{"http://example.com/e.swf asset embed[src]", "http://example.com/o.pdf asset object[data]",
			"http://example.com/cb/ asset object[codebase]", "http://example.com/m.swf asset param[value]",
			"http://example.org/abs asset param[value]", "http://example.com/ac/ asset applet[codebase]",
			"http://example.com/a1.jar asset applet[archive]", "http://example.com/a2.jar asset applet[archive]"}},
	{name: "backgrounds", body: `<body background="/body.png"><table background="/t.png"><tr><td background="/td.png"><th background="/th.png"></table><td background="/stray.png">`,
		want: []string{"http://example.com/body.png asset body[background]", "http://example.com/t.png asset table[background]",
			"http://example.com/td.png asset td[background]", "http://example.com/th.png asset th[background]"}},
	{name: "svg", body: `<svg><image href="/i1.png"/><image xlink:href="/i2.png"/><script href="/s1.js"></script><script xlink:href="/s2.js"></script>` +
		`<a xlink:href="/xa" rel=nofollow><text>t</text></a><a href="/ha">h</a></svg><a xlink:href="/html-xlink">no</a>`,
		want: []string{"http://example.com/i1.png asset image[href]", "http://example.com/i2.png asset image[xlink:href]",
			"http://example.com/s1.js asset script[href]", "http://example.com/s2.js asset script[xlink:href]",
			"http://example.com/xa page a[xlink:href] !", "http://example.com/ha page a[href]"}},
	{name: "html manifest and head profile", body: `<html manifest="/m.appcache"><head profile="/p1 /p2"><title>t</title></head></html>`,
		want: []string{"http://example.com/m.appcache asset html[manifest]", "http://example.com/p1 page head[profile]",
			"http://example.com/p2 page head[profile]"}},
	{name: "doctype public", body: `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><p>x`,
		want: []string{"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd asset doctype"}},
	{name: "doctype system", body: "<!-- c -->\n<!doctype html system '/local.dtd'><p>x",
		want: []string{"http://example.com/local.dtd asset doctype"}},
	{name: "doctype late", body: `<p>x</p><!DOCTYPE html SYSTEM "/late.dtd">`, want: nil},
	{name: "conditional comments", body: `<!--[if lt IE 9]><script src="/html5shiv.js"></script><link href=ie.css rel=stylesheet><![endif]-->` +
		`<!-- <a href="/plain-comment"> --><!--[if !IE]><!--><a href="/revealed">r</a><!--<![endif]-->`,
		want: []string{"http://example.com/html5shiv.js asset comment script[src]", "http://example.com/dir/ie.css asset comment link[href]",
			"http://example.com/revealed page a[href]"}},
	{name: "meta csp", body: `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; REPORT-URI /csp1 https://r.example/csp2; report-uri /ignored">`,
		want: []string{"http://example.com/csp1 form meta[csp] POST", "https://r.example/csp2 form meta[csp] POST"}},
	{name: "meta names", body: `<meta property="og:url" content="http://example.com/og"><meta property="og:image" content="/og.png">` +
		`<meta name="twitter:image:src" content="/tw.png"><meta name="msapplication-TileImage" content="/tile.png">` +
		`<meta name="og:title" content="/not-a-url"><meta name="msapplication-starturl" content="/start">`,
		want: []string{"http://example.com/og page meta[content]", "http://example.com/og.png asset meta[content]",
			"http://example.com/tw.png asset meta[content]", "http://example.com/tile.png asset meta[content]",
			"http://example.com/start page meta[content]"}},

	// CSS.
	{name: "style element", body: `<style>@import "/imp.css"; body { background: url(/bg.png) }</style>`,
		want: []string{"http://example.com/imp.css asset style@import", "http://example.com/bg.png asset style"}},
	{name: "style attribute", body: `<div style="background: url('/d.png')">x</div><p style="color: red">y</p><svg><rect style="fill: url(/f.svg)"/></svg>`,
		want: []string{"http://example.com/d.png asset [style]", "http://example.com/f.svg asset [style]"}},

	// Inline scripts, with GuessLinks.
	{name: "script text not guessed by default", body: `<script>fetch("https://api.example/data.json")</script>`, want: nil},
	{name: "script text guessed", guess: true, body: `<script>load("/js/extra.js")</script><script type="application/ld+json">{"url": "https://example.com/about"}</script>`,
		want: []string{"http://example.com/js/extra.js asset script", "https://example.com/about page script"}},

	// Duplicates across kinds: the most followed kind wins, the first of
	// equals gives the source.
	{name: "kinds merge", body: `<img src="/x"><a href="/x">x</a><a ping="/y"></a><form action="/y"></form>` +
		`<link rel=stylesheet href="/z"><img src="/z"><form method=post action="/w"></form><img src="/w">`,
		want: []string{"http://example.com/x page a[href]", "http://example.com/y form form[action] GET",
			"http://example.com/z asset link[href]", "http://example.com/w asset img[src]"}},
	{name: "nofollow across kinds", body: `<a href="/n" rel=nofollow>n</a><img src="/n"><a href="/m" rel=nofollow>m</a><a href="/m" rel=nofollow>m</a>`,
		want: []string{"http://example.com/n page a[href]", "http://example.com/m page a[href] !"}},
	{name: "template is inert", body: `<template><img src="/t.png"><a href="/ta">a</a><div style="background:url(/ts.png)"></div></template><img src="/after.png">`,
		want: []string{"http://example.com/after.png asset img[src]"}},
	{name: "entities and upper case", body: `<IMG SRC="/a&amp;b.png" SrcSet="/c.png&#32;2x"><A HREF="/&#x61;">a</A><META HTTP-EQUIV=REFRESH CONTENT="0;URL=/r&amp;s">`,
		want: []string{"http://example.com/a&b.png asset img[src]", "http://example.com/c.png asset img[srcset]",
			"http://example.com/a page a[href]", "http://example.com/r&s page meta[refresh]"}},
}

func TestHTMLSources(t *testing.T) {
	pu := mustURL(t, "http://example.com/dir/page.html")
	for _, tc := range htmlSourcesTests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := HTMLWith([]byte(tc.body), "text/html", pu, Options{GuessLinks: tc.guess})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range p.Links {
				got = append(got, linkDesc(l))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("links:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestHTMLLinksSite: on each page of the fixtures' Links site that holds
// its link in markup, HTML finds the link with the kind, source and method
// the site's table gives.
func TestHTMLLinksSite(t *testing.T) {
	site := fixtures.Links()
	n := 0
	for _, src := range fixtures.LinkSources() {
		if !strings.HasPrefix(src.Page, "/src/") || strings.HasPrefix(src.Source, "header:") {
			continue
		}
		n++
		t.Run(src.Name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			site.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, src.PageURL(fixtures.LinksHost), nil))
			p, err := HTML(rec.Body.Bytes(), rec.Header().Get("Content-Type"), mustURL(t, src.PageURL(fixtures.LinksHost)))
			if err != nil {
				t.Fatal(err)
			}
			want := src.URL(fixtures.LinksHost)
			for _, l := range p.Links {
				if l.URL == want {
					if l.Kind.String() != src.Kind || l.Source != src.Source || l.Method != src.Method {
						t.Errorf("%s: kind %v, source %q, method %q; want %s, %q, %q", want, l.Kind, l.Source, l.Method, src.Kind, src.Source, src.Method)
					}
					return
				}
			}
			t.Errorf("%s not found in %v", want, p.Links)
		})
	}
	if n < 50 {
		t.Errorf("only %d pages", n)
	}
}
