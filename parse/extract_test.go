package parse_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"trawl/fixtures"
	"trawl/parse"
)

// page parses body as parse.HTML does and returns its lazy document.
func page(t testing.TB, body string) *goquery.Document {
	t.Helper()
	u, err := url.Parse("http://example.test/dir/page.html")
	if err != nil {
		t.Fatal(err)
	}
	p, err := parse.HTML([]byte(body), "text/html; charset=utf-8", u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Document()
}

// extractors parses specs; a spec starting with "+" is an --extract-all one.
func extractors(t testing.TB, specs ...string) []parse.Extractor {
	t.Helper()
	var exs []parse.Extractor
	for _, s := range specs {
		spec, all := strings.CutPrefix(s, "+")
		e, err := parse.ParseExtractor(spec, all)
		if err != nil {
			t.Fatal(err)
		}
		exs = append(exs, e)
	}
	return exs
}

// show prints v as JSON, which tells an absent key from a null and a list
// from a string.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func TestParseExtractor(t *testing.T) {
	tests := []struct {
		spec string
		all  bool
		want parse.Extractor // Name, Selector, Attr, All
	}{
		{spec: "title=h1", want: parse.Extractor{Name: "title", Selector: "h1"}},
		{spec: "  title = h1 .x  ", want: parse.Extractor{Name: "title", Selector: "h1 .x"}},
		{spec: "a.b-c_9=h1", all: true, want: parse.Extractor{Name: "a.b-c_9", Selector: "h1", All: true}},
		{spec: "img=img@src", want: parse.Extractor{Name: "img", Selector: "img", Attr: "src"}},
		{spec: "id=div@data-id", want: parse.Extractor{Name: "id", Selector: "div", Attr: "data-id"}},
		{spec: "x=a@xlink:href", want: parse.Extractor{Name: "x", Selector: "a", Attr: "xlink:href"}},
		// '@' inside quotes, brackets or parentheses, or escaped, does not split.
		{spec: `mail=a[href^="mailto:x@y"]`, want: parse.Extractor{Name: "mail", Selector: `a[href^="mailto:x@y"]`}},
		{spec: `mail=a[href^='mailto:x@y']`, want: parse.Extractor{Name: "mail", Selector: `a[href^='mailto:x@y']`}},
		{spec: `t=a[title="@x"]@href`, want: parse.Extractor{Name: "t", Selector: `a[title="@x"]`, Attr: "href"}},
		{spec: `t=a[title="say \"@x\""]@href`, want: parse.Extractor{Name: "t", Selector: `a[title="say \"@x\""]`, Attr: "href"}},
		{spec: `c=p:contains("a@b")@title`, want: parse.Extractor{Name: "c", Selector: `p:contains("a@b")`, Attr: "title"}},
		{spec: `w=.w\@lg`, want: parse.Extractor{Name: "w", Selector: `.w\@lg`}},
		{spec: `w=.w\@lg@class`, want: parse.Extractor{Name: "w", Selector: `.w\@lg`, Attr: "class"}},
		// Groups.
		{spec: "h=h1, h2", want: parse.Extractor{Name: "h", Selector: "h1, h2"}},
		{spec: "src=img, source@src", all: true, want: parse.Extractor{Name: "src", Selector: "img, source", Attr: "src", All: true}},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := parse.ParseExtractor(tc.spec, tc.all)
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if got.Name != tc.want.Name || got.Selector != tc.want.Selector || got.Attr != tc.want.Attr || got.All != tc.want.All {
				t.Errorf("got %q %q %q %v, want %q %q %q %v", got.Name, got.Selector, got.Attr, got.All,
					tc.want.Name, tc.want.Selector, tc.want.Attr, tc.want.All)
			}
		})
	}
}

func TestParseExtractorErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string // the whole message, or its start when it ends in "..."
	}{
		{"title", `parse: extract "title": want NAME=SELECTOR or NAME=SELECTOR@ATTR`},
		{"", `parse: extract "": want NAME=SELECTOR or NAME=SELECTOR@ATTR`},
		{"=h1", `parse: extract "=h1": empty name`},
		{" =h1", `parse: extract " =h1": empty name`},
		{"price=", `parse: extract "price=": empty selector`},
		{"price=  ", `parse: extract "price=  ": empty selector`},
		{"price=@href", `parse: extract "price=@href": empty selector`},
		{"img=img@", `parse: extract "img=img@": empty attribute name after '@'`},
		{"a b=h1", `parse: extract "a b=h1": name "a b" may hold only ASCII letters, digits, '_', '-' and '.'`},
		{"prix€=h1", `parse: extract "prix€=h1": name "prix€" may hold only ASCII letters, digits, '_', '-' and '.'`},
		{"jsonld=script", `parse: extract "jsonld=script": name "jsonld" is reserved for the page's JSON-LD`},
		{"x=h1[", `parse: extract "x=h1[": bad selector "h1[": ...`},
		{"x=img@1src", `parse: extract "x=img@1src": bad selector "img@1src": unexpected "@1src"`},
		{"x=p::before", `parse: extract "x=p::before": bad selector "p::before": ...`},
		{"x=a=b", `parse: extract "x=a=b": bad selector "a=b": unexpected "=b"`},
		{"x=h1 h2)", `parse: extract "x=h1 h2)": bad selector "h1 h2)": unexpected ")"`},
		{"x=h1,", `parse: extract "x=h1,": bad selector "h1,": ...`},
		{"x=h1\n[", "parse: extract \"x=h1\\n[\": bad selector \"h1\\n[\": ..."},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := parse.ParseExtractor(tc.spec, false)
			if err == nil {
				t.Fatalf("got no error, want %s", tc.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("got %q, want one line", msg)
			}
			if prefix, ok := strings.CutSuffix(tc.want, "..."); ok {
				if !strings.HasPrefix(msg, prefix) || len(msg) == len(prefix) {
					t.Errorf("got %s, want %s", msg, tc.want)
				}
			} else if msg != tc.want {
				t.Errorf("got %s, want %s", msg, tc.want)
			}
		})
	}
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		specs []string // "+" before a spec: All
		want  map[string]any
	}{
		{
			name:  "text collapsed and trimmed",
			body:  "<h1>\n  Hello,\t<b>World</b>  </h1>",
			specs: []string{"title=h1"},
			want:  map[string]any{"title": "Hello, World"},
		},
		{
			name:  "inline elements join, blocks and br separate",
			body:  "<div id=d><p>foo<b>bar</b></p><p>baz</p><ul><li>a</li><li>b<br>c</li></ul><table><tr><td>1</td><td>2</td></tr></table></div>",
			specs: []string{"d=#d"},
			want:  map[string]any{"d": "foobar baz a b c 1 2"},
		},
		{
			name:  "script, style and template left out",
			body:  "<div id=d>a<script>var x = 1</script><style>p{}</style><template>t</template>b</div>",
			specs: []string{"d=#d"},
			want:  map[string]any{"d": "ab"},
		},
		{
			name:  "a matched script gives its text",
			body:  `<script id=s type="text/plain"> some  data </script>`,
			specs: []string{"s=script#s"},
			want:  map[string]any{"s": "some data"},
		},
		{
			name:  "non-breaking space kept",
			body:  "<p>a&nbsp;b</p>",
			specs: []string{"p=p"},
			want:  map[string]any{"p": "a\u00a0b"},
		},
		{
			name:  "empty element gives an empty string",
			body:  "<p class=e>  </p>",
			specs: []string{"e=.e"},
			want:  map[string]any{"e": ""},
		},
		{
			name:  "first match",
			body:  "<h2>one</h2><h2>two</h2>",
			specs: []string{"h=h2"},
			want:  map[string]any{"h": "one"},
		},
		{
			name:  "attribute trimmed, relative URL kept",
			body:  `<img src=" ../a.png ">`,
			specs: []string{"img=img@src"},
			want:  map[string]any{"img": "../a.png"},
		},
		{
			name:  "attribute name without regard to case",
			body:  `<div data-id=7></div>`,
			specs: []string{"id=div@DATA-ID"},
			want:  map[string]any{"id": "7"},
		},
		{
			name:  "empty attribute",
			body:  `<input disabled>`,
			specs: []string{"d=input@disabled"},
			want:  map[string]any{"d": ""},
		},
		{
			name:  "namespaced SVG attribute",
			body:  `<svg><a xlink:href="/s"><text>t</text></a></svg>`,
			specs: []string{"l=svg a@xlink:href"},
			want:  map[string]any{"l": "/s"},
		},
		{
			name:  "no match: absent",
			body:  "<p>x</p>",
			specs: []string{"h=h1", "p=p"},
			want:  map[string]any{"p": "x"},
		},
		{
			name:  "first match lacks the attribute: absent",
			body:  `<a>no</a><a href="/x">yes</a>`,
			specs: []string{"a=a@href"},
			want:  map[string]any{},
		},
		{
			name:  "all matches in document order",
			body:  `<a class=tag>go</a><p><a class=tag>crawling</a></p><a class=other>x</a>`,
			specs: []string{"+tags=a.tag"},
			want:  map[string]any{"tags": []any{"go", "crawling"}},
		},
		{
			name:  "all: elements lacking the attribute left out",
			body:  `<a href=/1>1</a><a>2</a><a href=" /3 ">3</a>`,
			specs: []string{"+hrefs=a@href"},
			want:  map[string]any{"hrefs": []any{"/1", "/3"}},
		},
		{
			name:  "all, no match: empty list",
			body:  `<p>x</p>`,
			specs: []string{"+tags=a.tag", "+ids=p@id"},
			want:  map[string]any{"tags": []any{}, "ids": []any{}},
		},
		{
			name:  "group: first in document order",
			body:  `<h2>sub</h2><h1>main</h1>`,
			specs: []string{"h=h1, h2", "+hs=h1,h2"},
			want:  map[string]any{"h": "sub", "hs": []any{"sub", "main"}},
		},
		{
			name:  "quoted @ in the selector",
			body:  `<a href="mailto:x@y">mail</a><a title="@x" href="/t">t</a>`,
			specs: []string{`mail=a[href^="mailto:x@y"]`, `t=a[title="@x"]@href`},
			want:  map[string]any{"mail": "mail", "t": "/t"},
		},
		{
			name:  "escaped @ in a class",
			body:  `<div class="w@lg">wide</div>`,
			specs: []string{`w=.w\@lg`},
			want:  map[string]any{"w": "wide"},
		},
		{
			name:  "a later extractor of the same name wins",
			body:  `<h1>a</h1><h2>b</h2>`,
			specs: []string{"h=h1", "h=h2"},
			want:  map[string]any{"h": "b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parse.Extract(page(t, tc.body), extractors(t, tc.specs...), false, nil)
			if got == nil {
				got = map[string]any{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %s, want %s", show(got), show(tc.want))
			}
		})
	}
}

func TestExtractData(t *testing.T) {
	doc := page(t, `<h1>T</h1>`)
	t.Run("nothing to add keeps nil", func(t *testing.T) {
		if got := parse.Extract(doc, extractors(t, "x=h2"), false, nil); got != nil {
			t.Errorf("got %s, want nil", show(got))
		}
	})
	t.Run("other keys kept", func(t *testing.T) {
		data := map[string]any{"h": "old", "x": "kept", "status": 200}
		got := parse.Extract(doc, extractors(t, "h=h1", "x=h2"), false, data)
		want := map[string]any{"h": "T", "x": "kept", "status": 200}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %s, want %s", show(got), show(want))
		}
		if reflect.ValueOf(got).Pointer() != reflect.ValueOf(data).Pointer() {
			t.Error("Extract made a new map, want data itself")
		}
	})
	t.Run("nil document is an empty page", func(t *testing.T) {
		got := parse.Extract(nil, extractors(t, "h=h1", "+hs=h1"), true, nil)
		want := map[string]any{"hs": []any{}, parse.JSONLDKey: []any{}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %s, want %s", show(got), show(want))
		}
	})
	t.Run("literal extractors", func(t *testing.T) {
		exs := []parse.Extractor{
			{Name: "h", Selector: "h1"},
			{Name: "hs", Selector: "h1, h2", All: true},
			{Name: "bad", Selector: "h1["},
			{Name: "bads", Selector: "h1[", All: true},
		}
		got := parse.Extract(doc, exs, false, nil)
		want := map[string]any{"h": "T", "hs": []any{"T"}, "bads": []any{}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %s, want %s", show(got), show(want))
		}
	})
	t.Run("JSON output", func(t *testing.T) {
		got := parse.Extract(page(t, `<p>x</p>`), extractors(t, "h=h1", "+tags=.tag", "p=p"), true, nil)
		want := `{"jsonld":[],"p":"x","tags":[]}`
		if s := show(got); s != want {
			t.Errorf("got %s, want %s", s, want)
		}
	})
}

func TestJSONLD(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // the result as JSON
	}{
		{
			name: "none",
			body: `<p>x</p><script type="application/json">{"a":1}</script><script>{"b":2}</script>`,
			want: `[]`,
		},
		{
			name: "object",
			body: `<script type="application/ld+json">{"@type": "Thing", "name": "x"}</script>`,
			want: `[{"@type":"Thing","name":"x"}]`,
		},
		{
			name: "array gives its objects",
			body: `<script type="application/ld+json">[{"a": 1}, "skip", {"b": 2}, null]</script>`,
			want: `[{"a":1},{"b":2}]`,
		},
		{
			name: "@graph kept as is",
			body: `<script type="application/ld+json">{"@graph": [{"a": 1}, {"b": 2}]}</script>`,
			want: `[{"@graph":[{"a":1},{"b":2}]}]`,
		},
		{
			name: "several scripts in document order, head and body",
			body: `<head><script type="application/ld+json">{"n": 1}</script></head>` +
				`<body><div><script type="application/ld+json">[{"n": 2}]</script></div>` +
				`<script type="application/ld+json">{"n": 3}</script></body>`,
			want: `[{"n":1},{"n":2},{"n":3}]`,
		},
		{
			name: "invalid JSON skipped",
			body: `<script type="application/ld+json">{"a": </script>` +
				`<script type="application/ld+json">{"a": 1} trailing</script>` +
				`<script type="application/ld+json">{"a": 1}{"b": 2}</script>` +
				`<script type="application/ld+json"></script>` +
				`<script type="application/ld+json">{"ok": true}</script>`,
			want: `[{"ok":true}]`,
		},
		{
			name: "scalar skipped",
			body: `<script type="application/ld+json">"text"</script><script type="application/ld+json">42</script>`,
			want: `[]`,
		},
		{
			name: "comment wrapper",
			body: "<script type=\"application/ld+json\">\n<!--\n{\"a\": 1}\n-->\n</script>",
			want: `[{"a":1}]`,
		},
		{
			name: "CDATA wrappers",
			body: "<script type=\"application/ld+json\"><![CDATA[{\"a\": 1}]]></script>" +
				"<script type=\"application/ld+json\">//<![CDATA[\n{\"b\": 2}\n//]]></script>" +
				"<script type=\"application/ld+json\">/*<![CDATA[*/{\"c\": 3}/*]]>*/</script>",
			want: `[{"a":1},{"b":2},{"c":3}]`,
		},
		{
			name: "type without regard to case, parameters ignored",
			body: `<script type=" Application/LD+JSON; charset=utf-8">{"a": 1}</script>`,
			want: `[{"a":1}]`,
		},
		{
			name: "big numbers keep their digits",
			body: `<script type="application/ld+json">{"n": 123456789012345678901234567890, "f": 0.10000000000000000001}</script>`,
			want: `[{"f":0.10000000000000000001,"n":123456789012345678901234567890}]`,
		},
		{
			name: "template content inert",
			body: `<template><script type="application/ld+json">{"a": 1}</script></template>`,
			want: `[]`,
		},
		{
			name: "entities are not decoded in scripts",
			body: `<script type="application/ld+json">{"name": "Tom &amp; Jerry <b>"}</script>`,
			want: `[{"name":"Tom \u0026amp; Jerry \u003cb\u003e"}]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parse.JSONLD(page(t, tc.body))
			if got == nil {
				t.Fatal("got nil, want a list")
			}
			if s := show(got); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
			data := parse.Extract(page(t, tc.body), nil, true, nil)
			if s := show(data[parse.JSONLDKey]); s != tc.want {
				t.Errorf("Extract: got %s, want %s", s, tc.want)
			}
		})
	}
}

func TestJSONLDNumber(t *testing.T) {
	got := parse.JSONLD(page(t, `<script type="application/ld+json">{"n": 9007199254740993}</script>`))
	n, ok := got[0].(map[string]any)["n"].(json.Number)
	if !ok || n.String() != "9007199254740993" {
		t.Errorf("got %#v, want json.Number 9007199254740993", got[0])
	}
}

// fixtureExtractors are what TestExtractFixture extracts from the basic
// site's blog posts.
var fixtureExtractors = []string{
	"title=h1",
	"author=.byline .author",
	"+authors=.byline .author",
	"date=.byline time@datetime",
	"+read=a.read@href",
	"+tags=a.tag",
}

// fixtureData is what Extract gives for fixtureExtractors, with JSON-LD, on
// the basic site's pages (paths in fixtures.Basic()), as JSON.
var fixtureData = map[string]string{
	fixtures.Blog + "/2024/hello.html": `{` +
		`"author":"Ada",` +
		`"authors":["Ada"],` +
		`"date":"2024-01-02",` +
		`"jsonld":[{"@type":"BlogPosting","author":{"@type":"Person","name":"Ada"},"datePublished":"2024-01-02","headline":"Hello, World","wordCount":25}],` +
		`"read":["01/politeness.html","http://www.trawl.test/docs/guide/intro.html"],` +
		`"tags":[],` +
		`"title":"Hello, World"}`,
	fixtures.Blog + "/2025/01/new-year.html": `{` +
		`"author":"Grace",` +
		`"authors":["Grace","Ada"],` +
		`"date":"2025-01-01",` +
		`"jsonld":[{"@graph":[{"@type":"BlogPosting","author":[{"@type":"Person","name":"Grace"},{"@type":"Person","name":"Ada"}],"datePublished":"2025-01-01","headline":"Plans for 2025"},{"@type":"Organization","name":"Trawl Project"}]}],` +
		`"read":[],` +
		`"tags":["crawling tag"],` +
		`"title":"Plans for 2025"}`,
	fixtures.Blog + "/2024/02/frontier.html": `{` +
		`"authors":[],` +
		`"jsonld":[],` +
		`"read":[],` +
		`"tags":[],` +
		`"title":"Designing the Frontier"}`,
}

// TestExtractFixture extracts fields from blog posts of the fixture site,
// through Page.Document as a crawl does, and checks that their JSON-LD
// adds no guessed link.
func TestExtractFixture(t *testing.T) {
	exs := extractors(t, fixtureExtractors...)
	for name, want := range fixtureData {
		t.Run(name, func(t *testing.T) {
			body, err := fs.ReadFile(fixtures.Basic(), name)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse("http://" + name)
			if err != nil {
				t.Fatal(err)
			}
			p, err := parse.HTML(body, "text/html; charset=utf-8", u)
			if err != nil {
				t.Fatal(err)
			}
			if got := show(parse.Extract(p.Document(), exs, true, nil)); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			guessed, err := parse.HTMLWith(body, "text/html; charset=utf-8", u, parse.Options{GuessLinks: true})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(guessed.Links, p.Links) {
				t.Errorf("GuessLinks finds links in the page's scripts: got %v, want %v", guessed.Links, p.Links)
			}
		})
	}
}

func ExampleExtract() {
	body := []byte(`<html><head><script type="application/ld+json">
{"@type": "Product", "name": "Tea", "offers": {"price": "4.50"}}
</script></head><body>
<h1 class="name"> Green   tea </h1><span class="price">4.50</span>
<img src="/tea.jpg"><a class="tag">green</a> <a class="tag">loose</a></body></html>`)
	u, _ := url.Parse("http://shop.example/tea")
	p, err := parse.HTML(body, "text/html", u)
	if err != nil {
		panic(err)
	}
	var exs []parse.Extractor
	for _, spec := range []string{"name=h1.name", "price=.price", "image=img@src", "sku=.sku"} {
		e, err := parse.ParseExtractor(spec, false)
		if err != nil {
			panic(err)
		}
		exs = append(exs, e)
	}
	tags, err := parse.ParseExtractor("tags=a.tag", true)
	if err != nil {
		panic(err)
	}
	exs = append(exs, tags)
	data := parse.Extract(p.Document(), exs, true, nil)
	out, _ := json.Marshal(data) // map keys come out sorted
	fmt.Println(string(out))
	// Output:
	// {"image":"/tea.jpg","jsonld":[{"@type":"Product","name":"Tea","offers":{"price":"4.50"}}],"name":"Green tea","price":"4.50","tags":["green","loose"]}
}

// extractBenchPage returns an article page of about 10 KB with a byline,
// tags, links and a JSON-LD block.
func extractBenchPage() []byte {
	var sb strings.Builder
	sb.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Benchmark post</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "BlogPosting",
"headline": "Benchmark post", "datePublished": "2024-05-01", "author": {"@type": "Person", "name": "Ada"}}</script>
</head><body><header><nav><a href="/">Home</a> <a href="/blog/">Blog</a></nav></header>
<main><article><h1 class="title">Benchmark post</h1>
<p class="byline">By <span class="author">Ada</span>, <time datetime="2024-05-01">1 May 2024</time></p>
`)
	for i := range 18 {
		fmt.Fprintf(&sb, "<p>%s <a href=\"/blog/post-%d.html\">post %d</a></p>\n",
			strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 8), i, i)
	}
	sb.WriteString(`<ul class="tags"><li><a class="tag" href="/tags/go">go</a></li><li><a class="tag" href="/tags/crawling">crawling</a></li></ul>
</article></main><footer><p>&copy; 2024</p></footer></body></html>
`)
	return []byte(sb.String())
}

// BenchmarkExtract measures Extract with six extractors and JSON-LD on a
// 10 KB page whose document is built ("Extract"), and with the parse and
// the building of the lazy document ("HTML+Document+Extract").
func BenchmarkExtract(b *testing.B) {
	body := extractBenchPage()
	if len(body) < 9000 || len(body) > 11000 {
		b.Fatalf("page is %d bytes, want about 10 KB", len(body))
	}
	exs := extractors(b, "title=h1.title", "author=.byline .author", "date=time@datetime",
		"+tags=a.tag", "+links=a@href", "missing=.nothing")
	u, err := url.Parse("https://www.example.com/blog/post.html")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Extract", func(b *testing.B) {
		p, err := parse.HTML(body, "text/html; charset=utf-8", u)
		if err != nil {
			b.Fatal(err)
		}
		doc := p.Document()
		if d := parse.Extract(doc, exs, true, nil); len(d) != 6 || len(d["links"].([]any)) != 22 {
			b.Fatalf("got %s", show(d))
		}
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			parse.Extract(doc, exs, true, nil)
		}
	})
	b.Run("HTML+Document+Extract", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := parse.HTML(body, "text/html; charset=utf-8", u)
			if err != nil {
				b.Fatal(err)
			}
			parse.Extract(p.Document(), exs, true, nil)
		}
	})
}
