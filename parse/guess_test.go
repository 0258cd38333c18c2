package parse

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// guessTests is TestGuessLinks's table; want holds "URL kind".
var guessTests = []struct {
	name, text string
	want       []string
}{
	{
		name: "absolute in a script",
		text: `var a = "https://api.example.com/v1/items?limit=10&x=y"; fetch('http://example.org/data.json').then(f);`,
		want: []string{"https://api.example.com/v1/items?limit=10&x=y page", "http://example.org/data.json page"},
	},
	{
		name: "JSON escapes",
		text: `{"u":"http:\/\/a.example\/x\/y.png","v":"https:\/\/a.example\/p?a=1\u0026b=2\u0022,"w":"\u0022http://c.example/q\u0022"}`,
		want: []string{"http://a.example/x/y.png asset", "https://a.example/p?a=1&b=2 page", "http://c.example/q page"},
	},
	{
		name: "escaped quotes end URLs",
		text: `"{\"a\":\"http://a.example/one\",\"b\":\"/img/two.gif\"}"`,
		want: []string{"http://a.example/one page", "http://example.com/img/two.gif asset"},
	},
	{
		name: "plain text",
		text: "See http://a.example/x. Or (https://b.example/y), or https://en.example.org/wiki/Foo_(bar)!\n" +
			"Also <http://c.example/z> and [https://d.example/w] and HTTP://E.EXAMPLE/Case?",
		want: []string{
			"http://a.example/x page", "https://b.example/y page", "https://en.example.org/wiki/Foo_(bar) page",
			"http://c.example/z page", "https://d.example/w page", "http://E.EXAMPLE/Case page",
		},
	},
	{
		name: "ends",
		text: "http://a.example/1\thttp://a.example/2`http://a.example/3{x}http://a.example/4|http://a.example/5^" +
			"http://a.example/6\\\"http://a.example/7&quot;x http://a.example/8&amp;y=1 http://a.example/9。次",
		want: []string{
			"http://a.example/1 page", "http://a.example/2 page", "http://a.example/3 page", "http://a.example/4 page",
			"http://a.example/5 page", "http://a.example/6 page", "http://a.example/7 page",
			"http://a.example/8&amp;y=1 page", "http://a.example/9 page",
		},
	},
	{
		name: "HTML-escaped JSON",
		text: `{&quot;img&quot;:&quot;https://a.example/i.webp&quot;}`,
		want: []string{"https://a.example/i.webp asset"},
	},
	{
		name: "protocol-relative",
		text: `s.src = "//cdn.example.net/lib.js"; var u = '//api.example.net'; x = //static.example.net/a/b
			url(//img.example.net:8080/p.png) "\/\/esc.example.net\/e.css"`,
		want: []string{
			"http://cdn.example.net/lib.js asset", "http://api.example.net page", "http://static.example.net/a/b page",
			"http://img.example.net:8080/p.png asset", "http://esc.example.net/e.css asset",
		},
	},
	{
		name: "root- and dot-relative with known extensions",
		text: `img.src = "/img/a.png"; link.href='/css/site.css?v=3'; x=/docs/manual.PDF
			background: url(/fonts/f.woff2); import m from "./mod.mjs"; import n from '../lib/n.js';
			"\/data\/list.json" [ "./a/b/../c.svg" ] /page.html#top`,
		want: []string{
			"http://example.com/img/a.png asset", "http://example.com/css/site.css?v=3 asset",
			"http://example.com/docs/manual.PDF page", "http://example.com/fonts/f.woff2 asset",
			"http://example.com/dir/mod.mjs asset", "http://example.com/lib/n.js asset",
			"http://example.com/data/list.json page", "http://example.com/dir/a/c.svg asset",
			"http://example.com/page.html page",
		},
	},
	{
		name: "kinds",
		text: `"/sitemap.xml" "/sitemap_index.xml" "/sitemap-1.xml.gz" "/feed.xml" "/blog/rss.xml" "/atom.xml"
			"/news.rss" "/news.atom" "/data.xml" "/a.tar.gz" "/v.mp4" "/s.mp3" "/f.ttf" "/r.txt" "/p.php"
			"https://a.example/" "https://a.example/x.JPG?w=1" "https://a.example/unknown.ext" "https://cdn.js"`,
		want: []string{
			"http://example.com/sitemap.xml sitemap", "http://example.com/sitemap_index.xml sitemap",
			"http://example.com/sitemap-1.xml.gz sitemap", "http://example.com/feed.xml sitemap",
			"http://example.com/blog/rss.xml sitemap", "http://example.com/atom.xml sitemap",
			"http://example.com/news.rss sitemap", "http://example.com/news.atom sitemap",
			"http://example.com/data.xml page", "http://example.com/a.tar.gz asset", "http://example.com/v.mp4 asset",
			"http://example.com/s.mp3 asset", "http://example.com/f.ttf asset", "http://example.com/r.txt page",
			"http://example.com/p.php page", "https://a.example/ page", "https://a.example/x.JPG?w=1 asset",
			"https://a.example/unknown.ext page", "https://cdn.js page",
		},
	},
	{
		name: "unique by key, first place, kind most likely followed",
		text: `"/a.png" "http://example.com/a.png" "/b.html" "/b.html#x" "./x.png" "http://EXAMPLE.com/dir/x.png"`,
		want: []string{"http://example.com/a.png asset", "http://example.com/b.html page", "http://example.com/dir/x.png asset"},
	},
	{
		name: "not delimited",
		text: `a/b.png img/x.png word/c.css x.y/d.js 1/2.5 width/2.js x./a.png x../b.png`,
	},
	{
		name: "comments and bare slashes",
		text: "// comment here\n//TODO: fix\n//console.log(x)\n// /\n x = a / b; y = '/'; z = \"//\"; /* c */ //a.b",
	},
	{
		name: "no known extension",
		text: `"/no/extension" "/a.unknown" "/.png" "/dir/" "./x" "../y.z" "/a.png.bak" "/x.verylongextension"`,
	},
	{
		name: "other schemes and words",
		text: `xhttp://a.example/ svn+http://a.example/ ftp://a.example/x.png mailto:a@example.com javascript:void(0)
			data:image/png;base64,AAAA http:/one.example/ http:// https://user:pw@a.example/ "http://[bad/"`,
	},
	{
		name: "regular expression",
		text: `if (/\.png$/.test(s)) {} r = /^\/api\//;`,
	},
	{
		name: "protocol-relative needs a domain",
		text: `"//localhost/x" "//a/b.js" "//1.2.3.4/x" "//a..b/x" "//-" "//a.b:99999/x"`,
	},
}

func TestGuessLinks(t *testing.T) {
	base := foundURL(t, "http://example.com/dir/page.html")
	for _, tc := range guessTests {
		t.Run(tc.name, func(t *testing.T) {
			got := GuessLinks([]byte(tc.text), base, "script")
			if msg := checkFound(got, maxGuessed); msg != "" {
				t.Error(msg)
			}
			var s []string
			for _, l := range got {
				if l.Source != "script" || l.Method != "" || l.NoFollow {
					t.Errorf("link %q: source %q method %q nofollow %v", l.URL, l.Source, l.Method, l.NoFollow)
				}
				s = append(s, fmt.Sprintf("%s %v", l.URL, l.Kind))
			}
			if !reflect.DeepEqual(s, tc.want) {
				t.Errorf("got %q,\nwant %q", s, tc.want)
			}
		})
	}
}

func TestGuessLinksNilBase(t *testing.T) {
	got := GuessLinks([]byte(`"/a.png" "http://example.org/b"`), nil, "json")
	if s := foundStrings(got); !reflect.DeepEqual(s, []string{"http://example.org/b page json"}) {
		t.Errorf("got %q", s)
	}
}

func TestGuessLinksLimit(t *testing.T) {
	var sb strings.Builder
	for i := range maxGuessed + 100 {
		fmt.Fprintf(&sb, "\"/p/%d.html\",", i)
	}
	got := GuessLinks([]byte(sb.String()), foundURL(t, "http://example.com/"), "json")
	if len(got) != maxGuessed {
		t.Fatalf("got %d links, want %d", len(got), maxGuessed)
	}
	if last := got[len(got)-1].URL; last != fmt.Sprintf("http://example.com/p/%d.html", maxGuessed-1) {
		t.Errorf("last link %q", last)
	}
}

// TestGuessLinksLinear runs inputs that would take quadratic time in a
// careless scanner; if it does not finish, one does.
func TestGuessLinksLinear(t *testing.T) {
	const n = 1 << 20
	base := foundURL(t, "http://example.com/")
	for _, unit := range []string{
		"=/a", "(./", " /", "/", "\\/", "http://", "http:\\/\\/", "http://a.example/?u=", "a)", "a.", "\\u0022/",
		"=//a.example", ")", "h", "&quot", "\u3000",
	} {
		GuessLinks([]byte(strings.Repeat(unit, n/len(unit))), base, "text")
	}
}

// FuzzGuessLinks checks that GuessLinks does not panic and returns
// unique http(s) links whose keys are those Normalize gives, at most
// maxGuessed.
func FuzzGuessLinks(f *testing.F) {
	for _, tc := range guessTests {
		f.Add([]byte(tc.text))
	}
	base, _ := url.Parse("http://example.com/dir/page.html")
	f.Fuzz(func(t *testing.T, text []byte) {
		ls := GuessLinks(text, base, "text")
		if msg := checkFound(ls, min(maxGuessed, len(text))); msg != "" {
			t.Fatal(msg)
		}
	})
}
